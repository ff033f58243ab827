//! The strict contract for dense cities, checked from the raw inputs.
//!
//! Where single locations carry hundreds of households, "most grids are about
//! right" is not good enough: a grid office needs every grid to be one piece
//! of ground, none empty, within 300–500 households wherever the totals allow
//! it, and a reason on every grid that is not. [`check_dense`] measures all of
//! that itself (point-in-polygon recount, polygon overlay, its own
//! Polsby–Popper in local metres), prints a one-line summary, then fails with
//! every violation, each naming the grid, its area and the measured value.
//! It then runs the general oracle ([`super::check`]: recounts equal the
//! engine's, exact tiling, valid polygons, unique codes, consistent
//! `within_rules`).
//!
//! Unlike the general oracle, it makes no exception for slivers where an
//! area's boundary pinches: a grid in an area of one polygon must be one
//! polygon.

use std::time::Duration;

use geo::{Area as _, BooleanOps, BoundingRect, Intersects};
use geo_types::{LineString, MultiPolygon, Polygon, Rect};
use wangge::model::{Area, Household, Rules};
use wangge::partition::Partition;

use super::reasons::{self, ReasonCount};
use super::{check, Check};

/// Areas at least this compact (Polsby–Popper) must have compact grids.
pub const AREA_PP: f64 = 0.25;
/// The least Polsby–Popper a grid of such an area may have.
pub const GRID_PP: f64 = 0.2;
/// Tiling tolerance: gap and overlap relative to the area's own area.
pub const TILING: f64 = 1e-6;

/// Share of grids within the household rules the contract asks for, over
/// areas whose total allows it. Bigger towers make exact balance harder: a
/// 480-household tower leaves little room in a 300–500 grid.
pub fn within_floor(tower_cap: u32) -> f64 {
    if tower_cap <= 240 {
        0.99
    } else {
        0.97
    }
}

/// What [`check_dense`] measured.
#[derive(Debug, Clone)]
pub struct DenseCheck {
    pub grids: usize,
    /// Grids in areas whose total allows every grid within the rules.
    pub feasible_grids: usize,
    /// Of those, grids within the rules (by the recount).
    pub feasible_within: usize,
    /// Areas with households whose locations cannot be dealt within the
    /// rules ([`feasible`]), left out of the share.
    pub infeasible_areas: usize,
    /// `feasible_within / feasible_grids` (1 when there are none).
    pub within_share: f64,
    /// Largest |area − union of its grids| / area.
    pub max_gap: f64,
    /// Largest (Σ grid areas − union) / area.
    pub max_overlap: f64,
    /// Grids in several polygons although their area is one polygon.
    pub multipart: usize,
    /// Grids without households in areas with households.
    pub empty: usize,
    /// Least Polsby–Popper over grids of areas with PP ≥ [`AREA_PP`].
    pub pp_min: f64,
    /// Least Polsby–Popper over all grids.
    pub pp_min_all: f64,
    /// Grids outside the rules whose reason the recount confirms, and those
    /// with no reason it can check.
    pub reasons: ReasonCount,
    /// Every breach of the contract, one line each.
    pub violations: Vec<String>,
    /// The general oracle's measurements.
    pub base: Check,
}

/// Area (m²) and perimeter (m) of a polygon, in a local equirectangular
/// frame at `lat` (exact enough at grid scale, and independent of the
/// engine's own measures).
fn measure(poly: &Polygon<f64>, lat: f64) -> (f64, f64) {
    let (kx, ky) = (111_320.0 * lat.to_radians().cos(), 110_574.0);
    let ring = |l: &LineString<f64>| {
        let (mut a, mut p) = (0.0, 0.0);
        for w in l.0.windows(2) {
            let (x0, y0) = (w[0].x * kx, w[0].y * ky);
            let (x1, y1) = (w[1].x * kx, w[1].y * ky);
            a += x0 * y1 - x1 * y0;
            p += ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        }
        (0.5 * a.abs(), p)
    };
    let (mut area, mut perimeter) = ring(poly.exterior());
    for h in poly.interiors() {
        let (a, p) = ring(h);
        area -= a;
        perimeter += p;
    }
    (area, perimeter)
}

/// Polsby–Popper 4πA/P² of a (multi)polygon, over all its rings.
pub fn polsby_popper(mp: &MultiPolygon<f64>) -> f64 {
    let Some(r) = mp.bounding_rect() else {
        return 0.0;
    };
    let (mut area, mut perimeter) = (0.0, 0.0);
    for poly in &mp.0 {
        let (a, p) = measure(poly, r.center().y);
        area += a;
        perimeter += p;
    }
    if perimeter > 0.0 {
        4.0 * std::f64::consts::PI * area / (perimeter * perimeter)
    } else {
        0.0
    }
}

