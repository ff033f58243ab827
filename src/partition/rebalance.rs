//! Rule repair for lumpy loads: the last word on households per grid.
//!
//! The region step balances by moving boundary nodes towards the mean, which
//! works when a node is small next to a grid. In a district of towers (a
//! point of 100–480 households next to points of 1–5, rules of 300–500) it
//! can stop with a grid of 0 or 547 next to one of 480: no single move helps
//! both. This step works on whole grids and whole nodes, always keeping every
//! grid connected, and accepts a change only when it lowers the total rule
//! breach (households below the minimum or above the maximum, persons above
//! their maximum):
//!
//! 1. **Empty ground is shared**: a grid with no households is dissolved
//!    into its neighbours (each node to the neighbouring grid it touches most),
//!    so parks and water never make a grid of their own.
//! 2. **Moves and swaps** of whole nodes between a breaching grid and a
//!    neighbour.
//! 3. **Re-splits** of a breaching grid with one or two neighbours together:
//!    their nodes are grown again from many seeds and directions, skipping a
//!    node that would overshoot (a tower) so the lighter ones fill the gap,
//!    and the feasible split with the shortest cut wins.
//! 4. **Merges**: a grid below the minimum joins a neighbour when together
//!    they stay within the maximum.
//! 5. **Ejection chains**: a breaching grid passes a node to a neighbour,
//!    which passes one on, up to [`CHAIN_DEPTH`] grids away, until a grid with
//!    room takes it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::compact;
use super::graph::Graph;
use super::regions::RegionResult;
use super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

/// How many grids an ejection chain may pass through.
const CHAIN_DEPTH: usize = 6;
/// First links an ejection chain tries.
const FIRST_LINKS: usize = 6;
/// Grids less compact than this (Polsby–Popper) may give a part away.
const THIN: f64 = 0.25;
/// Seeds tried per direction in a re-split.
const DIRECTIONS: usize = 8;

/// The breach of one grid in households-equivalent units.
#[derive(Clone, Copy)]
struct Limits {
    min: u64,
    max: u64,
    max_p: Option<u64>,
}

impl Limits {
    fn breach(&self, h: u64, p: u64) -> u64 {
        let hb = self.min.saturating_sub(h) + h.saturating_sub(self.max);
        let pb = self.max_p.map_or(0, |m| p.saturating_sub(m));
        hb + pb
    }
}

/// Stamps for graph searches, reused between them.
struct Marks {
    mark: Vec<u32>,
    stamp: u32,
}

impl Marks {
    fn new(n: usize) -> Self {
        Marks {
            mark: vec![0; n],
            stamp: 0,
        }
    }

    fn next(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        self.stamp
    }
}

/// Does region `r` (of `size` nodes) stay connected without node v? All of
/// v's neighbours in r must still meet.
fn connected_without(
    g: &Graph,
    part: &[u32],
    marks: &mut Marks,
    v: u32,
    r: usize,
    size: u32,
) -> bool {
    let targets: Vec<u32> = g
        .neighbours(v)
        .iter()
        .copied()
        .filter(|&u| part[u as usize] as usize == r)
        .collect();
    if targets.len() <= 1 {
        return size > 1 || targets.is_empty();
    }
    let seen = marks.next();
    marks.mark[v as usize] = seen;
    let mut stack = vec![targets[0]];
    marks.mark[targets[0] as usize] = seen;
    let mut found = 1;
    while let Some(x) = stack.pop() {
        for &u in g.neighbours(x) {
            if part[u as usize] as usize == r && marks.mark[u as usize] != seen {
                marks.mark[u as usize] = seen;
                if targets.contains(&u) {
                    found += 1;
                    if found == targets.len() {
                        return true;
                    }
                }
                stack.push(u);
            }
        }
    }
    false
}

/// Working state: region of every node and per-region totals.
pub(crate) struct Rebalance<'a> {
    g: &'a Graph,
    tess: &'a Tessellation,
    w: &'a [u64],
    pp: &'a [u64],
    /// Nodes that belong to a detached part of the area (their households are
    /// counted with an anchor node): never moved.
    fixed: &'a [bool],
    pub(crate) part: Vec<u32>,
    hh: Vec<u64>,
    persons: Vec<u64>,
    size: Vec<u32>,
    limits: Limits,
    marks: Marks,
}

