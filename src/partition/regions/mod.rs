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

//!
//! # Modules
//!
//! - [`parts`]: connected parts of the area, and satellites joining the
//!   nearest big part (step 1).
//! - [`counts`]: how many grids each part gets (step 2).
//! - [`bisect`]: the initial regions by recursive balanced bisection (step 3).
//! - [`refiner`]: region totals, the balance penalty and the connectivity test
//!   every move relies on; [`local_moves`], [`chains`] and [`resplit`] are the
//!   moves themselves (steps 4–5, and the moves `compact` asks for in step 6).
//! - [`scratch`]: reusable marks for the graph searches of all of them.

mod bisect;
mod chains;
mod counts;
mod local_moves;
mod parts;
mod refiner;
mod resplit;
mod scratch;

use super::compact;
use super::graph::Graph;
use super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

use bisect::initial_regions;
use counts::GridCounts;
use parts::{NodeWeights, Parts};
use refiner::Refiner;

pub(crate) use counts::choose_k;
pub(crate) use scratch::Scratch;

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
    /// Regions that took in a detached part of the area.
    pub has_satellite: Vec<bool>,
    pub feasible: bool,
    pub notes: Vec<String>,
}

impl RegionResult {
    /// An area too small to hold a single cell: one empty grid.
    fn without_nodes(rules: &Rules) -> Self {
        RegionResult {
            k: 1,
            assignment: vec![],
            households: vec![0],
            persons: vec![0],
            has_satellite: vec![false],
            feasible: rules.min_households == 0,
            notes: vec!["the area is too small to hold a cell; it is one grid".into()],
        }
    }
}

/// Divides one area's node graph into regions: the steps of the module docs,
/// in order.
pub(crate) fn partition_graph(
    g: &Graph,
    tess: &Tessellation,
    node_hh: &[u64],
    node_pp: &[u64],
    plan: &Plan,
) -> RegionResult {
    if g.len() == 0 {
        return RegionResult::without_nodes(&plan.rules);
    }
    let mut notes = Vec::new();
    // 1. Parts of the area; satellites lend their households to an anchor.
    let parts = Parts::find(g, tess, node_hh, &plan.rules);
    let weights = NodeWeights::with_satellites_anchored(&parts, tess, node_hh, node_pp);
    if weights.satellites > 0 {
        notes.push(format!(
            "the area has {} detached part(s) with fewer than {} households; each joins the nearest grid",
            weights.satellites,
            plan.rules.min_households.max(1)
        ));
    }
    // 2. Grids per mainland part.
    let counts = GridCounts::new(&parts, &weights, plan, &mut notes);
    // 3–6. Regions, from the best orientation of the first cut.
    let (part, k) = best_regions(g, tess, &parts, &weights, &counts, plan);
    result(part, k, &weights, node_hh, node_pp, counts.feasible, notes)
}

/// One orientation's outcome: the regions and how good they are.
struct Attempt {
    /// Regions breaking the rules (that could meet them).
    breaches: usize,
    /// Polsby–Popper of the least compact region, and the mean.
    min_pp: f64,
    mean_pp: f64,
    part: Vec<u32>,
    k: usize,
}

impl Attempt {
    /// Fewest rule breaches, then the most compact worst grid, then the most
    /// compact mean.
    fn beats(&self, other: &Attempt) -> bool {
        let (score, b) = (
            (self.breaches, -self.min_pp, -self.mean_pp),
            (other.breaches, -other.min_pp, -other.mean_pp),
        );
        score.0 < b.0 || (score.0 == b.0 && (score.1, score.2) < (b.1, b.2))
    }

    /// No breach and no awkward grid: the other orientations need not be tried.
    fn good_enough(&self) -> bool {
        self.breaches == 0 && self.min_pp >= 0.5
    }
}

