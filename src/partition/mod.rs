//! Service grids: balanced, contiguous, compact grids that tile every area exactly.
//!
//! # Pipeline (per area, areas in parallel with rayon)
//!
//! 1. `tessellate`: H3 cells covering the area at a resolution chosen from the
//!    household density. Cells fully inside stay whole; boundary cells are clipped
//!    to the area, and a clipped cell that falls apart (a thin neck, a hole, a
//!    second part of the area) becomes one graph node per piece. Cell polygons use
//!    the *canonical* H3 vertex coordinates, so two neighbouring cells share
//!    bit-identical edges and everything built from them tiles without slivers.
//! 2. `graph`: node adjacency (shared edges of positive length, so a region that
//!    is connected in the graph is one polygon on the ground), with cheap edges
//!    where a barrier line (road, river, railway) crosses between two nodes.
//! 3. `regions`: the number of grids from the rules, an initial partition by
//!    recursive balanced bisection, then local moves of boundary nodes that keep
//!    every region connected while fixing the size rules, balancing, and making
//!    the regions compact and aligned with barriers; `compact` then moves
//!    nodes on exact region areas and perimeters to lift the least compact
//!    grids' Polsby–Popper.
//! 4. `split`: where two regions meet along a barrier, the cells the line runs
//!    through are cut along it and each piece goes to the region on its side,
//!    so the grid edge is the road or river itself (kept whole where that
//!    would break a rule, contiguity, validity or compactness).
//! 5. `dissolve`: each region's cells are merged by walking the canonical cell
//!    edges (exact), and regions touching the area boundary are clipped to it.
//! 6. `metrics` and `codes`: area, Polsby–Popper compactness, barrier length,
//!    rule checks with reasons, and stable hierarchical codes.
//!
//! Every household is assigned to a node by point-in-polygon against the same
//! polygons the output is built from, so recounting the output with
//! point-in-polygon gives the same numbers (see `tests/partition.rs`).
//!
//! The module knows nothing of GeoJSON, HTTP or storage: model types in, model
//! types out.

mod codes;
mod compact;
mod dissolve;
mod graph;
mod metrics;
mod pip;
mod regions;
mod snap;
mod split;
mod tessellate;
mod update;

use std::collections::HashMap;

use geo::{BoundingRect, Intersects, Validation};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use h3o::Resolution;
use rayon::prelude::*;

use crate::geodesy::LocalFrame;
use crate::model::{Area, Barrier, Grid, Household, Rules, RulesError};
use crate::progress::Progress;

pub use metrics::polsby_popper;
pub use update::{
    update, AreaChange, AreaUpdateMode, ChangeReport, ChangeTotals, GridChange, GridChangeRecord,
    HouseholdMove, RetiredCode, Update, UpdateError, UpdateOptions,
};

/// How to partition. `Default` uses the per-kind presets and automatic resolution.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Rules for every area, overriding the per-kind presets ([`Rules::preset`]).
    pub rules: Option<Rules>,
    /// H3 resolution of the building blocks; chosen per area from household
    /// density when absent (about 10–25 households per occupied cell, and at
    /// least ~40 cells per grid so grid outlines can be compact).
    pub resolution: Option<Resolution>,
    /// Number of grids per area code, overriding the automatic choice.
    pub grid_counts: HashMap<String, usize>,
    /// Relative cost of cutting the graph across a barrier line (1.0 = as
    /// expensive as any other cut; lower makes barriers preferred grid edges).
    pub barrier_cut_cost: f64,
    /// Tightest balance the refinement aims for, as a fraction of the mean grid
    /// size (the rule bounds always apply on top of it).
    pub balance_tolerance: f64,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            rules: None,
            resolution: None,
            grid_counts: HashMap::new(),
            barrier_cut_cost: 0.15,
            balance_tolerance: 0.08,
        }
    }
}

/// The result of [`partition`].
#[derive(Debug, Clone)]
pub struct Partition {
    /// All grids, area by area in input order, and by code within an area.
    pub grids: Vec<Grid>,
    /// For every input household (same index), the index in `grids` of the grid
    /// whose polygon contains it, or `None` when it lies outside every area.
    pub household_grid: Vec<Option<u32>>,
    /// One report per input area, in input order.
    pub areas: Vec<AreaReport>,
    /// Households (and locations) that fall outside every area: reported, never
    /// silently dropped.
    pub outside: OutsideReport,
}

