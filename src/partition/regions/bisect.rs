//! Step 3: initial regions by recursive balanced bisection.
//!
//! Each split grows one side from the extreme end of the nodes' long axis,
//! taking frontier nodes in axis order (a sweep line that stays connected),
//! runs a little past its share and cuts where the frontier is cheapest within
//! ±4 % of the share: along a barrier, or where the outline is shortest.
//! Pockets the sweep cut off from the other side are returned to the grown
//! side, so both sides stay connected. The share of grids each side gets is
//! re-decided from what it actually holds, so granularity errors do not
//! accumulate down the recursion.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::super::graph::Graph;
use super::super::tessellate::{Tessellation, NONE};
use super::counts::GridCounts;
use super::parts::{NodeWeights, Parts};
use super::scratch::Scratch;
use crate::model::Rules;

/// An `f64` ordered by `total_cmp`, for the sweep's heap.
#[derive(Clone, Copy, PartialEq)]
struct F(f64);
impl Eq for F {}
impl PartialOrd for F {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for F {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// The initial regions of every mainland part with the first cut turned by
/// `turn` radians: the region of each node (`NONE` for satellites) and the
/// households each region aims for (a heavy node's region its own weight, the
/// others an equal share of the rest).
#[allow(clippy::too_many_arguments)]
pub(super) fn initial_regions(
    g: &Graph,
    tess: &Tessellation,
    parts: &Parts,
    weights: &NodeWeights,
    counts: &GridCounts,
    rules: &Rules,
    turn: f64,
    scratch: &mut Scratch,
) -> (Vec<u32>, Vec<f64>) {
    let (w, heavy) = (&weights.households[..], &counts.heavy[..]);
    let heavy_weight = |nodes: &[u32]| -> f64 {
        nodes
            .iter()
            .filter(|&&v| heavy[v as usize])
            .map(|&v| w[v as usize] as f64)
            .sum()
    };
    let mut part = vec![NONE; g.len()];
    let mut means: Vec<f64> = Vec::new();
    for (i, &c) in counts.mains.iter().enumerate() {
        let members = &parts.members[c];
        let total: f64 = counts.main_w[i] as f64;
        let bisection = Bisection {
            g,
            tess,
            w,
            // Heavy nodes count as one grid's worth in the bisection.
            cap: if counts.light_means[i] > 0.0 {
                counts.light_means[i]
            } else {
                rules.target() as f64
            },
            use_area: total <= 0.0,
        };
        let mut regions: Vec<Vec<u32>> = Vec::new();
        bisection.split(members, counts.ks[i], turn, scratch, &mut regions);
        let kk = regions.len();
        let light_regions = regions
            .iter()
            .filter(|r| !r.iter().any(|&v| heavy[v as usize]))
            .count();
        let heavy_w = heavy_weight(members);
        for reg in regions {
            let id = means.len() as u32;
            let hw = heavy_weight(&reg);
            for v in reg {
                part[v as usize] = id;
            }
            means.push(if hw > 0.0 {
                hw
            } else if light_regions > 0 {
                (total - heavy_w) / light_regions as f64
            } else {
                total / kk as f64
            });
        }
    }
    (part, means)
}

/// A fresh split of `nodes` into two by households, the cut turned by `turn`
/// radians from the long axis (the re-splits try several directions). Fewer
/// than two regions come back when the nodes cannot be split.
pub(super) fn split_in_two(
    g: &Graph,
    tess: &Tessellation,
    nodes: &[u32],
    w: &[u64],
    turn: f64,
    s: &mut Scratch,
) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let bisection = Bisection {
        g,
        tess,
        w,
        cap: f64::INFINITY,
        use_area: false,
    };
    bisection.split(nodes, 2, turn, s, &mut out);
    out
}

/// How nodes are measured while bisecting.
struct Bisection<'a> {
    g: &'a Graph,
    tess: &'a Tessellation,
    w: &'a [u64],
    /// Most a node counts for (a heavy node counts as one grid's worth).
    cap: f64,
    /// Measure by area instead (a part without households).
    use_area: bool,
}

