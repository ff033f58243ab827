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
//!    [`transfer`]). When that gets stuck, or the zone needs more or fewer
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

use std::collections::{BTreeMap, HashMap};

use geo::{BooleanOps, BoundingRect, Distance, Euclidean, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Point, Polygon, Rect};
use h3o::{LatLng, Resolution};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

use super::graph::{BarrierIndex, Graph};
use super::pip::{AreaLocator, BandedRings};
use super::snap::Snap;
use super::split::Splits;
use super::tessellate::{Tessellation, NONE};
use super::{
    codes, dissolve, metrics, partition_area, regions, tessellate, validate_inputs, AreaReport,
    OutsideReport, Partition, PartitionError, PartitionOptions,
};
use crate::geodesy::LocalFrame;
use crate::model::{Area, Barrier, Grid, Household, Rules};
use crate::progress::Progress;

/// What happened to one grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

/// One line of the change report per grid (new and previous).
#[derive(Debug, Clone, Serialize)]
pub struct GridChangeRecord {
    pub code: String,
    pub parent_code: String,
    pub change: GridChange,
    /// Index in [`Update::partition`]`.grids`; `None` for retired grids.
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
    /// what to keep for [`UpdateOptions::retired_codes`] next time.
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
    let retired_codes = &options.retired_codes;
    let options = &options.partition;
    validate_inputs(areas, households, options)?;
    validate_previous(previous)?;
    progress.report("locate households in the previous grids", 0.0);

    let area_index: HashMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.code.as_str(), i))
        .collect();
    // Previous grids per area, in input order.
    let mut prev_of_area: Vec<Vec<usize>> = vec![Vec::new(); areas.len()];
    let mut orphans: Vec<usize> = Vec::new();
    for (i, g) in previous.iter().enumerate() {
        match area_index.get(g.parent_code.as_str()) {
            Some(&a) => prev_of_area[a].push(i),
            None => orphans.push(i),
        }
    }

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
    drop(located);
    if progress.cancelled() {
        return Err(PartitionError::Cancelled.into());
    }

    let barrier_index = BarrierIndex::new(barriers);
    let ctx = Ctx {
        households,
        previous,
        household_previous: &household_previous,
        barriers: &barrier_index,
        options,
        retired_codes,
        progress,
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total_work: usize = per_area.iter().map(|v| v.len() + 64).sum::<usize>().max(1);
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(per_area[i].len()));
    let mut results: Vec<(usize, Result<AreaOutcome, UpdateError>)> = order
        .par_iter()
        .map(|&i| {
            if progress.cancelled() {
                return (i, Err(PartitionError::Cancelled.into()));
            }
            let r = update_area(&ctx, &areas[i], &per_area[i], &prev_of_area[i]);
            let d = done.fetch_add(per_area[i].len() + 64, std::sync::atomic::Ordering::Relaxed)
                + per_area[i].len()
                + 64;
            progress.report("update areas", d as f64 / total_work as f64);
            (i, r)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);

    // Assemble in area input order.
    let mut grids: Vec<Grid> = Vec::new();
    let mut household_grid: Vec<Option<u32>> = vec![None; households.len()];
    let mut reports = Vec::with_capacity(areas.len());
    let mut changes = ChangeReport::default();
    let mut kinds: Vec<(GridChange, Option<usize>, String)> = Vec::new();
    let mut retired: Vec<(usize, String)> = Vec::new();
    for (_, r) in results {
        let r = r?;
        let base = grids.len() as u32;
        for (h, g) in r.assignment {
            household_grid[h as usize] = Some(base + g);
        }
        for (g, kind, prev, why) in r.grids {
            grids.push(g);
            kinds.push((kind, prev, why));
        }
        retired.extend(r.retired);
        reports.push(r.report);
        changes.areas.push(r.change);
    }
    for &i in &orphans {
        retired.push((i, "its area is not in the input any more".into()));
    }
    let mut orphan_areas: Vec<&str> = orphans
        .iter()
        .map(|&i| previous[i].parent_code.as_str())
        .collect();
    orphan_areas.sort_unstable();
    orphan_areas.dedup();
    for code in orphan_areas {
        let n = orphans
            .iter()
            .filter(|&&i| previous[i].parent_code == code)
            .count();
        changes.areas.push(AreaChange {
            code: code.to_string(),
            mode: AreaUpdateMode::Removed,
            grids_before: n,
            grids_after: 0,
            notes: vec!["the area is not in the input any more; its grids are retired".into()],
        });
    }

    // Moves, per location: previous polygon → new grid.
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
    changes.moves = moves
        .into_iter()
        .map(|((from, to), (households, locations))| HouseholdMove {
            from: from.to_string(),
            to: to.to_string(),
            households,
            locations,
        })
        .collect();
    for (gi, (g, (kind, prev, why))) in grids.iter().zip(&kinds).enumerate() {
        changes.grids.push(GridChangeRecord {
            code: g.code.clone(),
            parent_code: g.parent_code.clone(),
            change: *kind,
            grid: Some(gi),
            previous: *prev,
            households_previous: prev.map(|p| previous[p].households),
            households: Some(g.households),
            moved_in: moved_in[gi],
            moved_out: prev.map_or(0, |p| moved_out[p]),
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
    retired.sort_by_key(|r| r.0);
    for (p, why) in retired {
        let g = &previous[p];
        changes.grids.push(GridChangeRecord {
            code: g.code.clone(),
            parent_code: g.parent_code.clone(),
            change: GridChange::Retired,
            grid: None,
            previous: Some(p),
            households_previous: Some(g.households),
            households: None,
            moved_in: 0,
            moved_out: moved_out[p],
            reason: why,
        });
        t.retired += 1;
    }
    t.grids_before = previous.len();
    t.grids_after = grids.len();
    changes.totals = t;
    progress.report("done", 1.0);
    Ok(Update {
        partition: Partition {
            grids,
            household_grid,
            areas: reports,
            outside,
        },
        changes,
        household_previous,
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

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Finds the previous grid holding a point: the first in input order whose
/// closed polygon holds it, as the engine assigns points on shared edges.
struct GridLocator {
    tree: RTree<Entry>,
    rings: Vec<BandedRings>,
}

impl GridLocator {
    fn new(grids: &[Grid]) -> Self {
        let rings: Vec<BandedRings> = grids
            .par_iter()
            .map(|g| BandedRings::new(&g.geometry))
            .collect();
        let entries = grids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                g.geometry.bounding_rect().map(|r| {
                    GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i as u32,
                    )
                })
            })
            .collect();
        GridLocator {
            tree: RTree::bulk_load(entries),
            rings,
        }
    }

    fn locate(&self, p: Coord<f64>) -> Option<u32> {
        let mut best: Option<u32> = None;
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.x, p.y]))
        {
            let i = e.data;
            if best.is_some_and(|b| b < i) {
                continue;
            }
            if self.rings[i as usize].covers(p) {
                best = Some(i);
            }
        }
        best
    }
}

struct Ctx<'a> {
    households: &'a [Household],
    previous: &'a [Grid],
    household_previous: &'a [Option<u32>],
    barriers: &'a BarrierIndex,
    options: &'a PartitionOptions,
    retired_codes: &'a [RetiredCode],
    progress: &'a dyn Progress,
}