/// True when the area's locations (household counts, indivisible) can be
/// dealt into grids that all meet the household bounds, ignoring where they
/// stand: for each possible number of grids k (k·min ≤ total ≤ k·max), the
/// largest location first, each to the grid with the fewest households so
/// far. A split found this way proves the totals allow it; an area where
/// none is found (a few big towers that cannot be combined within the
/// bounds) does not count towards the within-rules share.
pub fn feasible(locations: &[u64], r: &Rules) -> bool {
    let total: u64 = locations.iter().sum();
    if total == 0 {
        return false;
    }
    let mut sizes = locations.to_vec();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let (lo, hi) = (r.min_households, r.max_households.max(1));
    let k_min = total.div_ceil(hi).max(1);
    let k_max = total.checked_div(lo).unwrap_or(k_min);
    (k_min..=k_max).any(|k| {
        let mut bins = vec![0u64; k as usize];
        for &s in &sizes {
            let b = (0..bins.len()).min_by_key(|&b| bins[b]).unwrap();
            bins[b] += s;
        }
        bins.iter().all(|&b| b >= lo && b <= hi)
    })
}

fn bbox_holds(b: &Rect<f64>, x: f64, y: f64) -> bool {
    x >= b.min().x && x <= b.max().x && y >= b.min().y && y <= b.max().y
}

