//! Shapefiles out: `.shp`/`.shx` by the `shapefile` crate, `.dbf` by `dbase`
//! (UTF-8 text, said so by a `.cpg`), the CRS as ESRI WKT in the `.prj`.
//!
//! The format's limits apply and are kept visibly: one geometry type per
//! file, field names of at most 10 bytes (cut, and made unique with a
//! number, as GDAL does), text of at most 254 bytes (cut at a character).

use shapefile::dbase;
use std::io::{self, Cursor, Write};
use std::path::Path;

use geo_types::Geometry;
use serde_json::Value;

use super::geopackage::{as_text, schema, Column, OutFeature};
use crate::crs::Crs;

/// The files of a Shapefile: extension (`shp`, …) and bytes.
pub(super) type Files = Vec<(&'static str, Vec<u8>)>;

/// The one shape type of a layer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Point,
    Multipoint,
    Polyline,
    Polygon,
}

fn kind_of(g: &Geometry<f64>) -> Option<Kind> {
    Some(match g {
        Geometry::Point(_) => Kind::Point,
        Geometry::MultiPoint(_) => Kind::Multipoint,
        Geometry::LineString(_) | Geometry::MultiLineString(_) => Kind::Polyline,
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => Kind::Polygon,
        _ => return None,
    })
}

fn layer_kind(features: &[OutFeature]) -> Result<Kind, String> {
    let mut kind = None;
    for (i, f) in features.iter().enumerate() {
        let g = f
            .geometry
            .as_ref()
            .ok_or_else(|| format!("feature {i} has no geometry, which a Shapefile cannot keep"))?;
        let k =
            kind_of(g).ok_or_else(|| format!("feature {i}'s geometry has no Shapefile type"))?;
        kind = Some(match (kind, k) {
            (None, k) => k,
            (Some(a), b) if a == b => a,
            (Some(Kind::Point | Kind::Multipoint), Kind::Point | Kind::Multipoint) => Kind::Multipoint,
            (Some(a), b) => {
                return Err(format!(
                    "the layer mixes {a:?} and {b:?} geometries; a Shapefile holds one type (write a .gpkg instead)"
                ))
            }
        });
    }
    kind.ok_or_else(|| "the layer is empty".to_string())
}

