//! The job queue across processes: graphile_worker (the Rust port) on the
//! store's own tokio-postgres pool and runtime.
//!
//! A submitted job is a row of `wangge.jobs` (what clients see) plus one
//! graphile job keyed `wangge:<id>` (what workers take), inserted in one
//! transaction, so an acknowledged job is always queued. graphile takes jobs
//! with `SKIP LOCKED`, wakes workers with LISTEN/NOTIFY, and, with its worker
//! recovery on, keeps a heartbeat row per worker and lets any worker's
//! sweeper return the jobs of a worker whose heartbeat went stale to the
//! queue: a worker killed with SIGKILL loses its job to another within
//! [`QueueTiming::takeover_bound`].
//!
//! The worker that takes a job claims its row (`claim`): the row's owner
//! becomes that process and its `attempt` grows by one. The attempt is the
//! fencing token: the final commit (`jobs::claim_finish`) checks, under the
//! row's lock, that the row's owner and attempt are still the committing
//! worker's, so a worker that lost its job (stalled past the threshold, then
//! woke up) cannot overwrite the rerun's result.

use std::time::Duration;

use graphile_worker::{
    IntoTaskHandlerResult, JobSpec, TaskHandler, WorkerContext, WorkerOptions,
    WorkerRecoveryConfig, WorkerUtils,
};
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use super::{jobs, pool_error, PgStore};
use crate::store::{
    Claim, JobQueue, JobRecord, JobRunner, QueuedTask, ShardClaim, ShardStep, StoreError,
};

/// graphile_worker's schema in the database.
pub(super) const SCHEMA: &str = "graphile_worker";

/// How many times graphile runs a job whose run could not record its
/// outcome (the database was unreachable) before giving up on it. A
/// worker's death does not count: recovery gives the attempt back.
const MAX_ATTEMPTS: i16 = 5;

/// The intervals of the queue's worker recovery, all derived from the lease.
#[derive(Debug, Clone, Copy)]
pub struct QueueTiming {
    /// How often a worker writes its heartbeat row.
    pub heartbeat: Duration,
    /// How often each worker's sweeper looks for stale workers.
    pub sweep_every: Duration,
    /// How old a heartbeat must be for its worker to count as dead.
    pub stale_after: Duration,
    /// How often idle workers poll besides LISTEN/NOTIFY.
    pub poll: Duration,
}

impl QueueTiming {
    /// The timing for a lease (`--job-lease-s`): a worker silent for a lease
    /// is dead; heartbeats six times a lease, sweeps three times.
    pub fn from_lease(lease: Duration) -> QueueTiming {
        let lease = lease.max(Duration::from_secs(1));
        QueueTiming {
            heartbeat: (lease / 6).max(Duration::from_millis(100)),
            sweep_every: (lease / 3).max(Duration::from_millis(200)),
            stale_after: lease,
            poll: Duration::from_millis(500).min(lease / 2),
        }
    }

    /// The longest a job of a killed worker waits before another worker
    /// starts it again: the heartbeat goes stale, the next sweep frees the
    /// job, the next poll (or the sweep's NOTIFY) takes it.
    pub fn takeover_bound(&self) -> Duration {
        self.stale_after + self.heartbeat + self.sweep_every + self.poll
    }
}

/// The graphile task that runs one wangge job.
#[derive(Debug, Serialize, Deserialize)]
struct RunJob {
    id: String,
    /// The county shard to run, for a job cut into shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
}

/// The runner the worker hands each job to (an extension of the worker).
#[derive(Clone)]
struct Runner(JobRunner);

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runner")
    }
}

impl TaskHandler for RunJob {
    const IDENTIFIER: &'static str = "wangge_job";

    fn run(
        self,
        ctx: WorkerContext,
    ) -> impl std::future::Future<Output = impl IntoTaskHandlerResult> + Send + 'static {
        let runner = ctx.get_ext::<Runner>().cloned();
        async move {
            let Some(Runner(run)) = runner else {
                return Err("this worker has no job runner".to_string());
            };
            // The engines are CPU work and the store's calls block: off the
            // runtime's threads.
            let task = QueuedTask {
                job: self.id,
                shard: self.shard,
            };
            match tokio::task::spawn_blocking(move || run(&task)).await {
                Ok(r) => r,
                Err(e) => Err(format!("the job's thread ended: {e}")),
            }
        }
    }
}

/// The graphile key of a wangge job.
pub(super) fn key(id: &str) -> String {
    format!("wangge:{id}")
}

/// The graphile key of a shard of a wangge job.
fn shard_key(id: &str, shard: &str) -> String {
    format!("wangge:{id}:{shard}")
}

/// Installs or updates graphile's schema (its own versioned migrations).
pub(super) async fn migrate(pool: deadpool_postgres::Pool) -> Result<(), StoreError> {
    WorkerUtils::new(pool, SCHEMA)
        .migrate()
        .await
        .map_err(|e| StoreError::Setup(format!("cannot set up the job queue's schema: {e}")))
}

