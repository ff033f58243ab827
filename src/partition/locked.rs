//! Partitioning around locked grids: grids a planner has settled are kept
//! exactly as they are (geometry, code, households), and the rest of their
//! areas is partitioned around them.
//!
//! Each area loses the union of its locked grids (a polygon difference), the
//! households inside a locked grid (point-in-polygon) stay with it, and
//! [`super::partition`] runs on what is left, so the new grids tile the rest
//! of the area exactly as they would tile an area of that shape. A new grid
//! whose code a locked grid holds is numbered after the area's highest code,
//! so codes stay unique. An area wholly covered by locked grids is not
//! partitioned at all.

use std::collections::{HashMap, HashSet};

use geo::{Area as _, BooleanOps, BoundingRect, Intersects};
use geo_types::MultiPolygon;

use super::{partition_selected, AreaReport, Partition, PartitionError, PartitionOptions};
use crate::model::{Area, Barrier, Grid, Household};
use crate::progress::Progress;

/// Why locked grids cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("locked grid {code}: its area {parent} is not among the areas")]
    UnknownArea { code: String, parent: String },
    #[error("no grid {0:?} to lock")]
    UnknownCode(String),
    #[error("grid {0} is locked twice")]
    Duplicate(String),
    #[error("locked grids {0} and {1} overlap")]
    Overlap(String, String),
    #[error(transparent)]
    Partition(#[from] PartitionError),
}

/// A partition around locked grids.
#[derive(Debug, Clone)]
pub struct LockedPartition {
    /// The grids (locked ones included, first in each area), with
    /// `household_grid`, `areas` and `outside` as [`super::partition`] gives them.
    pub partition: Partition,
    /// For every grid (same index), whether it is one of the locked grids.
    pub locked: Vec<bool>,
}

/// Relative area under which what remains of an area is taken for nothing
/// (rounding of the polygon difference along the locked grids' edges).
const EMPTY_REST: f64 = 1e-9;

/// Partitions `areas` keeping `locked` exactly; see the module docs.
pub fn partition_around(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    locked: &[Grid],
    options: &PartitionOptions,
    progress: &dyn Progress,
) -> Result<LockedPartition, LockError> {
    partition_around_selected(areas, households, barriers, locked, options, None, progress)
}

