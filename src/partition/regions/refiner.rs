//! What every move of steps 4–6 relies on: the running totals of each region
//! (households, persons, area, area-weighted centroid, size), the balance
//! penalty and band a move is judged by, the compactness change of moving a
//! node, and the test that the region a node leaves stays connected.

use geo_types::Coord;

use super::super::graph::Graph;
use super::super::tessellate::{Tessellation, NONE};
use super::scratch::Scratch;
use super::Plan;

/// Weight of a rule breach in [`Refiner::pen`]: any breach costs more than
/// any imbalance within the rules.
const HARD: f64 = 50.0;

/// Region totals and the move logic, over one area's graph and node weights.
/// The assignment (`part`) is passed to each call, as `compact` owns it
/// during its polish.
pub(super) struct Refiner<'a> {
    pub g: &'a Graph,
    pub tess: &'a Tessellation,
    /// Households and persons of each node.
    pub node_w: &'a [u64],
    pub node_p: &'a [u64],
    /// Households, persons, area and area-weighted centroid sums of each region.
    pub w: Vec<f64>,
    pub p: Vec<f64>,
    pub area: Vec<f64>,
    pub sx: Vec<f64>,
    pub sy: Vec<f64>,
    /// Nodes in each region.
    pub size: Vec<u32>,
    /// Households each region aims for.
    pub mean: Vec<f64>,
    pub min: f64,
    pub max: f64,
    pub max_p: f64,
    /// Balance band, as a fraction of the mean.
    pub tol: f64,
    /// Normalisers: mean region area (m²) and expected cut edges per region.
    pub area_scale: f64,
    pub cut_scale: f64,
    /// Nodes that never move (heavier than the maximum on their own).
    pub pinned: Vec<bool>,
}

