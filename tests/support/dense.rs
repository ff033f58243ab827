//! A seeded dense Chinese city district, for the dense-city tests and the
//! benches.
//!
//! The partition engine's hard case is not a village of single houses but a
//! city of high-rise estates (小区), where one location carries 100–480
//! households, two or three towers stand 20–60 m apart, and grids of 300–500
//! households have to be made of a handful of such points. [`dense_city`]
//! builds such a district at any size:
//!
//! - **Areas** (社区 in 街道): a jittered lattice of communities of about
//!   9,000 households each, with jagged boundaries. Some boundaries push a
//!   120 m wide tongue of one community deep into its neighbour, leaving the
//!   neighbour a C shape whose two lobes are joined by a neck 40–70 m wide, or,
//!   for a pinch, by a corridor only 2 m wide (a ring that nearly touches
//!   itself). Every area is one polygon.
//! - **Barriers**: main roads every 300–600 m, both banks of a river (an
//!   empty band 160–240 m wide), a railway and the fence of its rail yard.
//! - **Empty land**: the river, the rail corridor and yard, parks, 15 m either
//!   side of a main road.
//! - **Households**: each superblock between main roads is cut into one to
//!   four 小区: tower estates (groups of one to three towers of 100–`tower_cap`
//!   households, heavy-tailed, plus shops at the gates), old village clusters
//!   (城中村, points of 1–5 households every 9–14 m), shop streets and
//!   institutions. The total is exactly the requested number.
//!
//! The file stands alone (only `wangge`, `geo`, `geo-types` and `std`, with its
//! own RNG) so benches can include it with `#[path]`. Generation is linear in
//! the number of household locations: 1M households take well under a second.
#![allow(dead_code)]

use geo_types::{Coord, LineString, MultiLineString, MultiPolygon, Point, Polygon};
use wangge::model::{Area, AreaKind, Barrier, Household};

/// South-west corner of the district (Wuchang, Wuhan), WGS84.
pub const ORIGIN_LON: f64 = 114.25;
pub const ORIGIN_LAT: f64 = 30.45;
/// Metres per degree of latitude, and of longitude at [`ORIGIN_LAT`].
pub const M_PER_DEG_LAT: f64 = 110_574.0;
pub fn m_per_deg_lon() -> f64 {
    111_320.0 * ORIGIN_LAT.to_radians().cos()
}

/// Inputs of one partition run: areas, household locations and barriers.
#[derive(Debug, Clone)]
pub struct City {
    pub areas: Vec<Area>,
    pub households: Vec<Household>,
    pub barriers: Vec<Barrier>,
}

impl City {
    /// Total households over all locations.
    pub fn total_households(&self) -> u64 {
        self.households
            .iter()
            .map(|h| u64::from(h.households))
            .sum()
    }
}

/// splitmix64: small, fast and good enough for test data.
#[derive(Debug, Clone)]
pub struct CityRng(u64);

