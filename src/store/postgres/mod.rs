//! [`Store`] on PostgreSQL with PostGIS: what several service processes
//! (replicas) on one database share.
//!
//! The client is tokio-postgres with the deadpool pool (as martin uses). The
//! [`Store`] trait is synchronous and called from the service's blocking
//! threads and job threads, so the store owns a small tokio runtime: each call
//! spawns its work there and waits for the answer on a channel. That works
//! from any thread (a plain thread, actix's blocking pool, even an async
//! test body), where a blocking client that runs its own runtime inside the
//! calling thread (the `postgres` crate) panics on a thread that is already
//! driving one. Work that needs no database (encoding features for COPY)
//! runs on the calling thread first, in parallel.
//!
//! - `schema`: the versioned migrations.
//! - `layers`: a layer = a metadata row + a feature table per write (PostGIS
//!   geometry, GiST index), written by binary COPY (`copy`) and swapped in
//!   in one transaction.
//! - `jobs`: job rows with an owner, an attempt and a heartbeat, progress
//!   and cancellation across processes, lineage and adoptions.
//! - `queue`: the job queue (graphile_worker) that every process's workers
//!   take jobs from, with worker recovery.
//! - `shards`: the county shards of a job cut for several workers, each
//!   stored under a fenced attempt.

mod copy;
mod jobs;
mod layers;
mod queue;
mod schema;
mod shards;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::NoTls;

pub use queue::QueueTiming;
pub use schema::SCHEMA_VERSION;

use super::{
    redact, Adoption, BoxFilter, JobProgress, JobQueue, JobRecord, LayerMeta, LayerSource,
    NewLayer, PlacedFeature, Store, StoreError, StoredFeature, ADOPTED_LAYER,
};
use crate::partition::RetiredCode;
use layers::LayerWrite;

/// How the PostgreSQL store runs.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections the pool opens.
    pub max_connections: usize,
    /// How long a job's process may stay silent (no progress report, no
    /// queue heartbeat) before another process takes its jobs over (or,
    /// when the queue will not run them again, declares them failed).
    pub lease: Duration,
    /// How long to wait for a connection (from the pool or the server).
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            lease: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL/PostGIS store.
pub struct PgStore {
    /// `Some` until dropped (then shut down without blocking).
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// This process's id in the job rows it owns.
    owner: String,
    options: PgOptions,
    /// The connection settings (the queue's workers open their own pool).
    config: tokio_postgres::Config,
    /// The attempt of each job this process claimed from the queue: the
    /// fencing token its final commit is checked against.
    claims: Mutex<HashMap<String, i32>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("owner", &self.owner)
            .finish()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused on an async thread.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A PostgreSQL error's own text (the server's message, detail and hint).
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_string();
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => e.to_string(),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        match e.as_db_error() {
            // Connection exceptions, server shutting down or starting,
            // too many connections: worth retrying.
            Some(db) => {
                let code = db.code().code();
                if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                    StoreError::Unavailable(describe(&e))
                } else {
                    StoreError::Postgres(describe(&e))
                }
            }
            None if e.is_closed() || io => StoreError::Unavailable(e.to_string()),
            None => StoreError::Postgres(e.to_string()),
        }
    }
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => e.into(),
        other => StoreError::Unavailable(format!("no database connection: {other}")),
    }
}

impl PgStore {
    /// Connects to `url` (`postgresql://user:password@host:port/database`),
    /// makes sure PostGIS and the schema are there, and migrates the schema.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_with(url, PgOptions::default())
    }

    pub fn open_with(url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Setup(format!("--store {}: not a usable URL: {e}", redact(url)))
        })?;
        config.application_name("wangge");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wangge-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Setup(format!("cannot start the store's runtime: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(2))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Setup(format!("cannot set up the connection pool: {e}")))?;
        let owner = owner_id();
        let store = PgStore {
            rt: Some(rt),
            pool,
            owner,
            options,
            config,
            claims: Mutex::new(HashMap::new()),
        };
        let pool = store.pool.clone();
        let version = store
            .run(async move {
                let mut client = pool.get().await.map_err(pool_error)?;
                let version = schema::migrate(&mut client).await?;
                drop(client);
                queue::migrate(pool).await?;
                Ok(version)
            })
            .map_err(|e| match e {
                StoreError::Unavailable(m) => {
                    StoreError::Unavailable(format!("cannot connect to {}: {m}", redact(url)))
                }
                other => other,
            })?;
        tracing::info!(store = %redact(url), schema = version, owner = %store.owner, "PostgreSQL store open");
        Ok(store)
    }

    /// Runs `fut` on the store's runtime and waits for its answer.
    fn run<R, F>(&self, fut: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Future<Output = Result<R, StoreError>> + Send + 'static,
    {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Unavailable("the store's worker stopped".into()))?
    }

    /// The attempt this process claimed a job as, if it took it from the queue.
    fn attempt(&self, id: &str) -> Option<i32> {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }

    /// Keeps the attempt a job was claimed as, for its final commit's fencing.
    fn remember_claim(&self, claim: &crate::store::Claim) {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(claim.record.id.clone(), claim.attempt);
    }

    fn forget_claim(&self, id: &str) {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Writes layers (and the job that computed them) in one transaction.
    fn commit_layers(
        &self,
        writes: Vec<(LayerWrite, Vec<bytes::Bytes>)>,
        job: Option<(JobRecord, Vec<RetiredCode>)>,
    ) -> Result<Vec<LayerMeta>, StoreError> {
        let pool = self.pool.clone();
        let owner = self.owner.clone();
        let attempt = job.as_ref().and_then(|(j, _)| self.attempt(&j.id));
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            if let Some((job, _)) = &job {
                jobs::claim_finish(&tx, &job.id, &owner, attempt).await?;
            }
            let mut metas = Vec::with_capacity(writes.len());
            for (w, rows) in writes {
                metas.push(layers::write_layer(&tx, &w, rows).await?);
            }
            if let Some((job, retired)) = &job {
                jobs::insert_retired(&*tx, &job.dataset, retired).await?;
                if !jobs::upsert(&*tx, job, &owner).await? {
                    return Err(StoreError::Fenced(job.id.clone()));
                }
            }
            tx.commit().await?;
            Ok(metas)
        })
    }
}

