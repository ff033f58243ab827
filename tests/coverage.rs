//! The coverage engine against a brute-force oracle of the contract's rule.

mod support_cov;

use geo::{Area as _, BooleanOps, Contains, Geodesic, GeodesicArea};
use geo::{Destination, Distance};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{LatLng, Resolution};
use support_cov::*;
use wangge::coverage::{
    coverage, propose, propose_oriented, CoverageError, CoverageInput, CoverageOptions, Goal,
    ProposeInput, ProposeOptions, Sector,
};
use wangge::model::{Area, Building, Camera, Candidate, Household, Site};
use wangge::{NoProgress, Progress};

// ---- the metric ----------------------------------------------------------------

#[test]
fn distance_and_bearing_agree_with_karney_geodesics() {
    let mut rng = Rng(7);
    let mut worst_d = 0.0f64;
    let mut worst_b = 0.0f64;
    let mut worst_d_short = 0.0f64;
    for _ in 0..20_000 {
        let lat = rng.range(-75.0, 75.0);
        let lon = rng.range(-179.0, 179.0);
        let d = rng.range(1.0, 3000.0);
        let brg = rng.range(0.0, 360.0);
        let c = Point::new(lon, lat);
        let p = Geodesic.destination(c, brg, d);
        let s = Sector::new(c.0, 0.0, 360.0, 5000.0);
        let e = (s.distance_m(p.0) - d).abs() / d;
        worst_d = worst_d.max(e);
        if d <= 500.0 {
            worst_d_short = worst_d_short.max(e);
        }
        let db = ((s.bearing_deg(p.0) - brg).rem_euclid(360.0) + 540.0) % 360.0 - 180.0;
        worst_b = worst_b.max(db.abs());
    }
    println!(
        "worst relative distance error {worst_d:e} (≤ 3 km), {worst_d_short:e} (≤ 500 m); worst bearing error {worst_b:e}°"
    );
    // Contract: 0.01 % (1e-4); the engine does far better (the error is second
    // order in distance / Earth radius).
    assert!(worst_d < 3e-7, "distance error {worst_d}");
    assert!(worst_d_short < 2e-8, "distance error {worst_d_short}");
    assert!(worst_b < 1e-5, "bearing error {worst_b}");
}

// ---- random cases against the oracle -------------------------------------------

struct Case {
    cameras: Vec<Camera>,
    households: Vec<Household>,
    buildings: Vec<Building>,
    sites: Vec<Site>,
    areas: Vec<Area>,
    origin: (f64, f64),
}

/// A square neighbourhood `size` metres wide at a random place, with every kind of
/// camera and every awkward placement the contract mentions.
fn random_case(seed: u64, size: f64, n_cam: usize, n_hh: usize, n_bld: usize) -> Case {
    let mut r = Rng(seed);
    let lat0 = r.range(-60.0, 65.0);
    let lon0 = r.range(-170.0, 170.0);
    let at = |r: &mut Rng| offset(lon0, lat0, r.range(0.0, size), r.range(0.0, size));
    let mut buildings = Vec::new();
    let mut centres = Vec::new();
    for i in 0..n_bld {
        let (x, y) = at(&mut r);
        let w = r.range(6.0, 45.0);
        let h = r.range(6.0, 30.0);
        let rot = if r.chance(0.3) {
            0.0
        } else {
            r.range(0.0, 90.0)
        };
        buildings.push(building(i, rect(x, y, w, h, rot)));
        centres.push((x, y));
    }
    let mut cameras = Vec::new();
    for i in 0..n_cam {
        let (x, y) = if !centres.is_empty() && r.chance(0.15) {
            // Inside a building.
            let (bx, by) = centres[r.below(centres.len())];
            offset(bx, by, r.range(-2.0, 2.0), r.range(-2.0, 2.0))
        } else {
            at(&mut r)
        };
        let kind = r.below(6);
        let (az, fov) = match kind {
            0 => (r.range(0.0, 360.0), 360.0),                 // dome
            1 => (r.range(0.0, 360.0), r.range(181.0, 350.0)), // wider than 180°
            2 => (
                [0.0, 359.9, 0.05, 358.0, 2.0][r.below(5)],
                r.range(10.0, 120.0),
            ), // wraparound
            3 => (r.range(0.0, 360.0), r.range(1.0, 20.0)),    // narrow
            4 => (r.range(0.0, 360.0), 180.0),
            _ => (r.range(0.0, 360.0), r.range(30.0, 110.0)), // bullet
        };
        let range = r.range(20.0, 0.6 * size);
        cameras.push(camera(i, x, y, az, fov, range, !r.chance(0.2)));
    }
    let mut households = Vec::new();
    for i in 0..n_hh {
        let (x, y) = if !centres.is_empty() && r.chance(0.2) {
            let (bx, by) = centres[r.below(centres.len())];
            offset(bx, by, r.range(-2.5, 2.5), r.range(-2.5, 2.5))
        } else if !cameras.is_empty() && r.chance(0.01) {
            // Exactly at a camera.
            let c = &cameras[r.below(cameras.len())];
            (c.location.x(), c.location.y())
        } else {
            at(&mut r)
        };
        households.push(household(i, x, y, 1 + r.below(4) as u32));
    }
    let kinds = ["entrance", "intersection", "school"];
    let sites = (0..n_hh / 10)
        .map(|i| {
            let (x, y) = at(&mut r);
            site(i, x, y, kinds[i % 3])
        })
        .collect();
    // Areas: a grid of 2×2 rotated-free squares plus one overlapping area with a hole.
    let mut areas = Vec::new();
    let half = size / 2.0;
    for (k, (i, j)) in [(0, 0), (0, 1), (1, 0), (1, 1)].iter().enumerate() {
        let (x0, y0) = offset(lon0, lat0, *i as f64 * half, *j as f64 * half);
        let (x1, y1) = offset(lon0, lat0, (*i + 1) as f64 * half, (*j + 1) as f64 * half);
        let p = Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        areas.push(area(&format!("A{k}"), MultiPolygon(vec![p])));
    }
    let (cx, cy) = offset(lon0, lat0, half, half);
    let outer = rect(cx, cy, size * 0.7, size * 0.5, 17.0);
    let hole = rect(cx, cy, size * 0.2, size * 0.2, 40.0);
    areas.push(area(
        "B",
        MultiPolygon(vec![Polygon::new(
            outer.exterior().clone(),
            vec![hole.exterior().clone()],
        )]),
    ));
    Case {
        cameras,
        households,
        buildings,
        sites,
        areas,
        origin: (lon0, lat0),
    }
}

