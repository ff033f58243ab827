//! Shared helpers for integration tests and benches: seeded generators of
//! areas, households and barriers, GeoJSON loading, and an independent oracle
//! that checks a partition from the raw inputs.
#![allow(dead_code)]

pub mod contract;
pub mod dense;
pub mod reasons;
pub mod wuhan;

use geo::{Area as _, BooleanOps, BoundingRect, Contains, Distance, Intersects};
use geo_types::{coord, LineString, MultiLineString, MultiPolygon, Point, Polygon, Rect};
use wangge::model::{Area, AreaKind, Barrier, Grid, Household, Rules};
use wangge::partition::Partition;

/// Small deterministic RNG (xorshift64*), so tests need no extra crates.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    pub fn normal(&mut self) -> f64 {
        let u = self.f().max(1e-300);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Metres to degrees near latitude 32.3° (Chuzhou).
pub const M_LAT: f64 = 1.0 / 110_900.0;
pub fn m_lon(lat: f64) -> f64 {
    1.0 / (111_320.0 * lat.to_radians().cos())
}

pub fn rect_poly(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString(vec![
            coord! {x: x0, y: y0},
            coord! {x: x1, y: y0},
            coord! {x: x1, y: y1},
            coord! {x: x0, y: y1},
            coord! {x: x0, y: y0},
        ]),
        vec![],
    )
}

/// A rectangle of w × h metres with its south-west corner at (lon, lat).
pub fn rect_m(lon: f64, lat: f64, w: f64, h: f64) -> Polygon<f64> {
    rect_poly(lon, lat, lon + w * m_lon(lat), lat + h * M_LAT)
}

pub fn area(code: &str, kind: AreaKind, geometry: MultiPolygon<f64>) -> Area {
    Area {
        code: code.into(),
        name: None,
        kind,
        geometry,
        properties: None,
    }
}

pub fn hh(x: f64, y: f64, n: u32, persons: Option<u32>) -> Household {
    Household {
        location: Point::new(x, y),
        households: n,
        persons,
        id: None,
        feature: 0,
        properties: None,
    }
}

/// `n` single households uniformly inside `mp` (rejection sampling).
pub fn uniform_in(rng: &mut Rng, mp: &MultiPolygon<f64>, n: usize, out: &mut Vec<Household>) {
    let r = mp.bounding_rect().unwrap();
    let mut k = 0;
    while k < n {
        let c = coord! {x: rng.range(r.min().x, r.max().x), y: rng.range(r.min().y, r.max().y)};
        if mp.contains(&c) {
            out.push(hh(c.x, c.y, 1, Some(1 + (rng.next_u64() % 5) as u32)));
            k += 1;
        }
    }
}

/// Households in Gaussian village cores plus a thin uniform scatter.
pub fn clustered_in(
    rng: &mut Rng,
    mp: &MultiPolygon<f64>,
    n: usize,
    cores: usize,
    sd_m: f64,
    out: &mut Vec<Household>,
) {
    let r = mp.bounding_rect().unwrap();
    let lat = r.center().y;
    let mut centres = Vec::new();
    while centres.len() < cores {
        let c = coord! {x: rng.range(r.min().x, r.max().x), y: rng.range(r.min().y, r.max().y)};
        if mp.contains(&c) {
            centres.push(c);
        }
    }
    let scatter = n / 10;
    uniform_in(rng, mp, scatter, out);
    let mut k = scatter;
    while k < n {
        let c = centres[(rng.next_u64() % cores as u64) as usize];
        let p = coord! {x: c.x + rng.normal() * sd_m * m_lon(lat), y: c.y + rng.normal() * sd_m * M_LAT};
        if mp.contains(&p) {
            out.push(hh(p.x, p.y, 1, Some(1 + (rng.next_u64() % 5) as u32)));
            k += 1;
        }
    }
}

/// Straight roads across the rectangle every `spacing_m` in both directions.
pub fn road_grid(r: Rect<f64>, spacing_m: f64) -> Vec<Barrier> {
    let lat = r.center().y;
    let mut out = Vec::new();
    let mut x = r.min().x + spacing_m * m_lon(lat) * 0.5;
    while x < r.max().x {
        out.push(Barrier {
            geometry: MultiLineString(vec![LineString(vec![
                coord! {x: x, y: r.min().y},
                coord! {x: x + 0.0003, y: r.max().y},
            ])]),
            kind: Some("road".into()),
            feature: out.len(),
        });
        x += spacing_m * m_lon(lat);
    }
    let mut y = r.min().y + spacing_m * M_LAT * 0.5;
    while y < r.max().y {
        out.push(Barrier {
            geometry: MultiLineString(vec![LineString(vec![
                coord! {x: r.min().x, y: y},
                coord! {x: r.max().x, y: y + 0.0002},
            ])]),
            kind: Some("road".into()),
            feature: out.len(),
        });
        y += spacing_m * M_LAT;
    }
    out
}

