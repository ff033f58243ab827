//! The stores: datasets, their layers (uploaded and computed) and jobs.
//!
//! The service talks to a [`Store`] trait object; [`SqliteStore`] is the
//! embedded implementation (one SQLite file in the data directory, WAL journal,
//! `synchronous=FULL`), the default. With the `postgres` feature,
//! `postgres::PgStore` keeps the same things in PostgreSQL with PostGIS, so
//! that several service processes (replicas) can share one database. Every write is one transaction: a layer is stored whole
//! or not at all, and a job's results are committed together with its final
//! state, so after a crash (even `kill -9`) the store holds exactly what was
//! acknowledged.
//!
//! A layer is stored as its features, each already serialised as an RFC 7946
//! GeoJSON Feature with its bounding box, in chunks of a few thousand features.
//! The service keeps the features of the collections it serves in memory with an
//! R-tree over the boxes; the store is the durable source of truth.

mod adoptions;
#[cfg(feature = "postgres")]
pub mod postgres;
mod sqlite;

pub use adoptions::{Adoption, ADOPTED_LAYER};
pub use sqlite::SqliteStore;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::partition::RetiredCode;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("this store does not support {0}")]
    Unsupported(&'static str),
    /// An error the PostgreSQL server reported.
    #[error("database error: {0}")]
    Postgres(String),
    /// The database cannot be reached (connection refused or lost, pool
    /// exhausted): worth retrying.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be used as it is: no PostGIS, a schema newer than
    /// this binary knows, a URL that does not parse.
    #[error("{0}")]
    Setup(String),
    /// A job's final write refused because the job is no longer this
    /// process's to finish (another process failed or finished it meanwhile).
    #[error("job {0} is no longer this process's to finish: its result is discarded")]
    Fenced(String),
}

/// One feature, ready to serve: its id (unique in its layer), its GeoJSON text (a
/// complete `Feature` object carrying that id) and its bounding box
/// `[min_lon, min_lat, max_lon, max_lat]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFeature {
    pub id: Box<str>,
    pub bbox: [f64; 4],
    pub json: Box<str>,
}

/// A feature read by [`Store::features_where`], with its position in its
/// layer (0 for the first feature): a shard's results name the features
/// they are about by it, so the assembly can put them back in layer order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedFeature {
    pub position: usize,
    pub feature: StoredFeature,
}

/// Which features of a layer to read, by their bounding boxes
/// (`[minx, miny, maxx, maxy]`, borders included).
#[derive(Debug, Clone, PartialEq)]
pub enum BoxFilter {
    /// Features whose box meets this box.
    Meets([f64; 4]),
    /// Features whose box lies inside none of these boxes.
    InsideNone(Vec<[f64; 4]>),
    /// Features whose box meets this box or whose id begins with this
    /// prefix: a county's previous grids are those near it and those of its
    /// own areas, whose codes begin with the county's code wherever the
    /// areas have moved since.
    MeetsOrIdPrefix([f64; 4], String),
}

impl BoxFilter {
    /// Whether feature `f` passes.
    pub fn keeps(&self, f: &StoredFeature) -> bool {
        let b = &f.bbox;
        let meets = |q: &[f64; 4]| b[2] >= q[0] && b[0] <= q[2] && b[3] >= q[1] && b[1] <= q[3];
        match self {
            BoxFilter::Meets(q) => meets(q),
            BoxFilter::InsideNone(qs) => !qs
                .iter()
                .any(|q| b[0] >= q[0] && b[2] <= q[2] && b[1] >= q[1] && b[3] <= q[3]),
            BoxFilter::MeetsOrIdPrefix(q, prefix) => meets(q) || f.id.starts_with(prefix.as_str()),
        }
    }
}

/// Where a layer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LayerSource {
    /// Uploaded by a client.
    Upload,
    /// Computed by a job.
    Job,
}

impl LayerSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LayerSource::Upload => "upload",
            LayerSource::Job => "job",
        }
    }
    pub(crate) fn parse(s: &str) -> LayerSource {
        if s == "job" {
            LayerSource::Job
        } else {
            LayerSource::Upload
        }
    }
}

