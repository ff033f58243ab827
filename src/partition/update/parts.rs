//! An update cut into parts: the update of some of the areas (a county's,
//! [`crate::partition::counties`]) with what the change report needs of them,
//! keyed by grid code so that parts computed apart fit together.
//!
//! A part reads every area (households are placed in areas exactly as the
//! whole update places them, first area in input order winning) but only
//! the previous grids near its areas: those whose box meets the households
//! it reads and those of its own areas, in the order of the whole previous
//! layer. That is enough, since the previous grid holding a household is
//! one whose box holds it, and an area's update reads its own previous grids
//! alone. Its areas then come out as the whole update draws them.
//!
//! Each household is counted by one part: a household in an area by the
//! part that updates the area, one outside every area by the part the
//! [`UpdateSelection`] gives it to. [`change_report`](super::change_report)
//! puts the parts back together into the whole update's report.

use serde::{Deserialize, Serialize};

use super::area::{AreaOutcome, Ctx};
use super::locate::GridLocator;
use super::report::MoveTally;
use super::{
    previous_by_area, update_areas, validate_previous, AreaChange, GridChange, Located,
    UpdateError, UpdateOptions,
};
use crate::model::{Area, Barrier, Grid, Household};
use crate::partition::graph::BarrierIndex;
use crate::partition::{validate_inputs, AreaReport, OutsideReport, PartitionError};
use crate::progress::Progress;

/// What one part of an update computes.
#[derive(Debug, Clone, Copy)]
pub struct UpdateSelection<'a> {
    /// The areas to update (one flag per area).
    pub areas: &'a [bool],
    /// The households outside every area this part counts (one flag per
    /// household): each must be counted by one part only.
    pub outside: &'a [bool],
}

/// One new grid, as the change report sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridOutcome {
    pub code: String,
    pub parent_code: String,
    pub households: u64,
    pub change: GridChange,
    /// The code of the previous grid it continues; `None` for new grids.
    pub previous: Option<String>,
    /// Households now in this grid that the previous grids placed in another.
    pub moved_in: u64,
    pub reason: String,
}

/// A previous grid an area retired, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredGrid {
    pub code: String,
    pub reason: String,
}

/// What one area's update changed: its line of the change report and its
/// grids' records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AreaChanges {
    /// The area's index in the input areas.
    pub index: usize,
    /// Its new grids, sorted by code.
    pub grids: Vec<GridOutcome>,
    pub retired: Vec<RetiredGrid>,
    pub change: AreaChange,
}

/// One updated area.
#[derive(Debug, Clone)]
pub struct AreaPart {
    /// Its new grids, sorted by code (as [`AreaChanges::grids`]).
    pub grids: Vec<Grid>,
    pub report: AreaReport,
    pub changes: AreaChanges,
}

/// The result of [`update_selected`].
#[derive(Debug, Clone)]
pub struct UpdatePart {
    /// The selected areas, in input order.
    pub areas: Vec<AreaPart>,
    /// The moves of the households this part counts.
    pub tally: MoveTally,
    /// The households outside every area that this part counts.
    pub outside: OutsideReport,
    /// For every input household, the index of the grid holding it among
    /// this part's grids (in area order), or `None`.
    pub household_grid: Vec<Option<u32>>,
    /// For every input household, the index in `previous` of the previous
    /// grid whose polygon holds it, or `None`.
    pub household_previous: Vec<Option<u32>>,
}

