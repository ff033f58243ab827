//! The change report: every grid as unchanged / adjusted / new / retired, the
//! households that moved between grids (counted per location, from the
//! previous polygon that held it to the grid that holds it now), and totals.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::parts::AreaChanges;
use super::{validate_previous, AreaUpdateMode, GridChange, RetiredCode, UpdateError};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdMove {
    pub from: String,
    pub to: String,
    /// Sum of the `households` counts of the moved locations.
    pub households: u64,
    /// Number of household locations (input points) moved.
    pub locations: u64,
}

/// Per-area line of the change report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AreaChange {
    pub code: String,
    pub mode: AreaUpdateMode,
    pub grids_before: usize,
    pub grids_after: usize,
    pub notes: Vec<String>,
}

/// Totals of the change report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Households that moved between grids, counted over some of an update's
/// households and keyed by grid code, so that the tallies of an update cut
/// into parts (each household counted by one part) add up to the whole's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTally {
    /// Moves by (from, to) code, sorted by code.
    pub moves: Vec<HouseholdMove>,
    /// Households moved out of each previous grid (into another grid, or
    /// out of every area), by the previous grid's code.
    pub moved_out: BTreeMap<String, u64>,
    /// The move counts: `households_moved`, `locations_moved`,
    /// `households_entered` and `households_left`; the rest stay zero.
    pub totals: ChangeTotals,
}

impl MoveTally {
    /// Counts the households `counted` keeps, per location: from the previous
    /// grid holding it (`household_previous`, an index in `previous`) to the
    /// grid holding it now (`household_grid`, an index in `grid_codes`).
    /// Also returns the households moved into each grid.
    pub(super) fn count(
        households: &[Household],
        previous: &[Grid],
        grid_codes: &[&str],
        household_previous: &[Option<u32>],
        household_grid: &[Option<u32>],
        counted: impl Fn(usize) -> bool,
    ) -> (MoveTally, Vec<u64>) {
        let mut moves: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
        let mut moved_in = vec![0u64; grid_codes.len()];
        let mut moved_out: BTreeMap<String, u64> = BTreeMap::new();
        let mut t = ChangeTotals::default();
        for (i, h) in households.iter().enumerate() {
            if !counted(i) {
                continue;
            }
            let n = u64::from(h.households);
            match (household_previous[i], household_grid[i]) {
                (Some(o), Some(g)) => {
                    let (from, to) = (previous[o as usize].code.as_str(), grid_codes[g as usize]);
                    if from != to {
                        let e = moves.entry((from, to)).or_default();
                        e.0 += n;
                        e.1 += 1;
                        moved_in[g as usize] += n;
                        *moved_out.entry(from.to_string()).or_default() += n;
                        t.households_moved += n;
                        t.locations_moved += 1;
                    }
                }
                (None, Some(_)) => t.households_entered += n,
                (Some(o), None) => {
                    t.households_left += n;
                    *moved_out
                        .entry(previous[o as usize].code.clone())
                        .or_default() += n;
                }
                (None, None) => {}
            }
        }
        let tally = MoveTally {
            moves: move_list(moves),
            moved_out,
            totals: t,
        };
        (tally, moved_in)
    }

    /// The tallies of the parts of one update added up.
    pub fn sum(parts: impl IntoIterator<Item = MoveTally>) -> MoveTally {
        let mut moves: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        let mut out = MoveTally::default();
        for part in parts {
            for m in part.moves {
                let e = moves.entry((m.from, m.to)).or_default();
                e.0 += m.households;
                e.1 += m.locations;
            }
            for (code, n) in part.moved_out {
                *out.moved_out.entry(code).or_default() += n;
            }
            let (t, p) = (&mut out.totals, &part.totals);
            t.households_moved += p.households_moved;
            t.locations_moved += p.locations_moved;
            t.households_entered += p.households_entered;
            t.households_left += p.households_left;
        }
        out.moves = move_list(moves);
        out
    }
}

