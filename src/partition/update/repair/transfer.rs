//! The minimal repair of a zone part: starting from the previous grids, one
//! boundary cell at a time moves from the grid breaking the rules most to a
//! neighbouring zone grid (or, for a grid below the minimum, is pulled in),
//! taking the cell nearest the receiving grid's centre so shapes stay
//! compact. Every move strictly reduces the violating grid's breach and keeps
//! the other grid within the rules and both connected, so it terminates.

use super::super::super::graph::Graph;
use super::super::super::tessellate::{Tessellation, NONE};
use super::super::rules::violation;
use super::cells::ZoneCells;
use super::zone::ZoneWeights;
use crate::model::Rules;

/// Candidate moves tried per step, best first.
const TRIES: usize = 32;

/// Repairs the zone part of previous grids `comp` (sorted local indices)
/// whose nodes are `nodes` by moving boundary cells (see the module docs).
/// Returns the region (index into `comp`) of each node, or `None` when it
/// gets stuck (the caller then re-partitions the part).
pub(super) fn transfer(
    cells: &ZoneCells,
    nodes: &[u32],
    comp: &[usize],
    weights: &ZoneWeights,
    rules: &Rules,
    has_persons: bool,
) -> Option<Vec<u32>> {
    let mut t = Transfer::new(cells, nodes, comp, weights, rules, has_persons)?;
    for _ in 0..nodes.len() * 4 + 16 {
        let Some((before, ra)) = t.worst() else {
            return Some(nodes.iter().map(|&v| t.reg[v as usize]).collect());
        };
        let cands = t.candidates(ra, before);
        let mut done = false;
        for &(_, v, from, to) in cands.iter().take(TRIES) {
            if t.stays_connected(from as u32, v) {
                t.apply(v, from, to);
                done = true;
                break;
            }
        }
        if !done {
            return None;
        }
    }
    None
}

/// The zone part's grids as cells move between them.
struct Transfer<'a> {
    g: &'a Graph,
    tess: &'a Tessellation,
    nodes: &'a [u32],
    /// Households and persons of each node.
    w: &'a [u64],
    pp: &'a [u64],
    rules: &'a Rules,
    has_persons: bool,
    /// Grid (index into the part's grids) of each node; `NONE` off the part.
    reg: Vec<u32>,
    /// Households, persons, area, node count and area-weighted centroid sums
    /// of each grid.
    h: Vec<u64>,
    p: Vec<u64>,
    a: Vec<f64>,
    cnt: Vec<usize>,
    sx: Vec<f64>,
    sy: Vec<f64>,
    /// Marks of the connectivity search.
    seen: Vec<u32>,
    stamp: u32,
}

impl<'a> Transfer<'a> {
    /// The previous grids' totals; `None` when a node lies in no grid of the
    /// part.
    fn new(
        cells: &'a ZoneCells,
        nodes: &'a [u32],
        comp: &[usize],
        weights: &'a ZoneWeights,
        rules: &'a Rules,
        has_persons: bool,
    ) -> Option<Self> {
        let (tess, node_old) = (&cells.tess, &cells.node_old);
        let k = comp.len();
        let mut t = Transfer {
            g: &cells.g,
            tess,
            nodes,
            w: &weights.node_hh,
            pp: &weights.node_pp,
            rules,
            has_persons,
            reg: vec![NONE; tess.nodes.len()],
            h: vec![0u64; k],
            p: vec![0u64; k],
            a: vec![0.0f64; k],
            cnt: vec![0usize; k],
            sx: vec![0.0f64; k],
            sy: vec![0.0f64; k],
            seen: vec![0u32; tess.nodes.len()],
            stamp: 0,
        };
        for &v in nodes {
            let r = comp.binary_search(&(node_old[v as usize] as usize)).ok()? as u32;
            t.reg[v as usize] = r;
            let (vi, ri) = (v as usize, r as usize);
            let nd = &tess.nodes[vi];
            t.h[ri] += t.w[vi];
            t.p[ri] += t.pp[vi];
            t.a[ri] += nd.area;
            t.cnt[ri] += 1;
            t.sx[ri] += nd.centroid.x * nd.area;
            t.sy[ri] += nd.centroid.y * nd.area;
        }
        Some(t)
    }

    fn viol(&self, h: u64, p: u64, a: f64) -> f64 {
        violation(self.rules, self.has_persons, h, p, a)
    }

    /// The grid breaking the rules most (the first of equals) and its breach;
    /// `None` when every grid is within the rules.
    fn worst(&self) -> Option<(f64, usize)> {
        (0..self.h.len())
            .map(|r| (self.viol(self.h[r], self.p[r], self.a[r]), r))
            .filter(|x| x.0 > 0.0)
            .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)))
    }

    /// Moves (score, node, from, to) that reduce grid `ra`'s breach `before`
    /// and leave the other grid within the rules, best first: out of `ra`
    /// when it is over, into it when under. Cells wrapped by the receiving
    /// grid (the outline gets shorter) and near its centre score best.
    fn candidates(&self, ra: usize, before: f64) -> Vec<(f64, u32, usize, usize)> {
        let (g, tess, reg) = (self.g, self.tess, &self.reg);
        let mut cands: Vec<(f64, u32, usize, usize)> = Vec::new();
        let under = self.h[ra] < self.rules.min_households;
        for &v in self.nodes {
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
                let after_from = self.viol(
                    self.h[from] - self.w[vi],
                    self.p[from] - self.pp[vi],
                    self.a[from] - nd.area,
                );
                let after_to = self.viol(
                    self.h[to] + self.w[vi],
                    self.p[to] + self.pp[vi],
                    self.a[to] + nd.area,
                );
                let ok = if from == ra {
                    after_from < before && after_to == 0.0
                } else {
                    after_to < before && after_from == 0.0
                };
                if !ok {
                    continue;
                }
                let (cx, cy) = (
                    self.sx[to] / self.a[to].max(1e-9),
                    self.sy[to] / self.a[to].max(1e-9),
                );
                let d = (c.x - cx).powi(2) + (c.y - cy).powi(2);
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
        cands
    }

    /// Would grid r stay connected (and non-empty) without node v? (A search
    /// inside r, skipping v.)
    fn stays_connected(&mut self, r: u32, v: u32) -> bool {
        let (g, reg) = (self.g, &self.reg);
        let cnt = self.cnt[r as usize];
        if cnt <= 1 {
            return false;
        }
        let Some(&start) = g.neighbours(v).iter().find(|&&u| reg[u as usize] == r) else {
            return false;
        };
        self.stamp += 1;
        let (seen, stamp) = (&mut self.seen, self.stamp);
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
    }

    /// Moves node v from grid `from` to grid `to`.
    fn apply(&mut self, v: u32, from: usize, to: usize) {
        let vi = v as usize;
        let nd = &self.tess.nodes[vi];
        self.reg[vi] = to as u32;
        self.h[from] -= self.w[vi];
        self.h[to] += self.w[vi];
        self.p[from] -= self.pp[vi];
        self.p[to] += self.pp[vi];
        self.a[from] -= nd.area;
        self.a[to] += nd.area;
        self.cnt[from] -= 1;
        self.cnt[to] += 1;
        self.sx[from] -= nd.centroid.x * nd.area;
        self.sy[from] -= nd.centroid.y * nd.area;
        self.sx[to] += nd.centroid.x * nd.area;
        self.sy[to] += nd.centroid.y * nd.area;
    }
}
