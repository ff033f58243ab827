//! Single-node moves and swaps, merges of small grids, and empty grids
//! shared out among their neighbours.

use std::cmp::Reverse;

use super::Rebalance;

impl Rebalance<'_> {
    /// Dissolves every grid without households into its neighbours.
    pub(super) fn dissolve_empty(&mut self) {
        let k = self.hh.len();
        let live_with_households = (0..k).filter(|&r| self.hh[r] > 0).count();
        if live_with_households == 0 {
            return;
        }
        for r in 0..k {
            if self.size[r] == 0 || self.hh[r] > 0 {
                continue;
            }
            let members = self.members(r);
            if members.iter().any(|&v| self.fixed[v as usize]) {
                continue;
            }
            self.spread(r, &members);
        }
    }

    /// Hands every node of region r to neighbouring regions, growing them
    /// into it breadth first (so the empty land is shared, not given to one).
    pub(super) fn spread(&mut self, r: usize, members: &[u32]) {
        let mut frontier: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&v| {
                self.g
                    .neighbours(v)
                    .iter()
                    .any(|&u| self.part[u as usize] as usize != r)
            })
            .collect();
        if frontier.is_empty() {
            return;
        }
        let mut left = members.len();
        while left > 0 && !frontier.is_empty() {
            let mut next = Vec::new();
            let mut moves: Vec<(u32, usize)> = Vec::new();
            for &v in &frontier {
                if self.part[v as usize] as usize != r {
                    continue;
                }
                // The neighbouring region v shares the longest edge with.
                let mut best: Option<(f32, usize)> = None;
                for (&u, &l) in self.g.neighbours(v).iter().zip(self.g.shared(v)) {
                    let q = self.part[u as usize] as usize;
                    if q != r && best.map_or(true, |b| l > b.0 || (l == b.0 && q < b.1)) {
                        best = Some((l, q));
                    }
                }
                if let Some((_, q)) = best {
                    moves.push((v, q));
                }
            }
            for (v, q) in moves {
                if self.part[v as usize] as usize == r {
                    self.assign(v, q);
                    left -= 1;
                    for &u in self.g.neighbours(v) {
                        if self.part[u as usize] as usize == r {
                            next.push(u);
                        }
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            frontier = next;
        }
    }

    /// Moves and swaps of single nodes between r and its neighbours.
    pub(super) fn improve_by_moves(&mut self, r: usize) -> bool {
        let mut any = false;
        for _ in 0..64 {
            if self.breach(r) == 0 {
                break;
            }
            match self.best_move(r) {
                Some((v, to)) => {
                    self.assign(v, to);
                    any = true;
                }
                None => match self.best_swap(r) {
                    Some((v, u)) => {
                        let (rv, ru) = (
                            self.part[v as usize] as usize,
                            self.part[u as usize] as usize,
                        );
                        self.assign(v, ru);
                        self.assign(u, rv);
                        any = true;
                    }
                    None => break,
                },
            }
        }
        any
    }

    /// The single-node move between r and a neighbour that lowers the breach
    /// of the two most, keeping both connected.
    pub(super) fn best_move(&mut self, r: usize) -> Option<(u32, usize)> {
        let mut cands: Vec<(u64, u32, usize)> = Vec::new();
        let mine = self.members(r);
        let mut around: Vec<u32> = mine
            .iter()
            .flat_map(|&v| self.g.neighbours(v).iter().copied())
            .filter(|&u| self.part[u as usize] as usize != r)
            .collect();
        around.sort_unstable();
        around.dedup();
        for &v in mine.iter().chain(&around) {
            let a = self.part[v as usize] as usize;
            if self.fixed[v as usize] || self.w[v as usize] == 0 && self.pp[v as usize] == 0 {
                continue;
            }
            for &u in self.g.neighbours(v) {
                let b = self.part[u as usize] as usize;
                if b == a || (a != r && b != r) {
                    continue;
                }
                let gain = self.move_gain(v, a, b);
                if gain > 0 && !cands.iter().any(|c| c.1 == v && c.2 == b) {
                    cands.push((gain, v, b));
                }
            }
        }
        cands.sort_by_key(|c| (Reverse(c.0), c.1, c.2));
        for (_, v, b) in cands {
            let a = self.part[v as usize] as usize;
            if self.size[a] > 1 && self.stays_connected_without(v, a) {
                return Some((v, b));
            }
        }
        None
    }

    /// Breach reduction of moving node v from a to b (0 when none).
    pub(super) fn move_gain(&self, v: u32, a: usize, b: usize) -> u64 {
        let (wv, pv) = (self.w[v as usize], self.pp[v as usize]);
        let before = self.breach(a) + self.breach(b);
        let after = self.limits.breach(self.hh[a] - wv, self.persons[a] - pv)
            + self.limits.breach(self.hh[b] + wv, self.persons[b] + pv);
        before.saturating_sub(after)
    }

    /// A swap of two adjacent boundary nodes between r and a neighbour that
    /// lowers the breach, keeping both regions connected.
    pub(super) fn best_swap(&mut self, r: usize) -> Option<(u32, u32)> {
        let mine: Vec<u32> = self
            .members(r)
            .into_iter()
            .filter(|&v| !self.fixed[v as usize])
            .collect();
        let mut cands: Vec<(u64, u32, u32)> = Vec::new();
        for &v in &mine {
            for &u in self.g.neighbours(v) {
                let b = self.part[u as usize] as usize;
                if b == r || self.fixed[u as usize] {
                    continue;
                }
                let (wv, wu) = (self.w[v as usize], self.w[u as usize]);
                let (pv, pu) = (self.pp[v as usize], self.pp[u as usize]);
                if wv == wu {
                    continue;
                }
                let before = self.breach(r) + self.breach(b);
                let after = self
                    .limits
                    .breach(self.hh[r] - wv + wu, self.persons[r] - pv + pu)
                    + self
                        .limits
                        .breach(self.hh[b] - wu + wv, self.persons[b] - pu + pv);
                if after < before {
                    cands.push((before - after, v, u));
                }
            }
        }
        cands.sort_by_key(|c| (Reverse(c.0), c.1, c.2));
        for (_, v, u) in cands.into_iter().take(32) {
            let b = self.part[u as usize] as usize;
            // Try it, check both stay connected, undo if not.
            self.assign(v, b);
            self.assign(u, r);
            let (mr, mb) = (self.members(r), self.members(b));
            let part = self.part.clone();
            let ok = self.connected(&mr, |x| part[x as usize] as usize == r)
                && self.connected(&mb, |x| part[x as usize] as usize == b);
            self.assign(v, r);
            self.assign(u, b);
            if ok {
                return Some((v, u));
            }
        }
        None
    }

    /// Joins r (below the minimum) to the neighbour that can take it whole.
    pub(super) fn merge_small(&mut self, r: usize) -> bool {
        if self.hh[r] >= self.limits.min || self.members(r).iter().any(|&v| self.fixed[v as usize])
        {
            return false;
        }
        let mut best: Option<(u64, usize)> = None;
        for q in self.region_neighbours(r) {
            let (h, p) = (self.hh[r] + self.hh[q], self.persons[r] + self.persons[q]);
            let before = self.breach(r) + self.breach(q);
            let after = self.limits.breach(h, p);
            if after < before && best.map_or(true, |b| h < b.0) {
                best = Some((h, q));
            }
        }
        let Some((_, q)) = best else {
            return false;
        };
        for v in self.members(r) {
            self.assign(v, q);
        }
        true
    }
}
