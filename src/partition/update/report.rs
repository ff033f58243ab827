//! The change report: every grid as unchanged / adjusted / new / retired, the
//! households that moved between grids (counted per location, from the
//! previous polygon that held it to the grid that holds it now), and totals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AreaUpdateMode, Assembled, GridChange, RetiredCode};
use crate::model::{Grid, Household};

/// One line of the change report per grid (new and previous).
#[derive(Debug, Clone, Serialize)]
pub struct GridChangeRecord {
    pub code: String,
    pub parent_code: String,
    pub change: GridChange,
    /// Index in [`Update::partition`](super::Update::partition)`.grids`; `None` for retired grids.
    pub grid: Option<usize>,
    /// Index in the `previous` slice; `None` for new grids.
    pub previous: Option<usize>,
    /// `households` the previous grid was adopted with; `None` for new grids.
    pub households_previous: Option<u64>,
    /// Households in the grid now; `None` for retired grids.
    pub households: Option<u64>,
    /// Households now in this grid that the previous grids placed in another grid.
    pub moved_in: u64,
    /// Households in this (previous) grid's polygon that are now in another grid.
    pub moved_out: u64,
    /// Why the grid changed (empty for unchanged grids).
    pub reason: String,
}

/// Households that were in one grid's polygon and are now in another grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdMove {
    pub from: String,
    pub to: String,
    /// Sum of the `households` counts of the moved locations.
    pub households: u64,
    /// Number of household locations (input points) moved.
    pub locations: u64,
}

/// Per-area line of the change report.
#[derive(Debug, Clone, Serialize)]
pub struct AreaChange {
    pub code: String,
    pub mode: AreaUpdateMode,
    pub grids_before: usize,
    pub grids_after: usize,
    pub notes: Vec<String>,
}

/// Totals of the change report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeTotals {
    pub grids_before: usize,
    pub grids_after: usize,
    pub unchanged: usize,
    pub adjusted: usize,
    pub new: usize,
    pub retired: usize,
    /// Households in some grid now.
    pub households: u64,
    /// Households whose location was in one previous grid and is in a grid
    /// with another code now.
    pub households_moved: u64,
    pub locations_moved: u64,
    /// Households in a grid now whose location no previous grid held (new
    /// estates beyond the previous coverage, new areas).
    pub households_entered: u64,
    /// Households in a previous grid's polygon that are outside every area now.
    pub households_left: u64,
}

/// What changed, for a planner to review before adopting the update.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeReport {
    /// New grids in output order, then retired grids in `previous` order.
    pub grids: Vec<GridChangeRecord>,
    /// Moves aggregated by (from, to) code, sorted by code.
    pub moves: Vec<HouseholdMove>,
    /// One line per input area, in input order, then removed areas.
    pub areas: Vec<AreaChange>,
    pub totals: ChangeTotals,
}

impl ChangeReport {
    /// The codes this update retired, added to `earlier` (deduplicated, sorted):
    /// what to keep for [`UpdateOptions::retired_codes`](super::UpdateOptions::retired_codes) next time.
    pub fn retired_codes(&self, earlier: &[RetiredCode]) -> Vec<RetiredCode> {
        let mut v: Vec<RetiredCode> = earlier.to_vec();
        v.extend(
            self.grids
                .iter()
                .filter(|r| r.change == GridChange::Retired)
                .map(|r| RetiredCode {
                    parent_code: r.parent_code.clone(),
                    code: r.code.clone(),
                }),
        );
        v.sort_by(|a, b| a.parent_code.cmp(&b.parent_code).then(a.code.cmp(&b.code)));
        v.dedup();
        v
    }
}

/// The change report of an update whose areas' outcomes are `out`.
pub(super) fn build(
    households: &[Household],
    previous: &[Grid],
    household_previous: &[Option<u32>],
    out: &Assembled,
) -> ChangeReport {
    let moves = Moves::count(
        households,
        previous,
        &out.grids,
        household_previous,
        &out.household_grid,
    );
    let mut totals = moves.totals.clone();
    let mut grids = new_grid_records(previous, out, &moves, &mut totals);
    grids.extend(retired_grid_records(
        previous,
        &out.retired,
        &moves,
        &mut totals,
    ));
    totals.grids_before = previous.len();
    totals.grids_after = out.grids.len();
    ChangeReport {
        grids,
        moves: moves.list,
        areas: out.areas.clone(),
        totals,
    }
}

