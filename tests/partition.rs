//! Integration tests of `wangge::partition`, checked by an independent oracle
//! (tests/support) that recounts everything from the raw inputs.

mod support;

use geo_types::{coord, LineString, MultiPolygon, Polygon};
use support::*;
use wangge::model::{Area, AreaKind, Household, Rules};
use wangge::partition::{partition, Partition, PartitionOptions};
use wangge::NoProgress;

const LON: f64 = 118.30;
const LAT: f64 = 32.30;

fn run(areas: &[Area], hh: &[Household], opts: &PartitionOptions) -> Partition {
    partition(areas, hh, &[], opts, &NoProgress).expect("partition")
}

fn summary(name: &str, c: &Check) {
    eprintln!(
        "{name}: {} grids, {} within rules, CV {:.3}, PP mean {:.3} min {:.3}, union diff {:.1e}, overlap {:.1e}",
        c.grids, c.within, c.cv, c.pp_mean, c.pp_min, c.max_union_rel_diff, c.max_overlap_rel
    );
}

#[test]
fn rectangle_uniform() {
    let mut rng = Rng::new(1);
    let a = area(
        "341102001001",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 2000.0, 1500.0)]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 6000, &mut hh);
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("rectangle", &c);
    assert_eq!(c.within, c.grids, "every grid within the rules");
    assert!(c.cv < 0.08, "CV {}", c.cv);
    assert!(
        c.pp_mean > 0.55 && c.pp_min > 0.35,
        "compactness {} {}",
        c.pp_mean,
        c.pp_min
    );
    assert_eq!(p.grids.len(), 15);
    assert_eq!(p.grids[0].code, "341102001001001");
}

#[test]
fn polygon_with_hole_and_clustered_households() {
    let mut rng = Rng::new(2);
    let outer = rect_m(LON, LAT, 3000.0, 2500.0);
    let hole = rect_m(LON + 1000.0 * m_lon(LAT), LAT + 800.0 * M_LAT, 900.0, 700.0);
    let poly = Polygon::new(outer.exterior().clone(), vec![hole.exterior().clone()]);
    let a = area("341103002", AreaKind::Rural, MultiPolygon(vec![poly]));
    let mut hh = Vec::new();
    clustered_in(&mut rng, &a.geometry, 5000, 6, 150.0, &mut hh);
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("hole", &c);
    assert_eq!(c.within, c.grids);
    assert!(c.cv < 0.1, "CV {}", c.cv);
}

#[test]
fn two_part_multipolygon_and_a_small_island() {
    let mut rng = Rng::new(3);
    let a1 = rect_m(LON, LAT, 1500.0, 1500.0);
    let a2 = rect_m(LON + 2000.0 * m_lon(LAT), LAT, 1500.0, 1200.0);
    let island = rect_m(
        LON + 1600.0 * m_lon(LAT),
        LAT + 1700.0 * M_LAT,
        150.0,
        120.0,
    );
    let mp = MultiPolygon(vec![a1.clone(), a2.clone(), island.clone()]);
    let a = area("341122", AreaKind::Urban, mp);
    let mut hh = Vec::new();
    uniform_in(&mut rng, &MultiPolygon(vec![a1]), 2400, &mut hh);
    uniform_in(&mut rng, &MultiPolygon(vec![a2]), 2000, &mut hh);
    uniform_in(&mut rng, &MultiPolygon(vec![island]), 40, &mut hh);
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("two parts", &c);
    assert_eq!(
        c.within,
        c.grids,
        "{:?}",
        p.grids
            .iter()
            .map(|g| (&g.code, g.households, &g.issues))
            .collect::<Vec<_>>()
    );
    // The island joins one grid, which is then a MultiPolygon and says why.
    let multi: Vec<_> = p.grids.iter().filter(|g| g.geometry.0.len() > 1).collect();
    assert_eq!(multi.len(), 1);
    assert!(multi[0].issues.iter().any(|s| s.contains("pieces")));
    assert!(p.areas[0].notes.iter().any(|s| s.contains("detached")));
}