/// Reads a GeoJSON FeatureCollection into (geometry, properties) pairs.
pub fn read_features(
    path: &str,
) -> Vec<(
    geo_types::Geometry<f64>,
    serde_json::Map<String, serde_json::Value>,
)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let gj: geojson::GeoJson = text.parse().expect("valid GeoJSON");
    let fc = geojson::FeatureCollection::try_from(gj).expect("a FeatureCollection");
    fc.features
        .into_iter()
        .filter_map(|f| {
            let g = f.geometry?;
            let g: geo_types::Geometry<f64> = g.try_into().ok()?;
            Some((g, f.properties.unwrap_or_default()))
        })
        .collect()
}

pub fn to_multi(g: geo_types::Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        geo_types::Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

/// Everything the oracle measured, for printing.
#[derive(Debug, Default, Clone)]
pub struct Check {
    pub grids: usize,
    pub within: usize,
    pub max_union_rel_diff: f64,
    pub max_overlap_rel: f64,
    pub pp_mean: f64,
    pub pp_min: f64,
    pub cv: f64,
    /// Grids in several parts only because the area's boundary pinches.
    pub pinched: usize,
}

/// Checks a partition against the raw inputs, independently of the engine:
/// - every household the oracle finds inside an area is in exactly the grid
///   the engine says (closed point-in-polygon on the output polygons; a point
///   on a shared edge may go to any grid whose outline holds it), and
///   households outside every area are reported as outside;
/// - each grid's `households`/`persons` equal the recount;
/// - per area, the grids' union equals the area (relative symmetric
///   difference < 1e-6) and pairwise overlaps are ≈ 0;
/// - each grid is one polygon unless its area is in several pieces;
/// - `within_rules` agrees with the counts and the rules (`rules` for every
///   area, or its kind's preset).
pub fn check(
    areas: &[Area],
    households: &[Household],
    p: &Partition,
    rules: Option<Rules>,
) -> Check {
    check_by(areas, households, p, &|a: &Area| {
        rules.unwrap_or_else(|| Rules::preset(a.kind))
    })
}

/// [`check`] with each area's rules from `rules_of` (areas with rules of
/// their own).
pub fn check_by(
    areas: &[Area],
    households: &[Household],
    p: &Partition,
    rules_of: &dyn Fn(&Area) -> Rules,
) -> Check {
    let mut c = Check {
        grids: p.grids.len(),
        pp_min: f64::INFINITY,
        ..Default::default()
    };
    assert_eq!(p.household_grid.len(), households.len());
    let bbox: Vec<Rect<f64>> = p
        .grids
        .iter()
        .map(|g| g.geometry.bounding_rect().expect("non-empty grid"))
        .collect();
    // Households.
    let mut hh_sum = vec![0u64; p.grids.len()];
    let mut pp_sum = vec![0u64; p.grids.len()];
    let mut outside = 0u64;
    for (i, h) in households.iter().enumerate() {
        let pt = h.location.0;
        let in_area = areas.iter().any(|a| a.geometry.intersects(&pt));
        let holders: Vec<usize> = (0..p.grids.len())
            .filter(|&g| {
                let b = bbox[g];
                pt.x >= b.min().x
                    && pt.x <= b.max().x
                    && pt.y >= b.min().y
                    && pt.y <= b.max().y
                    && p.grids[g].geometry.intersects(&pt)
            })
            .collect();
        match p.household_grid[i] {
            Some(g) => {
                let g = g as usize;
                if !holders.contains(&g) {
                    // Tolerate a rounding-level miss on the area's own boundary.
                    let d = geo::Euclidean.distance(&p.grids[g].geometry, &Point(pt));
                    assert!(d < 1e-9, "household {i} at {pt:?} assigned to grid {} but not inside it (distance {d:e}); holders {holders:?}", p.grids[g].code);
                }
                let strict: Vec<usize> = holders
                    .iter()
                    .copied()
                    .filter(|&g| p.grids[g].geometry.contains(&pt))
                    .collect();
                assert!(
                    strict.len() <= 1,
                    "household {i} strictly inside {} grids: overlap",
                    strict.len()
                );
                if let Some(&s) = strict.first() {
                    assert_eq!(
                        s, g,
                        "household {i} strictly inside grid {} but assigned to {}",
                        p.grids[s].code, p.grids[g].code
                    );
                }
                hh_sum[g] += u64::from(h.households);
                pp_sum[g] += u64::from(h.persons.unwrap_or(0));
            }
            None => {
                assert!(
                    !in_area,
                    "household {i} at {pt:?} lies in an area but has no grid"
                );
                assert!(
                    holders.is_empty(),
                    "household {i} outside every area but inside a grid"
                );
                outside += u64::from(h.households);
            }
        }
    }
    assert_eq!(outside, p.outside.households, "outside households reported");
    for (g, grid) in p.grids.iter().enumerate() {
        assert_eq!(
            grid.households, hh_sum[g],
            "grid {} households recount",
            grid.code
        );
        assert_eq!(
            grid.persons, pp_sum[g],
            "grid {} persons recount",
            grid.code
        );
    }
    // Geometry per area.
    for a in areas {
        let gs: Vec<usize> = (0..p.grids.len())
            .filter(|&g| p.grids[g].parent_code == a.code)
            .collect();
        assert!(!gs.is_empty(), "area {} has no grids", a.code);
        let area_a = a.geometry.unsigned_area();
        // Parts of the area as a polygon overlay sees them: a ring that touches
        // itself at a point encloses two parts joined only at that point.
        let parts = a.geometry.union(&MultiPolygon::<f64>(vec![])).0.len();
        let mut union = MultiPolygon::<f64>(vec![]);
        let mut sum = 0.0;
        for &g in &gs {
            let geom = &p.grids[g].geometry;
            assert!(
                p.grids[g].code.starts_with(&a.code),
                "code {} does not start with {}",
                p.grids[g].code,
                a.code
            );
            sum += geom.unsigned_area();
            assert!(
                geo::Validation::is_valid(geom),
                "grid {} is not a valid (multi)polygon",
                p.grids[g].code
            );
            union = union.union(geom);
            if parts == 1 && geom.0.len() > 1 {
                // Only where the area's own boundary pinches (real boundaries
                // have zero-width slits), and only for slivers, said on the grid.
                let main = geom.0.iter().map(|q| q.unsigned_area()).fold(0.0, f64::max);
                let rest = geom.unsigned_area() - main;
                assert!(
                    rest < 0.01 * main && p.grids[g].issues.iter().any(|s| s.contains("pinches")),
                    "grid {} is not one polygon ({} parts, {:.1e} of it outside the main part)",
                    p.grids[g].code,
                    geom.0.len(),
                    rest / main
                );
                c.pinched += 1;
            } else if geom.0.len() > 1 {
                assert!(
                    p.grids[g].issues.iter().any(|s| s.contains("parts")),
                    "grid {} in parts without saying so",
                    p.grids[g].code
                );
            }
        }
        let sym = union.xor(&a.geometry).unsigned_area() / area_a;
        c.max_union_rel_diff = c.max_union_rel_diff.max(sym);
        assert!(
            sym < 1e-6,
            "area {}: union of grids differs from the area by {sym:e} (relative)",
            a.code
        );
        let overlap_rel = (sum - union.unsigned_area()).abs() / area_a;
        c.max_overlap_rel = c.max_overlap_rel.max(overlap_rel);
        assert!(
            overlap_rel < 1e-6,
            "area {}: grids overlap by {overlap_rel:e} (relative)",
            a.code
        );
    }
    // Codes unique.
    let mut codes: Vec<&str> = p.grids.iter().map(|g| g.code.as_str()).collect();
    codes.sort_unstable();
    let before = codes.len();
    codes.dedup();
    assert_eq!(before, codes.len(), "grid codes are not unique");
    // Rules consistency.
    for (g, grid) in p.grids.iter().enumerate() {
        let a = areas.iter().find(|a| a.code == grid.parent_code).unwrap();
        let r = rules_of(a);
        let ok = grid.households >= r.min_households && grid.households <= r.max_households;
        if ok && grid.within_rules {
            c.within += 1;
        }
        if !ok {
            assert!(
                !grid.within_rules,
                "grid {} breaks the rules but says within_rules",
                grid.code
            );
            assert!(
                !grid.issues.is_empty(),
                "grid {} breaks the rules without issues",
                grid.code
            );
        }
        assert_eq!(
            grid.within_rules,
            p.grids[g]
                .issues
                .iter()
                .all(|s| s.starts_with("grid is in"))
        );
        c.pp_mean += grid.compactness;
        c.pp_min = c.pp_min.min(grid.compactness);
    }
    c.pp_mean /= p.grids.len().max(1) as f64;
    c.cv = cv(&p.grids);
    c
}

/// Coefficient of variation of households per grid.
pub fn cv(grids: &[Grid]) -> f64 {
    let n = grids.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let m = grids.iter().map(|g| g.households as f64).sum::<f64>() / n;
    let v = grids
        .iter()
        .map(|g| (g.households as f64 - m).powi(2))
        .sum::<f64>()
        / n;
    if m > 0.0 {
        v.sqrt() / m
    } else {
        0.0
    }
}
