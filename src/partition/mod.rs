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

mod adjust;
mod area;
mod codes;
mod compact;
pub mod counties;
mod dissolve;
mod graph;
mod locked;
mod metrics;
mod outline;
mod pip;
mod refine;
mod regions;
mod rule_repair;
mod snap;
mod split;
mod tessellate;
mod update;

use std::collections::HashMap;

use geo::BoundingRect;
use geo_types::{MultiPolygon, Rect};
use h3o::Resolution;
use rayon::prelude::*;

use crate::model::{list_codes, Area, AreaRules, Barrier, Grid, Household, Rules, RulesError};
use crate::progress::Progress;

pub use adjust::{move_cell, CellMove, MoveError};
pub(crate) use area::{partition_area, AreaResult};
pub use locked::{
    partition_around, partition_around_selected, select_locked, LockError, LockedPartition,
};
pub use metrics::polsby_popper;
pub use update::{
    change_report, update, update_selected, AreaChange, AreaChanges, AreaPart, AreaUpdateMode,
    ChangeReport, ChangeTotals, GridChange, GridChangeRecord, GridOutcome, HouseholdMove,
    MoveTally, RetiredCode, RetiredGrid, Update, UpdateError, UpdateOptions, UpdatePart,
    UpdateSelection,
};

/// How to partition. `Default` uses the per-kind presets and automatic resolution.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Rules for every area, overriding the per-kind presets ([`Rules::preset`]).
    pub rules: Option<Rules>,
    /// Rules of their own for some areas, by code, over `rules` and the
    /// presets ([`PartitionOptions::rules_for`]). A code that is not among
    /// the areas is an error ([`PartitionError::UnknownAreaRules`]).
    pub area_rules: AreaRules,
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
            area_rules: AreaRules::default(),
            resolution: None,
            grid_counts: HashMap::new(),
            barrier_cut_cost: 0.15,
            balance_tolerance: 0.08,
        }
    }
}

impl PartitionOptions {
    /// The rules area `area`'s grids are held to: its override, else
    /// `rules`, else its kind's preset.
    pub fn rules_for(&self, area: &Area) -> Rules {
        self.area_rules.resolve(&area.code, area.kind, self.rules)
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
    /// One report per input area, in input order ([`partition_selected`]:
    /// per selected area).
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
    #[error("rules are given for areas that are not among the areas: {}", list_codes(.0, 20))]
    UnknownAreaRules(Vec<String>),
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
    partition_selected(areas, households, barriers, options, None, progress)
}

/// [`partition`] of the areas `selected` marks (all when `None`), the unit
/// of a county shard ([`counties`]). Households are still assigned against
/// every area, first in input order winning, so an area's grids are those
/// the whole partition draws for it; `Partition::areas` then holds the
/// reports of the selected areas only, in input order, and `outside` the
/// households in no area at all. A household slice cut to the selected areas'
/// surroundings (keeping input order) gives the same grids, since each
/// area's grids depend only on the households inside it, in their order.
pub fn partition_selected(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    options: &PartitionOptions,
    selected: Option<&[bool]>,
    progress: &dyn Progress,
) -> Result<Partition, PartitionError> {
    validate_inputs(areas, households, options)?;
    let chosen = |i: usize| selected.map_or(true, |s| s.get(i).copied().unwrap_or(false));
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
    let total_hh: usize = (0..areas.len())
        .filter(|&i| chosen(i))
        .map(|i| per_area[i].len() + 64)
        .sum::<usize>()
        .max(1);

    // Largest areas first so the parallel tail is short; results are put back in
    // input order, so this does not affect the output.
    let mut order: Vec<usize> = (0..areas.len()).filter(|&i| chosen(i)).collect();
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
    let mut reports = Vec::with_capacity(results.len());
    for (_, r) in results {
        let r = r?;
        let base = grids.len() as u32;
        for (h, g) in r.assignment {
            household_grid[h as usize] = Some(base + g);
        }
        grids.extend(r.grids);
        reports.push(r.report);
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

/// Refuses overrides for codes that are not among `areas`.
pub(crate) fn check_area_rules(
    areas: &[Area],
    options: &PartitionOptions,
) -> Result<(), PartitionError> {
    let unknown = options
        .area_rules
        .unknown_codes(areas.iter().map(|a| a.code.as_str()));
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(PartitionError::UnknownAreaRules(unknown))
    }
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
    options.area_rules.validate()?;
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
    check_area_rules(areas, options)?;
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
