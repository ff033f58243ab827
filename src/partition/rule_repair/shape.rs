//! Shapes after the repairs: compactness moves that take no grid further
//! from the rules, and thin grids that give a whole part away.

use super::{connected_without, Rebalance, THIN};
use crate::partition::compact;

impl Rebalance<'_> {
    /// Compactness moves (see [`compact::polish`]) that take no grid further
    /// from the rules: empty land and slivers go to whichever grid they round
    /// off, so repairs and shared empty ground leave no strips.
    pub(super) fn polish_shapes(&mut self) {
        let k = self.hh.len();
        let mut part = std::mem::take(&mut self.part);
        let (g, w, pp, fixed, limits) = (self.g, self.w, self.pp, self.fixed, self.limits);
        let (hh, persons, size, marks) = (
            &mut self.hh,
            &mut self.persons,
            &mut self.size,
            &mut self.marks,
        );
        compact::polish(g, self.tess, &mut part, k, |part, v, a, b| {
            if fixed[v as usize] || size[a] <= 1 {
                return false;
            }
            let (wv, pv) = (w[v as usize], pp[v as usize]);
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
        });
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
    /// cells along the area's edge or a neck joining two blocks: no single
    /// move can take it off without cutting the grid in two) give a whole
    /// part away: the grid is cut at one node and every part but the one
    /// with most households goes, with that node, to the neighbour it
    /// shares most outline with, when no grid gets further from the rules
    /// and the least compact grid involved gets more compact.
    pub(super) fn cut_off_thin_parts(&mut self) {
        let k = self.hh.len();
        for r in 0..k {
            for _ in 0..8 {
                if self.size[r] < 3 {
                    break;
                }
                let members = self.members(r);
                if self.set_pp(&members) >= THIN {
                    break;
                }
                let Some(moves) = self.best_cut_off(r, &members) else {
                    break;
                };
                for (v, q) in moves {
                    self.assign(v, q);
                }
            }
        }
    }

    /// The best cut of a thin region r (see [`Self::cut_off_thin_parts`]):
    /// the nodes to move and where.
    pub(super) fn best_cut_off(&mut self, r: usize, members: &[u32]) -> Option<Vec<(u32, usize)>> {
        let now = self.set_pp(members);
        let mut best: Option<(f64, Vec<(u32, usize)>)> = None;
        for &v in members {
            if self.fixed[v as usize] {
                continue;
            }
            let Some(moves) = self.parts_without(r, v) else {
                continue;
            };
            let Some(score) = self.judge_moves(r, members, &moves) else {
                continue;
            };
            if score > now + 1e-3 && best.as_ref().map_or(true, |b| score > b.0) {
                best = Some((score, moves));
            }
        }
        best.map(|b| b.1)
    }

    /// The parts region r falls into without node v; all but the heaviest
    /// go (v with the first of them) to the neighbour each shares most
    /// outline with. `None` when r stays in one piece or a part has no
    /// neighbour to go to.
    pub(super) fn parts_without(&mut self, r: usize, v: u32) -> Option<Vec<(u32, usize)>> {
        let starts: Vec<u32> = self
            .g
            .neighbours(v)
            .iter()
            .copied()
            .filter(|&u| self.part[u as usize] as usize == r)
            .collect();
        if starts.len() < 2 {
            return None;
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
            return None;
        }
        let weight = |p: &Vec<u32>| -> (u64, usize) {
            (p.iter().map(|&x| self.w[x as usize]).sum(), p.len())
        };
        let keep = (0..parts.len()).max_by_key(|&i| weight(&parts[i]))?;
        let mut moves = Vec::new();
        let mut first = true;
        for (i, mut p) in parts.into_iter().enumerate() {
            if i == keep {
                continue;
            }
            if p.iter().any(|&x| self.fixed[x as usize]) {
                return None;
            }
            if first {
                p.push(v);
                first = false;
            }
            let q = self.best_neighbour_of(&p, r)?;
            moves.extend(p.into_iter().map(|x| (x, q)));
        }
        Some(moves)
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
    /// moves, or `None` when a region would get further from the rules.
    pub(super) fn judge_moves(&mut self, r: usize, members: &[u32], moves: &[(u32, usize)]) -> Option<f64> {
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
        if self
            .limits
            .breach(self.hh[r] - lost_h, self.persons[r] - lost_p)
            > self.breach(r)
        {
            return None;
        }
        for &(q, h, p) in &gain {
            if self.limits.breach(self.hh[q] + h, self.persons[q] + p) > self.breach(q) {
                return None;
            }
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
        Some(least)
    }
}
