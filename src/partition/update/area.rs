//! One area's update (steps 2–3 of the module docs): an area without previous
//! grids, or whose previous grids no longer tile it, is partitioned afresh
//! ([`fresh_area`]); otherwise its households are recounted in the previous
//! grids, which are kept as they are when none breaks a rule, and repaired
//! ([`super::repair`]) when some do.

use std::collections::HashMap;

use geo::{BooleanOps, BoundingRect, Distance, Euclidean};
use geo_types::{Point, Rect};

use super::super::graph::BarrierIndex;
use super::super::tessellate::NONE;
use super::super::{metrics, partition_area, regions, AreaReport, PartitionOptions};
use super::codes::{match_by_overlap, CodeSource};
use super::repair::{repair, Repair};
use super::rules::{keep_grid, rule_issues};
use super::{AreaChange, AreaUpdateMode, GridChange, RetiredCode, UpdateError};
use crate::geodesy::LocalFrame;
use crate::model::{Area, Grid, Household, Rules};
use crate::progress::Progress;

/// What every area's update reads.
pub(super) struct Ctx<'a> {
    pub households: &'a [Household],
    pub previous: &'a [Grid],
    /// Index in `previous` of the grid holding each household.
    pub household_previous: &'a [Option<u32>],
    pub barriers: &'a BarrierIndex,
    pub options: &'a PartitionOptions,
    pub retired_codes: &'a [RetiredCode],
    pub progress: &'a dyn Progress,
}

/// (grid, change, index in previous, reason)
pub(super) type OutGrid = (Grid, GridChange, Option<usize>, String);

/// One area's part of the update.
pub(super) struct AreaOutcome {
    /// Sorted by code.
    pub grids: Vec<OutGrid>,
    /// (household index, grid index within this area)
    pub assignment: Vec<(u32, u32)>,
    /// (index in previous, reason)
    pub retired: Vec<(usize, String)>,
    pub report: AreaReport,
    pub change: AreaChange,
}

/// An area's new grids before they are sorted by code.
pub(super) struct AreaGrids {
    pub grids: Vec<OutGrid>,
    /// (household index, index in `grids`)
    pub assignment: Vec<(u32, u32)>,
    /// (index in previous, reason)
    pub retired: Vec<(usize, String)>,
}

/// What an area's report says besides its grids and notes.
pub(super) struct AreaFacts {
    pub rules: Rules,
    /// H3 resolution of the cells (0 when the area was not tessellated).
    pub resolution: u8,
    pub nodes: usize,
    pub households: u64,
    pub persons: u64,
    pub feasible: bool,
}

/// An area with previous grids, and the rules it is updated under.
pub(super) struct AreaView<'a> {
    pub area: &'a Area,
    /// The area's households (indices into the input households).
    pub hh: &'a [u32],
    /// The area's previous grids (indices into `previous`); a grid's local
    /// index is its position here.
    pub prev: &'a [usize],
    pub rules: Rules,
    pub has_persons: bool,
    pub frame: LocalFrame,
    pub area_m2: f64,
}

/// The area's households located in its previous grids, and the grids' new
/// counts.
pub(super) struct Recount {
    /// Local index of the previous grid holding each of the area's households.
    pub hh_old: Vec<u32>,
    /// Households and persons of each previous grid now.
    pub cnt_h: Vec<u64>,
    pub cnt_p: Vec<u64>,
}

