//! Previously adopted grids read back for an update (`--previous GRIDS.geojson`),
//! and the change layer a planner reviews before adopting the update.
//!
//! The input is the grids layer [`super::outputs::write_grids`] writes. Unlike the
//! input layers, it is read all-or-nothing: a previous grid that cannot be read
//! would silently become "new estate" and reshuffle its households, so any bad
//! feature is an error naming the feature and the reason.
//!
//! Coordinates are parsed with Rust's correctly rounded `str::parse::<f64>`, not
//! serde_json's default float parser (which may be off by one unit in the last
//! place): the writer prints the shortest round-trip form, so reading gives back
//! the exact doubles the engine produced. The update relies on that: unchanged
//! grids are written back byte for byte, and the previous grids' vertices are
//! compared bit for bit with the engine's canonical cell vertices.

use std::borrow::Cow;
use std::io::{self, Write};

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::Value;

use super::collection::FeatureParts;
use super::outputs::polygonal;
use super::props::Props;
use super::{parse_collection, FeatureWriter, LayerError};
use crate::model::Grid;
use crate::partition::{ChangeReport, GridChange, Update};

/// Why a previous grids layer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PreviousError {
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("previous grid feature {index}: {reason}")]
    Feature { index: usize, reason: String },
    #[error("previous grid code {code:?} occurs in features {first} and {again}")]
    DuplicateCode {
        code: String,
        first: usize,
        again: usize,
    },
}

/// Reads a grids layer written by `wangge partition` back into [`Grid`]s, in file
/// order. Required per feature: a Polygon or MultiPolygon, `code` and
/// `parent_code` (strings or whole numbers; the code must begin with the parent
/// code and be unique). Optional, defaulting to 0 / true / empty: `households`,
/// `persons`, `area_m2`, `compactness`, `barrier_length_m`, `within_rules`,
/// `issues`. Coordinates must be WGS84 longitude/latitude, as written.
pub fn read_previous_grids(text: &str) -> Result<Vec<Grid>, PreviousError> {
    let coll = parse_collection(text)?;
    if coll.crs.is_some() {
        // Our writer never writes a legacy crs member; a file with one was
        // produced elsewhere and may not be in WGS84.
        let crs = coll.crs.as_ref().map(|c| c.to_string()).unwrap_or_default();
        if !(crs.contains("CRS84") || crs.contains("4326")) {
            return Err(PreviousError::Feature {
                index: 0,
                reason: format!(
                    "the layer declares crs {crs}; previous grids must be WGS84 longitude/latitude as wangge writes them"
                ),
            });
        }
    }
    let mut grids = Vec::with_capacity(coll.features.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, f) in coll.features.iter().enumerate() {
        let bad = |reason: String| PreviousError::Feature { index, reason };
        let parts: FeatureParts<'_> =
            serde_json::from_str(f.raw).map_err(|e| bad(format!("not a feature: {e}")))?;
        if parts.kind.as_deref() != Some("Feature") {
            return Err(bad("not a GeoJSON Feature".into()));
        }
        let props: Props<'_> = match parts.properties {
            Some(p) if p.get() != "null" => serde_json::from_str(p.get())
                .map_err(|e| bad(format!("properties are not an object: {e}")))?,
            _ => return Err(bad("properties are missing".into())),
        };
        let code = code_field(&props, "code").map_err(bad)?;
        let parent_code = code_field(&props, "parent_code").map_err(bad)?;
        if !code.starts_with(&parent_code) {
            return Err(bad(format!(
                "code {code:?} does not begin with parent_code {parent_code:?}"
            )));
        }
        if let Some(first) = seen.insert(code.clone(), index) {
            return Err(PreviousError::DuplicateCode {
                code,
                first,
                again: index,
            });
        }
        let geometry = match parts.geometry {
            Some(g) if g.get() != "null" => parse_polygonal(g.get()).map_err(bad)?,
            _ => return Err(bad("geometry is missing".into())),
        };
        let households = count(&props, "households").map_err(bad)?;
        let persons = count(&props, "persons").map_err(bad)?;
        let area_m2 = number(&props, "area_m2").map_err(bad)?;
        let compactness = number(&props, "compactness").map_err(bad)?;
        let barrier_length_m = number(&props, "barrier_length_m").map_err(bad)?;
        let within_rules = match props.get("within_rules") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => b,
            Some(other) => {
                return Err(bad(format!(
                    "within_rules must be true or false, got {other}"
                )))
            }
        };
        let issues = match props.get("issues") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(bad(format!("issues must be strings, got {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(bad(format!("issues must be a list, got {other}"))),
        };
        grids.push(Grid {
            code,
            parent_code,
            geometry,
            households,
            persons,
            area_m2,
            compactness,
            barrier_length_m,
            within_rules,
            issues,
        });
    }
    Ok(grids)
}

