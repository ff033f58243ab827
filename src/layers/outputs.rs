//! The contract's output layers, written the same way by the command line and
//! the service: grids now; coverage and proposals alongside their engines.

use std::io::{self, Write};

use geo_types::{Geometry, MultiPolygon};
use serde::Serialize;

use super::{AnyLayer, FeatureWriter};
use crate::model::Grid;

/// A MultiPolygon of one part is written as the Polygon it is (CONTRACT: a
/// MultiPolygon only where the shape really is in several pieces).
pub fn polygonal(mp: &MultiPolygon<f64>) -> Geometry<f64> {
    match mp.0.as_slice() {
        [one] => Geometry::Polygon(one.clone()),
        _ => Geometry::MultiPolygon(mp.clone()),
    }
}

/// Properties of one grid feature.
#[derive(Serialize)]
struct GridProperties<'a> {
    code: &'a str,
    parent_code: &'a str,
    households: u64,
    persons: u64,
    area_m2: f64,
    compactness: f64,
    barrier_length_m: f64,
    within_rules: bool,
    issues: &'a [String],
}

/// Writes grids as a FeatureCollection, one Feature per grid, `id` = code.
pub fn write_grids<W: Write>(out: W, name: &str, grids: &[Grid]) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some(name))?;
    for g in grids {
        let props = GridProperties {
            code: &g.code,
            parent_code: &g.parent_code,
            households: g.households,
            persons: g.persons,
            area_m2: round(g.area_m2, 2),
            compactness: round(g.compactness, 4),
            barrier_length_m: round(g.barrier_length_m, 1),
            within_rules: g.within_rules,
            issues: &g.issues,
        };
        w.write(Some(&g.code), &polygonal(&g.geometry), &props)?;
    }
    w.finish()
}

/// Rounds for presentation; measures keep far more precision than they have.
fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// Ids of the cameras at the given indices.
fn camera_ids(cameras: &[crate::model::Camera], idx: &[u32]) -> Vec<String> {
    idx.iter()
        .map(|&i| cameras[i as usize].id.clone())
        .collect()
}

/// `households.geojson`: every household location with `covered` and the ids of
/// the online cameras that see it, its input properties kept.
pub fn write_covered_households<W: Write>(
    out: W,
    households: &[crate::model::Household],
    cameras: &[crate::model::Camera],
    seen: &crate::coverage::SeenBy,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("households"))?;
    for (i, h) in households.iter().enumerate() {
        let mut extra = serde_json::Map::new();
        extra.insert("households".into(), h.households.into());
        extra.insert("covered".into(), seen.covered(i).into());
        extra.insert(
            "cameras".into(),
            camera_ids(cameras, seen.cameras(i)).into(),
        );
        w.write_with_input(
            h.id.as_deref(),
            &Geometry::Point(h.location),
            h.properties.as_deref(),
            extra,
        )?;
    }
    w.finish()
}

/// `sites.geojson`: every key site with `covered` and the cameras that see it.
pub fn write_covered_sites<W: Write>(
    out: W,
    sites: &[crate::model::Site],
    cameras: &[crate::model::Camera],
    seen: &crate::coverage::SeenBy,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("sites"))?;
    for (i, s) in sites.iter().enumerate() {
        let mut extra = serde_json::Map::new();
        extra.insert("kind".into(), s.kind.clone().into());
        extra.insert("name".into(), s.name.clone().into());
        extra.insert("covered".into(), seen.covered(i).into());
        extra.insert(
            "cameras".into(),
            camera_ids(cameras, seen.cameras(i)).into(),
        );
        w.write_with_input(
            None,
            &Geometry::Point(s.location),
            s.properties.as_deref(),
            extra,
        )?;
    }
    w.finish()
}

/// `areas.geojson`: every area with its coverage statistics.
pub fn write_area_coverage<W: Write>(
    out: W,
    areas: &[crate::model::Area],
    stats: &[crate::coverage::AreaStats],
) -> io::Result<W> {
    #[derive(Serialize)]
    struct Props<'a> {
        code: &'a str,
        name: Option<&'a str>,
        kind: crate::model::AreaKind,
        #[serde(flatten)]
        stats: &'a crate::coverage::AreaStats,
    }
    let mut w = FeatureWriter::new(out, Some("areas"))?;
    for (a, s) in areas.iter().zip(stats) {
        let props = Props {
            code: &a.code,
            name: a.name.as_deref(),
            kind: a.kind,
            stats: s,
        };
        w.write(Some(&a.code), &polygonal(&a.geometry), &props)?;
    }
    w.finish()
}

