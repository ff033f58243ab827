//! Balanced, connected, compact regions on the node graph.
//!
//! 1. **Parts of the area.** Connected components of the graph are the parts of
//!    the area on the ground. A part with fewer households than the minimum is a
//!    *satellite*: it joins the grid of the nearest node of a big part (its
//!    households are added to that node while partitioning).
//! 2. **How many grids.** From the rules: every grid within
//!    `[min_households, max_households]` (and persons / area caps) needs
//!    `ceil(T/max) ≤ k ≤ floor(T/min)`; inside that range k = round(T/target).
//!    When the range is empty the area is reported infeasible and k is the count
//!    whose mean grid is closest to the bounds.
//! 3. **Initial regions by recursive bisection.** Each split grows one side from
//!    the extreme end of the part's long axis, taking frontier nodes in axis
//!    order until it holds its share of households (a sweep line that stays
//!    connected); pockets the sweep cut off from the other side are returned to
//!    the grown side, so both sides stay connected. The share of grids each side
//!    gets is re-decided from the households it actually holds, so granularity
//!    errors do not accumulate.
//! 4. **Local moves.** Boundary nodes move to a neighbouring region when the
//!    source region stays connected (an O(1) test on the ring of six neighbours
//!    for interior cells, a bounded search otherwise): first to bring every
//!    region into the rules and towards the mean (a quadratic penalty diffuses
//!    surplus across regions), then, within a balance band, to shorten cut
//!    edges (barrier edges are cheap to cut) and to reduce each region's moment
//!    of inertia, which makes shapes round rather than snake-like.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use geo_types::Coord;

use super::graph::Graph;
use super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

/// What the region step needs to know besides the graph.
pub(crate) struct Plan {
    pub rules: Rules,
    pub has_persons: bool,
    pub grid_count: Option<usize>,
    pub balance_tolerance: f64,
}

/// Regions of one area.
pub(crate) struct RegionResult {
    pub k: usize,
    /// Region of each node.
    pub assignment: Vec<u32>,
    pub households: Vec<u64>,
    pub persons: Vec<u64>,
    /// Largest single node (location cluster) in each region, in households.
    pub heaviest_node: Vec<u64>,
    pub feasible: bool,
    pub notes: Vec<String>,
}

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

