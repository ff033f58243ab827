//! Step 2: how many grids. Every grid within `[min_households,
//! max_households]` (and the persons and area caps) needs
//! `ceil(T/max) ≤ k ≤ floor(T/min)`; inside that range k = round(T/target).
//! A node heavier than the maximum on its own (a tower block) gets a pinned
//! grid of its own, and the rest of its part is divided among the others.

use super::parts::{NodeWeights, Parts};
use super::Plan;
use crate::model::Rules;

/// Number of grids for totals T (households), P (persons), A (m²), and
/// whether grids within the rules exist at all. When they do not, k is the
/// count whose mean grid misses the bounds by less.
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

/// Grids per mainland part.
pub(super) struct GridCounts {
    /// The mainland parts (indices into [`Parts::members`]), in order.
    pub mains: Vec<usize>,
    /// Households of each mainland part (satellites included).
    pub main_w: Vec<u64>,
    /// Nodes heavier than the maximum: each is a grid of its own, pinned.
    pub heavy: Vec<bool>,
    /// Grids of each mainland part, heavy nodes' grids included.
    pub ks: Vec<usize>,
    /// Mean households of a part's grids without a heavy node (0 when there
    /// are none).
    pub light_means: Vec<f64>,
    /// Whether every grid can meet the rules.
    pub feasible: bool,
}

/// Heavy nodes of a part: how many, and their households and persons.
fn heavy_totals(members: &[u32], heavy: &[bool], weights: &NodeWeights) -> (usize, u64, u64) {
    let hn = members.iter().filter(|&&v| heavy[v as usize]).count();
    let hw: u64 = members
        .iter()
        .filter(|&&v| heavy[v as usize])
        .map(|&v| weights.households[v as usize])
        .sum();
    let hp: u64 = members
        .iter()
        .filter(|&&v| heavy[v as usize])
        .map(|&v| weights.persons[v as usize])
        .sum();
    (hn, hw, hp)
}

impl GridCounts {
    /// Counts from the rules, or the requested total ([`Plan::grid_count`])
    /// shared out by households. Explains in `notes` why the rules cannot be
    /// met, when they cannot.
    pub fn new(parts: &Parts, weights: &NodeWeights, plan: &Plan, notes: &mut Vec<String>) -> Self {
        let rules = &plan.rules;
        let (w, pp) = (&weights.households, &weights.persons);
        let mains: Vec<usize> = (0..parts.members.len())
            .filter(|&c| parts.mainland[c])
            .collect();
        let main_w: Vec<u64> = mains
            .iter()
            .map(|&c| parts.members[c].iter().map(|&v| w[v as usize]).sum())
            .collect();
        let main_p: Vec<u64> = mains
            .iter()
            .map(|&c| parts.members[c].iter().map(|&v| pp[v as usize]).sum())
            .collect();
        let heavy: Vec<bool> = w.iter().map(|&x| x > rules.max_households).collect();
        let mut counts = GridCounts {
            ks: Vec::with_capacity(mains.len()),
            light_means: Vec::with_capacity(mains.len()),
            feasible: true,
            mains,
            main_w,
            heavy,
        };
        for (i, &c) in counts.mains.iter().enumerate() {
            let members = &parts.members[c];
            let (hn, hw, hp) = heavy_totals(members, &counts.heavy, weights);
            let tl = counts.main_w[i] - hw;
            let (kl, ok) = if hn > 0 && tl < rules.min_households.max(1) {
                (0, true)
            } else {
                choose_k(rules, plan.has_persons, tl, main_p[i] - hp, parts.area[c])
            };
            counts.feasible &= ok;
            counts
                .light_means
                .push(if kl > 0 { tl as f64 / kl as f64 } else { 0.0 });
            counts.ks.push((kl + hn).min(members.len()).max(1));
        }
        if let Some(total_k) = plan.grid_count {
            counts.requested(total_k, parts, weights);
        }
        counts.explain(w, rules, notes);
        counts
    }

    /// Replaces the counts by a requested total, shared out by households.
    fn requested(&mut self, total_k: usize, parts: &Parts, weights: &NodeWeights) {
        let sizes: Vec<usize> = self.mains.iter().map(|&c| parts.members[c].len()).collect();
        self.ks = distribute(total_k.max(self.mains.len()), &self.main_w, &sizes);
        for (i, &c) in self.mains.iter().enumerate() {
            let (hn, hw, _) = heavy_totals(&parts.members[c], &self.heavy, weights);
            let kl = self.ks[i].saturating_sub(hn);
            self.light_means[i] = if kl > 0 {
                (self.main_w[i] - hw) as f64 / kl as f64
            } else {
                0.0
            };
        }
    }

    /// Notes why the rules cannot be met: a node over the maximum, or totals
    /// no number of grids divides within the bounds.
    fn explain(&mut self, w: &[u64], rules: &Rules, notes: &mut Vec<String>) {
        let max_node = w.iter().copied().max().unwrap_or(0);
        if max_node > rules.max_households {
            self.feasible = false;
            notes.push(format!(
                "one location cluster holds {} households, more than the maximum {}",
                max_node, rules.max_households
            ));
        }
        if !self.feasible && max_node <= rules.max_households {
            let t: u64 = self.main_w.iter().sum();
            notes.push(format!(
                "{} households cannot be divided into grids of {}–{} households",
                t, rules.min_households, rules.max_households
            ));
        }
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
