//! Path moves: a building deep inside a grid handed to a neighbour together
//! with the ground between them.
//!
//! A single-node move only reaches nodes on the border, so a grid of 606
//! (a 480 tower and a 117 block inside) beside one of 158 stays as it is:
//! the 117 block does not touch the neighbour. Here a node moves with the
//! shortest run of nodes that links it to the neighbour through its own
//! grid, when the grid stays connected without them and the total breach of
//! the two grids drops.

use std::collections::VecDeque;

use super::Rebalance;
use crate::partition::tessellate::NONE;

/// Candidate paths tried per pair of grids, best gain first.
const PATH_TRIES: usize = 16;

impl Rebalance<'_> {
    /// One path move between breaching grid r and a neighbour, in either
    /// direction, that lowers their total breach. Returns whether it moved.
    pub(super) fn move_path(&mut self, r: usize) -> bool {
        for q in self.region_neighbours(r) {
            for (from, to) in [(r, q), (q, r)] {
                if self.try_path(from, to) {
                    return true;
                }
            }
        }
        false
    }

    /// The best path move of nodes from region `from` to region `to`.
    fn try_path(&mut self, from: usize, to: usize) -> bool {
        let parent = self.paths_to(from, to);
        let before = self.breach(from) + self.breach(to);
        let mut cands: Vec<(u64, u32)> = Vec::new();
        for v in self.members(from) {
            if self.w[v as usize] == 0 || parent[v as usize] == NONE {
                continue;
            }
            let path = trace(&parent, v);
            let (w, p) = self.totals(&path);
            let after = self
                .limits
                .breach(self.hh[from] - w, self.persons[from] - p)
                + self.limits.breach(self.hh[to] + w, self.persons[to] + p);
            if after < before && (path.len() as u32) < self.size[from] {
                cands.push((before - after, v));
            }
        }
        cands.sort_by_key(|&(gain, v)| (std::cmp::Reverse(gain), v));
        for &(_, v) in cands.iter().take(PATH_TRIES) {
            let path = trace(&parent, v);
            if path.iter().any(|&x| self.fixed[x as usize]) {
                continue;
            }
            let rest: Vec<u32> = self
                .members(from)
                .into_iter()
                .filter(|x| !path.contains(x))
                .collect();
            let part = &self.part;
            let on_path = |x: u32| path.contains(&x);
            let inside = |x: u32| part[x as usize] as usize == from && !on_path(x);
            let inside: Vec<bool> = (0..self.part.len() as u32).map(inside).collect();
            if self.connected(&rest, |x| inside[x as usize]) {
                for &x in &path {
                    self.assign(x, to);
                }
                return true;
            }
        }
        false
    }

    /// Breadth-first search through region `from`, starting at its nodes that
    /// touch region `to`: for every node of `from`, the next node towards
    /// `to` (itself for the starting nodes), or [`NONE`] when unreachable.
    fn paths_to(&self, from: usize, to: usize) -> Vec<u32> {
        let mut parent = vec![NONE; self.part.len()];
        let mut queue = VecDeque::new();
        for v in self.members(from) {
            let touches = self
                .g
                .neighbours(v)
                .iter()
                .any(|&u| self.part[u as usize] as usize == to);
            if touches {
                parent[v as usize] = v;
                queue.push_back(v);
            }
        }
        while let Some(x) = queue.pop_front() {
            for &u in self.g.neighbours(x) {
                if parent[u as usize] == NONE && self.part[u as usize] as usize == from {
                    parent[u as usize] = x;
                    queue.push_back(u);
                }
            }
        }
        parent
    }
}

/// The path from v to the node where its search started.
fn trace(parent: &[u32], mut v: u32) -> Vec<u32> {
    let mut path = vec![v];
    while parent[v as usize] != v {
        v = parent[v as usize];
        path.push(v);
    }
    path
}