impl Bisection<'_> {
    fn measure(&self, v: u32) -> f64 {
        if self.use_area {
            self.tess.nodes[v as usize].area
        } else {
            (self.w[v as usize] as f64).min(self.cap)
        }
    }

    /// Splits `nodes` into `k` regions, pushed onto `out`; `turn` turns the
    /// first cut only.
    fn split(&self, nodes: &[u32], k: usize, turn: f64, s: &mut Scratch, out: &mut Vec<Vec<u32>>) {
        if k <= 1 || nodes.len() < 2 {
            out.push(nodes.to_vec());
            return;
        }
        let total: f64 = nodes.iter().map(|&v| self.measure(v)).sum();
        let axis = sweep_direction(self.tess, nodes, turn);
        let target = total * (k / 2) as f64 / k as f64;
        let window = total / k as f64 * 0.04;
        let in_a = self.sweep(nodes, axis, target, window, s);
        let Some((a_nodes, b_main)) = self.connected_sides(nodes, in_a, s) else {
            out.push(nodes.to_vec());
            return;
        };
        let (ka, kb) = self.grid_shares(&a_nodes, &b_main, total, k);
        self.split(&a_nodes, ka, 0.0, s, out);
        self.split(&b_main, kb, 0.0, s, out);
    }

    /// Grows side A from the end of the axis in axis order, on past `target`
    /// to `target + window`, and returns the nodes taken up to where the
    /// frontier was cheapest within ±window (or, with none in the window,
    /// closest to the target): the sweep line stops along a barrier or where
    /// the outline is shortest, not just at the first node reaching the target.
    fn sweep(
        &self,
        nodes: &[u32],
        (ux, uy): (f64, f64),
        target: f64,
        window: f64,
        s: &mut Scratch,
    ) -> Vec<u32> {
        let g = self.g;
        let proj = |v: u32| {
            let c = self.tess.nodes[v as usize].centroid;
            c.x * ux + c.y * uy
        };
        // Members of this subproblem.
        let inset = s.next();
        for &v in nodes {
            s.mark[v as usize] = inset;
        }
        let start = *nodes
            .iter()
            .min_by(|&&a, &&b| proj(a).total_cmp(&proj(b)).then(a.cmp(&b)))
            .expect("non-empty");
        let grown = s.next();
        let mut heap: BinaryHeap<Reverse<(F, u32)>> = BinaryHeap::new();
        heap.push(Reverse((F(proj(start)), start)));
        let queued = grown; // reuse stamp: marked when queued
        s.mark[start as usize] = queued;
        let ina = s.next();
        let in_set = |m: u32| m == inset || m == queued || m == ina;
        let mut in_a: Vec<u32> = Vec::new();
        let mut acc = 0.0;
        let mut cut = 0.0f64;
        let mut best_in_window: Option<(f64, usize)> = None;
        let mut best_closest: (f64, usize) = (f64::INFINITY, 0);
        while let Some(Reverse((_, v))) = heap.pop() {
            let wv = self.measure(v);
            if acc > 0.0 && acc + wv > target + window && acc >= target - window {
                break;
            }
            in_a.push(v);
            s.mark[v as usize] = ina;
            acc += wv;
            for (&u, &c) in g.neighbours(v).iter().zip(g.costs(v)) {
                let m = s.mark[u as usize];
                if m == ina {
                    cut -= c as f64;
                } else if in_set(m) {
                    cut += c as f64;
                }
            }
            let dev = (acc - target).abs();
            if dev < best_closest.0 {
                best_closest = (dev, in_a.len());
            }
            if dev <= window {
                let score = cut + 0.01 * dev / window.max(1e-9);
                if best_in_window.map_or(true, |(b, _)| score < b) {
                    best_in_window = Some((score, in_a.len()));
                }
            }
            if acc >= target + window {
                break;
            }
            for &u in g.neighbours(v) {
                if s.mark[u as usize] == inset {
                    s.mark[u as usize] = queued;
                    heap.push(Reverse((F(proj(u)), u)));
                }
            }
        }
        let keep = best_in_window.map(|b| b.1).unwrap_or(best_closest.1).max(1);
        in_a.truncate(keep);
        in_a
    }

    /// Both sides of the cut, connected: side B is the largest component of
    /// what A left (by measure, then size), and the pockets the sweep cut off
    /// from it go to A. Both sorted; `None` when either side is empty.
    fn connected_sides(
        &self,
        nodes: &[u32],
        in_a: Vec<u32>,
        s: &mut Scratch,
    ) -> Option<(Vec<u32>, Vec<u32>)> {
        let a_stamp = s.next();
        for &v in &in_a {
            s.mark[v as usize] = a_stamp;
        }
        // Components of B (everything in `nodes` not in A).
        let b_nodes: Vec<u32> = nodes
            .iter()
            .copied()
            .filter(|&v| s.mark[v as usize] != a_stamp)
            .collect();
        if b_nodes.is_empty() || in_a.is_empty() {
            return None;
        }
        let comps = self.components_of(&b_nodes, s);
        let main = (0..comps.len())
            .max_by(|&a, &b| {
                comps[a]
                    .0
                    .total_cmp(&comps[b].0)
                    .then(comps[a].1.cmp(&comps[b].1))
                    .then(b.cmp(&a))
            })
            .expect("b non-empty");
        let mut a_nodes = in_a;
        let mut b_main = Vec::new();
        for (i, c) in comps.into_iter().enumerate() {
            if i == main {
                b_main = c.2;
            } else {
                a_nodes.extend(c.2);
            }
        }
        a_nodes.sort_unstable();
        b_main.sort_unstable();
        Some((a_nodes, b_main))
    }

    /// Connected components of `b_nodes` (measure, size, members), in order
    /// of their first node in `b_nodes`.
    fn components_of(&self, b_nodes: &[u32], s: &mut Scratch) -> Vec<(f64, usize, Vec<u32>)> {
        let g = self.g;
        let bset = s.next();
        for &v in b_nodes {
            s.mark[v as usize] = bset;
        }
        let mut comps: Vec<(f64, usize, Vec<u32>)> = Vec::new();
        for &b in b_nodes {
            if s.mark[b as usize] != bset {
                continue;
            }
            let seen = s.next();
            // Note: `seen` replaces bset for visited nodes; unvisited keep bset.
            let mut stack = vec![b];
            s.mark[b as usize] = seen;
            let mut members = Vec::new();
            let mut m = 0.0;
            while let Some(v) = stack.pop() {
                members.push(v);
                m += self.measure(v);
                for &u in g.neighbours(v) {
                    if s.mark[u as usize] == bset {
                        s.mark[u as usize] = seen;
                        stack.push(u);
                    }
                }
            }
            comps.push((m, members.len(), members));
        }
        comps
    }

    /// Grids for each side, from the share of the measure side A holds.
    fn grid_shares(&self, a_nodes: &[u32], b_main: &[u32], total: f64, k: usize) -> (usize, usize) {
        let wa: f64 = a_nodes.iter().map(|&v| self.measure(v)).sum();
        let per = total / k as f64;
        let mut ka = if per > 0.0 {
            (wa / per).round() as usize
        } else {
            k / 2
        };
        ka = ka.clamp(1, k - 1);
        let ka = ka.min(a_nodes.len()).max(1);
        let kb = (k - ka).min(b_main.len()).max(1);
        (ka, kb)
    }
}

/// Unit vector along the nodes' long axis (from the area-weighted covariance
/// of their centroids), turned by `turn` radians.
fn sweep_direction(tess: &Tessellation, nodes: &[u32], turn: f64) -> (f64, f64) {
    let (mut sa, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for &v in nodes {
        let nd = &tess.nodes[v as usize];
        let a = nd.area + 1e-9;
        sa += a;
        sx += a * nd.centroid.x;
        sy += a * nd.centroid.y;
    }
    let (mx, my) = (sx / sa, sy / sa);
    let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
    for &v in nodes {
        let nd = &tess.nodes[v as usize];
        let a = nd.area + 1e-9;
        let (dx, dy) = (nd.centroid.x - mx, nd.centroid.y - my);
        cxx += a * dx * dx;
        cyy += a * dy * dy;
        cxy += a * dx * dy;
    }
    let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy) + turn;
    (theta.cos(), theta.sin())
}
