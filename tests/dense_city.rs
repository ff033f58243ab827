//! Dense Chinese cities: districts of high-rise estates (小区) where one
//! location carries 100–480 households, judged by the strict dense-city
//! contract (tests/support/contract.rs): exact tiling, one polygon per grid,
//! no empty grid, at least 99 % (towers up to 240 households) or 97 % (up to
//! 480) of grids within 300–500 households where the totals allow it, compact
//! grids in compact areas, and a reason on every grid outside the rules.
//!
//! Inputs: the seeded generator (tests/support/dense.rs) at 50,000
//! households, and real OpenStreetMap buildings of Optics Valley, Wuhan
//! (tests/support/wuhan.rs), each with and without barriers; and a census
//! update of the generated city. Every test prints one summary line.

mod support;

use std::time::{Duration, Instant};

use geo::{Area as _, BooleanOps, Intersects, Validation};
use geo_types::MultiPolygon;
use support::contract::{check_dense, DenseCheck};
use support::dense::{census_update, dense_city, to_metres, City};
use support::wuhan::optics_valley;
use wangge::partition::{partition, update, Partition, PartitionOptions, UpdateOptions};
use wangge::NoProgress;

const SEED: u64 = 2024;
const HOUSEHOLDS: u64 = 50_000;

fn run(city: &City, with_barriers: bool) -> (Partition, Duration) {
    let barriers = if with_barriers {
        &city.barriers[..]
    } else {
        &[]
    };
    let t = Instant::now();
    let p = partition(
        &city.areas,
        &city.households,
        barriers,
        &PartitionOptions::default(),
        &NoProgress,
    )
    .expect("partition");
    (p, t.elapsed())
}

fn generated(tower_cap: u32, with_barriers: bool) {
    let city = dense_city(SEED, HOUSEHOLDS, tower_cap);
    let (p, t) = run(&city, with_barriers);
    let label = format!(
        "generated 50k cap {tower_cap} {}",
        if with_barriers {
            "with barriers"
        } else {
            "no barriers"
        }
    );
    check_dense(
        &label,
        &city.areas,
        &city.households,
        &p,
        None,
        tower_cap,
        t,
    );
}

fn wuhan(tower_cap: u32, with_barriers: bool) {
    let city = optics_valley(tower_cap);
    let (p, t) = run(&city, with_barriers);
    let label = format!(
        "Wuhan Optics Valley cap {tower_cap} {}",
        if with_barriers {
            "with barriers"
        } else {
            "no barriers"
        }
    );
    check_dense(
        &label,
        &city.areas,
        &city.households,
        &p,
        None,
        tower_cap,
        t,
    );
}

#[test]
fn generated_cap_240_with_barriers() {
    generated(240, true);
}

#[test]
fn generated_cap_240_without_barriers() {
    generated(240, false);
}

#[test]
fn generated_cap_480_with_barriers() {
    generated(480, true);
}

#[test]
fn generated_cap_480_without_barriers() {
    generated(480, false);
}

#[test]
fn wuhan_cap_240_with_barriers() {
    wuhan(240, true);
}

#[test]
fn wuhan_cap_240_without_barriers() {
    wuhan(240, false);
}

#[test]
fn wuhan_cap_480_with_barriers() {
    wuhan(480, true);
}

#[test]
fn wuhan_cap_480_without_barriers() {
    wuhan(480, false);
}

/// Partitions `areas` of the towers-up-to-480 `city` on one 300–500 rule for
/// every area (as the partition bench runs it) and checks the contract.
fn on_one_rule(label: &str, areas: &[wangge::model::Area], city: &City) -> DenseCheck {
    let rules = wangge::model::Rules {
        min_households: 300,
        max_households: 500,
        target_households: None,
        max_persons: None,
        max_area_m2: None,
    };
    let opts = PartitionOptions {
        rules: Some(rules),
        ..PartitionOptions::default()
    };
    let t = Instant::now();
    let p =
        partition(areas, &city.households, &city.barriers, &opts, &NoProgress).expect("partition");
    check_dense(
        label,
        areas,
        &city.households,
        &p,
        Some(rules),
        480,
        t.elapsed(),
    )
}

