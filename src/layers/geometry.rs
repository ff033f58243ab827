//! Geometry checks shared by every layer: shape of the coordinate arrays, finite
//! and in-range positions, closed rings, and simple (non-self-intersecting)
//! polygons. Repairs are made only where the intent is unambiguous: repeated
//! consecutive positions are dropped; anything else is reported, not guessed at.

use geo::{Intersects, RemoveRepeatedPoints, Validation};
use geo_types::{
    Coord, Geometry, Line, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use geojson::{GeometryValue, Position};

/// Why one feature's geometry is unusable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeometryError {
    #[error("geometry is missing or null")]
    Missing,
    #[error("geometry is malformed: {0}")]
    Malformed(String),
    #[error("geometry is a {found}, expected {expected}")]
    WrongType {
        found: String,
        expected: &'static str,
    },
    #[error("geometry has no coordinates")]
    Empty,
    #[error("position {at} has {n} numbers, needs at least 2")]
    ShortPosition { at: String, n: usize },
    #[error("position {at} is not a finite number pair")]
    NotFinite { at: String },
    #[error("position {at} ({x}, {y}) is outside longitude -180..180 / latitude -90..90{hint}")]
    OutOfRange {
        at: String,
        x: f64,
        y: f64,
        hint: &'static str,
    },
    #[error("ring {ring} has {n} positions, a closed ring needs at least 4")]
    ShortRing { ring: String, n: usize },
    #[error("ring {ring} is not closed (first and last positions differ)")]
    UnclosedRing { ring: String },
    #[error("polygon is invalid: {0}")]
    Invalid(String),
    #[error("coordinates could not be transformed to WGS84: {0}")]
    Transform(String),
}

/// Parses a GeoJSON geometry object and checks its positions are finite pairs.
/// Rings are checked for closure here, before any reprojection could blur it.
pub(crate) fn parse_geometry(
    raw: Option<&serde_json::value::RawValue>,
) -> Result<Geometry<f64>, GeometryError> {
    let raw = match raw {
        Some(r) if r.get() != "null" => r,
        _ => return Err(GeometryError::Missing),
    };
    let g: geojson::Geometry = serde_json::from_str(raw.get())
        .map_err(|e| GeometryError::Malformed(strip_position(&e)))?;
    convert(&g.value)
}