/// (grid, change, index in previous, reason)
type OutGrid = (Grid, GridChange, Option<usize>, String);

struct AreaOutcome {
    /// Sorted by code.
    grids: Vec<OutGrid>,
    /// (household index, grid index within this area)
    assignment: Vec<(u32, u32)>,
    /// (index in previous, reason)
    retired: Vec<(usize, String)>,
    report: AreaReport,
    change: AreaChange,
}

/// Sequence number and width of a grid code's suffix after the area code.
fn sequence_of(code: &str, area_code: &str) -> Option<(u64, usize)> {
    let s = code.strip_prefix(area_code)?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().map(|n| (n, s.len()))
}

/// Codes for new grids: numbers above the highest the area ever had, so a
/// retired code is never handed out again.
struct CodeSource {
    next: u64,
    width: usize,
}

impl CodeSource {
    fn new(area_code: &str, old_codes: &[&str], retired: &[RetiredCode]) -> Self {
        let mut max = 0u64;
        let mut width = 3usize;
        let earlier = retired
            .iter()
            .filter(|r| r.parent_code == area_code)
            .map(|r| r.code.as_str());
        for c in old_codes.iter().copied().chain(earlier) {
            if let Some((n, w)) = sequence_of(c, area_code) {
                max = max.max(n);
                width = width.max(w);
            }
        }
        CodeSource {
            next: max + 1,
            width,
        }
    }

    fn take(&mut self, area_code: &str) -> String {
        let c = codes::grid_code(area_code, self.next as usize, self.width);
        self.next += 1;
        c
    }
}

