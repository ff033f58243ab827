//! Integration tests of `wangge::partition::update`: census updates with the
//! fewest moved households and stable codes. Everything is recounted here from
//! the two outputs independently (point-in-polygon of households against the
//! previous and the new grids), and checked with the same oracle as the
//! partition tests (tests/support: exact tiling, recounts, unique codes).

mod support;

use std::collections::HashMap;

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{Coord, MultiPolygon, Polygon};
use support::*;
use wangge::layers::outputs::write_grids;
use wangge::layers::previous::{read_previous_grids, write_changes};
use wangge::model::{Area, AreaKind, Grid, Household};
use wangge::partition::{
    partition, update, AreaUpdateMode, GridChange, Partition, PartitionOptions, RetiredCode,
    Update, UpdateOptions,
};
use wangge::NoProgress;

const LON: f64 = 118.30;
const LAT: f64 = 32.30;

fn grids_bytes(grids: &[Grid]) -> Vec<u8> {
    write_grids(Vec::new(), "grids", grids).unwrap()
}

/// Partitions and round-trips the grids through the GeoJSON file, as the
/// command line does between two runs.
fn adopt(areas: &[Area], hh: &[Household]) -> (Partition, Vec<Grid>) {
    let p = partition(areas, hh, &[], &PartitionOptions::default(), &NoProgress).unwrap();
    let text = String::from_utf8(grids_bytes(&p.grids)).unwrap();
    let prev = read_previous_grids(&text).unwrap();
    (p, prev)
}

fn run_update(areas: &[Area], hh: &[Household], prev: &[Grid]) -> Update {
    update(areas, hh, &[], prev, &UpdateOptions::default(), &NoProgress).unwrap()
}

/// The grid (index) whose closed polygon holds p: first in order, as the
/// engine decides points on shared edges; independent of the library.
fn holder(grids: &[Grid], boxes: &[geo_types::Rect<f64>], p: Coord<f64>) -> Option<usize> {
    (0..grids.len()).find(|&g| {
        let b = boxes[g];
        p.x >= b.min().x
            && p.x <= b.max().x
            && p.y >= b.min().y
            && p.y <= b.max().y
            && grids[g].geometry.intersects(&p)
    })
}

fn boxes(grids: &[Grid]) -> Vec<geo_types::Rect<f64>> {
    grids
        .iter()
        .map(|g| g.geometry.bounding_rect().unwrap())
        .collect()
}

fn three_areas() -> Vec<Area> {
    vec![
        area(
            "341102001",
            AreaKind::Urban,
            MultiPolygon(vec![rect_m(LON, LAT, 2400.0, 1800.0)]),
        ),
        area(
            "341102002",
            AreaKind::Urban,
            MultiPolygon(vec![rect_m(LON + 0.03, LAT, 2000.0, 2000.0)]),
        ),
        area(
            "341103003",
            AreaKind::Rural,
            MultiPolygon(vec![rect_m(LON, LAT + 0.03, 3000.0, 2500.0)]),
        ),
    ]
}

fn base_households(rng: &mut Rng, areas: &[Area]) -> Vec<Household> {
    let mut hh = Vec::new();
    uniform_in(rng, &areas[0].geometry, 8000, &mut hh);
    clustered_in(rng, &areas[1].geometry, 7000, 5, 250.0, &mut hh);
    clustered_in(rng, &areas[2].geometry, 4000, 4, 300.0, &mut hh);
    hh
}

#[test]
fn unchanged_data_gives_byte_identical_grids() {
    let mut rng = Rng::new(11);
    let areas = three_areas();
    let hh = base_households(&mut rng, &areas);
    let (p, prev) = adopt(&areas, &hh);
    let u = run_update(&areas, &hh, &prev);
    assert_eq!(grids_bytes(&u.partition.grids), grids_bytes(&p.grids));
    let t = &u.changes.totals;
    assert_eq!(
        (t.unchanged, t.adjusted, t.new, t.retired),
        (p.grids.len(), 0, 0, 0)
    );
    assert_eq!(t.households_moved, 0);
    assert!(u.changes.moves.is_empty());
    assert!(u
        .changes
        .areas
        .iter()
        .all(|a| a.mode == AreaUpdateMode::Unchanged));
    // The change layer is empty.
    let layer =
        String::from_utf8(write_changes(Vec::new(), "changes", &u, &prev).unwrap()).unwrap();
    assert!(
        layer.contains("\"features\":[\n\n]") || !layer.contains("\"Feature\""),
        "{layer}"
    );
}