impl CityRng {
    pub fn new(seed: u64) -> Self {
        CityRng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Households of one tower: Pareto with index 1.7 from 100, capped (a fifth
/// of the towers reach a cap of 240, one in fifteen a cap of 480): most towers
/// are 100–200 households, a few are the 40-storey blocks that fill half a
/// grid on their own.
pub fn tower_households(rng: &mut CityRng, tower_cap: u32) -> u32 {
    let n = 100.0 * (1.0 - rng.f()).powf(-1.0 / 1.7);
    (n.min(f64::from(tower_cap)) as u32).max(100.min(tower_cap))
}

/// Households of one low-rise location (shop, village house): 1–5, mostly 1–2.
pub fn low_rise_households(rng: &mut CityRng) -> u32 {
    let u = rng.f();
    match u {
        _ if u < 0.32 => 1,
        _ if u < 0.62 => 2,
        _ if u < 0.82 => 3,
        _ if u < 0.93 => 4,
        _ => 5,
    }
}

fn persons(rng: &mut CityRng, households: u32) -> u32 {
    (f64::from(households) * rng.range(2.3, 3.0)).round() as u32
}

/// Local metres → WGS84.
pub fn to_lonlat(x: f64, y: f64) -> Coord<f64> {
    Coord {
        x: ORIGIN_LON + x / m_per_deg_lon(),
        y: ORIGIN_LAT + y / M_PER_DEG_LAT,
    }
}

/// WGS84 → local metres.
pub fn to_metres(c: Coord<f64>) -> (f64, f64) {
    (
        (c.x - ORIGIN_LON) * m_per_deg_lon(),
        (c.y - ORIGIN_LAT) * M_PER_DEG_LAT,
    )
}

type Xy = (f64, f64);

/// Everything that decides where households may stand, in local metres.
struct Land {
    size: f64,
    river_y0: f64,
    river_amp: f64,
    river_wavelength: f64,
    river_phase: f64,
    river_half_width: f64,
    rail_x0: f64,
    rail_tilt: f64,
    yard_y0: f64,
    yard_y1: f64,
    yard_width: f64,
    /// Ellipses (centre x, centre y, radius x, radius y).
    parks: Vec<(f64, f64, f64, f64)>,
    /// Main roads x = X + t·y.
    vroads: Vec<(f64, f64)>,
    /// Main roads y = Y + s·x.
    hroads: Vec<(f64, f64)>,
}

const ROAD_MARGIN: f64 = 15.0;

impl Land {
    fn new(rng: &mut CityRng, size: f64) -> Land {
        let river_y0 = size * rng.range(0.3, 0.4);
        let rail_x0 = size * rng.range(0.62, 0.75);
        let yard_len = (0.25 * size).clamp(500.0, 1500.0);
        let yard_y0 = rng.range(0.1 * size, (0.9 * size - yard_len).max(0.1 * size));
        let mut parks = Vec::new();
        let n_parks = ((size * size / 1.2e6).round() as usize).max(2);
        for _ in 0..n_parks {
            parks.push((
                rng.range(0.0, size),
                rng.range(0.0, size),
                rng.range(80.0, 250.0),
                rng.range(80.0, 250.0),
            ));
        }
        let lines = |rng: &mut CityRng| {
            let mut v = Vec::new();
            let mut at = rng.range(150.0, 450.0);
            while at < size - 150.0 {
                v.push((at, rng.range(-0.04, 0.04)));
                at += rng.range(300.0, 600.0);
            }
            v
        };
        let vroads = lines(rng);
        let hroads = lines(rng);
        Land {
            size,
            river_y0,
            river_amp: (0.04 * size).min(150.0),
            river_wavelength: size * rng.range(0.6, 1.0),
            river_phase: rng.range(0.0, std::f64::consts::TAU),
            river_half_width: rng.range(80.0, 120.0),
            rail_x0,
            rail_tilt: rng.range(-0.15, 0.15),
            yard_y0,
            yard_y1: yard_y0 + yard_len,
            yard_width: 160.0,
            parks,
            vroads,
            hroads,
        }
    }

    fn river_y(&self, x: f64) -> f64 {
        self.river_y0
            + self.river_amp
                * (std::f64::consts::TAU * x / self.river_wavelength + self.river_phase).sin()
    }

    fn rail_x(&self, y: f64) -> f64 {
        self.rail_x0 + self.rail_tilt * y
    }

    /// True where a building may stand.
    fn free(&self, x: f64, y: f64) -> bool {
        if (y - self.river_y(x)).abs() < self.river_half_width + 12.0 {
            return false;
        }
        let d = x - self.rail_x(y);
        if d.abs() < 25.0 {
            return false;
        }
        if y > self.yard_y0 - 15.0
            && y < self.yard_y1 + 15.0
            && d > 0.0
            && d < self.yard_width + 15.0
        {
            return false;
        }
        for &(cx, cy, rx, ry) in &self.parks {
            let (u, v) = ((x - cx) / rx, (y - cy) / ry);
            if u * u + v * v < 1.0 {
                return false;
            }
        }
        !self
            .vroads
            .iter()
            .any(|&(x0, t)| (x - x0 - t * y).abs() < ROAD_MARGIN)
            && !self
                .hroads
                .iter()
                .any(|&(y0, s)| (y - y0 - s * x).abs() < ROAD_MARGIN)
    }

    fn barriers(&self) -> Vec<(Vec<Xy>, &'static str)> {
        let (lo, hi) = (-200.0, self.size + 200.0);
        let mut out = Vec::new();
        let steps = |a: f64, b: f64, step: f64| {
            let n = ((b - a) / step).ceil().max(1.0) as usize;
            (0..=n).map(move |k| a + (b - a) * k as f64 / n as f64)
        };
        for &(x0, t) in &self.vroads {
            out.push((
                steps(lo, hi, 100.0).map(|y| (x0 + t * y, y)).collect(),
                "major_road",
            ));
        }
        for &(y0, s) in &self.hroads {
            out.push((
                steps(lo, hi, 100.0).map(|x| (x, y0 + s * x)).collect(),
                "major_road",
            ));
        }
        for side in [-1.0, 1.0] {
            out.push((
                steps(lo, hi, 40.0)
                    .map(|x| (x, self.river_y(x) + side * self.river_half_width))
                    .collect(),
                "river",
            ));
        }
        out.push((
            steps(lo, hi, 100.0).map(|y| (self.rail_x(y), y)).collect(),
            "rail",
        ));
        // The yard's fence: out from the main line, along it, and back.
        let (y0, y1, w) = (self.yard_y0, self.yard_y1, self.yard_width);
        let mut fence = vec![(self.rail_x(y0), y0)];
        fence.extend(steps(y0, y1, 100.0).map(|y| (self.rail_x(y) + w, y)));
        fence.push((self.rail_x(y1), y1));
        out.push((fence, "rail"));
        out
    }
}

/// Point in ring, even-odd rule, local metres.
fn ring_contains(ring: &[Xy], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi) {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// A jagged boundary from `a` to `b`: a random walk across the straight line,
/// tapering to zero at both ends and inside `calm` (a y-range kept straight
/// for a tongue).
fn jagged(rng: &mut CityRng, a: Xy, b: Xy, amp: f64, calm: Option<(f64, f64)>) -> Vec<Xy> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    let n = ((len / 45.0).round() as usize).max(2);
    let (px, py) = (-dy / len, dx / len);
    let mut out = Vec::with_capacity(n + 1);
    let mut o = 0.0f64;
    for k in 0..=n {
        let t = k as f64 / n as f64;
        o = (0.6 * o + rng.range(-0.8, 0.8) * amp).clamp(-amp, amp);
        let (sx, sy) = (a.0 + t * dx, a.1 + t * dy);
        let mut env = (std::f64::consts::PI * t).sin();
        if let Some((c0, c1)) = calm {
            if sy > c0 && sy < c1 {
                env = 0.0;
            }
        }
        if k == 0 || k == n {
            env = 0.0;
        }
        out.push((sx + o * env * px, sy + o * env * py));
    }
    out
}

/// The point at height `y` on the straight line from `a` to `b`.
fn at_y(a: Xy, b: Xy, y: f64) -> Xy {
    let t = (y - a.1) / (b.1 - a.1);
    (a.0 + t * (b.0 - a.0), y)
}

/// Community polygons (local metres) on an nx × ny jittered lattice.
fn area_rings(rng: &mut CityRng, size: f64, nx: usize, ny: usize) -> Vec<Vec<Xy>> {
    let (cw, ch) = (size / nx as f64, size / ny as f64);
    let mut v = vec![vec![(0.0, 0.0); ny + 1]; nx + 1];
    for (i, col) in v.iter_mut().enumerate() {
        for (j, p) in col.iter_mut().enumerate() {
            let jx = if i == 0 || i == nx {
                0.0
            } else {
                rng.range(-0.12, 0.12) * cw
            };
            let jy = if j == 0 || j == ny {
                0.0
            } else {
                rng.range(-0.12, 0.12) * ch
            };
            *p = (i as f64 * cw + jx, j as f64 * ch + jy);
        }
    }
    let amp = |outer: bool| if outer { 12.0 } else { 25.0 };
    // Horizontal edges west → east, h[i][j] from v[i][j] to v[i+1][j].
    let mut h = vec![vec![Vec::new(); ny + 1]; nx];
    for (i, col) in h.iter_mut().enumerate() {
        for (j, e) in col.iter_mut().enumerate() {
            *e = jagged(rng, v[i][j], v[i + 1][j], amp(j == 0 || j == ny), None);
        }
    }
    // Vertical edges south → north, e[i][j] from v[i][j] to v[i][j+1]; some
    // carry a tongue into the community to their west.
    let mut e: Vec<Vec<Vec<Xy>>> = vec![vec![Vec::new(); ny]; nx + 1];
    for i in 0..=nx {
        for j in 0..ny {
            let (a, b) = (v[i][j], v[i][j + 1]);
            // Tongues on a few inner edges: necks 40–70 m wide, and pinches
            // of 2 m (the western community nearly touches itself).
            let key = i + 2 * j;
            let gap = if i == 0 || i == nx {
                None
            } else if key % 9 == 1 {
                Some(rng.range(40.0, 70.0))
            } else if key % 13 == 3 {
                Some(2.0)
            } else {
                None
            };
            let Some(gap) = gap else {
                e[i][j] = jagged(rng, a, b, amp(i == 0 || i == nx), None);
                continue;
            };
            let ym = 0.5 * (a.1 + b.1);
            let half = rng.range(55.0, 70.0);
            let pts = jagged(
                rng,
                a,
                b,
                amp(false),
                Some((ym - half - 30.0, ym + half + 30.0)),
            );
            // How far east the western neighbour's west boundary reaches
            // beside the tongue, so the tip leaves exactly `gap` to it.
            let west = &e[i - 1][j];
            let mut reach = f64::NEG_INFINITY;
            for (k, p) in west.iter().enumerate() {
                if (p.1 - ym).abs() < half + 60.0 {
                    reach = reach.max(p.0);
                    if k > 0 {
                        reach = reach.max(west[k - 1].0);
                    }
                    if k + 1 < west.len() {
                        reach = reach.max(west[k + 1].0);
                    }
                }
            }
            let tip = reach + gap;
            let mut edge: Vec<Xy> = pts.iter().copied().filter(|p| p.1 < ym - half).collect();
            edge.push(at_y(a, b, ym - half));
            edge.push((tip, ym - half));
            edge.push((tip, ym + half));
            edge.push(at_y(a, b, ym + half));
            edge.extend(pts.iter().copied().filter(|p| p.1 > ym + half));
            e[i][j] = edge;
        }
    }
    let mut rings = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let mut r: Vec<Xy> = h[i][j].clone();
            r.extend(e[i + 1][j].iter().skip(1));
            r.extend(h[i][j + 1].iter().rev().skip(1));
            r.extend(e[i][j].iter().rev().skip(1));
            rings.push(r);
        }
    }
    rings
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Use {
    Towers = 0,
    Village = 1,
    Shops = 2,
    Institution = 3,
}

/// A 小区: a (u, v) window of a superblock's bilinear quad.
struct Estate {
    corners: [Xy; 4],
    u: (f64, f64),
    v: (f64, f64),
    /// Width and height in metres.
    w: f64,
    h: f64,
    kind: Use,
}

impl Estate {
    fn at(&self, s: f64, t: f64) -> Xy {
        let u = self.u.0 + s * (self.u.1 - self.u.0);
        let v = self.v.0 + t * (self.v.1 - self.v.0);
        let [c00, c10, c01, c11] = self.corners;
        let (a, b, c, d) = ((1.0 - u) * (1.0 - v), u * (1.0 - v), (1.0 - u) * v, u * v);
        (
            a * c00.0 + b * c10.0 + c * c01.0 + d * c11.0,
            a * c00.1 + b * c10.1 + c * c01.1 + d * c11.1,
        )
    }
}

fn dist(a: Xy, b: Xy) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

struct Builder<'a> {
    rng: CityRng,
    land: &'a Land,
    rings: &'a [Vec<Xy>],
    boxes: Vec<(f64, f64, f64, f64)>,
    out: Vec<Household>,
    placed: u64,
}

impl Builder<'_> {
    fn inside(&self, p: Xy) -> bool {
        self.land.free(p.0, p.1)
            && self.rings.iter().zip(&self.boxes).any(|(r, b)| {
                p.0 >= b.0 && p.0 <= b.2 && p.1 >= b.1 && p.1 <= b.3 && ring_contains(r, p.0, p.1)
            })
    }
    fn push(&mut self, p: Xy, n: u32) {
        let persons = persons(&mut self.rng, n);
        self.out.push(Household {
            location: Point(to_lonlat(p.0, p.1)),
            households: n,
            persons: Some(persons),
            id: None,
            feature: self.out.len(),
            properties: None,
        });
        self.placed += u64::from(n);
    }
    /// Up to `budget` households in towers; returns what was placed.
    fn towers(&mut self, e: &Estate, budget: u64, cap: u32) -> u64 {
        let spacing = self.rng.range(60.0, 85.0);
        let nu = (((e.w - 30.0) / spacing).floor() as usize).max(1);
        let nv = (((e.h - 30.0) / spacing).floor() as usize).max(1);
        let mut sites = Vec::with_capacity(nu * nv);
        for a in 0..nu {
            for b in 0..nv {
                let s = (a as f64 + 0.5 + self.rng.range(-0.15, 0.15)) / nu as f64;
                let t = (b as f64 + 0.5 + self.rng.range(-0.15, 0.15)) / nv as f64;
                sites.push(e.at(s, t));
            }
        }
        self.rng.shuffle(&mut sites);
        let mut done = 0;
        for c in sites {
            let k = match self.rng.f() {
                u if u < 0.35 => 1,
                u if u < 0.75 => 2,
                _ => 3,
            };
            let r = self.rng.range(10.0, 30.0);
            let th = self.rng.range(0.0, std::f64::consts::TAU);
            for q in 0..k {
                let left = budget - done;
                if left < 100 {
                    return done;
                }
                let a = th + std::f64::consts::TAU * q as f64 / k as f64;
                let p = if k == 1 {
                    c
                } else {
                    (c.0 + r * a.cos(), c.1 + r * a.sin())
                };
                let n = u64::from(tower_households(&mut self.rng, cap)).min(left);
                if self.inside(p) {
                    self.push(p, n as u32);
                    done += n;
                }
            }
        }
        done
    }
    /// Up to `budget` households at low-rise points on a `spacing` lattice
    /// (`edge_only`: along the estate's edges, where shops face the street).
    fn low_rise(&mut self, e: &Estate, budget: u64, spacing: f64, edge_only: bool) -> u64 {
        let nu = ((e.w / spacing).floor() as usize).max(1);
        let nv = ((e.h / spacing).floor() as usize).max(1);
        let mut sites = Vec::new();
        for a in 0..nu {
            for b in 0..nv {
                let s = (a as f64 + 0.5 + self.rng.range(-0.3, 0.3)) / nu as f64;
                let t = (b as f64 + 0.5 + self.rng.range(-0.3, 0.3)) / nv as f64;
                let edge = s * e.w < 35.0
                    || (1.0 - s) * e.w < 35.0
                    || t * e.h < 35.0
                    || (1.0 - t) * e.h < 35.0
                    || (t - 0.5).abs() * e.h < 8.0;
                if !edge_only || edge {
                    sites.push(e.at(s, t));
                }
            }
        }
        self.rng.shuffle(&mut sites);
        let mut done = 0;
        for p in sites {
            if done >= budget {
                break;
            }
            let n = u64::from(low_rise_households(&mut self.rng)).min(budget - done);
            if self.inside(p) {
                self.push(p, n as u32);
                done += n;
            }
        }
        done
    }
}

