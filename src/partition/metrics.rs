//! Measures of the output grids: area, perimeter and Polsby–Popper compactness
//! in a local metric frame, and the rule checks with readable reasons.

use geo_types::{Coord, LineString, MultiPolygon};

use super::regions::RegionResult;
use crate::geodesy::LocalFrame;
use crate::model::Rules;

fn ring_area_len(ring: &LineString<f64>, frame: &LocalFrame) -> (f64, f64, Coord<f64>) {
    let pts: Vec<Coord<f64>> = ring.0.iter().map(|&c| frame.to_local(c)).collect();
    if pts.len() < 2 {
        return (0.0, 0.0, Coord { x: 0.0, y: 0.0 });
    }
    let o = pts[0];
    let (mut a, mut l, mut cx, mut cy) = (0.0, 0.0, 0.0, 0.0);
    for w in pts.windows(2) {
        let (p, q) = (w[0] - o, w[1] - o);
        let cr = p.x * q.y - q.x * p.y;
        a += cr;
        cx += (p.x + q.x) * cr;
        cy += (p.y + q.y) * cr;
        l += ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt();
    }
    let a = a / 2.0;
    let c = if a.abs() > 0.0 {
        Coord {
            x: cx / (6.0 * a) + o.x,
            y: cy / (6.0 * a) + o.y,
        }
    } else {
        o
    };
    (a.abs(), l, c)
}

/// Area (m²) and perimeter (m) of a multipolygon in degrees.
pub(crate) fn area_perimeter_m(mp: &MultiPolygon<f64>, frame: &LocalFrame) -> (f64, f64) {
    let (mut a, mut p) = (0.0, 0.0);
    for poly in &mp.0 {
        let (ea, el, _) = ring_area_len(poly.exterior(), frame);
        a += ea;
        p += el;
        for h in poly.interiors() {
            let (ha, hl, _) = ring_area_len(h, frame);
            a -= ha;
            p += hl;
        }
    }
    (a, p)
}

pub(crate) fn multipolygon_area_m2(mp: &MultiPolygon<f64>, frame: &LocalFrame) -> f64 {
    area_perimeter_m(mp, frame).0
}