/// What the store knows about a layer besides its features.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerMeta {
    pub dataset: String,
    pub layer: String,
    /// The layer kind (`areas`, `households`, … for uploads; `grids`, `coverage`,
    /// … for results).
    pub kind: String,
    pub source: LayerSource,
    pub features: u64,
    /// Bounding box of all features, when there are any.
    pub extent: Option<[f64; 4]>,
    /// For uploads, the layer report (accepted, rejected and why); for results,
    /// what the job says about them.
    pub report: serde_json::Value,
    /// The job that computed the layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Commit time, RFC 3339 UTC.
    pub updated: String,
    /// Increases with every write of the layer: caches compare it.
    pub version: i64,
}

/// The state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }
    /// True once the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// A job as stored and as shown to clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: String,
    pub dataset: String,
    /// `partition`, `coverage` or `propose`.
    pub kind: String,
    pub state: JobState,
    /// 0–1.
    pub progress: f64,
    pub stage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request body (rules, options).
    pub params: serde_json::Value,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Names of the layers the job wrote (in its dataset).
    pub results: Vec<String>,
    /// What the job reports beyond its layers (totals, counts).
    pub summary: serde_json::Value,
    /// For a job cut into county shards: how many there are and how many
    /// finished (shown as `shards_total`, `shards_done`, `shards_failed`).
    #[serde(flatten)]
    pub shards: Option<ShardCounts>,
}

/// How far a job cut into county shards has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShardCounts {
    pub shards_total: u32,
    pub shards_done: u32,
    pub shards_failed: u32,
}

/// The columns every store keeps a job's record in, in this order.
pub(crate) const JOB_COLS: &str = "id, dataset, kind, state, progress, stage, reason, params, created, started, finished, results, summary";

/// A row of a store's jobs table, read by column position ([`JOB_COLS`]
/// first): what each store's driver provides so that one function,
/// [`read_job`], maps a row to a [`JobRecord`].
pub(crate) trait JobColumns {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn optional_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn real(&self, i: usize) -> Result<f64, Self::Error>;
}

/// A job's record from its stored columns. A JSON column that does not
/// parse reads as null (it was written by this code, so that is a bug, not
/// a reason to hide the job); an unknown state reads as failed.
pub(crate) fn read_job<R: JobColumns>(r: &R) -> Result<JobRecord, R::Error> {
    let json = |i: usize| -> Result<serde_json::Value, R::Error> {
        Ok(serde_json::from_str(&r.text(i)?).unwrap_or(serde_json::Value::Null))
    };
    Ok(JobRecord {
        id: r.text(0)?,
        dataset: r.text(1)?,
        kind: r.text(2)?,
        state: JobState::parse(&r.text(3)?).unwrap_or(JobState::Failed),
        progress: r.real(4)?,
        stage: r.text(5)?,
        reason: r.optional_text(6)?,
        params: json(7)?,
        created: r.text(8)?,
        started: r.optional_text(9)?,
        finished: r.optional_text(10)?,
        results: serde_json::from_value(json(11)?).unwrap_or_default(),
        summary: json(12)?,
        shards: None,
    })
}

/// A computed layer to commit with a job.
#[derive(Debug, Clone)]
pub struct NewLayer {
    pub layer: String,
    pub kind: String,
    pub report: serde_json::Value,
    pub features: Vec<StoredFeature>,
}

/// How far a running (or queued) job has got, as [`Store::job_progress`]
/// records it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    pub id: String,
    pub progress: f64,
    pub stage: String,
}

/// Runs a queued job by id in this process (from a queue worker's blocking
/// thread). `Err` means the job's outcome could not be recorded and the
/// queue should try it again.
pub type JobRunner = Arc<dyn Fn(&QueuedTask) -> Result<(), String> + Send + Sync>;

/// What a queue worker took: a whole job, or one shard of a job cut into
/// county shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTask {
    pub job: String,
    pub shard: Option<String>,
}

