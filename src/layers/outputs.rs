//! The contract's output layers, written the same way by the command line and
//! the service: grids now; coverage and proposals alongside their engines.
//!
//! A list property (`issues` on grids, `cameras` on covered households and
//! sites) keeps its JSON array and gets a flat text twin (`issues_text`,
//! `cameras_text`: the items joined with [`LIST_SEPARATOR`]), because some
//! clients (QGIS 3.22's OGC API – Features provider, spreadsheets) drop arrays
//! and would show the reasons a grid breaks the rules as NULL.

use std::io::{self, Write};

use geo_types::{Geometry, MultiPolygon};
use serde::Serialize;

use super::write::ExtraProperties;
use super::{AnyLayer, FeatureWriter};
use crate::model::Grid;

/// What a list property's text twin puts between its items.
pub const LIST_SEPARATOR: &str = "; ";

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
    /// `issues` as one string, for clients that drop arrays ("" when none).
    issues_text: String,
    /// Written (as `true`) only on grids kept as they were by a partition
    /// around locked grids.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    locked: bool,
}

/// Writes grids as a FeatureCollection, one Feature per grid, `id` = code.
pub fn write_grids<W: Write + Send>(out: W, name: &str, grids: &[Grid]) -> io::Result<W> {
    write_grids_marked(out, name, grids, &[])
}

/// [`write_grids`], with `"locked": true` on the grids whose index is true
/// in `locked` (a partition around locked grids).
pub fn write_grids_marked<W: Write + Send>(
    out: W,
    name: &str,
    grids: &[Grid],
    locked: &[bool],
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some(name))?;
    w.write_features(grids, |i, g, text| {
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
            issues_text: g.issues.join(LIST_SEPARATOR),
            locked: locked.get(i).copied().unwrap_or(false),
        };
        text.feature(Some(&g.code), &polygonal(&g.geometry), &props);
    })?;
    w.finish()
}

/// Rounds for presentation; measures keep far more precision than they have.
fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// `covered`, `cameras` (the ids of the online cameras that see location `i`)
/// and `cameras_text` (the same ids as one string, "" when none).
fn set_seen(
    p: &mut ExtraProperties,
    seen: &crate::coverage::SeenBy,
    i: usize,
    cameras: &[crate::model::Camera],
) {
    p.set("covered", &seen.covered(i));
    let ids = CameraIds {
        cameras,
        indices: seen.cameras(i),
    };
    p.set("cameras", &ids);
    p.set("cameras_text", &ids.text());
}

/// The ids of the cameras at the given indices, as a JSON array.
struct CameraIds<'a> {
    cameras: &'a [crate::model::Camera],
    indices: &'a [u32],
}

impl CameraIds<'_> {
    /// The ids joined with [`LIST_SEPARATOR`].
    fn text(&self) -> String {
        let mut out = String::new();
        for (n, &i) in self.indices.iter().enumerate() {
            if n > 0 {
                out.push_str(LIST_SEPARATOR);
            }
            out.push_str(&self.cameras[i as usize].id);
        }
        out
    }
}

impl Serialize for CameraIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.indices.iter().map(|&i| &self.cameras[i as usize].id))
    }
}

/// `households.geojson`: every household location with `covered` and the ids of
/// the online cameras that see it, its input properties kept.
pub fn write_covered_households<W: Write + Send>(
    out: W,
    households: &[crate::model::Household],
    cameras: &[crate::model::Camera],
    seen: &crate::coverage::SeenBy,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("households"))?;
    w.write_features(households, |i, h, text| {
        text.feature_with_input(
            h.id.as_deref(),
            &Geometry::Point(h.location),
            h.properties.as_deref(),
            |p| {
                p.set("households", &h.households);
                set_seen(p, seen, i, cameras);
            },
        )
    })?;
    w.finish()
}

/// `sites.geojson`: every key site with `covered` and the cameras that see it.
pub fn write_covered_sites<W: Write + Send>(
    out: W,
    sites: &[crate::model::Site],
    cameras: &[crate::model::Camera],
    seen: &crate::coverage::SeenBy,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("sites"))?;
    w.write_features(sites, |i, s, text| {
        text.feature_with_input(
            None,
            &Geometry::Point(s.location),
            s.properties.as_deref(),
            |p| {
                p.set("kind", &s.kind);
                p.set("name", &s.name);
                set_seen(p, seen, i, cameras);
            },
        )
    })?;
    w.finish()
}

/// `areas.geojson`: every area with its coverage statistics.
pub fn write_area_coverage<W: Write + Send>(
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
    w.write_features(areas, |i, a, text| {
        let props = Props {
            code: &a.code,
            name: a.name.as_deref(),
            kind: a.kind,
            stats: &stats[i],
        };
        text.feature(Some(&a.code), &polygonal(&a.geometry), &props);
    })?;
    w.finish()
}

