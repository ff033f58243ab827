//! Stage 3 of a repair: new regions for each connected part of the zone.
//! When the part can keep its number of grids, boundary cells move between
//! its grids starting from their previous shapes ([`super::transfer`]), so
//! only about the excess moves; when that gets stuck, or the part needs
//! another number of grids, its cells alone are re-partitioned with the
//! engine's region step.

use std::collections::{BTreeMap, HashMap};

use geo_types::MultiPolygon;

use super::super::super::graph::Graph;
use super::super::super::regions;
use super::super::super::rule_repair;
use super::super::super::snap::Snap;
use super::super::super::tessellate::{Tessellation, NONE};
use super::super::codes::match_by_overlap;
use super::transfer::transfer;
use super::zone::{components, k_range, totals, zone_feasible, Zone, ZoneWeights};
use super::ZoneRepair;
use crate::model::Rules;

/// Region id of the nodes no previous grid claimed.
const UNCLAIMED: u32 = u32::MAX - 1;

/// The zone's new regions.
pub(super) struct ZoneRegions {
    /// Region id of every node: the previous grid's local index outside the
    /// zone, `ids[r]` in new region r, [`UNCLAIMED`] where no grid claimed it.
    pub part: Vec<u32>,
    /// Nodes of each new region.
    pub nodes: Vec<Vec<u32>>,
    /// Id of each new region in `part` (the previous grids' count on).
    pub ids: Vec<u32>,
    /// One past the highest id.
    pub next_id: u32,
    /// What the engine's region step noted.
    pub notes: Vec<String>,
}

impl ZoneRepair<'_> {
    /// New regions for every connected part of the zone.
    pub(super) fn rebalance(&self, zone: &Zone, weights: &ZoneWeights) -> ZoneRegions {
        let node_old = &self.cells.node_old;
        let n = node_old.len();
        let m = self.old_grids.len() as u32;
        let mut out = ZoneRegions {
            part: node_old
                .iter()
                .map(|&o| if o == NONE { UNCLAIMED } else { o })
                .collect(),
            nodes: Vec::new(),
            ids: Vec::new(),
            next_id: m,
            notes: Vec::new(),
        };
        for comp in components(&zone.in_zone, &self.cells.gadj) {
            let nodes: Vec<u32> = (0..n as u32)
                .filter(|&v| {
                    let o = node_old[v as usize];
                    o != NONE && comp.binary_search(&(o as usize)).is_ok()
                })
                .collect();
            if nodes.is_empty() {
                continue;
            }
            let (k, assignment) = self.regions_of_part(&comp, &nodes, weights, &mut out.notes);
            let mut per_region: Vec<Vec<u32>> = vec![Vec::new(); k];
            for (i, &v) in nodes.iter().enumerate() {
                per_region[assignment[i] as usize].push(v);
            }
            for vs in per_region {
                let id = out.next_id;
                out.next_id += 1;
                for &v in &vs {
                    out.part[v as usize] = id;
                }
                out.ids.push(id);
                out.nodes.push(vs);
            }
        }
        out
    }

    /// Regions for one connected part `comp` (sorted previous grids) of the
    /// zone, whose nodes are `nodes`: their number, and the region of each
    /// node. Keeps the number of grids when the rules allow it (fewer codes
    /// change) and then first tries moving boundary cells, aiming a little
    /// inside the bounds (1 % of the maximum, so the rounding of outlines
    /// cannot push a grid back over), then exactly.
    fn regions_of_part(
        &self,
        comp: &[usize],
        nodes: &[u32],
        weights: &ZoneWeights,
        notes: &mut Vec<String>,
    ) -> (usize, Vec<u32>) {
        let (rules, has_persons) = (&self.view.rules, self.view.has_persons);
        let (h, p, a) = totals(
            comp,
            &self.recount.cnt_h,
            &self.recount.cnt_p,
            &self.area_of,
        );
        let (k, _) = zone_feasible(rules, has_persons, h, p, a);
        let (lo, hi) = k_range(rules, has_persons, h, p, a);
        let want = if lo <= hi {
            comp.len().clamp(lo, hi)
        } else {
            k
        };
        if want == comp.len() {
            let moved = [tight(rules), *rules]
                .iter()
                .find_map(|r| transfer(&self.cells, nodes, comp, weights, r, has_persons));
            if let Some(asg) = moved {
                return (comp.len(), asg);
            }
        }
        let cells = &self.cells;
        let (sub, sg) = sub_problem(&cells.tess, &cells.g, nodes);
        let sub_hh: Vec<u64> = nodes.iter().map(|&v| weights.node_hh[v as usize]).collect();
        let sub_pp: Vec<u64> = nodes.iter().map(|&v| weights.node_pp[v as usize]).collect();
        let plan = regions::Plan {
            rules: *rules,
            has_persons,
            grid_count: Some(want),
            balance_tolerance: self.ctx.options.balance_tolerance,
        };
        let rr = regions::partition_graph(&sg, &sub, &sub_hh, &sub_pp, &plan);
        let rr = rule_repair::rebalance(&sg, &sub, &sub_hh, &sub_pp, rr, rules, has_persons);
        notes.extend(rr.notes.iter().cloned());
        (rr.k, rr.assignment)
    }

    /// The zone grid each new region takes its code from (the one it overlaps
    /// most, one to one), and which zone grids passed their code on.
    pub(super) fn inherited_codes(&self, regions: &ZoneRegions) -> (Vec<Option<usize>>, Vec<bool>) {
        let (tess, node_old) = (&self.cells.tess, &self.cells.node_old);
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (r, vs) in regions.nodes.iter().enumerate() {
            let mut ov: BTreeMap<usize, f64> = BTreeMap::new();
            for &v in vs {
                *ov.entry(node_old[v as usize] as usize).or_default() +=
                    tess.nodes[v as usize].area;
            }
            for (j, a) in ov {
                pairs.push((a, r, j));
            }
        }
        match_by_overlap(pairs, regions.nodes.len(), self.old_grids.len())
    }
}

/// The rules narrowed by 1 % of the maximum on both sides.
fn tight(rules: &Rules) -> Rules {
    let margin = (rules.max_households / 100).max(1);
    Rules {
        min_households: (rules.min_households + margin).min(rules.max_households),
        max_households: rules
            .max_households
            .saturating_sub(margin)
            .max(rules.min_households + margin)
            .max(1),
        ..*rules
    }
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