/// A dense city district of `households` households in about
/// `households / 9000` communities, towers capped at `tower_cap` households
/// (240 or 480 in the tests). Deterministic in `seed`.
pub fn dense_city(seed: u64, households: u64, tower_cap: u32) -> City {
    let mut rng = CityRng::new(seed);
    // About 9,000 households per km² over the whole district, empty land
    // included: 50k is 2.4 km square, 1M 10.5 km.
    let size = ((households as f64 / 9000.0).sqrt() * 1000.0).max(1500.0);
    let land = Land::new(&mut rng, size);

    let n_areas = ((households as f64 / 9000.0).round() as usize).max(4);
    let nx = (n_areas as f64).sqrt().ceil() as usize;
    let ny = n_areas.div_ceil(nx);
    let rings = area_rings(&mut rng, size, nx, ny);

    // Superblocks between main roads (and the district's edges), cut into 小区.
    let mut vl = vec![(-60.0, 0.0)];
    vl.extend(land.vroads.iter().copied());
    vl.push((size + 60.0, 0.0));
    let mut hl = vec![(-60.0, 0.0)];
    hl.extend(land.hroads.iter().copied());
    hl.push((size + 60.0, 0.0));
    let cross = |(x0, t): (f64, f64), (y0, s): (f64, f64)| {
        let x = (x0 + t * y0) / (1.0 - t * s);
        (x, y0 + s * x)
    };
    let mut estates = Vec::new();
    for i in 0..vl.len() - 1 {
        for j in 0..hl.len() - 1 {
            let corners = [
                cross(vl[i], hl[j]),
                cross(vl[i + 1], hl[j]),
                cross(vl[i], hl[j + 1]),
                cross(vl[i + 1], hl[j + 1]),
            ];
            let (w, h) = (dist(corners[0], corners[1]), dist(corners[0], corners[2]));
            let kx = if w > 380.0 { 2 } else { 1 };
            let ky = if h > 380.0 { 2 } else { 1 };
            for a in 0..kx {
                for b in 0..ky {
                    let kind = match rng.f() {
                        u if u < 0.67 => Use::Towers,
                        u if u < 0.80 => Use::Village,
                        u if u < 0.90 => Use::Shops,
                        _ => Use::Institution,
                    };
                    estates.push(Estate {
                        corners,
                        u: (a as f64 / kx as f64, (a + 1) as f64 / kx as f64),
                        v: (b as f64 / ky as f64, (b + 1) as f64 / ky as f64),
                        w: w / kx as f64,
                        h: h / ky as f64,
                        kind,
                    });
                }
            }
        }
    }
    let density = |k: Use| match k {
        Use::Towers => 1.0,
        Use::Village => 0.5,
        Use::Shops => 0.12,
        Use::Institution => 0.03,
    };
    let weight: f64 = estates.iter().map(|e| e.w * e.h * density(e.kind)).sum();

    let boxes = rings
        .iter()
        .map(|r| {
            r.iter().fold(
                (
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ),
                |b, p| (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1)),
            )
        })
        .collect();
    let mut b = Builder {
        rng,
        land: &land,
        rings: &rings,
        boxes,
        out: Vec::new(),
        placed: 0,
    };
    // Each 小区 gets its share of the total; what one cannot place (river,
    // parks, outside the district) falls to the next of its kind, so the
    // mix of towers and low-rise stays as drawn.
    let mut allotted = [0.0f64; 4];
    let mut placed = [0u64; 4];
    for e in &estates {
        let k = e.kind as usize;
        allotted[k] += households as f64 * e.w * e.h * density(e.kind) / weight;
        let budget = (allotted[k].round() as u64)
            .saturating_sub(placed[k])
            .min(households - b.placed);
        let before = b.placed;
        match e.kind {
            Use::Towers => {
                let t = b.towers(e, budget * 95 / 100, tower_cap);
                b.low_rise(e, budget - t, 12.0, true);
            }
            Use::Village => {
                let s = b.rng.range(9.0, 14.0);
                b.low_rise(e, budget, s, false);
            }
            Use::Shops => {
                b.low_rise(e, budget, 10.0, true);
            }
            Use::Institution => {
                b.low_rise(e, budget, 25.0, false);
            }
        }
        placed[k] += b.placed - before;
    }
    // Top up to the exact total (rounding, and what the last 小区 of a kind
    // could not place): towers in random tower estates while a tower fits,
    // then low-rise points anywhere.
    let towers: Vec<usize> = (0..estates.len())
        .filter(|&k| estates[k].kind == Use::Towers)
        .collect();
    let mut attempts = 0u64;
    while b.placed < households {
        attempts += 1;
        assert!(attempts < 10_000_000, "dense_city: no room for households");
        let left = households - b.placed;
        let tower = left >= 100 && !towers.is_empty();
        let e = if tower {
            &estates[towers[b.rng.below(towers.len())]]
        } else {
            &estates[b.rng.below(estates.len())]
        };
        let p = e.at(b.rng.range(0.05, 0.95), b.rng.range(0.05, 0.95));
        if !b.inside(p) {
            continue;
        }
        let n = if tower {
            u64::from(tower_households(&mut b.rng, tower_cap)).min(left)
        } else {
            u64::from(low_rise_households(&mut b.rng)).min(left)
        };
        b.push(p, n as u32);
    }
    let households_out = b.out;

    let areas = rings
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let (street, community) = (1 + k / 9, 1 + k % 9);
            // The ring is closed: it ends where it starts.
            let ring: Vec<Coord<f64>> = r.iter().map(|p| to_lonlat(p.0, p.1)).collect();
            Area {
                code: format!("420106{street:03}{community:03}"),
                name: Some(format!("街道{street}·社区{community}")),
                kind: AreaKind::Urban,
                geometry: MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
                properties: None,
            }
        })
        .collect();
    let barriers = land
        .barriers()
        .into_iter()
        .enumerate()
        .map(|(k, (line, kind))| Barrier {
            geometry: MultiLineString(vec![LineString(
                line.iter().map(|p| to_lonlat(p.0, p.1)).collect(),
            )]),
            kind: Some(kind.to_string()),
            feature: k,
        })
        .collect();
    City {
        areas,
        households: households_out,
        barriers,
    }
}

