//! Census updates: recompute grids with the fewest moved households and stable
//! codes (the third way the service is used, DOMAIN.md).
//!
//! A county adopts grids, then households move, estates are built and villages
//! merge. Grid workers know their grid and its households, so the update must
//! be the *smallest change that restores the rules*, not a fresh partition
//! (which would move a large share of households between grids for a few
//! percent of change). Per area, in parallel with rayon:
//!
//! 1. **Recount.** Every household is located in the previous grids by
//!    point-in-polygon (the same closed test the engine uses), so every previous
//!    grid gets its new counts.
//! 2. **Does the area still fit its grids?** The previous grids of an area must
//!    still tile it: their areas add up to the area's, they lie inside its
//!    bounding box, and every household of the area lies in one of them. If not
//!    (the boundary changed, villages merged), the area is partitioned on its
//!    own with the normal engine and each new grid takes the code of the old
//!    grid it overlaps most ([`AreaUpdateMode::Repartitioned`]). Areas without
//!    previous grids are partitioned fresh ([`AreaUpdateMode::New`]).
//! 3. **Nothing broken → nothing changes.** Grids that still meet the rules are
//!    copied verbatim (geometry, code and, when the counts did not change, every
//!    property), so an update of unchanged data writes byte-identical grids.
//! 4. **Repair.** Grids that now break a rule (too many or too few households
//!    or persons, too much area) form a repair zone. The zone grows by the
//!    neighbouring grid that helps most until its totals can be divided within
//!    the rules (one neighbour is usually enough: 520 households cannot make
//!    grids of 300–500, 520 + a neighbour's 380 can). The area is tessellated
//!    at the resolution the previous grids were built from (inferred from their
//!    vertices, which are canonical H3 vertices or edge midpoints), so zone
//!    cells are exactly the engine's cells. When the zone can keep its number
//!    of grids, boundary cells move one at a time from the grid breaking the
//!    rules to a neighbouring zone grid (or into a grid below the minimum),
//!    starting from the previous shapes, so only about the excess moves (see
//!    [`repair`]). When that gets stuck, or the zone needs more or fewer
//!    grids, the zone's cells alone are re-partitioned with the engine's
//!    region step. Adjusted grids keep the code of the old grid they overlap
//!    most; extra grids get new sequence numbers above the highest the area
//!    ever had (including [`UpdateOptions::retired_codes`]), so retired codes
//!    are never reused.
//! 5. **Exact tiling.** Adjusted outlines are clipped to the zone (the union of
//!    the old zone grids) and whatever the cell outlines leave of the zone
//!    (corner triangles the engine's smoothing gave to a neighbour) joins the
//!    adjusted grid it shares an edge with; crumbs the clip cut off a grid
//!    rejoin a neighbour, so every grid stays one polygon. All overlays run on the area's precision grid
//!    ([`super::snap`]), so the shared edges with unchanged neighbours stay bit
//!    for bit the edges those neighbours already have.
//! 6. **Accept only improvements.** A repair is kept only when it leaves fewer
//!    grids breaking the rules than before (an area whose total cannot meet the
//!    rules is left alone rather than churned).
//!
//! The change report lists every grid as unchanged / adjusted / new / retired,
//! the households that moved between grids (from → to, counted per location by
//! the previous and the new polygons), and totals.
//!
//! # Modules
//!
//! - [`locate`]: which previous grid holds each household (step 1).
//! - [`area`]: one area's update: the tiling check, recount and keep (steps
//!   2–3), or a fresh partition; [`rules`] words the breaches.
//! - [`repair`]: the repair of an area's broken grids (steps 4–6).
//! - [`codes`]: which code each new grid takes; [`overlay`]: the overlays on
//!   the area's precision grid.
//! - [`report`]: the change report, put together from the areas' changes
//!   and the households' moves.
//! - [`parts`]: the update of some of the areas ([`update_selected`], a
//!   county's shard), with its changes keyed by grid code so that parts
//!   computed apart add up to the whole update ([`change_report`]).

