//! GeoPackages in and out, over the SQLite wangge already links (rusqlite)
//! and the `wkb` crate for the geometry.
//!
//! A GeoPackage geometry is a short header (`GP`, flags, SRS id, an optional
//! envelope) followed by standard WKB; the OGC GeoPackage standard (12-128r18,
//! § 2.1.3) defines both. The CRS comes from `gpkg_spatial_ref_sys`: its EPSG
//! code when the organisation is EPSG, else its WKT matched by PROJ. GCJ-02
//! and BD-09, which no registry has, are written under SRS ids of wangge's own
//! ([`GCJ02_SRS_ID`], [`BD09_SRS_ID`]) with a WGS84 definition, so GIS software
//! draws them as longitude/latitude and wangge reads them back as what they are.

use std::path::Path;

use geo_traits::to_geo::ToGeoGeometry;
use geo_types::Geometry;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags};
use serde_json::Value;

use super::text::{id_of, number, CollectionText};
use super::{Converted, FormatError, Origin, SourceOptions};
use crate::crs::Crs;
use crate::layers::Rejection;

/// SRS id (and organisation code, organisation `WANGGE`) of GCJ-02 in the
/// GeoPackages wangge writes.
pub const GCJ02_SRS_ID: i64 = 990_002;
/// SRS id of BD-09, likewise.
pub const BD09_SRS_ID: i64 = 990_009;

fn sql_err(e: rusqlite::Error) -> FormatError {
    FormatError::GeoPackage(e.to_string())
}

/// Reads a layer of the GeoPackage at `path`.
pub(super) fn read_path(path: &Path, opts: &SourceOptions) -> Result<Converted, FormatError> {
    if !path.is_file() {
        return Err(FormatError::Io(format!("{}: no such file", path.display())));
    }
    let db =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_err)?;
    read(&db, opts)
}

/// Reads a GeoPackage sent as bytes: SQLite reads files, so it is written to
/// a temporary file first, removed again when read.
pub(super) fn read_bytes(bytes: &[u8], opts: &SourceOptions) -> Result<Converted, FormatError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("wangge-upload-{}-{n}.gpkg", std::process::id()));
    std::fs::write(&path, bytes)
        .map_err(|e| FormatError::Io(format!("{}: {e}", path.display())))?;
    let result = read_path(&path, opts);
    let _ = std::fs::remove_file(&path);
    result
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The feature table to read: the named one, or the only one.
fn table_name(db: &Connection, wanted: &Option<String>) -> Result<String, FormatError> {
    let mut stmt = db
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .map_err(|e| {
            FormatError::GeoPackage(format!("not a GeoPackage (no gpkg_contents table): {e}"))
        })?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(sql_err)?;
    match (wanted, names.as_slice()) {
        (Some(w), _) if names.contains(w) => Ok(w.clone()),
        (Some(w), _) => Err(FormatError::GeoPackage(format!(
            "it has no feature layer {w:?} (it has: {})",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        ))),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(FormatError::GeoPackage("it has no feature layers".into())),
        (None, many) => Err(FormatError::GeoPackage(format!(
            "it has {} feature layers ({}); name one with --in-layer",
            many.len(),
            many.join(", ")
        ))),
    }
}

