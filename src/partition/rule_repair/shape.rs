//! Shapes after the repairs: compactness moves that take no grid further
//! from the rules, and thin grids that give a whole part away.

use super::{connected_without, Rebalance, THIN};
use crate::partition::compact;

impl Rebalance<'_> {
    /// Compactness moves (see [`compact::polish`]): first against the usual
    /// target, of nodes without households (empty land and slivers go to
    /// whichever grid they round off) or that leave the two grids no less
    /// balanced; then of any node against [`THIN`] only, so the thinnest
    /// grids are lifted without undoing the balance elsewhere. No move takes
    /// a grid further from the rules or cuts it in two.
    pub(super) fn polish_shapes(&mut self) {
        self.polish_pass(None);
        self.polish_pass(Some(THIN));
    }

    fn polish_pass(&mut self, thin: Option<f64>) {
        let k = self.hh.len();
        let live = self.size.iter().filter(|&&s| s > 0).count().max(1);
        let mean = self.hh.iter().sum::<u64>() as f64 / live as f64;
        let mut part = std::mem::take(&mut self.part);
        let (g, w, pp, fixed, limits) = (self.g, self.w, self.pp, self.fixed, self.limits);
        let (hh, persons, size, marks) = (
            &mut self.hh,
            &mut self.persons,
            &mut self.size,
            &mut self.marks,
        );
        let try_move = |part: &[u32], v: u32, a: usize, b: usize| {
            let (wv, pv) = (w[v as usize], pp[v as usize]);
            if fixed[v as usize] || size[a] <= 1 {
                return false;
            }
            // Against the usual target, a move may not unbalance the two
            // grids (their squared distance from the mean may not grow).
            let dev = |h: u64| (h as f64 - mean).powi(2);
            if thin.is_none()
                && wv > 0
                && dev(hh[a] - wv) + dev(hh[b] + wv) > dev(hh[a]) + dev(hh[b])
            {
                return false;
            }
            let not_worse =
                |h0: u64, p0: u64, h1: u64, p1: u64| limits.breach(h1, p1) <= limits.breach(h0, p0);
            if !not_worse(hh[a], persons[a], hh[a] - wv, persons[a] - pv)
                || !not_worse(hh[b], persons[b], hh[b] + wv, persons[b] + pv)
                || !connected_without(g, part, marks, v, a, size[a])
            {
                return false;
            }
            hh[a] -= wv;
            persons[a] -= pv;
            size[a] -= 1;
            hh[b] += wv;
            persons[b] += pv;
            size[b] += 1;
            true
        };
        match thin {
            None => compact::polish(g, self.tess, &mut part, k, try_move),
            Some(t) => compact::polish_below(g, self.tess, &mut part, k, t, try_move),
        }
        self.part = part;
    }

    /// Polsby–Popper of the union of distinct nodes, from node areas,
    /// perimeters and shared edge lengths (as the dissolved outline has it).
    pub(super) fn set_pp(&mut self, nodes: &[u32]) -> f64 {
        let stamp = self.marks.next();
        for &v in nodes {
            self.marks.mark[v as usize] = stamp;
        }
        let (mut area, mut perim) = (0.0, 0.0);
        for &v in nodes {
            area += self.tess.nodes[v as usize].area;
            perim += self.g.perim[v as usize];
            for (&u, &l) in self.g.neighbours(v).iter().zip(self.g.shared(v)) {
                if self.marks.mark[u as usize] == stamp {
                    perim -= f64::from(l);
                }
            }
        }
        crate::partition::polsby_popper(area, perim)
    }

    /// Grids that stay thin after the compactness moves (a strip of clipped
    /// cells along the area's edge, a neck joining two blocks, an L round a
    /// neighbour) are reshaped: re-split with a neighbour into two more
    /// compact grids, or cut at one node with the parts but the heaviest
    /// given to the neighbour they share most outline with (then, if that
    /// takes a grid out of the rules, repaired by the usual moves). A change
    /// is kept only when no grid ends further from the rules and the thin
    /// grid gets more compact.
    pub(super) fn reshape_thin(&mut self) {
        for _sweep in 0..2 {
            for r in 0..self.hh.len() {
                for _ in 0..8 {
                    if self.size[r] < 2 {
                        break;
                    }
                    let members = self.members(r);
                    let now = self.set_pp(&members);
                    if now >= THIN {
                        break;
                    }
                    if !(self.reshape_pair(r, now) || self.cut_off(r, &members, now)) {
                        break;
                    }
                }
            }
        }
    }

    /// Re-splits thin region r with the neighbour that gives the most
    /// compact pair, judged on the less compact of the two.
    fn reshape_pair(&mut self, r: usize, now: f64) -> bool {
        let mut best: Option<(f64, usize, Vec<u32>, Vec<bool>)> = None;
        for q in self.region_neighbours(r) {
            let mine = self.members(q);
            let floor = now.min(self.set_pp(&mine));
            let mut nodes = self.members(r);
            nodes.extend(mine);
            if nodes.iter().any(|&v| self.fixed[v as usize]) {
                continue;
            }
            let before = self.breach(r) + self.breach(q);
            let (total, _) = self.totals(&nodes);
            let lo = self.limits.min.max(total.saturating_sub(self.limits.max));
            let hi = self.limits.max.min(total.saturating_sub(self.limits.min));
            if lo > hi {
                continue;
            }
            for side in self.grow_candidates(&nodes, lo, hi) {
                let a: Vec<u32> = pick(&nodes, &side, true);
                let b: Vec<u32> = pick(&nodes, &side, false);
                if a.is_empty() || b.is_empty() {
                    continue;
                }
                let ((ha, pa), (hb, pb)) = (self.totals(&a), self.totals(&b));
                if self.limits.breach(ha, pa) + self.limits.breach(hb, pb) > before {
                    continue;
                }
                let in_b = self.membership(&nodes, &side, false);
                if !self.connected(&b, |x| in_b[x as usize]) {
                    continue;
                }
                let score = self.set_pp(&a).min(self.set_pp(&b));
                if score > floor + 0.01 && best.as_ref().map_or(true, |x| score > x.0) {
                    best = Some((score, q, nodes.clone(), side));
                }
            }
        }
        let Some((_, q, nodes, side)) = best else {
            return false;
        };
        for (v, s) in nodes.into_iter().zip(side) {
            self.assign(v, if s { r } else { q });
        }
        true
    }

    /// Cuts thin region r at one node (see [`Self::reshape_thin`]).
    fn cut_off(&mut self, r: usize, members: &[u32], now: f64) -> bool {
        for (moves, within) in self.cut_off_candidates(r, members, now) {
            if within {
                for (v, q) in moves {
                    self.assign(v, q);
                }
                return true;
            }
            if self.cut_off_and_repair(r, &moves, now) {
                return true;
            }
        }
        false
    }

    /// Makes the moves, repairs the grids they took out of the rules, and
    /// keeps the result only when the total breach is no worse and r is more
    /// compact.
    fn cut_off_and_repair(&mut self, r: usize, moves: &[(u32, usize)], now: f64) -> bool {
        let before = self.total_breach();
        let saved = self.save();
        for &(v, q) in moves {
            self.assign(v, q);
        }
        self.repair_rounds(2);
        // The repairs take nodes by count, not shape: round them off.
        self.polish_pass(Some(THIN));
        let members = self.members(r);
        if self.total_breach() <= before && self.set_pp(&members) > now + 1e-3 {
            return true;
        }
        self.restore(saved);
        false
    }
}

/// The nodes on one side of a split.
fn pick(nodes: &[u32], side: &[bool], want: bool) -> Vec<u32> {
    nodes
        .iter()
        .zip(side)
        .filter(|(_, &s)| s == want)
        .map(|(&v, _)| v)
        .collect()
}
