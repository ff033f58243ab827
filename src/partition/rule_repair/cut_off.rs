//! Cutting a thin grid at one node: the parts it falls into, where each
//! goes, and how compact and how close to the rules the result is.

use super::{Rebalance, CUT_OFF_TRIES};

/// Nodes to move and the region each goes to.
type Moves = Vec<(u32, usize)>;

impl Rebalance<'_> {
    /// The cuts of thin region r worth trying, best first (at most
    /// [`CUT_OFF_TRIES`]): the nodes to move and where, and whether every
    /// grid stays as close to the rules as before.
    pub(super) fn cut_off_candidates(
        &mut self,
        r: usize,
        members: &[u32],
        now: f64,
    ) -> Vec<(Vec<(u32, usize)>, bool)> {
        let mut found: Vec<(f64, Moves, bool)> = Vec::new();
        for &v in members {
            if self.fixed[v as usize] {
                continue;
            }
            for moves in self.parts_without(r, v) {
                let (score, within) = self.judge_moves(r, members, &moves);
                if score > now + 1e-3 {
                    found.push((score, moves, within));
                }
            }
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.2.cmp(&a.2)));
        found.truncate(CUT_OFF_TRIES);
        found.into_iter().map(|f| (f.1, f.2)).collect()
    }

    /// The parts region r falls into without node v, and for each part r
    /// could keep, the moves that give the others (v with the first of them)
    /// to the neighbour each shares most outline with. Empty when r stays in
    /// one piece.
    pub(super) fn parts_without(&mut self, r: usize, v: u32) -> Vec<Vec<(u32, usize)>> {
        let starts: Vec<u32> = self
            .g
            .neighbours(v)
            .iter()
            .copied()
            .filter(|&u| self.part[u as usize] as usize == r)
            .collect();
        if starts.len() < 2 {
            return Vec::new();
        }
        let stamp = self.marks.next();
        self.marks.mark[v as usize] = stamp;
        let mut parts: Vec<Vec<u32>> = Vec::new();
        for &s in &starts {
            if self.marks.mark[s as usize] == stamp {
                continue;
            }
            self.marks.mark[s as usize] = stamp;
            let mut part = vec![s];
            let mut i = 0;
            while i < part.len() {
                let x = part[i];
                i += 1;
                for &u in self.g.neighbours(x) {
                    if self.part[u as usize] as usize == r && self.marks.mark[u as usize] != stamp {
                        self.marks.mark[u as usize] = stamp;
                        part.push(u);
                    }
                }
            }
            parts.push(part);
        }
        if parts.len() < 2 {
            return Vec::new();
        }
        let mut options = Vec::new();
        'keep: for keep in 0..parts.len() {
            let mut moves = Vec::new();
            let mut first = true;
            for (i, p) in parts.iter().enumerate() {
                if i == keep {
                    continue;
                }
                if p.iter().any(|&x| self.fixed[x as usize]) {
                    return Vec::new();
                }
                let mut p = p.clone();
                if first {
                    p.push(v);
                    first = false;
                }
                let Some(q) = self.best_neighbour_of(&p, r) else {
                    continue 'keep;
                };
                moves.extend(p.into_iter().map(|x| (x, q)));
            }
            options.push(moves);
        }
        options
    }

    /// The region (other than r) sharing most outline with the node set.
    pub(super) fn best_neighbour_of(&self, nodes: &[u32], r: usize) -> Option<usize> {
        let mut shared: Vec<(usize, f64)> = Vec::new();
        for &x in nodes {
            for (&u, &l) in self.g.neighbours(x).iter().zip(self.g.shared(x)) {
                let q = self.part[u as usize] as usize;
                if q == r {
                    continue;
                }
                match shared.iter_mut().find(|e| e.0 == q) {
                    Some(e) => e.1 += f64::from(l),
                    None => shared.push((q, f64::from(l))),
                }
            }
        }
        shared
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|e| e.0)
    }

    /// The least Polsby–Popper among r and the receiving regions after the
    /// moves, and whether no region gets further from the rules.
    pub(super) fn judge_moves(
        &mut self,
        r: usize,
        members: &[u32],
        moves: &[(u32, usize)],
    ) -> (f64, bool) {
        let mut gain: Vec<(usize, u64, u64)> = Vec::new();
        for &(x, q) in moves {
            let (wx, px) = (self.w[x as usize], self.pp[x as usize]);
            match gain.iter_mut().find(|e| e.0 == q) {
                Some(e) => {
                    e.1 += wx;
                    e.2 += px;
                }
                None => gain.push((q, wx, px)),
            }
        }
        let (lost_h, lost_p) = gain.iter().fold((0, 0), |s, e| (s.0 + e.1, s.1 + e.2));
        let mut within = self
            .limits
            .breach(self.hh[r] - lost_h, self.persons[r] - lost_p)
            <= self.breach(r);
        for &(q, h, p) in &gain {
            within &= self.limits.breach(self.hh[q] + h, self.persons[q] + p) <= self.breach(q);
        }
        let leaving: Vec<u32> = moves.iter().map(|m| m.0).collect();
        let stamp = self.marks.next();
        for &x in &leaving {
            self.marks.mark[x as usize] = stamp;
        }
        let kept: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&x| self.marks.mark[x as usize] != stamp)
            .collect();
        let mut least = self.set_pp(&kept);
        for &(q, ..) in &gain {
            let mut grown = self.members(q);
            grown.extend(moves.iter().filter(|m| m.1 == q).map(|m| m.0));
            least = least.min(self.set_pp(&grown));
        }
        (least, within)
    }
}
