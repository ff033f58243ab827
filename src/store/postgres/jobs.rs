//! Jobs, lineage and adoptions in PostgreSQL.
//!
//! A job row carries the process that runs it (`owner`, a random id per
//! process) and when that process last reported on it (`heartbeat`). Only the
//! owner updates a job, and only while it is queued or running, so a final
//! state is never overwritten: a process that lost a job (another process
//! failed it after its heartbeats stopped) cannot resurrect it or commit its
//! results. Any process may ask for a job's cancellation (`cancel_requested`);
//! the owner reads the request with its next progress report.

use tokio_postgres::{Client, GenericClient, Row, Transaction};

use crate::partition::RetiredCode;
use crate::store::{Adoption, Claim, JobProgress, JobRecord, ShardCounts, StoreError};

use crate::store::{read_job, JobColumns, JOB_COLS};

impl JobColumns for Row {
    type Error = tokio_postgres::Error;
    fn text(&self, i: usize) -> Result<String, Self::Error> {
        self.try_get(i)
    }
    fn optional_text(&self, i: usize) -> Result<Option<String>, Self::Error> {
        self.try_get(i)
    }
    fn real(&self, i: usize) -> Result<f64, Self::Error> {
        self.try_get(i)
    }
}

/// The shard counts read with a job ([`SHARD_COLS`]).
pub(super) const SHARD_COLS: &str = "shards_total, shards_done, shards_failed";

/// A job's record; with its shard counts when the row has them.
pub(super) fn job_row(r: &Row) -> Result<JobRecord, StoreError> {
    let mut job = read_job(r)?;
    if let Ok(Some(total)) = r.try_get::<_, Option<i32>>("shards_total") {
        job.shards = Some(ShardCounts {
            shards_total: total as u32,
            shards_done: r.try_get::<_, i32>("shards_done")? as u32,
            shards_failed: r.try_get::<_, i32>("shards_failed")? as u32,
        });
    }
    Ok(job)
}