fn input(case: &Case, with_buildings: bool) -> CoverageInput<'_> {
    CoverageInput {
        cameras: &case.cameras,
        households: &case.households,
        areas: &case.areas,
        buildings: if with_buildings { &case.buildings } else { &[] },
        sites: &case.sites,
    }
}

/// Checks every (point, camera) pair against the oracle; returns (pairs seen, ties).
fn check_points(
    what: &str,
    pts: &[Coord<f64>],
    cameras: &[Camera],
    buildings: &[Building],
    got: &wangge::coverage::SeenBy,
) -> (usize, usize) {
    let mut seen = 0;
    let mut ties = 0;
    for (i, p) in pts.iter().enumerate() {
        let list = got.cameras(i);
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "{what} {i}: camera list not ascending"
        );
        for (ci, cam) in cameras.iter().enumerate() {
            let engine = list.binary_search(&(ci as u32)).is_ok();
            match oracle(cam, *p, buildings) {
                Verdict::Tie => ties += 1,
                Verdict::Seen => {
                    seen += 1;
                    assert!(
                        engine,
                        "{what} {i} should be seen by camera {ci}: {cam:?} p={p:?}"
                    );
                }
                Verdict::NotSeen => {
                    assert!(
                        !engine,
                        "{what} {i} should not be seen by camera {ci}: {cam:?} p={p:?}"
                    );
                }
            }
        }
        assert_eq!(got.covered(i), !list.is_empty());
    }
    (seen, ties)
}

#[test]
fn random_cases_agree_with_the_oracle() {
    let mut total_seen = 0;
    let mut total_ties = 0;
    let mut total_pairs = 0;
    for seed in 0..24u64 {
        let case = random_case(1000 + seed, 400.0, 30, 300, 40);
        for with_b in [false, true] {
            let inp = input(&case, with_b);
            let opts = CoverageOptions {
                area_coverage: false,
                gaps: false,
                ..Default::default()
            };
            let res = coverage(&inp, &opts, &NoProgress).unwrap();
            let pts: Vec<Coord<f64>> = case.households.iter().map(|h| h.location.0).collect();
            let (s, t) = check_points(
                "household",
                &pts,
                &case.cameras,
                inp.buildings,
                &res.households,
            );
            let spts: Vec<Coord<f64>> = case.sites.iter().map(|h| h.location.0).collect();
            let (s2, t2) = check_points("site", &spts, &case.cameras, inp.buildings, &res.sites);
            total_seen += s + s2;
            total_ties += t + t2;
            total_pairs += (pts.len() + spts.len()) * case.cameras.len();
        }
    }
    println!("pairs {total_pairs}, seen {total_seen}, ties {total_ties}");
    assert!(total_seen > 10_000, "the cases should exercise visibility");
    assert!(total_ties * 10_000 < total_pairs, "ties must be rare");
}

#[test]
fn dense_occlusion_agrees_with_the_oracle() {
    // Many buildings, long sight lines: most pairs are decided by occlusion.
    for seed in 0..6u64 {
        let case = random_case(5000 + seed, 300.0, 20, 250, 150);
        let inp = input(&case, true);
        let opts = CoverageOptions {
            area_coverage: false,
            gaps: false,
            ..Default::default()
        };
        let res = coverage(&inp, &opts, &NoProgress).unwrap();
        let pts: Vec<Coord<f64>> = case.households.iter().map(|h| h.location.0).collect();
        check_points(
            "household",
            &pts,
            &case.cameras,
            &case.buildings,
            &res.households,
        );
    }
}

// ---- exact geometry cases ------------------------------------------------------

#[test]
fn occlusion_boundary_cases() {
    // An axis-aligned square building from (0,0) to (1,1) in units of 1e-4 degree.
    // Dyadic offsets: every coordinate is exact in binary, so collinear really is collinear.
    let u = 1.0 / 8192.0;
    let (lon0, lat0) = (118.0, 32.0);
    let pt = |x: f64, y: f64| Coord {
        x: lon0 + x * u,
        y: lat0 + y * u,
    };
    let sq = Polygon::new(
        LineString::from(vec![
            pt(0.0, 0.0),
            pt(1.0, 0.0),
            pt(1.0, 1.0),
            pt(0.0, 1.0),
            pt(0.0, 0.0),
        ]),
        vec![],
    );
    let buildings = vec![building(0, sq)];
    let dome = |c: Coord<f64>| camera(0, c.x, c.y, 0.0, 360.0, 500.0, true);
    let sees = |c: Coord<f64>, p: Coord<f64>| {
        let cams = vec![dome(c)];
        let hh = vec![household(0, p.x, p.y, 1)];
        let inp = CoverageInput {
            cameras: &cams,
            households: &hh,
            buildings: &buildings,
            ..Default::default()
        };
        let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
        let o = oracle(&cams[0], p, &buildings);
        assert_ne!(o, Verdict::Tie);
        assert_eq!(
            res.households.covered(0),
            o == Verdict::Seen,
            "engine vs oracle for {c:?}→{p:?}"
        );
        res.households.covered(0)
    };
    // Straight through the middle: blocked.
    assert!(!sees(pt(-1.0, 0.5), pt(2.0, 0.5)));
    // Corner to corner along the diagonal (through two vertices, interior between): blocked.
    assert!(!sees(pt(-1.0, -1.0), pt(2.0, 2.0)));
    // Along the bottom wall: touches the boundary only, not blocked.
    assert!(sees(pt(-1.0, 0.0), pt(2.0, 0.0)));
    // Grazing one corner: not blocked.
    assert!(sees(pt(-1.0, 1.0), pt(1.0, -1.0)));
    // Camera inside the building sees out through its own walls.
    assert!(sees(pt(0.5, 0.5), pt(3.0, 0.5)));
    // Household inside the building is seen through its walls.
    assert!(sees(pt(-2.0, 0.5), pt(0.5, 0.5)));
    // Household on the far wall, sight line through the building: blocked.
    assert!(!sees(pt(-1.0, 0.5), pt(1.0, 0.5)));
    // Household on the near wall, from outside: seen.
    assert!(sees(pt(-1.0, 0.5), pt(0.0, 0.5)));
    // Ending on a vertex from outside: seen.
    assert!(sees(pt(-1.0, -1.0), pt(0.0, 0.0)));
}