fn code_field(props: &Props<'_>, name: &str) -> Result<String, String> {
    match props.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.to_string()),
        None | Some(Value::Null) => Err(format!("required property {name:?} is missing")),
        Some(other) => Err(format!(
            "{name:?} must be a non-empty string or whole number, got {other}"
        )),
    }
}

fn count(props: &Props<'_>, name: &str) -> Result<u64, String> {
    match props.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{name:?} must be a whole number ≥ 0, got {n}")),
        Some(other) => Err(format!("{name:?} must be a whole number ≥ 0, got {other}")),
    }
}

fn number(props: &Props<'_>, name: &str) -> Result<f64, String> {
    match props.get(name) {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{name:?} must be a finite number, got {n}")),
        Some(other) => Err(format!("{name:?} must be a number, got {other}")),
    }
}

/// A nested JSON array of numbers, parsed exactly.
#[derive(Debug)]
enum Nested {
    Num(f64),
    List(Vec<Nested>),
}

/// Parses the raw JSON text of a `coordinates` array: numbers through
/// `str::parse::<f64>` (correctly rounded), so coordinates round-trip exactly.
fn parse_nested(s: &[u8], pos: &mut usize) -> Result<Nested, String> {
    skip_ws(s, pos);
    match s.get(*pos) {
        Some(b'[') => {
            *pos += 1;
            let mut items = Vec::new();
            skip_ws(s, pos);
            if s.get(*pos) == Some(&b']') {
                *pos += 1;
                return Ok(Nested::List(items));
            }
            loop {
                items.push(parse_nested(s, pos)?);
                skip_ws(s, pos);
                match s.get(*pos) {
                    Some(b',') => *pos += 1,
                    Some(b']') => {
                        *pos += 1;
                        return Ok(Nested::List(items));
                    }
                    _ => return Err("malformed coordinates array".into()),
                }
            }
        }
        Some(c) if *c == b'-' || c.is_ascii_digit() => {
            let start = *pos;
            while *pos < s.len()
                && matches!(s[*pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                *pos += 1;
            }
            let t = std::str::from_utf8(&s[start..*pos]).map_err(|e| e.to_string())?;
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Nested::Num)
                .ok_or_else(|| format!("coordinate {t:?} is not a finite number"))
        }
        _ => Err("coordinates must be nested arrays of numbers".into()),
    }
}