/// Inserts a job, or updates it when this process owns it and it is not
/// final yet; false when the update was refused.
pub(super) async fn upsert(
    c: &impl GenericClient,
    job: &JobRecord,
    owner: &str,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            &format!(
                "INSERT INTO wangge.jobs ({JOB_COLS}, owner, heartbeat)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())
                 ON CONFLICT (id) DO UPDATE SET
                   state = EXCLUDED.state, progress = EXCLUDED.progress, stage = EXCLUDED.stage,
                   reason = EXCLUDED.reason, params = EXCLUDED.params, started = EXCLUDED.started,
                   finished = EXCLUDED.finished, results = EXCLUDED.results,
                   summary = EXCLUDED.summary, heartbeat = now()
                 WHERE wangge.jobs.owner = EXCLUDED.owner
                   AND wangge.jobs.state IN ('queued', 'running')"
            ),
            &[
                &job.id,
                &job.dataset,
                &job.kind,
                &job.state.as_str(),
                &job.progress,
                &job.stage,
                &job.reason,
                &job.params.to_string(),
                &job.created,
                &job.started,
                &job.finished,
                &serde_json::to_string(&job.results).unwrap_or_else(|_| "[]".into()),
                &job.summary.to_string(),
                &owner,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Locks a job's row for its final commit and checks that it is still this
/// process's to finish (the fencing check): its owner, and for a job taken
/// from the queue its attempt, are still the committing worker's.
pub(super) async fn claim_finish(
    tx: &Transaction<'_>,
    id: &str,
    owner: &str,
    attempt: Option<i32>,
) -> Result<(), StoreError> {
    let row = tx
        .query_opt(
            "SELECT owner, state, attempt FROM wangge.jobs WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
    if let Some(row) = row {
        let by: Option<&str> = row.try_get(0)?;
        let state: &str = row.try_get(1)?;
        let current: i32 = row.try_get(2)?;
        if by != Some(owner)
            || !matches!(state, "queued" | "running")
            || attempt.is_some_and(|a| a != current)
        {
            return Err(StoreError::Fenced(id.to_string()));
        }
    }
    Ok(())
}

/// Makes a queued or running job `owner`'s, as a new attempt (the queue gave
/// it to this worker; a running job's earlier worker lost it). `None` when
/// the job is final (cancelled while queued, or already done).
pub(super) async fn claim(
    client: &Client,
    id: &str,
    owner: &str,
) -> Result<Option<Claim>, StoreError> {
    let now = crate::store::now_rfc3339();
    let row = client
        .query_opt(
            &format!(
                "UPDATE wangge.jobs SET owner = $2, attempt = attempt + 1, heartbeat = now(),
                   state = 'running', started = COALESCE(started, $3)
                 WHERE id = $1 AND state IN ('queued', 'running')
                 RETURNING {JOB_COLS}, attempt, cancel_requested, {SHARD_COLS}"
            ),
            &[&id, &owner, &now],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Claim {
        record: job_row(&row)?,
        attempt: row.try_get(13)?,
        cancel_requested: row.try_get(14)?,
    }))
}

pub(super) async fn insert_retired(
    c: &impl GenericClient,
    dataset: &str,
    codes: &[RetiredCode],
) -> Result<(), StoreError> {
    if codes.is_empty() {
        return Ok(());
    }
    let parents: Vec<&str> = codes.iter().map(|c| c.parent_code.as_str()).collect();
    let children: Vec<&str> = codes.iter().map(|c| c.code.as_str()).collect();
    c.execute(
        "INSERT INTO wangge.retired_codes (dataset, parent_code, code)
         SELECT $1, p, c FROM unnest($2::text[], $3::text[]) AS u(p, c)
         ON CONFLICT DO NOTHING",
        &[&dataset, &parents, &children],
    )
    .await?;
    Ok(())
}

pub(super) async fn retired(
    client: &Client,
    dataset: &str,
) -> Result<Vec<RetiredCode>, StoreError> {
    let rows = client
        .query(
            "SELECT parent_code, code FROM wangge.retired_codes WHERE dataset = $1
             ORDER BY parent_code, code",
            &[&dataset],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RetiredCode {
                parent_code: r.try_get(0)?,
                code: r.try_get(1)?,
            })
        })
        .collect()
}

pub(super) async fn one(client: &Client, id: &str) -> Result<Option<JobRecord>, StoreError> {
    let row = client
        .query_opt(
            &format!("SELECT {JOB_COLS}, {SHARD_COLS} FROM wangge.jobs WHERE id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref().map(job_row).transpose()
}

/// Jobs newest first, optionally of one dataset, a page of them.
pub(super) async fn page(
    client: &Client,
    dataset: Option<&str>,
    offset: i64,
    limit: Option<i64>,
) -> Result<Vec<JobRecord>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {JOB_COLS}, {SHARD_COLS} FROM wangge.jobs WHERE $1::text IS NULL OR dataset = $1
                 ORDER BY created DESC, id DESC LIMIT $2 OFFSET $3"
            ),
            &[&dataset, &limit, &offset],
        )
        .await?;
    rows.iter().map(job_row).collect()
}

/// Records progress and a heartbeat for this process's jobs; the ids whose
/// cancellation was asked for.
pub(super) async fn progress(
    client: &Client,
    jobs: &[JobProgress],
    owner: &str,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let fractions: Vec<f64> = jobs.iter().map(|j| j.progress).collect();
    let stages: Vec<&str> = jobs.iter().map(|j| j.stage.as_str()).collect();
    let rows = client
        .query(
            "UPDATE wangge.jobs AS j SET progress = u.progress, stage = u.stage, heartbeat = now()
             FROM unnest($1::text[], $2::float8[], $3::text[]) AS u(id, progress, stage)
             WHERE j.id = u.id AND j.owner = $4 AND j.state IN ('queued', 'running')
             RETURNING j.id, j.cancel_requested",
            &[&ids, &fractions, &stages, &owner],
        )
        .await?;
    let mut cancel = Vec::new();
    for r in rows {
        if r.try_get::<_, bool>(1)? {
            cancel.push(r.try_get(0)?);
        }
    }
    Ok(cancel)
}