/// What happened in one area.
#[derive(Debug, Clone)]
pub struct AreaReport {
    pub code: String,
    /// H3 resolution of the building blocks.
    pub resolution: u8,
    /// Number of graph nodes (cells, or pieces of clipped cells).
    pub nodes: usize,
    pub grids: usize,
    pub households: u64,
    pub persons: u64,
    /// The rules used for this area.
    pub rules: Rules,
    /// True when the area's totals allow every grid to meet the rules.
    pub feasible: bool,
    /// Human-readable notes: infeasibility, detached parts joined to a grid …
    pub notes: Vec<String>,
}

/// Households that lie in no area.
#[derive(Debug, Clone, Default)]
pub struct OutsideReport {
    /// Sum of `households` over the outside locations.
    pub households: u64,
    /// Indices (into the input slice) of the outside household locations.
    pub locations: Vec<usize>,
}

/// Why a partition could not be computed at all. Rule breaches of single grids
/// are not errors: they are reported on the grids.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("invalid rules: {0}")]
    Rules(#[from] RulesError),
    #[error("area {code}: {reason}")]
    InvalidArea { code: String, reason: String },
    #[error("area code {0} occurs more than once")]
    DuplicateCode(String),
    #[error("household {index}: {reason}")]
    InvalidHousehold { index: usize, reason: String },
    #[error("resolution {0} is outside the supported range 6–14")]
    Resolution(u8),
    #[error("cancelled")]
    Cancelled,
}

/// Partitions every area into service grids.
///
/// Areas are independent and run in parallel; the result does not depend on the
/// number of threads (every step is ordered, no hash-map iteration decides
/// anything).
pub fn partition(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    options: &PartitionOptions,
    progress: &dyn Progress,
) -> Result<Partition, PartitionError> {
    validate_inputs(areas, households, options)?;
    progress.report("assign households to areas", 0.0);

    // Households → areas (first area in input order wins on shared borders).
    let locator = pip::AreaLocator::new(areas);
    let area_of: Vec<Option<u32>> = households
        .par_iter()
        .map(|h| locator.locate(h.location.0))
        .collect();
    let mut per_area: Vec<Vec<u32>> = vec![Vec::new(); areas.len()];
    let mut outside = OutsideReport::default();
    for (i, a) in area_of.iter().enumerate() {
        match a {
            Some(a) => per_area[*a as usize].push(i as u32),
            None => {
                outside.households += u64::from(households[i].households);
                outside.locations.push(i);
            }
        }
    }
    if progress.cancelled() {
        return Err(PartitionError::Cancelled);
    }

    let barrier_index = graph::BarrierIndex::new(barriers);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total_hh: usize = per_area.iter().map(|v| v.len() + 64).sum::<usize>().max(1);

    // Largest areas first so the parallel tail is short; results are put back in
    // input order, so this does not affect the output.
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(per_area[i].len()));
    let mut results: Vec<(usize, Result<AreaResult, PartitionError>)> = order
        .par_iter()
        .map(|&i| {
            if progress.cancelled() {
                return (i, Err(PartitionError::Cancelled));
            }
            let r = partition_area(
                &areas[i],
                households,
                &per_area[i],
                &barrier_index,
                options,
                progress,
            );
            let d = done.fetch_add(per_area[i].len() + 64, std::sync::atomic::Ordering::Relaxed)
                + per_area[i].len()
                + 64;
            progress.report("partition areas", d as f64 / total_hh as f64);
            (i, r)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);

    let mut grids = Vec::new();
    let mut household_grid = vec![None; households.len()];
    let mut reports = Vec::with_capacity(areas.len());
    for (_, r) in results {
        let r = r?;
        let base = grids.len() as u32;
        for (h, g) in r.assignment {
            household_grid[h as usize] = Some(base + g);
        }
        grids.extend(r.grids);
        reports.push(r.report);
    }
    if std::env::var_os("WANGGE_PROFILE").is_some() {
        let v: Vec<String> = PHASES
            .iter()
            .zip(PHASE_NAMES)
            .map(|(p, n)| {
                format!(
                    "{n} {:.3}s",
                    p.swap(0, std::sync::atomic::Ordering::Relaxed) as f64 * 1e-9
                )
            })
            .collect();
        eprintln!(
            "partition phases (CPU time summed over areas): {}",
            v.join(", ")
        );
    }
    progress.report("done", 1.0);
    Ok(Partition {
        grids,
        household_grid,
        areas: reports,
        outside,
    })
}

