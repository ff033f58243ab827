//! What a job may ask for, and how big it is before it runs.
//!
//! Every job parameter has a documented range (the constants below; the README
//! lists them), and a job is sized from cheap facts before it starts: how
//! many H3 cells it walks (each area's bounding box over the cell area at the
//! resolution) and how many camera–household pairs it tests (every camera or
//! candidate view axis against the households its range disc holds at the
//! layer's mean density). Both are estimates of the work, not of the output:
//! they exist so that one request with `h3_resolution` 15 over a province, a
//! `range_m` of a hundred kilometres or 360 view axes per candidate is refused
//! with its estimate in well under a second instead of holding the server for
//! hours. The command line and the service share the estimates and differ in
//! the [`Budget`] they check them against.

use std::ops::RangeInclusive;

/// H3 resolutions of the coverage cells: 7 (5 km²) to 15 (0.9 m²).
pub const H3_RESOLUTION: RangeInclusive<u8> = 7..=15;
/// Largest `range_m` of a proposed camera, metres: the coverage engine measures
/// in a local planar frame checked to 3 km.
pub const MAX_RANGE_M: f64 = 3_000.0;
/// View axes tried per candidate.
pub const ORIENTATIONS: RangeInclusive<u32> = 1..=360;
/// Sites a proposal may choose.
pub const MAX_COUNT: usize = 1_000_000;
/// Weight of a key site against one household.
pub const MAX_SITE_WEIGHT: u32 = 100_000;
pub use crate::model::{MAX_AREA_RULES, MAX_HOUSEHOLDS, MAX_PERSONS};

/// Cells the partition engine builds per area at most (its resolution is
/// coarsened until the area fits, down to resolution 7).
const PARTITION_CELLS_PER_AREA: f64 = 600_000.0;
/// Mean area of an H3 cell at `res` (clamped to 0–15), m².
pub fn cell_area_m2(res: u8) -> f64 {
    h3o::Resolution::try_from(res.min(15)).map_or(f64::NAN, |r| r.area_m2())
}

/// Area of a longitude/latitude box `[min_lon, min_lat, max_lon, max_lat]`, m²
/// (spherical, exact enough for a size estimate); 0 for an empty or NaN box.
pub fn bbox_m2(b: [f64; 4]) -> f64 {
    const R: f64 = 6_371_008.8;
    let [x0, y0, x1, y1] = b;
    if !(x1 >= x0 && y1 >= y0) {
        return 0.0;
    }
    let (s0, s1) = (y0.to_radians().sin(), y1.to_radians().sin());
    R * R * (x1 - x0).to_radians() * (s1 - s0)
}

/// The size of a job before it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// H3 cells the job builds or walks.
    pub cells: f64,
    /// Camera (or candidate view axis) × household pairs it tests.
    pub pairs: f64,
}

/// The largest job a caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Budget {
    pub cells: f64,
    pub pairs: f64,
}

impl Budget {
    /// The service's default: a city at the default resolution, or a county at
    /// resolution 13, takes a few seconds to minutes on a small server.
    pub const SERVICE: Budget = Budget {
        cells: 5e7,
        pairs: 1e9,
    };
    /// The command line's default: twenty times the service's (a planner's own
    /// machine, one job at a time); `--max-cells`/`--max-pairs` override it.
    pub const CLI: Budget = Budget {
        cells: 1e9,
        pairs: 2e10,
    };

    /// Refuses an estimate over the budget, naming the measure.
    pub fn check(&self, e: &Estimate) -> Result<(), OverBudget> {
        let over = |measure: &'static str, estimate: f64, budget: f64| OverBudget {
            measure,
            estimate,
            budget,
        };
        // NaN is never within the budget.
        let within = |e: f64, b: f64| e.partial_cmp(&b).is_some_and(|o| o.is_le());
        if !within(e.cells, self.cells) {
            return Err(over("cells", e.cells, self.cells));
        }
        if !within(e.pairs, self.pairs) {
            return Err(over("pairs", e.pairs, self.pairs));
        }
        Ok(())
    }
}

/// A job whose estimated size is over the budget.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the job is too big: about {estimate:.3e} {measure} against a budget of {budget:.3e} {measure}; use a coarser resolution, a shorter range, fewer view axes or a smaller area")]
pub struct OverBudget {
    /// `cells` or `pairs`.
    pub measure: &'static str,
    pub estimate: f64,
    pub budget: f64,
}

/// Households as the estimates see them: how many locations, spread over
/// how much ground (the layer's bounding box).
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub locations: u64,
    pub extent_m2: f64,
}

