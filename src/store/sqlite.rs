//! [`Store`] on SQLite: one file, WAL journal, `synchronous=FULL`, one
//! transaction per write.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{
    now_rfc3339, JobRecord, LayerMeta, LayerSource, NewLayer, Store, StoreError, StoredFeature,
    JOB_COLS,
};
use crate::partition::RetiredCode;

/// Features per stored chunk.
const CHUNK: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layer_meta (
    dataset TEXT NOT NULL, layer TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
    features INTEGER NOT NULL, minx REAL, miny REAL, maxx REAL, maxy REAL,
    report TEXT NOT NULL, job TEXT, updated TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (dataset, layer));
CREATE TABLE IF NOT EXISTS layer_chunks (
    dataset TEXT NOT NULL, layer TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (dataset, layer, seq));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, dataset TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    progress REAL NOT NULL, stage TEXT NOT NULL, reason TEXT, params TEXT NOT NULL,
    created TEXT NOT NULL, started TEXT, finished TEXT, results TEXT NOT NULL,
    summary TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_dataset ON jobs (dataset, created);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS retired_codes (
    dataset TEXT NOT NULL, parent_code TEXT NOT NULL, code TEXT NOT NULL,
    PRIMARY KEY (dataset, parent_code, code));
";

/// Adds codes to a dataset's lineage (codes already there stay once).
fn insert_retired(
    tx: &Transaction<'_>,
    dataset: &str,
    codes: &[RetiredCode],
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO retired_codes (dataset, parent_code, code) VALUES (?1, ?2, ?3)",
    )?;
    for c in codes {
        st.execute(params![dataset, c.parent_code, c.code])?;
    }
    Ok(())
}

/// The SQLite store in `DIR/wangge.sqlite`.
///
/// Writes go through one connection; reads through another (WAL lets them run
/// side by side). WAL checkpoints run on a background thread of their own, so
/// a big commit is acknowledged once its WAL frames are synced, without waiting
/// for them to be copied into the main database file.
pub struct SqliteStore {
    pub(super) writer: Mutex<Connection>,
    pub(super) reader: Mutex<Connection>,
    checkpoint: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

pub(super) fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot corrupt SQLite's own state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    /// Opens (or creates) `DIR/wangge.sqlite`.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("wangge.sqlite");
        let writer = Connection::open(&path)?;
        writer.busy_timeout(std::time::Duration::from_secs(30))?;
        // Big pages suit the store's big feature chunks (fewer overflow pages);
        // this only takes effect when the database file is created.
        writer.execute_batch(
            "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;",
        )?;
        writer.execute_batch(SCHEMA)?;
        writer.execute_batch(super::adoptions::SCHEMA)?;
        let reader = Connection::open(&path)?;
        reader.busy_timeout(std::time::Duration::from_secs(30))?;
        reader.execute_batch("PRAGMA synchronous=FULL;")?;
        let checkpointer = Connection::open(&path)?;
        checkpointer.busy_timeout(std::time::Duration::from_secs(30))?;
        checkpointer.execute_batch("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;")?;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("wangge-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
                    if let Err(e) = checkpointer.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            });
        let checkpoint = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint thread: checkpointing on commit");
                writer.execute_batch("PRAGMA wal_autocheckpoint=1000;")?;
                None
            }
        };
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            checkpoint: Mutex::new(checkpoint),
        })
    }

    /// Asks the checkpoint thread to fold the WAL into the database.
    pub(super) fn checkpoint_soon(&self) {
        if let Some(tx) = self
            .checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(());
        }
    }
}

pub(super) fn next_version(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ('layer_version', 1)
         ON CONFLICT(name) DO UPDATE SET value = value + 1",
        [],
    )?;
    Ok(tx.query_row(
        "SELECT value FROM counters WHERE name = 'layer_version'",
        [],
        |r| r.get(0),
    )?)
}

fn encode_chunk(features: &[StoredFeature]) -> Vec<u8> {
    let size: usize = features
        .iter()
        .map(|f| 40 + f.id.len() + f.json.len())
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&(features.len() as u32).to_le_bytes());
    for f in features {
        for v in f.bbox {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(f.id.len() as u32).to_le_bytes());
        out.extend_from_slice(f.id.as_bytes());
        out.extend_from_slice(&(f.json.len() as u32).to_le_bytes());
        out.extend_from_slice(f.json.as_bytes());
    }
    out
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or_else(|| StoreError::Corrupt("truncated feature chunk".into()))?;
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<usize, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn f64(&mut self) -> Result<f64, StoreError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    fn text(&mut self) -> Result<Box<str>, StoreError> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?)
            .map(Into::into)
            .map_err(|_| StoreError::Corrupt("feature text is not UTF-8".into()))
    }
}

