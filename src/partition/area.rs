//! One area, end to end: cells, graph, regions, outlines, grids.
//!
//! Each phase runs in its own `tracing` span (level `debug`, target
//! `wangge::partition`), so the timings of concurrent areas and jobs stay
//! apart; `RUST_LOG=wangge::partition=debug` prints them when spans close.

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon, Point};
use tracing::debug_span;

use super::outline::Outlines;
use super::tessellate::Tessellation;
use super::{
    codes, graph, metrics, polsby_popper, refine, regions, rule_repair, tessellate, AreaReport,
    PartitionError, PartitionOptions,
};
use crate::geodesy::LocalFrame;
use crate::model::{Area, Grid, Household, Rules};
use crate::progress::Progress;

pub(crate) struct AreaResult {
    pub(crate) grids: Vec<Grid>,
    /// (household index, grid index within this area)
    pub(crate) assignment: Vec<(u32, u32)>,
    pub(crate) report: AreaReport,
}

/// The area's nodes and what stands in them.
pub(crate) struct Loads {
    /// Households per node.
    pub(crate) households: Vec<u64>,
    /// Persons per node.
    pub(crate) persons: Vec<u64>,
    /// (household index, node) for the area's household locations.
    pub(crate) hh_node: Vec<(u32, u32)>,
    pub(crate) has_persons: bool,
}

/// Households a node may hold at several distinct locations before it is cut
/// into pieces (see [`refine`]): the width of the rule band, so a node can
/// always move between two grids without pushing both out of the rules.
pub(crate) fn refine_limit(rules: &Rules) -> u64 {
    rules
        .max_households
        .saturating_sub(rules.min_households)
        .max(rules.max_households / 4)
        .max(1)
}

pub(crate) fn partition_area(
    area: &Area,
    households: &[Household],
    hh: &[u32],
    barriers: &graph::BarrierIndex,
    options: &PartitionOptions,
    progress: &dyn Progress,
) -> Result<AreaResult, PartitionError> {
    let _area_span =
        debug_span!("partition area", code = %area.code, households = hh.len()).entered();
    let rules = options.rules_for(area);
    let bbox = area.geometry.bounding_rect().expect("validated non-empty");
    let frame = LocalFrame::new(Point(bbox.center()));
    let area_m2 = metrics::multipolygon_area_m2(&area.geometry, &frame);
    let total: u64 = hh
        .iter()
        .map(|&i| u64::from(households[i as usize].households))
        .sum();
    let res = match options.resolution {
        Some(r) => r,
        None => debug_span!("resolution")
            .in_scope(|| tessellate::choose_resolution(households, hh, total, area_m2, &rules)),
    };
    let tess = debug_span!("tessellate").in_scope(|| {
        let mut tess =
            Tessellation::new(area, res, frame).map_err(|e| PartitionError::InvalidArea {
                code: area.code.clone(),
                reason: e,
            })?;
        let locations: Vec<(Coord<f64>, u64)> = hh
            .iter()
            .map(|&i| {
                let h = &households[i as usize];
                (h.location.0, u64::from(h.households))
            })
            .collect();
        refine::refine(&mut tess, &locations, refine_limit(&rules));
        Ok::<_, PartitionError>(tess)
    })?;
    if progress.cancelled() {
        return Err(PartitionError::Cancelled);
    }
    let loads = debug_span!("locate").in_scope(|| locate_households(&tess, households, hh));
    let g = debug_span!("graph").in_scope(|| {
        graph::Graph::build(&tess, &area.geometry, barriers, options.barrier_cut_cost)
    });
    let plan = regions::Plan {
        rules,
        has_persons: loads.has_persons,
        grid_count: options.grid_counts.get(&area.code).copied(),
        balance_tolerance: options.balance_tolerance,
    };
    let part = debug_span!("regions")
        .in_scope(|| regions::partition_graph(&g, &tess, &loads.households, &loads.persons, &plan));
    let mut part = debug_span!("rebalance").in_scope(|| {
        rule_repair::rebalance(
            &g,
            &tess,
            &loads.households,
            &loads.persons,
            part,
            &rules,
            loads.has_persons,
        )
    });
    if progress.cancelled() {
        return Err(PartitionError::Cancelled);
    }
    let outlines = debug_span!("outlines")
        .in_scope(|| Outlines::build(&tess, &g, &part, barriers, households, &loads, &rules));
    let hh_region = debug_span!("settle households")
        .in_scope(|| outlines.settle_households(&tess, &g, &mut part, households, &loads));
    let (grids, assignment) = debug_span!("grids").in_scope(|| {
        make_grids(
            area, &tess, &g, &part, outlines, barriers, households, &loads, &hh_region, &rules,
            area_m2,
        )
    });
    let report = AreaReport {
        code: area.code.clone(),
        resolution: u8::from(res),
        nodes: tess.nodes.len(),
        grids: part.k,
        households: total,
        persons: loads.persons.iter().sum(),
        rules,
        feasible: part.feasible,
        notes: part.notes.clone(),
    };
    Ok(AreaResult {
        grids,
        assignment,
        report,
    })
}