#[test]
fn changes_that_break_no_rule_change_no_grid() {
    let mut rng = Rng::new(12);
    let areas = three_areas();
    let mut hh = base_households(&mut rng, &areas);
    let (p, prev) = adopt(&areas, &hh);
    // Remove 0.5 % and add 0.5 % at random: grids stay within 300–500.
    let n = hh.len();
    for k in 0..n / 200 {
        hh.remove((k * 7919) % hh.len());
    }
    uniform_in(&mut rng, &areas[0].geometry, n / 400, &mut hh);
    uniform_in(&mut rng, &areas[1].geometry, n / 400, &mut hh);
    let u = run_update(&areas, &hh, &prev);
    let c = check(&areas, &hh, &u.partition, None);
    assert_eq!(c.within, c.grids);
    assert_eq!(u.partition.grids.len(), p.grids.len());
    for (a, b) in u.partition.grids.iter().zip(&p.grids) {
        assert_eq!(a.code, b.code);
        assert!(a.geometry == b.geometry, "grid {} changed shape", a.code);
    }
    assert_eq!(u.changes.totals.unchanged, p.grids.len());
    assert_eq!(u.changes.totals.households_moved, 0);
}

struct Churn {
    households_moved: u64,
    cells_kept: f64,
}

/// Households (and lattice "cells") whose grid changed, recounted by
/// point-in-polygon. `code_of` maps a new grid index to the previous code it
/// stands for (its own code for an update; the best-overlap match for a
/// partition from scratch, whose codes mean nothing across runs).
fn churn(
    areas: &[Area],
    hh: &[Household],
    prev: &[Grid],
    new: &[Grid],
    code_of: &dyn Fn(usize) -> Option<String>,
) -> (Churn, HashMap<(String, String), u64>) {
    let pb = boxes(prev);
    let nb = boxes(new);
    let mut moved = 0u64;
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    for h in hh {
        let p = h.location.0;
        if let (Some(o), Some(g)) = (holder(prev, &pb, p), holder(new, &nb, p)) {
            let to = code_of(g);
            if to.as_deref() != Some(prev[o].code.as_str()) {
                moved += u64::from(h.households);
                *pairs
                    .entry((prev[o].code.clone(), new[g].code.clone()))
                    .or_default() += u64::from(h.households);
            }
        }
    }
    // Cells: a lattice over the areas, 30 m apart or coarser for big areas
    // (about 200k points in all).
    let box_m2: f64 = areas
        .iter()
        .map(|a| {
            let r = a.geometry.bounding_rect().unwrap();
            (r.width() / m_lon(LAT)) * (r.height() / M_LAT)
        })
        .sum();
    let step = (box_m2 / 2e5).sqrt().max(30.0);
    let (mut kept, mut total) = (0usize, 0usize);
    for a in areas {
        let r = a.geometry.bounding_rect().unwrap();
        let (dx, dy) = (step * m_lon(LAT), step * M_LAT);
        let mut y = r.min().y + dy / 2.0;
        while y < r.max().y {
            let mut x = r.min().x + dx / 2.0;
            while x < r.max().x {
                let c = Coord { x, y };
                if a.geometry.contains(&c) {
                    if let (Some(o), Some(g)) = (holder(prev, &pb, c), holder(new, &nb, c)) {
                        total += 1;
                        if code_of(g).as_deref() == Some(prev[o].code.as_str()) {
                            kept += 1;
                        }
                    }
                }
                x += dx;
            }
            y += dy;
        }
    }
    (
        Churn {
            households_moved: moved,
            cells_kept: kept as f64 / total.max(1) as f64,
        },
        pairs,
    )
}

/// One-to-one match of scratch grids to previous codes by shared households,
/// largest first (the most favourable reading of a fresh partition's churn).
fn best_match(hh: &[Household], prev: &[Grid], new: &[Grid]) -> Vec<Option<String>> {
    let pb = boxes(prev);
    let nb = boxes(new);
    let mut ov: HashMap<(usize, usize), u64> = HashMap::new();
    for h in hh {
        if let (Some(o), Some(g)) = (
            holder(prev, &pb, h.location.0),
            holder(new, &nb, h.location.0),
        ) {
            *ov.entry((g, o)).or_default() += u64::from(h.households);
        }
    }
    let mut v: Vec<((usize, usize), u64)> = ov.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = vec![None; new.len()];
    let mut used = vec![false; prev.len()];
    for ((g, o), _) in v {
        if out[g].is_none() && !used[o] {
            out[g] = Some(prev[o].code.clone());
            used[o] = true;
        }
    }
    out
}