fn decode_chunk(data: &[u8], out: &mut Vec<StoredFeature>) -> Result<(), StoreError> {
    let mut r = Reader { data, pos: 0 };
    let n = r.u32()?;
    out.reserve(n);
    for _ in 0..n {
        let bbox = [r.f64()?, r.f64()?, r.f64()?, r.f64()?];
        let id = r.text()?;
        let json = r.text()?;
        out.push(StoredFeature { id, bbox, json });
    }
    Ok(())
}

pub(super) fn extent(features: &[StoredFeature]) -> Option<[f64; 4]> {
    let mut e: Option<[f64; 4]> = None;
    for f in features {
        if !f.bbox.iter().all(|v| v.is_finite()) {
            continue;
        }
        e = Some(match e {
            None => f.bbox,
            Some(e) => [
                e[0].min(f.bbox[0]),
                e[1].min(f.bbox[1]),
                e[2].max(f.bbox[2]),
                e[3].max(f.bbox[3]),
            ],
        });
    }
    e
}

#[allow(clippy::too_many_arguments)]
fn write_layer(
    tx: &Transaction<'_>,
    dataset: &str,
    layer: &str,
    kind: &str,
    source: LayerSource,
    report: &serde_json::Value,
    job: Option<&str>,
    features: &[StoredFeature],
) -> Result<LayerMeta, StoreError> {
    let version = next_version(tx)?;
    let updated = now_rfc3339();
    let ext = extent(features);
    tx.execute(
        "DELETE FROM layer_chunks WHERE dataset = ?1 AND layer = ?2",
        params![dataset, layer],
    )?;
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO layer_chunks (dataset, layer, seq, data) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (seq, chunk) in features.chunks(CHUNK).enumerate() {
            ins.execute(params![dataset, layer, seq as i64, encode_chunk(chunk)])?;
        }
    }
    let report_text = report.to_string();
    tx.execute(
        "INSERT OR REPLACE INTO layer_meta
         (dataset, layer, kind, source, features, minx, miny, maxx, maxy, report, job, updated, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            dataset,
            layer,
            kind,
            source.as_str(),
            features.len() as i64,
            ext.map(|e| e[0]),
            ext.map(|e| e[1]),
            ext.map(|e| e[2]),
            ext.map(|e| e[3]),
            report_text,
            job,
            updated,
            version
        ],
    )?;
    Ok(LayerMeta {
        dataset: dataset.into(),
        layer: layer.into(),
        kind: kind.into(),
        source,
        features: features.len() as u64,
        extent: ext,
        report: report.clone(),
        job: job.map(str::to_owned),
        updated,
        version,
    })
}

const META_COLS: &str =
    "dataset, layer, kind, source, features, minx, miny, maxx, maxy, report, job, updated, version";

fn meta_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LayerMeta> {
    let b: [Option<f64>; 4] = [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?];
    let extent = match b {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        _ => None,
    };
    let report: String = r.get(9)?;
    Ok(LayerMeta {
        dataset: r.get(0)?,
        layer: r.get(1)?,
        kind: r.get(2)?,
        source: LayerSource::parse(&r.get::<_, String>(3)?),
        features: r.get::<_, i64>(4)? as u64,
        extent,
        report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
        job: r.get(10)?,
        updated: r.get(11)?,
        version: r.get(12)?,
    })
}

impl super::JobColumns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn optional_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn real(&self, i: usize) -> rusqlite::Result<f64> {
        self.get(i)
    }
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    super::read_job(r)
}

fn upsert_job(conn: &Connection, job: &JobRecord) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO jobs ({JOB_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        job.id,
        job.dataset,
        job.kind,
        job.state.as_str(),
        job.progress,
        job.stage,
        job.reason,
        job.params.to_string(),
        job.created,
        job.started,
        job.finished,
        serde_json::to_string(&job.results).unwrap_or_else(|_| "[]".into()),
        job.summary.to_string(),
    ])?;
    Ok(())
}