/// A random id for this process (job rows name their owner with it).
fn owner_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{}-{:016x}", std::process::id(), h.finish())
}

fn layer_write(
    dataset: &str,
    layer: &str,
    kind: &str,
    source: LayerSource,
    report: &serde_json::Value,
    job: Option<&str>,
    features: &[StoredFeature],
) -> Result<(LayerWrite, Vec<bytes::Bytes>), StoreError> {
    let rows = copy::encode(features)?;
    Ok((
        LayerWrite {
            dataset: dataset.into(),
            layer: layer.into(),
            kind: kind.into(),
            source,
            report: report.clone(),
            job: job.map(str::to_owned),
            features: features.len() as u64,
            extent: super::sqlite::extent(features),
        },
        rows,
    ))
}

impl Store for PgStore {
    fn shared(&self) -> bool {
        true
    }

    fn queue(&self) -> Option<&dyn JobQueue> {
        Some(self)
    }

    fn layer_version(&self, dataset: &str, layer: &str) -> Result<Option<i64>, StoreError> {
        let pool = self.pool.clone();
        let (d, l) = (dataset.to_string(), layer.to_string());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let st = client
                .prepare_cached(
                    "SELECT version FROM wangge.layers WHERE dataset = $1 AND layer = $2",
                )
                .await?;
            Ok(client.query_opt(&st, &[&d, &l]).await?.map(|r| r.get(0)))
        })
    }

    fn put_layer(
        &self,
        dataset: &str,
        layer: &str,
        kind: &str,
        source: LayerSource,
        report: &serde_json::Value,
        features: &[StoredFeature],
    ) -> Result<LayerMeta, StoreError> {
        let w = layer_write(dataset, layer, kind, source, report, None, features)?;
        let mut metas = self.commit_layers(vec![w], None)?;
        metas
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no layer written".into()))
    }

    fn delete_layer(&self, dataset: &str, layer: &str) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let (d, l) = (dataset.to_string(), layer.to_string());
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            layers::lock_layer(&tx, &d, &l).await?;
            let gone = tx
                .query_opt(
                    "DELETE FROM wangge.layers WHERE dataset = $1 AND layer = $2 RETURNING feature_table",
                    &[&d, &l],
                )
                .await?;
            if let Some(row) = &gone {
                layers::drop_table(&tx, row.try_get(0)?).await?;
            }
            tx.commit().await?;
            Ok(gone.is_some())
        })
    }

    fn delete_dataset(&self, dataset: &str) -> Result<usize, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.to_string();
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            let rows = tx
                .query(
                    "DELETE FROM wangge.layers WHERE dataset = $1 RETURNING feature_table",
                    &[&d],
                )
                .await?;
            for row in &rows {
                layers::drop_table(&tx, row.try_get(0)?).await?;
            }
            tx.execute("DELETE FROM wangge.retired_codes WHERE dataset = $1", &[&d])
                .await?;
            tx.execute("DELETE FROM wangge.adoptions WHERE dataset = $1", &[&d])
                .await?;
            tx.commit().await?;
            Ok(rows.len())
        })
    }

    fn layers(&self, dataset: Option<&str>) -> Result<Vec<LayerMeta>, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.map(str::to_owned);
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            layers::metas(&client, d.as_deref(), None).await
        })
    }

    fn layer(&self, dataset: &str, layer: &str) -> Result<Option<LayerMeta>, StoreError> {
        let pool = self.pool.clone();
        let (d, l) = (dataset.to_string(), layer.to_string());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            Ok(layers::metas(&client, Some(&d), Some(&l)).await?.pop())
        })
    }

    fn features(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<(LayerMeta, Vec<StoredFeature>)>, StoreError> {
        let pool = self.pool.clone();
        let (d, l) = (dataset.to_string(), layer.to_string());
        let found = self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            layers::features(&client, &d, &l).await
        })?;
        if let Some((meta, features)) = &found {
            if features.len() as u64 != meta.features {
                return Err(StoreError::Corrupt(format!(
                    "layer {dataset}.{layer} should have {} features, found {}",
                    meta.features,
                    features.len()
                )));
            }
        }
        Ok(found)
    }

    fn feature_boxes(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<Vec<StoredFeature>>, StoreError> {
        let pool = self.pool.clone();
        let (d, l) = (dataset.to_string(), layer.to_string());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            layers::feature_boxes(&client, &d, &l).await
        })
    }

    fn features_where(
        &self,
        dataset: &str,
        layer: &str,
        filter: &BoxFilter,
    ) -> Result<Option<Vec<PlacedFeature>>, StoreError> {
        let pool = self.pool.clone();
        let (d, l, filter) = (dataset.to_string(), layer.to_string(), filter.clone());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            layers::features_where(&client, &d, &l, &filter).await
        })
    }

    fn put_job(&self, job: &JobRecord) -> Result<(), StoreError> {
        let (job_final, id) = (job.state.is_final(), job.id.clone());
        let pool = self.pool.clone();
        let (job, owner) = (job.clone(), self.owner.clone());
        let stored = self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::upsert(&**client, &job, &owner).await
        })?;
        if !stored {
            tracing::warn!("a job update was refused: the job is final or another process's");
        }
        if job_final {
            self.forget_claim(&id);
        }
        Ok(())
    }

    fn finish_job(
        &self,
        job: &JobRecord,
        layers: &[NewLayer],
        retired: &[RetiredCode],
    ) -> Result<Vec<LayerMeta>, StoreError> {
        let writes = layers
            .iter()
            .map(|l| {
                layer_write(
                    &job.dataset,
                    &l.layer,
                    &l.kind,
                    LayerSource::Job,
                    &l.report,
                    Some(&job.id),
                    &l.features,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let done = self.commit_layers(writes, Some((job.clone(), retired.to_vec())));
        self.forget_claim(&job.id);
        done
    }

    fn retired_codes(&self, dataset: &str) -> Result<Vec<RetiredCode>, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::retired(&client, &d).await
        })
    }

    fn retire_codes(&self, dataset: &str, codes: &[RetiredCode]) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let (d, codes) = (dataset.to_string(), codes.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::insert_retired(&**client, &d, &codes).await
        })
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::one(&client, &id).await
        })
    }

    fn jobs(&self, dataset: Option<&str>) -> Result<Vec<JobRecord>, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.map(str::to_owned);
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::page(&client, d.as_deref(), 0, None).await
        })
    }

    fn fail_unfinished_jobs(&self, reason: &str, now: &str) -> Result<usize, StoreError> {
        let pool = self.pool.clone();
        let (reason, now) = (reason.to_string(), now.to_string());
        let lease = self.options.lease.as_secs_f64();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::fail_abandoned(&client, &reason, &now, lease).await
        })
    }

    fn jobs_page(
        &self,
        dataset: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.map(str::to_owned);
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let (offset, limit) = (to_i64(offset), to_i64(limit));
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::page(&client, d.as_deref(), offset, Some(limit)).await
        })
    }

    fn prune_jobs(&self, before: &str) -> Result<usize, StoreError> {
        let pool = self.pool.clone();
        let before = before.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::prune(&client, &before).await
        })
    }

    fn job_progress(&self, updates: &[JobProgress]) -> Result<Vec<String>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let pool = self.pool.clone();
        let (updates, owner) = (updates.to_vec(), self.owner.clone());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::progress(&client, &updates, &owner).await
        })
    }

    fn request_cancel(&self, id: &str) -> Result<Option<(JobRecord, bool)>, StoreError> {
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::request_cancel(&client, &id).await
        })
    }

    fn adopt(
        &self,
        dataset: &str,
        layer: &str,
        adopted_by: &str,
    ) -> Result<Option<(Adoption, LayerMeta)>, StoreError> {
        let pool = self.pool.clone();
        let (d, l, by) = (
            dataset.to_string(),
            layer.to_string(),
            adopted_by.to_string(),
        );
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await?;
            let Some(meta) = layers::copy_layer(&tx, &d, &l, ADOPTED_LAYER).await? else {
                return Ok(None);
            };
            let adoption =
                jobs::record_adoption(&tx, &d, &l, &by, &meta.updated, meta.features).await?;
            tx.commit().await?;
            Ok(Some((adoption, meta)))
        })
    }

    fn adoptions(&self, dataset: &str) -> Result<Vec<Adoption>, StoreError> {
        let pool = self.pool.clone();
        let d = dataset.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            jobs::adoptions(&client, &d).await
        })
    }
}