/// Moves 2 % of households, removes 2 % and adds 2 % (a third scattered, two
/// thirds as new estates), so some grids break the rules.
fn census_update(rng: &mut Rng, areas: &[Area], hh: &mut Vec<Household>) {
    let n = hh.len();
    let k = n / 50;
    for _ in 0..k {
        let i = (rng.next_u64() % hh.len() as u64) as usize;
        let a = &areas[(rng.next_u64() % areas.len() as u64) as usize];
        let mut one = Vec::new();
        uniform_in(rng, &a.geometry, 1, &mut one);
        hh[i].location = one[0].location;
    }
    for _ in 0..k {
        let i = (rng.next_u64() % hh.len() as u64) as usize;
        hh.swap_remove(i);
    }
    for _ in 0..k / 3 {
        let a = &areas[(rng.next_u64() % areas.len() as u64) as usize];
        uniform_in(rng, &a.geometry, 1, hh);
    }
    // New estates, 80 m across, of at most 200 households each (two thirds
    // of the additions): the first two at fixed spots, the rest at random.
    let size = (k / 3).clamp(1, 200);
    for e in 0..(2 * k / 3) / size {
        let (a, fx, fy) = match e {
            0 => (0usize, 0.3, 0.6),
            1 => (1 % areas.len(), 0.7, 0.3),
            _ => (
                (rng.next_u64() % areas.len() as u64) as usize,
                rng.range(0.1, 0.9),
                rng.range(0.1, 0.9),
            ),
        };
        let r = areas[a].geometry.bounding_rect().unwrap();
        let mut c = Coord {
            x: r.min().x + fx * r.width(),
            y: r.min().y + fy * r.height(),
        };
        if !areas[a].geometry.contains(&c) {
            let mut one = Vec::new();
            uniform_in(rng, &areas[a].geometry, 1, &mut one);
            c = one[0].location.0;
        }
        let estate = MultiPolygon(vec![rect_m(c.x, c.y, 80.0, 80.0)]);
        let mut inside = Vec::new();
        uniform_in(rng, &estate, size, &mut inside);
        hh.extend(
            inside
                .into_iter()
                .filter(|h| areas[a].geometry.contains(&h.location.0)),
        );
    }
}

#[test]
fn census_update_moves_few_households_and_keeps_codes() {
    let mut rng = Rng::new(13);
    let areas = three_areas();
    let mut hh = base_households(&mut rng, &areas);
    let (_p, prev) = adopt(&areas, &hh);
    census_update(&mut rng, &areas, &mut hh);

    let t0 = std::time::Instant::now();
    let u = run_update(&areas, &hh, &prev);
    let t_update = t0.elapsed();
    let c = check(&areas, &hh, &u.partition, None);
    let t = &u.changes.totals;
    eprintln!(
        "update: {} → {} grids: {} unchanged, {} adjusted, {} new, {} retired; {} households moved; {:?}",
        t.grids_before, t.grids_after, t.unchanged, t.adjusted, t.new, t.retired, t.households_moved, t_update
    );
    for a in &u.changes.areas {
        eprintln!("  area {} {:?}: {:?}", a.code, a.mode, a.notes);
    }
    assert!(
        t.adjusted + t.new + t.retired > 0,
        "the estates must break some grid"
    );
    assert_eq!(
        c.within, c.grids,
        "every grid within the rules after the update"
    );

    // Moves recounted from the two outputs.
    let new = &u.partition.grids;
    let (cu, pairs) = churn(&areas, &hh, &prev, new, &|g| Some(new[g].code.clone()));
    assert_eq!(
        cu.households_moved, t.households_moved,
        "moved households recount"
    );
    let reported: HashMap<(String, String), u64> = u
        .changes
        .moves
        .iter()
        .map(|m| ((m.from.clone(), m.to.clone()), m.households))
        .collect();
    assert_eq!(reported, pairs, "moves by (from, to)");
    let kept_grids = t.unchanged as f64 / t.grids_before as f64;
    assert!(cu.cells_kept >= 0.95, "cells kept {}", cu.cells_kept);
    assert!(kept_grids >= 0.90, "grids kept {kept_grids}");
    // Codes: no retired code reused, new codes above every previous number.
    let retired: Vec<&str> = u
        .changes
        .grids
        .iter()
        .filter(|r| r.change == GridChange::Retired)
        .map(|r| r.code.as_str())
        .collect();
    for g in new {
        assert!(!retired.contains(&g.code.as_str()));
    }
    for r in u
        .changes
        .grids
        .iter()
        .filter(|r| r.change == GridChange::New)
    {
        let max_prev = prev
            .iter()
            .filter(|g| g.parent_code == r.parent_code)
            .map(|g| g.code.clone())
            .max()
            .unwrap();
        assert!(
            r.code > max_prev,
            "new code {} not above {}",
            r.code,
            max_prev
        );
    }

    // From scratch on the same update.
    let s = partition(&areas, &hh, &[], &PartitionOptions::default(), &NoProgress).unwrap();
    let m = best_match(&hh, &prev, &s.grids);
    let (cs, _) = churn(&areas, &hh, &prev, &s.grids, &|g| m[g].clone());
    eprintln!(
        "churn: update moves {} households ({:.2} % of cells change grid); from scratch {} households ({:.2} %)",
        cu.households_moved,
        100.0 * (1.0 - cu.cells_kept),
        cs.households_moved,
        100.0 * (1.0 - cs.cells_kept)
    );
    assert!(cu.households_moved < cs.households_moved);

    // Deterministic, whatever the number of threads.
    let again = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run_update(&areas, &hh, &prev));
    assert_eq!(grids_bytes(&again.partition.grids), grids_bytes(new));
}