#[test]
fn sector_edges_wraparound_and_wide_fields_of_view() {
    let (lon0, lat0) = (118.3, 32.3);
    let c = Point::new(lon0, lat0);
    let at = |brg: f64, d: f64| Geodesic.destination(c, brg, d).0;
    let seen = |az: f64, fov: f64, p: Coord<f64>| {
        let s = Sector::new(c.0, az, fov, 100.0);
        s.contains(p)
    };
    // Wraparound: axis 350°, 40° wide covers 330°..10°.
    assert!(seen(350.0, 40.0, at(5.0, 50.0)));
    assert!(seen(350.0, 40.0, at(335.0, 50.0)));
    assert!(!seen(350.0, 40.0, at(15.0, 50.0)));
    assert!(!seen(350.0, 40.0, at(325.0, 50.0)));
    // Axis 0°, 20°: sees 355° and 5°, not 180°.
    assert!(seen(0.0, 20.0, at(355.0, 50.0)));
    assert!(seen(0.0, 20.0, at(5.0, 50.0)));
    assert!(!seen(0.0, 20.0, at(180.0, 50.0)));
    // 270° wide looking east sees everything but the west quadrant.
    assert!(seen(90.0, 270.0, at(0.0, 50.0)));
    assert!(seen(90.0, 270.0, at(200.0, 50.0)));
    assert!(!seen(90.0, 270.0, at(270.0, 50.0)));
    assert!(!seen(90.0, 270.0, at(300.0, 50.0)));
    // 360° sees all around; range is inclusive up to rounding, exclusive beyond.
    for b in [0.0, 90.0, 180.0, 270.0, 359.99] {
        assert!(seen(0.0, 360.0, at(b, 99.999)));
        assert!(!seen(0.0, 360.0, at(b, 100.001)));
    }
    // The camera's own position is seen.
    assert!(seen(10.0, 5.0, c.0));
}

// ---- areas, H3 coverage and gaps --------------------------------------------------

/// Square metres of a gap outside its area (planar, in a frame at the gap; a
/// sliver's winding would fool the geodesic area).
fn gap_outside_m2(g: &wangge::coverage::Gap, area: &MultiPolygon<f64>) -> f64 {
    let lat = g.geometry.exterior().0[0].y.to_radians();
    MultiPolygon(vec![g.geometry.clone()])
        .difference(area)
        .unsigned_area()
        * 111_320.0
        * 111_320.0
        * lat.cos()
}

#[test]
fn areas_and_gaps_agree_with_brute_force() {
    for seed in 0..4u64 {
        let case = random_case(9000 + seed, 500.0, 25, 400, 40);
        let inp = input(&case, true);
        let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
        assert_eq!(res.areas.len(), case.areas.len());
        for (ai, (a, st)) in case.areas.iter().zip(&res.areas).enumerate() {
            // Households, covered, cameras, sites by brute force.
            let mut hh = 0u64;
            let mut cov = 0u64;
            for (i, h) in case.households.iter().enumerate() {
                if a.geometry.contains(&h.location) {
                    hh += h.households as u64;
                    if res.households.covered(i) {
                        cov += h.households as u64;
                    }
                }
            }
            assert_eq!(st.households, hh, "area {ai}");
            assert_eq!(st.covered_households, cov, "area {ai}");
            let cams: Vec<&Camera> = case
                .cameras
                .iter()
                .filter(|c| a.geometry.contains(&c.location))
                .collect();
            assert_eq!(st.cameras as usize, cams.len());
            assert_eq!(
                st.cameras_online as usize,
                cams.iter().filter(|c| c.online).count()
            );
            let sites: Vec<usize> = (0..case.sites.len())
                .filter(|&i| a.geometry.contains(&case.sites[i].location))
                .collect();
            assert_eq!(st.sites as usize, sites.len());
            assert_eq!(
                st.sites_covered as usize,
                sites.iter().filter(|&&i| res.sites.covered(i)).count()
            );
            let by_kind: u32 = st.sites_by_kind.values().map(|k| k.sites).sum();
            assert_eq!(by_kind, st.sites);

            // H3 cells: centre inside, covered when the oracle says any camera sees it.
            let mut tiler = TilerBuilder::new(Resolution::Twelve)
                .containment_mode(ContainmentMode::ContainsCentroid)
                .build();
            tiler.add_batch(a.geometry.0.clone()).unwrap();
            let mut cells: Vec<_> = tiler.into_coverage().collect();
            cells.sort();
            cells.dedup();
            let mut blind = Vec::new();
            let mut covered_cells = 0u64;
            let mut ties = 0;
            for &cell in &cells {
                let ll = LatLng::from(cell);
                let p = Coord {
                    x: ll.lng(),
                    y: ll.lat(),
                };
                let vs: Vec<Verdict> = case
                    .cameras
                    .iter()
                    .map(|c| oracle(c, p, &case.buildings))
                    .collect();
                if vs.contains(&Verdict::Seen) {
                    covered_cells += 1;
                } else if vs.contains(&Verdict::Tie) {
                    ties += 1;
                } else {
                    blind.push(cell);
                }
            }
            assert_eq!(st.cells, cells.len() as u64);
            assert!(
                st.cells_covered >= covered_cells && st.cells_covered <= covered_cells + ties,
                "area {ai}: cells covered {} vs oracle {covered_cells} (+{ties} ties)",
                st.cells_covered
            );
            // Gaps of this area: their cells add up to the blind cells, each gap
            // holds the centres of its cells, each lies within the area, and the
            // households match: an uncovered household is in a gap exactly when
            // the centre of its own cell (inside the area or not) is blind.
            let gaps: Vec<_> = res.gaps.iter().filter(|g| g.area == ai).collect();
            assert_eq!(st.gaps as usize, gaps.len());
            let gap_cells: u64 = gaps.iter().map(|g| g.cells as u64).sum();
            assert_eq!(gap_cells, st.cells - st.cells_covered, "area {ai}");
            for g in &gaps {
                let outside = gap_outside_m2(g, &a.geometry);
                assert!(
                    outside <= 1e-6 * g.area_m2 + 1e-3,
                    "area {ai}: {outside} m² of a gap outside"
                );
            }
            if ties == 0 {
                for cell in &blind {
                    let ll = LatLng::from(*cell);
                    let p = Point::new(ll.lng(), ll.lat());
                    assert_eq!(gaps.iter().filter(|g| g.geometry.contains(&p)).count(), 1);
                }
                let mut in_gaps = 0u64;
                let mut hh_ties = 0;
                for (i, h) in case.households.iter().enumerate() {
                    if a.geometry.contains(&h.location) && !res.households.covered(i) {
                        let ll = LatLng::from(
                            LatLng::new(h.location.y(), h.location.x())
                                .unwrap()
                                .to_cell(Resolution::Twelve),
                        );
                        let p = Coord {
                            x: ll.lng(),
                            y: ll.lat(),
                        };
                        let vs: Vec<Verdict> = case
                            .cameras
                            .iter()
                            .map(|c| oracle(c, p, &case.buildings))
                            .collect();
                        if vs.contains(&Verdict::Tie) && !vs.contains(&Verdict::Seen) {
                            hh_ties += 1;
                        } else if !vs.contains(&Verdict::Seen) {
                            in_gaps += h.households as u64;
                        }
                    }
                }
                if hh_ties == 0 {
                    assert_eq!(
                        gaps.iter().map(|g| g.households_uncovered).sum::<u64>(),
                        in_gaps,
                        "area {ai}"
                    );
                }
            }
            for g in &gaps {
                let geod = g.geometry.geodesic_area_unsigned();
                assert!(
                    (g.area_m2 - geod).abs() <= 1e-3 * geod + 1.0,
                    "gap area {} vs {geod}",
                    g.area_m2
                );
            }
        }
        // Largest first.
        assert!(res.gaps.windows(2).all(|w| w[0].area_m2 >= w[1].area_m2));
        let s = &res.summary;
        assert_eq!(s.gaps, res.gaps.len());
        assert_eq!(
            s.households,
            case.households
                .iter()
                .map(|h| h.households as u64)
                .sum::<u64>()
        );
    }
}