/// Two communities of the million-household city where the area's boundary
/// pinches a sliver off a cell that holds a tower (459 and 480 households):
/// the grid keeps the sliver with the tower and gives the empty part away,
/// so no grid is left empty or nearly so beside one of 841 or 936.
#[test]
fn a_tower_in_a_pinched_sliver_stays_with_its_grid() {
    let city = dense_city(SEED, 1_000_000, 480);
    let wanted = ["420106013002", "420106006006"];
    let areas: Vec<_> = city
        .areas
        .iter()
        .filter(|a| wanted.contains(&a.code.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        areas.len(),
        wanted.len(),
        "the generator makes both communities"
    );
    let check = on_one_rule("pinched slivers of the 1M city", &areas, &city);
    assert_eq!(check.empty, 0);
    assert_eq!(
        check.feasible_within, check.feasible_grids,
        "every grid of these two communities is within 300–500"
    );
}

/// The million-household city (towers up to 480) on one 300–500 rule, as the
/// partition bench runs it: the whole contract, and every grid outside the
/// rules with a reason the recount confirms.
#[test]
fn a_million_households_meet_the_contract() {
    let city = dense_city(SEED, 1_000_000, 480);
    let check = on_one_rule("generated 1M cap 480 with barriers", &city.areas, &city);
    assert_eq!(
        check.reasons.unexplained, 0,
        "every grid outside the rules says why"
    );
}

/// A census after an old village is redeveloped into towers (+10 % of the
/// city's households there) and an estate elsewhere empties: the updated
/// grids, previous ones kept where they still fit, meet the same contract.
#[test]
fn census_update_meets_the_contract() {
    let cap = 240;
    let city = dense_city(SEED, HOUSEHOLDS, cap);
    let (first, _) = run(&city, true);
    let census = census_update(&city.households, SEED, cap, 0.10);
    let after = census.households;
    let total: u64 = after.iter().map(|h| u64::from(h.households)).sum();
    eprintln!(
        "census: {} → {total} households ({} village households cleared, {} in new towers, \
         {} gone elsewhere), {} → {} locations",
        city.total_households(),
        census.redeveloped,
        census.built,
        census.lost,
        city.households.len(),
        after.len()
    );
    assert!(
        census.built >= census.redeveloped + HOUSEHOLDS * 9 / 100,
        "the redevelopment must add about 10 % (built {}, cleared {})",
        census.built,
        census.redeveloped
    );
    let t = Instant::now();
    let u = update(
        &city.areas,
        &after,
        &city.barriers,
        &first.grids,
        &UpdateOptions::default(),
        &NoProgress,
    )
    .expect("update");
    let t = t.elapsed();
    check_dense(
        "census update 50k cap 240 with barriers",
        &city.areas,
        &after,
        &u.partition,
        None,
        cap,
        t,
    );
}

/// Distance in metres from a point to a segment, both in local metres.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

/// The generator makes what the contract tests rely on: the exact total,
/// the same city for the same seed, tower points of 100–cap with close
/// neighbours, every location in exactly one valid area and clear of roads,
/// rail and river banks, areas that tile without overlap, and it scales.
#[test]
fn generator_makes_a_dense_city() {
    for cap in [240u32, 480] {
        let t = Instant::now();
        let city = dense_city(SEED, HOUSEHOLDS, cap);
        let gen = t.elapsed();
        assert_eq!(city.total_households(), HOUSEHOLDS, "exact total");
        let again = dense_city(SEED, HOUSEHOLDS, cap);
        assert_eq!(again.households.len(), city.households.len());
        assert!(city
            .households
            .iter()
            .zip(&again.households)
            .all(|(a, b)| a.location == b.location && a.households == b.households));

        let towers: Vec<(f64, f64)> = city
            .households
            .iter()
            .filter(|h| h.households >= 100)
            .map(|h| to_metres(h.location.0))
            .collect();
        let max = city.households.iter().map(|h| h.households).max().unwrap();
        assert!(max <= cap, "tower of {max} households above the cap {cap}");
        let in_towers: u64 = city
            .households
            .iter()
            .filter(|h| h.households >= 100)
            .map(|h| u64::from(h.households))
            .sum();
        let low_rise = city.households.iter().filter(|h| h.households <= 5).count();
        assert_eq!(
            towers.len() + low_rise,
            city.households.len(),
            "locations are towers (≥ 100) or low-rise (1–5)"
        );
        let paired = towers
            .iter()
            .filter(|&&a| {
                towers.iter().any(|&b| {
                    let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                    (1.0..=60.0).contains(&d)
                })
            })
            .count();
        let mut union = MultiPolygon::<f64>(vec![]);
        let mut sum = 0.0;
        for a in &city.areas {
            assert!(a.geometry.is_valid(), "area {} is not valid", a.code);
            assert_eq!(a.geometry.0.len(), 1, "area {} is one polygon", a.code);
            union = union.union(&a.geometry);
            sum += a.geometry.unsigned_area();
        }
        assert!(
            (sum - union.unsigned_area()).abs() < 1e-9 * sum,
            "areas overlap"
        );
        for (i, h) in city.households.iter().enumerate() {
            let n = city
                .areas
                .iter()
                .filter(|a| a.geometry.intersects(&h.location))
                .count();
            assert_eq!(n, 1, "location {i} lies in {n} areas");
        }
        let lines: Vec<Vec<(f64, f64)>> = city
            .barriers
            .iter()
            .flat_map(|b| b.geometry.0.iter())
            .map(|l| l.0.iter().map(|&c| to_metres(c)).collect())
            .collect();
        let mut closest = f64::INFINITY;
        for h in &city.households {
            let p = to_metres(h.location.0);
            for l in &lines {
                for w in l.windows(2) {
                    closest = closest.min(segment_distance(p, w[0], w[1]));
                }
            }
        }
        eprintln!(
            "generator 50k cap {cap}: {} locations ({} towers holding {:.0} %, {} low-rise), \
             {:.0} % of towers within 60 m of another, {} areas, {} barriers, \
             nearest barrier {closest:.0} m, {:.3} s",
            city.households.len(),
            towers.len(),
            100.0 * in_towers as f64 / HOUSEHOLDS as f64,
            low_rise,
            100.0 * paired as f64 / towers.len() as f64,
            city.areas.len(),
            city.barriers.len(),
            gen.as_secs_f64()
        );
        assert!(
            closest >= 10.0,
            "a location stands {closest:.1} m from a barrier"
        );
        assert!(
            in_towers * 100 >= HOUSEHOLDS * 75,
            "towers hold {in_towers} households"
        );
        assert!(
            paired * 2 >= towers.len(),
            "only {paired} of {} towers have another within 60 m",
            towers.len()
        );
    }
    let t = Instant::now();
    let city = dense_city(SEED, 1_000_000, 480);
    let gen = t.elapsed();
    assert_eq!(city.total_households(), 1_000_000, "exact total");
    eprintln!(
        "generator 1M cap 480: {} locations, {} areas, {} barriers, {:.3} s",
        city.households.len(),
        city.areas.len(),
        city.barriers.len(),
        gen.as_secs_f64()
    );
    assert!(
        gen < Duration::from_secs(10),
        "1M households took {gen:?} to generate"
    );
}

/// The vendored Optics Valley data loads as the contract tests expect: one
/// location per footprint, each in exactly one of five valid areas.
#[test]
fn wuhan_data_loads() {
    for cap in [240u32, 480] {
        let city = optics_valley(cap);
        assert_eq!(city.households.len(), 230);
        assert_eq!(city.areas.len(), 5);
        for a in &city.areas {
            assert!(a.geometry.is_valid(), "area {} is not valid", a.code);
        }
        let mut per_area = vec![0u64; city.areas.len()];
        for h in &city.households {
            let holders: Vec<usize> = (0..city.areas.len())
                .filter(|&k| city.areas[k].geometry.intersects(&h.location))
                .collect();
            assert_eq!(holders.len(), 1, "building {:?} in {holders:?}", h.id);
            per_area[holders[0]] += u64::from(h.households);
            assert!(h.households >= 1 && h.households <= cap);
        }
        let at_cap = city
            .households
            .iter()
            .filter(|h| h.households == cap)
            .count();
        eprintln!(
            "Wuhan cap {cap}: {} households in {} buildings ({at_cap} at the cap), per area {per_area:?}, {} barriers",
            city.total_households(),
            city.households.len(),
            city.barriers.len()
        );
        assert!(
            per_area.iter().all(|&n| n >= 300),
            "every area has grids' worth of households"
        );
    }
}
