//! The rules as an update reads them: a grid's breaches worded like the
//! engine's, a breach measured so grids can be compared, and a previous grid
//! carried over with its counts refreshed.

use crate::model::{Grid, Rules};

/// Rule breaches of one grid, worded like the engine's.
pub(super) fn rule_issues(
    rules: &Rules,
    has_persons: bool,
    households: u64,
    persons: u64,
    area_m2: f64,
) -> Vec<String> {
    let mut v = Vec::new();
    if households < rules.min_households {
        v.push(format!(
            "{households} households, below the minimum {}",
            rules.min_households
        ));
    }
    if households > rules.max_households {
        v.push(format!(
            "{households} households, above the maximum {}",
            rules.max_households
        ));
    }
    if has_persons {
        if let Some(mp) = rules.max_persons {
            if persons > mp {
                v.push(format!("{persons} persons, above the maximum {mp}"));
            }
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        if area_m2 > ma {
            v.push(format!("{area_m2:.0} m², above the maximum {ma:.0} m²"));
        }
    }
    v
}

/// A previous grid carried over unchanged: geometry and code verbatim; counts,
/// and the issues that depend on them, recomputed only when the counts differ
/// (so unchanged data gives byte-identical output).
pub(super) fn keep_grid(
    old: &Grid,
    households: u64,
    persons: u64,
    rules: &Rules,
    has_persons: bool,
) -> Grid {
    let mut g = old.clone();
    g.households = households;
    g.persons = persons;
    let mut issues = rule_issues(rules, has_persons, households, persons, old.area_m2);
    // The previous wording is kept when it says the same (the engine's
    // messages extend these with the reason); otherwise, e.g. when the rules
    // or the counts changed, the issues are recomputed.
    let old_rule: Vec<&String> = old
        .issues
        .iter()
        .filter(|s| !s.starts_with("grid is in"))
        .collect();
    let same = old_rule.len() == issues.len()
        && issues
            .iter()
            .all(|n| old_rule.iter().any(|o| o.starts_with(n.as_str())));
    if same {
        return g;
    }
    issues.extend(
        old.issues
            .iter()
            .filter(|s| s.starts_with("grid is in"))
            .cloned(),
    );
    g.within_rules = issues.iter().all(|s| s.starts_with("grid is in"));
    g.issues = issues;
    g
}

/// Rule violation of one grid, normalised so measures can be added: 0 when
/// the grid is within the rules.
pub(super) fn violation(rules: &Rules, has_persons: bool, h: u64, p: u64, a: f64) -> f64 {
    let mut v = 0.0;
    if h > rules.max_households {
        v += (h - rules.max_households) as f64 / rules.max_households.max(1) as f64;
    }
    if h < rules.min_households {
        v += (rules.min_households - h) as f64 / rules.min_households.max(1) as f64;
    }
    if has_persons {
        if let Some(mp) = rules.max_persons {
            if p > mp {
                v += (p - mp) as f64 / mp.max(1) as f64;
            }
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        if a > ma {
            v += (a - ma) / ma;
        }
    }
    v
}
