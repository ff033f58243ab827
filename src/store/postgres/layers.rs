//! Layers in PostgreSQL: one metadata row in `wangge.layers` and the features
//! in a table of their own per write, `wangge.features_<version>`, with a
//! PostGIS geometry column (SRID 4326) under a GiST index.
//!
//! A write creates the new table, fills it with binary COPY, indexes it, then
//! points the metadata row at it and drops the old table, all in one
//! transaction: readers see the old layer or the new one, never part of one,
//! and a writer that dies mid-COPY leaves nothing behind. A feature table never
//! changes once committed, so a reader needs no transaction: it reads the
//! metadata row, then that row's table, and if a newer write dropped the table
//! in between it reads the metadata again.

use bytes::Bytes;
use futures_util::{pin_mut, SinkExt, TryStreamExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row, Transaction};

use super::copy;
use crate::store::{
    now_rfc3339, BoxFilter, LayerMeta, LayerSource, PlacedFeature, StoreError, StoredFeature,
};

/// The metadata columns, in the order [`meta_row`] reads them.
pub(super) const META_COLS: &str = "dataset, layer, kind, source, features, minx, miny, maxx, maxy, report, job, updated, version, feature_table";

/// A layer's metadata and the table holding its features.
pub(super) fn meta_row(r: &Row) -> Result<(LayerMeta, String), StoreError> {
    let b: [Option<f64>; 4] = [r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?];
    let extent = match b {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        _ => None,
    };
    let report: &str = r.try_get(9)?;
    let source: &str = r.try_get(3)?;
    let meta = LayerMeta {
        dataset: r.try_get(0)?,
        layer: r.try_get(1)?,
        kind: r.try_get(2)?,
        source: LayerSource::parse(source),
        features: r.try_get::<_, i64>(4)? as u64,
        extent,
        report: serde_json::from_str(report).unwrap_or(serde_json::Value::Null),
        job: r.try_get(10)?,
        updated: r.try_get(11)?,
        version: r.try_get(12)?,
    };
    Ok((meta, table_name(r.try_get(13)?)?))
}

/// A feature table's name as stored, checked before it goes into SQL text.
fn table_name(name: &str) -> Result<String, StoreError> {
    let digits = name.strip_prefix("features_").unwrap_or("");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::Corrupt(format!(
            "a layer points at the table {name:?}, which is not a feature table"
        )));
    }
    Ok(name.to_string())
}

/// Serialises writers of one layer (two-key advisory lock, held until the
/// transaction ends), so versions grow in commit order per layer.
pub(super) async fn lock_layer(
    tx: &Transaction<'_>,
    dataset: &str,
    layer: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
        &[&dataset, &layer],
    )
    .await?;
    Ok(())
}

/// What a layer write stores besides the features.
pub(super) struct LayerWrite {
    pub dataset: String,
    pub layer: String,
    pub kind: String,
    pub source: LayerSource,
    pub report: serde_json::Value,
    pub job: Option<String>,
    pub features: u64,
    pub extent: Option<[f64; 4]>,
}

/// The next layer version, and the (not yet existing) table for it.
async fn next_version(tx: &Transaction<'_>) -> Result<(i64, String), StoreError> {
    let v: i64 = tx
        .query_one("SELECT nextval('wangge.layer_version')", &[])
        .await?
        .get(0);
    Ok((v, format!("features_{v}")))
}

/// Creates the feature table `table` (no index yet).
async fn create_table(tx: &Transaction<'_>, table: &str) -> Result<(), StoreError> {
    tx.batch_execute(&format!(
        "CREATE TABLE wangge.{table} (
             seq integer NOT NULL, fid text NOT NULL,
             minx float8 NOT NULL, miny float8 NOT NULL, maxx float8 NOT NULL, maxy float8 NOT NULL,
             geom geometry(Geometry, {srid}), feature text NOT NULL)",
        srid = copy::SRID
    ))
    .await?;
    Ok(())
}

/// The primary key on the features' order and the GiST index on their
/// geometries, built once the table is filled (faster than row by row).
async fn index_table(tx: &Transaction<'_>, table: &str) -> Result<(), StoreError> {
    tx.batch_execute(&format!(
        "ALTER TABLE wangge.{table} ADD PRIMARY KEY (seq);
         CREATE INDEX {table}_geom ON wangge.{table} USING gist (geom);"
    ))
    .await?;
    Ok(())
}