#[test]
fn boundary_change_and_new_area_are_partitioned_with_codes_kept_by_overlap() {
    let mut rng = Rng::new(14);
    let mut areas = three_areas();
    let hh0 = base_households(&mut rng, &areas);
    let (_p, prev) = adopt(&areas, &hh0);
    // Area 0 grows northwards by 600 m (a merge), and a new area appears.
    areas[0].geometry = MultiPolygon(vec![rect_m(LON, LAT, 2400.0, 2400.0)]);
    areas.push(area(
        "341103009",
        AreaKind::Rural,
        MultiPolygon(vec![rect_m(LON + 0.06, LAT + 0.03, 1500.0, 1500.0)]),
    ));
    let mut hh = hh0.clone();
    let strip = MultiPolygon(vec![Polygon::new(
        rect_m(LON, LAT + 1800.0 * M_LAT, 2400.0, 600.0)
            .exterior()
            .clone(),
        vec![],
    )]);
    uniform_in(&mut rng, &strip, 1500, &mut hh);
    uniform_in(&mut rng, &areas[3].geometry, 900, &mut hh);
    let u = run_update(&areas, &hh, &prev);
    let c = check(&areas, &hh, &u.partition, None);
    assert_eq!(c.within, c.grids);
    let modes: Vec<AreaUpdateMode> = u.changes.areas.iter().map(|a| a.mode).collect();
    assert_eq!(
        modes,
        vec![
            AreaUpdateMode::Repartitioned,
            AreaUpdateMode::Unchanged,
            AreaUpdateMode::Unchanged,
            AreaUpdateMode::New
        ]
    );
    // Most of area 0's codes survive.
    let kept = u
        .partition
        .grids
        .iter()
        .filter(|g| g.parent_code == "341102001")
        .filter(|g| prev.iter().any(|p| p.code == g.code))
        .count();
    let before = prev.iter().filter(|g| g.parent_code == "341102001").count();
    assert!(
        kept * 10 >= before * 9,
        "{kept} of {before} previous codes of the grown area kept"
    );
}

#[test]
fn bad_previous_grids_are_rejected_with_a_reason() {
    let mut rng = Rng::new(15);
    let areas = three_areas();
    let hh = base_households(&mut rng, &areas);
    let (_p, mut prev) = adopt(&areas, &hh);
    prev[1].code = prev[0].code.clone();
    let e = update(
        &areas,
        &hh,
        &[],
        &prev,
        &UpdateOptions::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("already used"), "{e}");
    assert!(read_previous_grids("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{\"code\":\"11\",\"parent_code\":\"1\"}}]}")
        .unwrap_err()
        .to_string()
        .contains("expected Polygon"));
}