#[test]
fn thin_neck_keeps_grids_in_one_piece() {
    let mut rng = Rng::new(4);
    // Two squares joined by a 20 m wide, 400 m long corridor (narrower than a cell).
    let w = m_lon(LAT);
    let ring = vec![
        coord! {x: LON, y: LAT},
        coord! {x: LON + 1200.0 * w, y: LAT},
        coord! {x: LON + 1200.0 * w, y: LAT + 590.0 * M_LAT},
        coord! {x: LON + 1600.0 * w, y: LAT + 590.0 * M_LAT},
        coord! {x: LON + 1600.0 * w, y: LAT},
        coord! {x: LON + 2800.0 * w, y: LAT},
        coord! {x: LON + 2800.0 * w, y: LAT + 1200.0 * M_LAT},
        coord! {x: LON + 1600.0 * w, y: LAT + 1200.0 * M_LAT},
        coord! {x: LON + 1600.0 * w, y: LAT + 610.0 * M_LAT},
        coord! {x: LON + 1200.0 * w, y: LAT + 610.0 * M_LAT},
        coord! {x: LON + 1200.0 * w, y: LAT + 1200.0 * M_LAT},
        coord! {x: LON, y: LAT + 1200.0 * M_LAT},
        coord! {x: LON, y: LAT},
    ];
    let a = area(
        "341124",
        AreaKind::Urban,
        MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 5000, &mut hh);
    let areas = vec![a];
    // Coarse cells on purpose, so cells straddle the corridor and get split.
    for res in [h3o::Resolution::Nine, h3o::Resolution::Ten] {
        let opts = PartitionOptions {
            resolution: Some(res),
            ..Default::default()
        };
        let p = run(&areas, &hh, &opts);
        let c = check(&areas, &hh, &p, None);
        summary(&format!("neck res {res}"), &c);
        assert_eq!(c.within, c.grids);
    }
}

/// Villages of very different sizes in mostly empty country, inside an area
/// whose outline is a staircase of H3 cells (like the bench's 10k case):
/// before the compactness moves and the final re-split, cases like this left
/// a strip along the boundary with PP about 0.25. Every grid must be compact,
/// not just the average one.
#[test]
fn clustered_villages_give_no_awkward_grid() {
    let mut rng = Rng::new(11);
    let centre = h3o::LatLng::new(LAT, LON)
        .unwrap()
        .to_cell(h3o::Resolution::Ten);
    let cells = centre.grid_disk::<Vec<_>>(58);
    let outline = h3o::geom::SolventBuilder::new()
        .build()
        .dissolve(cells.iter().copied())
        .unwrap();
    let a = area("341181", AreaKind::Urban, outline);
    let mut hh = Vec::new();
    for _ in 0..85 {
        let size = (0.7 * rng.normal()).exp();
        let n = (700.0 * size) as usize;
        let (r, t) = (
            6500.0 * rng.range(0.0, 0.85).sqrt(),
            rng.range(0.0, std::f64::consts::TAU),
        );
        let sd = 60.0 + 140.0 * size.sqrt();
        for _ in 0..n {
            let (x, y) = (
                r * t.cos() + rng.normal() * sd,
                r * t.sin() + rng.normal() * sd,
            );
            hh.push(hh_at(LON + x * m_lon(LAT), LAT + y * M_LAT, 1));
        }
    }
    uniform_in(&mut rng, &a.geometry, 6000, &mut hh);
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("villages", &c);
    assert_eq!(c.within, c.grids);
    assert!(c.cv < 0.08, "CV {}", c.cv);
    assert!(
        c.pp_mean >= 0.55 && c.pp_min >= 0.35,
        "compactness mean {} min {}",
        c.pp_mean,
        c.pp_min
    );
}

#[test]
fn dense_and_sparse_areas_in_one_call() {
    let mut rng = Rng::new(5);
    let dense = area(
        "1",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 600.0, 500.0)]),
    );
    let sparse = area(
        "2",
        AreaKind::Rural,
        MultiPolygon(vec![rect_m(LON + 0.01, LAT, 6000.0, 5000.0)]),
    );
    let mut hh = Vec::new();
    clustered_in(&mut rng, &dense.geometry, 12000, 4, 80.0, &mut hh);
    clustered_in(&mut rng, &sparse.geometry, 1500, 3, 200.0, &mut hh);
    // A few outside both.
    hh.push(hh_at(LON - 0.05, LAT, 3));
    let areas = vec![dense, sparse];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("dense+sparse", &c);
    assert_eq!(c.within, c.grids);
    assert_eq!(p.outside.households, 3);
    assert_eq!(p.outside.locations, vec![hh.len() - 1]);
    assert!(p.areas[0].resolution > p.areas[1].resolution);
}