/// `gaps.geojson`: the ground no online camera sees, largest first, with the
/// households in it.
pub fn write_gaps<W: Write>(
    out: W,
    areas: &[crate::model::Area],
    gaps: &[crate::coverage::Gap],
) -> io::Result<W> {
    #[derive(Serialize)]
    struct Props<'a> {
        area_code: &'a str,
        area_m2: f64,
        cells: u32,
        households_uncovered: u64,
    }
    let mut w = FeatureWriter::new(out, Some("gaps"))?;
    for (i, g) in gaps.iter().enumerate() {
        let props = Props {
            area_code: &areas[g.area].code,
            area_m2: round(g.area_m2, 1),
            cells: g.cells,
            households_uncovered: g.households_uncovered,
        };
        let id = format!("{}-gap-{}", areas[g.area].code, i + 1);
        w.write(Some(&id), &Geometry::Polygon(g.geometry.clone()), &props)?;
    }
    w.finish()
}

/// `cameras.geojson`: every camera with `online` and how many household
/// locations it sees, so offline and idle cameras stand out on the map.
pub fn write_camera_use<W: Write>(
    out: W,
    cameras: &[crate::model::Camera],
    seen: &crate::coverage::SeenBy,
) -> io::Result<W> {
    let mut sees = vec![0u64; cameras.len()];
    for i in 0..seen.len() {
        for &c in seen.cameras(i) {
            sees[c as usize] += 1;
        }
    }
    let mut w = FeatureWriter::new(out, Some("cameras"))?;
    for (c, n) in cameras.iter().zip(sees) {
        let mut extra = serde_json::Map::new();
        extra.insert("id".into(), c.id.clone().into());
        extra.insert("online".into(), c.online.into());
        extra.insert("household_locations_seen".into(), n.into());
        w.write_with_input(
            Some(&c.id),
            &Geometry::Point(c.location),
            c.properties.as_deref(),
            extra,
        )?;
    }
    w.finish()
}

/// Proposals: the chosen candidate sites in order, with their gains.
pub fn write_proposals<W: Write>(
    out: W,
    candidates: &[crate::model::Candidate],
    result: &crate::coverage::ProposeResult,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("proposals"))?;
    for p in &result.picks {
        let c = &candidates[p.candidate];
        let mut extra = serde_json::Map::new();
        extra.insert("rank".into(), p.rank.into());
        extra.insert("candidate".into(), c.feature.into());
        extra.insert("households_gained".into(), p.households_gained.into());
        extra.insert("sites_gained".into(), p.sites_gained.into());
        extra.insert("cumulative_covered".into(), p.cumulative_covered.into());
        extra.insert(
            "cumulative_coverage".into(),
            round(p.cumulative_coverage, 6).into(),
        );
        w.write_with_input(
            Some(&p.rank.to_string()),
            &Geometry::Point(c.location),
            c.properties.as_deref(),
            extra,
        )?;
    }
    w.finish()
}

/// Writes a layer back out, normalised: WGS84, the contract's property names.
pub fn write_layer<W: Write>(w: &mut FeatureWriter<W>, layer: &AnyLayer) -> io::Result<()> {
    use serde_json::{json, Map, Value};
    let obj = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    match layer {
        AnyLayer::Areas(v) => {
            for a in v {
                let extra = obj(json!({"code": a.code, "name": a.name, "kind": a.kind}));
                w.write_with_input(
                    Some(&a.code),
                    &Geometry::MultiPolygon(a.geometry.clone()),
                    a.properties.as_deref(),
                    extra,
                )?;
            }
        }
        AnyLayer::Households(v) => {
            for h in v {
                let extra = obj(json!({"households": h.households, "persons": h.persons}));
                w.write_with_input(
                    h.id.as_deref(),
                    &Geometry::Point(h.location),
                    h.properties.as_deref(),
                    extra,
                )?;
            }
        }
        AnyLayer::Cameras(v) => {
            for c in v {
                let extra = obj(
                    json!({"id": c.id, "type": c.camera_type, "azimuth_deg": c.azimuth_deg,
                    "fov_deg": c.fov_deg, "range_m": c.range_m, "online": c.online, "height_m": c.height_m}),
                );
                w.write_with_input(
                    Some(&c.id),
                    &Geometry::Point(c.location),
                    c.properties.as_deref(),
                    extra,
                )?;
            }
        }
        AnyLayer::Buildings(v) => {
            for b in v {
                w.write(
                    None,
                    &Geometry::MultiPolygon(b.geometry.clone()),
                    &json!({"feature": b.feature}),
                )?;
            }
        }
        AnyLayer::Barriers(v) => {
            for b in v {
                w.write(
                    None,
                    &Geometry::MultiLineString(b.geometry.clone()),
                    &json!({"kind": b.kind}),
                )?;
            }
        }
        AnyLayer::Sites(v) => {
            for s in v {
                let extra = obj(json!({"kind": s.kind, "name": s.name}));
                w.write_with_input(
                    None,
                    &Geometry::Point(s.location),
                    s.properties.as_deref(),
                    extra,
                )?;
            }
        }
        AnyLayer::Candidates(v) => {
            for c in v {
                w.write_with_input(
                    None,
                    &Geometry::Point(c.location),
                    c.properties.as_deref(),
                    Map::new(),
                )?;
            }
        }
    }
    Ok(())
}
