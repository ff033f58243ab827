//! Step 4: local moves. Boundary nodes move to a neighbouring region when the
//! region they leave stays connected: first to bring every region into the
//! rules and towards its mean (balance passes, a quadratic penalty diffusing
//! surplus across regions), then, within the balance band, to shorten cut
//! edges and make shapes round (shape passes). [`Refiner::shape_move`] is the
//! same band test for the moves `compact` proposes.

use super::super::tessellate::NONE;
use super::refiner::Refiner;
use super::scratch::Scratch;

/// Rounds of balance, chain repairs and shape passes.
const ROUNDS: usize = 6;
/// Most balance passes and shape passes in a round.
const BALANCE_PASSES: usize = 60;
const SHAPE_PASSES: usize = 8;

impl Refiner<'_> {
    /// Rounds of balance passes, chain repairs and shape passes, until a
    /// round (after the first) moves nothing for shape.
    pub fn refine(&mut self, part: &mut [u32], s: &mut Scratch) {
        let k = self.k();
        if k < 2 {
            return;
        }
        for round in 0..ROUNDS {
            for _pass in 0..BALANCE_PASSES {
                let all_ok = (0..k).all(|r| self.in_band(r, self.w[r], self.p[r]));
                if all_ok {
                    break;
                }
                if self.balance_pass(part, s) == 0 {
                    break;
                }
            }
            // Coarse units (census blocks, big buildings) can leave a region
            // outside the rules with every neighbour too full to take a unit:
            // pass units along a chain of regions instead.
            self.repair_chains(part, s);
            let mut moved_total = 0;
            for _pass in 0..SHAPE_PASSES {
                let moved = self.shape_pass(part, s);
                moved_total += moved;
                if moved == 0 {
                    break;
                }
            }
            if moved_total == 0 && round > 0 {
                break;
            }
        }
    }

    /// One sweep over the nodes moving each weighted boundary node to the
    /// neighbouring region where the balance penalty drops most (ties broken
    /// towards compact shapes). Returns the number of moves.
    fn balance_pass(&mut self, part: &mut [u32], s: &mut Scratch) -> usize {
        let mut nb: Vec<u32> = Vec::with_capacity(8);
        let mut moved = 0;
        for v in 0..self.g.len() as u32 {
            let a = part[v as usize];
            if a == NONE || self.node_w[v as usize] == 0 || self.pinned[v as usize] {
                continue;
            }
            let a = a as usize;
            let (wv, pv) = self.weight(v);
            self.neighbour_regions(part, v, a, &mut nb);
            if nb.is_empty() {
                continue;
            }
            let before_a = self.pen(a, self.w[a], self.p[a]);
            let after_a = self.pen(a, self.w[a] - wv, self.p[a] - pv);
            let mut best: Option<(f64, usize)> = None;
            for &b in &nb {
                let b = b as usize;
                let d = after_a + self.pen(b, self.w[b] + wv, self.p[b] + pv)
                    - before_a
                    - self.pen(b, self.w[b], self.p[b]);
                if d >= -1e-12 {
                    continue;
                }
                let score = d + 1e-3 * self.shape_delta(part, v, a, b);
                if best.map_or(true, |(bs, _)| score < bs) {
                    best = Some((score, b));
                }
            }
            if let Some((_, b)) = best {
                if self.can_remove(part, v, a, s) {
                    self.move_node(part, v, b);
                    moved += 1;
                }
            }
        }
        moved
    }

    /// One sweep over the nodes moving each boundary node to the neighbouring
    /// region where shapes improve most (shorter cuts, rounder regions), as
    /// long as the balance band allows. Returns the number of moves.
    fn shape_pass(&mut self, part: &mut [u32], s: &mut Scratch) -> usize {
        let mut nb: Vec<u32> = Vec::with_capacity(8);
        let mut moved = 0;
        for v in 0..self.g.len() as u32 {
            let a = part[v as usize];
            if a == NONE || self.pinned[v as usize] {
                continue;
            }
            let a = a as usize;
            let (wv, pv) = self.weight(v);
            self.neighbour_regions(part, v, a, &mut nb);
            if nb.is_empty() {
                continue;
            }
            let mut best: Option<(f64, usize)> = None;
            for &b in &nb {
                let b = b as usize;
                if wv > 0.0 && !self.band_allows(a, b, wv, pv) {
                    continue;
                }
                let d = self.shape_delta(part, v, a, b);
                if d < -1e-9 && best.map_or(true, |(bs, _)| d < bs) {
                    best = Some((d, b));
                }
            }
            if let Some((_, b)) = best {
                if self.can_remove(part, v, a, s) {
                    self.move_node(part, v, b);
                    moved += 1;
                }
            }
        }
        moved
    }

    /// Moves v from a to b (and returns true) when both stay within the
    /// balance band, or get no further from it, and a stays connected. Only
    /// the totals change: the caller (`compact::polish`) updates `part`.
    pub fn shape_move(
        &mut self,
        part: &[u32],
        v: u32,
        a: usize,
        b: usize,
        s: &mut Scratch,
    ) -> bool {
        if self.pinned[v as usize] {
            return false;
        }
        let (wv, pv) = self.weight(v);
        if (wv > 0.0 || pv > 0.0) && !self.band_allows(a, b, wv, pv) {
            return false;
        }
        if !self.can_remove(part, v, a, s) {
            return false;
        }
        self.apply(v as usize, a, b);
        true
    }
}
