//! Step 5, re-splits (the ReCom idea: merge two neighbouring regions, split
//! the pair anew by a balanced bisection in several directions). A region
//! outside the rules is re-split with a neighbour when both halves come out
//! within the rules ([`Refiner::recombine`]); the least compact regions are
//! re-split when both halves come out more compact and still balanced
//! ([`Refiner::reshape_worst`]), which fixes shapes local moves can only
//! polish (long strips left over in empty country, regions wrapped round a
//! dense village).

use super::super::compact;
use super::bisect::split_in_two;
use super::refiner::Refiner;
use super::scratch::Scratch;
use super::ORIENTATIONS;

/// Rounds of reshaping, and the most regions reshaped per round.
const RESHAPE_ROUNDS: usize = 5;
const RESHAPE_MAX: usize = 64;
/// Regions less compact than this (Polsby–Popper) are reshaped.
const RESHAPE_BELOW: f64 = 0.45;
/// A reshape must lift the pair's least compact half by this much.
const RESHAPE_GAIN: f64 = 0.03;
/// Balance a reshaped half may keep outside the band, within the rules.
const RESHAPE_SLACK: f64 = 0.12;

impl Refiner<'_> {
    /// Re-splits regions a and b (neighbours) when a fresh bisection of their
    /// union puts both halves within the rules and lowers the balance
    /// penalty; of the sweep directions, the lowest penalty wins.
    pub fn recombine(&mut self, part: &mut [u32], a: usize, b: usize, s: &mut Scratch) -> bool {
        let Some(nodes) = self.pair_nodes(part, a, b) else {
            return false;
        };
        let before = self.pen(a, self.w[a], self.p[a]) + self.pen(b, self.w[b], self.p[b]);
        let best = self.best_split(&nodes, s, |st, x, y, _| {
            let ((wx, px), (wy, py)) = (st.sums(x), st.sums(y));
            let after = st.pen(a, wx, px) + st.pen(b, wy, py);
            let ok = |wr: f64, pr: f64| wr >= st.min && wr <= st.max && pr <= st.max_p;
            // Negated: the best split has the lowest penalty.
            (ok(wx, px) && ok(wy, py) && after < before - 1e-9).then_some(-after)
        });
        let Some((x, y)) = best else { return false };
        self.hand_over(part, [(a, &x), (b, &y)]);
        true
    }

    /// Re-splits the least compact regions together with a neighbour when a
    /// fresh bisection of the pair gives two more compact halves that still
    /// meet the rules and the balance band. True when any region changed.
    pub fn reshape_worst(&mut self, part: &mut [u32], s: &mut Scratch) -> bool {
        let k = self.k();
        if k < 2 {
            return false;
        }
        let mut changed = false;
        for _round in 0..RESHAPE_ROUNDS {
            let shapes = compact::Shapes::new(self.g, self.tess, part, k);
            let est: Vec<f64> = (0..k).map(|r| shapes.pp(r)).collect();
            let mut worst: Vec<usize> = (0..k).filter(|&r| est[r] < RESHAPE_BELOW).collect();
            worst.sort_by(|&a, &b| est[a].total_cmp(&est[b]).then(a.cmp(&b)));
            worst.truncate(RESHAPE_MAX);
            if worst.is_empty() {
                break;
            }
            let radj = self.region_adjacency(part);
            let mut touched = vec![false; k];
            let mut any = false;
            for &a in &worst {
                if touched[a] {
                    continue;
                }
                for &b in &radj[a] {
                    let b = b as usize;
                    if touched[b] {
                        continue;
                    }
                    if self.reshape_pair(part, a, b, est[a].min(est[b]), s) {
                        touched[a] = true;
                        touched[b] = true;
                        any = true;
                        break;
                    }
                }
            }
            if !any {
                break;
            }
            changed = true;
        }
        changed
    }

    /// Re-splits regions a and b when both halves of a fresh bisection are
    /// balanced and the less compact half beats `current` (the pair's least
    /// compact region now) by [`RESHAPE_GAIN`]; the most compact split wins.
    fn reshape_pair(
        &mut self,
        part: &mut [u32],
        a: usize,
        b: usize,
        current: f64,
        s: &mut Scratch,
    ) -> bool {
        let Some(nodes) = self.pair_nodes(part, a, b) else {
            return false;
        };
        let best = self.best_split(&nodes, s, |st, x, y, s| {
            let ok = |r: &[u32], reg: usize| {
                let (wr, pr) = st.sums(r);
                st.in_band(reg, wr, pr)
                    || (wr >= st.min
                        && wr <= st.max
                        && pr <= st.max_p
                        && (wr - st.mean[reg]).abs() <= RESHAPE_SLACK * st.mean[reg])
            };
            if !(ok(x, a) && ok(y, b)) {
                return None;
            }
            let pps = [
                compact::set_pp(st.g, st.tess, x, s),
                compact::set_pp(st.g, st.tess, y, s),
            ];
            let score = pps[0].min(pps[1]);
            (score > current + RESHAPE_GAIN).then_some(score)
        });
        let Some((x, y)) = best else { return false };
        self.hand_over(part, [(a, &x), (b, &y)]);
        true
    }

    /// The nodes of regions a and b, or `None` when a pinned node is among
    /// them (its grid must stay as it is).
    fn pair_nodes(&self, part: &[u32], a: usize, b: usize) -> Option<Vec<u32>> {
        let nodes: Vec<u32> = (0..self.g.len() as u32)
            .filter(|&v| part[v as usize] == a as u32 || part[v as usize] == b as u32)
            .collect();
        if nodes.iter().any(|&v| self.pinned[v as usize]) {
            return None;
        }
        Some(nodes)
    }

    /// Households and persons of some nodes.
    fn sums(&self, nodes: &[u32]) -> (f64, f64) {
        let wsum = nodes
            .iter()
            .map(|&v| self.node_w[v as usize] as f64)
            .sum::<f64>();
        let psum = nodes
            .iter()
            .map(|&v| self.node_p[v as usize] as f64)
            .sum::<f64>();
        (wsum, psum)
    }

    /// Of the bisections of `nodes` in every orientation, the halves with the
    /// highest `score` (`None` rejects a split); the first wins ties.
    fn best_split(
        &self,
        nodes: &[u32],
        s: &mut Scratch,
        mut score: impl FnMut(&Self, &[u32], &[u32], &mut Scratch) -> Option<f64>,
    ) -> Option<(Vec<u32>, Vec<u32>)> {
        let mut best: Option<(f64, Vec<u32>, Vec<u32>)> = None;
        for turn in ORIENTATIONS {
            let out = split_in_two(self.g, self.tess, nodes, self.node_w, turn, s);
            if out.len() != 2 {
                continue;
            }
            let Some(sc) = score(self, &out[0], &out[1], s) else {
                continue;
            };
            if best.as_ref().map_or(true, |bst| sc > bst.0) {
                best = Some((sc, out[0].clone(), out[1].clone()));
            }
        }
        best.map(|(_, x, y)| (x, y))
    }
}
