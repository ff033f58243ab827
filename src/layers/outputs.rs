//! The contract's output layers, written the same way by the command line and
//! the service: grids now; coverage and proposals alongside their engines.

use std::io::{self, Write};

use geo_types::{Geometry, MultiPolygon};
use serde::Serialize;

use super::FeatureWriter;
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
