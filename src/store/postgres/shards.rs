//! County shards of a job in PostgreSQL: `wangge.job_shards`, one row per
//! shard, and the shard counts on the job's row.
//!
//! Every step that changes a shard locks its job's row first (`FOR UPDATE`),
//! so shards finishing at once count one after another: exactly one of them
//! sees the last shard done, and a shard failing or a cancellation makes the
//! job final before any other shard can store more. A shard's `attempt`
//! fences its result the way a job's fences its layers: a worker that lost
//! its shard (its heartbeat went stale and another took the shard over)
//! cannot store over the rerun's result.

use tokio_postgres::{Client, Transaction};

use super::jobs::{job_row, SHARD_COLS};
use crate::store::{Claim, ShardClaim, ShardStep, StoreError, JOB_COLS};

/// Locks the job's row; false when the job is no longer open: final, gone,
/// or cancelled now because a client asked (the caller commits that).
async fn lock_open(tx: &Transaction<'_>, id: &str) -> Result<bool, StoreError> {
    let row = tx
        .query_opt(
            "SELECT state, cancel_requested FROM wangge.jobs WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
    let Some(row) = row else { return Ok(false) };
    let (state, cancel): (&str, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !matches!(state, "queued" | "running") {
        return Ok(false);
    }
    if cancel {
        tx.execute(
            "UPDATE wangge.jobs SET state = 'cancelled', stage = 'cancelled',
               reason = 'cancelled by a client', finished = $2
             WHERE id = $1",
            &[&id, &crate::store::now_rfc3339()],
        )
        .await?;
        return Ok(false);
    }
    Ok(true)
}

/// Stores the shard rows of a claimed job and turns it running; false when
/// the claim was fenced out or the job was cut already. The caller queues
/// the shards' tasks in the same transaction.
pub(super) async fn split(
    tx: &Transaction<'_>,
    id: &str,
    owner: &str,
    attempt: i32,
    shards: &[String],
) -> Result<bool, StoreError> {
    let row = tx
        .query_opt(
            "SELECT owner, attempt, shards_total FROM wangge.jobs WHERE id = $1
               AND state IN ('queued', 'running') FOR UPDATE",
            &[&id],
        )
        .await?;
    let Some(row) = row else { return Ok(false) };
    let (by, current, total): (Option<String>, i32, Option<i32>) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if by.as_deref() != Some(owner) || current != attempt || total.is_some() {
        return Ok(false);
    }
    let ords: Vec<i32> = (0..shards.len() as i32).collect();
    tx.execute(
        "INSERT INTO wangge.job_shards (job, shard, ord)
         SELECT $1, s, o FROM unnest($2::text[], $3::int4[]) AS u(s, o)",
        &[&id, &shards, &ords],
    )
    .await?;
    let stage = format!("partitioning {} counties", shards.len());
    tx.execute(
        "UPDATE wangge.jobs SET shards_total = $2, shards_done = 0, shards_failed = 0,
           state = 'running', stage = $3, heartbeat = now()
         WHERE id = $1",
        &[&id, &(shards.len() as i32), &stage],
    )
    .await?;
    Ok(true)
}

/// Takes a shard as a new attempt of `owner`.
pub(super) async fn claim(
    client: &mut Client,
    id: &str,
    shard: &str,
    owner: &str,
) -> Result<ShardClaim, StoreError> {
    let tx = client.transaction().await?;
    if !lock_open(&tx, id).await? {
        tx.commit().await?;
        return Ok(ShardClaim::Gone);
    }
    let row = tx
        .query_opt(
            "UPDATE wangge.job_shards SET owner = $3, attempt = attempt + 1, state = 'running'
             WHERE job = $1 AND shard = $2 AND state IN ('queued', 'running')
             RETURNING attempt",
            &[&id, &shard, &owner],
        )
        .await?;
    let Some(row) = row else {
        // Stored already (or failed, which made the job final above).
        return Ok(ShardClaim::Done);
    };
    let attempt: i32 = row.try_get(0)?;
    let job = tx
        .query_one(
            &format!(
                "UPDATE wangge.jobs SET heartbeat = now() WHERE id = $1
                 RETURNING {JOB_COLS}, {SHARD_COLS}"
            ),
            &[&id],
        )
        .await?;
    let record = Box::new(job_row(&job)?);
    tx.commit().await?;
    Ok(ShardClaim::Run { record, attempt })
}

/// Stores a shard's outcome (see [`crate::store::JobQueue::finish_shard`]).
pub(super) async fn finish(
    client: &mut Client,
    id: &str,
    shard: &str,
    owner: &str,
    attempt: i32,
    outcome: Result<&str, &str>,
) -> Result<ShardStep, StoreError> {
    let tx = client.transaction().await?;
    if !lock_open(&tx, id).await? {
        tx.commit().await?;
        return Ok(ShardStep::Final);
    }
    let (shard_state, result, reason) = match outcome {
        Ok(result) => ("done", Some(result), None),
        Err(reason) => ("failed", None, Some(reason)),
    };
    let stored = tx
        .execute(
            "UPDATE wangge.job_shards SET state = $5, result = $6, reason = $7
             WHERE job = $1 AND shard = $2 AND owner = $3 AND attempt = $4 AND state = 'running'",
            &[
                &id,
                &shard,
                &owner,
                &attempt,
                &shard_state,
                &result,
                &reason,
            ],
        )
        .await?;
    if stored == 0 {
        return Ok(ShardStep::Fenced);
    }
    let now = crate::store::now_rfc3339();
    let row = match reason {
        None => {
            tx.query_one(
                "UPDATE wangge.jobs SET shards_done = shards_done + 1, heartbeat = now(),
                   progress = LEAST(0.99, (shards_done + 1)::float8 / shards_total),
                   stage = 'partitioned ' || (shards_done + 1) || ' of ' || shards_total || ' counties'
                 WHERE id = $1 RETURNING shards_done, shards_total",
                &[&id],
            )
            .await?
        }
        Some(reason) => {
            let why = format!("county {shard}: {reason}");
            tx.query_one(
                "UPDATE wangge.jobs SET shards_failed = shards_failed + 1, state = 'failed',
                   stage = 'failed', reason = $2, finished = $3, heartbeat = now()
                 WHERE id = $1 RETURNING shards_done, shards_total",
                &[&id, &why, &now],
            )
            .await?
        }
    };
    tx.commit().await?;
    if reason.is_some() {
        return Ok(ShardStep::Final);
    }
    let (done, total): (i32, Option<i32>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(if Some(done) == total {
        ShardStep::AllDone
    } else {
        ShardStep::Pending
    })
}

/// Claims the assembly of a job all of whose shards are done.
pub(super) async fn claim_assembly(
    client: &mut Client,
    id: &str,
    owner: &str,
) -> Result<Option<Claim>, StoreError> {
    let tx = client.transaction().await?;
    if !lock_open(&tx, id).await? {
        tx.commit().await?;
        return Ok(None);
    }
    let row = tx
        .query_opt(
            &format!(
                "UPDATE wangge.jobs SET owner = $2, attempt = attempt + 1, heartbeat = now(),
                   stage = 'assembling the counties'
                 WHERE id = $1 AND shards_total IS NOT NULL AND shards_done = shards_total
                 RETURNING {JOB_COLS}, attempt, cancel_requested, {SHARD_COLS}"
            ),
            &[&id, &owner],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let claim = Claim {
        record: job_row(&row)?,
        attempt: row.try_get(13)?,
        cancel_requested: row.try_get(14)?,
    };
    tx.commit().await?;
    Ok(Some(claim))
}

/// The results of a job's shards, in shard order.
pub(super) async fn results(client: &Client, id: &str) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT result FROM wangge.job_shards WHERE job = $1 ORDER BY ord",
            &[&id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            r.try_get::<_, Option<String>>(0)?
                .ok_or_else(|| StoreError::Corrupt(format!("job {id}: a shard has no result")))
        })
        .collect()
}
