//! Shapefiles in: a `.shp` with its siblings, or a `.zip` holding them.
//!
//! Geometry comes from the `shapefile` crate (rings sorted into polygons by
//! their winding, as the format defines), attributes from `dbase`, the CRS
//! from the `.prj` (matched to an EPSG code by PROJ, see `crs::wkt`) and the
//! text encoding from the `.cpg`, `--encoding` or the `.dbf`'s language driver
//! byte, in that order of trust... except that an explicit `--encoding` wins
//! over a `.cpg`, so a wrong `.cpg` can be overruled.

use shapefile::dbase;
use std::io::{Cursor, Read};
use std::path::Path;

use geo_types::Geometry;
use serde_json::Value;

use super::encoding::{self, parse_encoding};
use super::text::{id_of, number, CollectionText};
use super::{read_file, Converted, FormatError, Origin, SourceOptions};
use crate::crs::Crs;
use crate::layers::Rejection;

/// The files of one Shapefile, in memory.
struct Parts {
    /// The name, for messages (`roads.shp`).
    name: String,
    shp: Vec<u8>,
    shx: Vec<u8>,
    dbf: Vec<u8>,
    prj: Option<Vec<u8>>,
    cpg: Option<Vec<u8>>,
}

/// Reads `path` (a `.shp`) and the files beside it.
pub(super) fn read_path(path: &Path, opts: &SourceOptions) -> Result<Converted, FormatError> {
    let sibling = |ext: &str| -> Option<std::path::PathBuf> {
        [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
            .into_iter()
            .map(|e| path.with_extension(e))
            .find(|p| p.is_file())
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dbf = sibling("dbf").ok_or_else(|| {
        FormatError::MissingPart(format!(
            "{} has no .dbf beside it (the attributes are kept there)",
            path.display()
        ))
    })?;
    let shx = sibling("shx").ok_or_else(|| {
        FormatError::MissingPart(format!(
            "{} has no .shx beside it (copy the .shp with all its sibling files)",
            path.display()
        ))
    })?;
    let optional = |ext: &str| sibling(ext).map(|p| read_file(&p)).transpose();
    let parts = Parts {
        shp: read_file(path)?,
        shx: read_file(&shx)?,
        dbf: read_file(&dbf)?,
        prj: optional("prj")?,
        cpg: optional("cpg")?,
        name,
    };
    read_parts(parts, opts)
}

/// Reads the one Shapefile in a zip archive (folders inside are fine).
pub(super) fn read_zip(bytes: &[u8], opts: &SourceOptions) -> Result<Converted, FormatError> {
    let zip_err = |e: zip::result::ZipError| FormatError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(zip_err)?;
    let shps: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".shp") && !n.contains("__MACOSX"))
        .collect();
    let shp = match shps.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(FormatError::Zip(
                "it holds no .shp (a zipped Shapefile is the .shp, .shx, .dbf, .prj and .cpg of one layer)".into(),
            ))
        }
        many => {
            return Err(FormatError::Zip(format!(
                "it holds {} Shapefiles ({}); send one layer per upload",
                many.len(),
                many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let stem = &shp[..shp.len() - 4];
    let mut member = |ext: &str| -> Result<Option<Vec<u8>>, FormatError> {
        let Some(name) = names.iter().find(|n| {
            n.len() == stem.len() + 4
                && n.starts_with(stem)
                && n[stem.len()..].eq_ignore_ascii_case(ext)
        }) else {
            return Ok(None);
        };
        let mut file = archive.by_name(name).map_err(zip_err)?;
        let mut out = Vec::new();
        file.read_to_end(&mut out)
            .map_err(|e| FormatError::Zip(format!("{name}: {e}")))?;
        Ok(Some(out))
    };
    let parts = Parts {
        shp: member(".shp")?.unwrap_or_default(),
        shx: member(".shx")?.ok_or_else(|| {
            FormatError::MissingPart(format!("the zip has {shp} but no {stem}.shx"))
        })?,
        dbf: member(".dbf")?.ok_or_else(|| {
            FormatError::MissingPart(format!(
                "the zip has {shp} but no {stem}.dbf (the attributes are kept there)"
            ))
        })?,
        prj: member(".prj")?,
        cpg: member(".cpg")?,
        name: shp.rsplit('/').next().unwrap_or(&shp).to_string(),
    };
    read_parts(parts, opts)
}

/// The CRS of the `.prj`, if there is one.
fn prj_crs(parts: &Parts) -> Result<Option<Crs>, FormatError> {
    let Some(prj) = &parts.prj else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(prj);
    if text.trim().is_empty() {
        return Ok(None);
    }
    Crs::from_wkt(&text).map(Some).map_err(FormatError::Prj)
}

/// The attributes' encoding, and whether it was only assumed.
fn attribute_encoding(
    parts: &Parts,
    opts: &SourceOptions,
) -> Result<(&'static encoding_rs::Encoding, &'static str), FormatError> {
    if let Some(e) = opts.encoding {
        return Ok((e, "--encoding"));
    }
    if let Some(cpg) = &parts.cpg {
        let label = String::from_utf8_lossy(cpg);
        if !label.trim().is_empty() {
            return Ok((parse_encoding(&label)?, ".cpg"));
        }
    }
    // The language driver id, byte 29 of the dBASE header.
    if let Some(e) = parts.dbf.get(29).copied().and_then(encoding::from_ldid) {
        return Ok((e, ".dbf header"));
    }
    Ok((encoding_rs::UTF_8, "assumed"))
}

/// A `.dbf` record with its fields in file order (dbase's own `Record` is a
/// hash map, which loses the order and merges fields of equal names).
struct Ordered(Vec<(String, dbase::FieldValue)>);

impl dbase::ReadableRecord for Ordered {
    fn read_using<S: Read + std::io::Seek, M: Read + std::io::Seek>(
        fields: &mut dbase::FieldIterator<S, M>,
    ) -> Result<Self, dbase::FieldError> {
        let mut out = Vec::new();
        for field in fields {
            let dbase::NamedValue { name, value } = field?;
            out.push((name.to_string(), value));
        }
        Ok(Ordered(out))
    }
}

fn read_parts(parts: Parts, opts: &SourceOptions) -> Result<Converted, FormatError> {
    let crs = prj_crs(&parts)?;
    let (encoding, said_by) = attribute_encoding(&parts, opts)?;
    let assumed = said_by == "assumed";
    let shp_err = |e: shapefile::Error| FormatError::Shapefile(format!("{}: {e}", parts.name));
    let shapes = shapefile::ShapeReader::with_shx(Cursor::new(&parts.shp), Cursor::new(&parts.shx))
        .map_err(shp_err)?;
    let dbf = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(encoding))
        .build(Cursor::new(&parts.dbf))
        .map_err(|e| FormatError::Shapefile(format!("the .dbf of {}: {e}", parts.name)))?;
    // Field names decode too: a replacement character means they did not.
    if let Some(f) = dbf.fields().iter().find(|f| f.name().contains('\u{fffd}')) {
        return Err(encoding::undecodable(
            format!("the field name {:?}", f.name()),
            encoding,
            assumed,
        ));
    }
    let mut reader = shapefile::Reader::new(shapes, dbf);
    let mut out = CollectionText::new(crs);
    let mut rejected = Vec::new();
    let mut total = 0;
    for (record, item) in reader
        .iter_shapes_and_records_as::<shapefile::Shape, Ordered>()
        .enumerate()
    {
        total += 1;
        let (shape, Ordered(fields)) = item
            .map_err(|e| FormatError::Shapefile(format!("{}, record {record}: {e}", parts.name)))?;
        let mut props = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            let value = field_value(value);
            if value.as_str().is_some_and(|s| s.contains('\u{fffd}')) {
                return Err(encoding::undecodable(
                    format!("record {record}, field {name:?} of {}", parts.name),
                    encoding,
                    assumed,
                ));
            }
            props.push((name, value));
        }
        match shape_geometry(shape) {
            Ok(g) => out.push(record, g.as_ref(), &props),
            Err(reason) => rejected.push(Rejection {
                index: record,
                id: id_of(&props, &opts.id_field),
                row: None,
                reason,
            }),
        }
    }
    let (text, records) = out.finish();
    let source = match crs {
        Some(c) => format!(
            "Shapefile {}, {} text ({said_by}), {c} (.prj)",
            parts.name,
            encoding.name()
        ),
        None => format!(
            "Shapefile {}, {} text ({said_by}), no .prj",
            parts.name,
            encoding.name()
        ),
    };
    Ok(Converted {
        text,
        origin: Origin {
            records,
            total,
            rejected,
            first_row: None,
            source,
        },
    })
}

/// A shape as geo-types; `Ok(None)` for a null shape (which the reader then
/// rejects like a feature without geometry).
fn shape_geometry(shape: shapefile::Shape) -> Result<Option<Geometry<f64>>, String> {
    if matches!(shape, shapefile::Shape::NullShape) {
        return Ok(None);
    }
    Geometry::<f64>::try_from(shape)
        .map(Some)
        .map_err(|e| format!("the shape cannot be read as a geometry: {e}"))
}

/// A dBASE value as a JSON property, as GDAL reads it.
fn field_value(v: dbase::FieldValue) -> Value {
    use dbase::FieldValue as F;
    match v {
        F::Character(s) => s.map_or(Value::Null, Value::String),
        F::Memo(s) => Value::String(s),
        F::Numeric(n) => n.map_or(Value::Null, number),
        F::Float(n) => n.map_or(Value::Null, |f| {
            // An f32 printed as it was stored, not as its f64 expansion.
            f.to_string().parse::<f64>().map_or(Value::Null, number)
        }),
        F::Logical(b) => b.map_or(Value::Null, Value::Bool),
        F::Date(d) => d.map_or(Value::Null, |d| {
            Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }),
        F::Integer(i) => Value::from(i),
        F::Double(f) | F::Currency(f) => number(f),
        F::DateTime(dt) => {
            let (d, t) = (dt.date(), dt.time());
            Value::String(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hours(),
                t.minutes(),
                t.seconds()
            ))
        }
    }
}