/// The CRS of an SRS id of the GeoPackage; `None` for the undefined systems
/// (ids -1 and 0), which are read as WGS84 unless the caller names a CRS.
fn srs_crs(db: &Connection, srs_id: i64) -> Result<Option<Crs>, FormatError> {
    if srs_id == -1 || srs_id == 0 {
        return Ok(None);
    }
    let row: Option<(String, i64, String)> = db
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            params![srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sql_err)?;
    let Some((org, code, definition)) = row else {
        return Err(FormatError::GeoPackage(format!(
            "the layer's SRS id {srs_id} is not in gpkg_spatial_ref_sys"
        )));
    };
    if org.eq_ignore_ascii_case("epsg") {
        return u32::try_from(code)
            .map(|c| Some(Crs::epsg(c)))
            .map_err(|_| {
                FormatError::GeoPackage(format!("the layer's SRS is EPSG:{code}, not a code"))
            });
    }
    if org.eq_ignore_ascii_case("wangge") {
        match code {
            GCJ02_SRS_ID => return Ok(Some(Crs::Gcj02)),
            BD09_SRS_ID => return Ok(Some(Crs::Bd09)),
            _ => {}
        }
    }
    Crs::from_wkt(&definition).map(Some).map_err(|e| {
        FormatError::GeoPackage(format!(
            "the layer's SRS {srs_id} ({org} {code}) cannot be used: {e}"
        ))
    })
}

fn read(db: &Connection, opts: &SourceOptions) -> Result<Converted, FormatError> {
    let table = table_name(db, &opts.layer)?;
    let (geom_col, srs_id): (String, i64) = db
        .query_row(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
            params![table],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| {
            FormatError::GeoPackage(format!("layer {table:?} has no geometry column: {e}"))
        })?;
    let crs = srs_crs(db, srs_id)?;
    // Every column but the geometry and the integer primary key (the fid).
    let mut columns: Vec<(String, bool)> = Vec::new();
    {
        let mut info = db
            .prepare(&format!("PRAGMA table_info({})", quote(&table)))
            .map_err(sql_err)?;
        let rows = info
            .query_map([], |r| {
                Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)? > 0))
            })
            .map_err(sql_err)?;
        for row in rows {
            columns.push(row.map_err(sql_err)?);
        }
    }
    let props: Vec<&String> = columns
        .iter()
        .filter(|(name, pk)| !pk && *name != geom_col)
        .map(|(n, _)| n)
        .collect();
    let select = std::iter::once(quote(&geom_col))
        .chain(props.iter().map(|p| quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = db
        .prepare(&format!("SELECT {select} FROM {}", quote(&table)))
        .map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut out = CollectionText::new(crs);
    let mut rejected = Vec::new();
    let mut record = 0;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let mut values = Vec::with_capacity(props.len());
        for (i, name) in props.iter().enumerate() {
            let v = match row.get_ref(i + 1).map_err(sql_err)? {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => number(f),
                ValueRef::Text(t) => Value::String(
                    std::str::from_utf8(t)
                        .map_err(|_| FormatError::Undecodable {
                            what: format!("record {record}, field {name:?}"),
                            encoding: "UTF-8",
                            hint: " (GeoPackage text is UTF-8)",
                        })?
                        .to_string(),
                ),
            };
            values.push(((*name).clone(), v));
        }
        let geometry = match row.get_ref(0).map_err(sql_err)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => parse_blob(b),
            _ => Err("the geometry column does not hold a geometry".to_string()),
        };
        match geometry {
            Ok(g) => out.push(record, g.as_ref(), &values),
            Err(reason) => rejected.push(Rejection {
                index: record,
                id: id_of(&values, &opts.id_field),
                row: None,
                reason,
            }),
        }
        record += 1;
    }
    let (text, records) = out.finish();
    Ok(Converted {
        text,
        origin: Origin {
            records,
            total: record,
            rejected,
            first_row: None,
            source: format!(
                "GeoPackage layer {table:?}, {}",
                crs.map_or("undefined SRS".into(), |c| c.to_string())
            ),
        },
    })
}

/// A GeoPackage geometry blob as geo-types; `None` when it is empty.
fn parse_blob(b: &[u8]) -> Result<Option<Geometry<f64>>, String> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return Err("the geometry is not a GeoPackage geometry blob".into());
    }
    let flags = b[3];
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        n => {
            return Err(format!(
                "the geometry blob has an invalid envelope code {n}"
            ))
        }
    };
    if flags & 0b1_0000 != 0 {
        return Ok(None);
    }
    let wkb = b
        .get(8 + envelope..)
        .ok_or("the geometry blob is cut short")?;
    let parsed =
        wkb::reader::read_wkb(wkb).map_err(|e| format!("the geometry's WKB is invalid: {e}"))?;
    Ok(parsed.try_to_geometry())
}