fn skip_ws(s: &[u8], pos: &mut usize) {
    while *pos < s.len() && s[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
}

fn ring(n: &Nested, at: &str) -> Result<LineString<f64>, String> {
    let Nested::List(ps) = n else {
        return Err(format!("{at} is not an array of positions"));
    };
    let mut out = Vec::with_capacity(ps.len());
    for (i, p) in ps.iter().enumerate() {
        match p {
            Nested::List(xy) if xy.len() >= 2 => match (&xy[0], &xy[1]) {
                (Nested::Num(x), Nested::Num(y)) => {
                    if !((-180.0..=180.0).contains(x) && (-90.0..=90.0).contains(y)) {
                        return Err(format!(
                            "{at} position {i} ({x}, {y}) is not a longitude/latitude"
                        ));
                    }
                    out.push(Coord { x: *x, y: *y });
                }
                _ => return Err(format!("{at} position {i} is not a number pair")),
            },
            _ => return Err(format!("{at} position {i} is not a number pair")),
        }
    }
    if out.len() < 4 {
        return Err(format!(
            "{at} has {} positions, a closed ring needs at least 4",
            out.len()
        ));
    }
    if out.first() != out.last() {
        return Err(format!("{at} is not closed"));
    }
    Ok(LineString(out))
}

fn polygon(n: &Nested, at: &str) -> Result<Polygon<f64>, String> {
    let Nested::List(rings) = n else {
        return Err(format!("{at} is not an array of rings"));
    };
    if rings.is_empty() {
        return Err(format!("{at} has no rings"));
    }
    let ext = ring(&rings[0], &format!("{at} exterior ring"))?;
    let holes = rings[1..]
        .iter()
        .enumerate()
        .map(|(i, r)| ring(r, &format!("{at} hole {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(ext, holes))
}

#[derive(serde::Deserialize)]
struct RawGeometry<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    coordinates: Option<&'a serde_json::value::RawValue>,
}

fn parse_polygonal(text: &str) -> Result<MultiPolygon<f64>, String> {
    let g: RawGeometry<'_> =
        serde_json::from_str(text).map_err(|e| format!("geometry is malformed: {e}"))?;
    let coords = g
        .coordinates
        .ok_or_else(|| "geometry has no coordinates".to_string())?;
    let bytes = coords.get().as_bytes();
    let mut pos = 0;
    let nested = parse_nested(bytes, &mut pos)?;
    let mp = match g.kind.as_str() {
        "Polygon" => MultiPolygon(vec![polygon(&nested, "polygon")?]),
        "MultiPolygon" => {
            let Nested::List(ps) = &nested else {
                return Err("MultiPolygon coordinates are not an array".into());
            };
            let v = ps
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, &format!("part {i}")))
                .collect::<Result<Vec<_>, _>>()?;
            if v.is_empty() {
                return Err("MultiPolygon has no parts".into());
            }
            MultiPolygon(v)
        }
        other => {
            return Err(format!(
                "geometry is a {other}, expected Polygon or MultiPolygon"
            ))
        }
    };
    Ok(mp)
}

/// Properties of one feature of the change layer.
#[derive(Serialize)]
struct ChangeProperties<'a> {
    code: &'a str,
    parent_code: &'a str,
    change: GridChange,
    households_previous: Option<u64>,
    households: Option<u64>,
    moved_in: u64,
    moved_out: u64,
    reason: &'a str,
}

/// Writes the grids an update changed, for review before adoption: adjusted
/// and new grids with their new outline, retired grids with their previous
/// outline (`previous` is the slice given to the update). Unchanged grids are
/// left out, so an update that changes nothing writes an empty layer.
pub fn write_changes<W: Write>(
    out: W,
    name: &str,
    update: &Update,
    previous: &[Grid],
) -> io::Result<W> {
    let grids = &update.partition.grids;
    write_change_records(out, name, &update.changes, previous, |g| {
        Ok(Cow::Borrowed(&grids[g].geometry))
    })
}

/// [`write_changes`] from the change report alone: `grid_outline` gives the
/// outline of the new grid a record names (by its index in the update's
/// grids), for an update put together from parts that kept its grids as
/// features.
pub fn write_change_records<'g, W: Write>(
    out: W,
    name: &str,
    report: &ChangeReport,
    previous: &'g [Grid],
    grid_outline: impl Fn(usize) -> io::Result<Cow<'g, MultiPolygon<f64>>>,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some(name))?;
    for r in &report.grids {
        if r.change == GridChange::Unchanged {
            continue;
        }
        let geometry = match (r.grid, r.previous) {
            (Some(g), _) => grid_outline(g)?,
            (None, Some(p)) => Cow::Borrowed(&previous[p].geometry),
            (None, None) => continue,
        };
        let props = ChangeProperties {
            code: &r.code,
            parent_code: &r.parent_code,
            change: r.change,
            households_previous: r.households_previous,
            households: r.households,
            moved_in: r.moved_in,
            moved_out: r.moved_out,
            reason: &r.reason,
        };
        w.write(Some(&r.code), &polygonal(&geometry), &props)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_trip_exactly_and_errors_name_the_feature() {
        let x = 118.300_000_000_000_01_f64 + 1e-13;
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","geometry":{{"type":"Polygon","coordinates":[[[{x},32.3],[118.31,32.3],[118.31,32.31],[{x},32.3]]]}},
              "properties":{{"code":"1001","parent_code":"1","households":12,"issues":[]}}}}]}}"#
        );
        let g = read_previous_grids(&text).unwrap();
        assert_eq!(g[0].geometry.0[0].exterior().0[0].x, x);
        assert_eq!(g[0].households, 12);
        let bad = text.replace("\"parent_code\":\"1\"", "\"parent_code\":\"2\"");
        let e = read_previous_grids(&bad).unwrap_err().to_string();
        assert!(e.contains("feature 0") && e.contains("parent_code"), "{e}");
        let open = text.replace("[118.31,32.31],[", "[118.31,32.31],[1,");
        assert!(read_previous_grids(&open).is_err());
    }
}