/// Number of grids for totals T (households), P (persons), A (m²).
pub(crate) fn choose_k(rules: &Rules, has_persons: bool, t: u64, p: u64, a: f64) -> (usize, bool) {
    let target = rules.target().max(1) as f64;
    let mut lo = 1u64.max(t.div_ceil(rules.max_households.max(1)));
    if has_persons {
        if let Some(mp) = rules.max_persons {
            lo = lo.max(p.div_ceil(mp.max(1)));
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        lo = lo.max((a / ma).ceil() as u64);
    }
    let hi = if rules.min_households > 0 {
        t / rules.min_households
    } else {
        u64::MAX
    };
    let want = ((t as f64 / target).round() as u64).max(1);
    if lo <= hi {
        return (want.clamp(lo, hi) as usize, true);
    }
    if t < rules.min_households || hi == 0 {
        return (
            lo.max(1).min(if t < rules.min_households { 1 } else { lo }) as usize,
            false,
        );
    }
    // Infeasible: the count whose mean grid misses the bounds by less.
    let dev_lo = (rules.min_households as f64 - t as f64 / lo as f64) / rules.min_households as f64;
    let dev_hi = (t as f64 / hi as f64 - rules.max_households as f64) / rules.max_households as f64;
    (if dev_lo <= dev_hi { lo } else { hi } as usize, false)
}

pub(crate) fn partition_graph(
    g: &Graph,
    tess: &Tessellation,
    node_hh: &[u64],
    node_pp: &[u64],
    plan: &Plan,
) -> RegionResult {
    let n = g.len();
    let rules = &plan.rules;
    let mut notes = Vec::new();
    if n == 0 {
        return RegionResult {
            k: 1,
            assignment: vec![],
            households: vec![0],
            persons: vec![0],
            heaviest_node: vec![0],
            feasible: rules.min_households == 0,
            notes: vec!["the area is too small to hold a cell; it is one grid".into()],
        };
    }
    // 1. Components.
    let mut comp = vec![NONE; n];
    let mut comps: Vec<Vec<u32>> = Vec::new();
    for s in 0..n as u32 {
        if comp[s as usize] != NONE {
            continue;
        }
        let id = comps.len() as u32;
        let mut stack = vec![s];
        comp[s as usize] = id;
        let mut members = Vec::new();
        while let Some(v) = stack.pop() {
            members.push(v);
            for &u in g.neighbours(v) {
                if comp[u as usize] == NONE {
                    comp[u as usize] = id;
                    stack.push(u);
                }
            }
        }
        members.sort_unstable();
        comps.push(members);
    }
    let cw: Vec<u64> = comps
        .iter()
        .map(|m| m.iter().map(|&v| node_hh[v as usize]).sum())
        .collect();
    let ca: Vec<f64> = comps
        .iter()
        .map(|m| m.iter().map(|&v| tess.nodes[v as usize].area).sum())
        .collect();
    let mut mainland: Vec<bool> = cw
        .iter()
        .map(|&w| w >= rules.min_households.max(1))
        .collect();
    if !mainland.iter().any(|&m| m) {
        let best = (0..comps.len())
            .max_by(|&a, &b| {
                cw[a]
                    .cmp(&cw[b])
                    .then(ca[a].total_cmp(&ca[b]))
                    .then(b.cmp(&a))
            })
            .expect("at least one component");
        mainland[best] = true;
    }
    // Satellites → nearest mainland node (boundary nodes are the candidates).
    let mut w: Vec<u64> = node_hh.to_vec();
    let mut pp: Vec<u64> = node_pp.to_vec();
    let mut anchor = vec![NONE; n];
    let candidates: Vec<u32> = {
        let c: Vec<u32> = (0..n as u32)
            .filter(|&v| mainland[comp[v as usize] as usize] && tess.pieces[v as usize].is_some())
            .collect();
        if c.is_empty() {
            (0..n as u32)
                .filter(|&v| mainland[comp[v as usize] as usize])
                .collect()
        } else {
            c
        }
    };
    let mut satellites = 0usize;
    for (ci, members) in comps.iter().enumerate() {
        if mainland[ci] {
            continue;
        }
        satellites += 1;
        let (mut sx, mut sy, mut sa) = (0.0, 0.0, 0.0);
        for &v in members {
            let nd = &tess.nodes[v as usize];
            sx += nd.centroid.x * nd.area;
            sy += nd.centroid.y * nd.area;
            sa += nd.area;
        }
        let c = if sa > 0.0 {
            Coord {
                x: sx / sa,
                y: sy / sa,
            }
        } else {
            tess.nodes[members[0] as usize].centroid
        };
        let mut best = (f64::INFINITY, NONE);
        for &u in &candidates {
            let q = tess.nodes[u as usize].centroid;
            let d = (q.x - c.x).powi(2) + (q.y - c.y).powi(2);
            if d < best.0 {
                best = (d, u);
            }
        }
        for &v in members {
            anchor[v as usize] = best.1;
            w[best.1 as usize] += node_hh[v as usize];
            pp[best.1 as usize] += node_pp[v as usize];
            w[v as usize] = 0;
            pp[v as usize] = 0;
        }
    }
    if satellites > 0 {
        notes.push(format!(
            "the area has {} detached part(s) with fewer than {} households; each joins the nearest grid",
            satellites,
            rules.min_households.max(1)
        ));
    }

    // 2. Grids per mainland part.
    let mains: Vec<usize> = (0..comps.len()).filter(|&c| mainland[c]).collect();
    let main_w: Vec<u64> = mains
        .iter()
        .map(|&c| comps[c].iter().map(|&v| w[v as usize]).sum())
        .collect();
    let main_p: Vec<u64> = mains
        .iter()
        .map(|&c| comps[c].iter().map(|&v| pp[v as usize]).sum())
        .collect();
    let mut feasible = true;
    let mut ks: Vec<usize> = Vec::with_capacity(mains.len());
    for (i, &c) in mains.iter().enumerate() {
        let (k, ok) = choose_k(rules, plan.has_persons, main_w[i], main_p[i], ca[c]);
        feasible &= ok;
        ks.push(k.min(comps[c].len()).max(1));
    }
    if let Some(total_k) = plan.grid_count {
        ks = distribute(
            total_k.max(mains.len()),
            &main_w,
            &mains.iter().map(|&c| comps[c].len()).collect::<Vec<_>>(),
        );
    }
    let max_node = w.iter().copied().max().unwrap_or(0);
    if max_node > rules.max_households {
        feasible = false;
        notes.push(format!(
            "one location cluster holds {} households, more than the maximum {}",
            max_node, rules.max_households
        ));
    }
    if !feasible && max_node <= rules.max_households {
        let t: u64 = main_w.iter().sum();
        notes.push(format!(
            "{} households cannot be divided into grids of {}–{} households",
            t, rules.min_households, rules.max_households
        ));
    }

    // 3. Initial regions.
    let mut part = vec![NONE; n];
    let mut means: Vec<f64> = Vec::new();
    let mut scratch = Scratch::new(n);
    for (i, &c) in mains.iter().enumerate() {
        let total: f64 = main_w[i] as f64;
        let use_area = total <= 0.0;
        let measure: Vec<f64> = if use_area {
            comps[c]
                .iter()
                .map(|&v| tess.nodes[v as usize].area)
                .collect()
        } else {
            comps[c].iter().map(|&v| w[v as usize] as f64).collect()
        };
        let _ = measure;
        let mut regions: Vec<Vec<u32>> = Vec::new();
        bisect(
            g,
            tess,
            &comps[c],
            ks[i],
            &w,
            use_area,
            &mut scratch,
            &mut regions,
        );
        let kk = regions.len();
        for reg in regions {
            let id = means.len() as u32;
            for v in reg {
                part[v as usize] = id;
            }
            means.push(total / kk as f64);
        }
    }
    let k = means.len();

    // 4. Local moves.
    let mut st = State::new(g, tess, &part, &w, &pp, &means, plan);
    st.refine(g, tess, &mut part, &w, &pp, &mut scratch);

    // Satellites follow their anchors.
    for v in 0..n {
        if anchor[v] != NONE {
            part[v] = part[anchor[v] as usize];
        }
    }
    let mut households = vec![0u64; k];
    let mut persons = vec![0u64; k];
    let mut heaviest = vec![0u64; k];
    for v in 0..n {
        let r = part[v] as usize;
        households[r] += node_hh[v];
        persons[r] += node_pp[v];
        heaviest[r] = heaviest[r].max(w[v]);
    }
    RegionResult {
        k,
        assignment: part,
        households,
        persons,
        heaviest_node: heaviest,
        feasible,
        notes,
    }
}

/// Largest-remainder split of a requested grid count over the parts.
fn distribute(k: usize, weights: &[u64], sizes: &[usize]) -> Vec<usize> {
    let total: u64 = weights.iter().sum();
    let m = weights.len();
    let mut out = vec![1usize; m];
    if k <= m {
        return out;
    }
    let extra = k - m;
    let shares: Vec<f64> = weights
        .iter()
        .map(|&w| {
            if total > 0 {
                extra as f64 * w as f64 / total as f64
            } else {
                extra as f64 / m as f64
            }
        })
        .collect();
    let mut given = 0;
    for i in 0..m {
        out[i] += shares[i].floor() as usize;
        given += shares[i].floor() as usize;
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| {
        (shares[b] - shares[b].floor())
            .total_cmp(&(shares[a] - shares[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(extra - given) {
        out[i] += 1;
    }
    for i in 0..m {
        out[i] = out[i].min(sizes[i]).max(1);
    }
    out
}

/// Reusable marks for graph searches.
struct Scratch {
    mark: Vec<u32>,
    stamp: u32,
    stack: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            mark: vec![0; n],
            stamp: 0,
            stack: Vec::new(),
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

/// Recursive balanced bisection; pushes the final regions into `out`.
#[allow(clippy::too_many_arguments)]
fn bisect(
    g: &Graph,
    tess: &Tessellation,
    nodes: &[u32],
    k: usize,
    w: &[u64],
    use_area: bool,
    s: &mut Scratch,
    out: &mut Vec<Vec<u32>>,
) {
    if k <= 1 || nodes.len() < 2 {
        out.push(nodes.to_vec());
        return;
    }
    let meas = |v: u32| {
        if use_area {
            tess.nodes[v as usize].area
        } else {
            w[v as usize] as f64
        }
    };
    let total: f64 = nodes.iter().map(|&v| meas(v)).sum();
    // Long axis from the area-weighted covariance of centroids.
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
    let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    let (ux, uy) = (theta.cos(), theta.sin());
    let proj = |v: u32| {
        let c = tess.nodes[v as usize].centroid;
        c.x * ux + c.y * uy
    };
    let k1 = k / 2;
    let target = total * k1 as f64 / k as f64;

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
    let mut in_a: Vec<u32> = Vec::new();
    let mut acc = 0.0;
    while let Some(Reverse((_, v))) = heap.pop() {
        let wv = meas(v);
        if acc + wv > target && acc > 0.0 && (acc + wv - target) > (target - acc) {
            break;
        }
        in_a.push(v);
        acc += wv;
        if acc >= target {
            break;
        }
        for &u in g.neighbours(v) {
            if s.mark[u as usize] == inset {
                s.mark[u as usize] = queued;
                heap.push(Reverse((F(proj(u)), u)));
            }
        }
    }
    // Mark A.
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
        out.push(nodes.to_vec());
        return;
    }
    let bset = s.next();
    for &v in &b_nodes {
        s.mark[v as usize] = bset;
    }
    let mut comps: Vec<(f64, usize, Vec<u32>)> = Vec::new();
    for &b in &b_nodes {
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
            m += meas(v);
            for &u in g.neighbours(v) {
                if s.mark[u as usize] == bset {
                    s.mark[u as usize] = seen;
                    stack.push(u);
                }
            }
        }
        comps.push((m, members.len(), members));
    }
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
    let wa: f64 = a_nodes.iter().map(|&v| meas(v)).sum();
    let per = total / k as f64;
    let mut ka = if per > 0.0 {
        (wa / per).round() as usize
    } else {
        k1
    };
    ka = ka.clamp(1, k - 1);
    let ka = ka.min(a_nodes.len()).max(1);
    let kb = (k - ka).min(b_main.len()).max(1);
    bisect(g, tess, &a_nodes, ka, w, use_area, s, out);
    bisect(g, tess, &b_main, kb, w, use_area, s, out);
}

/// Region totals and the move logic.
struct State {
    w: Vec<f64>,
    p: Vec<f64>,
    area: Vec<f64>,
    sx: Vec<f64>,
    sy: Vec<f64>,
    size: Vec<u32>,
    mean: Vec<f64>,
    min: f64,
    max: f64,
    max_p: f64,
    tol: f64,
    /// Normalisers: mean region area (m²) and expected cut edges per region.
    area_scale: f64,
    cut_scale: f64,
}

const HARD: f64 = 50.0;

impl State {
    fn new(
        g: &Graph,
        tess: &Tessellation,
        part: &[u32],
        w: &[u64],
        pp: &[u64],
        means: &[f64],
        plan: &Plan,
    ) -> Self {
        let k = means.len();
        let mut st = State {
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

    /// Balance penalty of a region with W households and P persons.
    fn pen(&self, r: usize, w: f64, p: f64) -> f64 {
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

    fn in_band(&self, r: usize, w: f64, p: f64) -> bool {
        let m = self.mean[r];
        (w - m).abs() <= self.tol * m
            && w >= self.min.min(m)
            && w <= self.max.max(m)
            && p <= self.max_p
    }

    fn apply(&mut self, tess: &Tessellation, v: usize, a: usize, b: usize, wv: f64, pv: f64) {
        let nd = &tess.nodes[v];
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

    /// Compactness change (lower is better) of moving v from a to b.
    fn shape_delta(
        &self,
        g: &Graph,
        tess: &Tessellation,
        part: &[u32],
        v: u32,
        a: usize,
        b: usize,
    ) -> f64 {
        let nd = &tess.nodes[v as usize];
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

    fn refine(
        &mut self,
        g: &Graph,
        tess: &Tessellation,
        part: &mut [u32],
        w: &[u64],
        pp: &[u64],
        s: &mut Scratch,
    ) {
        let n = g.len();
        let k = self.mean.len();
        if k < 2 {
            return;
        }
        let mut nb: Vec<u32> = Vec::with_capacity(8);
        for round in 0..6 {
            // Balance: move weighted boundary nodes where the penalty drops.
            for _pass in 0..60 {
                let all_ok = (0..k).all(|r| self.in_band(r, self.w[r], self.p[r]));
                if all_ok {
                    break;
                }
                let mut moved = 0;
                for v in 0..n as u32 {
                    let a = part[v as usize];
                    if a == NONE || w[v as usize] == 0 {
                        continue;
                    }
                    let a = a as usize;
                    let (wv, pv) = (w[v as usize] as f64, pp[v as usize] as f64);
                    nb.clear();
                    for &u in g.neighbours(v) {
                        let r = part[u as usize];
                        if r != a as u32 && r != NONE && !nb.contains(&r) {
                            nb.push(r);
                        }
                    }
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
                        let score = d + 1e-3 * self.shape_delta(g, tess, part, v, a, b);
                        if best.is_none_or(|(bs, _)| score < bs) {
                            best = Some((score, b));
                        }
                    }
                    if let Some((_, b)) = best {
                        if self.can_remove(g, part, v, a, s) {
                            part[v as usize] = b as u32;
                            self.apply(tess, v as usize, a, b, wv, pv);
                            moved += 1;
                        }
                    }
                }
                if moved == 0 {
                    break;
                }
            }
            // Shape: within the balance band, shorten cuts and round shapes.
            let mut moved_total = 0;
            for _pass in 0..8 {
                let mut moved = 0;
                for v in 0..n as u32 {
                    let a = part[v as usize];
                    if a == NONE {
                        continue;
                    }
                    let a = a as usize;
                    let (wv, pv) = (w[v as usize] as f64, pp[v as usize] as f64);
                    nb.clear();
                    for &u in g.neighbours(v) {
                        let r = part[u as usize];
                        if r != a as u32 && r != NONE && !nb.contains(&r) {
                            nb.push(r);
                        }
                    }
                    if nb.is_empty() {
                        continue;
                    }
                    let mut best: Option<(f64, usize)> = None;
                    for &b in &nb {
                        let b = b as usize;
                        if wv > 0.0 {
                            let a_ok = self.in_band(a, self.w[a] - wv, self.p[a] - pv)
                                || self.pen(a, self.w[a] - wv, self.p[a] - pv)
                                    <= self.pen(a, self.w[a], self.p[a]);
                            let b_ok = self.in_band(b, self.w[b] + wv, self.p[b] + pv)
                                || self.pen(b, self.w[b] + wv, self.p[b] + pv)
                                    <= self.pen(b, self.w[b], self.p[b]);
                            if !(a_ok && b_ok) {
                                continue;
                            }
                        }
                        let d = self.shape_delta(g, tess, part, v, a, b);
                        if d < -1e-9 && best.is_none_or(|(bs, _)| d < bs) {
                            best = Some((d, b));
                        }
                    }
                    if let Some((_, b)) = best {
                        if self.can_remove(g, part, v, a, s) {
                            part[v as usize] = b as u32;
                            self.apply(tess, v as usize, a, b, wv, pv);
                            moved += 1;
                        }
                    }
                }
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

    /// Would region `a` stay connected (and non-empty) without node v?
    fn can_remove(&self, g: &Graph, part: &[u32], v: u32, a: usize, s: &mut Scratch) -> bool {
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