impl Store for SqliteStore {
    fn put_layer(
        &self,
        dataset: &str,
        layer: &str,
        kind: &str,
        source: LayerSource,
        report: &serde_json::Value,
        features: &[StoredFeature],
    ) -> Result<LayerMeta, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let meta = write_layer(&tx, dataset, layer, kind, source, report, None, features)?;
        tx.commit()?;
        drop(conn);
        self.checkpoint_soon();
        Ok(meta)
    }

    fn delete_layer(&self, dataset: &str, layer: &str) -> Result<bool, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM layer_chunks WHERE dataset = ?1 AND layer = ?2",
            params![dataset, layer],
        )?;
        let n = tx.execute(
            "DELETE FROM layer_meta WHERE dataset = ?1 AND layer = ?2",
            params![dataset, layer],
        )?;
        tx.commit()?;
        drop(conn);
        self.checkpoint_soon();
        Ok(n > 0)
    }

    fn delete_dataset(&self, dataset: &str) -> Result<usize, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM layer_chunks WHERE dataset = ?1",
            params![dataset],
        )?;
        let n = tx.execute(
            "DELETE FROM layer_meta WHERE dataset = ?1",
            params![dataset],
        )?;
        tx.execute(
            "DELETE FROM retired_codes WHERE dataset = ?1",
            params![dataset],
        )?;
        tx.execute("DELETE FROM adoptions WHERE dataset = ?1", params![dataset])?;
        tx.commit()?;
        Ok(n)
    }

    fn layers(&self, dataset: Option<&str>) -> Result<Vec<LayerMeta>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(&format!(
            "SELECT {META_COLS} FROM layer_meta WHERE ?1 IS NULL OR dataset = ?1 ORDER BY dataset, layer"
        ))?;
        let rows = st.query_map(params![dataset], meta_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn layer(&self, dataset: &str, layer: &str) -> Result<Option<LayerMeta>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(&format!(
            "SELECT {META_COLS} FROM layer_meta WHERE dataset = ?1 AND layer = ?2"
        ))?;
        let r = st.query_row(params![dataset, layer], meta_row).optional()?;
        Ok(r)
    }

    fn features(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<(LayerMeta, Vec<StoredFeature>)>, StoreError> {
        let mut conn = lock(&self.reader);
        // One read transaction: the metadata and chunks of the same commit.
        let tx = conn.transaction()?;
        let meta = tx
            .prepare_cached(&format!(
                "SELECT {META_COLS} FROM layer_meta WHERE dataset = ?1 AND layer = ?2"
            ))?
            .query_row(params![dataset, layer], meta_row)
            .optional()?;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let mut features = Vec::with_capacity(meta.features as usize);
        {
            let mut st = tx.prepare_cached(
                "SELECT data FROM layer_chunks WHERE dataset = ?1 AND layer = ?2 ORDER BY seq",
            )?;
            let mut rows = st.query(params![dataset, layer])?;
            while let Some(row) = rows.next()? {
                let data = row
                    .get_ref(0)?
                    .as_blob()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                decode_chunk(data, &mut features)?;
            }
        }
        tx.commit()?;
        if features.len() as u64 != meta.features {
            return Err(StoreError::Corrupt(format!(
                "layer {dataset}.{layer} should have {} features, found {}",
                meta.features,
                features.len()
            )));
        }
        Ok(Some((meta, features)))
    }

    fn put_job(&self, job: &JobRecord) -> Result<(), StoreError> {
        upsert_job(&lock(&self.writer), job)?;
        self.checkpoint_soon();
        Ok(())
    }

    fn finish_job(
        &self,
        job: &JobRecord,
        layers: &[NewLayer],
        retired: &[RetiredCode],
    ) -> Result<Vec<LayerMeta>, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        insert_retired(&tx, &job.dataset, retired)?;
        let mut metas = Vec::with_capacity(layers.len());
        for l in layers {
            metas.push(write_layer(
                &tx,
                &job.dataset,
                &l.layer,
                &l.kind,
                LayerSource::Job,
                &l.report,
                Some(&job.id),
                &l.features,
            )?);
        }
        upsert_job(&tx, job)?;
        tx.commit()?;
        drop(conn);
        self.checkpoint_soon();
        Ok(metas)
    }

    fn retired_codes(&self, dataset: &str) -> Result<Vec<RetiredCode>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(
            "SELECT parent_code, code FROM retired_codes WHERE dataset = ?1 ORDER BY parent_code, code",
        )?;
        let rows = st.query_map(params![dataset], |r| {
            Ok(RetiredCode {
                parent_code: r.get(0)?,
                code: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn retire_codes(&self, dataset: &str, codes: &[RetiredCode]) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        insert_retired(&tx, dataset, codes)?;
        tx.commit()?;
        Ok(())
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1"))?;
        let r = st.query_row(params![id], job_row).optional()?;
        Ok(r)
    }

    fn jobs(&self, dataset: Option<&str>) -> Result<Vec<JobRecord>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE ?1 IS NULL OR dataset = ?1 ORDER BY created DESC, id DESC"
        ))?;
        let rows = st.query_map(params![dataset], job_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn fail_unfinished_jobs(&self, reason: &str, now: &str) -> Result<usize, StoreError> {
        Ok(lock(&self.writer).execute(
            "UPDATE jobs SET state = 'failed', reason = ?1, finished = ?2
             WHERE state IN ('queued', 'running')",
            params![reason, now],
        )?)
    }

    fn jobs_page(
        &self,
        dataset: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE ?1 IS NULL OR dataset = ?1
             ORDER BY created DESC, id DESC LIMIT ?2 OFFSET ?3"
        ))?;
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let rows = st.query_map(params![dataset, to_i64(limit), to_i64(offset)], job_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn prune_jobs(&self, before: &str) -> Result<usize, StoreError> {
        Ok(lock(&self.writer).execute(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled')
             AND COALESCE(finished, created) < ?1",
            params![before],
        )?)
    }

    fn adopt(
        &self,
        dataset: &str,
        layer: &str,
        adopted_by: &str,
    ) -> Result<Option<(super::Adoption, LayerMeta)>, StoreError> {
        self.adopt_layer(dataset, layer, adopted_by)
    }

    fn adoptions(&self, dataset: &str) -> Result<Vec<super::Adoption>, StoreError> {
        self.list_adoptions(dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobState;

    fn feature(i: usize) -> StoredFeature {
        StoredFeature {
            id: i.to_string().into(),
            bbox: [i as f64, 0.0, i as f64 + 1.0, 1.0],
            json: format!("{{\"type\":\"Feature\",\"id\":{i}}}").into(),
        }
    }

    /// A partition job of `dataset`, created now, in `state` at `stage`.
    fn job(id: &str, dataset: &str, state: JobState, progress: f64, stage: &str) -> JobRecord {
        JobRecord {
            id: id.into(),
            dataset: dataset.into(),
            kind: "partition".into(),
            state,
            progress,
            stage: stage.into(),
            reason: None,
            params: serde_json::json!({}),
            created: now_rfc3339(),
            started: None,
            finished: None,
            results: vec![],
            summary: serde_json::Value::Null,
            shards: None,
        }
    }

    #[test]
    fn layers_and_jobs_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("wangge-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let feats: Vec<StoredFeature> = (0..10_000).map(feature).collect();
        let job = job("j1", "demo", JobState::Running, 0.5, "regions");
        {
            let s = SqliteStore::open(&dir).unwrap();
            let m = s
                .put_layer(
                    "demo",
                    "areas",
                    "areas",
                    LayerSource::Upload,
                    &serde_json::json!({"accepted": 1}),
                    &feats,
                )
                .unwrap();
            assert_eq!(m.extent, Some([0.0, 0.0, 10_000.0, 1.0]));
            s.put_job(&job).unwrap();
        }
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.layers(None).unwrap().len(), 1);
        let (meta, back) = s.features("demo", "areas").unwrap().unwrap();
        assert_eq!(meta.features, 10_000);
        assert_eq!(back, feats);
        assert!(s.features("demo", "nope").unwrap().is_none());
        assert_eq!(s.fail_unfinished_jobs("restarted", "t").unwrap(), 1);
        let j = s.job("j1").unwrap().unwrap();
        assert_eq!(j.state, JobState::Failed);
        assert_eq!(j.reason.as_deref(), Some("restarted"));
        assert!(s.delete_layer("demo", "areas").unwrap());
        assert!(s.layers(Some("demo")).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn retired_codes_accumulate_per_dataset_and_go_with_it() {
        let dir = std::env::temp_dir().join(format!("wangge-lineage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let code = |c: &str| RetiredCode {
            parent_code: "3411".into(),
            code: c.into(),
        };
        let job = job("j2", "a", JobState::Succeeded, 1.0, "done");
        {
            let s = SqliteStore::open(&dir).unwrap();
            s.retire_codes("a", &[code("3411009")]).unwrap();
            s.finish_job(&job, &[], &[code("3411002"), code("3411009")])
                .unwrap();
            s.retire_codes("b", &[code("3411005")]).unwrap();
        }
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(
            s.retired_codes("a").unwrap(),
            [code("3411002"), code("3411009")]
        );
        s.put_layer(
            "a",
            "grids",
            "grids",
            LayerSource::Upload,
            &serde_json::json!({}),
            &[feature(1)],
        )
        .unwrap();
        s.delete_dataset("a").unwrap();
        assert!(s.retired_codes("a").unwrap().is_empty());
        assert_eq!(s.retired_codes("b").unwrap(), [code("3411005")]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
