//! Step 5, chain repairs: coarse units (a census block of 250 households, a
//! big building) can leave a region outside the rules with every neighbour too
//! full (or too empty) for a single move to help. Such a region is first
//! re-split together with a neighbour ([`Refiner::recombine`]); failing that,
//! units are passed along a chain of regions (r0 → r1 → … → rm), each link
//! moving one unit, so the surplus ends up in a region with room for it.

use std::collections::VecDeque;

use super::super::tessellate::NONE;
use super::refiner::Refiner;
use super::scratch::Scratch;

/// Rounds of repairs, longest chain (in links) and chains tried per region.
const ROUNDS: usize = 4;
const MAX_DEPTH: u32 = 5;
const MAX_CHAINS: usize = 24;
/// Candidate units tried per link.
const UNITS_PER_LINK: usize = 12;

impl Refiner<'_> {
    /// Moves units along chains of neighbouring regions so a region outside
    /// the rules sheds or gains weight through regions that stay within
    /// them. A chain is kept only if the summed penalty of the regions on it
    /// drops; otherwise it is undone.
    pub fn repair_chains(&mut self, part: &mut [u32], s: &mut Scratch) {
        let k = self.k();
        for _round in 0..ROUNDS {
            let bad: Vec<usize> = (0..k)
                .filter(|&r| self.violates(r) && self.mean[r] <= self.max)
                .collect();
            if bad.is_empty() {
                return;
            }
            let radj = self.region_adjacency(part);
            let mut improved = false;
            for &a in &bad {
                if self.violates(a) && self.repair_region(part, &radj, a, s) {
                    improved = true;
                }
            }
            if !improved {
                return;
            }
        }
    }

    /// Brings region `a` (outside the rules) back: a re-split with a
    /// neighbour, the most complementary first, else a chain to a region
    /// with room, the shortest first. True when something was kept.
    fn repair_region(
        &mut self,
        part: &mut [u32],
        radj: &[Vec<u32>],
        a: usize,
        s: &mut Scratch,
    ) -> bool {
        let over = self.w[a] > self.max || self.p[a] > self.max_p;
        let mut nbrs: Vec<u32> = radj[a].clone();
        nbrs.sort_by(|&x, &y| {
            let (wx, wy) = (self.w[x as usize], self.w[y as usize]);
            (if over {
                wx.total_cmp(&wy)
            } else {
                wy.total_cmp(&wx)
            })
            .then(x.cmp(&y))
        });
        if nbrs.iter().any(|&b| self.recombine(part, a, b as usize, s)) {
            return true;
        }
        let (prev, ends) = self.chain_ends(radj, a, over);
        for &end in ends.iter().take(MAX_CHAINS) {
            let mut path = vec![end as usize];
            while path[path.len() - 1] != a {
                let last = path[path.len() - 1];
                path.push(prev[last] as usize);
            }
            path.reverse(); // a … end
            if !over {
                path.reverse(); // donors first: end … a
            }
            if self.try_chain(part, &path, a, over, s) {
                return true;
            }
        }
        false
    }

    /// Breadth-first over regions from `a`: the predecessor of each region
    /// reached, and the regions within [`MAX_DEPTH`] links that are within
    /// the rules and have room (below their mean when `a` is over, above it
    /// when under), nearest first.
    fn chain_ends(&self, radj: &[Vec<u32>], a: usize, over: bool) -> (Vec<u32>, Vec<u32>) {
        let k = self.k();
        let mut prev = vec![NONE; k];
        let mut depth = vec![u32::MAX; k];
        depth[a] = 0;
        let mut queue = VecDeque::from([a as u32]);
        let mut ends: Vec<u32> = Vec::new();
        while let Some(r) = queue.pop_front() {
            if depth[r as usize] >= MAX_DEPTH {
                continue;
            }
            for &q in &radj[r as usize] {
                if depth[q as usize] == u32::MAX {
                    depth[q as usize] = depth[r as usize] + 1;
                    prev[q as usize] = r;
                    queue.push_back(q);
                    let slack = if over {
                        self.w[q as usize] < self.mean[q as usize]
                    } else {
                        self.w[q as usize] > self.mean[q as usize]
                    };
                    if slack && !self.violates(q as usize) {
                        ends.push(q);
                    }
                }
            }
        }
        (prev, ends)
    }

    /// Passes one unit along each link of `path` (donor first), sized to
    /// region `a`'s surplus or shortfall. Kept (true) when every link found a
    /// unit and the summed penalty of the chain dropped; undone otherwise.
    fn try_chain(
        &mut self,
        part: &mut [u32],
        path: &[usize],
        a: usize,
        over: bool,
        s: &mut Scratch,
    ) -> bool {
        let before: f64 = path.iter().map(|&r| self.pen_now(r)).sum();
        let amount = if over {
            self.w[a] - self.mean[a]
        } else {
            self.mean[a] - self.w[a]
        };
        let mut done: Vec<(u32, usize)> = Vec::new();
        let mut ok = true;
        for win in path.windows(2) {
            let (from, to) = (win[0], win[1]);
            match self.pick_unit(part, from, to, amount, s) {
                Some(v) => {
                    self.move_node(part, v, to);
                    done.push((v, from));
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        let after: f64 = path.iter().map(|&r| self.pen_now(r)).sum();
        if ok && after < before - 1e-9 {
            return true;
        }
        for &(v, from) in done.iter().rev() {
            self.move_node(part, v, from);
        }
        false
    }

    /// A movable unit of `from` next to `to`, with weight closest to `amount`
    /// (then the most compact move), whose removal keeps `from` connected.
    fn pick_unit(
        &self,
        part: &[u32],
        from: usize,
        to: usize,
        amount: f64,
        s: &mut Scratch,
    ) -> Option<u32> {
        let (g, w) = (self.g, self.node_w);
        let mut cands: Vec<(f64, f64, u32)> = Vec::new();
        for v in 0..g.len() as u32 {
            if part[v as usize] != from as u32 || w[v as usize] == 0 || self.pinned[v as usize] {
                continue;
            }
            if !g
                .neighbours(v)
                .iter()
                .any(|&u| part[u as usize] == to as u32)
            {
                continue;
            }
            let d = (w[v as usize] as f64 - amount).abs();
            cands.push((d, self.shape_delta(part, v, from, to), v));
        }
        cands.sort_by(|x, y| {
            x.0.total_cmp(&y.0)
                .then(x.1.total_cmp(&y.1))
                .then(x.2.cmp(&y.2))
        });
        cands
            .into_iter()
            .take(UNITS_PER_LINK)
            .map(|c| c.2)
            .find(|&v| self.can_remove(part, v, from, s))
    }
}
