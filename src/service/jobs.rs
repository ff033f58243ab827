//! Jobs: partition, coverage and proposals run on a worker pool of their own
//! (plain threads), never on the HTTP workers. A job's state lives in memory
//! while it runs and is written to the store at every transition; its results
//! are committed together with its final state. On start-up, jobs that a
//! previous process left queued or running are marked failed with a reason.
//!
//! On a store with a job queue (PostgreSQL) a job is queued in the store
//! and runs on whichever process's queue worker takes it first (`serve`
//! unless `--no-worker`, and `wangge worker`); a job whose worker died is
//! taken up by another ([`crate::store::JobQueue`]). Every
//! [`PROGRESS_EVERY`] the process running a job writes its progress to the
//! store (so any replica shows it), which also serves as its heartbeat, and
//! reads back cancellations asked for on other replicas. Jobs that stopped
//! reporting a lease ago and that the queue will not run again are failed by
//! whichever process notices first.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::features::{Cache, FeatureSet};
use crate::layers::LayerKind;
use crate::progress::Progress;
use crate::store::{
    now_rfc3339, JobRecord, JobState, NewLayer, QueuedTask, Store, StoreError, ADOPTED_LAYER,
};

/// How often a replica on a shared store reports its jobs' progress.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// The kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Partition,
    Coverage,
    Propose,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Partition => "partition",
            JobKind::Coverage => "coverage",
            JobKind::Propose => "propose",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        Some(match s {
            "partition" => JobKind::Partition,
            "coverage" => JobKind::Coverage,
            "propose" => JobKind::Propose,
            _ => return None,
        })
    }

    /// Input layers the job cannot run without.
    pub fn required_layers(self) -> &'static [LayerKind] {
        match self {
            JobKind::Partition => &[LayerKind::Areas, LayerKind::Households],
            JobKind::Coverage => &[LayerKind::Cameras, LayerKind::Households],
            JobKind::Propose => &[
                LayerKind::Cameras,
                LayerKind::Households,
                LayerKind::Candidates,
            ],
        }
    }

    /// Every layer a job of this kind may read: a job cut into shards
    /// checks that none of them changed while it ran, since its shards read
    /// them at different times.
    pub fn input_layers(self) -> &'static [&'static str] {
        match self {
            JobKind::Partition => &["areas", "households", "barriers", "grids", ADOPTED_LAYER],
            JobKind::Coverage => &["areas", "households", "cameras", "buildings", "sites"],
            JobKind::Propose => &["cameras", "households", "candidates", "buildings", "sites"],
        }
    }
}

/// Why a job did not produce results.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cancelled")]
    Cancelled,
    #[error("the {0} layer is missing from the dataset")]
    MissingLayer(LayerKind),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the stored {layer} layer: {reason}")]
    Input { layer: LayerKind, reason: String },
}

/// A layer a job computed, ready to commit.
pub struct OutputLayer {
    pub layer: String,
    pub kind: String,
    pub report: Value,
    pub features: Vec<crate::store::StoredFeature>,
}

/// What a job produced.
#[derive(Default)]
pub struct JobOutput {
    pub layers: Vec<OutputLayer>,
    pub summary: Value,
    /// Grid codes the job retired: added to the dataset's lineage in the same
    /// transaction as the layers, so later updates never hand them out again.
    pub retired_codes: Vec<crate::partition::RetiredCode>,
}

/// A job while this process knows it.
pub struct LiveJob {
    record: Mutex<JobRecord>,
    cancel: AtomicBool,
    started: Mutex<Option<Instant>>,
    /// Test aid: wait this long (cancellably) before computing.
    delay: Duration,
    /// The job's shards are all done: computing it means assembling them.
    assemble: bool,
}

impl LiveJob {
    pub fn snapshot(&self) -> JobRecord {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn update(&self, f: impl FnOnce(&mut JobRecord)) -> JobRecord {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut r);
        r.clone()
    }
    pub fn elapsed(&self) -> Option<Duration> {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|s| s.elapsed())
    }
}

