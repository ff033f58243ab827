//! County shards: on a store with a job queue, a job the engine can cut
//! ([`Engine::shards`]) becomes one queued task per county, run by whichever
//! workers are free, and is assembled by the worker that stores the last
//! shard's result.
//!
//! The steps, each a transaction in the store ([`crate::store::JobQueue`]):
//! the worker that takes the job from the queue asks the engine for its
//! shards and stores them with their tasks (`split`); each shard is claimed
//! as an attempt, computed, and its result stored under that attempt's
//! fence (`run_shard`); the worker whose shard was the last to finish claims
//! the job itself as a new attempt and assembles it (`assemble_shards`),
//! committing the layers as a whole job commits them. A worker killed at any
//! point loses only its own step: the queue gives its task to another
//! worker, which finds the step's state in the store and carries on (a shard
//! stored but not assembled is assembled by its task's rerun).
//!
//! A whole job reads its inputs once; shards read them at different times.
//! So every shard notes the versions of the layers its kind reads
//! ([`JobKind::input_layers`]) before it runs and checks them after, and
//! the assembly checks every shard's against its own, before and after it
//! reads: a layer uploaded or adopted again while the job ran fails the job
//! with the layer named, never mixes two generations of it.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use serde_json::{json, Value};

use super::{Inputs, JobError, JobKind, JobOutput, Jobs};
use crate::progress::NoProgress;
use crate::store::{Claim, JobRecord, ShardClaim, ShardStep, Store, StoreError};

/// The version of each layer a job reads, by name (absent layers left out).
type Versions = BTreeMap<String, i64>;

fn input_versions(store: &dyn Store, dataset: &str, kind: JobKind) -> Result<Versions, StoreError> {
    let inputs = kind.input_layers();
    Ok(store
        .layers(Some(dataset))?
        .into_iter()
        .filter(|m| inputs.contains(&m.layer.as_str()))
        .map(|m| (m.layer, m.version))
        .collect())
}

/// Why two reads of a job's inputs do not belong together: the first layer
/// whose version differs (or that came or went) between them.
fn changed(read: &Versions, now: &Versions) -> Option<String> {
    read.keys()
        .chain(now.keys())
        .find(|l| read.get(*l) != now.get(*l))
        .map(|l| format!("the dataset's {l} layer changed while the job ran; run the job again"))
}

impl Jobs {
    /// Cuts a claimed job into county shards when the engine can; true when
    /// it was cut (now or by an earlier attempt), so the shards' tasks run it.
    pub(super) fn split(&self, claim: &Claim) -> Result<bool, String> {
        let record = &claim.record;
        if record.shards.is_some() {
            return Ok(true);
        }
        let (Some(queue), Some(kind)) = (self.store.queue(), JobKind::parse(&record.kind)) else {
            return Ok(false);
        };
        let inputs = Inputs {
            store: &*self.store,
            dataset: &record.dataset,
        };
        // A job the engine cannot plan runs whole, where its error (a missing
        // layer, say) is reported as the job's.
        let shards = match self.engine.shards(kind, &record.params, &inputs) {
            Ok(Some(shards)) if shards.len() > 1 => shards,
            Ok(_) => return Ok(false),
            Err(JobError::Store(e @ StoreError::Unavailable(_))) => return Err(e.to_string()),
            Err(_) => return Ok(false),
        };
        queue
            .split(&record.id, claim.attempt, &shards)
            .map_err(|e| e.to_string())?;
        tracing::info!(job = %record.id, shards = shards.len(), "job cut into county shards");
        Ok(true)
    }

    /// Runs one shard taken from the queue; when it was the last to finish,
    /// assembles the job. Err when the store could not be reached, so the
    /// queue runs the shard again.
    pub(super) fn run_shard(&self, id: &str, shard: &str) -> Result<(), String> {
        let queue = self
            .store
            .queue()
            .ok_or_else(|| "this store has no job queue".to_string())?;
        match queue.claim_shard(id, shard).map_err(|e| e.to_string())? {
            ShardClaim::Gone => return Ok(()),
            ShardClaim::Done => {}
            ShardClaim::Run { record, attempt } => {
                let outcome = self.compute_shard(&record, shard)?;
                let outcome = outcome.as_ref().map(String::as_str).map_err(String::as_str);
                let step = queue
                    .finish_shard(id, shard, attempt, outcome)
                    .map_err(|e| e.to_string())?;
                tracing::info!(job = %id, %shard, attempt, ?step, "shard finished");
                if step != ShardStep::AllDone {
                    return Ok(());
                }
            }
        }
        match queue.claim_assembly(id).map_err(|e| e.to_string())? {
            Some(claim) => self.run_claimed(claim, true),
            None => Ok(()),
        }
    }

    /// A shard's result as JSON text, or why it failed (which fails the
    /// job). Err when the store could not be reached: the shard is run again.
    fn compute_shard(
        &self,
        record: &JobRecord,
        shard: &str,
    ) -> Result<Result<String, String>, String> {
        let kind = JobKind::parse(&record.kind)
            .ok_or_else(|| format!("unknown job kind {}", record.kind))?;
        let inputs = Inputs {
            store: &*self.store,
            dataset: &record.dataset,
        };
        if !self.delay.is_zero() {
            // Test aid (`WANGGE_JOB_DELAY_MS`): a shard that is surely
            // running when a test kills its worker.
            std::thread::sleep(self.delay);
        }
        let t0 = std::time::Instant::now();
        let versions =
            || input_versions(&*self.store, &record.dataset, kind).map_err(|e| e.to_string());
        let before = versions()?;
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.engine
                .run_shard(kind, &record.params, &inputs, shard, &NoProgress)
        }));
        Ok(match run {
            Ok(Ok(result)) => match changed(&before, &versions()?) {
                Some(why) => Err(why),
                None => {
                    tracing::info!(job = %record.id, %shard, seconds = t0.elapsed().as_secs_f64(), "shard computed");
                    Ok(json!({"versions": before, "part": result}).to_string())
                }
            },
            Ok(Err(JobError::Store(e @ StoreError::Unavailable(_)))) => return Err(e.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => {
                let msg = super::panic_message(panic.as_ref());
                tracing::error!(job = %record.id, %shard, panic = %msg, "shard panicked");
                Err(format!("internal error (please report): {msg}"))
            }
        })
    }

    /// The job's output from its stored shard results (the assembling
    /// worker's `compute`).
    pub(super) fn assemble_shards(
        &self,
        kind: JobKind,
        record: &JobRecord,
        inputs: &Inputs<'_>,
    ) -> Result<JobOutput, JobError> {
        let queue = self
            .store
            .queue()
            .ok_or_else(|| JobError::Invalid("this store has no job queue".into()))?;
        let versions = input_versions(&*self.store, &record.dataset, kind)?;
        let unreadable = |e: serde_json::Error| {
            JobError::Invalid(format!("a stored shard result is unreadable: {e}"))
        };
        let mut parts = Vec::new();
        for text in queue.shard_results(&record.id)? {
            let mut stored: Value = serde_json::from_str(&text).map_err(unreadable)?;
            let read: Versions =
                serde_json::from_value(stored["versions"].take()).map_err(unreadable)?;
            if let Some(why) = changed(&read, &versions) {
                return Err(JobError::Invalid(why));
            }
            parts.push(stored["part"].take());
        }
        let output = self.engine.assemble(kind, &record.params, inputs, parts)?;
        let now = input_versions(&*self.store, &record.dataset, kind)?;
        match changed(&versions, &now) {
            Some(why) => Err(JobError::Invalid(why)),
            None => Ok(output),
        }
    }
}