pub(crate) fn validate_area(a: &Area) -> Result<(), PartitionError> {
    let bad = |reason: &str| PartitionError::InvalidArea {
        code: a.code.clone(),
        reason: reason.to_string(),
    };
    if a.geometry.0.is_empty() {
        return Err(bad("empty geometry"));
    }
    for p in &a.geometry.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            if ring.0.len() < 4 {
                return Err(bad("a ring has fewer than 4 positions"));
            }
            for c in &ring.0 {
                if !(c.x.is_finite()
                    && c.y.is_finite()
                    && (-180.0..=180.0).contains(&c.x)
                    && (-90.0..=90.0).contains(&c.y))
                {
                    return Err(bad("coordinates are not a valid longitude/latitude"));
                }
            }
        }
    }
    if geo::Area::unsigned_area(&a.geometry) <= 0.0 {
        return Err(bad("zero area"));
    }
    Ok(())
}

pub(crate) struct AreaResult {
    pub(crate) grids: Vec<Grid>,
    /// (household index, grid index within this area)
    pub(crate) assignment: Vec<(u32, u32)>,
    pub(crate) report: AreaReport,
}

pub(crate) fn partition_area(
    area: &Area,
    households: &[Household],
    hh: &[u32],
    barriers: &graph::BarrierIndex,
    options: &PartitionOptions,
    progress: &dyn Progress,
) -> Result<AreaResult, PartitionError> {
    let mut t = std::time::Instant::now();
    let rules = options.rules.unwrap_or_else(|| Rules::preset(area.kind));
    let bbox = area.geometry.bounding_rect().expect("validated non-empty");
    let frame = LocalFrame::new(Point(bbox.center()));
    let area_m2 = metrics::multipolygon_area_m2(&area.geometry, &frame);
    let total: u64 = hh
        .iter()
        .map(|&i| u64::from(households[i as usize].households))
        .sum();
    let res = match options.resolution {
        Some(r) => r,
        None => tessellate::choose_resolution(households, hh, total, area_m2, &rules),
    };
    lap(0, &mut t);
    let tess = tessellate::Tessellation::new(area, res, frame).map_err(|e| {
        PartitionError::InvalidArea {
            code: area.code.clone(),
            reason: e,
        }
    })?;
    if progress.cancelled() {
        return Err(PartitionError::Cancelled);
    }
    lap(1, &mut t);
    // Households → nodes.
    let mut node_hh = vec![0u64; tess.nodes.len()];
    let mut node_pp = vec![0u64; tess.nodes.len()];
    let mut hh_node = Vec::with_capacity(hh.len());
    for &i in hh {
        let h = &households[i as usize];
        let n = tess.locate(h.location.0);
        node_hh[n as usize] += u64::from(h.households);
        node_pp[n as usize] += u64::from(h.persons.unwrap_or(0));
        hh_node.push((i, n));
    }
    let has_persons = hh.iter().any(|&i| households[i as usize].persons.is_some());

    lap(2, &mut t);
    let g = graph::Graph::build(&tess, &area.geometry, barriers, options.barrier_cut_cost);
    let plan = regions::Plan {
        rules,
        has_persons,
        grid_count: options.grid_counts.get(&area.code).copied(),
        balance_tolerance: options.balance_tolerance,
    };
    lap(3, &mut t);
    let part = regions::partition_graph(&g, &tess, &node_hh, &node_pp, &plan);
    lap(4, &mut t);
    if progress.cancelled() {
        return Err(PartitionError::Cancelled);
    }

    // Geometry, metrics, codes.
    let k = part.k;
    let pts = dissolve::NodePoints::new(
        tess.nodes.len(),
        &hh_node
            .iter()
            .map(|&(i, n)| (households[i as usize].location.0, n))
            .collect::<Vec<_>>(),
    );
    let mut splits = split::Splits::plan(
        &tess,
        &g,
        &part,
        barriers,
        households,
        &hh_node,
        &rules,
        has_persons,
    );
    let outline = |r: u32, splits: &split::Splits| {
        dissolve::region_geometry(&tess, &part.assignment, r, &pts, splits)
    };
    let mut geoms: Vec<MultiPolygon<f64>> = (0..k)
        .into_par_iter()
        .map(|r| outline(r as u32, &splits))
        .collect();
    // A region that cut cells leave in parts, invalid, or less compact (below
    // `split::KEEP_PP`) gets its cells back whole, and so do the regions that
    // shared those cells.
    let pp = |gm: &MultiPolygon<f64>| {
        let (a, p) = metrics::area_perimeter_m(gm, &frame);
        polsby_popper(a, p)
    };
    let mut check = splits.regions();
    loop {
        let bad: Vec<u32> = check
            .par_iter()
            .copied()
            .filter(|&r| {
                let gm = &geoms[r as usize];
                if gm.0.len() > 1 && !part.has_satellite[r as usize] {
                    return true;
                }
                let now = pp(gm);
                (now < split::KEEP_PP && now < pp(&outline(r, &split::Splits::default())))
                    || !gm.is_valid()
            })
            .collect();
        if bad.is_empty() {
            break;
        }
        let redo = splits.revert(&bad);
        for &r in &redo {
            geoms[r as usize] = outline(r, &splits);
        }
        let touched = splits.regions();
        check = redo
            .into_iter()
            .filter(|r| touched.binary_search(r).is_ok())
            .collect();
    }
    drop(pts);
    lap(5, &mut t);
    // Outlines that went through a polygon clip are snapped by the overlay to
    // its own precision, so a household within a rounding error of a grid edge
    // could fall on the other side of the *output* edge. Re-decide those few
    // (households in nodes on a region boundary) against the output polygons,
    // so a recount by point-in-polygon always agrees.
    let mut part = part;
    let mut hh_region: Vec<u32> = hh_node
        .iter()
        .map(|&(_, n)| part.assignment[n as usize])
        .collect();
    for (j, &(i, n)) in hh_node.iter().enumerate() {
        let r = hh_region[j];
        let border = tess.pieces[n as usize].is_some()
            || g.neighbours(n)
                .iter()
                .any(|&u| part.assignment[u as usize] != r);
        if !border {
            continue;
        }
        let pt = households[i as usize].location.0;
        if geoms[r as usize].intersects(&pt) {
            continue;
        }
        let mut others: Vec<u32> = g
            .neighbours(n)
            .iter()
            .map(|&u| part.assignment[u as usize])
            .filter(|&q| q != r)
            .collect();
        others.sort_unstable();
        others.dedup();
        let found = others
            .iter()
            .copied()
            .find(|&q| geoms[q as usize].intersects(&pt))
            .or_else(|| (0..k as u32).find(|&q| q != r && geoms[q as usize].intersects(&pt)));
        if let Some(q) = found {
            let h = &households[i as usize];
            part.households[r as usize] -= u64::from(h.households);
            part.households[q as usize] += u64::from(h.households);
            part.persons[r as usize] -= u64::from(h.persons.unwrap_or(0));
            part.persons[q as usize] += u64::from(h.persons.unwrap_or(0));
            hh_region[j] = q;
        }
    }
    lap(6, &mut t);
    let barrier_len =
        graph::barrier_length_per_region(&tess, &part.assignment, k, barriers, &splits);
    let mut grids: Vec<Grid> = Vec::with_capacity(k);
    let mut centroids: Vec<Coord<f64>> = Vec::with_capacity(k);
    for (r, geom) in geoms.into_iter().enumerate() {
        let (a_m2, perim) = metrics::area_perimeter_m(&geom, &frame);
        let households = part.households[r];
        let persons = part.persons[r];
        let mut issues = Vec::new();
        metrics::check_rules(
            &rules,
            has_persons,
            households,
            persons,
            a_m2,
            &part,
            r,
            &mut issues,
        );
        if geom.0.len() > 1 {
            issues.push(if part.has_satellite[r] {
                format!(
                    "grid is in {} parts because the area itself is in pieces (detached parts joined to the nearest grid)",
                    geom.0.len()
                )
            } else {
                format!(
                    "grid is in {} parts: the area's boundary pinches it (the parts touch only along a slit or at a point)",
                    geom.0.len()
                )
            });
        }
        centroids.push(metrics::centroid_local(&geom, &frame));
        grids.push(Grid {
            code: String::new(),
            parent_code: area.code.clone(),
            within_rules: issues.is_empty(),
            compactness: polsby_popper(a_m2, perim),
            area_m2: a_m2,
            households,
            persons,
            barrier_length_m: barrier_len[r],
            issues,
            geometry: geom,
        });
    }
    // Detached parts are reported on the grid (above) but a grid made of parts
    // only because the area is in pieces still counts as within the rules.
    for gr in &mut grids {
        gr.within_rules = gr.issues.iter().all(|s| s.starts_with("grid is in"));
    }
    let order = codes::reading_order(&centroids, area_m2 / k.max(1) as f64);
    let width = codes::sequence_width(k);
    let mut rank = vec![0u32; k];
    for (seq, &r) in order.iter().enumerate() {
        rank[r] = seq as u32;
    }
    let mut sorted: Vec<Option<Grid>> = grids.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(k);
    for (seq, &r) in order.iter().enumerate() {
        let mut gr = sorted[r].take().expect("each region once");
        gr.code = codes::grid_code(&area.code, seq + 1, width);
        out.push(gr);
    }
    let assignment = hh_node
        .iter()
        .zip(&hh_region)
        .map(|(&(i, _), &r)| (i, rank[r as usize]))
        .collect();
    lap(7, &mut t);
    let report = AreaReport {
        code: area.code.clone(),
        resolution: u8::from(res),
        nodes: tess.nodes.len(),
        grids: k,
        households: total,
        persons: node_pp.iter().sum(),
        rules,
        feasible: part.feasible,
        notes: part.notes.clone(),
    };
    Ok(AreaResult {
        grids: out,
        assignment,
        report,
    })
}

