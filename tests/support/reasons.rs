//! The reasons a grid outside the rules gives, checked against a recount.
//!
//! The engine may only say what the output can confirm. Each claim it makes
//! is parsed from the grid's `issues` and recomputed here from the grid
//! polygons and the household points: what every neighbouring grid (one that
//! shares an edge) holds, what a single location holds, and the fewest
//! households the grid could hand over in whole locations. A false claim is a
//! violation; a grid outside the rules with no checkable claim is counted as
//! unexplained.

use std::collections::{BTreeSet, HashMap, HashSet};

use wangge::model::{Grid, Household, Rules};

/// What [`check`] found.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReasonCount {
    /// Grids outside the rules whose reason was confirmed.
    pub confirmed: usize,
    /// Grids outside the rules without a reason that can be checked.
    pub unexplained: usize,
}

/// `grid_of[i]`: the recounted grid of household `i`; `outside[g]`: whether
/// grid `g` is outside the rules by the recount; `rules_of(g)`: its rules.
pub fn check(
    grids: &[Grid],
    households: &[Household],
    grid_of: &[Option<usize>],
    outside: &[bool],
    rules_of: &dyn Fn(usize) -> Rules,
    violations: &mut Vec<String>,
) -> ReasonCount {
    let mut held = vec![0u64; grids.len()];
    let mut at: Vec<HashMap<(u64, u64), u64>> = vec![HashMap::new(); grids.len()];
    for (h, g) in households.iter().zip(grid_of) {
        if let Some(g) = *g {
            held[g] += u64::from(h.households);
            if outside[g] {
                let key = (h.location.x().to_bits(), h.location.y().to_bits());
                *at[g].entry(key).or_default() += u64::from(h.households);
            }
        }
    }
    let mut count = ReasonCount::default();
    for g in (0..grids.len()).filter(|&g| outside[g]) {
        let text = grids[g].issues.join(" | ");
        let rules = rules_of(g);
        let mut claims = 0;
        let mut wrong = |what: String| violations.push(format!("grid {}: {what}", grids[g].code));
        if let Some(x) = number_after(&text, "every neighbouring grid holds at least ") {
            claims += 1;
            let least = neighbours(grids, g).iter().map(|&q| held[q]).min();
            if least.map_or(true, |least| least < x) {
                wrong(format!(
                    "says every neighbour holds at least {x}; recount {least:?}"
                ));
            }
        }
        if let Some(n) = number_after(&text, "a single building, holds ") {
            claims += 1;
            if !at[g].values().any(|&v| v == n) {
                wrong(format!("says one location holds {n}; no location does"));
            }
        }
        if let Some(s) = number_after(&text, " is ")
            .filter(|_| text.contains("the fewest households it can hand over"))
        {
            claims += 1;
            let locations: Vec<u64> = at[g].values().copied().collect();
            let need = held[g].saturating_sub(rules.max_households);
            let least = least_subset_at_least(&locations, need);
            if least != Some(s) {
                wrong(format!(
                    "says it must hand over at least {s}; recount {least:?}"
                ));
            }
        }
        if text.contains("the whole area has no more") {
            claims += 1;
            let others = grids
                .iter()
                .filter(|o| o.parent_code == grids[g].parent_code)
                .count();
            if others != 1 {
                wrong(format!(
                    "says it is its area's only grid; the area has {others}"
                ));
            }
        }
        if claims > 0 {
            count.confirmed += 1;
        } else {
            count.unexplained += 1;
        }
    }
    count
}

/// The number that follows `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Grids of the same area sharing at least one boundary segment with `g`
/// (the engine's neighbouring grids share identical edges).
fn neighbours(grids: &[Grid], g: usize) -> Vec<usize> {
    let segments = |grid: &Grid| -> HashSet<[u64; 4]> {
        let mut out = HashSet::new();
        for poly in &grid.geometry.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (
                        [w[0].x.to_bits(), w[0].y.to_bits()],
                        [w[1].x.to_bits(), w[1].y.to_bits()],
                    );
                    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                    out.insert([lo[0], lo[1], hi[0], hi[1]]);
                }
            }
        }
        out
    };
    let own = segments(&grids[g]);
    (0..grids.len())
        .filter(|&q| q != g && grids[q].parent_code == grids[g].parent_code)
        .filter(|&q| segments(&grids[q]).iter().any(|s| own.contains(s)))
        .collect()
}

/// The least sum of a subset of `locations` that is at least `need`, by
/// enumerating every reachable sum.
fn least_subset_at_least(locations: &[u64], need: u64) -> Option<u64> {
    let mut sums: BTreeSet<u64> = BTreeSet::from([0]);
    for &w in locations {
        let next: Vec<u64> = sums.iter().map(|s| s + w).collect();
        sums.extend(next);
    }
    sums.range(need.max(1)..).next().copied()
}