mod area;
mod codes;
mod locate;
mod overlay;
mod parts;
mod repair;
mod report;
mod rules;

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::pip::AreaLocator;
use super::{OutsideReport, Partition, PartitionError, PartitionOptions};
use crate::model::{Area, Barrier, Grid, Household};
use crate::progress::Progress;
use area::{update_area, AreaOutcome, Ctx};
use locate::GridLocator;

pub use parts::{
    update_selected, AreaChanges, AreaPart, GridOutcome, RetiredGrid, UpdatePart, UpdateSelection,
};
pub use report::{
    change_report, AreaChange, ChangeReport, ChangeTotals, GridChangeRecord, HouseholdMove,
    MoveTally,
};

/// What happened to one grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GridChange {
    /// Same code, same polygon (counts may differ).
    Unchanged,
    /// Same code, new polygon.
    Adjusted,
    /// A new code.
    New,
    /// The code is no longer used (and never will be again in its area).
    Retired,
}

/// How an area was updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaUpdateMode {
    /// Every previous grid still meets the rules (or no repair could improve it).
    Unchanged,
    /// Grids breaking a rule and some neighbours were re-balanced.
    Rebalanced,
    /// The previous grids no longer tile the area: partitioned again.
    Repartitioned,
    /// The area had no previous grids.
    New,
    /// Previous grids whose area is not in the input any more: all retired.
    Removed,
}

/// How to update: the partition options (rules, resolution, barrier cost …)
/// plus the codes earlier updates retired.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    pub partition: PartitionOptions,
    /// Codes retired by earlier updates. The previous grids only hold the codes
    /// in use, so without this list a code retired two updates ago whose number
    /// is above every code in use could be handed out again.
    pub retired_codes: Vec<RetiredCode>,
}

impl From<PartitionOptions> for UpdateOptions {
    fn from(partition: PartitionOptions) -> Self {
        UpdateOptions {
            partition,
            retired_codes: Vec::new(),
        }
    }
}

/// A grid code that is no longer used and must never be handed out again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct RetiredCode {
    pub parent_code: String,
    pub code: String,
}

/// The result of [`update`]: the new grids (in the same shape as a fresh
/// [`Partition`], so writers and checks are shared) and the change report.
#[derive(Debug, Clone)]
pub struct Update {
    pub partition: Partition,
    pub changes: ChangeReport,
    /// For every input household (same index), the index in `previous` of the
    /// previous grid whose polygon holds it, or `None`.
    pub household_previous: Vec<Option<u32>>,
}

/// Why an update could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error("previous grid {index} ({code:?}): {reason}")]
    Previous {
        index: usize,
        code: String,
        reason: String,
    },
    /// The parts of an update cut into parts do not fit together.
    #[error("the parts of the update do not fit together: {0}")]
    Parts(String),
}

/// Recomputes grids after a census update with the smallest change that
/// restores the rules (see the module docs).
///
/// `previous` are the adopted grids (e.g. read back with
/// [`crate::layers::previous::read_previous_grids`]); their `parent_code`
/// links them to `areas`. The result does not depend on the number of threads.
pub fn update(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    previous: &[Grid],
    options: &UpdateOptions,
    progress: &dyn Progress,
) -> Result<Update, UpdateError> {
    let part = update_selected(
        areas, households, barriers, previous, options, None, progress,
    )?;
    let mut grids = Vec::new();
    let mut reports = Vec::with_capacity(part.areas.len());
    let mut changes = Vec::with_capacity(part.areas.len());
    for a in part.areas {
        grids.extend(a.grids);
        reports.push(a.report);
        changes.push(a.changes);
    }
    let codes = areas.iter().map(|a| a.code.as_str());
    let changes = change_report(codes, previous, changes, part.tally)?;
    progress.report("done", 1.0);
    Ok(Update {
        partition: Partition {
            grids,
            household_grid: part.household_grid,
            areas: reports,
            outside: part.outside,
        },
        changes,
        household_previous: part.household_previous,
    })
}

