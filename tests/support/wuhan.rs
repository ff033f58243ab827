//! Real buildings and roads of Optics Valley, Wuhan (tests/data/wuhan-optics-valley,
//! © OpenStreetMap contributors, ODbL) as partition inputs.
//!
//! A real dense Chinese street pattern: towers, a campus, malls and walk-ups
//! around a roundabout, with the trunk roads and tram line between them.
//! Buildings become households because no household register is public:
//!
//! - one location per building footprint, at an interior point of it (a
//!   centroid can fall outside an L- or U-shaped block);
//! - households = floor area / 95 m², floor area = geodesic footprint area ×
//!   floors. 95 m² is a typical Chinese flat including its share of
//!   corridors and stairs. Floors = OSM height / 3 m, rounded, at least 1;
//!   where OSM has no height (most buildings here) 6 floors, the walk-up and
//!   campus blocks that make up most of the untagged footprints;
//! - rounded, at least 1, at most `tower_cap` (the tests use 240 and 480: one
//!   tower entry rarely registers more), persons = 2.7 per household.
//!
//! This overstates households in malls and offices, which is fine for a
//! partition test: what matters is the real geometry and the real spread of
//! location sizes, from 1 to the cap.
//!
//! Barriers are the roads of kind `major_road` (trunk to tertiary) and the
//! surface rail lines (`rail` except the underground `subway`). The five
//! areas are synthetic communities cut along road centre lines (see the
//! directory's SOURCES.md); the one north of Guanggu Street has a neck.

use geo::orient::Direction;
use geo::{GeodesicArea, InteriorPoint, Orient};
use geo_types::{Geometry, MultiLineString};
use serde_json::Value;
use wangge::model::{Area, AreaKind, Barrier, Household};

use super::dense::City;
use super::read_features;

/// The data directory, found from the crate root so benches can use it too.
pub const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/wuhan-optics-valley"
);

/// Floor area of one Chinese flat, shared spaces included.
pub const M2_PER_HOUSEHOLD: f64 = 95.0;
/// Storey height used to turn OSM heights into floors.
pub const STOREY_M: f64 = 3.0;
/// Floors of a building OSM gives no height.
pub const DEFAULT_FLOORS: f64 = 6.0;

/// Households of one footprint of `area_m2` and OSM `height` (metres).
pub fn building_households(area_m2: f64, height: Option<f64>, tower_cap: u32) -> u32 {
    let floors = height.map_or(DEFAULT_FLOORS, |h| (h / STOREY_M).round().max(1.0));
    let n = (area_m2 * floors / M2_PER_HOUSEHOLD).round().max(1.0);
    n.min(f64::from(tower_cap)) as u32
}

/// Areas, one household location per building and the major-road barriers.
pub fn optics_valley(tower_cap: u32) -> City {
    let areas = read_features(&format!("{DIR}/areas.geojson"))
        .into_iter()
        .map(|(g, p)| {
            let geometry = super::to_multi(g).expect("area polygon");
            Area {
                code: p["code"].as_str().expect("area code").to_string(),
                name: p.get("name").and_then(Value::as_str).map(str::to_string),
                kind: AreaKind::Urban,
                geometry,
                properties: None,
            }
        })
        .collect();
    let mut households = Vec::new();
    for (g, p) in read_features(&format!("{DIR}/buildings.geojson")) {
        let Geometry::Polygon(footprint) = g else {
            panic!("building {:?} is not a Polygon", p.get("id"));
        };
        // Geodesic area wants the exterior ring counter-clockwise (OSM rings
        // come either way; the other way round measures the rest of the earth).
        let n = building_households(
            footprint.orient(Direction::Default).geodesic_area_signed(),
            p.get("height").and_then(Value::as_f64),
            tower_cap,
        );
        households.push(Household {
            location: footprint.interior_point().expect("non-empty footprint"),
            households: n,
            persons: Some((f64::from(n) * 2.7).round() as u32),
            id: p.get("id").map(|v| v.to_string()),
            feature: households.len(),
            properties: None,
        });
    }
    let mut barriers = Vec::new();
    for (g, p) in read_features(&format!("{DIR}/roads.geojson")) {
        let kind = p.get("kind").and_then(Value::as_str).unwrap_or("");
        let detail = p.get("kind_detail").and_then(Value::as_str).unwrap_or("");
        if !(kind == "major_road" || (kind == "rail" && detail != "subway")) {
            continue;
        }
        let geometry = match g {
            Geometry::LineString(l) => MultiLineString(vec![l]),
            Geometry::MultiLineString(m) => m,
            _ => panic!("road {:?} is not a line", p.get("id")),
        };
        barriers.push(Barrier {
            geometry,
            kind: Some(kind.to_string()),
            feature: barriers.len(),
        });
    }
    City {
        areas,
        households,
        barriers,
    }
}