/// Moves aggregated by (from, to) code as the report lists them.
fn move_list<S: Into<String>>(moves: BTreeMap<(S, S), (u64, u64)>) -> Vec<HouseholdMove> {
    moves
        .into_iter()
        .map(|((from, to), (households, locations))| HouseholdMove {
            from: from.into(),
            to: to.into(),
            households,
            locations,
        })
        .collect()
}

/// The change report of an update from its areas' changes (any order: they
/// are put in area order) and its households' moves. `area_codes` are the
/// codes of every area of the update: a previous grid whose area is not
/// among them is retired with its area.
pub fn change_report<'a>(
    area_codes: impl IntoIterator<Item = &'a str>,
    previous: &[Grid],
    mut areas: Vec<AreaChanges>,
    tally: MoveTally,
) -> Result<ChangeReport, UpdateError> {
    validate_previous(previous)?;
    areas.sort_by_key(|a| a.index);
    let index_of: HashMap<&str, usize> = previous
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect();
    let find = |code: &str| {
        index_of.get(code).copied().ok_or_else(|| {
            UpdateError::Parts(format!(
                "previous grid {code:?} is not among the previous grids"
            ))
        })
    };
    let moved_out = |code: &str| tally.moved_out.get(code).copied().unwrap_or(0);
    let mut t = tally.totals.clone();
    let mut grids = Vec::new();
    let mut retired: Vec<(usize, String)> = Vec::new();
    for a in &areas {
        for g in &a.grids {
            let prev = g.previous.as_deref().map(&find).transpose()?;
            grids.push(GridChangeRecord {
                code: g.code.clone(),
                parent_code: g.parent_code.clone(),
                change: g.change,
                grid: Some(grids.len()),
                previous: prev,
                households_previous: prev.map(|p| previous[p].households),
                households: Some(g.households),
                moved_in: g.moved_in,
                moved_out: g.previous.as_deref().map_or(0, moved_out),
                reason: g.reason.clone(),
            });
            match g.change {
                GridChange::Unchanged => t.unchanged += 1,
                GridChange::Adjusted => t.adjusted += 1,
                GridChange::New => t.new += 1,
                GridChange::Retired => t.retired += 1,
            }
            t.households += g.households;
        }
        for r in &a.retired {
            retired.push((find(&r.code)?, r.reason.clone()));
        }
    }
    t.grids_before = previous.len();
    t.grids_after = grids.len();
    let mut area_lines: Vec<AreaChange> = areas.into_iter().map(|a| a.change).collect();
    let known: HashSet<&str> = area_codes.into_iter().collect();
    let orphans: Vec<usize> = (0..previous.len())
        .filter(|&i| !known.contains(previous[i].parent_code.as_str()))
        .collect();
    retired.extend(
        orphans
            .iter()
            .map(|&i| (i, "its area is not in the input any more".to_string())),
    );
    area_lines.extend(removed_areas(previous, &orphans));
    retired.sort_by_key(|r| r.0);
    for (p, why) in retired {
        let g = &previous[p];
        t.retired += 1;
        grids.push(GridChangeRecord {
            code: g.code.clone(),
            parent_code: g.parent_code.clone(),
            change: GridChange::Retired,
            grid: None,
            previous: Some(p),
            households_previous: Some(g.households),
            households: None,
            moved_in: 0,
            moved_out: moved_out(&g.code),
            reason: why,
        });
    }
    Ok(ChangeReport {
        grids,
        moves: tally.moves,
        areas: area_lines,
        totals: t,
    })
}

/// One removed-area line per area the orphans (previous grids whose area
/// is gone) belonged to, by code.
fn removed_areas(previous: &[Grid], orphans: &[usize]) -> Vec<AreaChange> {
    let mut per_area: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in orphans {
        *per_area
            .entry(previous[i].parent_code.as_str())
            .or_default() += 1;
    }
    per_area
        .into_iter()
        .map(|(code, n)| AreaChange {
            code: code.to_string(),
            mode: AreaUpdateMode::Removed,
            grids_before: n,
            grids_after: 0,
            notes: vec!["the area is not in the input any more; its grids are retired".into()],
        })
        .collect()
}