fn strip_position(e: &serde_json::Error) -> String {
    // serde_json's line/column refer to the geometry snippet, not the file.
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn coord(p: &Position, at: impl FnOnce() -> String) -> Result<Coord<f64>, GeometryError> {
    let s = p.as_slice();
    if s.len() < 2 {
        return Err(GeometryError::ShortPosition {
            at: at(),
            n: s.len(),
        });
    }
    if !(s[0].is_finite() && s[1].is_finite()) {
        return Err(GeometryError::NotFinite { at: at() });
    }
    Ok(Coord { x: s[0], y: s[1] })
}

fn line(ps: &[Position], at: &str) -> Result<LineString<f64>, GeometryError> {
    ps.iter()
        .enumerate()
        .map(|(i, p)| coord(p, || format!("{at}{i}")))
        .collect::<Result<Vec<_>, _>>()
        .map(LineString)
}

fn ring(ps: &[Position], at: &str) -> Result<LineString<f64>, GeometryError> {
    let ring = line(ps, &format!("{at}/"))?;
    let label = || at.trim_end_matches('/').to_string();
    if ring.0.len() < 4 {
        return Err(GeometryError::ShortRing {
            ring: label(),
            n: ring.0.len(),
        });
    }
    if ring.0.first() != ring.0.last() {
        return Err(GeometryError::UnclosedRing { ring: label() });
    }
    Ok(ring)
}

fn polygon(rings: &[Vec<Position>], at: &str) -> Result<Polygon<f64>, GeometryError> {
    let mut it = rings.iter().enumerate();
    let (_, outer) = it.next().ok_or(GeometryError::Empty)?;
    let exterior = ring(outer, &format!("{at}0"))?;
    let interiors = it
        .map(|(i, r)| ring(r, &format!("{at}{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn convert(v: &GeometryValue) -> Result<Geometry<f64>, GeometryError> {
    Ok(match v {
        GeometryValue::Point { coordinates } => {
            Geometry::Point(Point(coord(coordinates, || "0".into())?))
        }
        GeometryValue::MultiPoint { coordinates } => {
            if coordinates.is_empty() {
                return Err(GeometryError::Empty);
            }
            Geometry::MultiPoint(MultiPoint(
                coordinates
                    .iter()
                    .enumerate()
                    .map(|(i, p)| coord(p, || i.to_string()).map(Point))
                    .collect::<Result<_, _>>()?,
            ))
        }
        GeometryValue::LineString { coordinates } => {
            let l = line(coordinates, "")?;
            if l.0.len() < 2 {
                return Err(GeometryError::Empty);
            }
            Geometry::LineString(l)
        }
        GeometryValue::MultiLineString { coordinates } => {
            let ls = coordinates
                .iter()
                .enumerate()
                .map(|(i, l)| line(l, &format!("{i}/")))
                .collect::<Result<Vec<_>, _>>()?;
            if ls.is_empty() || ls.iter().any(|l| l.0.len() < 2) {
                return Err(GeometryError::Empty);
            }
            Geometry::MultiLineString(MultiLineString(ls))
        }
        GeometryValue::Polygon { coordinates } => Geometry::Polygon(polygon(coordinates, "")?),
        GeometryValue::MultiPolygon { coordinates } => {
            if coordinates.is_empty() {
                return Err(GeometryError::Empty);
            }
            Geometry::MultiPolygon(MultiPolygon(
                coordinates
                    .iter()
                    .enumerate()
                    .map(|(i, p)| polygon(p, &format!("{i}/")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        GeometryValue::GeometryCollection { .. } => {
            return Err(GeometryError::WrongType {
                found: "GeometryCollection".into(),
                expected: "a simple geometry",
            })
        }
    })
}

/// The GeoJSON type name of a geometry.
pub(crate) fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::LineString(_) | Geometry::Line(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// Checks every position is a valid WGS84 longitude/latitude. `hint` explains a
/// likely cause (projected metres read as degrees) when the input had no CRS.
pub(crate) fn check_range(g: &Geometry<f64>, crs_given: bool) -> Result<(), GeometryError> {
    use geo::CoordsIter;
    for (i, c) in g.coords_iter().enumerate() {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(GeometryError::NotFinite {
                at: format!("#{i}"),
            });
        }
        if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
            let hint = if crs_given {
                ""
            } else {
                " (projected coordinates? give the CRS with --crs or ?crs=)"
            };
            return Err(GeometryError::OutOfRange {
                at: format!("#{i}"),
                x: c.x,
                y: c.y,
                hint,
            });
        }
    }
    Ok(())
}

/// Drops repeated consecutive positions (an unambiguous repair, counted in
/// `repairs`) and rejects polygons that are still not simple and valid.
pub(crate) fn clean_polygons(
    mp: MultiPolygon<f64>,
    repairs: &mut Vec<&'static str>,
) -> Result<MultiPolygon<f64>, GeometryError> {
    let repeats = mp.0.iter().any(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .any(|r| r.0.windows(2).any(|w| w[0] == w[1]))
    });
    // Most polygons have none, and are kept as they are without a copy.
    let cleaned = if repeats {
        repairs.push("repeated positions removed");
        mp.remove_repeated_points()
    } else {
        mp
    };
    for (i, p) in cleaned.0.iter().enumerate() {
        for (r, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            if ring.0.len() < 4 {
                return Err(GeometryError::ShortRing {
                    ring: format!("{i}/{r}"),
                    n: ring.0.len(),
                });
            }
        }
    }
    let plain = cleaned.0.len() == 1 && plainly_valid(&cleaned.0[0]);
    if !plain {
        if let Err(e) = cleaned.check_validation() {
            return Err(GeometryError::Invalid(e.to_string()));
        }
    }
    Ok(cleaned)
}

/// True for a polygon without holes that `geo`'s validation would accept,
/// decided by the same rule at a fraction of its cost: finite positions, and
/// no two edges meeting other than where one ends and the other starts.
/// (`geo` also copies every ring to count its distinct positions; the caller
/// has already removed repeats and counted.) Footprints are almost all like
/// this; anything else, and every invalid polygon, goes through `geo`, which
/// names the problem.
fn plainly_valid(p: &Polygon<f64>) -> bool {
    const MOST_EDGES: usize = 64;
    let cs = &p.exterior().0;
    if !p.interiors().is_empty()
        || cs.len() < 4
        || cs.len() > MOST_EDGES + 1
        || cs.first() != cs.last()
        || cs.iter().any(|c| !c.x.is_finite() || !c.y.is_finite())
    {
        return false;
    }
    let edges = cs.len() - 1;
    for i in 0..edges {
        let a = Line::new(cs[i], cs[i + 1]);
        for j in i + 1..edges {
            let b = Line::new(cs[j], cs[j + 1]);
            if a.start.x.max(a.end.x) < b.start.x.min(b.end.x)
                || b.start.x.max(b.end.x) < a.start.x.min(a.end.x)
                || a.start.y.max(a.end.y) < b.start.y.min(b.end.y)
                || b.start.y.max(b.end.y) < a.start.y.min(a.end.y)
            {
                continue; // boxes apart
            }
            // geo's rule: edges that meet are a self-intersection unless one
            // starts where the other ends.
            if a.start != b.end && a.end != b.start && a.intersects(&b) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// The shortcut says exactly what geo's validation says, on random rings
    /// on a small lattice (crossings, touches, spikes, collinear runs).
    #[test]
    fn plain_polygons_agree_with_geo() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..20_000 {
            let n = 3 + next(6) as usize;
            let mut cs: Vec<Coord<f64>> = (0..n)
                .map(|_| Coord {
                    x: next(5) as f64,
                    y: next(5) as f64,
                })
                .collect();
            cs.dedup();
            cs.push(cs[0]);
            cs.dedup();
            if cs.len() < 4 {
                continue;
            }
            let p = Polygon::new(LineString(cs), vec![]);
            let geo_says = p.is_valid();
            assert_eq!(plainly_valid(&p), geo_says, "{:?}", p.exterior().0);
            if geo_says {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} invalid"
        );
    }

    fn parse(s: &str) -> Result<Geometry<f64>, GeometryError> {
        let raw: Box<RawValue> = serde_json::from_str(s).unwrap();
        parse_geometry(Some(&raw))
    }

    #[test]
    fn names_ring_problems() {
        assert_eq!(
            parse(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#),
            Err(GeometryError::UnclosedRing { ring: "0".into() })
        );
        assert_eq!(
            parse(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#),
            Err(GeometryError::ShortRing {
                ring: "0".into(),
                n: 3
            })
        );
        assert!(matches!(
            parse(r#"{"type":"Point","coordinates":[1]}"#),
            Err(GeometryError::Malformed(_))
        ));
    }

    #[test]
    fn bowtie_is_invalid_and_repeats_are_repaired() {
        let bow = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (1.0, 0.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        )]);
        assert!(matches!(
            clean_polygons(bow, &mut vec![]),
            Err(GeometryError::Invalid(_))
        ));
        let rep = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (1.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        )]);
        let mut repairs = vec![];
        let ok = clean_polygons(rep, &mut repairs).unwrap();
        assert_eq!(ok.0[0].exterior().0.len(), 4);
        assert_eq!(repairs, vec!["repeated positions removed"]);
    }
}