/// What taking a shard found ([`JobQueue::claim_shard`]).
#[derive(Debug, Clone)]
pub enum ShardClaim {
    /// The shard is this process's to run, as this attempt (the fencing
    /// token of its result).
    Run {
        record: Box<JobRecord>,
        attempt: i32,
    },
    /// The shard's result is stored already (its worker died after storing
    /// it): nothing to run, but the job may wait to be assembled.
    Done,
    /// The job is final (failed, cancelled, done) or gone: nothing to do.
    Gone,
}

/// Where a job stands after one of its shards stored its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardStep {
    /// Other shards are still to finish.
    Pending,
    /// Every shard is done: the job can be assembled.
    AllDone,
    /// This attempt had lost the shard to a later one; nothing was stored.
    Fenced,
    /// The job is final (this shard failed it, or it was cancelled).
    Final,
}

/// A job this process took from the queue: its record and the attempt
/// number that fences its final commit.
#[derive(Debug, Clone)]
pub struct Claim {
    pub record: JobRecord,
    /// 1 for the first run, more when a worker took over a job another
    /// worker lost: only the latest attempt may commit.
    pub attempt: i32,
    /// A client asked for the job's cancellation before this attempt.
    pub cancel_requested: bool,
}

/// A job queue in the store, shared by every process on it: a job submitted
/// on one process runs on whichever process's worker takes it first, and a
/// job whose worker died is taken up again by another.
pub trait JobQueue: Send + Sync {
    /// Stores a new queued job and queues it, in one transaction.
    fn enqueue(&self, job: &JobRecord) -> Result<(), StoreError>;
    /// Starts this process's queue workers (`concurrency` jobs at once),
    /// which call `run` with each job's id.
    fn start_workers(&self, concurrency: usize, run: JobRunner) -> Result<(), StoreError>;
    /// Makes a queued (or lost) job this process's: a new attempt, which
    /// fences out any earlier one. `None` when the job is final already.
    fn claim(&self, id: &str) -> Result<Option<Claim>, StoreError>;
    /// Cuts a claimed job into `shards` (in order): one shard row and one
    /// queued task each, with the job running, in one transaction, fenced
    /// by `attempt`. A job cut already is left as it is.
    fn split(&self, id: &str, attempt: i32, shards: &[String]) -> Result<(), StoreError>;
    /// Takes a shard as a new attempt (its job turns running), unless the
    /// job is final or a client asked for its cancellation (then cancelled).
    fn claim_shard(&self, id: &str, shard: &str) -> Result<ShardClaim, StoreError>;
    /// Stores a shard's result (`Ok`, JSON text) or failure (`Err`, the
    /// reason, which fails the job), fenced by `attempt`, and advances the
    /// job's shard counts and progress.
    fn finish_shard(
        &self,
        id: &str,
        shard: &str,
        attempt: i32,
        outcome: Result<&str, &str>,
    ) -> Result<ShardStep, StoreError>;
    /// Claims the assembly of a job every shard of which is done (a new
    /// attempt on the job, fencing its final commit); `None` when the job is
    /// final or shards are still to finish.
    fn claim_assembly(&self, id: &str) -> Result<Option<Claim>, StoreError>;
    /// The stored results of a job's shards, in shard order.
    fn shard_results(&self, id: &str) -> Result<Vec<String>, StoreError>;
}

