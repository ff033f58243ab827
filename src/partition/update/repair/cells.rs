//! Stage 1 of a repair: the area's cells, and which previous grid each lies
//! in. The area is tessellated at the resolution the previous grids were
//! built from, so the zone's cells are exactly the engine's cells.

use geo::{BoundingRect, InteriorPoint};
use geo_types::{Coord, Rect};
use h3o::Resolution;
use rayon::prelude::*;

use super::super::super::area::refine_limit;
use super::super::super::graph::Graph;
use super::super::super::pip::BandedRings;
use super::super::super::refine;
use super::super::super::tessellate::{self, Tessellation, NONE};
use super::super::super::PartitionError;
use super::super::area::{AreaView, Ctx};
use super::super::UpdateError;
use super::resolution::infer_resolution;
use crate::model::Grid;

/// The area's cells and their previous grids.
pub(super) struct ZoneCells {
    pub res: Resolution,
    pub tess: Tessellation,
    pub g: Graph,
    /// Previous grid (local index) of each node; `NONE` when no grid claims
    /// it even through its neighbours.
    pub node_old: Vec<u32>,
    /// Previous grids next to each previous grid (sorted).
    pub gadj: Vec<Vec<usize>>,
}

impl ZoneCells {
    /// Tessellates the area and locates every node in the previous grids;
    /// `cnt_h` are the grids' new household counts.
    pub fn new(
        ctx: &Ctx<'_>,
        view: &AreaView<'_>,
        old_grids: &[&Grid],
        cnt_h: &[u64],
    ) -> Result<Self, UpdateError> {
        let area = view.area;
        let total: u64 = cnt_h.iter().sum();
        let guess = match ctx.options.resolution {
            Some(r) => r,
            None => tessellate::choose_resolution(
                ctx.households,
                view.hh,
                total,
                view.area_m2,
                &view.rules,
            ),
        };
        let res = infer_resolution(area, old_grids, guess);
        let mut tess =
            Tessellation::new(area, res, view.frame).map_err(|e| PartitionError::InvalidArea {
                code: area.code.clone(),
                reason: e,
            })?;
        // Heavy cells are cut between their buildings, as in a fresh
        // partition, so a repair can put two towers in two grids.
        let locations: Vec<(Coord<f64>, u64)> = view
            .hh
            .iter()
            .map(|&i| {
                let h = &ctx.households[i as usize];
                (h.location.0, u64::from(h.households))
            })
            .collect();
        refine::refine(&mut tess, &locations, refine_limit(&view.rules));
        let g = Graph::build(
            &tess,
            &area.geometry,
            ctx.barriers,
            ctx.options.barrier_cut_cost,
        );
        let mut node_old = locate_nodes(&tess, old_grids);
        claim_for_neighbours(&g, &mut node_old);
        let gadj = grid_adjacency(&g, &node_old, old_grids.len());
        Ok(ZoneCells {
            res,
            tess,
            g,
            node_old,
            gadj,
        })
    }
}

/// The previous grid holding each node, by a point inside the node (`NONE`
/// when none does).
fn locate_nodes(tess: &Tessellation, old_grids: &[&Grid]) -> Vec<u32> {
    let m = old_grids.len();
    let rings: Vec<BandedRings> = old_grids
        .iter()
        .map(|g| BandedRings::new(&g.geometry))
        .collect();
    let boxes: Vec<Option<Rect<f64>>> = old_grids
        .iter()
        .map(|g| g.geometry.bounding_rect())
        .collect();
    (0..tess.nodes.len())
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
        .collect()
}

/// Nodes no grid claimed (rounding at the area boundary) take their
/// neighbours' grid, spreading at most four nodes deep.
fn claim_for_neighbours(g: &Graph, node_old: &mut [u32]) {
    for _ in 0..4 {
        let mut changed = false;
        for v in 0..node_old.len() {
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
}

/// Grid adjacency from the cell graph: the previous grids next to each of
/// the `m` previous grids, sorted.
fn grid_adjacency(g: &Graph, node_old: &[u32], m: usize) -> Vec<Vec<usize>> {
    let mut gadj: Vec<Vec<usize>> = vec![Vec::new(); m];
    for v in 0..node_old.len() {
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
    gadj
}
