//! Re-splits: a breaching grid and one or two neighbours grown again into
//! one grid fewer, as many, or one more.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Rebalance, DIRECTIONS};
use crate::partition::tessellate::NONE;

impl Rebalance<'_> {
    /// Re-splits r with one neighbour: the pair's nodes grown again into
    /// two grids (or one, or three, when the pair's total fits those better).
    pub(super) fn resplit_pair(&mut self, r: usize) -> bool {
        let groups: Vec<Vec<usize>> = self
            .region_neighbours(r)
            .into_iter()
            .map(|q| vec![r, q])
            .collect();
        self.resplit_first_of(&groups)
    }

    /// Re-splits r with two more grids: two of its neighbours, or a
    /// neighbour and one of that neighbour's (the grid-level form of an
    /// augmenting path: a lone tower, a pair and another lone tower become
    /// two pairs).
    pub(super) fn resplit_triple(&mut self, r: usize) -> bool {
        let nb = self.region_neighbours(r);
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, &q) in nb.iter().enumerate() {
            for &s in &nb[i + 1..] {
                groups.push(vec![r, q, s]);
            }
            for s in self.region_neighbours(q) {
                if s != r && !nb.contains(&s) {
                    groups.push(vec![r, q, s]);
                }
            }
        }
        self.resplit_first_of(&groups)
    }

    /// Re-splits the first group of grids whose nodes can be grown again
    /// into one grid fewer, as many, or one more, with less total breach.
    pub(super) fn resplit_first_of(&mut self, groups: &[Vec<usize>]) -> bool {
        for group in groups {
            let before: u64 = group.iter().map(|&q| self.breach(q)).sum();
            let nodes: Vec<u32> = group.iter().flat_map(|&q| self.members(q)).collect();
            if nodes.iter().any(|&v| self.fixed[v as usize]) {
                continue;
            }
            let (total, _) = self.totals(&nodes);
            let count = group.len();
            for m in [count, count - 1, count + 1] {
                if m == 0 || m > 3 || total < m as u64 * self.limits.min {
                    continue;
                }
                if total > m as u64 * self.limits.max {
                    continue;
                }
                let Some(labels) = self.split_into(&nodes, m, before) else {
                    continue;
                };
                let mut ids = group.clone();
                while ids.len() < m {
                    ids.push(self.new_region());
                }
                for (&v, l) in nodes.iter().zip(labels) {
                    self.assign(v, ids[l as usize]);
                }
                return true;
            }
        }
        false
    }

    /// A fresh, empty region id.
    pub(super) fn new_region(&mut self) -> usize {
        self.hh.push(0);
        self.persons.push(0);
        self.size.push(0);
        self.hh.len() - 1
    }

    /// `m` (1–3) connected grids from `nodes` with a total breach below
    /// `before`: a label per node.
    pub(super) fn split_into(&mut self, nodes: &[u32], m: usize, before: u64) -> Option<Vec<u8>> {
        match m {
            1 => {
                let (h, p) = self.totals(nodes);
                let mut inside = vec![false; self.part.len()];
                for &v in nodes {
                    inside[v as usize] = true;
                }
                (self.limits.breach(h, p) < before && self.connected(nodes, |x| inside[x as usize]))
                    .then(|| vec![0; nodes.len()])
            }
            2 => self
                .split_two(nodes, before)
                .map(|side| side.into_iter().map(|s| u8::from(!s)).collect()),
            3 => self.split_three(nodes, before),
            _ => None,
        }
    }

    /// Three grids from `nodes`: one grown within the rules, the rest split in
    /// two. Labels 0, 1, 2 per node; only when the total breach drops below
    /// `before`.
    pub(super) fn split_three(&mut self, nodes: &[u32], before: u64) -> Option<Vec<u8>> {
        let total: u64 = nodes.iter().map(|&v| self.w[v as usize]).sum();
        let lo = self
            .limits
            .min
            .max(total.saturating_sub(2 * self.limits.max));
        let hi = self
            .limits
            .max
            .min(total.saturating_sub(2 * self.limits.min));
        if lo > hi {
            return None;
        }
        for grown in self.grow_candidates(nodes, lo, hi) {
            let rest: Vec<u32> = nodes
                .iter()
                .zip(&grown)
                .filter(|(_, &g)| !g)
                .map(|(&v, _)| v)
                .collect();
            let first: Vec<u32> = nodes
                .iter()
                .zip(&grown)
                .filter(|(_, &g)| g)
                .map(|(&v, _)| v)
                .collect();
            let (h1, p1) = self.totals(&first);
            let b1 = self.limits.breach(h1, p1);
            if b1 >= before {
                continue;
            }
            let Some(side) = self.split_two(&rest, before - b1) else {
                continue;
            };
            let mut labels = vec![0u8; nodes.len()];
            let mut j = 0;
            for (i, &g) in grown.iter().enumerate() {
                if !g {
                    labels[i] = if side[j] { 1 } else { 2 };
                    j += 1;
                }
            }
            return Some(labels);
        }
        None
    }

    /// Two connected grids from `nodes` whose total breach is below `before`,
    /// the one with the shortest cut (barrier edges are cheap to cut).
    /// `true` marks the first grid.
    pub(super) fn split_two(&mut self, nodes: &[u32], before: u64) -> Option<Vec<bool>> {
        let (total, _) = self.totals(nodes);
        let lo = self.limits.min.max(total.saturating_sub(self.limits.max));
        let hi = self.limits.max.min(total.saturating_sub(self.limits.min));
        let (lo, hi) = if lo <= hi {
            (lo, hi)
        } else {
            (total / 2, total / 2)
        };
        let mut best: Option<(f64, Vec<bool>)> = None;
        for side in self.grow_candidates(nodes, lo, hi) {
            let a: Vec<u32> = nodes
                .iter()
                .zip(&side)
                .filter(|(_, &s)| s)
                .map(|(&v, _)| v)
                .collect();
            let b: Vec<u32> = nodes
                .iter()
                .zip(&side)
                .filter(|(_, &s)| !s)
                .map(|(&v, _)| v)
                .collect();
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let (ha, pa) = self.totals(&a);
            let (hb, pb) = self.totals(&b);
            if self.limits.breach(ha, pa) + self.limits.breach(hb, pb) >= before {
                continue;
            }
            let in_b = self.membership(nodes, &side, false);
            if !self.connected(&b, |x| in_b[x as usize]) {
                continue;
            }
            let cut = self.cut_cost(&a, &in_b);
            if best.as_ref().map_or(true, |bst| cut < bst.0) {
                best = Some((cut, side));
            }
        }
        best.map(|b| b.1)
    }

    pub(super) fn membership(&self, nodes: &[u32], side: &[bool], want: bool) -> Vec<bool> {
        let mut m = vec![false; self.part.len()];
        for (&v, &s) in nodes.iter().zip(side) {
            if s == want {
                m[v as usize] = true;
            }
        }
        m
    }

    /// Cut cost between node set `a` and the nodes marked in `other`.
    pub(super) fn cut_cost(&self, a: &[u32], other: &[bool]) -> f64 {
        let mut cut = 0.0;
        for &v in a {
            let row = self.g.neighbours(v);
            for (i, &u) in row.iter().enumerate() {
                if other[u as usize] {
                    cut += f64::from(self.g.shared(v)[i]) * f64::from(self.g.costs(v)[i]);
                }
            }
        }
        cut
    }

    /// Connected subsets of `nodes` holding `lo..=hi` households, grown from
    /// an extreme node in each of [`DIRECTIONS`] directions, taking frontier
    /// nodes in sweep order and skipping any node that would overshoot `hi`.
    pub(super) fn grow_candidates(&mut self, nodes: &[u32], lo: u64, hi: u64) -> Vec<Vec<bool>> {
        let mut out = Vec::new();
        let mut idx = vec![NONE; 0];
        idx.resize(self.part.len(), NONE);
        for (i, &v) in nodes.iter().enumerate() {
            idx[v as usize] = i as u32;
        }
        for d in 0..DIRECTIONS {
            let t = d as f64 * std::f64::consts::TAU / DIRECTIONS as f64;
            let (dx, dy) = (t.cos(), t.sin());
            let key = |v: u32| {
                let c = self.tess.nodes[v as usize].centroid;
                c.x * dx + c.y * dy
            };
            let Some(&seed) = nodes
                .iter()
                .filter(|&&v| !self.g.neighbours(v).is_empty())
                .min_by(|&&a, &&b| key(a).total_cmp(&key(b)).then(a.cmp(&b)))
            else {
                continue;
            };
            let mut taken = vec![false; nodes.len()];
            let mut queued = vec![false; nodes.len()];
            let mut heap: BinaryHeap<Reverse<(i64, u32)>> = BinaryHeap::new();
            let scale = 1e3;
            heap.push(Reverse(((key(seed) * scale) as i64, seed)));
            queued[idx[seed as usize] as usize] = true;
            let mut sum = 0u64;
            while let Some(Reverse((_, v))) = heap.pop() {
                let wv = self.w[v as usize];
                if sum + wv > hi {
                    continue; // a tower that would overshoot: leave it out
                }
                sum += wv;
                taken[idx[v as usize] as usize] = true;
                if sum >= lo {
                    out.push(taken.clone());
                    if out.len() >= 4 * DIRECTIONS {
                        return out;
                    }
                }
                for &u in self.g.neighbours(v) {
                    let i = idx[u as usize];
                    if i != NONE && !queued[i as usize] {
                        queued[i as usize] = true;
                        heap.push(Reverse(((key(u) * scale) as i64, u)));
                    }
                }
            }
        }
        out
    }
}