/// [`partition_around`] of the areas `selected` marks (all when `None`),
/// the unit of a county shard, as [`super::partition_selected`] is of a
/// fresh partition: every locked grid still holds the households inside it,
/// and every other household is located against the rest of every area, so
/// a selected area gets the grids the whole run gives it. The result holds
/// the selected areas' grids and reports only, and `household_grid` is
/// `None` for households in grids of areas not selected.
pub fn partition_around_selected(
    areas: &[Area],
    households: &[Household],
    barriers: &[Barrier],
    locked: &[Grid],
    options: &PartitionOptions,
    selected: Option<&[bool]>,
    progress: &dyn Progress,
) -> Result<LockedPartition, LockError> {
    let chosen = |a: usize| selected.map_or(true, |s| s.get(a).copied().unwrap_or(false));
    options
        .area_rules
        .validate()
        .map_err(PartitionError::from)?;
    super::check_area_rules(areas, options)?;
    let mut by_area: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut seen = HashSet::new();
    for (i, g) in locked.iter().enumerate() {
        if !seen.insert(g.code.as_str()) {
            return Err(LockError::Duplicate(g.code.clone()));
        }
        if !areas.iter().any(|a| a.code == g.parent_code) {
            return Err(LockError::UnknownArea {
                code: g.code.clone(),
                parent: g.parent_code.clone(),
            });
        }
        by_area.entry(g.parent_code.as_str()).or_default().push(i);
    }
    // Locked grids of one area must not overlap (two of them from different
    // proposals could).
    for members in by_area.values() {
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                let shared = locked[i]
                    .geometry
                    .intersection(&locked[j].geometry)
                    .unsigned_area();
                let least = locked[i]
                    .geometry
                    .unsigned_area()
                    .min(locked[j].geometry.unsigned_area());
                if shared > least * 1e-6 {
                    return Err(LockError::Overlap(
                        locked[i].code.clone(),
                        locked[j].code.clone(),
                    ));
                }
            }
        }
    }

    // The rest of every area.
    let mut rest_areas = Vec::with_capacity(areas.len());
    let mut rest_of = vec![None; areas.len()];
    for (a, area) in areas.iter().enumerate() {
        let rest = match by_area.get(area.code.as_str()) {
            None => area.geometry.clone(),
            Some(members) => {
                let taken = members.iter().fold(MultiPolygon::new(vec![]), |u, &i| {
                    u.union(&locked[i].geometry)
                });
                area.geometry.difference(&taken)
            }
        };
        if rest.unsigned_area() > area.geometry.unsigned_area() * EMPTY_REST {
            rest_of[a] = Some(rest_areas.len());
            rest_areas.push(Area {
                geometry: rest,
                ..area.clone()
            });
        }
    }

    // Households inside a locked grid stay with it.
    let boxes: Vec<_> = locked.iter().map(|g| g.geometry.bounding_rect()).collect();
    let in_locked = |h: &Household| {
        locked.iter().zip(&boxes).position(|(g, b)| {
            b.is_some_and(|b| b.intersects(&h.location)) && g.geometry.intersects(&h.location)
        })
    };
    let mut free = Vec::with_capacity(households.len());
    let mut free_index = Vec::with_capacity(households.len());
    let mut held: Vec<(usize, usize)> = Vec::new();
    for (i, h) in households.iter().enumerate() {
        match in_locked(h) {
            Some(g) => held.push((i, g)),
            None => {
                free_index.push(i);
                free.push(h.clone());
            }
        }
    }

    // Overrides name the areas given; an area wholly locked is not
    // partitioned, so its override goes no further.
    let rest_options = PartitionOptions {
        area_rules: options
            .area_rules
            .only(rest_areas.iter().map(|a| a.code.as_str())),
        ..options.clone()
    };
    let mut rest_selected = vec![false; rest_areas.len()];
    for (a, r) in rest_of.iter().enumerate() {
        if let Some(r) = r {
            rest_selected[*r] = chosen(a);
        }
    }
    let rest = partition_selected(
        &rest_areas,
        &free,
        barriers,
        &rest_options,
        Some(&rest_selected),
        progress,
    )?;

    // Put the locked grids first in their areas, renumber clashing codes.
    let mut grids = Vec::with_capacity(rest.grids.len() + locked.len());
    let mut is_locked = Vec::with_capacity(grids.capacity());
    let mut new_index = vec![0u32; rest.grids.len()];
    let mut locked_index: Vec<Option<u32>> = vec![None; locked.len()];
    let mut reports = Vec::with_capacity(areas.len());
    let (mut next_rest_grid, mut next_rest_report) = (0, 0);
    for (a, area) in areas.iter().enumerate() {
        if !chosen(a) {
            continue;
        }
        let members = by_area.get(area.code.as_str()).cloned().unwrap_or_default();
        for &i in &members {
            locked_index[i] = Some(grids.len() as u32);
            grids.push(locked[i].clone());
            is_locked.push(true);
        }
        let taken: HashSet<String> = members.iter().map(|&i| locked[i].code.clone()).collect();
        let report = match rest_of[a] {
            Some(_) => {
                let report = rest.areas[next_rest_report].clone();
                next_rest_report += 1;
                let mine: Vec<usize> = (next_rest_grid..next_rest_grid + report.grids).collect();
                next_rest_grid += report.grids;
                let mut codes = Codes::new(
                    &area.code,
                    taken
                        .iter()
                        .chain(mine.iter().map(|&g| &rest.grids[g].code)),
                );
                for g in mine {
                    let mut grid = rest.grids[g].clone();
                    if taken.contains(&grid.code) {
                        grid.code = codes.next();
                    }
                    new_index[g] = grids.len() as u32;
                    grids.push(grid);
                    is_locked.push(false);
                }
                report
            }
            None => AreaReport {
                code: area.code.clone(),
                resolution: 0,
                nodes: 0,
                grids: 0,
                households: 0,
                persons: 0,
                rules: options.rules_for(area),
                feasible: true,
                notes: vec!["every grid of the area is locked".into()],
            },
        };
        let extra: u64 = members.iter().map(|&i| locked[i].households).sum();
        let persons: u64 = members.iter().map(|&i| locked[i].persons).sum();
        reports.push(AreaReport {
            grids: report.grids + members.len(),
            households: report.households + extra,
            persons: report.persons + persons,
            ..report
        });
    }

    let mut household_grid = vec![None; households.len()];
    for (k, g) in rest.household_grid.iter().enumerate() {
        household_grid[free_index[k]] = g.map(|g| new_index[g as usize]);
    }
    for (i, g) in held {
        household_grid[i] = locked_index[g];
    }
    let mut outside = rest.outside;
    outside.locations = outside.locations.iter().map(|&k| free_index[k]).collect();
    Ok(LockedPartition {
        partition: Partition {
            grids,
            household_grid,
            areas: reports,
            outside,
        },
        locked: is_locked,
    })
}

/// The grids of `grids` named by `codes`, in the order named.
pub fn select_locked(grids: &[Grid], codes: &[String]) -> Result<Vec<Grid>, LockError> {
    codes
        .iter()
        .map(|c| {
            grids
                .iter()
                .find(|g| g.code == *c)
                .cloned()
                .ok_or_else(|| LockError::UnknownCode(c.clone()))
        })
        .collect()
}

/// Fresh codes of an area: its code and a sequence number above every one
/// in use, as wide as the widest in use.
struct Codes<'a> {
    area: &'a str,
    next: usize,
    width: usize,
}

impl<'a> Codes<'a> {
    fn new<'c>(area: &'a str, used: impl Iterator<Item = &'c String>) -> Codes<'a> {
        let (mut next, mut width) = (1, 3);
        for c in used {
            if let Some(seq) = c.strip_prefix(area) {
                if let Ok(n) = seq.parse::<usize>() {
                    next = next.max(n + 1);
                    width = width.max(seq.len());
                }
            }
        }
        Codes { area, next, width }
    }

    fn next(&mut self) -> String {
        let c = super::codes::grid_code(self.area, self.next, self.width);
        self.next += 1;
        c
    }
}