// ---- determinism, errors, progress -------------------------------------------------

#[test]
fn results_do_not_depend_on_thread_count() {
    let case = random_case(77, 500.0, 40, 2000, 80);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            coverage(
                &input(&case, true),
                &CoverageOptions::default(),
                &NoProgress,
            )
            .unwrap()
        })
    };
    let a = run(1);
    let b = run(3);
    assert_eq!(a.households, b.households);
    assert_eq!(a.sites, b.sites);
    assert_eq!(a.areas, b.areas);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.gaps.len(), b.gaps.len());
    for (x, y) in a.gaps.iter().zip(&b.gaps) {
        assert_eq!(x.geometry, y.geometry);
        assert_eq!(x.households_uncovered, y.households_uncovered);
    }
}

struct Cancel;
impl Progress for Cancel {
    fn report(&self, _: &str, _: f64) {}
    fn cancelled(&self) -> bool {
        true
    }
}

#[test]
fn errors_and_cancellation() {
    let case = random_case(3, 200.0, 5, 50, 5);
    let mut cams = case.cameras.clone();
    cams[2].fov_deg = 0.0;
    let inp = CoverageInput {
        cameras: &cams,
        ..input(&case, true)
    };
    assert!(matches!(
        coverage(&inp, &CoverageOptions::default(), &NoProgress),
        Err(CoverageError::InvalidCamera { index: 2, .. })
    ));
    cams[2].fov_deg = 90.0;
    cams[3].range_m = f64::NAN;
    let inp = CoverageInput {
        cameras: &cams,
        ..input(&case, true)
    };
    assert!(matches!(
        coverage(&inp, &CoverageOptions::default(), &NoProgress),
        Err(CoverageError::InvalidCamera { index: 3, .. })
    ));
    assert_eq!(
        coverage(&input(&case, true), &CoverageOptions::default(), &Cancel).unwrap_err(),
        CoverageError::Cancelled
    );
    // Empty input is fine.
    let r = coverage(
        &CoverageInput::default(),
        &CoverageOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.summary.households, 0);
    assert_eq!(r.summary.household_coverage, None);
}

// ---- proposals ----------------------------------------------------------------

/// Oracle incidence: for each candidate, the demand points (uncovered households)
/// a camera of the model there would see, by the brute-force rule.
fn oracle_incidence(
    cands: &[Candidate],
    hh: &[Household],
    covered: &[bool],
    buildings: &[Building],
    model: &ProposeOptions,
    n: usize,
) -> Vec<Vec<usize>> {
    // Options: each candidate with each of the model's `n` view axes.
    (0..cands.len() * n)
        .map(|o| {
            let c = &cands[o / n];
            let az = (model.azimuth_deg + (o % n) as f64 * 360.0 / n as f64).rem_euclid(360.0);
            let cam = camera(
                0,
                c.location.x(),
                c.location.y(),
                az,
                model.fov_deg,
                model.range_m,
                true,
            );
            (0..hh.len())
                .filter(|&i| {
                    !covered[i] && oracle(&cam, hh[i].location.0, buildings) == Verdict::Seen
                })
                .collect()
        })
        .collect()
}

fn weight(set: &[usize], hh: &[Household]) -> u64 {
    set.iter().map(|&i| hh[i].households as u64).sum()
}

fn union_weight(inc: &[Vec<usize>], picks: &[usize], hh: &[Household]) -> u64 {
    let mut all: Vec<usize> = picks.iter().flat_map(|&c| inc[c].iter().copied()).collect();
    all.sort();
    all.dedup();
    weight(&all, hh)
}

fn naive_greedy(inc: &[Vec<usize>], hh: &[Household], k: usize) -> Vec<usize> {
    let mut picks = Vec::new();
    for _ in 0..k {
        let base = union_weight(inc, &picks, hh);
        let mut best: Option<(u64, usize)> = None;
        for c in 0..inc.len() {
            let mut p = picks.clone();
            p.push(c);
            let g = union_weight(inc, &p, hh) - base;
            if g > 0 && best.map_or(true, |(bg, _)| g > bg) {
                best = Some((g, c));
            }
        }
        match best {
            Some((_, c)) => picks.push(c),
            None => break,
        }
    }
    picks
}