#[test]
fn demolition_and_a_big_estate_retire_and_create_grids() {
    let mut rng = Rng::new(16);
    let areas = three_areas();
    let mut hh = base_households(&mut rng, &areas);
    let (_p, prev) = adopt(&areas, &hh);
    // Demolish a 900 m block of area 0 and build a 900-household estate in area 1.
    let r = areas[0].geometry.bounding_rect().unwrap();
    let block = MultiPolygon(vec![rect_m(
        r.min().x + 0.4 * r.width(),
        r.min().y + 0.4 * r.height(),
        900.0,
        900.0,
    )]);
    hh.retain(|h| !block.contains(&h.location.0));
    let r1 = areas[1].geometry.bounding_rect().unwrap();
    let estate = MultiPolygon(vec![rect_m(
        r1.min().x + 0.2 * r1.width(),
        r1.min().y + 0.6 * r1.height(),
        200.0,
        150.0,
    )]);
    uniform_in(&mut rng, &estate, 900, &mut hh);
    // An earlier update retired 341102002099: never handed out again.
    let earlier = vec![RetiredCode {
        parent_code: "341102002".into(),
        code: "341102002099".into(),
    }];
    let opts = UpdateOptions {
        retired_codes: earlier.clone(),
        ..Default::default()
    };
    let u = update(&areas, &hh, &[], &prev, &opts, &NoProgress).unwrap();
    for g in u
        .partition
        .grids
        .iter()
        .filter(|g| g.parent_code == "341102002")
    {
        assert!(
            prev.iter().any(|p| p.code == g.code) || g.code.as_str() > "341102002099",
            "new code {} reuses a retired number",
            g.code
        );
    }
    let retired_now = u.changes.retired_codes(&earlier);
    assert_eq!(retired_now.len(), 1 + u.changes.totals.retired);
    let c = check(&areas, &hh, &u.partition, None);
    let t = &u.changes.totals;
    eprintln!(
        "demolition+estate: {} → {} grids: {} unchanged, {} adjusted, {} new, {} retired; {} households moved",
        t.grids_before, t.grids_after, t.unchanged, t.adjusted, t.new, t.retired, t.households_moved
    );
    for a in &u.changes.areas {
        eprintln!("  area {} {:?}: {:?}", a.code, a.mode, a.notes);
    }
    assert_eq!(c.within, c.grids, "every grid within the rules");
    assert!(t.new >= 1, "the estate needs a new grid");
    assert!(t.retired >= 1, "the demolished block's grid is retired");
    let new = &u.partition.grids;
    let (cu, pairs) = churn(&areas, &hh, &prev, new, &|g| Some(new[g].code.clone()));
    assert_eq!(cu.households_moved, t.households_moved);
    let reported: HashMap<(String, String), u64> = u
        .changes
        .moves
        .iter()
        .map(|m| ((m.from.clone(), m.to.clone()), m.households))
        .collect();
    assert_eq!(reported, pairs);
    let s = partition(&areas, &hh, &[], &PartitionOptions::default(), &NoProgress).unwrap();
    let m = best_match(&hh, &prev, &s.grids);
    let (cs, _) = churn(&areas, &hh, &prev, &s.grids, &|g| m[g].clone());
    eprintln!(
        "churn: update moves {} households ({:.2} % of cells change grid); from scratch {} ({:.2} %)",
        cu.households_moved,
        100.0 * (1.0 - cu.cells_kept),
        cs.households_moved,
        100.0 * (1.0 - cs.cells_kept)
    );
    assert!(cu.households_moved < cs.households_moved);
    let layer =
        String::from_utf8(write_changes(Vec::new(), "changes", &u, &prev).unwrap()).unwrap();
    assert!(layer.contains("\"change\":\"new\"") && layer.contains("\"change\":\"retired\""));
}