/// Field names of at most 10 bytes, unique.
fn field_names(names: &[(String, Column)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in names {
        let base = cut(name, 10).to_string();
        let mut candidate = base.clone();
        let mut k = 1;
        while out.iter().any(|o| o.eq_ignore_ascii_case(&candidate)) {
            let suffix = format!("_{k}");
            candidate = format!("{}{suffix}", cut(&base, 10 - suffix.len()));
            k += 1;
        }
        out.push(candidate);
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes ending at a character.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A record: the values in the fields' order.
struct Record(Vec<dbase::FieldValue>);

impl dbase::WritableRecord for Record {
    fn write_using<W: Write>(
        &self,
        w: &mut dbase::FieldWriter<'_, W>,
    ) -> Result<(), dbase::FieldError> {
        for v in &self.0 {
            w.write_next_field_value(v)?;
        }
        Ok(())
    }
}

/// Width and decimals of a numeric field that holds every value exactly
/// enough: integers in full, reals with as many decimals as 24 characters
/// leave after the integer part (at most 15, as GDAL writes them).
fn numeric_width(values: &[f64], real: bool) -> (u8, u8) {
    let int_digits = values
        .iter()
        .map(|v| format!("{:.0}", v.abs().trunc()).len() + usize::from(*v < 0.0))
        .max()
        .unwrap_or(1);
    if real {
        let decimals = 24usize.saturating_sub(int_digits + 1).min(15);
        (24, decimals as u8)
    } else {
        (int_digits.clamp(1, 20) as u8, 0)
    }
}

/// The files of the layer as a Shapefile.
pub(super) fn write(_name: &str, crs: Crs, features: &[OutFeature]) -> Result<Files, String> {
    let kind = layer_kind(features)?;
    let columns = schema(features);
    let names = field_names(&columns);
    let value = |f: &OutFeature, col: &str| -> Option<Value> {
        f.props
            .iter()
            .find(|(k, _)| k == col)
            .map(|(_, v)| v.clone())
    };
    let mut builder = dbase::TableWriterBuilder::with_encoding(dbase::Unicode);
    for ((col, kind), name) in columns.iter().zip(&names) {
        let field = dbase::FieldName::try_from(name.as_str()).map_err(|e| e.to_string())?;
        builder = match kind {
            Column::Integer | Column::Real => {
                let values: Vec<f64> = features
                    .iter()
                    .filter_map(|f| value(f, col).and_then(|v| v.as_f64()))
                    .collect();
                let (width, decimals) = numeric_width(&values, *kind == Column::Real);
                builder.add_numeric_field(field, width, decimals)
            }
            Column::Boolean => builder.add_logical_field(field),
            Column::Text => {
                let longest = features
                    .iter()
                    .filter_map(|f| value(f, col).as_ref().and_then(as_text))
                    .map(|t| cut(&t, 254).len())
                    .max()
                    .unwrap_or(1);
                builder.add_character_field(field, longest.clamp(1, 254) as u8)
            }
        };
    }
    let (mut shp, mut shx, mut dbf) = (
        Cursor::new(Vec::new()),
        Cursor::new(Vec::new()),
        Cursor::new(Vec::new()),
    );
    {
        let shapes = shapefile::ShapeWriter::with_shx(&mut shp, &mut shx);
        let table = builder.build_with_dest(&mut dbf);
        let mut writer = shapefile::Writer::new(shapes, table);
        for f in features {
            let record = Record(
                columns
                    .iter()
                    .map(|(col, kind)| dbf_value(value(f, col), *kind))
                    .collect(),
            );
            let g = f.geometry.clone().expect("checked by layer_kind");
            let err = |e: shapefile::Error| e.to_string();
            match (kind, g) {
                (Kind::Point, Geometry::Point(p)) => writer
                    .write_shape_and_record(&shapefile::Point::from(p), &record)
                    .map_err(err)?,
                (Kind::Multipoint, g) => {
                    let mp = match g {
                        Geometry::Point(p) => geo_types::MultiPoint(vec![p]),
                        Geometry::MultiPoint(mp) => mp,
                        _ => unreachable!("checked by layer_kind"),
                    };
                    writer
                        .write_shape_and_record(&shapefile::Multipoint::from(mp), &record)
                        .map_err(err)?
                }
                (Kind::Polyline, g) => {
                    let ml = match g {
                        Geometry::LineString(l) => geo_types::MultiLineString(vec![l]),
                        Geometry::MultiLineString(ml) => ml,
                        _ => unreachable!("checked by layer_kind"),
                    };
                    let line = shapefile::Polyline::from(ml);
                    writer.write_shape_and_record(&line, &record).map_err(err)?
                }
                (Kind::Polygon, g) => {
                    let mp = match g {
                        Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
                        Geometry::MultiPolygon(mp) => mp,
                        _ => unreachable!("checked by layer_kind"),
                    };
                    writer
                        .write_shape_and_record(&shapefile::Polygon::from(mp), &record)
                        .map_err(err)?
                }
                (_, _) => unreachable!("checked by layer_kind"),
            }
        }
    }
    let prj = crs.to_wkt(true).map_err(|e| e.to_string())?;
    Ok(vec![
        ("shp", shp.into_inner()),
        ("shx", shx.into_inner()),
        ("dbf", dbf.into_inner()),
        ("prj", prj.into_bytes()),
        ("cpg", b"UTF-8".to_vec()),
    ])
}

fn dbf_value(v: Option<Value>, kind: Column) -> dbase::FieldValue {
    use dbase::FieldValue as F;
    match kind {
        Column::Integer | Column::Real => F::Numeric(v.and_then(|v| v.as_f64())),
        Column::Boolean => F::Logical(v.and_then(|v| v.as_bool())),
        Column::Text => F::Character(
            v.as_ref()
                .and_then(as_text)
                .map(|t| cut(&t, 254).to_string()),
        ),
    }
}

/// Writes the files beside `path` (a `.shp`).
pub(super) fn beside(path: &Path, files: &Files) -> io::Result<()> {
    for (ext, bytes) in files {
        std::fs::write(path.with_extension(ext), bytes)?;
    }
    Ok(())
}

/// Writes the files into the zip archive `path`, named after it
/// (`grids.zip` or `grids.shp.zip` holds `grids.shp`, …).
pub(super) fn zip(path: &Path, files: &Files) -> io::Result<()> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layer".into());
    let stem = stem.strip_suffix(".shp").unwrap_or(&stem).to_string();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (ext, bytes) in files {
        zip.start_file(format!("{stem}.{ext}"), options)
            .map_err(io::Error::other)?;
        zip.write_all(bytes)?;
    }
    zip.finish().map_err(io::Error::other)?;
    Ok(())
}
