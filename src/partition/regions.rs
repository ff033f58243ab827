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
//!    whose mean grid is closest to the bounds. A node heavier than the maximum
//!    on its own (a tower block) gets a pinned grid of its own.
//! 3. **Initial regions by recursive bisection.** Each split grows one side from
//!    the extreme end of the part's long axis, taking frontier nodes in axis
//!    order (a sweep line that stays connected), runs a little past its share
//!    of households and cuts where the frontier is cheapest within ±4 % of the
//!    share: along a barrier, or where the outline is shortest. Pockets the
//!    sweep cut off from the other side are returned to the grown side, so both
//!    sides stay connected. The share of grids each side gets is re-decided
//!    from the households it actually holds, so granularity errors do not
//!    accumulate. Areas of at most 8 grids try four orientations of the first
//!    cut and keep the best outcome.
//! 4. **Local moves.** Boundary nodes move to a neighbouring region when the
//!    source region stays connected (an O(1) test on the ring of six neighbours
//!    for interior cells, a bounded search otherwise): first to bring every
//!    region into the rules and towards the mean (a quadratic penalty diffuses
//!    surplus across regions), then, within a balance band, to shorten cut
//!    edges (barrier edges are cheap to cut) and to reduce each region's moment
//!    of inertia, which makes shapes round rather than snake-like.
//! 5. **Repairs.** Coarse units (a census block of 250 households, a big
//!    building) can leave a region outside the rules with no single move that
//!    helps. Such a region is merged with a neighbour and the pair split anew
//!    by a balanced bisection in several directions (the ReCom idea), or units
//!    are passed along a chain of regions. The least compact regions are
//!    likewise re-split with a neighbour when both halves come out more compact
//!    and still balanced (judged on exact Polsby–Popper, see `compact`).
//! 6. **Compactness moves** (`compact`): boundary nodes move to lift the
//!    least compact regions, on exact areas and perimeters, within the same
//!    balance band; then the worst regions are re-split once more and moved
//!    again, since a strip along the boundary or a region wrapped round a
//!    village needs a new cut, not a polish.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use geo_types::Coord;

use super::compact;
use super::graph::Graph;
use super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

