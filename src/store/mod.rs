//! The embedded store: datasets and their layers in one SQLite file under the
//! data directory. Every write is one transaction, so a crash never leaves a
//! half-written layer behind.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

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
}

/// A stored layer's listing entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerInfo {
    pub dataset: String,
    pub layer: String,
    pub kind: String,
    pub features: u64,
    pub updated: String,
}

/// The SQLite-backed store.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) `DIR/wangge.sqlite`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join("wangge.sqlite"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS layers (
                dataset TEXT NOT NULL, layer TEXT NOT NULL, kind TEXT NOT NULL,
                features INTEGER NOT NULL, geojson BLOB NOT NULL, report TEXT NOT NULL,
                updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                PRIMARY KEY (dataset, layer));",
        )?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot corrupt SQLite's own state.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores (or replaces) a layer atomically.
    pub fn put_layer(
        &self,
        dataset: &str,
        layer: &str,
        kind: &str,
        features: u64,
        geojson: &[u8],
        report: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO layers (dataset, layer, kind, features, geojson, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![dataset, layer, kind, features as i64, geojson, report],
        )?;
        Ok(())
    }

    /// The GeoJSON text of a layer, if stored.
    pub fn layer_geojson(&self, dataset: &str, layer: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT geojson FROM layers WHERE dataset = ?1 AND layer = ?2",
                params![dataset, layer],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every stored layer, by dataset then layer name.
    pub fn list(&self) -> Result<Vec<LayerInfo>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT dataset, layer, kind, features, updated FROM layers ORDER BY dataset, layer",
        )?;
        let rows = st.query_map([], |r| {
            Ok(LayerInfo {
                dataset: r.get(0)?,
                layer: r.get(1)?,
                kind: r.get(2)?,
                features: r.get::<_, i64>(3)? as u64,
                updated: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("wangge-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let s = Store::open(&dir).unwrap();
            s.put_layer("demo", "areas", "areas", 2, b"{}", "{}")
                .unwrap();
        }
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.list().unwrap().len(), 1);
        assert_eq!(
            s.layer_geojson("demo", "areas").unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(s.layer_geojson("demo", "nope").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