/// Households moved between grids, per location: previous polygon → new grid.
struct Moves {
    /// Aggregated by (from, to) code, sorted by code.
    list: Vec<HouseholdMove>,
    /// Households moved into each new grid.
    moved_in: Vec<u64>,
    /// Households moved out of each previous grid (or out of every area).
    moved_out: Vec<u64>,
    /// The move counts of the totals.
    totals: ChangeTotals,
}

impl Moves {
    fn count(
        households: &[Household],
        previous: &[Grid],
        grids: &[Grid],
        household_previous: &[Option<u32>],
        household_grid: &[Option<u32>],
    ) -> Self {
        let mut moves: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
        let mut moved_in = vec![0u64; grids.len()];
        let mut moved_out = vec![0u64; previous.len()];
        let mut t = ChangeTotals::default();
        for (i, h) in households.iter().enumerate() {
            let n = u64::from(h.households);
            match (household_previous[i], household_grid[i]) {
                (Some(o), Some(g)) => {
                    let (from, to) = (
                        previous[o as usize].code.as_str(),
                        grids[g as usize].code.as_str(),
                    );
                    if from != to {
                        let e = moves.entry((from, to)).or_default();
                        e.0 += n;
                        e.1 += 1;
                        moved_in[g as usize] += n;
                        moved_out[o as usize] += n;
                        t.households_moved += n;
                        t.locations_moved += 1;
                    }
                }
                (None, Some(_)) => t.households_entered += n,
                (Some(o), None) => {
                    t.households_left += n;
                    moved_out[o as usize] += n;
                }
                (None, None) => {}
            }
        }
        let list = moves
            .into_iter()
            .map(|((from, to), (households, locations))| HouseholdMove {
                from: from.to_string(),
                to: to.to_string(),
                households,
                locations,
            })
            .collect();
        Moves {
            list,
            moved_in,
            moved_out,
            totals: t,
        }
    }
}

/// One record per output grid, in output order; counts them by change.
fn new_grid_records(
    previous: &[Grid],
    out: &Assembled,
    moves: &Moves,
    t: &mut ChangeTotals,
) -> Vec<GridChangeRecord> {
    let mut records = Vec::with_capacity(out.grids.len());
    for (gi, (g, (kind, prev, why))) in out.grids.iter().zip(&out.kinds).enumerate() {
        records.push(GridChangeRecord {
            code: g.code.clone(),
            parent_code: g.parent_code.clone(),
            change: *kind,
            grid: Some(gi),
            previous: *prev,
            households_previous: prev.map(|p| previous[p].households),
            households: Some(g.households),
            moved_in: moves.moved_in[gi],
            moved_out: prev.map_or(0, |p| moves.moved_out[p]),
            reason: why.clone(),
        });
        match kind {
            GridChange::Unchanged => t.unchanged += 1,
            GridChange::Adjusted => t.adjusted += 1,
            GridChange::New => t.new += 1,
            GridChange::Retired => t.retired += 1,
        }
        t.households += g.households;
    }
    records
}

/// One record per retired previous grid, in `previous` order.
fn retired_grid_records(
    previous: &[Grid],
    retired: &[(usize, String)],
    moves: &Moves,
    t: &mut ChangeTotals,
) -> Vec<GridChangeRecord> {
    let mut retired = retired.to_vec();
    retired.sort_by_key(|r| r.0);
    retired
        .into_iter()
        .map(|(p, why)| {
            let g = &previous[p];
            t.retired += 1;
            GridChangeRecord {
                code: g.code.clone(),
                parent_code: g.parent_code.clone(),
                change: GridChange::Retired,
                grid: None,
                previous: Some(p),
                households_previous: Some(g.households),
                households: None,
                moved_in: 0,
                moved_out: moves.moved_out[p],
                reason: why,
            }
        })
        .collect()
}