impl JobQueue for PgStore {
    fn enqueue(&self, job: &JobRecord) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let (job, owner) = (job.clone(), self.owner.clone());
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            jobs::upsert(&*tx, &job, &owner).await?;
            let spec = JobSpec {
                job_key: Some(key(&job.id)),
                max_attempts: Some(MAX_ATTEMPTS),
                ..Default::default()
            };
            let mut utils = WorkerUtils::new(pool.clone(), SCHEMA).with_executor(&*tx);
            utils
                .add_raw_job(
                    RunJob::IDENTIFIER,
                    RunJob {
                        id: job.id.clone(),
                        shard: None,
                    },
                    spec,
                )
                .await
                .map_err(|e| StoreError::Postgres(format!("queueing job {}: {e}", job.id)))?;
            drop(utils);
            tx.commit().await?;
            Ok(())
        })
    }

    fn start_workers(&self, concurrency: usize, run: JobRunner) -> Result<(), StoreError> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        let timing = QueueTiming::from_lease(self.options.lease);
        let database = graphile_worker::tokio_postgres::TokioPostgresDatabase::from_config(
            self.config.clone(),
            concurrency + 2,
        )
        .map_err(|e| StoreError::Setup(format!("cannot connect the job queue: {e}")))?;
        let runner = Runner(run);
        let options = move || {
            let recovery = WorkerRecoveryConfig::default()
                .enabled(true)
                .heartbeat_interval(timing.heartbeat)
                .sweep_interval(timing.sweep_every)
                .sweep_threshold(timing.stale_after)
                .recovery_delay(Duration::ZERO);
            WorkerOptions::default()
                .database(database.clone())
                .schema(SCHEMA)
                .concurrency(concurrency.max(1))
                .poll_interval(timing.poll)
                .worker_recovery(recovery)
                .listen_os_shutdown_signals(false)
                .define_job::<RunJob>()
                .add_extension(runner.clone())
        };
        let owner = self.owner.clone();
        rt.spawn(async move {
            // A worker that stops (the database went away for good, or its
            // start failed) starts again: the process stays a worker.
            loop {
                let worker = match options().init().await {
                    Ok(w) => w,
                    Err(e) => {
                        tracing::warn!(error = %e, "the job queue worker cannot start; retrying");
                        tokio::time::sleep(timing.sweep_every).await;
                        continue;
                    }
                };
                tracing::info!(%owner, concurrency, "job queue worker running");
                if let Err(e) = worker.run().await {
                    tracing::warn!(error = %e, "the job queue worker stopped; restarting");
                }
                tokio::time::sleep(timing.poll).await;
            }
        });
        Ok(())
    }

    fn claim(&self, id: &str) -> Result<Option<Claim>, StoreError> {
        let pool = self.pool.clone();
        let (id, owner) = (id.to_string(), self.owner.clone());
        let claim = self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::claim(client.client(), &id, &owner).await
        })?;
        if let Some(c) = &claim {
            self.remember_claim(c);
        }
        Ok(claim)
    }

    fn split(&self, id: &str, attempt: i32, shards: &[String]) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let (id, owner, shards) = (id.to_string(), self.owner.clone(), shards.to_vec());
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            if !super::shards::split(&tx, &id, &owner, attempt, &shards).await? {
                return Ok(());
            }
            let mut utils = WorkerUtils::new(pool.clone(), SCHEMA).with_executor(&*tx);
            for shard in &shards {
                let spec = JobSpec {
                    job_key: Some(shard_key(&id, shard)),
                    max_attempts: Some(MAX_ATTEMPTS),
                    ..Default::default()
                };
                let task = RunJob {
                    id: id.clone(),
                    shard: Some(shard.clone()),
                };
                utils
                    .add_raw_job(RunJob::IDENTIFIER, task, spec)
                    .await
                    .map_err(|e| StoreError::Postgres(format!("queueing job {id}: {e}")))?;
            }
            drop(utils);
            tx.commit().await?;
            Ok(())
        })
    }

    fn claim_shard(&self, id: &str, shard: &str) -> Result<ShardClaim, StoreError> {
        let pool = self.pool.clone();
        let (id, shard, owner) = (id.to_string(), shard.to_string(), self.owner.clone());
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            super::shards::claim(&mut client, &id, &shard, &owner).await
        })
    }

    fn finish_shard(
        &self,
        id: &str,
        shard: &str,
        attempt: i32,
        outcome: Result<&str, &str>,
    ) -> Result<ShardStep, StoreError> {
        let pool = self.pool.clone();
        let (id, shard, owner) = (id.to_string(), shard.to_string(), self.owner.clone());
        let outcome = outcome.map(str::to_string).map_err(str::to_string);
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let outcome = outcome.as_deref().map_err(String::as_str);
            super::shards::finish(&mut client, &id, &shard, &owner, attempt, outcome).await
        })
    }

    fn claim_assembly(&self, id: &str) -> Result<Option<Claim>, StoreError> {
        let pool = self.pool.clone();
        let (id, owner) = (id.to_string(), self.owner.clone());
        let claim = self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            super::shards::claim_assembly(&mut client, &id, &owner).await
        })?;
        if let Some(c) = &claim {
            self.remember_claim(c);
        }
        Ok(claim)
    }

    fn shard_results(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            super::shards::results(&client, &id).await
        })
    }
}