/// Turns (radians) of the cut a split tries: the two axes and the two
/// diagonals; the best result wins.
const ORIENTATIONS: [f64; 4] = [
    0.0,
    std::f64::consts::FRAC_PI_2,
    std::f64::consts::FRAC_PI_4,
    3.0 * std::f64::consts::FRAC_PI_4,
];

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
    /// Regions that took in a detached part of the area.
    pub has_satellite: Vec<bool>,
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
    let hi = t.checked_div(rules.min_households).unwrap_or(u64::MAX);
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
            has_satellite: vec![false],
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
    // Nodes heavier than the maximum (a tower block, a dense cell) cannot be
    // split: each gets a grid of its own, pinned, and the rest of the part is
    // divided among the other grids.
    let heavy: Vec<bool> = w.iter().map(|&x| x > rules.max_households).collect();
    let mut feasible = true;
    let mut ks: Vec<usize> = Vec::with_capacity(mains.len());
    let mut light_means: Vec<f64> = Vec::with_capacity(mains.len());
    for (i, &c) in mains.iter().enumerate() {
        let hn = comps[c].iter().filter(|&&v| heavy[v as usize]).count();
        let hw: u64 = comps[c]
            .iter()
            .filter(|&&v| heavy[v as usize])
            .map(|&v| w[v as usize])
            .sum();
        let hp: u64 = comps[c]
            .iter()
            .filter(|&&v| heavy[v as usize])
            .map(|&v| pp[v as usize])
            .sum();
        let tl = main_w[i] - hw;
        let (kl, ok) = if hn > 0 && tl < rules.min_households.max(1) {
            (0, true)
        } else {
            choose_k(rules, plan.has_persons, tl, main_p[i] - hp, ca[c])
        };
        feasible &= ok;
        light_means.push(if kl > 0 { tl as f64 / kl as f64 } else { 0.0 });
        ks.push((kl + hn).min(comps[c].len()).max(1));
    }
    if let Some(total_k) = plan.grid_count {
        ks = distribute(
            total_k.max(mains.len()),
            &main_w,
            &mains.iter().map(|&c| comps[c].len()).collect::<Vec<_>>(),
        );
        for (i, &c) in mains.iter().enumerate() {
            let hn = comps[c].iter().filter(|&&v| heavy[v as usize]).count();
            let hw: u64 = comps[c]
                .iter()
                .filter(|&&v| heavy[v as usize])
                .map(|&v| w[v as usize])
                .sum();
            let kl = ks[i].saturating_sub(hn);
            light_means[i] = if kl > 0 {
                (main_w[i] - hw) as f64 / kl as f64
            } else {
                0.0
            };
        }
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

    // 3–4. Initial regions by bisection, then local moves and repairs. Small
    // areas (a few grids, where one awkward grid is a large share) try four
    // orientations of the first cut and keep the best result: fewest rule
    // breaches, then the most compact worst grid, then the most compact mean.
    let total_k: usize = ks.iter().sum();
    let turns: &[f64] = if total_k <= 8 && total_k > 1 {
        &ORIENTATIONS
    } else {
        &[0.0]
    };
    let mut scratch = Scratch::new(n);
    // (score: breaches, -worst PP, -mean PP), assignment, region count.
    type Candidate = ((usize, f64, f64), Vec<u32>, usize);
    let mut best: Option<Candidate> = None;
    for &turn in turns {
        let mut part = vec![NONE; n];
        let mut means: Vec<f64> = Vec::new();
        for (i, &c) in mains.iter().enumerate() {
            let total: f64 = main_w[i] as f64;
            let use_area = total <= 0.0;
            let mut regions: Vec<Vec<u32>> = Vec::new();
            // Heavy nodes count as one grid's worth in the bisection.
            let cap = if light_means[i] > 0.0 {
                light_means[i]
            } else {
                rules.target() as f64
            };
            bisect_at(
                g,
                tess,
                &comps[c],
                ks[i],
                &w,
                cap,
                use_area,
                turn,
                &mut scratch,
                &mut regions,
            );
            let kk = regions.len();
            let light_regions = regions
                .iter()
                .filter(|r| !r.iter().any(|&v| heavy[v as usize]))
                .count();
            let heavy_w: f64 = comps[c]
                .iter()
                .filter(|&&v| heavy[v as usize])
                .map(|&v| w[v as usize] as f64)
                .sum();
            for reg in regions {
                let id = means.len() as u32;
                let hw: f64 = reg
                    .iter()
                    .filter(|&&v| heavy[v as usize])
                    .map(|&v| w[v as usize] as f64)
                    .sum();
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
        let k = means.len();
        let mut st = State::new(g, tess, &part, &w, &pp, &means, plan);
        st.pinned = heavy.clone();
        st.refine(g, tess, &mut part, &w, &pp, &mut scratch);
        if st.reshape_worst(g, tess, &mut part, &w, &pp, &mut scratch) {
            st.refine(g, tess, &mut part, &w, &pp, &mut scratch);
        }
        let polish = |st: &mut State, part: &mut Vec<u32>, scratch: &mut Scratch| {
            compact::polish(g, tess, part, k, |part, v, a, b| {
                st.shape_move(g, tess, part, &w, &pp, v, a, b, scratch)
            })
        };
        polish(&mut st, &mut part, &mut scratch);
        // Shapes the moves cannot fix (a wide strip along the boundary, a
        // region wrapped round a village) get one more re-split, judged on
        // the polished outlines.
        if st.reshape_worst(g, tess, &mut part, &w, &pp, &mut scratch) {
            polish(&mut st, &mut part, &mut scratch);
        }
        let breaches = (0..k)
            .filter(|&r| st.violates(r) && st.mean[r] <= st.max)
            .count();
        let shapes = compact::Shapes::new(g, tess, &part, k);
        let est: Vec<f64> = (0..k).map(|r| shapes.pp(r)).collect();
        let min_pp = est.iter().copied().fold(f64::INFINITY, f64::min);
        let mean_pp = est.iter().sum::<f64>() / k.max(1) as f64;
        let score = (breaches, -min_pp, -mean_pp);
        let better = best.as_ref().map_or(true, |(b, _, _)| {
            score.0 < b.0 || (score.0 == b.0 && (score.1, score.2) < (b.1, b.2))
        });
        if better {
            best = Some((score, part, k));
        }
        // Good enough: no breach and no awkward grid; skip the other turns.
        if breaches == 0 && min_pp >= 0.5 {
            break;
        }
    }
    let (_, mut part, k) = best.expect("at least one orientation");

    // Satellites follow their anchors.
    let mut has_satellite = vec![false; k];
    for v in 0..n {
        if anchor[v] != NONE {
            part[v] = part[anchor[v] as usize];
            has_satellite[part[v] as usize] = true;
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
        has_satellite,
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
pub(crate) struct Scratch {
    pub(crate) mark: Vec<u32>,
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
    pub(crate) fn next(&mut self) -> u32 {
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
    cap: f64,
    use_area: bool,
    s: &mut Scratch,
    out: &mut Vec<Vec<u32>>,
) {
    bisect_at(g, tess, nodes, k, w, cap, use_area, 0.0, s, out)
}

/// [`bisect`] with the sweep direction turned by `turn` radians from the long
/// axis (the repair step tries several directions).
#[allow(clippy::too_many_arguments)]
fn bisect_at(
    g: &Graph,
    tess: &Tessellation,
    nodes: &[u32],
    k: usize,
    w: &[u64],
    cap: f64,
    use_area: bool,
    turn: f64,
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
            (w[v as usize] as f64).min(cap)
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
    let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy) + turn;
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
    // Sweep on past the target to `target + window`, then cut where the
    // frontier is cheapest within ±window: the sweep line stops along a
    // barrier or where the outline is shortest, not just at the first node
    // that reaches the target.
    let window = total / k as f64 * 0.04;
    let ina = s.next();
    let in_set = |m: u32| m == inset || m == queued || m == ina;
    let mut in_a: Vec<u32> = Vec::new();
    let mut acc = 0.0;
    let mut cut = 0.0f64;
    let mut best_in_window: Option<(f64, usize)> = None;
    let mut best_closest: (f64, usize) = (f64::INFINITY, 0);
    while let Some(Reverse((_, v))) = heap.pop() {
        let wv = meas(v);
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
    bisect(g, tess, &a_nodes, ka, w, cap, use_area, s, out);
    bisect(g, tess, &b_main, kb, w, cap, use_area, s, out);
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
    /// Nodes that never move (heavier than the maximum on their own).
    pinned: Vec<bool>,
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
            pinned: Vec::new(),
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

    /// Gives each region of `halves` the cells listed with it (a re-split pair).
    fn hand_over(
        &mut self,
        tess: &Tessellation,
        part: &mut [u32],
        w: &[u64],
        pp: &[u64],
        halves: [(usize, &[u32]); 2],
    ) {
        for (r, members) in halves {
            for &v in members {
                let from = part[v as usize] as usize;
                if from != r {
                    part[v as usize] = r as u32;
                    self.apply(
                        tess,
                        v as usize,
                        from,
                        r,
                        w[v as usize] as f64,
                        pp[v as usize] as f64,
                    );
                }
            }
        }
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
                    if a == NONE || w[v as usize] == 0 || self.pinned[v as usize] {
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
                        if best.map_or(true, |(bs, _)| score < bs) {
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
            // Coarse units (census blocks, big buildings) can leave a region
            // outside the rules with every neighbour too full to take a unit:
            // pass units along a chain of regions instead.
            self.repair_chains(g, tess, part, w, pp, s);
            // Shape: within the balance band, shorten cuts and round shapes.
            let mut moved_total = 0;
            for _pass in 0..8 {
                let mut moved = 0;
                for v in 0..n as u32 {
                    let a = part[v as usize];
                    if a == NONE || self.pinned[v as usize] {
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
                        if d < -1e-9 && best.map_or(true, |(bs, _)| d < bs) {
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

    /// Moves v from a to b (and returns true) when both stay within the
    /// balance band, or get no further from it, and a stays connected.
    #[allow(clippy::too_many_arguments)]
    fn shape_move(
        &mut self,
        g: &Graph,
        tess: &Tessellation,
        part: &[u32],
        w: &[u64],
        pp: &[u64],
        v: u32,
        a: usize,
        b: usize,
        s: &mut Scratch,
    ) -> bool {
        if self.pinned[v as usize] {
            return false;
        }
        let (wv, pv) = (w[v as usize] as f64, pp[v as usize] as f64);
        if wv > 0.0 || pv > 0.0 {
            let a_ok = self.in_band(a, self.w[a] - wv, self.p[a] - pv)
                || self.pen(a, self.w[a] - wv, self.p[a] - pv) <= self.pen(a, self.w[a], self.p[a]);
            let b_ok = self.in_band(b, self.w[b] + wv, self.p[b] + pv)
                || self.pen(b, self.w[b] + wv, self.p[b] + pv) <= self.pen(b, self.w[b], self.p[b]);
            if !(a_ok && b_ok) {
                return false;
            }
        }
        if !self.can_remove(g, part, v, a, s) {
            return false;
        }
        self.apply(tess, v as usize, a, b, wv, pv);
        true
    }

    fn violates(&self, r: usize) -> bool {
        self.w[r] > self.max || self.w[r] < self.min || self.p[r] > self.max_p
    }

    /// Moves units along chains of neighbouring regions (r0 → r1 → … → rm)
    /// so a region outside the rules sheds or gains weight through regions
    /// that stay within them. A chain is kept only if the summed penalty of
    /// the regions on it drops; otherwise it is undone.
    fn repair_chains(
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
        for _round in 0..4 {
            let bad: Vec<usize> = (0..k)
                .filter(|&r| self.violates(r) && self.mean[r] <= self.max)
                .collect();
            if bad.is_empty() {
                return;
            }
            // Region adjacency.
            let mut radj: Vec<Vec<u32>> = vec![Vec::new(); k];
            for v in 0..n as u32 {
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
            let mut improved = false;
            for &a in &bad {
                if !self.violates(a) {
                    continue;
                }
                let over = self.w[a] > self.max || self.p[a] > self.max_p;
                // First: re-split with a neighbour, the most complementary first.
                let mut nbrs: Vec<u32> = radj[a].clone();
                nbrs.sort_by(|&x, &y| {
                    let (wx, wy) = (self.w[x as usize], self.w[y as usize]);
                    (if over {
                        wx.total_cmp(&wy)
                    } else {
                        wy.total_cmp(&wx)
                    })
                    .then(x.cmp(&y))
                });
                if nbrs
                    .iter()
                    .any(|&b| self.recombine(g, tess, part, w, pp, a, b as usize, s))
                {
                    improved = true;
                    continue;
                }
                // BFS over regions, shortest chains first.
                let mut prev = vec![NONE; k];
                let mut depth = vec![u32::MAX; k];
                depth[a] = 0;
                let mut queue = std::collections::VecDeque::from([a as u32]);
                let mut ends: Vec<u32> = Vec::new();
                while let Some(r) = queue.pop_front() {
                    if depth[r as usize] >= 5 {
                        continue;
                    }
                    for &q in &radj[r as usize] {
                        if depth[q as usize] == u32::MAX {
                            depth[q as usize] = depth[r as usize] + 1;
                            prev[q as usize] = r;
                            queue.push_back(q);
                            let slack = if over {
                                self.w[q as usize] < self.mean[q as usize]
                            } else {
                                self.w[q as usize] > self.mean[q as usize]
                            };
                            if slack && !self.violates(q as usize) {
                                ends.push(q);
                            }
                        }
                    }
                }
                for &end in ends.iter().take(24) {
                    let mut path = vec![end as usize];
                    while path[path.len() - 1] != a {
                        let last = path[path.len() - 1];
                        path.push(prev[last] as usize);
                    }
                    path.reverse(); // a … end
                    if !over {
                        path.reverse(); // donors first: end … a
                    }
                    let regions: Vec<usize> = path.clone();
                    let before: f64 = regions
                        .iter()
                        .map(|&r| self.pen(r, self.w[r], self.p[r]))
                        .sum();
                    let amount = if over {
                        self.w[a] - self.mean[a]
                    } else {
                        self.mean[a] - self.w[a]
                    };
                    let mut done: Vec<(u32, usize, usize)> = Vec::new();
                    let mut ok = true;
                    for win in path.windows(2) {
                        let (from, to) = (win[0], win[1]);
                        match self.pick_unit(g, tess, part, w, from, to, amount, s) {
                            Some(v) => {
                                part[v as usize] = to as u32;
                                self.apply(
                                    tess,
                                    v as usize,
                                    from,
                                    to,
                                    w[v as usize] as f64,
                                    pp[v as usize] as f64,
                                );
                                done.push((v, from, to));
                            }
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    let after: f64 = regions
                        .iter()
                        .map(|&r| self.pen(r, self.w[r], self.p[r]))
                        .sum();
                    if ok && after < before - 1e-9 {
                        improved = true;
                        break;
                    }
                    for &(v, from, to) in done.iter().rev() {
                        part[v as usize] = from as u32;
                        self.apply(
                            tess,
                            v as usize,
                            to,
                            from,
                            w[v as usize] as f64,
                            pp[v as usize] as f64,
                        );
                    }
                }
            }
            if !improved {
                return;
            }
        }
    }

    /// Re-splits two neighbouring regions with a fresh balanced bisection of
    /// their union (the ReCom idea: merge two districts, split them anew),
    /// trying several sweep directions. Kept only if both halves meet the
    /// rules and the balance penalty drops.
    #[allow(clippy::too_many_arguments)]
    fn recombine(
        &mut self,
        g: &Graph,
        tess: &Tessellation,
        part: &mut [u32],
        w: &[u64],
        pp: &[u64],
        a: usize,
        b: usize,
        s: &mut Scratch,
    ) -> bool {
        let nodes: Vec<u32> = (0..g.len() as u32)
            .filter(|&v| part[v as usize] == a as u32 || part[v as usize] == b as u32)
            .collect();
        if nodes.iter().any(|&v| self.pinned[v as usize]) {
            return false;
        }
        let before = self.pen(a, self.w[a], self.p[a]) + self.pen(b, self.w[b], self.p[b]);
        let mut best: Option<(f64, Vec<u32>, Vec<u32>)> = None;
        for turn in ORIENTATIONS {
            let mut out = Vec::new();
            bisect_at(
                g,
                tess,
                &nodes,
                2,
                w,
                f64::INFINITY,
                false,
                turn,
                s,
                &mut out,
            );
            if out.len() != 2 {
                continue;
            }
            let wsum = |r: &[u32]| r.iter().map(|&v| w[v as usize] as f64).sum::<f64>();
            let psum = |r: &[u32]| r.iter().map(|&v| pp[v as usize] as f64).sum::<f64>();
            // Keep the half nearer a's centroid as a (fewer nodes change).
            let (x, y) = (&out[0], &out[1]);
            let after = self.pen(a, wsum(x), psum(x)) + self.pen(b, wsum(y), psum(y));
            let ok = |r: &[u32]| {
                let (wr, pr) = (wsum(r), psum(r));
                wr >= self.min && wr <= self.max && pr <= self.max_p
            };
            if ok(x)
                && ok(y)
                && after < before - 1e-9
                && best.as_ref().map_or(true, |bst| after < bst.0)
            {
                best = Some((after, x.clone(), y.clone()));
            }
        }
        let Some((_, x, y)) = best else { return false };
        self.hand_over(tess, part, w, pp, [(a, &x), (b, &y)]);
        true
    }

    /// Re-splits the least compact regions together with a neighbour when a
    /// fresh bisection of the pair gives two more compact halves that still
    /// meet the rules and the balance band. Local moves only polish outlines;
    /// this fixes shapes the initial bisection got wrong (long strips left
    /// over in empty country, regions wrapped around a dense village).
    #[allow(clippy::too_many_arguments)]
    fn reshape_worst(
        &mut self,
        g: &Graph,
        tess: &Tessellation,
        part: &mut [u32],
        w: &[u64],
        pp: &[u64],
        s: &mut Scratch,
    ) -> bool {
        let k = self.mean.len();
        if k < 2 {
            return false;
        }
        let mut changed = false;
        for _round in 0..5 {
            let shapes = compact::Shapes::new(g, tess, part, k);
            let est: Vec<f64> = (0..k).map(|r| shapes.pp(r)).collect();
            let mut worst: Vec<usize> = (0..k).filter(|&r| est[r] < 0.45).collect();
            worst.sort_by(|&a, &b| est[a].total_cmp(&est[b]).then(a.cmp(&b)));
            worst.truncate(64);
            if worst.is_empty() {
                break;
            }
            let mut radj: Vec<Vec<u32>> = vec![Vec::new(); k];
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
            let mut touched = vec![false; k];
            let mut any = false;
            for &a in &worst {
                if touched[a] {
                    continue;
                }
                let mut nbrs = radj[a].clone();
                nbrs.sort_unstable();
                for &b in &nbrs {
                    let b = b as usize;
                    if touched[b] {
                        continue;
                    }
                    if self.reshape_pair(g, tess, part, w, pp, a, b, est[a].min(est[b]), s) {
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

    #[allow(clippy::too_many_arguments)]
    fn reshape_pair(
        &mut self,
        g: &Graph,
        tess: &Tessellation,
        part: &mut [u32],
        w: &[u64],
        pp: &[u64],
        a: usize,
        b: usize,
        current: f64,
        s: &mut Scratch,
    ) -> bool {
        let nodes: Vec<u32> = (0..g.len() as u32)
            .filter(|&v| part[v as usize] == a as u32 || part[v as usize] == b as u32)
            .collect();
        if nodes.iter().any(|&v| self.pinned[v as usize]) {
            return false;
        }
        let mut best: Option<(f64, Vec<u32>, Vec<u32>)> = None;
        for turn in ORIENTATIONS {
            let mut out = Vec::new();
            bisect_at(
                g,
                tess,
                &nodes,
                2,
                w,
                f64::INFINITY,
                false,
                turn,
                s,
                &mut out,
            );
            if out.len() != 2 {
                continue;
            }
            let wsum = |r: &[u32]| r.iter().map(|&v| w[v as usize] as f64).sum::<f64>();
            let psum = |r: &[u32]| r.iter().map(|&v| pp[v as usize] as f64).sum::<f64>();
            let ok = |r: &[u32], reg: usize| {
                self.in_band(reg, wsum(r), psum(r))
                    || (wsum(r) >= self.min
                        && wsum(r) <= self.max
                        && psum(r) <= self.max_p
                        && (wsum(r) - self.mean[reg]).abs() <= 0.12 * self.mean[reg])
            };
            if !(ok(&out[0], a) && ok(&out[1], b)) {
                continue;
            }
            let pps = [
                compact::set_pp(g, tess, &out[0], s),
                compact::set_pp(g, tess, &out[1], s),
            ];
            let score = pps[0].min(pps[1]);
            if score > current + 0.03 && best.as_ref().map_or(true, |bst| score > bst.0) {
                best = Some((score, out[0].clone(), out[1].clone()));
            }
        }
        let Some((_, x, y)) = best else { return false };
        self.hand_over(tess, part, w, pp, [(a, &x), (b, &y)]);
        true
    }

    /// A movable unit of `from` next to `to`, with weight closest to `amount`.
    #[allow(clippy::too_many_arguments)]
    fn pick_unit(
        &self,
        g: &Graph,
        tess: &Tessellation,
        part: &[u32],
        w: &[u64],
        from: usize,
        to: usize,
        amount: f64,
        s: &mut Scratch,
    ) -> Option<u32> {
        let mut cands: Vec<(f64, f64, u32)> = Vec::new();
        for v in 0..g.len() as u32 {
            if part[v as usize] != from as u32 || w[v as usize] == 0 || self.pinned[v as usize] {
                continue;
            }
            if !g
                .neighbours(v)
                .iter()
                .any(|&u| part[u as usize] == to as u32)
            {
                continue;
            }
            let d = (w[v as usize] as f64 - amount).abs();
            cands.push((d, self.shape_delta(g, tess, part, v, from, to), v));
        }
        cands.sort_by(|x, y| {
            x.0.total_cmp(&y.0)
                .then(x.1.total_cmp(&y.1))
                .then(x.2.cmp(&y.2))
        });
        cands
            .into_iter()
            .take(12)
            .map(|c| c.2)
            .find(|&v| self.can_remove(g, part, v, from, s))
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