/// A census update of a generated city: an old village cluster is
/// redeveloped (its low-rise households leave and towers rise on the same
/// ground, adding about `growth` of the city's households, 0.1 = 10 %), and
/// elsewhere, about half the city away, an estate empties (towers within
/// 400 m lose 30–60 % of their households, half of the low-rise points go).
/// Locations keep their order; new towers are appended.
pub fn census_update(households: &[Household], seed: u64, tower_cap: u32, growth: f64) -> Census {
    let mut rng = CityRng::new(seed ^ 0xC3A5_C85C_97CB_3127);
    let xy: Vec<Xy> = households.iter().map(|h| to_metres(h.location.0)).collect();
    let total: u64 = households.iter().map(|h| u64::from(h.households)).sum();
    let low: Vec<usize> = (0..households.len())
        .filter(|&i| households[i].households <= 5)
        .collect();
    assert!(!low.is_empty(), "census_update: no low-rise households");
    // Growth: the densest low-rise cluster among a sample of candidates.
    let mut best = (0u64, xy[low[0]]);
    for _ in 0..200 {
        let c = xy[low[rng.below(low.len())]];
        let n: u64 = low
            .iter()
            .filter(|&&i| dist(xy[i], c) < 300.0)
            .map(|&i| u64::from(households[i].households))
            .sum();
        if n > best.0 {
            best = (n, c);
        }
    }
    let grow_at = best.1;
    // Loss: a tower about half the district away from the growth.
    let extent = xy.iter().fold(0.0f64, |m, p| m.max(p.0).max(p.1));
    let towers: Vec<usize> = (0..households.len())
        .filter(|&i| households[i].households >= 100)
        .collect();
    let mut lose_at = xy[towers[0]];
    for _ in 0..200 {
        let c = xy[towers[rng.below(towers.len())]];
        if (dist(c, grow_at) - 0.5 * extent).abs() < (dist(lose_at, grow_at) - 0.5 * extent).abs() {
            lose_at = c;
        }
    }

    let target_add = (growth * total as f64).round() as u64;
    let mut out = Vec::with_capacity(households.len() + 64);
    let mut cleared: Vec<Xy> = Vec::new();
    let mut removed_village = 0u64;
    let mut lost = 0u64;
    for (i, h) in households.iter().enumerate() {
        let p = xy[i];
        let mut h = h.clone();
        if h.households <= 5 && dist(p, grow_at) < 300.0 {
            removed_village += u64::from(h.households);
            cleared.push(p);
            continue;
        }
        if dist(p, lose_at) < 400.0 {
            if h.households >= 100 {
                let keep = 1.0 - rng.range(0.3, 0.6);
                let n = ((f64::from(h.households) * keep).round() as u32).max(1);
                lost += u64::from(h.households - n);
                h.households = n;
                h.persons = Some(persons(&mut rng, h.households));
            } else if rng.chance(0.5) {
                lost += u64::from(h.households);
                continue;
            }
        }
        h.feature = out.len();
        out.push(h);
    }
    // New towers on the cleared ground, each at least 20 m from the last ones.
    rng.shuffle(&mut cleared);
    let mut add = target_add + removed_village;
    let mut sites: Vec<Xy> = Vec::new();
    for p in cleared {
        if add == 0 {
            break;
        }
        if sites.iter().any(|&q| dist(p, q) < 20.0) {
            continue;
        }
        sites.push(p);
        let n = u64::from(tower_households(&mut rng, tower_cap)).min(add);
        let persons = persons(&mut rng, n as u32);
        out.push(Household {
            location: Point(to_lonlat(p.0, p.1)),
            households: n as u32,
            persons: Some(persons),
            id: None,
            feature: out.len(),
            properties: None,
        });
        add -= n;
    }
    Census {
        households: out,
        redeveloped: removed_village,
        built: target_add + removed_village - add,
        lost,
    }
}

/// The households after [`census_update`], and what changed.
#[derive(Debug, Clone)]
pub struct Census {
    pub households: Vec<Household>,
    /// Low-rise households cleared from the redeveloped village.
    pub redeveloped: u64,
    /// Households in the new towers there.
    pub built: u64,
    /// Households gone from the emptying estate.
    pub lost: u64,
}