/// Previous grids must have unique codes that begin with their area's code and
/// a non-empty polygon: anything else means the file is not a grid layer and an
/// update from it would silently be wrong.
fn validate_previous(previous: &[Grid]) -> Result<(), UpdateError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, g) in previous.iter().enumerate() {
        let bad = |reason: String| UpdateError::Previous {
            index: i,
            code: g.code.clone(),
            reason,
        };
        if g.code.is_empty() {
            return Err(bad("empty code".into()));
        }
        if let Some(first) = seen.insert(g.code.as_str(), i) {
            return Err(bad(format!("code already used by previous grid {first}")));
        }
        if g.parent_code.is_empty() || !g.code.starts_with(&g.parent_code) {
            return Err(bad(format!(
                "code does not begin with its parent_code {:?}",
                g.parent_code
            )));
        }
        if g.geometry.0.is_empty() || geo::Area::unsigned_area(&g.geometry) <= 0.0 {
            return Err(bad("empty polygon".into()));
        }
    }
    Ok(())
}

/// The previous grids of each area (in input order), and the *orphans*: grids
/// whose area is not in the input any more.
fn previous_by_area(areas: &[Area], previous: &[Grid]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let area_index: HashMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.code.as_str(), i))
        .collect();
    let mut prev_of_area: Vec<Vec<usize>> = vec![Vec::new(); areas.len()];
    let mut orphans: Vec<usize> = Vec::new();
    for (i, g) in previous.iter().enumerate() {
        match area_index.get(g.parent_code.as_str()) {
            Some(&a) => prev_of_area[a].push(i),
            None => orphans.push(i),
        }
    }
    (prev_of_area, orphans)
}

/// Where every household is: its area, and the previous grid whose polygon
/// holds it.
struct Located {
    /// Index in `previous` of the grid holding each household.
    household_previous: Vec<Option<u32>>,
    /// Households of each area.
    per_area: Vec<Vec<u32>>,
    /// Households outside every area.
    outside: OutsideReport,
}

impl Located {
    fn new(areas: &[Area], households: &[Household], previous: &[Grid]) -> Self {
        let old = GridLocator::new(previous);
        let locator = AreaLocator::new(areas);
        let located: Vec<(Option<u32>, Option<u32>)> = households
            .par_iter()
            .map(|h| (locator.locate(h.location.0), old.locate(h.location.0)))
            .collect();
        let household_previous: Vec<Option<u32>> = located.iter().map(|l| l.1).collect();
        let mut per_area: Vec<Vec<u32>> = vec![Vec::new(); areas.len()];
        let mut outside = OutsideReport::default();
        for (i, (a, _)) in located.iter().enumerate() {
            match a {
                Some(a) => per_area[*a as usize].push(i as u32),
                None => {
                    outside.households += u64::from(households[i].households);
                    outside.locations.push(i);
                }
            }
        }
        Located {
            household_previous,
            per_area,
            outside,
        }
    }
}

/// Updates the `chosen` areas in parallel, the busiest first, reporting
/// progress by households; the outcomes come back in the order of `chosen`.
fn update_areas(
    ctx: &Ctx<'_>,
    areas: &[Area],
    per_area: &[Vec<u32>],
    prev_of_area: &[Vec<usize>],
    chosen: &[usize],
) -> Result<Vec<AreaOutcome>, UpdateError> {
    let progress = ctx.progress;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total_work: usize = chosen
        .iter()
        .map(|&i| per_area[i].len() + 64)
        .sum::<usize>()
        .max(1);
    let mut order: Vec<usize> = chosen.to_vec();
    order.sort_by_key(|&i| std::cmp::Reverse(per_area[i].len()));
    let mut results: Vec<(usize, Result<AreaOutcome, UpdateError>)> = order
        .par_iter()
        .map(|&i| {
            if progress.cancelled() {
                return (i, Err(PartitionError::Cancelled.into()));
            }
            let r = update_area(ctx, &areas[i], &per_area[i], &prev_of_area[i]);
            let d = done.fetch_add(per_area[i].len() + 64, std::sync::atomic::Ordering::Relaxed)
                + per_area[i].len()
                + 64;
            progress.report("update areas", d as f64 / total_work as f64);
            (i, r)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