impl<'a> Refiner<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        g: &'a Graph,
        tess: &'a Tessellation,
        part: &[u32],
        w: &'a [u64],
        pp: &'a [u64],
        means: &[f64],
        plan: &Plan,
        pinned: Vec<bool>,
    ) -> Self {
        let k = means.len();
        let mut st = Refiner {
            g,
            tess,
            node_w: w,
            node_p: pp,
            w: vec![0.0; k],
            p: vec![0.0; k],
            area: vec![0.0; k],
            sx: vec![0.0; k],
            sy: vec![0.0; k],
            size: vec![0; k],
            mean: means.iter().map(|&m| m.max(1.0)).collect(),
            min: plan.rules.min_households as f64,
            max: plan.rules.max_households as f64,
            max_p: if plan.has_persons {
                plan.rules
                    .max_persons
                    .map(|m| m as f64)
                    .unwrap_or(f64::INFINITY)
            } else {
                f64::INFINITY
            },
            tol: plan.balance_tolerance,
            area_scale: 1.0,
            cut_scale: 1.0,
            pinned,
        };
        let mut nodes_in = 0usize;
        for v in 0..g.len() {
            let r = part[v];
            if r == NONE {
                continue;
            }
            let r = r as usize;
            let nd = &tess.nodes[v];
            st.w[r] += w[v] as f64;
            st.p[r] += pp[v] as f64;
            st.area[r] += nd.area;
            st.sx[r] += nd.area * nd.centroid.x;
            st.sy[r] += nd.area * nd.centroid.y;
            st.size[r] += 1;
            nodes_in += 1;
        }
        if k > 0 {
            st.area_scale = (st.area.iter().sum::<f64>() / k as f64).max(1e-9);
            let cells_per_region = nodes_in as f64 / k as f64;
            st.cut_scale = (3.5 * cells_per_region.sqrt()).max(1.0);
        }
        st
    }

    /// Number of regions.
    pub fn k(&self) -> usize {
        self.mean.len()
    }

    /// Households and persons of node v.
    pub fn weight(&self, v: u32) -> (f64, f64) {
        (
            self.node_w[v as usize] as f64,
            self.node_p[v as usize] as f64,
        )
    }

    fn centroid(&self, r: usize) -> Coord<f64> {
        if self.area[r] > 0.0 {
            Coord {
                x: self.sx[r] / self.area[r],
                y: self.sy[r] / self.area[r],
            }
        } else {
            Coord { x: 0.0, y: 0.0 }
        }
    }

    /// Balance penalty of region r with W households and P persons: the
    /// squared deviation from its mean, plus a steep cost for breaking a rule
    /// (so surplus diffuses across regions, and breaches go first).
    pub fn pen(&self, r: usize, w: f64, p: f64) -> f64 {
        let m = self.mean[r];
        let d = (w - m) / m;
        let vh = (self.min - w).max(w - self.max).max(0.0) / m;
        let vp = if self.max_p.is_finite() {
            (p - self.max_p).max(0.0) / self.max_p
        } else {
            0.0
        };
        d * d + HARD * (vh * vh + vp * vp) + if vh > 0.0 || vp > 0.0 { HARD } else { 0.0 }
    }

    /// Penalty of region r as it stands.
    pub fn pen_now(&self, r: usize) -> f64 {
        self.pen(r, self.w[r], self.p[r])
    }

    /// Would region r with W households and P persons be within the balance
    /// band (and the rules, unless its mean itself is outside them)?
    pub fn in_band(&self, r: usize, w: f64, p: f64) -> bool {
        let m = self.mean[r];
        (w - m).abs() <= self.tol * m
            && w >= self.min.min(m)
            && w <= self.max.max(m)
            && p <= self.max_p
    }

    /// Does moving a node of weight (wv, pv) from a to b keep both regions
    /// within the balance band, or at least no further from it?
    pub fn band_allows(&self, a: usize, b: usize, wv: f64, pv: f64) -> bool {
        let a_ok = self.in_band(a, self.w[a] - wv, self.p[a] - pv)
            || self.pen(a, self.w[a] - wv, self.p[a] - pv) <= self.pen(a, self.w[a], self.p[a]);
        let b_ok = self.in_band(b, self.w[b] + wv, self.p[b] + pv)
            || self.pen(b, self.w[b] + wv, self.p[b] + pv) <= self.pen(b, self.w[b], self.p[b]);
        a_ok && b_ok
    }

    /// Does region r break a rule?
    pub fn violates(&self, r: usize) -> bool {
        self.w[r] > self.max || self.w[r] < self.min || self.p[r] > self.max_p
    }

    /// Regions other than `a` next to node v, in order of first appearance,
    /// into `nb`.
    pub fn neighbour_regions(&self, part: &[u32], v: u32, a: usize, nb: &mut Vec<u32>) {
        nb.clear();
        for &u in self.g.neighbours(v) {
            let r = part[u as usize];
            if r != a as u32 && r != NONE && !nb.contains(&r) {
                nb.push(r);
            }
        }
    }

    /// Sorted neighbouring regions of every region.
    pub fn region_adjacency(&self, part: &[u32]) -> Vec<Vec<u32>> {
        let g = self.g;
        let mut radj: Vec<Vec<u32>> = vec![Vec::new(); self.k()];
        for v in 0..g.len() as u32 {
            let a = part[v as usize];
            if a == NONE {
                continue;
            }
            for &u in g.neighbours(v) {
                let b = part[u as usize];
                if b != NONE && b != a && !radj[a as usize].contains(&b) {
                    radj[a as usize].push(b);
                }
            }
        }
        for r in radj.iter_mut() {
            r.sort_unstable();
        }
        radj
    }

    /// Records in the totals that node v moved from a to b.
    pub fn apply(&mut self, v: usize, a: usize, b: usize) {
        let (wv, pv) = self.weight(v as u32);
        let nd = &self.tess.nodes[v];
        self.w[a] -= wv;
        self.w[b] += wv;
        self.p[a] -= pv;
        self.p[b] += pv;
        self.area[a] -= nd.area;
        self.area[b] += nd.area;
        self.sx[a] -= nd.area * nd.centroid.x;
        self.sx[b] += nd.area * nd.centroid.x;
        self.sy[a] -= nd.area * nd.centroid.y;
        self.sy[b] += nd.area * nd.centroid.y;
        self.size[a] -= 1;
        self.size[b] += 1;
    }

    /// Moves node v to region b, in `part` and in the totals.
    pub fn move_node(&mut self, part: &mut [u32], v: u32, b: usize) {
        let a = part[v as usize] as usize;
        part[v as usize] = b as u32;
        self.apply(v as usize, a, b);
    }

    /// Gives each region of `halves` the cells listed with it (a re-split pair).
    pub fn hand_over(&mut self, part: &mut [u32], halves: [(usize, &[u32]); 2]) {
        for (r, members) in halves {
            for &v in members {
                if part[v as usize] as usize != r {
                    self.move_node(part, v, r);
                }
            }
        }
    }

    /// Compactness change (lower is better) of moving v from a to b: the
    /// change of moment of inertia, and of cut edges (barrier edges are cheap
    /// to cut).
    pub fn shape_delta(&self, part: &[u32], v: u32, a: usize, b: usize) -> f64 {
        let g = self.g;
        let nd = &self.tess.nodes[v as usize];
        let (ca, cb) = (self.centroid(a), self.centroid(b));
        let x = nd.centroid;
        let di = nd.area
            * (((x.x - cb.x).powi(2) + (x.y - cb.y).powi(2))
                - ((x.x - ca.x).powi(2) + (x.y - ca.y).powi(2)));
        let inertia = di / (self.area_scale * self.area_scale);
        let mut cut = 0.0f64;
        for (&u, &c) in g.neighbours(v).iter().zip(g.costs(v)) {
            let r = part[u as usize];
            if r == a as u32 {
                cut += c as f64;
            } else if r == b as u32 {
                cut -= c as f64;
            }
        }
        4.0 * inertia + cut / self.cut_scale
    }

    /// Would region `a` stay connected (and non-empty) without node v? An
    /// O(1) test on the ring of six neighbours for interior cells, a bounded
    /// search otherwise.
    pub fn can_remove(&self, part: &[u32], v: u32, a: usize, s: &mut Scratch) -> bool {
        let g = self.g;
        if self.size[a] <= 1 {
            return false;
        }
        let a32 = a as u32;
        let ring = &g.ring[v as usize];
        if ring[0] != NONE {
            let inside: [bool; 6] = std::array::from_fn(|i| part[ring[i] as usize] == a32);
            let count = inside.iter().filter(|&&x| x).count();
            if count == 0 {
                return true;
            }
            let arcs = (0..6)
                .filter(|&i| inside[i] && !inside[(i + 1) % 6])
                .count();
            if arcs <= 1 {
                return true;
            }
        }
        // Bounded search: all of v's neighbours in `a` must meet without v.
        let targets: Vec<u32> = g
            .neighbours(v)
            .iter()
            .copied()
            .filter(|&u| part[u as usize] == a32)
            .collect();
        if targets.len() <= 1 {
            return true;
        }
        let seen = s.next();
        s.mark[v as usize] = seen;
        s.stack.clear();
        s.stack.push(targets[0]);
        s.mark[targets[0] as usize] = seen;
        let mut found = 1;
        while let Some(x) = s.stack.pop() {
            for &u in g.neighbours(x) {
                if part[u as usize] == a32 && s.mark[u as usize] != seen {
                    s.mark[u as usize] = seen;
                    if targets.contains(&u) {
                        found += 1;
                        if found == targets.len() {
                            return true;
                        }
                    }
                    s.stack.push(u);
                }
            }
        }
        false
    }
}
