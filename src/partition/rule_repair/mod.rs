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
//! 3. **Path moves**: a building inside a grid goes to a neighbour with the
//!    shortest run of ground that links them ([`paths`]).
//! 4. **Re-splits** of a breaching grid with one or two neighbours together:
//!    their nodes are grown again from many seeds and directions, skipping a
//!    node that would overshoot (a tower) so the lighter ones fill the gap,
//!    and the feasible split with the shortest cut wins.
//! 5. **Merges**: a grid below the minimum joins a neighbour when together
//!    they stay within the maximum.
//! 6. **Ejection chains**: a breaching grid passes a node to a neighbour,
//!    which passes one on, up to [`CHAIN_DEPTH`] grids away, until a grid with
//!    room takes it.

use std::cmp::Reverse;

mod chains;
mod cut_off;
mod moves;
mod paths;
mod resplit;
mod shape;

use super::graph::Graph;
use super::regions::{RegionResult, Scratch};
use super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

/// How many grids an ejection chain may pass through.
const CHAIN_DEPTH: usize = 6;
/// First links an ejection chain tries.
const FIRST_LINKS: usize = 6;
/// Grids less compact than this (Polsby–Popper) may give a part away.
const THIN: f64 = 0.25;
/// Cuts of a thin grid tried, best first.
const CUT_OFF_TRIES: usize = 48;
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
    pub(super) fn breach(&self, h: u64, p: u64) -> u64 {
        let hb = self.min.saturating_sub(h) + h.saturating_sub(self.max);
        let pb = self.max_p.map_or(0, |m| p.saturating_sub(m));
        hb + pb
    }
}

/// Does region `r` (of `size` nodes) stay connected without node v? All of
/// v's neighbours in r must still meet.
fn connected_without(
    g: &Graph,
    part: &[u32],
    marks: &mut Scratch,
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

/// A copy of the working state (see [`Rebalance::save`]).
pub(super) struct Saved {
    part: Vec<u32>,
    hh: Vec<u64>,
    persons: Vec<u64>,
    size: Vec<u32>,
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
    marks: Scratch,
}

impl<'a> Rebalance<'a> {
    #[allow(clippy::too_many_arguments)]
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
            marks: Scratch::new(part.len()),
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
    pub(super) fn breach(&self, r: usize) -> u64 {
        if self.size[r] == 0 {
            return 0;
        }
        self.limits.breach(self.hh[r], self.persons[r])
    }

    /// Rounds of repairs over every region outside the rules, worst first,
    /// until a round changes nothing.
    pub(super) fn repair_rounds(&mut self, rounds: usize) {
        for _round in 0..rounds {
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
                    || self.move_path(r)
                    || self.resplit_pair(r)
                    || self.merge_small(r)
                    || self.resplit_triple(r)
                    || self.eject(r);
            }
            if !changed {
                break;
            }
        }
    }

    /// Sum of every region's breach.
    pub(super) fn total_breach(&self) -> u64 {
        (0..self.hh.len()).map(|q| self.breach(q)).sum()
    }

    /// The region of every node and the totals, to undo a tentative change.
    pub(super) fn save(&self) -> Saved {
        Saved {
            part: self.part.clone(),
            hh: self.hh.clone(),
            persons: self.persons.clone(),
            size: self.size.clone(),
        }
    }

    pub(super) fn restore(&mut self, saved: Saved) {
        self.part = saved.part;
        self.hh = saved.hh;
        self.persons = saved.persons;
        self.size = saved.size;
    }

    /// Runs every repair until nothing improves. Returns the region of every
    /// node, with regions renumbered 0..k' (dissolved grids removed).
    pub(crate) fn run(mut self) -> (Vec<u32>, usize) {
        let k = self.hh.len();
        if k > 1 {
            self.dissolve_empty();
            self.repair_rounds(6);
            self.dissolve_empty();
            self.polish_shapes();
            for _ in 0..2 {
                self.reshape_thin();
                self.polish_shapes();
            }
        }
        self.renumber()
    }

    pub(super) fn renumber(self) -> (Vec<u32>, usize) {
        let mut next = 0u32;
        let map: Vec<u32> = self
            .size
            .iter()
            .map(|&s| {
                if s == 0 {
                    return NONE;
                }
                next += 1;
                next - 1
            })
            .collect();
        let part = self.part.iter().map(|&r| map[r as usize]).collect();
        (part, next as usize)
    }

    /// Neighbouring regions of region r (sorted).
    pub(super) fn region_neighbours(&self, r: usize) -> Vec<usize> {
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

    pub(super) fn members(&self, r: usize) -> Vec<u32> {
        (0..self.part.len() as u32)
            .filter(|&v| self.part[v as usize] as usize == r)
            .collect()
    }

    pub(super) fn assign(&mut self, v: u32, to: usize) {
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
    pub(super) fn stays_connected_without(&mut self, v: u32, r: usize) -> bool {
        connected_without(self.g, &self.part, &mut self.marks, v, r, self.size[r])
    }

    /// Is the node set connected (over graph edges within the set)?
    pub(super) fn connected(&mut self, nodes: &[u32], inside: impl Fn(u32) -> bool) -> bool {
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

    pub(super) fn totals(&self, nodes: &[u32]) -> (u64, u64) {
        nodes.iter().fold((0, 0), |s, &v| {
            (s.0 + self.w[v as usize], s.1 + self.pp[v as usize])
        })
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
    let mut has_satellite = vec![false; k];
    for (v, &r) in assignment.iter().enumerate() {
        let r = r as usize;
        households[r] += node_hh[v];
        persons[r] += node_pp[v];
        has_satellite[r] |= fixed[v];
    }
    RegionResult {
        k,
        assignment,
        households,
        persons,
        has_satellite,
        feasible: result.feasible,
        notes: result.notes,
    }
}