impl<'a> Rebalance<'a> {
    pub(crate) fn new(
        g: &'a Graph,
        tess: &'a Tessellation,
        w: &'a [u64],
        pp: &'a [u64],
        fixed: &'a [bool],
        part: Vec<u32>,
        k: usize,
        rules: &Rules,
        has_persons: bool,
    ) -> Self {
        let mut hh = vec![0u64; k];
        let mut persons = vec![0u64; k];
        let mut size = vec![0u32; k];
        for (v, &r) in part.iter().enumerate() {
            hh[r as usize] += w[v];
            persons[r as usize] += pp[v];
            size[r as usize] += 1;
        }
        Rebalance {
            g,
            tess,
            w,
            pp,
            fixed,
            marks: Marks::new(part.len()),
            part,
            hh,
            persons,
            size,
            limits: Limits {
                min: rules.min_households,
                max: rules.max_households,
                max_p: if has_persons { rules.max_persons } else { None },
            },
        }
    }

    /// Breach of region r; a region emptied of nodes is gone, not a breach.
    fn breach(&self, r: usize) -> u64 {
        if self.size[r] == 0 {
            return 0;
        }
        self.limits.breach(self.hh[r], self.persons[r])
    }

    /// Runs every repair until nothing improves. Returns the region of every
    /// node, with regions renumbered 0..k' (dissolved grids removed).
    pub(crate) fn run(mut self) -> (Vec<u32>, usize) {
        let k = self.hh.len();
        if k > 1 {
            self.dissolve_empty();
            for _round in 0..6 {
                let mut changed = false;
                let mut bad: Vec<usize> = (0..self.hh.len())
                    .filter(|&r| self.size[r] > 0 && self.breach(r) > 0)
                    .collect();
                bad.sort_by_key(|&r| (Reverse(self.breach(r)), r));
                for r in bad {
                    if self.size[r] == 0 || self.breach(r) == 0 {
                        continue;
                    }
                    changed |= self.improve_by_moves(r)
                        || self.resplit_pair(r)
                        || self.merge_small(r)
                        || self.resplit_triple(r)
                        || self.eject(r);
                }
                if !changed {
                    break;
                }
            }
            self.dissolve_empty();
            self.polish_shapes();
            self.cut_off_thin_parts();
            self.polish_shapes();
        }
        self.renumber()
    }