/// Area-weighted centroid in local metres.
pub(crate) fn centroid_local(mp: &MultiPolygon<f64>, frame: &LocalFrame) -> Coord<f64> {
    let (mut sa, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for poly in &mp.0 {
        let (a, _, c) = ring_area_len(poly.exterior(), frame);
        sa += a;
        sx += a * c.x;
        sy += a * c.y;
        for h in poly.interiors() {
            let (a, _, c) = ring_area_len(h, frame);
            sa -= a;
            sx -= a * c.x;
            sy -= a * c.y;
        }
    }
    if sa > 0.0 {
        Coord {
            x: sx / sa,
            y: sy / sa,
        }
    } else {
        Coord { x: 0.0, y: 0.0 }
    }
}

/// Polsby–Popper compactness 4πA/P²: 1 for a disc, ~0.9 for a hexagon, 0.785
/// for a square; 0 for an empty shape.
pub fn polsby_popper(area_m2: f64, perimeter_m: f64) -> f64 {
    if perimeter_m > 0.0 {
        (4.0 * std::f64::consts::PI * area_m2 / (perimeter_m * perimeter_m)).min(1.0)
    } else {
        0.0
    }
}

/// What a grid holds, as the rule check needs it.
pub(crate) struct GridState {
    pub households: u64,
    pub persons: u64,
    pub area_m2: f64,
    /// Households at each of the grid's locations (one building each),
    /// heaviest first.
    pub locations: Vec<u64>,
    /// Households of the grids that share an edge with this one.
    pub neighbours: Vec<u64>,
}

/// Appends the reasons a grid breaks the rules.
pub(crate) fn check_rules(
    rules: &Rules,
    has_persons: bool,
    grid: &GridState,
    part: &RegionResult,
    issues: &mut Vec<String>,
) {
    let households = grid.households;
    if households < rules.min_households {
        let fullest_free = grid.neighbours.iter().copied().min();
        let why = if part.k == 1 {
            " (the whole area has no more)".to_string()
        } else if !part.feasible {
            " (the area's total cannot be divided within the rules)".to_string()
        } else if let Some(least) =
            fullest_free.filter(|&least| least + households > rules.max_households)
        {
            format!(
                " (every neighbouring grid holds at least {least}; joining any exceeds {})",
                rules.max_households
            )
        } else {
            String::new()
        };
        issues.push(format!(
            "{households} households, below the minimum {}{why}",
            rules.min_households
        ));
    }
    if households > rules.max_households {
        let heavy = grid.locations.first().copied().unwrap_or(0);
        let excess = households - rules.max_households;
        let least_neighbour = grid.neighbours.iter().copied().min();
        let why = if heavy > rules.max_households {
            format!(" (one location, a single building, holds {heavy} households)")
        } else if !part.feasible {
            " (the area's total cannot be divided within the rules)".to_string()
        } else if let Some(least) =
            least_neighbour.filter(|&least| least + excess > rules.max_households)
        {
            format!(
                " (every neighbouring grid holds at least {least}; none can take the {excess} above the maximum without exceeding it)"
            )
        } else if let Some((least, handover)) = least_neighbour
            .zip(least_handover(&grid.locations, excess))
            .filter(|&(least, handover)| least + handover > rules.max_households)
        {
            format!(
                " (its buildings cannot be split: the fewest households it can hand over to come within {} is {handover}, and every neighbouring grid holds at least {least}, so taking them exceeds {})",
                rules.max_households, rules.max_households
            )
        } else {
            String::new()
        };
        issues.push(format!(
            "{households} households, above the maximum {}{why}",
            rules.max_households
        ));
    }
    if has_persons {
        if let Some(mp) = rules.max_persons {
            if grid.persons > mp {
                issues.push(format!("{} persons, above the maximum {mp}", grid.persons));
            }
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        if grid.area_m2 > ma {
            issues.push(format!(
                "{:.0} m², above the maximum {ma:.0} m²",
                grid.area_m2
            ));
        }
    }
}

/// The least total of whole locations that is at least `need`: what a grid
/// over the maximum by `need` must give away at the least, since a building
/// is never split. `None` when the locations hold less, or when the search
/// would be too big (sums past a million households).
pub(crate) fn least_handover(locations: &[u64], need: u64) -> Option<u64> {
    let total: u64 = locations.iter().sum();
    if need == 0 || total < need {
        return None;
    }
    // A least subset loses its smallest location and drops below `need`, so
    // its sum is below need + the heaviest location.
    let cap = need + locations.iter().copied().max().unwrap_or(0);
    if cap > 1_000_000 {
        return None;
    }
    let cap = cap as usize;
    let mut reach = vec![false; cap + 1];
    reach[0] = true;
    for &w in locations {
        let w = w as usize;
        if w == 0 || w > cap {
            continue;
        }
        for s in (w..=cap).rev() {
            if reach[s - w] {
                reach[s] = true;
            }
        }
    }
    (need as usize..=cap).find(|&s| reach[s]).map(|s| s as u64)
}

#[cfg(test)]
mod tests {
    use super::least_handover;

    #[test]
    fn least_handover_takes_whole_locations() {
        // Two towers and three households: 11 over the maximum means giving
        // away a tower, not three households.
        assert_eq!(least_handover(&[268, 240, 3], 11), Some(240));
        assert_eq!(least_handover(&[480, 117, 4, 3, 2], 106), Some(117));
        assert_eq!(least_handover(&[5, 5, 4, 2], 7), Some(7));
        assert_eq!(least_handover(&[5, 5], 11), None);
        assert_eq!(least_handover(&[], 1), None);
    }
}