/// Checks a dense-city partition against the contract (module docs), prints
/// `label: …` with the measurements and `elapsed` (the engine's time), and
/// panics listing every violation. `tower_cap` picks the within-rules floor
/// ([`within_floor`]); `rules` overrides the per-kind presets as in the run.
pub fn check_dense(
    label: &str,
    areas: &[Area],
    households: &[Household],
    p: &Partition,
    rules: Option<Rules>,
    tower_cap: u32,
    elapsed: Duration,
) -> DenseCheck {
    let mut v: Vec<String> = Vec::new();
    let grid_box: Vec<Rect<f64>> = p
        .grids
        .iter()
        .map(|g| g.geometry.bounding_rect().expect("non-empty grid"))
        .collect();
    let area_box: Vec<Rect<f64>> = areas
        .iter()
        .map(|a| a.geometry.bounding_rect().expect("non-empty area"))
        .collect();

    // Recount: each location goes to the first area whose closed polygon
    // holds it, and to the grid of that area whose closed polygon holds it
    // (on an edge shared by several, the one the engine chose if it is one
    // of them: which side of a shared edge is not the contract's business).
    let mut area_hh = vec![0u64; areas.len()];
    let mut area_locations: Vec<Vec<u64>> = vec![Vec::new(); areas.len()];
    let mut grid_hh = vec![0u64; p.grids.len()];
    let mut grid_persons = vec![0u64; p.grids.len()];
    let mut unplaced = 0usize;
    let mut grid_of: Vec<Option<usize>> = vec![None; households.len()];
    for (i, h) in households.iter().enumerate() {
        let pt = h.location.0;
        let Some(a) = (0..areas.len())
            .find(|&a| bbox_holds(&area_box[a], pt.x, pt.y) && areas[a].geometry.intersects(&pt))
        else {
            continue;
        };
        area_hh[a] += u64::from(h.households);
        area_locations[a].push(u64::from(h.households));
        let holders: Vec<usize> = (0..p.grids.len())
            .filter(|&g| {
                p.grids[g].parent_code == areas[a].code
                    && bbox_holds(&grid_box[g], pt.x, pt.y)
                    && p.grids[g].geometry.intersects(&pt)
            })
            .collect();
        let engine = p
            .household_grid
            .get(i)
            .copied()
            .flatten()
            .map(|g| g as usize);
        let g = match engine {
            Some(g) if holders.contains(&g) => Some(g),
            _ => holders.first().copied(),
        };
        grid_of[i] = g;
        match g {
            Some(g) => {
                grid_hh[g] += u64::from(h.households);
                grid_persons[g] += u64::from(h.persons.unwrap_or(0));
            }
            None => unplaced += 1,
        }
    }
    if unplaced > 0 {
        v.push(format!(
            "{unplaced} household locations lie in an area but in none of its grids (gap)"
        ));
    }

    let mut c = DenseCheck {
        grids: p.grids.len(),
        feasible_grids: 0,
        feasible_within: 0,
        infeasible_areas: 0,
        within_share: 1.0,
        max_gap: 0.0,
        max_overlap: 0.0,
        multipart: 0,
        empty: 0,
        pp_min: f64::INFINITY,
        pp_min_all: f64::INFINITY,
        violations: Vec::new(),
        reasons: ReasonCount::default(),
        base: Check::default(),
    };
    let mut outside_rules: Vec<String> = Vec::new();
    let mut outside = vec![false; p.grids.len()];
    for (a, area) in areas.iter().enumerate() {
        let r = rules.unwrap_or_else(|| Rules::preset(area.kind));
        let gs: Vec<usize> = (0..p.grids.len())
            .filter(|&g| p.grids[g].parent_code == area.code)
            .collect();
        if gs.is_empty() {
            v.push(format!("area {}: no grids", area.code));
            continue;
        }
        // Tiling.
        let own = area.geometry.unsigned_area();
        let mut union = MultiPolygon::<f64>(vec![]);
        let mut sum = 0.0;
        for &g in &gs {
            union = union.union(&p.grids[g].geometry);
            sum += p.grids[g].geometry.unsigned_area();
        }
        let gap = union.xor(&area.geometry).unsigned_area() / own;
        let overlap = (sum - union.unsigned_area()).max(0.0) / own;
        c.max_gap = c.max_gap.max(gap);
        c.max_overlap = c.max_overlap.max(overlap);
        if gap > TILING {
            v.push(format!(
                "area {}: the grids' union differs from the area by {gap:.2e} of its area",
                area.code
            ));
        }
        if overlap > TILING {
            v.push(format!(
                "area {}: the grids overlap by {overlap:.2e} of its area",
                area.code
            ));
        }
        let area_pp = polsby_popper(&area.geometry);
        let ok_total = feasible(&area_locations[a], &r);
        if !ok_total && area_hh[a] > 0 {
            c.infeasible_areas += 1;
        }
        for &g in &gs {
            let grid = &p.grids[g];
            let parts = grid.geometry.0.len();
            if area.geometry.0.len() == 1 && parts != 1 {
                c.multipart += 1;
                let sizes: Vec<String> = grid
                    .geometry
                    .0
                    .iter()
                    .map(|q| {
                        let m2 = measure(q, q.exterior().0[0].y).0;
                        if m2 >= 1.0 {
                            format!("{m2:.0} m²")
                        } else {
                            format!("{m2:.1e} m²")
                        }
                    })
                    .collect();
                v.push(format!(
                    "grid {} (area {}): {parts} polygons ({}), the area is one polygon",
                    grid.code,
                    area.code,
                    sizes.join(", ")
                ));
            }
            if area_hh[a] > 0 && grid_hh[g] == 0 {
                c.empty += 1;
                v.push(format!(
                    "grid {} (area {}): 0 households, the area has {}",
                    grid.code, area.code, area_hh[a]
                ));
            }
            let pp = polsby_popper(&grid.geometry);
            c.pp_min_all = c.pp_min_all.min(pp);
            if area_pp >= AREA_PP {
                c.pp_min = c.pp_min.min(pp);
                if pp < GRID_PP {
                    v.push(format!(
                        "grid {} (area {}): Polsby–Popper {pp:.3} < {GRID_PP} (area's own {area_pp:.3})",
                        grid.code, area.code
                    ));
                }
            }
            let n = grid_hh[g];
            let within = n >= r.min_households
                && n <= r.max_households
                && r.max_persons.map_or(true, |m| grid_persons[g] <= m);
            outside[g] = !within;
            if !within && grid.issues.is_empty() {
                v.push(format!(
                    "grid {} (area {}): {n} households, {} persons, outside the rules but no issues",
                    grid.code, area.code, grid_persons[g]
                ));
            }
            if ok_total {
                c.feasible_grids += 1;
                if within {
                    c.feasible_within += 1;
                } else {
                    outside_rules.push(format!("{} (area {}) {n}", grid.code, area.code));
                }
            }
        }
    }
    if c.feasible_grids > 0 {
        c.within_share = c.feasible_within as f64 / c.feasible_grids as f64;
    }
    let floor = within_floor(tower_cap);
    if c.within_share < floor {
        let shown = outside_rules.len().min(12);
        v.push(format!(
            "{}/{} grids of feasible areas within {}–{} households = {:.2} % < {:.0} %; outside: {}{}",
            c.feasible_within,
            c.feasible_grids,
            rules.map_or(300, |r| r.min_households),
            rules.map_or(500, |r| r.max_households),
            100.0 * c.within_share,
            100.0 * floor,
            outside_rules[..shown].join(", "),
            if shown < outside_rules.len() { ", …" } else { "" }
        ));
    }
    if c.pp_min == f64::INFINITY {
        c.pp_min = f64::NAN;
    }
    let rules_of = |g: usize| {
        let kind = areas
            .iter()
            .find(|a| a.code == p.grids[g].parent_code)
            .map(|a| a.kind)
            .expect("every grid has its area");
        rules.unwrap_or_else(|| Rules::preset(kind))
    };
    c.reasons = reasons::check(&p.grids, households, &grid_of, &outside, &rules_of, &mut v);
    eprintln!(
        "{label}: {} grids, within {:.1} % ({}/{} in feasible areas; {} infeasible areas), gap {:.1e}, overlap {:.1e}, \
         multipart {}, empty {}, min PP {:.3} (all grids {:.3}), reasons confirmed {} / unexplained {}, {:.2} s",
        c.grids,
        100.0 * c.within_share,
        c.feasible_within,
        c.feasible_grids,
        c.infeasible_areas,
        c.max_gap,
        c.max_overlap,
        c.multipart,
        c.empty,
        c.pp_min,
        c.pp_min_all,
        c.reasons.confirmed,
        c.reasons.unexplained,
        elapsed.as_secs_f64()
    );
    c.violations = v;
    if !c.violations.is_empty() {
        let shown = c.violations.len().min(15);
        panic!(
            "{label}: {} contract violations:\n  {}{}",
            c.violations.len(),
            c.violations[..shown].join("\n  "),
            if shown < c.violations.len() {
                "\n  …"
            } else {
                ""
            }
        );
    }
    c.base = check(areas, households, p, rules);
    c
}