fn hh_at(x: f64, y: f64, n: u32) -> Household {
    hh(x, y, n, None)
}

#[test]
fn area_below_minimum_is_one_grid_with_a_reason() {
    let mut rng = Rng::new(6);
    let a = area(
        "9",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 500.0, 400.0)]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 120, &mut hh);
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    check(&areas, &hh, &p, None);
    assert_eq!(p.grids.len(), 1);
    assert!(!p.grids[0].within_rules);
    assert!(
        p.grids[0].issues[0].contains("below the minimum"),
        "{:?}",
        p.grids[0].issues
    );
    assert!(!p.areas[0].feasible);
}

#[test]
fn one_location_above_the_maximum() {
    let mut rng = Rng::new(7);
    let a = area(
        "8",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 1500.0, 1200.0)]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 2400, &mut hh);
    // A tower block: 800 households at one point.
    hh.push(support::hh(
        LON + 700.0 * m_lon(LAT),
        LAT + 600.0 * M_LAT,
        800,
        Some(2000),
    ));
    let areas = vec![a];
    let p = run(&areas, &hh, &PartitionOptions::default());
    let c = check(&areas, &hh, &p, None);
    summary("tower", &c);
    let bad: Vec<_> = p.grids.iter().filter(|g| !g.within_rules).collect();
    assert_eq!(
        bad.len(),
        1,
        "{:?}",
        p.grids
            .iter()
            .map(|g| (g.households, &g.issues))
            .collect::<Vec<_>>()
    );
    assert!(
        bad[0]
            .issues
            .iter()
            .any(|s| s.contains("one location, a single building, holds 800 households")),
        "{:?}",
        bad[0].issues
    );
    // All the other grids meet the rules.
    assert_eq!(c.within, c.grids - 1);
}

#[test]
fn persons_cap_is_respected() {
    let mut rng = Rng::new(8);
    let a = area(
        "7",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 1500.0, 1200.0)]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 4000, &mut hh);
    for h in &mut hh {
        h.persons = Some(6); // 400 households × 6 = 2400 persons: above the cap
    }
    let rules = Rules {
        max_persons: Some(2600),
        ..Rules::URBAN
    };
    let areas = vec![a];
    let p = run(
        &areas,
        &hh,
        &PartitionOptions {
            rules: Some(rules),
            ..Default::default()
        },
    );
    let c = check(&areas, &hh, &p, Some(rules));
    summary("persons", &c);
    for g in &p.grids {
        assert!(g.persons <= 2600, "{} persons", g.persons);
        assert!(g.within_rules, "{:?}", g.issues);
    }
}

#[test]
fn households_on_cell_edges_and_vertices_are_counted_once() {
    // Points exactly on H3 vertices and edge midpoints (in the engine's own
    // straight-edge geometry) must land in exactly one grid.
    let a = area(
        "6",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 1200.0, 1000.0)]),
    );
    let mut rng = Rng::new(9);
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 3000, &mut hh);
    let res = h3o::Resolution::Ten;
    let centre = h3o::LatLng::new(LAT + 500.0 * M_LAT, LON + 600.0 * m_lon(LAT))
        .unwrap()
        .to_cell(res);
    for c in centre.grid_disk::<Vec<_>>(4) {
        let vs: Vec<_> = c.vertexes().map(h3o::LatLng::from).collect();
        for i in 0..vs.len() {
            let (p, q) = (vs[i], vs[(i + 1) % vs.len()]);
            hh.push(hh_at(p.lng(), p.lat(), 1));
            hh.push(hh_at(
                (p.lng() + q.lng()) / 2.0,
                (p.lat() + q.lat()) / 2.0,
                1,
            ));
        }
    }
    let areas = vec![a];
    let p = run(
        &areas,
        &hh,
        &PartitionOptions {
            resolution: Some(res),
            ..Default::default()
        },
    );
    let c = check(&areas, &hh, &p, None);
    summary("edges", &c);
    let total: u64 = p.grids.iter().map(|g| g.households).sum::<u64>() + p.outside.households;
    assert_eq!(
        total,
        hh.iter().map(|h| u64::from(h.households)).sum::<u64>()
    );
}