/// Rule breaches of one grid, worded like the engine's.
fn rule_issues(
    rules: &Rules,
    has_persons: bool,
    households: u64,
    persons: u64,
    area_m2: f64,
) -> Vec<String> {
    let mut v = Vec::new();
    if households < rules.min_households {
        v.push(format!(
            "{households} households, below the minimum {}",
            rules.min_households
        ));
    }
    if households > rules.max_households {
        v.push(format!(
            "{households} households, above the maximum {}",
            rules.max_households
        ));
    }
    if has_persons {
        if let Some(mp) = rules.max_persons {
            if persons > mp {
                v.push(format!("{persons} persons, above the maximum {mp}"));
            }
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        if area_m2 > ma {
            v.push(format!("{area_m2:.0} m², above the maximum {ma:.0} m²"));
        }
    }
    v
}

/// A previous grid carried over unchanged: geometry and code verbatim; counts,
/// and the issues that depend on them, recomputed only when the counts differ
/// (so unchanged data gives byte-identical output).
fn keep_grid(old: &Grid, households: u64, persons: u64, rules: &Rules, has_persons: bool) -> Grid {
    let mut g = old.clone();
    g.households = households;
    g.persons = persons;
    let mut issues = rule_issues(rules, has_persons, households, persons, old.area_m2);
    // The previous wording is kept when it says the same (the engine's
    // messages extend these with the reason); otherwise, e.g. when the rules
    // or the counts changed, the issues are recomputed.
    let old_rule: Vec<&String> = old
        .issues
        .iter()
        .filter(|s| !s.starts_with("grid is in"))
        .collect();
    let same = old_rule.len() == issues.len()
        && issues
            .iter()
            .all(|n| old_rule.iter().any(|o| o.starts_with(n.as_str())));
    if same {
        return g;
    }
    issues.extend(
        old.issues
            .iter()
            .filter(|s| s.starts_with("grid is in"))
            .cloned(),
    );
    g.within_rules = issues.iter().all(|s| s.starts_with("grid is in"));
    g.issues = issues;
    g
}

fn update_area(
    ctx: &Ctx<'_>,
    area: &Area,
    hh: &[u32],
    prev: &[usize],
) -> Result<AreaOutcome, UpdateError> {
    let rules = ctx
        .options
        .rules
        .unwrap_or_else(|| Rules::preset(area.kind));
    let has_persons = hh
        .iter()
        .any(|&i| ctx.households[i as usize].persons.is_some());
    let bbox = area.geometry.bounding_rect().expect("validated non-empty");
    let frame = LocalFrame::new(Point(bbox.center()));
    let area_m2 = metrics::multipolygon_area_m2(&area.geometry, &frame);

    if prev.is_empty() {
        return fresh_area(ctx, area, hh, prev, AreaUpdateMode::New, Vec::new());
    }

    // Which previous grid of this area holds each household. A location the
    // global lookup put elsewhere (a shared area border) or nowhere (a rounding
    // error off the snapped area boundary) goes to this area's nearest grid when
    // it is within ~1 cm of it.
    let local_of: HashMap<usize, u32> = prev
        .iter()
        .enumerate()
        .map(|(j, &p)| (p, j as u32))
        .collect();
    let mut hh_old: Vec<u32> = Vec::with_capacity(hh.len());
    let mut uncovered = 0u64;
    for &i in hh {
        let own =
            ctx.household_previous[i as usize].and_then(|p| local_of.get(&(p as usize)).copied());
        let j = match own {
            Some(j) => j,
            None => {
                let pt = Point(ctx.households[i as usize].location.0);
                let near = prev
                    .iter()
                    .enumerate()
                    .map(|(j, &p)| (Euclidean.distance(&ctx.previous[p].geometry, &pt), j))
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                match near {
                    Some((d, j)) if d < 1e-7 => j as u32,
                    _ => {
                        uncovered += u64::from(ctx.households[i as usize].households);
                        NONE
                    }
                }
            }
        };
        hh_old.push(j);
    }
    // Do the previous grids still tile the area?
    let grids_m2: f64 = prev
        .iter()
        .map(|&p| metrics::multipolygon_area_m2(&ctx.previous[p].geometry, &frame))
        .sum();
    let tol = 1e-7 + 1e-9 * bbox.width().max(bbox.height());
    let inside_box = prev.iter().all(|&p| {
        ctx.previous[p].geometry.bounding_rect().is_some_and(|r| {
            r.min().x >= bbox.min().x - tol
                && r.min().y >= bbox.min().y - tol
                && r.max().x <= bbox.max().x + tol
                && r.max().y <= bbox.max().y + tol
        })
    });
    let area_rel = (grids_m2 - area_m2).abs() / area_m2.max(1e-9);
    if uncovered > 0 || !inside_box || area_rel > 1e-5 {
        let why = if uncovered > 0 {
            format!("{uncovered} households lie outside every previous grid of the area")
        } else if !inside_box {
            "previous grids reach outside the area".to_string()
        } else {
            format!(
                "previous grids cover {:.1} % of the area",
                100.0 * grids_m2 / area_m2.max(1e-9)
            )
        };
        return fresh_area(
            ctx,
            area,
            hh,
            prev,
            AreaUpdateMode::Repartitioned,
            vec![format!(
                "the area's boundary changed ({why}): partitioned again"
            )],
        );
    }

    // New counts of the previous grids.
    let m = prev.len();
    let mut cnt_h = vec![0u64; m];
    let mut cnt_p = vec![0u64; m];
    for (&i, &j) in hh.iter().zip(&hh_old) {
        let h = &ctx.households[i as usize];
        cnt_h[j as usize] += u64::from(h.households);
        cnt_p[j as usize] += u64::from(h.persons.unwrap_or(0));
    }
    let breaks = |j: usize, ch: &[u64], cp: &[u64]| {
        !rule_issues(
            &rules,
            has_persons,
            ch[j],
            cp[j],
            ctx.previous[prev[j]].area_m2,
        )
        .is_empty()
    };
    let broken: Vec<usize> = (0..m).filter(|&j| breaks(j, &cnt_h, &cnt_p)).collect();
    let total: u64 = cnt_h.iter().sum();
    let total_p: u64 = cnt_p.iter().sum();
    let (_, area_feasible) = regions::choose_k(&rules, has_persons, total, total_p, area_m2);

    let keep_all = |notes: Vec<String>, res: u8, nodes: usize| -> AreaOutcome {
        let grids: Vec<OutGrid> = (0..m)
            .map(|j| {
                let old = &ctx.previous[prev[j]];
                (
                    keep_grid(old, cnt_h[j], cnt_p[j], &rules, has_persons),
                    GridChange::Unchanged,
                    Some(prev[j]),
                    String::new(),
                )
            })
            .collect();
        let assignment = hh.iter().zip(&hh_old).map(|(&i, &j)| (i, j)).collect();
        finish(
            area,
            grids,
            assignment,
            Vec::new(),
            AreaUpdateMode::Unchanged,
            m,
            notes,
            rules,
            res,
            nodes,
            total,
            total_p,
            area_feasible,
        )
    };
    if broken.is_empty() {
        return Ok(keep_all(Vec::new(), 0, 0));
    }

    match repair(
        ctx,
        area,
        hh,
        prev,
        &hh_old,
        &cnt_h,
        &cnt_p,
        &broken,
        &rules,
        has_persons,
        frame,
    )? {
        Repair::Done(out) => Ok(finish(
            area,
            out.grids,
            out.assignment,
            out.retired,
            AreaUpdateMode::Rebalanced,
            m,
            out.notes,
            rules,
            out.res,
            out.nodes,
            total,
            total_p,
            area_feasible,
        )),
        Repair::NoGain(note, res, nodes) => Ok(keep_all(vec![note], res, nodes)),
    }
}

/// Sorts an area's grids by code, remaps the household assignment, and builds
/// the area's reports.
#[allow(clippy::too_many_arguments)]
fn finish(
    area: &Area,
    mut grids: Vec<OutGrid>,
    assignment: Vec<(u32, u32)>,
    retired: Vec<(usize, String)>,
    mode: AreaUpdateMode,
    grids_before: usize,
    notes: Vec<String>,
    rules: Rules,
    res: u8,
    nodes: usize,
    households: u64,
    persons: u64,
    feasible: bool,
) -> AreaOutcome {
    let mut idx: Vec<usize> = (0..grids.len()).collect();
    idx.sort_by(|&a, &b| grids[a].0.code.cmp(&grids[b].0.code));
    let mut rank = vec![0u32; grids.len()];
    for (r, &i) in idx.iter().enumerate() {
        rank[i] = r as u32;
    }
    let mut slots: Vec<Option<OutGrid>> = grids.drain(..).map(Some).collect();
    let sorted: Vec<OutGrid> = idx
        .iter()
        .map(|&i| slots[i].take().expect("each grid once"))
        .collect();
    let assignment = assignment
        .into_iter()
        .map(|(h, g)| (h, rank[g as usize]))
        .collect();
    AreaOutcome {
        report: AreaReport {
            code: area.code.clone(),
            resolution: res,
            nodes,
            grids: sorted.len(),
            households,
            persons,
            rules,
            feasible,
            notes: notes.clone(),
        },
        change: AreaChange {
            code: area.code.clone(),
            mode,
            grids_before,
            grids_after: sorted.len(),
            notes,
        },
        grids: sorted,
        assignment,
        retired,
    }
}

/// Partitions an area with the normal engine (a new area, or one whose boundary
/// changed) and gives each new grid the code of the previous grid it overlaps
/// most (one to one, largest overlaps first).
fn fresh_area(
    ctx: &Ctx<'_>,
    area: &Area,
    hh: &[u32],
    prev: &[usize],
    mode: AreaUpdateMode,
    mut notes: Vec<String>,
) -> Result<AreaOutcome, UpdateError> {
    let r = partition_area(
        area,
        ctx.households,
        hh,
        ctx.barriers,
        ctx.options,
        ctx.progress,
    )?;
    let k = r.grids.len();
    // Overlaps (in degrees², only used to rank).
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, g) in r.grids.iter().enumerate() {
        let gb = g.geometry.bounding_rect();
        for (j, &p) in prev.iter().enumerate() {
            let o = &ctx.previous[p].geometry;
            if !rects_meet(gb, o.bounding_rect()) {
                continue;
            }
            let a = geo::Area::unsigned_area(&g.geometry.intersection(o));
            if a > 0.0 {
                pairs.push((a, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut new_of = vec![None; k];
    let mut taken = vec![false; prev.len()];
    for &(_, i, j) in &pairs {
        if new_of[i].is_none() && !taken[j] {
            new_of[i] = Some(j);
            taken[j] = true;
        }
    }
    let old_codes: Vec<&str> = prev
        .iter()
        .map(|&p| ctx.previous[p].code.as_str())
        .collect();
    let mut source = CodeSource::new(&area.code, &old_codes, ctx.retired_codes);
    let why = match mode {
        AreaUpdateMode::New => "a new area",
        _ => "the area was partitioned again",
    };
    let mut grids: Vec<OutGrid> = Vec::with_capacity(k);
    for (i, mut g) in r.grids.into_iter().enumerate() {
        match new_of[i] {
            Some(j) => {
                let old = &ctx.previous[prev[j]];
                g.code = old.code.clone();
                let same = old.geometry == g.geometry;
                grids.push((
                    g,
                    if same {
                        GridChange::Unchanged
                    } else {
                        GridChange::Adjusted
                    },
                    Some(prev[j]),
                    if same { String::new() } else { why.to_string() },
                ));
            }
            None => {
                g.code = if prev.is_empty() {
                    g.code
                } else {
                    source.take(&area.code)
                };
                grids.push((g, GridChange::New, None, why.to_string()));
            }
        }
    }
    let retired: Vec<(usize, String)> = (0..prev.len())
        .filter(|&j| !taken[j])
        .map(|j| (prev[j], format!("{why}; no new grid overlaps it most")))
        .collect();
    notes.extend(r.report.notes.iter().cloned());
    let rep = r.report;
    Ok(finish(
        area,
        grids,
        r.assignment,
        retired,
        mode,
        prev.len(),
        notes,
        rep.rules,
        rep.resolution,
        rep.nodes,
        rep.households,
        rep.persons,
        rep.feasible,
    ))
}

fn rects_meet(a: Option<Rect<f64>>, b: Option<Rect<f64>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.min().x <= b.max().x
                && b.min().x <= a.max().x
                && a.min().y <= b.max().y
                && b.min().y <= a.max().y
        }
        _ => false,
    }
}

struct Repaired {
    grids: Vec<OutGrid>,
    assignment: Vec<(u32, u32)>,
    retired: Vec<(usize, String)>,
    notes: Vec<String>,
    res: u8,
    nodes: usize,
}

enum Repair {
    Done(Repaired),
    /// Nothing better was found: keep every grid (note, resolution, nodes).
    NoGain(String, u8, usize),
}

/// The precision grid [`Tessellation::new`] uses for an area at `res` (same
/// frame, so snapped coordinates can be compared bit for bit).
fn snap_for(bbox: Rect<f64>, res: Resolution) -> Snap {
    let lat = bbox.center().y.to_radians().cos().max(0.05);
    let pad = 3.0 * res.edge_length_m() / (111_000.0 * lat) + 1e-9;
    Snap::new(Rect::new(
        Coord {
            x: bbox.min().x - pad,
            y: bbox.min().y - pad,
        },
        Coord {
            x: bbox.max().x + pad,
            y: bbox.max().y + pad,
        },
    ))
}

/// The resolution the previous grids were built from: interior grid vertices
/// are canonical H3 vertices or cell edge midpoints snapped to the area's
/// grid, so the resolution whose vertices match most sample points is the one.
/// Falls back to `guess` when nothing matches (grids drawn by hand).
fn infer_resolution(area: &Area, old: &[&Grid], guess: Resolution) -> Resolution {
    let bbox = area.geometry.bounding_rect().expect("validated");
    let mut samples: Vec<Coord<f64>> = Vec::new();
    for g in old {
        for p in &g.geometry.0 {
            let ring = &p.exterior().0;
            let step = (ring.len() / 6).max(1);
            samples.extend(ring.iter().step_by(step).copied());
        }
    }
    let stride = samples.len().div_ceil(120).max(1);
    let samples: Vec<Coord<f64>> = samples.into_iter().step_by(stride).collect();
    let g = u8::from(guess);
    let mut best = (0usize, guess);
    for r in g.saturating_sub(2).max(6)..=(g + 2).min(14) {
        let res = Resolution::try_from(r).expect("in range");
        let snap = snap_for(bbox, res);
        let mut score = 0usize;
        for &c in &samples {
            let Ok(ll) = LatLng::new(c.y, c.x) else {
                continue;
            };
            let cell = ll.to_cell(res);
            let hit = cell.grid_disk::<Vec<_>>(1).into_iter().any(|d| {
                let vs: Vec<Coord<f64>> = d
                    .vertexes()
                    .map(|v| {
                        let ll = LatLng::from(v);
                        snap.coord(Coord {
                            x: ll.lng(),
                            y: ll.lat(),
                        })
                    })
                    .collect();
                (0..vs.len()).any(|i| {
                    let (p, q) = (vs[i], vs[(i + 1) % vs.len()]);
                    let mid = snap.coord(Coord {
                        x: (p.x + q.x) * 0.5,
                        y: (p.y + q.y) * 0.5,
                    });
                    p == c || mid == c
                })
            });
            if hit {
                score += 1;
            }
        }
        if score > best.0 || (score == best.0 && score > 0 && res == guess) {
            best = (score, res);
        }
    }
    best.1
}

/// Two tiny triangles at the frame's corners: added to both operands of an
/// overlay they fix i_overlay's integer grid to the area's (as
/// [`Snap::intersection`] does), and they are removed again afterwards.
fn dummies(snap: &Snap) -> [Polygon<f64>; 2] {
    let r = snap.rect();
    let (lo, hi) = (r.min(), r.max());
    let e = r.width().max(r.height()) * 1e-4;
    let tri = |c: Coord<f64>, dx: f64, dy: f64| {
        Polygon::new(
            geo_types::LineString(vec![
                c,
                Coord {
                    x: c.x + dx,
                    y: c.y,
                },
                Coord {
                    x: c.x,
                    y: c.y + dy,
                },
                c,
            ]),
            vec![],
        )
    };
    [tri(lo, e, e), tri(hi, -e, -e)]
}

fn with_dummies(snap: &Snap, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut m = mp.clone();
    m.0.extend(dummies(snap));
    m
}

fn strip_dummies(snap: &Snap, mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    let r = snap.rect();
    let e = r.width().max(r.height()) * 2e-4;
    let near = |c: &Coord<f64>, k: Coord<f64>| (c.x - k.x).abs() <= e && (c.y - k.y).abs() <= e;
    MultiPolygon(
        mp.0.into_iter()
            .filter(|p| {
                !(p.exterior().0.iter().all(|c| near(c, r.min()))
                    || p.exterior().0.iter().all(|c| near(c, r.max())))
            })
            .collect(),
    )
}

fn snap_union(snap: &Snap, a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    strip_dummies(snap, with_dummies(snap, a).union(&with_dummies(snap, b)))
}

fn snap_difference(snap: &Snap, a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    strip_dummies(
        snap,
        with_dummies(snap, a).difference(&with_dummies(snap, b)),
    )
}

/// The subgraph induced by `nodes` and a tessellation view holding just those
/// nodes, which is all the region step reads (nodes, pieces, resolution), so
/// the engine's own [`regions::partition_graph`] can re-partition a repair
/// zone. The cell-level fields are left empty on purpose: if the region step
/// ever reads them, this view must fill them too.
fn sub_problem(tess: &Tessellation, g: &Graph, nodes: &[u32]) -> (Tessellation, Graph) {
    let mut map = vec![NONE; tess.nodes.len()];
    for (i, &v) in nodes.iter().enumerate() {
        map[v as usize] = i as u32;
    }
    let mut xadj = Vec::with_capacity(nodes.len() + 1);
    let mut adj = Vec::new();
    let mut cost = Vec::new();
    let mut shared = Vec::new();
    xadj.push(0u32);
    for &v in nodes {
        for ((&u, &c), &l) in g.neighbours(v).iter().zip(g.costs(v)).zip(g.shared(v)) {
            if map[u as usize] != NONE {
                adj.push(map[u as usize]);
                cost.push(c);
                shared.push(l);
            }
        }
        xadj.push(adj.len() as u32);
    }
    let ring = nodes
        .iter()
        .map(|&v| {
            let r = g.ring[v as usize];
            if r.iter().all(|&u| u != NONE && map[u as usize] != NONE) {
                r.map(|u| map[u as usize])
            } else {
                [NONE; 6]
            }
        })
        .collect();
    let sub = Tessellation {
        res: tess.res,
        frame: tess.frame,
        cells: Vec::new(),
        cell_id: HashMap::new(),
        verts: Vec::new(),
        nv: Vec::new(),
        vcoord: Vec::new(),
        nbr: Vec::new(),
        clipped: Vec::new(),
        refined: Vec::new(),
        vcells: Vec::new(),
        first_node: Vec::new(),
        nodes: nodes
            .iter()
            .map(|&v| tess.nodes[v as usize].clone())
            .collect(),
        pieces: nodes
            .iter()
            .map(|&v| tess.pieces[v as usize].clone())
            .collect(),
        area: MultiPolygon(vec![]),
        snap: Snap::new(tess.snap.rect()),
    };
    (
        sub,
        Graph {
            xadj,
            adj,
            cost,
            shared,
            perim: nodes.iter().map(|&v| g.perim[v as usize]).collect(),
            ring,
        },
    )
}

/// Number of zone grids breaking the rules, and whether its totals can be
/// divided within them.
fn zone_feasible(rules: &Rules, has_persons: bool, h: u64, p: u64, a: f64) -> (usize, bool) {
    regions::choose_k(rules, has_persons, h, p, a)
}

#[allow(clippy::too_many_arguments)]
fn repair(
    ctx: &Ctx<'_>,
    area: &Area,
    hh: &[u32],
    prev: &[usize],
    hh_old: &[u32],
    cnt_h: &[u64],
    cnt_p: &[u64],
    broken: &[usize],
    rules: &Rules,
    has_persons: bool,
    frame: LocalFrame,
) -> Result<Repair, UpdateError> {
    let m = prev.len();
    let old_grids: Vec<&Grid> = prev.iter().map(|&p| &ctx.previous[p]).collect();
    let area_m2 = metrics::multipolygon_area_m2(&area.geometry, &frame);
    let total: u64 = cnt_h.iter().sum();
    let guess = match ctx.options.resolution {
        Some(r) => r,
        None => tessellate::choose_resolution(ctx.households, hh, total, area_m2, rules),
    };
    let res = infer_resolution(area, &old_grids, guess);
    let tess = Tessellation::new(area, res, frame).map_err(|e| PartitionError::InvalidArea {
        code: area.code.clone(),
        reason: e,
    })?;
    let n = tess.nodes.len();
    let g = Graph::build(
        &tess,
        &area.geometry,
        ctx.barriers,
        ctx.options.barrier_cut_cost,
    );

    // Node → previous grid, by a point inside the node.
    let rings: Vec<BandedRings> = old_grids
        .iter()
        .map(|g| BandedRings::new(&g.geometry))
        .collect();
    let boxes: Vec<Option<Rect<f64>>> = old_grids
        .iter()
        .map(|g| g.geometry.bounding_rect())
        .collect();
    let mut node_old: Vec<u32> = (0..n)
        .into_par_iter()
        .map(|v| {
            let p = match &tess.pieces[v] {
                Some(poly) => match poly.interior_point() {
                    Some(p) => p.0,
                    None => return NONE,
                },
                None => {
                    let c = tess.nodes[v].cell as usize;
                    let k = tess.nv[c] as usize;
                    let mut s = Coord { x: 0.0, y: 0.0 };
                    for i in 0..k {
                        s = s + tess.vcoord[tess.verts[c][i] as usize];
                    }
                    s / k as f64
                }
            };
            (0..m)
                .find(|&j| {
                    boxes[j].is_some_and(|b| {
                        p.x >= b.min().x && p.x <= b.max().x && p.y >= b.min().y && p.y <= b.max().y
                    }) && rings[j].covers(p)
                })
                .map_or(NONE, |j| j as u32)
        })
        .collect();
    // Nodes no grid claimed (rounding at the area boundary): their neighbours' grid.
    for _ in 0..4 {
        let mut changed = false;
        for v in 0..n {
            if node_old[v] == NONE {
                if let Some(&u) = g
                    .neighbours(v as u32)
                    .iter()
                    .find(|&&u| node_old[u as usize] != NONE)
                {
                    node_old[v] = node_old[u as usize];
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Grid adjacency from the cell graph.
    let mut gadj: Vec<Vec<usize>> = vec![Vec::new(); m];
    for v in 0..n {
        let a = node_old[v];
        if a == NONE {
            continue;
        }
        for &u in g.neighbours(v as u32) {
            let b = node_old[u as usize];
            if b != NONE && b != a {
                gadj[a as usize].push(b as usize);
            }
        }
    }
    for l in &mut gadj {
        l.sort_unstable();
        l.dedup();
    }
    let area_of: Vec<f64> = old_grids.iter().map(|g| g.area_m2).collect();

    // Grow the zone until each of its connected parts can be divided within
    // the rules, adding the neighbour that brings the mean closest to target.
    let mut in_zone = vec![false; m];
    for &j in broken {
        in_zone[j] = true;
    }
    let target = rules.target() as f64;
    for _round in 0..12 {
        let comps = components(&in_zone, &gadj);
        let mut grew = false;
        for comp in comps {
            let (h, p, a) = totals(&comp, cnt_h, cnt_p, &area_of);
            if zone_feasible(rules, has_persons, h, p, a).1 {
                continue;
            }
            let mut cands: Vec<usize> = comp
                .iter()
                .flat_map(|&j| gadj[j].iter().copied())
                .filter(|&c| !in_zone[c])
                .collect();
            cands.sort_unstable();
            cands.dedup();
            let best = cands
                .into_iter()
                .map(|c| {
                    let (h2, p2, a2) = (h + cnt_h[c], p + cnt_p[c], a + area_of[c]);
                    let (k, ok) = zone_feasible(rules, has_persons, h2, p2, a2);
                    let dev = (h2 as f64 / k.max(1) as f64 - target).abs();
                    (!ok, dev, c)
                })
                .min_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2)));
            if let Some((_, _, c)) = best {
                in_zone[c] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let zone: Vec<usize> = (0..m).filter(|&j| in_zone[j]).collect();
    let before_bad = zone
        .iter()
        .filter(|&&j| !rule_issues(rules, has_persons, cnt_h[j], cnt_p[j], area_of[j]).is_empty())
        .count();

    // Households → nodes (for weights, and to keep smoothing off households).
    let mut node_hh = vec![0u64; n];
    let mut node_pp = vec![0u64; n];
    let mut hh_node: Vec<(Coord<f64>, u32)> = Vec::with_capacity(hh.len());
    for &i in hh {
        let h = &ctx.households[i as usize];
        let v = tess.locate(h.location.0);
        node_hh[v as usize] += u64::from(h.households);
        node_pp[v as usize] += u64::from(h.persons.unwrap_or(0));
        hh_node.push((h.location.0, v));
    }
    // Zone weights count exactly the households the zone's polygons hold (the
    // previous grids decided by point-in-polygon), not every household of a
    // zone cell: a cell corner may belong to an unchanged neighbour, and a
    // corner of the zone may lie in a cell outside it (its households go to a
    // neighbouring zone cell, whose grid will take that corner).
    let zone_node = |v: u32| {
        let o = node_old[v as usize];
        o != NONE && in_zone[o as usize]
    };
    let mut zone_hh = vec![0u64; n];
    let mut zone_pp = vec![0u64; n];
    for ((&i, &j), &(_, v)) in hh.iter().zip(hh_old).zip(&hh_node) {
        if !in_zone[j as usize] {
            continue;
        }
        let target = if zone_node(v) {
            Some(v)
        } else {
            g.neighbours(v).iter().copied().find(|&u| zone_node(u))
        };
        if let Some(t) = target {
            let h = &ctx.households[i as usize];
            zone_hh[t as usize] += u64::from(h.households);
            zone_pp[t as usize] += u64::from(h.persons.unwrap_or(0));
        }
    }
    let (node_hh, node_pp) = (zone_hh, zone_pp);

    // Re-partition each connected part of the zone with the engine's region step.
    let mut part: Vec<u32> = node_old.clone();
    let dummy = u32::MAX - 1;
    for p in part.iter_mut() {
        if *p == NONE {
            *p = dummy;
        }
    }
    let mut regions_all: Vec<(Vec<usize>, Vec<u32>)> = Vec::new(); // (old grids of the part, node list per region)
    let mut next_id = m as u32;
    let mut region_ids: Vec<u32> = Vec::new();
    let mut region_hh: Vec<u64> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for comp in components(&in_zone, &gadj) {
        let nodes: Vec<u32> = (0..n as u32)
            .filter(|&v| {
                let o = node_old[v as usize];
                o != NONE && comp.binary_search(&(o as usize)).is_ok()
            })
            .collect();
        if nodes.is_empty() {
            continue;
        }
        let (h, p, a) = totals(&comp, cnt_h, cnt_p, &area_of);
        let (k, _) = zone_feasible(rules, has_persons, h, p, a);
        // Keep the number of grids when the rules allow it: fewer codes change.
        let (lo, hi) = k_range(rules, has_persons, h, p, a);
        let want = if lo <= hi {
            comp.len().clamp(lo, hi)
        } else {
            k
        };
        // First choice: move boundary cells between the zone's grids, starting
        // from their previous shapes (moves only about the excess). When that
        // gets stuck, or the zone needs another number of grids, re-partition
        // the zone with the engine's region step.
        // Aim a little inside the bounds first (1 % of the maximum), so the
        // rounding of outlines cannot push a grid back over; then exactly.
        let margin = (rules.max_households / 100).max(1);
        let tight = Rules {
            min_households: (rules.min_households + margin).min(rules.max_households),
            max_households: rules
                .max_households
                .saturating_sub(margin)
                .max(rules.min_households + margin)
                .max(1),
            ..*rules
        };
        let moved = if want == comp.len() {
            [tight, *rules].iter().find_map(|r| {
                transfer(
                    &g,
                    &tess,
                    &nodes,
                    &node_old,
                    &comp,
                    &node_hh,
                    &node_pp,
                    r,
                    has_persons,
                )
            })
        } else {
            None
        };
        let (rk, assignment, households_of) = match moved {
            Some(asg) => {
                let mut hs = vec![0u64; comp.len()];
                for (i, &v) in nodes.iter().enumerate() {
                    hs[asg[i] as usize] += node_hh[v as usize];
                }
                (comp.len(), asg, hs)
            }
            None => {
                let (sub, sg) = sub_problem(&tess, &g, &nodes);
                let sub_hh: Vec<u64> = nodes.iter().map(|&v| node_hh[v as usize]).collect();
                let sub_pp: Vec<u64> = nodes.iter().map(|&v| node_pp[v as usize]).collect();
                let plan = regions::Plan {
                    rules: *rules,
                    has_persons,
                    grid_count: Some(want),
                    balance_tolerance: ctx.options.balance_tolerance,
                };
                let rr = regions::partition_graph(&sg, &sub, &sub_hh, &sub_pp, &plan);
                notes.extend(rr.notes.iter().cloned());
                (rr.k, rr.assignment, rr.households)
            }
        };
        let rr = Regions {
            k: rk,
            assignment,
            households: households_of,
        };
        let mut per_region: Vec<Vec<u32>> = vec![Vec::new(); rr.k];
        for (i, &v) in nodes.iter().enumerate() {
            per_region[rr.assignment[i] as usize].push(v);
        }
        for (r, vs) in per_region.into_iter().enumerate() {
            let id = next_id;
            next_id += 1;
            for &v in &vs {
                part[v as usize] = id;
            }
            region_ids.push(id);
            region_hh.push(rr.households[r]);
            regions_all.push((comp.clone(), vs));
        }
    }
    let k_new = region_ids.len();

    // Codes: each new region takes the code of the zone grid it overlaps most.
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (r, (_, vs)) in regions_all.iter().enumerate() {
        let mut ov: BTreeMap<usize, f64> = BTreeMap::new();
        for &v in vs {
            *ov.entry(node_old[v as usize] as usize).or_default() += tess.nodes[v as usize].area;
        }
        for (j, a) in ov {
            pairs.push((a, r, j));
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut code_of: Vec<Option<usize>> = vec![None; k_new];
    let mut taken = vec![false; m];
    for &(_, r, j) in &pairs {
        if code_of[r].is_none() && !taken[j] {
            code_of[r] = Some(j);
            taken[j] = true;
        }
    }

    // Outlines: the engine's dissolve, clipped to the zone, and the rest of the
    // zone given to the nearest adjusted grid.
    let pts = dissolve::NodePoints::new(n, &hh_node);
    let snap = &tess.snap;
    let mut zone_poly = MultiPolygon::<f64>(vec![]);
    for &j in &zone {
        zone_poly = snap_union(snap, &zone_poly, &old_grids[j].geometry);
    }
    let mut geoms: Vec<MultiPolygon<f64>> = region_ids
        .par_iter()
        .map(|&id| {
            let raw = dissolve::region_geometry(&tess, &part, id, &pts, &Splits::default());
            snap.intersection(&raw, &zone_poly)
        })
        .collect();
    let mut all = MultiPolygon::<f64>(vec![]);
    for gm in &geoms {
        all.0.extend(gm.0.iter().cloned());
    }
    let leftover = snap_difference(snap, &zone_poly, &all);
    let min_piece = snap.unit() * snap.unit() * 16.0;
    for piece in leftover.0 {
        if geo::Area::unsigned_area(&piece) <= min_piece {
            continue;
        }
        if !attach(snap, &mut geoms, &piece, None) {
            // Nothing it shares an edge with: the nearest grid still takes it,
            // so the zone stays tiled.
            if let Some(ip) = piece.interior_point() {
                let best = geoms
                    .iter()
                    .enumerate()
                    .map(|(r, gm)| (Euclidean.distance(gm, &ip), r))
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if let Some((_, r)) = best {
                    geoms[r] = snap_union(snap, &geoms[r], &MultiPolygon(vec![piece]));
                }
            }
        }
    }
    // Crumbs: a part smaller than a cell that the clip to the zone cut off a
    // grid (a cell corner beyond a neighbour's corner) joins the grid it shares
    // an edge with, so every grid stays one polygon.
    let cell_deg2 = {
        // One cell's area in degrees² (degrees per metre from the local frame).
        let a = frame.to_degrees(Coord { x: 0.0, y: 0.0 });
        let b = frame.to_degrees(Coord { x: 1.0, y: 1.0 });
        res.area_m2() * ((b.x - a.x) * (b.y - a.y)).abs()
    };
    for r in 0..geoms.len() {
        if geoms[r].0.len() < 2 {
            continue;
        }
        let mut parts = std::mem::take(&mut geoms[r].0);
        parts.sort_by(|a, b| geo::Area::unsigned_area(b).total_cmp(&geo::Area::unsigned_area(a)));
        let mut keep = vec![parts.remove(0)];
        for p in parts {
            if geo::Area::unsigned_area(&p) < cell_deg2 && attach(snap, &mut geoms, &p, Some(r)) {
                continue;
            }
            keep.push(p);
        }
        geoms[r] = MultiPolygon(keep);
    }
    let geoms: Vec<MultiPolygon<f64>> = geoms
        .into_iter()
        .map(|gm| {
            use geo::orient::{Direction, Orient};
            gm.orient(Direction::Default)
        })
        .collect();

    // Households of the zone → new grids, by the output polygons.
    let zone_rings: Vec<BandedRings> = geoms.iter().map(BandedRings::new).collect();
    let zone_boxes: Vec<Option<Rect<f64>>> = geoms.iter().map(|g| g.bounding_rect()).collect();
    let mut assign_local: Vec<u32> = Vec::with_capacity(hh.len());
    let mut new_h = vec![0u64; k_new];
    let mut new_p = vec![0u64; k_new];
    for (&i, &j) in hh.iter().zip(hh_old) {
        if !in_zone[j as usize] {
            assign_local.push(j);
            continue;
        }
        let h = &ctx.households[i as usize];
        let p = h.location.0;
        let r = (0..k_new)
            .find(|&r| {
                zone_boxes[r].is_some_and(|b| {
                    p.x >= b.min().x && p.x <= b.max().x && p.y >= b.min().y && p.y <= b.max().y
                }) && zone_rings[r].covers(p)
            })
            .unwrap_or_else(|| {
                (0..k_new)
                    .map(|r| (Euclidean.distance(&geoms[r], &Point(p)), r))
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                    .map_or(0, |x| x.1)
            });
        new_h[r] += u64::from(h.households);
        new_p[r] += u64::from(h.persons.unwrap_or(0));
        assign_local.push(m as u32 + r as u32);
    }
    let after_bad = (0..k_new)
        .filter(|&r| {
            let (a, _) = metrics::area_perimeter_m(&geoms[r], &frame);
            !rule_issues(rules, has_persons, new_h[r], new_p[r], a).is_empty()
        })
        .count();
    let broken_n = broken.len();
    if after_bad >= before_bad || k_new == 0 {
        return Ok(Repair::NoGain(
            format!(
                "{broken_n} grid(s) break the rules but re-balancing {} grid(s) would leave {after_bad} breaking: kept as they are",
                zone.len()
            ),
            u8::from(res),
            n,
        ));
    }

    // Output grids.
    let barrier_len = super::graph::barrier_length_per_region(
        &tess,
        &part,
        next_id as usize,
        ctx.barriers,
        &Splits::default(),
    );
    let old_codes: Vec<&str> = old_grids.iter().map(|g| g.code.as_str()).collect();
    let mut source = CodeSource::new(&area.code, &old_codes, ctx.retired_codes);
    let mut out: Vec<OutGrid> = Vec::with_capacity(m + k_new);
    // Local index of each output grid: old j for kept grids, m + r for regions.
    let mut slot = vec![u32::MAX; m + k_new];
    for j in 0..m {
        if in_zone[j] {
            continue;
        }
        slot[j] = out.len() as u32;
        out.push((
            keep_grid(old_grids[j], cnt_h[j], cnt_p[j], rules, has_persons),
            GridChange::Unchanged,
            Some(prev[j]),
            String::new(),
        ));
    }
    // New codes in reading order.
    let centroids: Vec<Coord<f64>> = geoms
        .iter()
        .map(|gm| metrics::centroid_local(gm, &frame))
        .collect();
    let order = codes::reading_order(&centroids, area_m2 / (m + k_new).max(1) as f64);
    let broken_codes: Vec<&str> = broken.iter().map(|&j| old_codes[j]).collect();
    let reason = format!(
        "re-balanced with {} because {} broke the rules",
        zone.iter()
            .map(|&j| old_codes[j])
            .collect::<Vec<_>>()
            .join(", "),
        broken_codes.join(", ")
    );
    for &r in &order {
        let geom = geoms[r].clone();
        let (a_m2, perim) = metrics::area_perimeter_m(&geom, &frame);
        let mut issues = rule_issues(rules, has_persons, new_h[r], new_p[r], a_m2);
        if geom.0.len() > 1 {
            issues.push(format!(
                "grid is in {} parts: the area's boundary pinches it (the parts touch only along a slit or at a point)",
                geom.0.len()
            ));
        }
        let (code, kind, prev_idx) = match code_of[r] {
            Some(j) => (
                old_codes[j].to_string(),
                GridChange::Adjusted,
                Some(prev[j]),
            ),
            None => (source.take(&area.code), GridChange::New, None),
        };
        slot[m + r] = out.len() as u32;
        out.push((
            Grid {
                code,
                parent_code: area.code.clone(),
                within_rules: issues.iter().all(|s| s.starts_with("grid is in")),
                compactness: metrics::polsby_popper(a_m2, perim),
                area_m2: a_m2,
                households: new_h[r],
                persons: new_p[r],
                barrier_length_m: barrier_len[region_ids[r] as usize],
                issues,
                geometry: geom,
            },
            kind,
            prev_idx,
            reason.clone(),
        ));
    }
    let retired: Vec<(usize, String)> = zone
        .iter()
        .filter(|&&j| !taken[j])
        .map(|&j| (prev[j], reason.clone()))
        .collect();
    let assignment = hh
        .iter()
        .zip(&assign_local)
        .map(|(&i, &l)| (i, slot[l as usize]))
        .collect();
    notes.insert(
        0,
        format!(
            "{broken_n} grid(s) broke the rules; {} grid(s) re-balanced into {k_new}",
            zone.len()
        ),
    );
    Ok(Repair::Done(Repaired {
        grids: out,
        assignment,
        retired,
        notes,
        res: u8::from(res),
        nodes: n,
    }))
}

/// Regions of one zone part: count, region per zone node, households per region.
struct Regions {
    k: usize,
    assignment: Vec<u32>,
    households: Vec<u64>,
}

/// Rule violation of one grid, normalised so measures can be added: 0 when
/// the grid is within the rules.
fn violation(rules: &Rules, has_persons: bool, h: u64, p: u64, a: f64) -> f64 {
    let mut v = 0.0;
    if h > rules.max_households {
        v += (h - rules.max_households) as f64 / rules.max_households.max(1) as f64;
    }
    if h < rules.min_households {
        v += (rules.min_households - h) as f64 / rules.min_households.max(1) as f64;
    }
    if has_persons {
        if let Some(mp) = rules.max_persons {
            if p > mp {
                v += (p - mp) as f64 / mp.max(1) as f64;
            }
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        if a > ma {
            v += (a - ma) / ma;
        }
    }
    v
}

/// Minimal repair: starting from the previous grids of a zone part, moves one
/// boundary cell at a time from the grid breaking the rules most to a
/// neighbouring zone grid (or, for a grid below the minimum, pulls one in),
/// taking the cell nearest the receiving grid's centre so shapes stay compact.
/// Every move strictly reduces the violating grid's breach and keeps the
/// other grid within the rules and both connected, so it terminates. Returns
/// the region (index into `comp`) of each zone node, or `None` when it gets
/// stuck (the caller then re-partitions the zone).
#[allow(clippy::too_many_arguments)]
fn transfer(
    g: &Graph,
    tess: &Tessellation,
    nodes: &[u32],
    node_old: &[u32],
    comp: &[usize],
    w: &[u64],
    pp: &[u64],
    rules: &Rules,
    has_persons: bool,
) -> Option<Vec<u32>> {
    let k = comp.len();
    let mut reg = vec![NONE; tess.nodes.len()];
    let mut h = vec![0u64; k];
    let mut p = vec![0u64; k];
    let mut a = vec![0.0f64; k];
    let mut cnt = vec![0usize; k];
    let (mut sx, mut sy) = (vec![0.0f64; k], vec![0.0f64; k]);
    for &v in nodes {
        let r = comp.binary_search(&(node_old[v as usize] as usize)).ok()? as u32;
        reg[v as usize] = r;
        let (vi, ri) = (v as usize, r as usize);
        let nd = &tess.nodes[vi];
        h[ri] += w[vi];
        p[ri] += pp[vi];
        a[ri] += nd.area;
        cnt[ri] += 1;
        sx[ri] += nd.centroid.x * nd.area;
        sy[ri] += nd.centroid.y * nd.area;
    }
    let viol = |h: u64, p: u64, a: f64| violation(rules, has_persons, h, p, a);
    let mut seen = vec![0u32; tess.nodes.len()];
    let mut stamp = 0u32;
    // Would region r stay connected without v? (BFS inside r, skipping v.)
    let mut stays = |reg: &[u32], r: u32, v: u32, cnt: usize| -> bool {
        if cnt <= 1 {
            return false;
        }
        let Some(&start) = g.neighbours(v).iter().find(|&&u| reg[u as usize] == r) else {
            return false;
        };
        stamp += 1;
        seen[v as usize] = stamp;
        seen[start as usize] = stamp;
        let mut stack = vec![start];
        let mut reached = 1usize;
        while let Some(x) = stack.pop() {
            for &u in g.neighbours(x) {
                if reg[u as usize] == r && seen[u as usize] != stamp {
                    seen[u as usize] = stamp;
                    reached += 1;
                    stack.push(u);
                }
            }
        }
        reached == cnt - 1
    };
    for _ in 0..nodes.len() * 4 + 16 {
        let worst = (0..k)
            .map(|r| (viol(h[r], p[r], a[r]), r))
            .filter(|x| x.0 > 0.0)
            .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
        let Some((before, ra)) = worst else {
            return Some(nodes.iter().map(|&v| reg[v as usize]).collect());
        };
        // Candidate moves (score, node, from, to).
        let mut cands: Vec<(f64, u32, usize, usize)> = Vec::new();
        let under = h[ra] < rules.min_households;
        for &v in nodes {
            let vi = v as usize;
            let rv = reg[vi] as usize;
            let c = tess.nodes[vi].centroid;
            for &u in g.neighbours(v) {
                let ru = reg[u as usize];
                if ru == NONE || ru as usize == rv {
                    continue;
                }
                let ru = ru as usize;
                let (from, to) = if !under && rv == ra {
                    (ra, ru)
                } else if under && ru == ra {
                    (rv, ra)
                } else {
                    continue;
                };
                let nd = &tess.nodes[vi];
                let after_from = viol(h[from] - w[vi], p[from] - pp[vi], a[from] - nd.area);
                let after_to = viol(h[to] + w[vi], p[to] + pp[vi], a[to] + nd.area);
                let ok = if from == ra {
                    after_from < before && after_to == 0.0
                } else {
                    after_to < before && after_from == 0.0
                };
                if !ok {
                    continue;
                }
                let (cx, cy) = (sx[to] / a[to].max(1e-9), sy[to] / a[to].max(1e-9));
                let d = (c.x - cx).powi(2) + (c.y - cy).powi(2);
                // Prefer cells wrapped by the receiving grid (the outline
                // gets shorter) over cells that stick out of it.
                let nb = g.neighbours(v);
                let n_to = nb.iter().filter(|&&x| reg[x as usize] == to as u32).count();
                let n_from = nb
                    .iter()
                    .filter(|&&x| reg[x as usize] == from as u32)
                    .count();
                let score = d * (1 + n_from) as f64 / ((1 + n_to) * (1 + n_to)) as f64;
                cands.push((score, v, from, to));
            }
        }
        cands.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.3.cmp(&y.3)));
        cands.dedup_by(|x, y| x.1 == y.1 && x.3 == y.3);
        let mut done = false;
        for &(_, v, from, to) in cands.iter().take(32) {
            if !stays(&reg, from as u32, v, cnt[from]) {
                continue;
            }
            let vi = v as usize;
            let nd = &tess.nodes[vi];
            reg[vi] = to as u32;
            h[from] -= w[vi];
            h[to] += w[vi];
            p[from] -= pp[vi];
            p[to] += pp[vi];
            a[from] -= nd.area;
            a[to] += nd.area;
            cnt[from] -= 1;
            cnt[to] += 1;
            sx[from] -= nd.centroid.x * nd.area;
            sy[from] -= nd.centroid.y * nd.area;
            sx[to] += nd.centroid.x * nd.area;
            sy[to] += nd.centroid.y * nd.area;
            done = true;
            break;
        }
        if !done {
            return None;
        }
    }
    None
}

/// Gives `piece` to the grid (other than `not`) it shares an edge with: the
/// nearest grids are tried in order and the first whose union with the piece
/// is no more parts than before takes it. False when none does.
fn attach(
    snap: &Snap,
    geoms: &mut [MultiPolygon<f64>],
    piece: &Polygon<f64>,
    not: Option<usize>,
) -> bool {
    let Some(ip) = piece.interior_point() else {
        return false;
    };
    let mut cands: Vec<(f64, usize)> = geoms
        .iter()
        .enumerate()
        .filter(|(r, gm)| Some(*r) != not && !gm.0.is_empty())
        .map(|(r, gm)| (Euclidean.distance(gm, &ip), r))
        .collect();
    cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let pm = MultiPolygon(vec![piece.clone()]);
    for &(_, r) in cands.iter().take(4) {
        let u = snap_union(snap, &geoms[r], &pm);
        if u.0.len() <= geoms[r].0.len() {
            geoms[r] = u;
            return true;
        }
    }
    false
}

/// Feasible range of grid counts for totals (lo > hi when none is).
fn k_range(rules: &Rules, has_persons: bool, t: u64, p: u64, a: f64) -> (usize, usize) {
    let mut lo = 1u64.max(t.div_ceil(rules.max_households.max(1)));
    if has_persons {
        if let Some(mp) = rules.max_persons {
            lo = lo.max(p.div_ceil(mp.max(1)));
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        lo = lo.max((a / ma).ceil() as u64);
    }
    let hi = t.checked_div(rules.min_households).unwrap_or(u64::MAX);
    (lo as usize, hi.min(usize::MAX as u64) as usize)
}

fn totals(comp: &[usize], h: &[u64], p: &[u64], a: &[f64]) -> (u64, u64, f64) {
    comp.iter().fold((0, 0, 0.0), |acc, &j| {
        (acc.0 + h[j], acc.1 + p[j], acc.2 + a[j])
    })
}

/// Connected groups (sorted) of the grids marked in `mark`.
fn components(mark: &[bool], adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mark.len()];
    let mut out = Vec::new();
    for s in 0..mark.len() {
        if !mark[s] || seen[s] {
            continue;
        }
        let mut stack = vec![s];
        seen[s] = true;
        let mut c = Vec::new();
        while let Some(v) = stack.pop() {
            c.push(v);
            for &u in &adj[v] {
                if mark[u] && !seen[u] {
                    seen[u] = true;
                    stack.push(u);
                }
            }
        }
        c.sort_unstable();
        out.push(c);
    }
    out
}
