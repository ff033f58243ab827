//! Seeded plain-rural villages for coverage tests: the layout model of the
//! coverage bench's data (villages of lognormal size on a jittered lattice, a
//! main road and perpendicular lanes, door points 12–25 m beside a road with a
//! 10 × 12 m house behind each, cameras at the entrances, the intersections and
//! along the roads), built in memory so a test needs nothing the repository
//! does not hold. Same model as the bench's generator, not the same random
//! stream: the bench's files come from the peers' numpy generator so that the
//! Python peers read identical input.

use super::{building, camera, household, Rng};
use geo_types::Polygon;
use wangge::model::{Building, Camera, Household};

/// Where the villages lie (Chuzhou, Anhui, as in the bench).
const LON0: f64 = 118.3;
const LAT0: f64 = 32.3;
const M_PER_DEG_LAT: f64 = 110_574.0;

fn m_per_deg_lon() -> f64 {
    111_320.0 * LAT0.to_radians().cos()
}

fn to_lonlat(x: f64, y: f64) -> (f64, f64) {
    (LON0 + x / m_per_deg_lon(), LAT0 + y / M_PER_DEG_LAT)
}

/// A standard normal draw (Box–Muller).
fn normal(r: &mut Rng) -> f64 {
    let u = r.f().max(1e-300);
    let v = r.f();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A generated layout: one household location per door (count 1), one
/// building per household, cameras apportioned to villages by size.
pub struct Villages {
    pub households: Vec<Household>,
    pub buildings: Vec<Building>,
    pub cameras: Vec<Camera>,
    pub villages: usize,
}

/// A road segment through (ox, oy) along the unit vector (dx, dy), `half` m each way.
struct Road {
    ox: f64,
    oy: f64,
    dx: f64,
    dy: f64,
    half: f64,
}

/// About `households` households and exactly `cameras` cameras (92 % online) in
/// villages 1.6 km apart, from `seed`.
pub fn villages(seed: u64, households: usize, cameras: usize) -> Villages {
    let mut r = Rng(seed);
    let mut sizes = Vec::new();
    let mut total = 0;
    while total < households {
        let s = (190f64.ln() + 0.55 * normal(&mut r))
            .exp()
            .clamp(60.0, 600.0) as usize;
        let s = s.min(households - total);
        sizes.push(s);
        total += s;
    }
    // Cameras per village in proportion to households (largest remainder).
    let quota: Vec<f64> = sizes
        .iter()
        .map(|&s| s as f64 / total as f64 * cameras as f64)
        .collect();
    let mut per_v: Vec<usize> = quota.iter().map(|q| q.floor() as usize).collect();
    let mut by_rem: Vec<usize> = (0..sizes.len()).collect();
    by_rem
        .sort_by(|&a, &b| (quota[b] - quota[b].floor()).total_cmp(&(quota[a] - quota[a].floor())));
    let short = cameras - per_v.iter().sum::<usize>();
    for &v in &by_rem[..short] {
        per_v[v] += 1;
    }
    // Villages on a jittered lattice.
    let side = (sizes.len() as f64).sqrt().ceil() as usize;
    let mut cells: Vec<usize> = (0..side * side).collect();
    for i in (1..cells.len()).rev() {
        cells.swap(i, r.below(i + 1));
    }
    let sp = 1600.0;
    let mut out = Villages {
        households: Vec::new(),
        buildings: Vec::new(),
        cameras: Vec::new(),
        villages: sizes.len(),
    };
    for (v, &n) in sizes.iter().enumerate() {
        let cx = ((cells[v] % side) as f64 - side as f64 / 2.0 + r.range(-0.3, 0.3)) * sp;
        let cy = ((cells[v] / side) as f64 - side as f64 / 2.0 + r.range(-0.3, 0.3)) * sp;
        village(&mut r, &mut out, (cx, cy), n, per_v[v]);
    }
    out
}

/// One village of `n` households and `k` cameras centred at `c` (metres).
fn village(r: &mut Rng, out: &mut Villages, c: (f64, f64), n: usize, k: usize) {
    let radius = 12.0 * (n as f64).sqrt() + 40.0;
    let th = r.range(0.0, std::f64::consts::PI);
    let (ux, uy) = (th.cos(), th.sin());
    let n_lanes = (n / 60).max(1);
    let lane_t: Vec<f64> = if n_lanes > 1 {
        (0..n_lanes)
            .map(|i| -0.8 * radius + 1.6 * radius * i as f64 / (n_lanes - 1) as f64)
            .collect()
    } else {
        vec![0.0]
    };
    // The main road runs through the village (households only within `radius`).
    let mut roads = vec![Road {
        ox: c.0,
        oy: c.1,
        dx: ux,
        dy: uy,
        half: radius,
    }];
    for &t in &lane_t {
        roads.push(Road {
            ox: c.0 + ux * t,
            oy: c.1 + uy * t,
            dx: -uy,
            dy: ux,
            half: (radius * radius - t * t).max((0.3 * radius).powi(2)).sqrt(),
        });
    }
    let total_len: f64 = roads.iter().map(|rd| rd.half).sum();
    for _ in 0..n {
        // A road chosen in proportion to its length, a door beside it.
        let mut pick = r.range(0.0, total_len);
        let rd = roads
            .iter()
            .find(|rd| {
                pick -= rd.half;
                pick < 0.0
            })
            .unwrap_or(&roads[0]);
        let s = r.range(-rd.half, rd.half);
        let sign = if r.chance(0.5) { -1.0 } else { 1.0 };
        let off = r.range(12.0, 25.0) * sign;
        let x = rd.ox + rd.dx * s - rd.dy * off + 1.5 * normal(r);
        let y = rd.oy + rd.dy * s + rd.dx * off + 1.5 * normal(r);
        let i = out.households.len();
        let (lon, lat) = to_lonlat(x, y);
        out.households.push(household(i, lon, lat, 1));
        // The house: 10 m along the road, 12 m deep, 0.5 m behind the door.
        let (nx, ny) = (-rd.dy * sign, rd.dx * sign);
        let ring: Vec<(f64, f64)> = [
            (-5.0, 0.5),
            (5.0, 0.5),
            (5.0, 12.5),
            (-5.0, 12.5),
            (-5.0, 0.5),
        ]
        .iter()
        .map(|&(a, b)| to_lonlat(x + rd.dx * a + nx * b, y + rd.dy * a + ny * b))
        .collect();
        out.buildings
            .push(building(i, Polygon::new(ring.into(), vec![])));
    }
    // Cameras: entrances (bullets looking in), intersections (domes), then
    // bullets along a road looking along it.
    let mut slots: Vec<(f64, f64, bool, f64)> = vec![
        (
            c.0 + ux * radius,
            c.1 + uy * radius,
            false,
            th + std::f64::consts::PI,
        ),
        (c.0 - ux * radius, c.1 - uy * radius, false, th),
    ];
    slots.extend(
        lane_t
            .iter()
            .map(|&t| (c.0 + ux * t, c.1 + uy * t, true, 0.0)),
    );
    for j in 0..k {
        let (x, y, dome, ang) = if j < slots.len() {
            slots[j]
        } else {
            let rd = &roads[r.below(roads.len())];
            let t = r.range(-rd.half, rd.half);
            let back = if r.chance(0.5) {
                std::f64::consts::PI
            } else {
                0.0
            };
            (
                rd.ox + rd.dx * t,
                rd.oy + rd.dy * t,
                false,
                rd.dy.atan2(rd.dx) + back,
            )
        };
        let (range, fov) = if dome {
            (r.range(50.0, 100.0), 360.0)
        } else {
            (r.range(40.0, 80.0), r.range(50.0, 95.0))
        };
        let az = (90.0 - ang.to_degrees()).rem_euclid(360.0);
        let (lon, lat) = to_lonlat(x, y);
        let online = r.f() < 0.92;
        out.cameras
            .push(camera(out.cameras.len(), lon, lat, az, fov, range, online));
    }
}