#[test]
fn barriers_become_grid_edges() {
    let mut rng = Rng::new(10);
    let r = rect_m(LON, LAT, 2400.0, 1600.0);
    let a = area("5", AreaKind::Urban, MultiPolygon(vec![r.clone()]));
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 4800, &mut hh);
    let roads = road_grid(geo::BoundingRect::bounding_rect(&r).unwrap(), 600.0);
    let areas = vec![a];
    let without = partition(
        &areas,
        &hh,
        &roads,
        &PartitionOptions {
            barrier_cut_cost: 1.0,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let with = partition(
        &areas,
        &hh,
        &roads,
        &PartitionOptions::default(),
        &NoProgress,
    )
    .unwrap();
    check(&areas, &hh, &with, None);
    let len = |p: &Partition| p.grids.iter().map(|g| g.barrier_length_m).sum::<f64>();
    eprintln!(
        "barrier length inside grids: ignoring barriers {:.0} m, preferring them {:.0} m",
        len(&without),
        len(&with)
    );
    assert!(len(&with) < len(&without));
    assert!(with.grids.iter().all(|g| g.within_rules));
}

/// Where two grids meet along a road, their shared edge is the road itself
/// (not an H3 staircase within a cell of it), and no road length counts as
/// inside a grid.
#[test]
fn grid_edge_follows_a_road_between_two_grids() {
    use geo::{Distance, Euclidean};
    use geo_types::{MultiLineString, Point};
    let mut rng = Rng::new(12);
    let (w, h) = (2000.0, 1200.0);
    let r = rect_m(LON, LAT, w, h);
    let a = area("6", AreaKind::Urban, MultiPolygon(vec![r]));
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 800, &mut hh);
    // A slanted straight road through the middle, beyond the area at both ends.
    let mx = m_lon(LAT);
    let at = |x: f64, y: f64| coord! {x: LON + x * mx, y: LAT + y * M_LAT};
    let road = LineString(vec![
        at(w / 2.0 - 150.0, -500.0),
        at(w / 2.0 + 130.0, h + 500.0),
    ]);
    let barriers = vec![wangge::model::Barrier {
        geometry: MultiLineString(vec![road.clone()]),
        kind: Some("road".into()),
        feature: 0,
    }];
    let areas = vec![a];
    let p = partition(
        &areas,
        &hh,
        &barriers,
        &PartitionOptions {
            grid_counts: [("6".to_string(), 2)].into_iter().collect(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let c = check(&areas, &hh, &p, None);
    summary("road between two grids", &c);
    assert_eq!(p.grids.len(), 2);
    assert!(p.grids.iter().all(|g| g.geometry.0.len() == 1));
    // In metres around the area's corner.
    let m = |c: geo_types::Coord<f64>| Point::new((c.x - LON) / mx, (c.y - LAT) / M_LAT);
    let road_m = LineString(road.0.iter().map(|&c| m(c).0).collect());
    let ring_m = |g: &wangge::model::Grid| {
        LineString(
            g.geometry.0[0]
                .exterior()
                .0
                .iter()
                .map(|&c| m(c).0)
                .collect::<Vec<_>>(),
        )
    };
    let (ra, rb) = (ring_m(&p.grids[0]), ring_m(&p.grids[1]));
    // The shared edge: vertices of one outline that lie on the other.
    let shared: Vec<Point<f64>> = ra
        .points()
        .filter(|q| Euclidean.distance(q, &rb) < 1e-3)
        .collect();
    assert!(shared.len() >= 2, "the grids share an edge");
    let edge_to_road = shared
        .iter()
        .map(|q| Euclidean.distance(q, &road_m))
        .fold(0.0f64, f64::max);
    // And every point of the road inside the area lies on both outlines.
    let mut road_to_edge = 0.0f64;
    for i in 0..=400 {
        let t = i as f64 / 400.0;
        let q = road_m.0[0] + (road_m.0[1] - road_m.0[0]) * t;
        if q.y < 0.0 || q.y > h {
            continue;
        }
        let q = Point(q);
        road_to_edge = road_to_edge
            .max(Euclidean.distance(&q, &ra))
            .max(Euclidean.distance(&q, &rb));
    }
    let inside: f64 = p.grids.iter().map(|g| g.barrier_length_m).sum();
    eprintln!(
        "shared edge to road {edge_to_road:.3} m, road to edges {road_to_edge:.3} m, barrier length inside grids {inside:.1} m"
    );
    assert!(edge_to_road <= 1.0 && road_to_edge <= 1.0);
    assert!(inside < 1.0);
    assert!(p.grids.iter().all(|g| g.within_rules));
}

#[test]
fn deterministic_across_runs_and_thread_counts() {
    let mut rng = Rng::new(11);
    let a1 = area(
        "11",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 1500.0, 1500.0)]),
    );
    let a2 = area(
        "12",
        AreaKind::Rural,
        MultiPolygon(vec![rect_m(LON + 0.02, LAT, 2500.0, 1500.0)]),
    );
    let mut hh = Vec::new();
    clustered_in(&mut rng, &a1.geometry, 5000, 4, 120.0, &mut hh);
    clustered_in(&mut rng, &a2.geometry, 3000, 3, 150.0, &mut hh);
    let areas = vec![a1, a2];
    let fingerprint = |p: &Partition| {
        p.grids
            .iter()
            .map(|g| {
                format!(
                    "{}|{}|{}|{:?}|{:?}",
                    g.code, g.households, g.persons, g.geometry, g.issues
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let base = fingerprint(&run(&areas, &hh, &PartitionOptions::default()));
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let again = pool.install(|| fingerprint(&run(&areas, &hh, &PartitionOptions::default())));
        assert!(base == again, "output differs with {threads} threads");
    }
}

/// Cutting cells along roads keeps the output independent of thread count.
#[test]
fn deterministic_with_roads() {
    use geo_types::MultiLineString;
    let mut rng = Rng::new(13);
    let (w, h) = (3000.0, 2400.0);
    let a = area(
        "13",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, w, h)]),
    );
    let mut hh = Vec::new();
    clustered_in(&mut rng, &a.geometry, 9000, 6, 200.0, &mut hh);
    let mx = m_lon(LAT);
    let at = |x: f64, y: f64| coord! {x: LON + x * mx, y: LAT + y * M_LAT};
    // A slanted road grid, some roads ending inside the area.
    let mut roads = Vec::new();
    for k in 0..4 {
        let x = 400.0 + 700.0 * k as f64;
        roads.push(LineString(vec![at(x, -100.0), at(x + 180.0, h + 100.0)]));
        let y = 300.0 + 600.0 * k as f64;
        roads.push(LineString(vec![at(-100.0, y), at(w * 0.8, y + 90.0)]));
    }
    let barriers = vec![wangge::model::Barrier {
        geometry: MultiLineString(roads),
        kind: Some("road".into()),
        feature: 0,
    }];
    let areas = vec![a];
    let fingerprint = || {
        let p = partition(
            &areas,
            &hh,
            &barriers,
            &PartitionOptions::default(),
            &NoProgress,
        )
        .unwrap();
        let c = check(&areas, &hh, &p, None);
        summary("roads, determinism", &c);
        p.grids
            .iter()
            .map(|g| {
                format!(
                    "{}|{}|{:?}|{}|{:?}",
                    g.code, g.households, g.geometry, g.barrier_length_m, g.issues
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let base = fingerprint();
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert!(
            base == pool.install(fingerprint),
            "output differs with {threads} threads"
        );
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let a = area(
        "1",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 100.0, 100.0)]),
    );
    let dup = vec![a.clone(), a.clone()];
    assert!(partition(&dup, &[], &[], &PartitionOptions::default(), &NoProgress).is_err());
    let bad_rules = PartitionOptions {
        rules: Some(Rules {
            min_households: 600,
            ..Rules::URBAN
        }),
        ..Default::default()
    };
    assert!(partition(std::slice::from_ref(&a), &[], &[], &bad_rules, &NoProgress).is_err());
    let nan = vec![hh_at(f64::NAN, 1.0, 1)];
    assert!(partition(
        std::slice::from_ref(&a),
        &nan,
        &[],
        &PartitionOptions::default(),
        &NoProgress
    )
    .is_err());
    // An empty area still gets its one grid.
    let p = partition(&[a], &[], &[], &PartitionOptions::default(), &NoProgress).unwrap();
    assert_eq!(p.grids.len(), 1);
    assert!(!p.grids[0].within_rules);
}

/// Real data: Trafford (UK) 2023 wards, each Census-2021 output area's
/// representative point carrying its households and population; grids of
/// 300–500 households.
#[test]
fn trafford_wards_from_census_output_areas() {
    use geo::InteriorPoint;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real/trafford-uk");
    let wards: Vec<Area> = read_features(&format!("{dir}/trafford_wards2023.geojson"))
        .into_iter()
        .map(|(g, p)| {
            area(
                p["area_code"].as_str().unwrap(),
                AreaKind::Urban,
                to_multi(g).unwrap(),
            )
        })
        .collect();
    let hh: Vec<Household> = read_features(&format!(
        "{dir}/trafford_oa2021_households_population_census2021.geojson"
    ))
    .into_iter()
    .map(|(g, p)| {
        let pt = to_multi(g).unwrap().interior_point().unwrap();
        support::hh(
            pt.x(),
            pt.y(),
            p["households_2021"].as_u64().unwrap() as u32,
            Some(p["population_2021"].as_u64().unwrap() as u32),
        )
    })
    .collect();
    assert_eq!(wards.len(), 21);
    assert_eq!(hh.len(), 738);
    let t0 = std::time::Instant::now();
    let p = run(&wards, &hh, &PartitionOptions::default());
    let dt = t0.elapsed();
    let c = check(&wards, &hh, &p, None);
    summary("trafford", &c);
    let total: u64 = hh.iter().map(|h| u64::from(h.households)).sum();
    eprintln!(
        "trafford: {} households, {} outside the 2023 wards, {:.2} s, infeasible wards: {:?}",
        total,
        p.outside.households,
        dt.as_secs_f64(),
        p.areas
            .iter()
            .filter(|a| !a.feasible)
            .map(|a| (&a.code, a.households, &a.notes))
            .collect::<Vec<_>>()
    );
    let bad: Vec<_> = p
        .grids
        .iter()
        .filter(|g| !g.within_rules)
        .map(|g| (&g.code, g.households, &g.issues))
        .collect();
    // Census output areas are indivisible units of 43–251 households, so every
    // ward total that can be split into 300–500 must be.
    for a in p.areas.iter().filter(|a| a.feasible) {
        assert!(
            p.grids
                .iter()
                .filter(|g| g.parent_code == a.code)
                .all(|g| g.within_rules),
            "ward {} is feasible but has grids outside the rules: {bad:?}",
            a.code
        );
    }
    assert!(c.pp_mean > 0.5, "PP mean {}", c.pp_mean);
}

/// Real boundaries: the eight Chuzhou districts/counties (DataV, GCJ-02; the
/// ~500 m offset does not matter for tiling), with seeded households in
/// village-like clusters, about 120 per village of the NBS 2023 list.
#[test]
fn chuzhou_county_boundaries() {
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
    assert_eq!(areas.len(), 8);
    let t0 = std::time::Instant::now();
    let p = run(&areas, &hh, &PartitionOptions::default());
    let dt = t0.elapsed();
    let c = check(&areas, &hh, &p, None);
    summary("chuzhou", &c);
    eprintln!(
        "chuzhou: {} households in {:.2} s, {} grids pinched by the boundary, resolutions {:?}",
        hh.len(),
        dt.as_secs_f64(),
        c.pinched,
        p.areas
            .iter()
            .map(|a| (a.code.as_str(), a.resolution, a.grids))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        c.within,
        c.grids,
        "{:?}",
        p.grids
            .iter()
            .filter(|g| !g.within_rules)
            .map(|g| (&g.code, g.households, &g.issues))
            .collect::<Vec<_>>()
    );
}

/// A cancelled job stops with `PartitionError::Cancelled`; progress reaches 1.
#[test]
fn progress_and_cancellation() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    struct P {
        cancel: AtomicBool,
        last: AtomicU64,
    }
    impl wangge::Progress for P {
        fn report(&self, _stage: &str, fraction: f64) {
            assert!((0.0..=1.0).contains(&fraction));
            self.last.store(fraction.to_bits(), Ordering::Relaxed);
        }
        fn cancelled(&self) -> bool {
            self.cancel.load(Ordering::Relaxed)
        }
    }
    let mut rng = Rng::new(12);
    let a = area(
        "4",
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, 800.0, 800.0)]),
    );
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a.geometry, 1200, &mut hh);
    let areas = vec![a];
    let p = P {
        cancel: AtomicBool::new(false),
        last: AtomicU64::new(0),
    };
    partition(&areas, &hh, &[], &PartitionOptions::default(), &p).unwrap();
    assert_eq!(f64::from_bits(p.last.load(Ordering::Relaxed)), 1.0);
    p.cancel.store(true, Ordering::Relaxed);
    assert!(matches!(
        partition(&areas, &hh, &[], &PartitionOptions::default(), &p),
        Err(wangge::partition::PartitionError::Cancelled)
    ));
}