/// `gaps.geojson`: the ground no online camera sees, largest first, with the
/// households in it.
pub fn write_gaps<W: Write + Send>(
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
    w.write_features(gaps, |i, g, text| {
        let props = Props {
            area_code: &areas[g.area].code,
            area_m2: round(g.area_m2, 1),
            cells: g.cells,
            households_uncovered: g.households_uncovered,
        };
        let id = format!("{}-gap-{}", areas[g.area].code, i + 1);
        text.feature(Some(&id), &Geometry::Polygon(g.geometry.clone()), &props);
    })?;
    w.finish()
}

/// `cameras.geojson`: every camera with `online` and how many household
/// locations it sees, so offline and idle cameras stand out on the map.
pub fn write_camera_use<W: Write + Send>(
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
    w.write_features(cameras, |i, c, text| {
        text.feature_with_input(
            Some(&c.id),
            &Geometry::Point(c.location),
            c.properties.as_deref(),
            |p| {
                p.set("id", &c.id);
                p.set("online", &c.online);
                p.set("household_locations_seen", &sees[i]);
            },
        )
    })?;
    w.finish()
}

/// Proposals: the chosen candidate sites in order, with their gains.
pub fn write_proposals<W: Write + Send>(
    out: W,
    candidates: &[crate::model::Candidate],
    result: &crate::coverage::ProposeResult,
) -> io::Result<W> {
    let mut w = FeatureWriter::new(out, Some("proposals"))?;
    for p in &result.picks {
        let c = &candidates[p.candidate];
        w.write_with_input(
            Some(&p.rank.to_string()),
            &Geometry::Point(c.location),
            c.properties.as_deref(),
            |e| {
                e.set("rank", &p.rank);
                e.set("candidate", &c.feature);
                e.set("azimuth_deg", &round(p.azimuth_deg, 3));
                e.set("households_gained", &p.households_gained);
                e.set("sites_gained", &p.sites_gained);
                e.set("cumulative_covered", &p.cumulative_covered);
                e.set("cumulative_coverage", &round(p.cumulative_coverage, 6));
            },
        )?;
    }
    w.finish()
}

/// Writes a layer back out, normalised: WGS84, the contract's property names.
pub fn write_layer<W: Write + Send>(w: &mut FeatureWriter<W>, layer: &AnyLayer) -> io::Result<()> {
    match layer {
        AnyLayer::Areas(v) => w.write_features(v, |_, a, text| {
            text.feature_with_input(
                Some(&a.code),
                &Geometry::MultiPolygon(a.geometry.clone()),
                a.properties.as_deref(),
                |p| {
                    p.set("code", &a.code);
                    p.set("name", &a.name);
                    p.set("kind", &a.kind);
                },
            )
        }),
        AnyLayer::Households(v) => w.write_features(v, |_, h, text| {
            text.feature_with_input(
                h.id.as_deref(),
                &Geometry::Point(h.location),
                h.properties.as_deref(),
                |p| {
                    p.set("households", &h.households);
                    p.set("persons", &h.persons);
                },
            )
        }),
        AnyLayer::Cameras(v) => w.write_features(v, |_, c, text| {
            text.feature_with_input(
                Some(&c.id),
                &Geometry::Point(c.location),
                c.properties.as_deref(),
                |p| {
                    p.set("id", &c.id);
                    p.set("type", &c.camera_type);
                    p.set("azimuth_deg", &c.azimuth_deg);
                    p.set("fov_deg", &c.fov_deg);
                    p.set("range_m", &c.range_m);
                    p.set("online", &c.online);
                    p.set("height_m", &c.height_m);
                },
            )
        }),
        AnyLayer::Buildings(v) => w.write_features(v, |_, b, text| {
            text.feature(
                None,
                &Geometry::MultiPolygon(b.geometry.clone()),
                &serde_json::json!({"feature": b.feature}),
            )
        }),
        AnyLayer::Barriers(v) => w.write_features(v, |_, b, text| {
            text.feature(
                None,
                &Geometry::MultiLineString(b.geometry.clone()),
                &serde_json::json!({"kind": b.kind}),
            )
        }),
        AnyLayer::Sites(v) => w.write_features(v, |_, s, text| {
            text.feature_with_input(
                None,
                &Geometry::Point(s.location),
                s.properties.as_deref(),
                |p| {
                    p.set("kind", &s.kind);
                    p.set("name", &s.name);
                },
            )
        }),
        AnyLayer::Candidates(v) => w.write_features(v, |_, c, text| {
            text.feature_with_input(
                None,
                &Geometry::Point(c.location),
                c.properties.as_deref(),
                |_| {},
            )
        }),
    }
}