/// One feature to write.
pub(super) struct OutFeature {
    pub(super) geometry: Option<Geometry<f64>>,
    pub(super) props: Vec<(String, Value)>,
}

/// The column type a property takes: the widest of its values.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Column {
    Integer,
    Real,
    Boolean,
    Text,
}

/// Each property's name and column type, in first-seen order.
pub(super) fn schema(features: &[OutFeature]) -> Vec<(String, Column)> {
    let mut out: Vec<(String, Option<Column>)> = Vec::new();
    for f in features {
        for (k, v) in &f.props {
            let kind = match v {
                Value::Null => None,
                Value::Bool(_) => Some(Column::Boolean),
                Value::Number(n) if n.is_i64() || n.is_u64() => Some(Column::Integer),
                Value::Number(_) => Some(Column::Real),
                _ => Some(Column::Text),
            };
            let at = match out.iter().position(|(n, _)| n == k) {
                Some(at) => at,
                None => {
                    out.push((k.clone(), None));
                    out.len() - 1
                }
            };
            let slot = &mut out[at].1;
            *slot = match (*slot, kind) {
                (a, None) => a,
                (None, b) => b,
                (Some(a), Some(b)) if a == b => Some(a),
                (Some(Column::Integer), Some(Column::Real))
                | (Some(Column::Real), Some(Column::Integer)) => Some(Column::Real),
                _ => Some(Column::Text),
            };
        }
    }
    out.into_iter()
        .map(|(n, k)| (n, k.unwrap_or(Column::Text)))
        .collect()
}

/// A property as the text a Text column keeps: strings as they are, lists
/// and objects as their JSON.
pub(super) fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Writes one feature layer as a new GeoPackage at `path` (an existing file
/// is replaced).
pub(super) fn write(
    path: &Path,
    name: &str,
    crs: Crs,
    features: &[OutFeature],
) -> Result<(), String> {
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| e.to_string())?;
    }
    let mut db = Connection::open(path).map_err(|e| e.to_string())?;
    write_db(&mut db, name, crs, features).map_err(|e| e.to_string())
}