/// The storage the service needs. Implementations must make every method that
/// writes atomic and durable before it returns. Methods block: the service
/// calls them from its blocking threads and job threads, never from an HTTP
/// worker.
pub trait Store: Send + Sync {
    /// True when other processes may write the same store (replicas on one
    /// PostgreSQL database): cached collections are then checked against
    /// [`Store::layer_version`] before they are served, and running jobs
    /// report their progress through [`Store::job_progress`] so every
    /// replica shows it.
    fn shared(&self) -> bool {
        false
    }
    /// A layer's current version alone (cheaper than [`Store::layer`] where
    /// it matters: a shared store answers it for every served request).
    fn layer_version(&self, dataset: &str, layer: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.layer(dataset, layer)?.map(|m| m.version))
    }
    /// Records the progress of the jobs this process has queued or running
    /// (and that the process is alive); returns the ids of those whose
    /// cancellation another process asked for ([`Store::request_cancel`]).
    /// A store only one process uses has nothing to record.
    fn job_progress(&self, jobs: &[JobProgress]) -> Result<Vec<String>, StoreError> {
        let _ = jobs;
        Ok(Vec::new())
    }
    /// The job queue that processes sharing this store take jobs from, when
    /// it has one (PostgreSQL); `None`: jobs run in the process that queued
    /// them (SQLite).
    fn queue(&self) -> Option<&dyn JobQueue> {
        None
    }
    /// Asks whichever process runs a queued or running job to cancel it;
    /// the job as stored (`None` when there is no such job) and whether the
    /// request was taken (the job was unfinished; a queued job may be
    /// cancelled at once, so its record is final already).
    fn request_cancel(&self, id: &str) -> Result<Option<(JobRecord, bool)>, StoreError> {
        Ok(self.job(id)?.map(|r| {
            let open = !r.state.is_final();
            (r, open)
        }))
    }

    /// Stores (or replaces) a layer with its features, atomically.
    fn put_layer(
        &self,
        dataset: &str,
        layer: &str,
        kind: &str,
        source: LayerSource,
        report: &serde_json::Value,
        features: &[StoredFeature],
    ) -> Result<LayerMeta, StoreError>;
    /// Removes a layer; false when there was none.
    fn delete_layer(&self, dataset: &str, layer: &str) -> Result<bool, StoreError>;
    /// Removes every layer of a dataset; returns how many.
    fn delete_dataset(&self, dataset: &str) -> Result<usize, StoreError>;
    /// Every layer, or those of one dataset, ordered by dataset and name.
    fn layers(&self, dataset: Option<&str>) -> Result<Vec<LayerMeta>, StoreError>;
    fn layer(&self, dataset: &str, layer: &str) -> Result<Option<LayerMeta>, StoreError>;
    /// A layer's features in order, with the metadata they belong to.
    fn features(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<(LayerMeta, Vec<StoredFeature>)>, StoreError>;

    /// The ids and boxes of a layer's features, in layer order, their
    /// `json` left empty: what a county shard knows of every area (the
    /// counties' boxes) before it reads the areas near its own. Stores that
    /// can leave the JSON unread do; this default reads it and drops it.
    fn feature_boxes(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<Vec<StoredFeature>>, StoreError> {
        Ok(self.features(dataset, layer)?.map(|(_, features)| {
            features
                .into_iter()
                .map(|f| StoredFeature {
                    json: "".into(),
                    ..f
                })
                .collect()
        }))
    }

    /// The features of a layer that `filter` keeps, in layer order, each
    /// with its position in the layer (`None` when there is no such layer):
    /// what a county shard reads of a province's households. Stores that can
    /// ask an index do; this default reads the layer and filters it.
    fn features_where(
        &self,
        dataset: &str,
        layer: &str,
        filter: &BoxFilter,
    ) -> Result<Option<Vec<PlacedFeature>>, StoreError> {
        Ok(self.features(dataset, layer)?.map(|(_, features)| {
            features
                .into_iter()
                .enumerate()
                .filter(|(_, f)| filter.keeps(f))
                .map(|(position, feature)| PlacedFeature { position, feature })
                .collect()
        }))
    }

    /// Inserts or updates a job's record (not its results).
    fn put_job(&self, job: &JobRecord) -> Result<(), StoreError>;
    /// Commits a finished job: its final record and, when it succeeded, its result
    /// layers and the grid codes it retired (added to its dataset's lineage), all
    /// in one transaction. Returns the stored layers.
    fn finish_job(
        &self,
        job: &JobRecord,
        layers: &[NewLayer],
        retired: &[RetiredCode],
    ) -> Result<Vec<LayerMeta>, StoreError>;
    /// The grid codes any update of the dataset (or a replaced grids upload)
    /// retired, sorted: its grids' lineage, which census updates never hand
    /// out again. Kept until the dataset is deleted.
    fn retired_codes(&self, dataset: &str) -> Result<Vec<RetiredCode>, StoreError>;
    /// Adds codes to a dataset's lineage.
    fn retire_codes(&self, dataset: &str, codes: &[RetiredCode]) -> Result<(), StoreError>;
    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// Jobs, newest first, optionally of one dataset.
    fn jobs(&self, dataset: Option<&str>) -> Result<Vec<JobRecord>, StoreError>;
    /// Marks failed with `reason` every queued or running job that no live
    /// process works on any more: after a restart, all of them for a store one
    /// process uses; for a shared store, those whose process stopped
    /// reporting progress ([`Store::job_progress`]) a lease ago.
    fn fail_unfinished_jobs(&self, reason: &str, now: &str) -> Result<usize, StoreError>;
    /// At most `limit` jobs, newest first, after skipping `offset`, optionally
    /// of one dataset (a page of [`Store::jobs`]).
    fn jobs_page(
        &self,
        dataset: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError>;
    /// Removes the finished jobs (succeeded, failed, cancelled) that finished
    /// before `before` (RFC 3339, as [`rfc3339`] writes it); their result
    /// layers stay. Returns how many.
    fn prune_jobs(&self, before: &str) -> Result<usize, StoreError>;

    /// Adopts the dataset's layer `layer` (a grids proposal): copies it to
    /// [`ADOPTED_LAYER`] and records the adoption with `adopted_by` and the
    /// time, atomically. `None` when there is no such layer. A store
    /// without adoptions says so.
    fn adopt(
        &self,
        dataset: &str,
        layer: &str,
        adopted_by: &str,
    ) -> Result<Option<(Adoption, LayerMeta)>, StoreError> {
        let _ = (dataset, layer, adopted_by);
        Err(StoreError::Unsupported("adopting grids"))
    }
    /// The dataset's adoptions, oldest first.
    fn adoptions(&self, dataset: &str) -> Result<Vec<Adoption>, StoreError> {
        let _ = dataset;
        Err(StoreError::Unsupported("adopting grids"))
    }
}

/// Opens the store a service is configured with: PostgreSQL when `url` is a
/// `postgresql://` or `postgres://` URL (with the `postgres` feature), else
/// the SQLite store in `data_dir`. `job_lease` is how long a shared store
/// waits for a silent process's jobs before failing them.
pub fn open(
    url: Option<&str>,
    data_dir: &std::path::Path,
    job_lease: std::time::Duration,
) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        None => Ok(Arc::new(SqliteStore::open(data_dir)?)),
        Some(u) if u.starts_with("postgresql://") || u.starts_with("postgres://") => {
            open_postgres(u, job_lease)
        }
        Some(u) => Err(StoreError::Setup(format!(
            "--store {:?}: expected a postgresql:// or postgres:// URL (or no --store, for the SQLite store in --data-dir)",
            redact(u)
        ))),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str, job_lease: std::time::Duration) -> Result<Arc<dyn Store>, StoreError> {
    let options = postgres::PgOptions {
        lease: job_lease,
        ..Default::default()
    };
    Ok(Arc::new(postgres::PgStore::open_with(url, options)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str, _: std::time::Duration) -> Result<Arc<dyn Store>, StoreError> {
    Err(StoreError::Setup(
        "this build of wangge has no PostgreSQL store (built without the `postgres` feature)"
            .into(),
    ))
}

/// A connection URL with its password (in the authority or a `password=`
/// parameter) replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let rest = match rest.rsplit_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => rest.to_string(),
        },
        None => rest.to_string(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}://{rest}?{q}"),
        None => format!("{scheme}://{rest}"),
    }
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// A time as RFC 3339 UTC with milliseconds, e.g. `2026-11-24T18:30:00.123Z`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The instant of an RFC 3339 UTC time as [`rfc3339`] writes it
/// (`YYYY-MM-DDTHH:MM:SS[.fff]Z`); `None` for anything else.
pub fn parse_rfc3339(t: &str) -> Option<std::time::SystemTime> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !t.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let frac = &t[19..t.len() - 1];
    let nanos: u32 = match frac.strip_prefix('.') {
        None if frac.is_empty() => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|c| c.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=secret&sslmode=disable"),
            "postgres://h/db?user=u&password=***&sslmode=disable"
        );
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
        for t in [t, std::time::UNIX_EPOCH, leap] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20Z"),
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        );
        for bad in [
            "",
            "2023-11-14 22:13:20Z",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13:20.Z",
            "x023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