fn best_subset(inc: &[Vec<usize>], hh: &[Household], k: usize) -> u64 {
    // Every combination of k options, recursively.
    fn go(
        inc: &[Vec<usize>],
        hh: &[Household],
        k: usize,
        from: usize,
        picks: &mut Vec<usize>,
        best: &mut u64,
    ) {
        if picks.len() == k || from == inc.len() {
            *best = (*best).max(union_weight(inc, picks, hh));
            return;
        }
        for c in from..inc.len() {
            picks.push(c);
            go(inc, hh, k, c + 1, picks, best);
            picks.pop();
        }
    }
    let mut best = 0;
    go(inc, hh, k, 0, &mut Vec::new(), &mut best);
    best
}

#[test]
fn greedy_equals_plain_greedy_and_nears_the_exhaustive_optimum() {
    let mut worst_ratio = 1.0f64;
    for seed in 0..30u64 {
        let mut r = Rng(40 + seed);
        let case = random_case(200 + seed, 200.0, 4, 80, 12);
        let cands: Vec<Candidate> = (0..10)
            .map(|i| {
                let (x, y) = offset(
                    case.origin.0,
                    case.origin.1,
                    r.range(0.0, 200.0),
                    r.range(0.0, 200.0),
                );
                candidate(i, x, y)
            })
            .collect();
        let fov = [360.0, 120.0, 250.0][seed as usize % 3];
        for k in 1..=4 {
            let opts = ProposeOptions {
                range_m: 70.0,
                fov_deg: fov,
                azimuth_deg: 355.0,
                goal: Goal::Count(k),
                site_weight: 0,
            };
            // Fixed axis for the 120° camera, three axes for the 250° one.
            let orientations: usize = if fov == 250.0 { 3 } else { 1 };
            let n_orient = if fov >= 360.0 { 1 } else { orientations };
            let inp = ProposeInput {
                cameras: &case.cameras,
                households: &case.households,
                candidates: &cands,
                buildings: &case.buildings,
                sites: &[],
            };
            let res = propose_oriented(&inp, &opts, orientations as u32, &NoProgress).unwrap();
            // Existing coverage by the oracle.
            let covered: Vec<bool> = case
                .households
                .iter()
                .map(|h| {
                    case.cameras
                        .iter()
                        .any(|c| oracle(c, h.location.0, &case.buildings) == Verdict::Seen)
                })
                .collect();
            let before: u64 = case
                .households
                .iter()
                .zip(&covered)
                .filter(|(_, &c)| c)
                .map(|(h, _)| h.households as u64)
                .sum();
            assert_eq!(res.covered_before, before);
            let inc = oracle_incidence(
                &cands,
                &case.households,
                &covered,
                &case.buildings,
                &opts,
                n_orient,
            );
            let plain = naive_greedy(&inc, &case.households, k);
            let got: Vec<usize> = res
                .picks
                .iter()
                .map(|p| {
                    let k = ((p.azimuth_deg - 355.0).rem_euclid(360.0) / (360.0 / n_orient as f64))
                        .round() as usize
                        % n_orient;
                    p.candidate * n_orient + k
                })
                .collect();
            assert_eq!(got, plain, "seed {seed} k {k}");
            let g = union_weight(&inc, &got, &case.households);
            assert_eq!(res.covered_after, before + g);
            // Gains and cumulative figures add up.
            let mut run = before;
            for (i, p) in res.picks.iter().enumerate() {
                assert_eq!(p.rank, i + 1);
                run += p.households_gained;
                assert_eq!(p.cumulative_covered, run);
                assert!((p.cumulative_coverage - run as f64 / res.households as f64).abs() < 1e-12);
            }
            let opt = best_subset(&inc, &case.households, k);
            assert!(g as f64 >= (1.0 - 1.0 / std::f64::consts::E) * opt as f64);
            if opt > 0 {
                worst_ratio = worst_ratio.min(g as f64 / opt as f64);
            }
        }
    }
    println!("worst greedy/optimum on the small cases: {worst_ratio:.4}");
}