/// Initial regions by bisection, then local moves and repairs. Small areas (a
/// few grids, where one awkward grid is a large share) try four orientations
/// of the first cut and keep the best result ([`Attempt::beats`]).
fn best_regions(
    g: &Graph,
    tess: &Tessellation,
    parts: &Parts,
    weights: &NodeWeights,
    counts: &GridCounts,
    plan: &Plan,
) -> (Vec<u32>, usize) {
    let total_k: usize = counts.ks.iter().sum();
    let turns: &[f64] = if total_k <= 8 && total_k > 1 {
        &ORIENTATIONS
    } else {
        &[0.0]
    };
    let mut scratch = Scratch::new(g.len());
    let mut best: Option<Attempt> = None;
    for &turn in turns {
        let (part, means) = initial_regions(
            g,
            tess,
            parts,
            weights,
            counts,
            &plan.rules,
            turn,
            &mut scratch,
        );
        let attempt = improve(g, tess, part, &means, weights, counts, plan, &mut scratch);
        let good_enough = attempt.good_enough();
        if best.as_ref().map_or(true, |b| attempt.beats(b)) {
            best = Some(attempt);
        }
        if good_enough {
            break;
        }
    }
    let best = best.expect("at least one orientation");
    (best.part, best.k)
}

/// Steps 4–6 on one set of initial regions: local moves and repairs, a
/// re-split of the least compact regions, the compactness moves, and (for
/// shapes the moves cannot fix: a wide strip along the boundary, a region
/// wrapped round a village) one more re-split judged on the polished
/// outlines. Returns the regions with their score.
#[allow(clippy::too_many_arguments)]
fn improve(
    g: &Graph,
    tess: &Tessellation,
    mut part: Vec<u32>,
    means: &[f64],
    weights: &NodeWeights,
    counts: &GridCounts,
    plan: &Plan,
    scratch: &mut Scratch,
) -> Attempt {
    let k = means.len();
    let mut st = Refiner::new(
        g,
        tess,
        &part,
        &weights.households,
        &weights.persons,
        means,
        plan,
        counts.heavy.clone(),
    );
    st.refine(&mut part, scratch);
    if st.reshape_worst(&mut part, scratch) {
        st.refine(&mut part, scratch);
    }
    let polish = |st: &mut Refiner, part: &mut Vec<u32>, scratch: &mut Scratch| {
        compact::polish(g, tess, part, k, |part, v, a, b| {
            st.shape_move(part, v, a, b, scratch)
        })
    };
    polish(&mut st, &mut part, scratch);
    if st.reshape_worst(&mut part, scratch) {
        polish(&mut st, &mut part, scratch);
    }
    let breaches = (0..k)
        .filter(|&r| st.violates(r) && st.mean[r] <= st.max)
        .count();
    let shapes = compact::Shapes::new(g, tess, &part, k);
    let est: Vec<f64> = (0..k).map(|r| shapes.pp(r)).collect();
    let min_pp = est.iter().copied().fold(f64::INFINITY, f64::min);
    let mean_pp = est.iter().sum::<f64>() / k.max(1) as f64;
    Attempt {
        breaches,
        min_pp,
        mean_pp,
        part,
        k,
    }
}

/// Satellites follow their anchors into their grids; then the totals of
/// every region.
fn result(
    mut part: Vec<u32>,
    k: usize,
    weights: &NodeWeights,
    node_hh: &[u64],
    node_pp: &[u64],
    feasible: bool,
    notes: Vec<String>,
) -> RegionResult {
    let n = part.len();
    let anchor = &weights.anchor;
    let mut has_satellite = vec![false; k];
    for v in 0..n {
        if anchor[v] != NONE {
            part[v] = part[anchor[v] as usize];
            has_satellite[part[v] as usize] = true;
        }
    }
    let mut households = vec![0u64; k];
    let mut persons = vec![0u64; k];
    for v in 0..n {
        let r = part[v] as usize;
        households[r] += node_hh[v];
        persons[r] += node_pp[v];
    }
    RegionResult {
        k,
        assignment: part,
        households,
        persons,
        has_satellite,
        feasible,
        notes,
    }
}