/// Fails the unfinished jobs whose owner has not reported for `lease_s` and
/// that the queue will not run again: a job still in the queue (waiting, or
/// freed from a dead worker for another to take) is left to it, one the
/// queue gave up on is failed with the queue's last error.
pub(super) async fn fail_abandoned(
    client: &Client,
    reason: &str,
    now: &str,
    lease_s: f64,
) -> Result<usize, StoreError> {
    let n = client
        .execute(
            "UPDATE wangge.jobs AS j SET state = 'failed', finished = $2,
               reason = COALESCE((SELECT 'the job could not be finished after '
                                    || g.attempts || ' attempts: ' || g.last_error
                                  FROM graphile_worker._private_jobs AS g
                                  WHERE (g.key = 'wangge:' || j.id OR g.key LIKE 'wangge:' || j.id || ':%')
                                    AND g.last_error IS NOT NULL
                                  LIMIT 1), $1)
             WHERE j.state IN ('queued', 'running')
               AND (j.heartbeat IS NULL OR j.heartbeat < now() - make_interval(secs => $3))
               AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs AS g
                               WHERE (g.key = 'wangge:' || j.id OR g.key LIKE 'wangge:' || j.id || ':%')
                                 AND g.attempts < g.max_attempts)",
            &[&reason, &now, &lease_s],
        )
        .await?;
    Ok(n as usize)
}

pub(super) async fn request_cancel(
    client: &Client,
    id: &str,
) -> Result<Option<(JobRecord, bool)>, StoreError> {
    // A job no worker has taken yet is cancelled at once; a running one
    // by its worker, which reads the request with its next report.
    let now = crate::store::now_rfc3339();
    let taken = client
        .execute(
            "UPDATE wangge.jobs SET cancel_requested = true,
               state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
               stage = CASE WHEN state = 'queued' THEN 'cancelled' ELSE stage END,
               reason = CASE WHEN state = 'queued' THEN 'cancelled before it started' ELSE reason END,
               finished = CASE WHEN state = 'queued' THEN $2 ELSE finished END
             WHERE id = $1 AND state IN ('queued', 'running')",
            &[&id, &now],
        )
        .await?;
    Ok(one(client, id).await?.map(|r| (r, taken == 1)))
}

pub(super) async fn prune(client: &Client, before: &str) -> Result<usize, StoreError> {
    let n = client
        .execute(
            "DELETE FROM wangge.jobs WHERE state IN ('succeeded', 'failed', 'cancelled')
             AND COALESCE(finished, created) < $1",
            &[&before],
        )
        .await?;
    Ok(n as usize)
}

/// Records an adoption (numbered after the dataset's last) inside `tx`.
pub(super) async fn record_adoption(
    tx: &Transaction<'_>,
    dataset: &str,
    source: &str,
    adopted_by: &str,
    at: &str,
    grids: u64,
) -> Result<Adoption, StoreError> {
    let version: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM wangge.adoptions WHERE dataset = $1",
            &[&dataset],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO wangge.adoptions (dataset, version, adopted_by, adopted_at, grids, source)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &dataset,
            &version,
            &adopted_by,
            &at,
            &(grids as i64),
            &source,
        ],
    )
    .await?;
    Ok(Adoption {
        version,
        adopted_by: adopted_by.into(),
        adopted_at: at.into(),
        grids,
        layer: source.into(),
    })
}

pub(super) async fn adoptions(client: &Client, dataset: &str) -> Result<Vec<Adoption>, StoreError> {
    let rows = client
        .query(
            "SELECT version, adopted_by, adopted_at, grids, source FROM wangge.adoptions
             WHERE dataset = $1 ORDER BY version",
            &[&dataset],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Adoption {
                version: r.try_get(0)?,
                adopted_by: r.try_get(1)?,
                adopted_at: r.try_get(2)?,
                grids: r.try_get::<_, i64>(3)? as u64,
                layer: r.try_get(4)?,
            })
        })
        .collect()
}