impl Progress for LiveJob {
    fn report(&self, stage: &str, fraction: f64) {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        if r.stage != stage {
            r.stage = stage.to_string();
        }
        if fraction.is_finite() {
            r.progress = fraction.clamp(0.0, 1.0).max(r.progress.min(0.999));
        }
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// What cancelling found.
pub enum CancelOutcome {
    /// The job was queued or running; it will stop.
    Cancelling(JobRecord),
    /// The job had already finished.
    AlreadyFinal(JobRecord),
    NotFound,
}

/// The job manager: submission, the worker pool, lookup and cancellation.
pub struct Jobs {
    store: Arc<dyn Store>,
    cache: Arc<Cache>,
    engine: Arc<dyn Engine>,
    live: Mutex<HashMap<String, Arc<LiveJob>>>,
    queue: Mutex<mpsc::Sender<Arc<LiveJob>>>,
    counter: AtomicU64,
    /// Distinguishes this process's job ids from another replica's.
    salt: u16,
    delay: Duration,
}

impl Jobs {
    /// Starts `workers` job threads, or on a store with a queue, queue
    /// workers running `workers` jobs at once (none when `workers` is 0:
    /// this process only queues jobs). Jobs a previous process left
    /// unfinished are marked failed first (on a queue: those it will not
    /// run again).
    pub fn start(
        store: Arc<dyn Store>,
        cache: Arc<Cache>,
        engine: Arc<dyn Engine>,
        workers: usize,
        delay: Duration,
    ) -> Result<Arc<Jobs>, StoreError> {
        let n = store.fail_unfinished_jobs(
            "the server stopped while the job was queued or running; submit it again",
            &now_rfc3339(),
        )?;
        if n > 0 {
            tracing::warn!(jobs = n, "marked jobs interrupted by a restart as failed");
        }
        let (tx, rx) = mpsc::channel::<Arc<LiveJob>>();
        let jobs = Arc::new(Jobs {
            store,
            cache,
            engine,
            live: Mutex::new(HashMap::new()),
            queue: Mutex::new(tx),
            counter: AtomicU64::new(0),
            salt: process_salt(),
            delay,
        });
        let rx = Arc::new(Mutex::new(rx));
        // On a queue every job comes from the queue's workers; otherwise from
        // this process's own job threads.
        let local = match jobs.store.queue() {
            Some(queue) => {
                if workers > 0 {
                    let weak = Arc::downgrade(&jobs);
                    let run: crate::store::JobRunner =
                        Arc::new(move |task: &QueuedTask| match weak.upgrade() {
                            Some(jobs) => match &task.shard {
                                Some(shard) => jobs.run_shard(&task.job, shard),
                                None => jobs.run_queued(&task.job),
                            },
                            None => Err("the job manager is gone".into()),
                        });
                    queue.start_workers(workers, run)?;
                }
                0
            }
            None => workers.max(1),
        };
        for i in 0..local {
            let rx = rx.clone();
            // The worker holds the manager weakly, so dropping the service ends it.
            let weak = Arc::downgrade(&jobs);
            std::thread::Builder::new()
                .name(format!("wangge-job-{i}"))
                .spawn(move || loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(job) = next else { break };
                    let Some(jobs) = weak.upgrade() else { break };
                    let _ = jobs.execute(&job);
                })
                .map_err(|e| StoreError::Corrupt(format!("no thread for a job worker: {e}")))?;
        }
        if jobs.store.shared() {
            jobs.report_progress()
                .map_err(|e| StoreError::Corrupt(format!("no thread for job progress: {e}")))?;
        }
        Ok(jobs)
    }

    /// On a shared store: writes this process's jobs' progress every
    /// [`PROGRESS_EVERY`], cancels those another replica asked to cancel, and
    /// now and then fails the jobs of replicas that stopped reporting. Ends
    /// when the manager is dropped.
    fn report_progress(self: &Arc<Self>) -> std::io::Result<()> {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("wangge-job-progress".into())
            .spawn(move || {
                let mut last_sweep = Instant::now();
                loop {
                    std::thread::sleep(PROGRESS_EVERY);
                    let Some(jobs) = weak.upgrade() else { break };
                    jobs.report_once();
                    if last_sweep.elapsed() >= PROGRESS_EVERY * 4 {
                        last_sweep = Instant::now();
                        match jobs.store.fail_unfinished_jobs(
                            "the server running the job stopped reporting on it; submit it again",
                            &now_rfc3339(),
                        ) {
                            Ok(0) => {}
                            Ok(n) => tracing::warn!(
                                jobs = n,
                                "failed jobs abandoned by a stopped replica"
                            ),
                            Err(e) => tracing::warn!(error = %e, "cannot check for abandoned jobs"),
                        }
                    }
                }
            })
            .map(|_| ())
    }

    /// One progress report of this process's unfinished jobs.
    fn report_once(&self) {
        let updates: Vec<crate::store::JobProgress> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|j| j.snapshot())
            .filter(|r| !r.state.is_final())
            .map(|r| crate::store::JobProgress {
                id: r.id,
                progress: r.progress,
                stage: r.stage,
            })
            .collect();
        match self.store.job_progress(&updates) {
            Ok(cancel) => {
                for id in cancel {
                    tracing::info!(job = %id, "cancellation asked for on another replica");
                    if let Err(e) = self.cancel(&id) {
                        tracing::warn!(job = %id, error = %e, "cannot cancel");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot record job progress"),
        }
    }

    fn new_id(&self) -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{ms:x}{:04x}{:04x}", self.salt, n & 0xffff)
    }

    /// Records a queued job durably and hands it to the pool.
    pub fn submit(
        &self,
        dataset: &str,
        kind: JobKind,
        params: Value,
    ) -> Result<JobRecord, StoreError> {
        let record = JobRecord {
            id: self.new_id(),
            dataset: dataset.to_string(),
            kind: kind.as_str().to_string(),
            state: JobState::Queued,
            progress: 0.0,
            stage: "queued".into(),
            reason: None,
            params,
            created: now_rfc3339(),
            started: None,
            finished: None,
            results: vec![],
            summary: Value::Null,
            shards: None,
        };
        if let Some(queue) = self.store.queue() {
            queue.enqueue(&record)?;
            tracing::info!(job = %record.id, kind = kind.as_str(), %dataset, "job queued");
            return Ok(record);
        }
        self.store.put_job(&record)?;
        let live = Arc::new(LiveJob {
            record: Mutex::new(record.clone()),
            cancel: AtomicBool::new(false),
            started: Mutex::new(None),
            delay: self.delay,
            assemble: false,
        });
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.id.clone(), live.clone());
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(live);
        if sent.is_err() {
            tracing::error!(job = %record.id, "job workers are gone");
        }
        tracing::info!(job = %record.id, kind = kind.as_str(), %dataset, "job queued");
        Ok(record)
    }

    /// Jobs of this process now queued and running.
    pub fn counts(&self) -> (usize, usize) {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let mut q = (0, 0);
        for j in live.values() {
            match j.snapshot().state {
                JobState::Queued => q.0 += 1,
                JobState::Running => q.1 += 1,
                _ => {}
            }
        }
        q
    }

    fn live(&self, id: &str) -> Option<Arc<LiveJob>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// A job's current record, with the seconds it has run so far when running.
    pub fn get(&self, id: &str) -> Result<Option<(JobRecord, Option<f64>)>, StoreError> {
        if let Some(l) = self.live(id) {
            let r = l.snapshot();
            let elapsed = l.elapsed().map(|d| d.as_secs_f64());
            return Ok(Some((r, elapsed)));
        }
        Ok(self.store.job(id)?.map(|r| (r, None)))
    }

    pub fn list(&self, dataset: Option<&str>) -> Result<Vec<JobRecord>, StoreError> {
        let mut v = self.store.jobs(dataset)?;
        for r in v.iter_mut() {
            if let Some(l) = self.live(&r.id) {
                *r = l.snapshot();
            }
        }
        Ok(v)
    }

    /// A page of [`Jobs::list`]: at most `limit` jobs after skipping `offset`,
    /// and whether more follow.
    pub fn page(
        &self,
        dataset: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<JobRecord>, bool), StoreError> {
        let mut v = self
            .store
            .jobs_page(dataset, offset, limit.saturating_add(1))?;
        let more = v.len() > limit;
        v.truncate(limit);
        for r in v.iter_mut() {
            if let Some(l) = self.live(&r.id) {
                *r = l.snapshot();
            }
        }
        Ok((v, more))
    }

    /// Removes finished jobs older than `max_age` now and then, on a thread of
    /// its own (ending when the manager is dropped), so the job list stays
    /// bounded. Results the jobs wrote stay as layers of their datasets.
    pub fn prune_older_than(self: &Arc<Self>, max_age: Duration) -> std::io::Result<()> {
        let weak = Arc::downgrade(self);
        // Often enough that a job outlives its age by a tenth of it at most.
        let every = (max_age / 10).clamp(Duration::from_millis(50), Duration::from_secs(600));
        std::thread::Builder::new()
            .name("wangge-job-prune".into())
            .spawn(move || loop {
                let Some(jobs) = weak.upgrade() else { break };
                let cutoff = std::time::SystemTime::now()
                    .checked_sub(max_age)
                    .unwrap_or(std::time::UNIX_EPOCH);
                match jobs.store.prune_jobs(&crate::store::rfc3339(cutoff)) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        jobs = n,
                        "pruned finished jobs older than the retention age"
                    ),
                    Err(e) => tracing::warn!(error = %e, "cannot prune old jobs"),
                }
                drop(jobs);
                std::thread::sleep(every);
            })
            .map(|_| ())
    }

    /// Asks a job to stop. A queued job is cancelled at once; a running one stops
    /// at the engine's next check.
    pub fn cancel(&self, id: &str) -> Result<CancelOutcome, StoreError> {
        let Some(l) = self.live(id) else {
            // Not this process's: on a shared store another replica may run
            // it, and reads the request with its next progress report (an
            // unshared store only reports the job as stored).
            return Ok(match self.store.request_cancel(id)? {
                Some((r, true)) => CancelOutcome::Cancelling(r),
                Some((r, false)) => CancelOutcome::AlreadyFinal(r),
                None => CancelOutcome::NotFound,
            });
        };
        l.cancel.store(true, Ordering::SeqCst);
        let snap = l.snapshot();
        if snap.state.is_final() {
            return Ok(CancelOutcome::AlreadyFinal(snap));
        }
        if snap.state == JobState::Queued {
            let r = l.update(|r| {
                if r.state == JobState::Queued {
                    r.state = JobState::Cancelled;
                    r.stage = "cancelled".into();
                    r.reason = Some("cancelled before it started".into());
                    r.finished = Some(now_rfc3339());
                }
            });
            if r.state == JobState::Cancelled {
                self.store.put_job(&r)?;
                self.forget(id);
                return Ok(CancelOutcome::Cancelling(r));
            }
        }
        Ok(CancelOutcome::Cancelling(l.snapshot()))
    }

    /// Cancels every queued or running job of a dataset (it is being deleted):
    /// this process's, and on a queue those any process may run.
    pub fn cancel_dataset(&self, dataset: &str) -> Result<usize, StoreError> {
        let mut ids: Vec<String> = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, j)| j.snapshot().dataset == dataset)
            .map(|(id, _)| id.clone())
            .collect();
        if self.store.queue().is_some() {
            for r in self.store.jobs(Some(dataset))? {
                if !r.state.is_final() && !ids.contains(&r.id) {
                    ids.push(r.id);
                }
            }
        }
        for id in &ids {
            self.cancel(id)?;
        }
        Ok(ids.len())
    }

    fn forget(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Runs a job taken from the store's queue (on a queue worker's blocking
    /// thread): claims it as a new attempt, then runs it as a local job. Err
    /// when its outcome could not be recorded, so the queue runs it again.
    fn run_queued(&self, id: &str) -> Result<(), String> {
        let queue = self
            .store
            .queue()
            .ok_or_else(|| "this store has no job queue".to_string())?;
        let Some(claim) = queue.claim(id).map_err(|e| e.to_string())? else {
            tracing::info!(job = %id, "queued job is final already");
            return Ok(());
        };
        if claim.attempt > 1 {
            tracing::warn!(job = %id, attempt = claim.attempt, "taking over a job its worker lost");
        }
        if !claim.cancel_requested && self.split(&claim)? {
            return Ok(());
        }
        self.run_claimed(claim, false)
    }

    /// Runs a job this process claimed from the queue as a local job: the
    /// whole job, or (`assemble`) the assembly of its shards.
    fn run_claimed(&self, claim: crate::store::Claim, assemble: bool) -> Result<(), String> {
        let mut record = claim.record;
        let id = record.id.clone();
        // Queued again in memory: `execute` starts it as any local job.
        record.state = JobState::Queued;
        let live = Arc::new(LiveJob {
            record: Mutex::new(record),
            cancel: AtomicBool::new(claim.cancel_requested),
            started: Mutex::new(None),
            delay: self.delay,
            assemble,
        });
        if claim.cancel_requested {
            self.mark_cancelled(&live, &now_rfc3339());
            return Ok(());
        }
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, live.clone());
        self.execute(&live)
    }

    /// Runs one job on the current (worker) thread. Err when the store was
    /// unreachable for its final state (the job may be run again).
    fn execute(&self, job: &Arc<LiveJob>) -> Result<(), String> {
        // Queued → running in one step under the record's lock, so a cancel
        // that lands at the same moment either wins or sees the job running.
        let mut start = false;
        let running = job.update(|r| {
            if r.state == JobState::Queued {
                r.state = JobState::Running;
                r.stage = "starting".into();
                r.started = Some(now_rfc3339());
                start = true;
            }
        });
        if !start {
            return Ok(()); // cancelled while queued
        }
        let snap = running.clone();
        *job.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        if let Err(e) = self.store.put_job(&running) {
            tracing::error!(job = %running.id, error = %e, "cannot record the job as running");
        }
        tracing::info!(job = %running.id, kind = %running.kind, "job running");
        let t0 = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| self.compute(job, &running)));
        let outcome = match outcome {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic_message(panic.as_ref());
                tracing::error!(job = %running.id, panic = %msg, "job panicked");
                Err(JobError::Invalid(format!(
                    "internal error (please report): {msg}"
                )))
            }
        };
        let finished = now_rfc3339();
        let cancelled = job.cancelled();
        let mut unrecorded = None;
        match outcome {
            Err(JobError::Cancelled) => self.mark_cancelled(job, &finished),
            _ if cancelled => self.mark_cancelled(job, &finished),
            Ok(out) => {
                // The final record reaches clients only once the results are
                // committed and cached: "succeeded" means they can be read.
                let mut record = job.snapshot();
                record.state = JobState::Succeeded;
                record.progress = 1.0;
                record.stage = "done".into();
                record.finished = Some(finished.clone());
                record.results = out.layers.iter().map(|l| l.layer.clone()).collect();
                record.summary = out.summary.clone();
                let new: Vec<NewLayer> = out
                    .layers
                    .into_iter()
                    .map(|l| NewLayer {
                        layer: l.layer,
                        kind: l.kind,
                        report: l.report,
                        features: l.features,
                    })
                    .collect();
                match self.store.finish_job(&record, &new, &out.retired_codes) {
                    Ok(metas) => {
                        for (meta, layer) in metas.into_iter().zip(new) {
                            self.cache.put(FeatureSet::new(meta, layer.features));
                        }
                        job.update(|r| *r = record.clone());
                        tracing::info!(job = %record.id, seconds = t0.elapsed().as_secs_f64(), "job succeeded");
                    }
                    Err(StoreError::Fenced(_)) => {
                        // Another worker took the job over: its result stands.
                        tracing::warn!(job = %record.id, "the job was taken over; this run's result is discarded");
                        job.update(|r| {
                            r.state = JobState::Failed;
                            r.reason = Some("taken over by another worker".into());
                        });
                    }
                    Err(e) => {
                        tracing::error!(job = %record.id, error = %e, "cannot store the job's results");
                        if matches!(e, StoreError::Unavailable(_)) {
                            unrecorded = Some(e.to_string());
                        }
                        self.finalize(job, |r| {
                            r.state = JobState::Failed;
                            r.reason = Some(format!("storing the results failed: {e}"));
                            r.finished = Some(finished.clone());
                        });
                    }
                }
            }
            Err(e) => {
                let r = self.finalize(job, |r| {
                    r.state = JobState::Failed;
                    r.reason = Some(e.to_string());
                    r.finished = Some(finished.clone());
                });
                tracing::warn!(job = %r.id, reason = %e, "job failed");
            }
        }
        self.forget(&snap.id);
        match unrecorded {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Records a final state durably, then shows it to clients.
    fn finalize(&self, job: &LiveJob, f: impl FnOnce(&mut JobRecord)) -> JobRecord {
        let mut r = job.snapshot();
        f(&mut r);
        if let Err(e) = self.store.put_job(&r) {
            tracing::error!(job = %r.id, error = %e, "cannot record the job's final state");
        }
        job.update(|live| *live = r.clone());
        r
    }

    fn mark_cancelled(&self, job: &LiveJob, finished: &str) {
        let r = self.finalize(job, |r| {
            r.state = JobState::Cancelled;
            r.stage = "cancelled".into();
            r.reason = Some("cancelled by a client".into());
            r.finished = Some(finished.to_string());
        });
        tracing::info!(job = %r.id, "job cancelled");
    }

    fn compute(&self, job: &LiveJob, record: &JobRecord) -> Result<JobOutput, JobError> {
        let kind = JobKind::parse(&record.kind)
            .ok_or_else(|| JobError::Invalid(format!("unknown job kind {}", record.kind)))?;
        if !job.delay.is_zero() {
            let until = Instant::now() + job.delay;
            while Instant::now() < until {
                job.report("waiting", 0.0);
                if job.cancelled() {
                    return Err(JobError::Cancelled);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let inputs = Inputs {
            store: &*self.store,
            dataset: &record.dataset,
        };
        job.report("reading inputs", 0.0);
        let out = if job.assemble {
            self.assemble_shards(kind, record, &inputs)?
        } else {
            self.engine.run(kind, &record.params, &inputs, job)?
        };
        if job.cancelled() {
            return Err(JobError::Cancelled);
        }
        Ok(out)
    }
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A random number for this process, so that replicas submitting jobs in the
/// same millisecond still give them different ids.
fn process_salt() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u16
}

mod engine;
pub mod http;
mod shards;

pub use engine::{not_sharded, Engine, Inputs};