impl Spread {
    /// Household locations a disc of radius `r` metres holds at the mean
    /// density, at most all of them.
    fn in_disc(&self, r: f64) -> f64 {
        let n = self.locations as f64;
        // A box under a hectare (one estate, or one point) counts as a hectare.
        let density = n / self.extent_m2.max(1e4);
        (density * std::f64::consts::PI * r * r).min(n)
    }
}

/// The bounding box area of every area, m².
pub fn area_boxes_m2(areas: &[crate::model::Area]) -> Vec<f64> {
    use geo::BoundingRect;
    areas
        .iter()
        .filter_map(|a| a.geometry.bounding_rect())
        .map(|r| bbox_m2([r.min().x, r.min().y, r.max().x, r.max().y]))
        .collect()
}

impl Spread {
    /// The spread of a household layer.
    pub fn of(households: &[crate::model::Household]) -> Spread {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for h in households {
            let (x, y) = (h.location.x(), h.location.y());
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        Spread {
            locations: households.len() as u64,
            extent_m2: bbox_m2(b),
        }
    }
}

/// A partition (or update): the cells the engine builds for every area (each
/// area's box over the finest cell, capped as the engine caps it) plus one
/// node per household location (cells are cut between locations).
pub fn partition(area_boxes_m2: &[f64], households: u64) -> Estimate {
    let cells: f64 = area_boxes_m2
        .iter()
        .map(|&a| {
            let cap = PARTITION_CELLS_PER_AREA.max(a / cell_area_m2(7));
            (a / cell_area_m2(13)).min(cap)
        })
        .sum();
    Estimate {
        cells: cells + households as f64,
        pairs: 0.0,
    }
}

/// A coverage job: the area-coverage cells at `res` (when asked for) and every
/// camera against the households in its range disc.
pub fn coverage(
    area_boxes_m2: &[f64],
    res: Option<u8>,
    camera_ranges_m: &[f64],
    households: Spread,
) -> Estimate {
    let cells = res.map_or(0.0, |r| {
        area_boxes_m2.iter().map(|a| a / cell_area_m2(r)).sum()
    });
    let pairs = camera_ranges_m.iter().map(|&r| households.in_disc(r)).sum();
    Estimate { cells, pairs }
}

/// A proposal: the existing cameras' coverage plus every candidate view axis
/// against the households in its range disc (`axes` is 1 for a 360° camera).
pub fn propose(
    camera_ranges_m: &[f64],
    candidates: u64,
    axes: u32,
    range_m: f64,
    households: Spread,
) -> Estimate {
    let existing = coverage(&[], None, camera_ranges_m, households);
    Estimate {
        cells: 0.0,
        pairs: existing.pairs + candidates as f64 * f64::from(axes) * households.in_disc(range_m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_the_parameters_that_make_jobs_slow() {
        // 1° × 1° near 32° N is about 111 km × 94 km.
        let a = bbox_m2([118.0, 32.0, 119.0, 33.0]);
        assert!((a / 1.04e10 - 1.0).abs() < 0.02, "{a}");
        let hh = Spread {
            locations: 100_000,
            extent_m2: 1e8,
        };
        let district = coverage(&[1e8], Some(12), &[50.0; 1000], hh);
        assert!(Budget::SERVICE.check(&district).is_ok(), "{district:?}");
        let fine = coverage(&[a], Some(15), &[], hh);
        let e = Budget::SERVICE.check(&fine).unwrap_err();
        assert_eq!(e.measure, "cells");
        assert!(e.to_string().contains("cells"), "{e}");
        let far = coverage(&[], None, &[1e6; 20_000], hh);
        assert_eq!(far.pairs, 2e9);
        assert_eq!(Budget::SERVICE.check(&far).unwrap_err().measure, "pairs");
        let axes = propose(&[], 50_000, 360, 3000.0, hh);
        assert!(Budget::SERVICE.check(&axes).is_err(), "{axes:?}");
        assert!(Budget::SERVICE
            .check(&propose(&[], 50_000, 8, 50.0, hh))
            .is_ok());
        // The partition engine caps its cells per area.
        let country = partition(&[9.6e12], 1_000_000);
        assert!(country.cells < 3e6, "{country:?}");
        assert!(Budget::SERVICE.check(&partition(&[a; 10_000], 0)).is_err());
        assert!(Budget::SERVICE
            .check(&Estimate {
                cells: f64::NAN,
                pairs: 0.0
            })
            .is_err());
    }
}