/// Points the layer's metadata at `table` under `version`, dropping the table
/// it pointed at before.
async fn swap_in(
    tx: &Transaction<'_>,
    w: &LayerWrite,
    version: i64,
    table: &str,
    updated: &str,
) -> Result<(), StoreError> {
    let old = tx
        .query_opt(
            "SELECT feature_table FROM wangge.layers WHERE dataset = $1 AND layer = $2",
            &[&w.dataset, &w.layer],
        )
        .await?;
    let e = w.extent;
    tx.execute(
        &format!(
            "INSERT INTO wangge.layers ({META_COLS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (dataset, layer) DO UPDATE SET
               kind = EXCLUDED.kind, source = EXCLUDED.source, features = EXCLUDED.features,
               minx = EXCLUDED.minx, miny = EXCLUDED.miny, maxx = EXCLUDED.maxx,
               maxy = EXCLUDED.maxy, report = EXCLUDED.report, job = EXCLUDED.job,
               updated = EXCLUDED.updated, version = EXCLUDED.version,
               feature_table = EXCLUDED.feature_table"
        ),
        &[
            &w.dataset,
            &w.layer,
            &w.kind,
            &w.source.as_str(),
            &(w.features as i64),
            &e.map(|e| e[0]),
            &e.map(|e| e[1]),
            &e.map(|e| e[2]),
            &e.map(|e| e[3]),
            &w.report.to_string(),
            &w.job,
            &updated,
            &version,
            &table,
        ],
    )
    .await?;
    if let Some(old) = old {
        drop_table(tx, old.try_get(0)?).await?;
    }
    Ok(())
}

pub(super) async fn drop_table(tx: &Transaction<'_>, table: &str) -> Result<(), StoreError> {
    let table = table_name(table)?;
    tx.batch_execute(&format!("DROP TABLE IF EXISTS wangge.{table}"))
        .await?;
    Ok(())
}

/// Writes a layer inside `tx`: a new feature table filled from `rows` (the
/// binary COPY stream of [`copy::encode`]), indexed, and swapped in.
pub(super) async fn write_layer(
    tx: &Transaction<'_>,
    w: &LayerWrite,
    rows: Vec<Bytes>,
) -> Result<LayerMeta, StoreError> {
    lock_layer(tx, &w.dataset, &w.layer).await?;
    let (version, table) = next_version(tx).await?;
    create_table(tx, &table).await?;
    let sink = tx
        .copy_in(&format!(
            "COPY wangge.{table} ({}) FROM STDIN (FORMAT binary)",
            copy::COLUMNS
        ))
        .await?;
    pin_mut!(sink);
    for chunk in rows {
        sink.feed(chunk).await?;
    }
    let copied = sink.as_mut().finish().await?;
    if copied != w.features {
        return Err(StoreError::Corrupt(format!(
            "{copied} features copied of {}",
            w.features
        )));
    }
    index_table(tx, &table).await?;
    let updated = now_rfc3339();
    swap_in(tx, w, version, &table, &updated).await?;
    Ok(LayerMeta {
        dataset: w.dataset.clone(),
        layer: w.layer.clone(),
        kind: w.kind.clone(),
        source: w.source,
        features: w.features,
        extent: w.extent,
        report: w.report.clone(),
        job: w.job.clone(),
        updated,
        version,
    })
}

/// Copies the layer `source` to `target` of the same dataset inside `tx` (the
/// adoption of a grids proposal); `None` when there is no such layer.
pub(super) async fn copy_layer(
    tx: &Transaction<'_>,
    dataset: &str,
    source: &str,
    target: &str,
) -> Result<Option<LayerMeta>, StoreError> {
    lock_layer(tx, dataset, target).await?;
    // FOR SHARE keeps a writer of the source from swapping (and dropping) its
    // table until this transaction ends.
    let Some(row) = tx
        .query_opt(
            &format!(
                "SELECT {META_COLS} FROM wangge.layers WHERE dataset = $1 AND layer = $2 FOR SHARE"
            ),
            &[&dataset, &source],
        )
        .await?
    else {
        return Ok(None);
    };
    let (meta, from) = meta_row(&row)?;
    let (version, table) = next_version(tx).await?;
    create_table(tx, &table).await?;
    tx.batch_execute(&format!(
        "INSERT INTO wangge.{table} ({cols}) SELECT {cols} FROM wangge.{from}",
        cols = copy::COLUMNS
    ))
    .await?;
    index_table(tx, &table).await?;
    let w = LayerWrite {
        dataset: dataset.into(),
        layer: target.into(),
        kind: meta.kind.clone(),
        source: meta.source,
        report: meta.report.clone(),
        job: meta.job.clone(),
        features: meta.features,
        extent: meta.extent,
    };
    let updated = now_rfc3339();
    swap_in(tx, &w, version, &table, &updated).await?;
    Ok(Some(LayerMeta {
        layer: target.into(),
        updated,
        version,
        ..meta
    }))
}

/// A layer's metadata, or every layer's (of one dataset).
pub(super) async fn metas(
    client: &Client,
    dataset: Option<&str>,
    layer: Option<&str>,
) -> Result<Vec<LayerMeta>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {META_COLS} FROM wangge.layers
                 WHERE ($1::text IS NULL OR dataset = $1) AND ($2::text IS NULL OR layer = $2)
                 ORDER BY dataset, layer"
            ),
            &[&dataset, &layer],
        )
        .await?;
    rows.iter().map(|r| Ok(meta_row(r)?.0)).collect()
}