/// [`update`](super::update) of the areas `selection` marks (all when
/// `None`). `previous` may be only the previous grids near the selected
/// areas (see the module docs), in the order of the whole layer; orphans
/// (grids of areas no longer in the input) are left to the assembly.
pub fn update_selected(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    previous: &[Grid],
    options: &UpdateOptions,
    selection: Option<UpdateSelection<'_>>,
    progress: &dyn Progress,
) -> Result<UpdatePart, UpdateError> {
    validate_inputs(areas, households, &options.partition)?;
    validate_previous(previous)?;
    if let Some(s) = selection {
        if s.areas.len() != areas.len() || s.outside.len() != households.len() {
            return Err(UpdateError::Parts(format!(
                "the selection flags {} areas and {} households, the input has {} and {}",
                s.areas.len(),
                s.outside.len(),
                areas.len(),
                households.len()
            )));
        }
    }
    progress.report("locate households in the previous grids", 0.0);
    let (prev_of_area, _orphans) = previous_by_area(areas, previous);
    let located = Located::new(areas, households, previous);
    if progress.cancelled() {
        return Err(PartitionError::Cancelled.into());
    }
    let barrier_index = BarrierIndex::new(barriers);
    let ctx = Ctx {
        households,
        previous,
        household_previous: &located.household_previous,
        barriers: &barrier_index,
        options: &options.partition,
        retired_codes: &options.retired_codes,
        progress,
    };
    let chosen: Vec<usize> = (0..areas.len())
        .filter(|&i| selection.map_or(true, |s| s.areas[i]))
        .collect();
    let outcomes = update_areas(&ctx, areas, &located.per_area, &prev_of_area, &chosen)?;

    let counts_outside = |i: usize| selection.map_or(true, |s| s.outside[i]);
    let mut counted = vec![false; households.len()];
    for &a in &chosen {
        for &h in &located.per_area[a] {
            counted[h as usize] = true;
        }
    }
    let mut outside = OutsideReport::default();
    for &i in &located.outside.locations {
        if counts_outside(i) {
            counted[i] = true;
            outside.households += u64::from(households[i].households);
            outside.locations.push(i);
        }
    }
    let (mut parts, household_grid) = area_parts(&chosen, outcomes, previous, households.len());
    let codes: Vec<&str> = parts
        .iter()
        .flat_map(|a| a.grids.iter().map(|g| g.code.as_str()))
        .collect();
    let (tally, moved_in) = MoveTally::count(
        households,
        previous,
        &codes,
        &located.household_previous,
        &household_grid,
        |i| counted[i],
    );
    let mut moved_in = moved_in.into_iter();
    for g in parts.iter_mut().flat_map(|a| a.changes.grids.iter_mut()) {
        g.moved_in = moved_in.next().unwrap_or(0);
    }
    Ok(UpdatePart {
        areas: parts,
        tally,
        outside,
        household_grid,
        household_previous: located.household_previous,
    })
}

/// The areas' outcomes as parts, with previous grids named by code, and
/// where each household is now among the parts' grids.
fn area_parts(
    chosen: &[usize],
    outcomes: Vec<AreaOutcome>,
    previous: &[Grid],
    households: usize,
) -> (Vec<AreaPart>, Vec<Option<u32>>) {
    let mut household_grid = vec![None; households];
    let mut base = 0u32;
    let mut parts = Vec::with_capacity(outcomes.len());
    for (&index, o) in chosen.iter().zip(outcomes) {
        for (h, g) in o.assignment {
            household_grid[h as usize] = Some(base + g);
        }
        base += o.grids.len() as u32;
        let mut grids = Vec::with_capacity(o.grids.len());
        let mut records = Vec::with_capacity(o.grids.len());
        for (grid, change, prev, reason) in o.grids {
            records.push(GridOutcome {
                code: grid.code.clone(),
                parent_code: grid.parent_code.clone(),
                households: grid.households,
                change,
                previous: prev.map(|p| previous[p].code.clone()),
                moved_in: 0,
                reason,
            });
            grids.push(grid);
        }
        let retired = o
            .retired
            .into_iter()
            .map(|(p, reason)| RetiredGrid {
                code: previous[p].code.clone(),
                reason,
            })
            .collect();
        parts.push(AreaPart {
            grids,
            report: o.report,
            changes: AreaChanges {
                index,
                grids: records,
                retired,
                change: o.change,
            },
        });
    }
    (parts, household_grid)
}

impl MoveTally {
    /// The tally of `households` known to lie outside every area (no part
    /// reads them: they are beyond every selection's surroundings): those a
    /// previous grid held have left it.
    pub fn of_outside(households: &[Household], previous: &[Grid]) -> MoveTally {
        let locator = GridLocator::new(previous);
        let household_previous: Vec<Option<u32>> = households
            .iter()
            .map(|h| locator.locate(h.location.0))
            .collect();
        let none = vec![None; households.len()];
        let (tally, _) = MoveTally::count(
            households,
            previous,
            &[],
            &household_previous,
            &none,
            |_| true,
        );
        tally
    }
}