/// Households → nodes, with the per-node totals the region step balances.
fn locate_households(tess: &Tessellation, households: &[Household], hh: &[u32]) -> Loads {
    let n = tess.nodes.len();
    let mut loads = Loads {
        households: vec![0; n],
        persons: vec![0; n],
        hh_node: Vec::with_capacity(hh.len()),
        has_persons: hh.iter().any(|&i| households[i as usize].persons.is_some()),
    };
    for &i in hh {
        let h = &households[i as usize];
        let v = tess.locate(h.location.0);
        loads.households[v as usize] += u64::from(h.households);
        loads.persons[v as usize] += u64::from(h.persons.unwrap_or(0));
        loads.hh_node.push((i, v));
    }
    loads
}

/// Measures, checks and codes the grids; returns them in code order and the
/// (household, grid) assignment.
#[allow(clippy::too_many_arguments)]
fn make_grids(
    area: &Area,
    tess: &Tessellation,
    g: &graph::Graph,
    part: &regions::RegionResult,
    outlines: Outlines,
    barriers: &graph::BarrierIndex,
    households: &[Household],
    loads: &Loads,
    hh_region: &[u32],
    rules: &Rules,
    area_m2: f64,
) -> (Vec<Grid>, Vec<(u32, u32)>) {
    let k = part.k;
    let frame = tess.frame;
    let barrier_len =
        graph::barrier_length_per_region(tess, &part.assignment, k, barriers, &outlines.splits);
    let mut locations = region_locations(households, loads, hh_region, k);
    let neighbours = region_neighbours(g, part);
    let mut grids: Vec<Grid> = Vec::with_capacity(k);
    let mut centroids: Vec<Coord<f64>> = Vec::with_capacity(k);
    for (r, geom) in outlines.geoms.into_iter().enumerate() {
        let (a_m2, perim) = metrics::area_perimeter_m(&geom, &frame);
        let households = part.households[r];
        let persons = part.persons[r];
        let mut issues = Vec::new();
        let state = metrics::GridState {
            households,
            persons,
            area_m2: a_m2,
            locations: std::mem::take(&mut locations[r]),
            neighbours: neighbours[r]
                .iter()
                .map(|&q| part.households[q as usize])
                .collect(),
        };
        metrics::check_rules(rules, loads.has_persons, &state, part, &mut issues);
        if geom.0.len() > 1 {
            issues.push(multipart_issue(&geom, part.has_satellite[r]));
        }
        centroids.push(metrics::centroid_local(&geom, &frame));
        // A grid in parts only because the area is in pieces is still
        // within the rules; the note says so.
        let within_rules = issues.iter().all(|s| s.starts_with("grid is in"));
        grids.push(Grid {
            code: String::new(),
            parent_code: area.code.clone(),
            within_rules,
            compactness: polsby_popper(a_m2, perim),
            area_m2: a_m2,
            households,
            persons,
            barrier_length_m: barrier_len[r],
            issues,
            geometry: geom,
        });
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
    let assignment = loads
        .hh_node
        .iter()
        .zip(hh_region)
        .map(|(&(i, _), &r)| (i, rank[r as usize]))
        .collect();
    (out, assignment)
}

/// Households at each distinct location (features at one point are one
/// building) of every region, heaviest first: what a reason for a grid
/// outside the rules may cite, since a location is never split.
fn region_locations(
    households: &[Household],
    loads: &Loads,
    hh_region: &[u32],
    k: usize,
) -> Vec<Vec<u64>> {
    let mut at: Vec<(u32, u64, u64, u64)> = loads
        .hh_node
        .iter()
        .zip(hh_region)
        .map(|(&(i, _), &r)| {
            let h = &households[i as usize];
            (
                r,
                h.location.x().to_bits(),
                h.location.y().to_bits(),
                u64::from(h.households),
            )
        })
        .collect();
    at.sort_unstable();
    let mut out: Vec<Vec<u64>> = vec![Vec::new(); k];
    for same in at.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
        out[same[0].0 as usize].push(same.iter().map(|e| e.3).sum());
    }
    for list in &mut out {
        list.sort_unstable_by(|a, b| b.cmp(a));
    }
    out
}

/// For every region, the regions it shares an edge with (sorted).
fn region_neighbours(g: &graph::Graph, part: &regions::RegionResult) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); part.k];
    for v in 0..g.len() as u32 {
        let r = part.assignment[v as usize];
        for &u in g.neighbours(v) {
            let q = part.assignment[u as usize];
            if q != r {
                out[r as usize].push(q);
            }
        }
    }
    for list in &mut out {
        list.sort_unstable();
        list.dedup();
    }
    out
}

fn multipart_issue(geom: &MultiPolygon<f64>, has_satellite: bool) -> String {
    if has_satellite {
        format!(
            "grid is in {} parts because the area itself is in pieces (detached parts joined to the nearest grid)",
            geom.0.len()
        )
    } else {
        format!(
            "grid is in {} parts: the area's boundary pinches it (the parts touch only along a slit or at a point)",
            geom.0.len()
        )
    }
}