fn write_db(
    db: &mut Connection,
    name: &str,
    crs: Crs,
    features: &[OutFeature],
) -> rusqlite::Result<()> {
    db.execute_batch(
        "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
         CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
           organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
           definition TEXT NOT NULL, description TEXT);
         CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
           identifier TEXT UNIQUE, description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
           srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
           geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
         INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');",
    )?;
    let wgs84 = Crs::Wgs84
        .to_wkt(false)
        .unwrap_or_else(|_| "undefined".into());
    let tx = db.transaction()?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        params![wgs84],
    )?;
    let srs_id = match crs {
        Crs::Epsg(code) => {
            let wkt = crs.to_wkt(false).unwrap_or_else(|_| "undefined".into());
            tx.execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, NULL)",
                params![format!("EPSG:{code}"), code, wkt],
            )?;
            i64::from(code)
        }
        Crs::Gcj02 | Crs::Bd09 => {
            let (id, what) = if crs == Crs::Gcj02 {
                (GCJ02_SRS_ID, "GCJ-02 (AMap, Tencent)")
            } else {
                (BD09_SRS_ID, "BD-09 (Baidu)")
            };
            tx.execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'WANGGE', ?2, ?3, ?4)",
                params![
                    what,
                    id,
                    wgs84,
                    format!("{what} longitude/latitude: WGS 84 moved by the published offset; the definition is WGS 84's so that GIS software draws it over {what} base maps")
                ],
            )?;
            id
        }
        Crs::Wgs84 => 4326,
    };
    let columns = schema(features);
    let geometry_type = geometry_type_name(features);
    let mut create = format!(
        "CREATE TABLE {} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry_type}",
        quote(name)
    );
    for (col, kind) in &columns {
        let sql = match kind {
            Column::Integer => "INTEGER",
            Column::Real => "REAL",
            Column::Boolean => "BOOLEAN",
            Column::Text => "TEXT",
        };
        create.push_str(&format!(", {} {sql}", quote(col)));
    }
    create.push(')');
    tx.execute(&create, [])?;
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    {
        let placeholders = (0..columns.len() + 1)
            .map(|i| format!("?{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let names = std::iter::once("geom".to_string())
            .chain(columns.iter().map(|(c, _)| quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut insert = tx.prepare(&format!(
            "INSERT INTO {} ({names}) VALUES ({placeholders})",
            quote(name)
        ))?;
        for f in features {
            let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(columns.len() + 1);
            let blob = f.geometry.as_ref().map(|g| {
                if let Some(r) = geo::BoundingRect::bounding_rect(g) {
                    min_x = min_x.min(r.min().x);
                    min_y = min_y.min(r.min().y);
                    max_x = max_x.max(r.max().x);
                    max_y = max_y.max(r.max().y);
                }
                geometry_blob(g, srs_id)
            });
            values.push(blob.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Blob));
            for (col, kind) in &columns {
                let v = f.props.iter().find(|(k, _)| k == col).map(|(_, v)| v);
                values.push(sql_value(v, *kind));
            }
            insert.execute(rusqlite::params_from_iter(values))?;
        }
    }
    let (min_x, min_y, max_x, max_y) = if min_x <= max_x {
        (Some(min_x), Some(min_y), Some(max_x), Some(max_y))
    } else {
        (None, None, None, None)
    };
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6)",
        params![name, min_x, min_y, max_x, max_y, srs_id],
    )?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        params![name, geometry_type, srs_id],
    )?;
    tx.commit()
}

fn sql_value(v: Option<&Value>, kind: Column) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match (v, kind) {
        (None | Some(Value::Null), _) => S::Null,
        (Some(Value::Number(n)), Column::Integer) => n.as_i64().map_or(S::Null, S::Integer),
        (Some(Value::Number(n)), Column::Real) => n.as_f64().map_or(S::Null, S::Real),
        (Some(Value::Bool(b)), Column::Boolean) => S::Integer(i64::from(*b)),
        (Some(v), _) => as_text(v).map_or(S::Null, S::Text),
    }
}

/// The GeoPackage geometry type of a layer: its one type, or GEOMETRY.
fn geometry_type_name(features: &[OutFeature]) -> &'static str {
    let mut found: Option<&'static str> = None;
    for g in features.iter().filter_map(|f| f.geometry.as_ref()) {
        let t = match g {
            Geometry::Point(_) => "POINT",
            Geometry::MultiPoint(_) => "MULTIPOINT",
            Geometry::LineString(_) => "LINESTRING",
            Geometry::MultiLineString(_) => "MULTILINESTRING",
            Geometry::Polygon(_) => "POLYGON",
            Geometry::MultiPolygon(_) => "MULTIPOLYGON",
            _ => "GEOMETRY",
        };
        match found {
            None => found = Some(t),
            Some(f) if f == t => {}
            Some(_) => return "GEOMETRY",
        }
    }
    found.unwrap_or("GEOMETRY")
}

/// A geometry as a GeoPackage blob: the header (little-endian, no envelope)
/// and little-endian WKB.
fn geometry_blob(g: &Geometry<f64>, srs_id: i64) -> Vec<u8> {
    let mut out = vec![b'G', b'P', 0, 0b0000_0001];
    out.extend_from_slice(&(srs_id as i32).to_le_bytes());
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    // Writing to a Vec cannot fail; geo-types geometries are all writable.
    let _ = wkb::writer::write_geometry(&mut out, g, &options);
    out
}
