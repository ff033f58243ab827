//! Adopted grids, versioned: adopting copies a dataset's proposal layer
//! (normally `grids`) to its `adopted_grids` layer and records who adopted
//! it and when, in one transaction, so the layer and its adoption record
//! never disagree. Census updates start from `adopted_grids`.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::sqlite::{lock, next_version, SqliteStore};
use super::{now_rfc3339, LayerMeta, StoreError};

/// The layer adopted grids are kept in.
pub const ADOPTED_LAYER: &str = "adopted_grids";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS adoptions (
    dataset TEXT NOT NULL, version INTEGER NOT NULL, adopted_by TEXT NOT NULL,
    adopted_at TEXT NOT NULL, grids INTEGER NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (dataset, version));
";

/// One adoption of a dataset's grids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    /// 1 for the dataset's first adoption, then one more each time.
    pub version: i64,
    /// Who adopted them (the caller's role; tokens carry no names).
    pub adopted_by: String,
    /// RFC 3339 UTC.
    pub adopted_at: String,
    /// How many grids were adopted.
    pub grids: u64,
    /// The layer that was adopted (`grids`: the proposal).
    pub layer: String,
}

impl SqliteStore {
    /// Copies `source` to [`ADOPTED_LAYER`] and records the adoption; `None`
    /// when the dataset has no layer `source`.
    pub fn adopt_layer(
        &self,
        dataset: &str,
        source: &str,
        adopted_by: &str,
    ) -> Result<Option<(Adoption, LayerMeta)>, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let grids: Option<i64> = tx
            .query_row(
                "SELECT features FROM layer_meta WHERE dataset = ?1 AND layer = ?2",
                params![dataset, source],
                |r| r.get(0),
            )
            .optional()?;
        let Some(grids) = grids else {
            return Ok(None);
        };
        let layer_version = next_version(&tx)?;
        let now = now_rfc3339();
        tx.execute(
            "DELETE FROM layer_chunks WHERE dataset = ?1 AND layer = ?2",
            params![dataset, ADOPTED_LAYER],
        )?;
        tx.execute(
            "INSERT INTO layer_chunks (dataset, layer, seq, data)
             SELECT dataset, ?3, seq, data FROM layer_chunks WHERE dataset = ?1 AND layer = ?2",
            params![dataset, source, ADOPTED_LAYER],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO layer_meta
             (dataset, layer, kind, source, features, minx, miny, maxx, maxy, report, job, updated, version)
             SELECT dataset, ?3, kind, source, features, minx, miny, maxx, maxy, report, job, ?4, ?5
             FROM layer_meta WHERE dataset = ?1 AND layer = ?2",
            params![dataset, source, ADOPTED_LAYER, now, layer_version],
        )?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM adoptions WHERE dataset = ?1",
            params![dataset],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO adoptions (dataset, version, adopted_by, adopted_at, grids, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![dataset, version, adopted_by, now, grids, source],
        )?;
        tx.commit()?;
        drop(conn);
        self.checkpoint_soon();
        let meta = super::Store::layer(self, dataset, ADOPTED_LAYER)?
            .ok_or_else(|| StoreError::Corrupt("adopted grids vanished after commit".into()))?;
        Ok(Some((
            Adoption {
                version,
                adopted_by: adopted_by.into(),
                adopted_at: now,
                grids: grids as u64,
                layer: source.into(),
            },
            meta,
        )))
    }

    /// A dataset's adoptions, oldest first.
    pub fn list_adoptions(&self, dataset: &str) -> Result<Vec<Adoption>, StoreError> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached(
            "SELECT version, adopted_by, adopted_at, grids, source FROM adoptions
             WHERE dataset = ?1 ORDER BY version",
        )?;
        let rows = st.query_map(params![dataset], |r| {
            Ok(Adoption {
                version: r.get(0)?,
                adopted_by: r.get(1)?,
                adopted_at: r.get(2)?,
                grids: r.get::<_, i64>(3)? as u64,
                layer: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LayerSource, Store, StoredFeature};
    use super::*;

    #[test]
    fn adoptions_copy_the_layer_count_up_and_go_with_the_dataset() {
        let dir = std::env::temp_dir().join(format!("wangge-adopt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = SqliteStore::open(&dir).unwrap();
        assert!(s.adopt_layer("d", "grids", "planner").unwrap().is_none());
        let f = |i: usize| StoredFeature {
            id: format!("g{i}").into(),
            bbox: [0.0, 0.0, 1.0, 1.0],
            json: format!("{{\"type\":\"Feature\",\"id\":\"g{i}\"}}").into(),
        };
        let v = serde_json::Value::Null;
        s.put_layer("d", "grids", "grids", LayerSource::Job, &v, &[f(1), f(2)])
            .unwrap();
        let (a, meta) = s.adopt_layer("d", "grids", "planner").unwrap().unwrap();
        assert_eq!((a.version, a.grids, meta.features), (1, 2, 2));
        s.put_layer("d", "grids", "grids", LayerSource::Job, &v, &[f(3)])
            .unwrap();
        let (_, copied) = s.features("d", ADOPTED_LAYER).unwrap().unwrap();
        assert_eq!(
            copied,
            vec![f(1), f(2)],
            "a new proposal leaves the adopted grids"
        );
        let (b, _) = s.adopt_layer("d", "grids", "viewer?").unwrap().unwrap();
        assert_eq!((b.version, b.grids), (2, 1));
        assert_eq!(
            s.features("d", ADOPTED_LAYER).unwrap().unwrap().1,
            vec![f(3)]
        );
        assert_eq!(s.list_adoptions("d").unwrap().len(), 2);
        s.delete_dataset("d").unwrap();
        assert!(s.list_adoptions("d").unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