    /// Compactness moves (see [`compact::polish`]) that take no grid further
    /// from the rules: empty land and slivers go to whichever grid they round
    /// off, so repairs and shared empty ground leave no strips.
    fn polish_shapes(&mut self) {
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
    fn set_pp(&mut self, nodes: &[u32]) -> f64 {
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
        super::polsby_popper(area, perim)
    }

    /// Grids that stay thin after the compactness moves (a strip of clipped
    /// cells along the area's edge or a neck joining two blocks: no single
    /// move can take it off without cutting the grid in two) give a whole
    /// part away: the grid is cut at one node and every part but the one
    /// with most households goes, with that node, to the neighbour it
    /// shares most outline with, when no grid gets further from the rules
    /// and the least compact grid involved gets more compact.
    fn cut_off_thin_parts(&mut self) {
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
    fn best_cut_off(&mut self, r: usize, members: &[u32]) -> Option<Vec<(u32, usize)>> {
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
    fn parts_without(&mut self, r: usize, v: u32) -> Option<Vec<(u32, usize)>> {
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
    fn best_neighbour_of(&self, nodes: &[u32], r: usize) -> Option<usize> {
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
    fn judge_moves(&mut self, r: usize, members: &[u32], moves: &[(u32, usize)]) -> Option<f64> {
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

    fn renumber(self) -> (Vec<u32>, usize) {
        let k = self.hh.len();
        let mut map = vec![NONE; k];
        let mut next = 0u32;
        for r in 0..k {
            if self.size[r] > 0 {
                map[r] = next;
                next += 1;
            }
        }
        let part = self.part.iter().map(|&r| map[r as usize]).collect();
        (part, next as usize)
    }

    /// Neighbouring regions of region r (sorted).
    fn region_neighbours(&self, r: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for v in 0..self.part.len() {
            if self.part[v] as usize != r {
                continue;
            }
            for &u in self.g.neighbours(v as u32) {
                let q = self.part[u as usize] as usize;
                if q != r {
                    out.push(q);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn members(&self, r: usize) -> Vec<u32> {
        (0..self.part.len() as u32)
            .filter(|&v| self.part[v as usize] as usize == r)
            .collect()
    }

    fn assign(&mut self, v: u32, to: usize) {
        let from = self.part[v as usize] as usize;
        if from == to {
            return;
        }
        let (wv, pv) = (self.w[v as usize], self.pp[v as usize]);
        self.hh[from] -= wv;
        self.persons[from] -= pv;
        self.size[from] -= 1;
        self.hh[to] += wv;
        self.persons[to] += pv;
        self.size[to] += 1;
        self.part[v as usize] = to as u32;
    }

    /// Does region `r` stay connected without node v?
    fn stays_connected_without(&mut self, v: u32, r: usize) -> bool {
        connected_without(self.g, &self.part, &mut self.marks, v, r, self.size[r])
    }

    /// Is the node set connected (over graph edges within the set)?
    fn connected(&mut self, nodes: &[u32], inside: impl Fn(u32) -> bool) -> bool {
        let linked: Vec<u32> = nodes
            .iter()
            .copied()
            .filter(|&v| !self.g.neighbours(v).is_empty())
            .collect();
        let Some(&start) = linked.first() else {
            return true;
        };
        let seen = self.marks.next();
        let mut stack = vec![start];
        self.marks.mark[start as usize] = seen;
        let mut count = 1;
        while let Some(x) = stack.pop() {
            for &u in self.g.neighbours(x) {
                if self.marks.mark[u as usize] != seen && inside(u) {
                    self.marks.mark[u as usize] = seen;
                    count += 1;
                    stack.push(u);
                }
            }
        }
        count == linked.len()
    }

    /// Dissolves every grid without households into its neighbours.
    fn dissolve_empty(&mut self) {
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
    fn spread(&mut self, r: usize, members: &[u32]) {
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
    fn improve_by_moves(&mut self, r: usize) -> bool {
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
    fn best_move(&mut self, r: usize) -> Option<(u32, usize)> {
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
    fn move_gain(&self, v: u32, a: usize, b: usize) -> u64 {
        let (wv, pv) = (self.w[v as usize], self.pp[v as usize]);
        let before = self.breach(a) + self.breach(b);
        let after = self.limits.breach(self.hh[a] - wv, self.persons[a] - pv)
            + self.limits.breach(self.hh[b] + wv, self.persons[b] + pv);
        before.saturating_sub(after)
    }

    /// A swap of two adjacent boundary nodes between r and a neighbour that
    /// lowers the breach, keeping both regions connected.
    fn best_swap(&mut self, r: usize) -> Option<(u32, u32)> {
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
    fn merge_small(&mut self, r: usize) -> bool {
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

    /// Re-splits r with one neighbour: the pair's nodes grown again into
    /// two grids (or one, or three, when the pair's total fits those better).
    fn resplit_pair(&mut self, r: usize) -> bool {
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
    fn resplit_triple(&mut self, r: usize) -> bool {
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
    fn resplit_first_of(&mut self, groups: &[Vec<usize>]) -> bool {
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
    fn new_region(&mut self) -> usize {
        self.hh.push(0);
        self.persons.push(0);
        self.size.push(0);
        self.hh.len() - 1
    }

    /// `m` (1–3) connected grids from `nodes` with a total breach below
    /// `before`: a label per node.
    fn split_into(&mut self, nodes: &[u32], m: usize, before: u64) -> Option<Vec<u8>> {
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
    fn split_three(&mut self, nodes: &[u32], before: u64) -> Option<Vec<u8>> {
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

    fn totals(&self, nodes: &[u32]) -> (u64, u64) {
        nodes.iter().fold((0, 0), |s, &v| {
            (s.0 + self.w[v as usize], s.1 + self.pp[v as usize])
        })
    }

    /// Two connected grids from `nodes` whose total breach is below `before`,
    /// the one with the shortest cut (barrier edges are cheap to cut).
    /// `true` marks the first grid.
    fn split_two(&mut self, nodes: &[u32], before: u64) -> Option<Vec<bool>> {
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

    fn membership(&self, nodes: &[u32], side: &[bool], want: bool) -> Vec<bool> {
        let mut m = vec![false; self.part.len()];
        for (&v, &s) in nodes.iter().zip(side) {
            if s == want {
                m[v as usize] = true;
            }
        }
        m
    }

    /// Cut cost between node set `a` and the nodes marked in `other`.
    fn cut_cost(&self, a: &[u32], other: &[bool]) -> f64 {
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
    fn grow_candidates(&mut self, nodes: &[u32], lo: u64, hi: u64) -> Vec<Vec<bool>> {
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

    /// Ejection chain: r passes a node to a neighbour, which passes one on,
    /// until a grid with room takes the surplus (or, for a grid below the
    /// minimum, a neighbour gives a node and takes one from further on, down
    /// to a grid that can be emptied). The first link tries the
    /// [`FIRST_LINKS`] best choices, later links the best that keeps both
    /// grids connected; a chain is kept only when the total breach drops.
    fn eject(&mut self, r: usize) -> bool {
        let before: u64 = (0..self.hh.len()).map(|q| self.breach(q)).sum();
        let over = self.hh[r] > self.limits.max;
        let firsts = self.chain_links(r, over, &[r]);
        for &first in firsts.iter().take(FIRST_LINKS) {
            let saved = (
                self.part.clone(),
                self.hh.clone(),
                self.persons.clone(),
                self.size.clone(),
            );
            self.follow_chain(r, over, first);
            let after: u64 = (0..self.hh.len()).map(|q| self.breach(q)).sum();
            if after < before {
                return true;
            }
            (self.part, self.hh, self.persons, self.size) = saved;
        }
        false
    }

    /// Makes the chain that starts at r with link `first`.
    fn follow_chain(&mut self, r: usize, over: bool, first: (u32, usize, usize)) {
        let mut visited = vec![r];
        let mut link = Some(first);
        for _ in 0..CHAIN_DEPTH {
            let Some((v, from, to)) = link else { break };
            if !self.stays_connected_without(v, from) {
                break;
            }
            self.assign(v, to);
            let next = if over { to } else { from };
            visited.push(next);
            if self.breach(next) == 0 {
                break;
            }
            let options = self.chain_links(next, over, &visited);
            link = None;
            for (v, from, to) in options {
                if self.stays_connected_without(v, from) {
                    link = Some((v, from, to));
                    break;
                }
            }
        }
    }

    /// The links of an ejection chain at region `cur`, best first: a node it
    /// gives to a neighbour (`over`) or takes from one, outside the chain so
    /// far, ranked by the breach left at `cur` (lighter nodes first on ties).
    fn chain_links(&self, cur: usize, over: bool, visited: &[usize]) -> Vec<(u32, usize, usize)> {
        let mine = self.members(cur);
        let mut links: Vec<((u64, u64, u32, usize), (u32, usize, usize))> = Vec::new();
        for &x in &mine {
            for &y in self.g.neighbours(x) {
                let other = self.part[y as usize] as usize;
                if other == cur || visited.contains(&other) {
                    continue;
                }
                let (v, from, to) = if over {
                    (x, cur, other)
                } else {
                    (y, other, cur)
                };
                let wv = self.w[v as usize];
                if self.fixed[v as usize] || wv == 0 {
                    continue;
                }
                let pv = self.pp[v as usize];
                let left = if over {
                    self.limits
                        .breach(self.hh[cur] - wv, self.persons[cur] - pv)
                } else {
                    self.limits
                        .breach(self.hh[cur] + wv, self.persons[cur] + pv)
                };
                links.push(((left, wv, v, other), (v, from, to)));
            }
        }
        links.sort_by_key(|l| l.0);
        links.dedup_by_key(|l| l.1);
        links.into_iter().map(|l| l.1).collect()
    }
}

/// Nodes of detached parts of the area (graph components lighter than the
/// minimum, as the region step treats them): their households count with an
/// anchor node elsewhere, so they never move on their own.
fn detached_nodes(g: &Graph, w: &[u64], min: u64) -> Vec<bool> {
    let n = g.len();
    let mut comp = vec![NONE; n];
    let mut weights: Vec<u64> = Vec::new();
    for s in 0..n {
        if comp[s] != NONE {
            continue;
        }
        let id = weights.len() as u32;
        let mut sum = 0;
        let mut stack = vec![s as u32];
        comp[s] = id;
        while let Some(v) = stack.pop() {
            sum += w[v as usize];
            for &u in g.neighbours(v) {
                if comp[u as usize] == NONE {
                    comp[u as usize] = id;
                    stack.push(u);
                }
            }
        }
        weights.push(sum);
    }
    let heaviest = weights.iter().copied().max().unwrap_or(0);
    let mainland: Vec<bool> = weights
        .iter()
        .map(|&x| x >= min.max(1) || (heaviest < min.max(1) && x == heaviest))
        .collect();
    comp.iter().map(|&c| !mainland[c as usize]).collect()
}

/// Repairs the region step's result for the rules (see the module docs) and
/// recounts it.
pub(crate) fn rebalance(
    g: &Graph,
    tess: &Tessellation,
    node_hh: &[u64],
    node_pp: &[u64],
    result: RegionResult,
    rules: &Rules,
    has_persons: bool,
) -> RegionResult {
    if result.k < 2 || result.assignment.is_empty() {
        return result;
    }
    let fixed = detached_nodes(g, node_hh, rules.min_households);
    let (assignment, k) = Rebalance::new(
        g,
        tess,
        node_hh,
        node_pp,
        &fixed,
        result.assignment,
        result.k,
        rules,
        has_persons,
    )
    .run();
    let mut households = vec![0u64; k];
    let mut persons = vec![0u64; k];
    let mut heaviest_node = vec![0u64; k];
    let mut has_satellite = vec![false; k];
    for (v, &r) in assignment.iter().enumerate() {
        let r = r as usize;
        households[r] += node_hh[v];
        persons[r] += node_pp[v];
        heaviest_node[r] = heaviest_node[r].max(node_hh[v]);
        has_satellite[r] |= fixed[v];
    }
    RegionResult {
        k,
        assignment,
        households,
        persons,
        heaviest_node,
        has_satellite,
        feasible: result.feasible,
        notes: result.notes,
    }
}