/// Updates one area: `hh` are its households and `prev` its previous grids.
pub(super) fn update_area(
    ctx: &Ctx<'_>,
    area: &Area,
    hh: &[u32],
    prev: &[usize],
) -> Result<AreaOutcome, UpdateError> {
    let rules = ctx.options.rules_for(area);
    let has_persons = hh
        .iter()
        .any(|&i| ctx.households[i as usize].persons.is_some());
    let bbox = area.geometry.bounding_rect().expect("validated non-empty");
    let frame = LocalFrame::new(Point(bbox.center()));
    let area_m2 = metrics::multipolygon_area_m2(&area.geometry, &frame);

    if prev.is_empty() {
        return fresh_area(ctx, area, hh, prev, AreaUpdateMode::New, Vec::new());
    }
    let view = AreaView {
        area,
        hh,
        prev,
        rules,
        has_persons,
        frame,
        area_m2,
    };
    let (hh_old, uncovered) = view.locate_in_previous(ctx);
    if let Some(why) = view.tiling_problem(ctx, bbox, uncovered) {
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

    let recount = Recount::new(ctx, &view, hh_old);
    let broken = recount.broken(ctx, &view);
    let total: u64 = recount.cnt_h.iter().sum();
    let total_p: u64 = recount.cnt_p.iter().sum();
    let (_, feasible) = regions::choose_k(&rules, has_persons, total, total_p, area_m2);
    let facts = |resolution: u8, nodes: usize| AreaFacts {
        rules,
        resolution,
        nodes,
        households: total,
        persons: total_p,
        feasible,
    };
    if broken.is_empty() {
        return Ok(keep_all(ctx, &view, &recount, Vec::new(), facts(0, 0)));
    }
    Ok(match repair(ctx, &view, &recount, &broken)? {
        Repair::Done(out) => finish(
            area,
            out.grids,
            AreaUpdateMode::Rebalanced,
            prev.len(),
            out.notes,
            facts(out.res, out.nodes),
        ),
        Repair::NoGain(note, res, nodes) => {
            keep_all(ctx, &view, &recount, vec![note], facts(res, nodes))
        }
    })
}

impl AreaView<'_> {
    /// Which previous grid of this area holds each household (local index),
    /// and the households no grid holds. A location the global lookup put
    /// elsewhere (a shared area border) or nowhere (a rounding error off the
    /// snapped area boundary) goes to this area's nearest grid when it is
    /// within ~1 cm of it.
    fn locate_in_previous(&self, ctx: &Ctx<'_>) -> (Vec<u32>, u64) {
        let local_of: HashMap<usize, u32> = self
            .prev
            .iter()
            .enumerate()
            .map(|(j, &p)| (p, j as u32))
            .collect();
        let mut hh_old: Vec<u32> = Vec::with_capacity(self.hh.len());
        let mut uncovered = 0u64;
        for &i in self.hh {
            let own = ctx.household_previous[i as usize]
                .and_then(|p| local_of.get(&(p as usize)).copied());
            let j = match own {
                Some(j) => j,
                None => {
                    let pt = Point(ctx.households[i as usize].location.0);
                    let near = self
                        .prev
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
        (hh_old, uncovered)
    }

    /// Why the previous grids no longer tile the area (`bbox` its bounding
    /// box), if they do not: households outside them, grids reaching outside
    /// the area, or grid areas not adding up to the area's.
    fn tiling_problem(&self, ctx: &Ctx<'_>, bbox: Rect<f64>, uncovered: u64) -> Option<String> {
        let grids_m2: f64 = self
            .prev
            .iter()
            .map(|&p| metrics::multipolygon_area_m2(&ctx.previous[p].geometry, &self.frame))
            .sum();
        let tol = 1e-7 + 1e-9 * bbox.width().max(bbox.height());
        let inside_box = self.prev.iter().all(|&p| {
            ctx.previous[p].geometry.bounding_rect().is_some_and(|r| {
                r.min().x >= bbox.min().x - tol
                    && r.min().y >= bbox.min().y - tol
                    && r.max().x <= bbox.max().x + tol
                    && r.max().y <= bbox.max().y + tol
            })
        });
        let area_rel = (grids_m2 - self.area_m2).abs() / self.area_m2.max(1e-9);
        if uncovered > 0 {
            Some(format!(
                "{uncovered} households lie outside every previous grid of the area"
            ))
        } else if !inside_box {
            Some("previous grids reach outside the area".to_string())
        } else if area_rel > 1e-5 {
            Some(format!(
                "previous grids cover {:.1} % of the area",
                100.0 * grids_m2 / self.area_m2.max(1e-9)
            ))
        } else {
            None
        }
    }
}

impl Recount {
    fn new(ctx: &Ctx<'_>, view: &AreaView<'_>, hh_old: Vec<u32>) -> Self {
        let m = view.prev.len();
        let mut cnt_h = vec![0u64; m];
        let mut cnt_p = vec![0u64; m];
        for (&i, &j) in view.hh.iter().zip(&hh_old) {
            let h = &ctx.households[i as usize];
            cnt_h[j as usize] += u64::from(h.households);
            cnt_p[j as usize] += u64::from(h.persons.unwrap_or(0));
        }
        Recount {
            hh_old,
            cnt_h,
            cnt_p,
        }
    }

    /// Previous grids (local indices) that break a rule with their new counts.
    fn broken(&self, ctx: &Ctx<'_>, view: &AreaView<'_>) -> Vec<usize> {
        (0..view.prev.len())
            .filter(|&j| {
                !rule_issues(
                    &view.rules,
                    view.has_persons,
                    self.cnt_h[j],
                    self.cnt_p[j],
                    ctx.previous[view.prev[j]].area_m2,
                )
                .is_empty()
            })
            .collect()
    }
}

/// Every previous grid kept as it is, with its new counts.
fn keep_all(
    ctx: &Ctx<'_>,
    view: &AreaView<'_>,
    recount: &Recount,
    notes: Vec<String>,
    facts: AreaFacts,
) -> AreaOutcome {
    let prev = view.prev;
    let m = prev.len();
    let grids: Vec<OutGrid> = (0..m)
        .map(|j| {
            let old = &ctx.previous[prev[j]];
            (
                keep_grid(
                    old,
                    recount.cnt_h[j],
                    recount.cnt_p[j],
                    &view.rules,
                    view.has_persons,
                ),
                GridChange::Unchanged,
                Some(prev[j]),
                String::new(),
            )
        })
        .collect();
    let assignment = view
        .hh
        .iter()
        .zip(&recount.hh_old)
        .map(|(&i, &j)| (i, j))
        .collect();
    let grids = AreaGrids {
        grids,
        assignment,
        retired: Vec::new(),
    };
    finish(view.area, grids, AreaUpdateMode::Unchanged, m, notes, facts)
}

/// Sorts an area's grids by code, remaps the household assignment, and builds
/// the area's reports.
fn finish(
    area: &Area,
    out: AreaGrids,
    mode: AreaUpdateMode,
    grids_before: usize,
    notes: Vec<String>,
    facts: AreaFacts,
) -> AreaOutcome {
    let AreaGrids {
        mut grids,
        assignment,
        retired,
    } = out;
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
            resolution: facts.resolution,
            nodes: facts.nodes,
            grids: sorted.len(),
            households: facts.households,
            persons: facts.persons,
            rules: facts.rules,
            feasible: facts.feasible,
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
    let (new_of, taken) = match_by_overlap(overlaps(ctx, &r.grids, prev), k, prev.len());
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
                // A new area keeps the engine's numbering unless an earlier
                // update retired codes of its code (the area was removed and
                // came back): then it numbers above them, like any new grid.
                g.code = if prev.is_empty() && !retired_in(ctx.retired_codes, &area.code) {
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
    let facts = AreaFacts {
        rules: rep.rules,
        resolution: rep.resolution,
        nodes: rep.nodes,
        households: rep.households,
        persons: rep.persons,
        feasible: rep.feasible,
    };
    let grids = AreaGrids {
        grids,
        assignment: r.assignment,
        retired,
    };
    Ok(finish(area, grids, mode, prev.len(), notes, facts))
}

/// Whether an earlier update retired any code of the area.
fn retired_in(retired: &[RetiredCode], area_code: &str) -> bool {
    retired.iter().any(|r| r.parent_code == area_code)
}

/// (overlap, new grid, previous grid) of every new grid and previous grid
/// (local index) that overlap; in degrees², only used to rank.
fn overlaps(ctx: &Ctx<'_>, grids: &[Grid], prev: &[usize]) -> Vec<(f64, usize, usize)> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, g) in grids.iter().enumerate() {
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
    pairs
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