/// Phase timings summed over areas (nanoseconds), printed to stderr at the end
/// of [`partition`] when `WANGGE_PROFILE` is set. Cheap enough to keep.
pub(crate) static PHASES: [std::sync::atomic::AtomicU64; 13] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 13];
const PHASE_NAMES: [&str; 13] = [
    "resolution",
    "tessellate",
    "locate",
    "graph",
    "regions",
    "dissolve",
    "recheck",
    "barriers+metrics",
    "  tiler",
    "  vertices",
    "  neighbours",
    "  clip",
    "  vertex ids",
];

pub(crate) fn lap(phase: usize, t: &mut std::time::Instant) {
    let now = std::time::Instant::now();
    PHASES[phase].fetch_add(
        (now - *t).as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    *t = now;
}

/// Bounding rectangle helper shared by the submodules.
pub(crate) fn rect_of(mp: &MultiPolygon<f64>) -> Option<Rect<f64>> {
    mp.bounding_rect()
}

/// Checks the inputs every partition or update starts from: rules, resolution,
/// unique and valid areas, households at valid longitudes/latitudes.
pub(crate) fn validate_inputs(
    areas: &[Area],
    households: &[Household],
    options: &PartitionOptions,
) -> Result<(), PartitionError> {
    if let Some(r) = &options.rules {
        r.validate()?;
    }
    if let Some(res) = options.resolution {
        let r = u8::from(res);
        if !(6..=14).contains(&r) {
            return Err(PartitionError::Resolution(r));
        }
    }
    let mut seen = HashMap::new();
    for a in areas {
        if seen.insert(a.code.as_str(), ()).is_some() {
            return Err(PartitionError::DuplicateCode(a.code.clone()));
        }
        validate_area(a)?;
    }
    for (i, h) in households.iter().enumerate() {
        let (x, y) = (h.location.x(), h.location.y());
        if !(x.is_finite()
            && y.is_finite()
            && (-180.0..=180.0).contains(&x)
            && (-90.0..=90.0).contains(&y))
        {
            return Err(PartitionError::InvalidHousehold {
                index: i,
                reason: "coordinates are not a valid longitude/latitude".into(),
            });
        }
    }
    Ok(())
}