/// A layer's features in order, with the metadata of the same write.
pub(super) async fn features(
    client: &Client,
    dataset: &str,
    layer: &str,
) -> Result<Option<(LayerMeta, Vec<StoredFeature>)>, StoreError> {
    let found = features_kept(client, dataset, layer, None, true).await?;
    Ok(found.map(|(meta, placed)| (meta, placed.into_iter().map(|p| p.feature).collect())))
}

/// The ids and boxes of a layer's features, in order, their JSON left
/// empty (not read).
pub(super) async fn feature_boxes(
    client: &Client,
    dataset: &str,
    layer: &str,
) -> Result<Option<Vec<StoredFeature>>, StoreError> {
    let found = features_kept(client, dataset, layer, None, false).await?;
    Ok(found.map(|(_, placed)| placed.into_iter().map(|p| p.feature).collect()))
}

/// The features of a layer that `filter` keeps, in order. A box that features
/// must meet asks the GiST index, with the box grown by a hair so that the
/// geometry's rounding cannot lose a feature on its border; the exact test
/// is then made on the stored boxes, as [`BoxFilter::keeps`] makes it.
pub(super) async fn features_where(
    client: &Client,
    dataset: &str,
    layer: &str,
    filter: &BoxFilter,
) -> Result<Option<Vec<PlacedFeature>>, StoreError> {
    let found = features_kept(client, dataset, layer, Some(filter), true).await?;
    Ok(found.map(|(_, features)| {
        features
            .into_iter()
            .filter(|p| filter.keeps(&p.feature))
            .collect()
    }))
}

async fn features_kept(
    client: &Client,
    dataset: &str,
    layer: &str,
    filter: Option<&BoxFilter>,
    with_json: bool,
) -> Result<Option<(LayerMeta, Vec<PlacedFeature>)>, StoreError> {
    // A write that lands between reading the metadata and reading its table
    // drops that table: read the new metadata then. Each retry means another
    // write committed, so a few are plenty.
    for _ in 0..8 {
        let Some(row) = client
            .query_opt(
                &format!("SELECT {META_COLS} FROM wangge.layers WHERE dataset = $1 AND layer = $2"),
                &[&dataset, &layer],
            )
            .await?
        else {
            return Ok(None);
        };
        let (meta, table) = meta_row(&row)?;
        match read_table(client, &table, meta.features, filter, with_json).await {
            Ok(features) => return Ok(Some((meta, features))),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Unavailable(format!(
        "the layer {dataset}.{layer} is being rewritten faster than it can be read"
    )))
}

async fn read_table(
    client: &Client,
    table: &str,
    expected: u64,
    filter: Option<&BoxFilter>,
    with_json: bool,
) -> Result<Vec<PlacedFeature>, tokio_postgres::Error> {
    /// How far a box to meet is grown for the index (degrees).
    const HAIR: f64 = 1e-9;
    const MEETS: &str = "geom && ST_MakeEnvelope(($1::float8[])[1], ($1::float8[])[2], ($1::float8[])[3], ($1::float8[])[4], 4326)";
    let grown = |q: &[f64; 4]| vec![q[0] - HAIR, q[1] - HAIR, q[2] + HAIR, q[3] + HAIR];
    let (clause, boxes, prefix): (String, Vec<Vec<f64>>, Option<&str>) = match filter {
        None => (String::new(), vec![], None),
        Some(BoxFilter::Meets(q)) => (format!("WHERE {MEETS}"), vec![grown(q)], None),
        Some(BoxFilter::InsideNone(qs)) => (
            "WHERE NOT EXISTS (SELECT 1 FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[])
                                 AS b(x0, y0, x1, y1)
                               WHERE minx >= b.x0 AND maxx <= b.x1 AND miny >= b.y0 AND maxy <= b.y1)"
                .into(),
            (0..4).map(|k| qs.iter().map(|q| q[k]).collect()).collect(),
            None,
        ),
        Some(BoxFilter::MeetsOrIdPrefix(q, prefix)) => (
            format!("WHERE {MEETS} OR starts_with(fid, $2::text)"),
            vec![grown(q)],
            Some(prefix.as_str()),
        ),
    };
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        boxes.iter().map(|b| b as _).collect();
    if let Some(p) = &prefix {
        params.push(p);
    }
    let rows = client
        .query_raw(
            &format!(
                "SELECT seq, fid, minx, miny, maxx, maxy, {} FROM wangge.{table} {clause} ORDER BY seq",
                if with_json { "feature" } else { "''" }
            ),
            params,
        )
        .await?;
    pin_mut!(rows);
    let capacity = if filter.is_some() { 0 } else { expected };
    let mut out = Vec::with_capacity(capacity as usize);
    while let Some(r) = rows.try_next().await? {
        let seq: i32 = r.try_get(0)?;
        out.push(PlacedFeature {
            // Written from 0 up by `copy` (never negative).
            position: seq as usize,
            feature: StoredFeature {
                id: r.try_get::<_, &str>(1)?.into(),
                bbox: [r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?],
                json: r.try_get::<_, &str>(6)?.into(),
            },
        });
    }
    Ok(out)
}