/// Real boundaries (the eight Chuzhou districts and counties, thousands of
/// vertices each, so many clipped boundary cells), seeded village-like
/// households as in the partition tests, and the same census update.
#[test]
fn chuzhou_census_update() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real/chuzhou-admin");
    let villages = std::fs::read_to_string(format!("{dir}/chuzhou_villages_nbs2023.csv")).unwrap();
    let mut areas = Vec::new();
    let mut hh = Vec::new();
    let mut rng = Rng::new(2023);
    for (g, p) in read_features(&format!("{dir}/chuzhou_districts_datav_gcj02.geojson")) {
        let code = p["adcode"].as_i64().unwrap().to_string();
        let n_villages = villages
            .lines()
            .filter(|l| l.ends_with(&format!(",{code}")))
            .count()
            .max(10);
        let mp = to_multi(g).unwrap();
        clustered_in(&mut rng, &mp, n_villages * 120, n_villages, 150.0, &mut hh);
        areas.push(area(&code, AreaKind::Rural, mp));
    }
    let (_p, prev) = adopt(&areas, &hh);
    census_update(&mut rng, &areas, &mut hh);
    let t0 = std::time::Instant::now();
    let u = run_update(&areas, &hh, &prev);
    let dt = t0.elapsed();
    let c = check(&areas, &hh, &u.partition, None);
    let t = &u.changes.totals;
    eprintln!(
        "chuzhou update: {} households, {} → {} grids: {} unchanged, {} adjusted, {} new, {} retired; {} households moved; {:.2} s",
        hh.len(), t.grids_before, t.grids_after, t.unchanged, t.adjusted, t.new, t.retired, t.households_moved, dt.as_secs_f64()
    );
    assert_eq!(
        c.within,
        c.grids,
        "{:?}",
        u.partition
            .grids
            .iter()
            .filter(|g| !g.within_rules)
            .map(|g| (&g.code, g.households, &g.issues))
            .collect::<Vec<_>>()
    );
    let new = &u.partition.grids;
    let (cu, pairs) = churn(&areas, &hh, &prev, new, &|g| Some(new[g].code.clone()));
    assert_eq!(cu.households_moved, t.households_moved);
    let reported: HashMap<(String, String), u64> = u
        .changes
        .moves
        .iter()
        .map(|m| ((m.from.clone(), m.to.clone()), m.households))
        .collect();
    assert_eq!(reported, pairs);
    let kept_grids = t.unchanged as f64 / t.grids_before as f64;
    assert!(cu.cells_kept >= 0.95, "cells kept {}", cu.cells_kept);
    assert!(kept_grids >= 0.90, "grids kept {kept_grids}");
    let s = partition(&areas, &hh, &[], &PartitionOptions::default(), &NoProgress).unwrap();
    let m = best_match(&hh, &prev, &s.grids);
    let (cs, _) = churn(&areas, &hh, &prev, &s.grids, &|g| m[g].clone());
    eprintln!(
        "chuzhou churn: update moves {} households ({:.2} % of cells change grid); from scratch {} ({:.2} %)",
        cu.households_moved,
        100.0 * (1.0 - cu.cells_kept),
        cs.households_moved,
        100.0 * (1.0 - cs.cells_kept)
    );
    assert!(cu.households_moved < cs.households_moved);
}

/// An area whose total is below the minimum cannot be fixed: it is left alone
/// (no churn), and its grid still says why.
#[test]
fn infeasible_area_is_left_alone_and_new_rules_are_applied() {
    let mut rng = Rng::new(17);
    let mut areas = three_areas();
    areas.push(area(
        "341103010",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON + 0.06, LAT, 500.0, 400.0)]),
    ));
    let mut hh = base_households(&mut rng, &areas);
    uniform_in(&mut rng, &areas[3].geometry, 120, &mut hh);
    let (p, prev) = adopt(&areas, &hh);
    let u = run_update(&areas, &hh, &prev);
    assert_eq!(grids_bytes(&u.partition.grids), grids_bytes(&p.grids));
    let small = u
        .partition
        .grids
        .iter()
        .find(|g| g.parent_code == "341103010")
        .unwrap();
    assert!(!small.within_rules && small.issues[0].contains("below the minimum"));
    assert!(u.changes.areas[3]
        .notes
        .iter()
        .any(|n| n.contains("kept as they are")));

    // Stricter rules at the next update: grids above the new maximum are
    // re-balanced (or, where they cannot be, say so); none claims to be within
    // rules it breaks.
    let rules = wangge::model::Rules {
        min_households: 300,
        max_households: 420,
        target_households: None,
        max_persons: None,
        max_area_m2: None,
    };
    let opts = UpdateOptions {
        partition: PartitionOptions {
            rules: Some(rules),
            ..Default::default()
        },
        ..Default::default()
    };
    let u = update(&areas, &hh, &[], &prev, &opts, &NoProgress).unwrap();
    let c = check(&areas, &hh, &u.partition, Some(rules));
    let t = &u.changes.totals;
    eprintln!(
        "stricter rules: {} → {} grids, {} within rules, {} unchanged, {} adjusted, {} new, {} retired",
        t.grids_before, t.grids_after, c.within, t.unchanged, t.adjusted, t.new, t.retired
    );
    assert!(t.adjusted + t.new > 0);
    // Every area whose total allows it ends within the new rules.
    assert_eq!(
        c.within + 1,
        c.grids,
        "only the small area's grid breaks the rules"
    );
}