#[test]
fn target_coverage_picks_the_shortest_greedy_prefix() {
    let case = random_case(4242, 400.0, 10, 600, 30);
    let mut r = Rng(9);
    let cands: Vec<Candidate> = (0..300)
        .map(|i| {
            let (x, y) = offset(
                case.origin.0,
                case.origin.1,
                r.range(0.0, 400.0),
                r.range(0.0, 400.0),
            );
            candidate(i, x, y)
        })
        .collect();
    let inp = ProposeInput {
        cameras: &case.cameras,
        households: &case.households,
        candidates: &cands,
        buildings: &case.buildings,
        sites: &case.sites,
    };
    let all = propose(
        &inp,
        &ProposeOptions {
            range_m: 50.0,
            goal: Goal::Count(cands.len()),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    let max_cov = all.covered_after as f64 / all.households as f64;
    assert_eq!(all.covered_after, all.covered_before + all.coverable);
    for target in [0.5, 0.8, 0.9, max_cov] {
        let res = propose(
            &inp,
            &ProposeOptions {
                range_m: 50.0,
                goal: Goal::TargetCoverage(target),
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
        let n = res.picks.len();
        assert_eq!(res.picks[..], all.picks[..n]);
        if res.covered_before as f64 >= target * res.households as f64 {
            assert_eq!(n, 0);
        } else {
            assert!(res.picks[n - 1].cumulative_coverage >= target - 1e-12);
            if n > 1 {
                assert!(res.picks[n - 2].cumulative_coverage < target);
            }
        }
        assert_eq!(res.target_reached, Some(true));
    }
    let res = propose(
        &inp,
        &ProposeOptions {
            range_m: 50.0,
            goal: Goal::TargetCoverage(1.0),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    if max_cov < 1.0 {
        assert_eq!(res.target_reached, Some(false));
        assert_eq!(res.picks.len(), all.picks.len());
    }
    // Key sites weigh in when asked.
    let w = propose(
        &inp,
        &ProposeOptions {
            range_m: 50.0,
            goal: Goal::Count(5),
            site_weight: 1000,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(w.picks.iter().all(|p| p.sites_gained > 0) || w.picks.is_empty());
}

// ---- real data -------------------------------------------------------------------

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real");

/// Real data is vendored in tests/data/real; a missing file is a broken
/// checkout, not a reason to pass: fails naming every missing file.
fn require(paths: &[&str]) {
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "vendored test data missing (restore tests/data with git): {}",
        missing.join(", ")
    );
}

/// Trafford council CCTV (no directions: domes, range 100 m, documented in the
/// README) against the 2021 census output areas: each OA's households at its
/// interior point; areas are the 2023 wards and the OAs themselves.
#[test]
fn trafford_cctv_and_census_output_areas() {
    use geo::InteriorPoint;
    let cams_p = format!("{REAL}/trafford-uk/trafford_cctv_cameras_2026-06.geojson");
    let oa_p =
        format!("{REAL}/trafford-uk/trafford_oa2021_households_population_census2021.geojson");
    let wards_p = format!("{REAL}/trafford-uk/trafford_wards2023.geojson");
    require(&[&cams_p, &oa_p, &wards_p]);
    let cameras: Vec<Camera> = read_points(&cams_p)
        .into_iter()
        .enumerate()
        .map(|(i, (p, _))| camera(i, p.x(), p.y(), 0.0, 360.0, 100.0, true))
        .collect();
    let oas = read_polygons(&oa_p);
    let households: Vec<Household> = oas
        .iter()
        .enumerate()
        .map(|(i, (mp, f))| {
            let ip = mp.interior_point().unwrap();
            let n = f.properties.as_ref().unwrap()["households_2021"]
                .as_u64()
                .unwrap() as u32;
            household(i, ip.x(), ip.y(), n)
        })
        .collect();
    let mut areas = read_areas(&wards_p, "area_code");
    let n_wards = areas.len();
    areas.extend(oas.iter().map(|(mp, f)| {
        area(
            f.properties.as_ref().unwrap()["area_code"]
                .as_str()
                .unwrap(),
            mp.clone(),
        )
    }));
    let inp = CoverageInput {
        cameras: &cameras,
        households: &households,
        areas: &areas,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
    let s = &res.summary;
    println!(
        "trafford: {} cameras, {} OAs ({} households), covered {} ({:.2} %), ward+OA area coverage {:.3} %, {} gaps, {:?}",
        s.cameras,
        s.household_locations,
        s.households,
        s.covered_households,
        100.0 * s.household_coverage.unwrap(),
        100.0 * s.area_coverage.unwrap(),
        s.gaps,
        t.elapsed()
    );
    assert_eq!(s.households, 96_225);
    // Every camera falls inside an OA (SOURCES.md): the OA camera counts add up.
    let oa_cams: u32 = res.areas[n_wards..].iter().map(|a| a.cameras).sum();
    assert_eq!(oa_cams, 163);
    // Gaps are clipped to their area (wards and OAs from the real boundaries).
    for g in &res.gaps {
        let outside = gap_outside_m2(g, &areas[g.area].geometry);
        assert!(outside <= 1e-6 * g.area_m2 + 1e-3, "{outside} m² outside");
    }
    // Oracle on every OA point × camera.
    let pts: Vec<Coord<f64>> = households.iter().map(|h| h.location.0).collect();
    check_points("OA", &pts, &cameras, &[], &res.households);
    // Ward households add up to the total (wards tile Trafford).
    let ward_hh: u64 = res.areas[..n_wards].iter().map(|a| a.households).sum();
    assert_eq!(ward_hh, s.households);
}

/// Helsinki OSM surveillance cameras (no directions: domes, 50 m) with OSM
/// buildings as occluders and their interior points as household proxies.
#[test]
fn helsinki_osm_cameras_with_building_occlusion() {
    use geo::InteriorPoint;
    let cams_p = format!("{REAL}/helsinki-osm/helsinki_surveillance_cameras.geojson");
    let b_p = format!("{REAL}/helsinki-osm/helsinki_buildings.geojson");
    require(&[&cams_p, &b_p]);
    let cameras: Vec<Camera> = read_points(&cams_p)
        .into_iter()
        .enumerate()
        .map(|(i, (p, _))| camera(i, p.x(), p.y(), 0.0, 360.0, 50.0, true))
        .collect();
    let buildings = read_buildings(&b_p);
    let households: Vec<Household> = buildings
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let ip = b.geometry.interior_point().unwrap();
            household(i, ip.x(), ip.y(), 1)
        })
        .collect();
    let with = coverage(
        &CoverageInput {
            cameras: &cameras,
            households: &households,
            buildings: &buildings,
            ..Default::default()
        },
        &CoverageOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let without = coverage(
        &CoverageInput {
            cameras: &cameras,
            households: &households,
            ..Default::default()
        },
        &CoverageOptions::default(),
        &NoProgress,
    )
    .unwrap();
    println!(
        "helsinki: {} cameras, {} buildings; seen without occlusion {} (pairs {}), with {} (pairs {})",
        cameras.len(),
        buildings.len(),
        without.summary.covered_households,
        without.summary.household_camera_pairs,
        with.summary.covered_households,
        with.summary.household_camera_pairs
    );
    assert!(with.summary.household_camera_pairs < without.summary.household_camera_pairs);
    let pts: Vec<Coord<f64>> = households.iter().map(|h| h.location.0).collect();
    check_points("building", &pts, &cameras, &buildings, &with.households);
    check_points("building", &pts, &cameras, &[], &without.households);
    let _ = Geodesic.distance(Point::new(0.0, 0.0), Point::new(0.0, 0.0));
}

/// Generated villages (the coverage bench's layout model: houses beside the
/// roads, cameras at entrances, intersections and along roads, 8 % offline)
/// against the oracle on every other household × every camera, with the houses
/// as occluders.
#[test]
fn generated_villages_agree_with_the_oracle() {
    let v = support_cov::villages::villages(42, 5_000, 500);
    let (cameras, households, buildings) = (&v.cameras, &v.households, &v.buildings);
    assert_eq!(
        (households.len(), buildings.len(), cameras.len()),
        (5_000, 5_000, 500)
    );
    assert!(v.villages >= 10, "{} villages", v.villages);
    let inp = CoverageInput {
        cameras,
        households,
        buildings,
        ..Default::default()
    };
    let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
    // Oracle with a box prefilter (the oracle itself is unchanged): buildings
    // matter only for pairs within range.
    use geo::BoundingRect;
    let boxes: Vec<geo_types::Rect<f64>> = buildings
        .iter()
        .map(|b| b.geometry.bounding_rect().unwrap())
        .collect();
    let (mut checked, mut seen, mut occluded) = (0, 0, 0);
    for i in (0..households.len()).step_by(2) {
        let p = households[i].location.0;
        for (ci, cam) in cameras.iter().enumerate() {
            checked += 1;
            let c = cam.location.0;
            if Geodesic.distance(cam.location, Point::from(p)) > cam.range_m * 1.001 {
                assert!(
                    !res.households.cameras(i).contains(&(ci as u32)),
                    "household {i} camera {ci}: seen out of range"
                );
                continue;
            }
            let near: Vec<Building> = buildings
                .iter()
                .zip(&boxes)
                .filter(|(_, r)| {
                    !(r.max().x < c.x.min(p.x)
                        || r.min().x > c.x.max(p.x)
                        || r.max().y < c.y.min(p.y)
                        || r.min().y > c.y.max(p.y))
                })
                .map(|(b, _)| b.clone())
                .collect();
            let engine = res.households.cameras(i).contains(&(ci as u32));
            match oracle(cam, p, &near) {
                Verdict::Seen => {
                    assert!(engine, "household {i} camera {ci}: oracle sees it");
                    seen += 1;
                }
                Verdict::NotSeen => {
                    assert!(!engine, "household {i} camera {ci}: oracle does not");
                    if oracle(cam, p, &[]) == Verdict::Seen {
                        occluded += 1;
                    }
                }
                Verdict::Tie => {}
            }
        }
    }
    println!(
        "generated villages: {} villages, {checked} pairs checked, {seen} seen, {occluded} blocked by a house, coverage {:?}",
        v.villages, res.summary.household_coverage
    );
    // The layout exercises both rules: sight lines that reach and ones a house blocks.
    assert!(
        seen > 500 && occluded > 100,
        "{seen} seen, {occluded} occluded"
    );
}

/// A large area with few cameras: most of it is decided by whole blocks of
/// coarse cells (pruned without testing their fine cells). The counts must still
/// be exactly the fine cells whose centre is inside, and the covered ones exactly
/// those the oracle sees.
#[test]
fn sparse_cameras_over_a_large_area_match_cell_by_cell() {
    for seed in 0..8u64 {
        let mut r = Rng(600 + seed);
        let (lon0, lat0) = (r.range(-120.0, 120.0), r.range(-65.0, 70.0));
        let size = 2500.0;
        let cameras: Vec<Camera> = (0..12)
            .map(|i| {
                let (x, y) = offset(lon0, lat0, r.range(0.0, size), r.range(0.0, size));
                let fov = [360.0, 60.0, 200.0, 10.0][i % 4];
                camera(
                    i,
                    x,
                    y,
                    r.range(0.0, 360.0),
                    fov,
                    r.range(50.0, 900.0),
                    i % 5 != 4,
                )
            })
            .collect();
        let buildings: Vec<Building> = (0..30)
            .map(|i| {
                let c = &cameras[i % cameras.len()].location;
                let (x, y) = offset(c.x(), c.y(), r.range(-150.0, 150.0), r.range(-150.0, 150.0));
                building(
                    i,
                    rect(
                        x,
                        y,
                        r.range(10.0, 60.0),
                        r.range(10.0, 40.0),
                        r.range(0.0, 90.0),
                    ),
                )
            })
            .collect();
        // An irregular area with a hole.
        let (cx, cy) = offset(lon0, lat0, size / 2.0, size / 2.0);
        let ring: Vec<(f64, f64)> = (0..=40)
            .map(|k| {
                let a = k as f64 / 40.0 * std::f64::consts::TAU;
                let rr = size * 0.45 * (1.0 + 0.15 * (3.0 * a).sin());
                offset(cx, cy, rr * a.cos(), rr * a.sin())
            })
            .collect();
        let hole = rect(cx, cy, 300.0, 200.0, 30.0);
        let areas = vec![area(
            "big",
            MultiPolygon(vec![Polygon::new(
                LineString::from(ring),
                vec![hole.exterior().clone()],
            )]),
        )];
        let inp = CoverageInput {
            cameras: &cameras,
            areas: &areas,
            buildings: &buildings,
            ..Default::default()
        };
        let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
        let st = &res.areas[0];
        let mut tiler = TilerBuilder::new(Resolution::Twelve)
            .containment_mode(ContainmentMode::ContainsCentroid)
            .build();
        tiler.add_batch(areas[0].geometry.0.clone()).unwrap();
        let mut cells: Vec<_> = tiler.into_coverage().collect();
        cells.sort();
        cells.dedup();
        let (mut seen, mut ties) = (0u64, 0u64);
        for &cell in &cells {
            let ll = LatLng::from(cell);
            let p = Coord {
                x: ll.lng(),
                y: ll.lat(),
            };
            let vs: Vec<Verdict> = cameras.iter().map(|c| oracle(c, p, &buildings)).collect();
            if vs.contains(&Verdict::Seen) {
                seen += 1;
            } else if vs.contains(&Verdict::Tie) {
                ties += 1;
            }
        }
        println!(
            "seed {seed}: {} cells, {} seen (oracle {seen} + {ties} ties), {} gaps",
            st.cells, st.cells_covered, st.gaps
        );
        assert_eq!(st.cells, cells.len() as u64);
        assert!(st.cells_covered >= seen && st.cells_covered <= seen + ties);
        let gap_cells: u64 = res.gaps.iter().map(|g| g.cells as u64).sum();
        assert_eq!(gap_cells, st.cells - st.cells_covered);
        for g in &res.gaps {
            let outside = gap_outside_m2(g, &areas[0].geometry);
            assert!(outside <= 1e-6 * g.area_m2 + 1e-3, "{outside} m² outside");
        }
        let gap_area: f64 = res.gaps.iter().map(|g| g.area_m2).sum();
        // The area's ground (|exterior| − |holes|, whatever their winding).
        let ring_m2 = |r: &LineString<f64>| {
            Polygon::new(r.clone(), vec![])
                .geodesic_area_unsigned()
                .min(
                    510_065_621_724_088.4
                        - Polygon::new(r.clone(), vec![]).geodesic_area_unsigned(),
                )
        };
        let area_m2: f64 = areas[0]
            .geometry
            .0
            .iter()
            .map(|p| ring_m2(p.exterior()) - p.interiors().iter().map(ring_m2).sum::<f64>())
            .sum();
        assert!(
            gap_area <= area_m2 * 1.001,
            "gaps {gap_area} m², area {area_m2} m²"
        );
        let geod: f64 = res
            .gaps
            .iter()
            .map(|g| g.geometry.geodesic_area_unsigned())
            .sum();
        assert!((gap_area - geod).abs() < 1e-3 * geod);
    }
}

// ---- fine cell centres predicted from the parent ---------------------------------

/// Every fine centre the walk predicts (from its parent's exact centre and the
/// root's measured offsets) is within the stated tolerance of h3o's, on random
/// roots from pole to pole, including roots across icosahedron face edges.
#[test]
fn predicted_cell_centres_are_within_the_tolerance() {
    use wangge::coverage::{ChildOffsets, CENTRE_TOLERANCE_M};
    let mut r = Rng(4242);
    let (mut trusted, mut worst) = (0usize, 0.0f64);
    let mut roots: Vec<h3o::CellIndex> = (0..3000)
        .filter_map(|_| {
            LatLng::new(r.range(-85.0, 85.0), r.range(-180.0, 180.0))
                .ok()
                .map(|ll| ll.to_cell(Resolution::Nine))
        })
        .collect();
    // Roots around every pentagon (where faces meet and the axes turn).
    for p in h3o::CellIndex::base_cells().filter(|c| c.is_pentagon()) {
        let c = p.center_child(Resolution::Nine).unwrap();
        roots.extend(c.grid_disk::<Vec<_>>(3));
    }
    for root in roots {
        let Some(o) = ChildOffsets::of_root(root, Resolution::Twelve) else {
            continue;
        };
        trusted += 1;
        for parent in root.children(Resolution::Eleven) {
            let pc = LatLng::from(parent);
            let (kx, ky) = m_per_deg(pc.lat());
            for child in parent.children(Resolution::Twelve) {
                let d = u8::from(child.direction_at(Resolution::Twelve).unwrap()) as usize;
                let p = o.predict(
                    Coord {
                        x: pc.lng(),
                        y: pc.lat(),
                    },
                    d,
                );
                let e = LatLng::from(child);
                let err = ((p.x - e.lng()) * kx).hypot((p.y - e.lat()) * ky);
                worst = worst.max(err);
                assert!(err <= CENTRE_TOLERANCE_M, "{child}: {err} m");
            }
        }
    }
    println!("{trusted} roots trusted, worst prediction error {worst:.2e} m");
    assert!(trusted > 2900);
}

/// Area coverage decided on predicted centres equals the count on h3o's exact
/// centres, also for cameras whose range circle or field-of-view edge passes
/// exactly through cell centres (where the walk must fall back to h3o).
#[test]
fn area_cells_on_sector_edges_match_exact_centres() {
    for seed in 0..6u64 {
        let mut r = Rng(77 + seed);
        let (lon0, lat0) = (r.range(-150.0, 150.0), r.range(-60.0, 65.0));
        let size = 600.0;
        let areas = vec![area(
            "a",
            MultiPolygon(vec![rect(lon0, lat0, size, size * 0.8, r.range(0.0, 90.0))]),
        )];
        let mut tiler = TilerBuilder::new(Resolution::Twelve)
            .containment_mode(ContainmentMode::ContainsCentroid)
            .build();
        tiler.add_batch(areas[0].geometry.0.clone()).unwrap();
        let mut cells: Vec<_> = tiler.into_coverage().collect();
        cells.sort();
        cells.dedup();
        let centre = |c: h3o::CellIndex| {
            let ll = LatLng::from(c);
            Coord {
                x: ll.lng(),
                y: ll.lat(),
            }
        };
        // Each camera stands on a cell centre; its range reaches exactly another
        // centre and one edge of its field of view runs exactly through a third.
        // Every third camera takes both from the two rings around it, so short
        // ranges (19–38 m) are covered too.
        let cameras: Vec<Camera> = (0..24)
            .map(|i| {
                let home = cells[r.below(cells.len())];
                let at = centre(home);
                let probe = Sector::new(at, 0.0, 360.0, 1.0);
                let near: Vec<h3o::CellIndex> = home
                    .grid_disk::<Vec<_>>(2)
                    .into_iter()
                    .filter(|&c| c != home)
                    .collect();
                let mut pick = || {
                    if i % 3 == 0 {
                        centre(near[r.below(near.len())])
                    } else {
                        centre(cells[r.below(cells.len())])
                    }
                };
                let (reach, edge) = (pick(), pick());
                let fov = [360.0, 90.0, 200.0, 30.0][i % 4];
                let range = probe
                    .distance_m(reach)
                    .max(probe.distance_m(edge))
                    .max(if i % 3 == 0 { 10.0 } else { 20.0 });
                let az = probe.bearing_deg(edge) + if i % 2 == 0 { fov / 2.0 } else { -fov / 2.0 };
                camera(i, at.x, at.y, az.rem_euclid(360.0), fov, range, true)
            })
            .collect();
        let sectors: Vec<Sector> = cameras.iter().map(Sector::of_camera).collect();
        let exact = cells
            .iter()
            .filter(|&&c| sectors.iter().any(|s| s.contains(centre(c))))
            .count() as u64;
        let inp = CoverageInput {
            cameras: &cameras,
            areas: &areas,
            ..Default::default()
        };
        let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
        assert_eq!(res.areas[0].cells, cells.len() as u64, "seed {seed}");
        assert_eq!(res.areas[0].cells_covered, exact, "seed {seed}");

        // With buildings, some of them centred on cell centres or with a corner
        // on one, against the oracle.
        let buildings: Vec<Building> = (0..60)
            .map(|i| {
                let c = centre(cells[r.below(cells.len())]);
                let (w, h) = (r.range(4.0, 30.0), r.range(4.0, 20.0));
                let (x, y) = if i % 2 == 0 {
                    (c.x, c.y)
                } else {
                    offset(c.x, c.y, w / 2.0, h / 2.0)
                };
                building(i, rect(x, y, w, h, 0.0))
            })
            .collect();
        let inp = CoverageInput {
            buildings: &buildings,
            ..inp
        };
        let res = coverage(&inp, &CoverageOptions::default(), &NoProgress).unwrap();
        let (mut seen, mut ties) = (0u64, 0u64);
        for &cell in &cells {
            let vs: Vec<Verdict> = cameras
                .iter()
                .map(|c| oracle(c, centre(cell), &buildings))
                .collect();
            if vs.contains(&Verdict::Seen) {
                seen += 1;
            } else if vs.contains(&Verdict::Tie) {
                ties += 1;
            }
        }
        let got = res.areas[0].cells_covered;
        assert!(
            got >= seen && got <= seen + ties,
            "seed {seed}: {got} vs oracle {seen} + {ties} ties"
        );
    }
}
