//! GCJ-02 and BD-09, the Chinese web-map coordinate systems, in pure Rust.
//!
//! Maps published in China (AMap/Gaode, Tencent, and Google/Apple inside China) use
//! **GCJ-02**, WGS84 longitude/latitude moved by a deliberate, smooth but non-linear
//! offset of a few hundred metres. Baidu uses **BD-09**, a further rotation-and-shift
//! of GCJ-02. Planners' data often comes from those maps (points picked on a web map,
//! geocoder output), so it must be brought back to WGS84 before anything else.
//!
//! PROJ does not know these systems (they are not geodetic datums), hence this code.
//!
//! # The formulas
//!
//! WGS84 → GCJ-02 is the widely circulated reconstruction used by every open
//! implementation (eviltransform, coordtransform, prcoords, …): two polynomial-plus-sine
//! functions of `(lon − 105, lat − 35)` give an offset in metres, turned into degrees
//! with the Krasovsky 1940 ellipsoid (`a = 6378245`, `e² = 0.00669342162296594323`).
//! The official algorithm also adds a small pseudo-random noise that nobody outside
//! can reproduce; the public formula is what web maps effectively agree with to well
//! under a metre.
//!
//! GCJ-02 → BD-09 is Baidu's polar tweak: `r += 0.00002·sin(lat·x_pi)`,
//! `θ += 0.000003·cos(lon·x_pi)` with `x_pi = π·3000/180`, then a shift of
//! `(+0.0065, +0.006)` degrees.
//!
//! # Out of China
//!
//! GCJ-02 is defined only for China; the common convention (eviltransform,
//! coord-convert, prcoords) is that outside the rectangle 72.004–137.8347°E,
//! 0.8293–55.8271°N the offset is zero, so GCJ-02 equals WGS84 there. We follow it
//! exactly, because data produced by those tools follows it. The rectangle is coarse:
//! it also covers Mongolia, the Koreas and parts of Japan and South-East Asia, where
//! the offset is applied too (as the tools do). All of mainland China, Hong Kong,
//! Macau and Taiwan are inside it, with a margin, so the discontinuity at its edges
//! never matters for Chinese data.
//!
//! BD-09's tweak is applied everywhere (it is a pure function of GCJ-02), as in
//! coord-convert and prcoords; so outside the rectangle BD-09 is WGS84 plus Baidu's
//! tweak.
//!
//! # Inverses
//!
//! Neither forward function has a closed-form inverse (the usual "subtract the offset
//! computed at the wrong point" inverse is off by up to a few metres; Baidu's textbook
//! inverse formula is off by decimetres). We solve `forward(w) = g` by fixed-point
//! iteration `w ← w − (forward(w) − g)`: the offset changes by at most a few thousandths
//! of its own size per degree, so the iteration is a strong contraction and converges
//! in 2–4 steps to [`INVERSE_TOLERANCE_DEG`] (about 0.1 mm).

use std::f64::consts::PI;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, used by the GCJ-02 offset.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid (f = 1/298.3).
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943; // 0.00669342162296594323, to f64 precision
/// Baidu's angular constant.
const X_PI: f64 = PI * 3000.0 / 180.0;
/// Baidu's final shift, degrees of longitude.
const BD_DLON: f64 = 0.0065;
/// Baidu's final shift, degrees of latitude.
const BD_DLAT: f64 = 0.006;

/// The inverses stop once the forward image of the estimate is within this many
/// degrees of the target in both longitude and latitude (1e-9° ≈ 0.1 mm).
pub const INVERSE_TOLERANCE_DEG: f64 = 1e-9;
/// Cap on inverse iterations; convergence normally takes 2–4.
const MAX_ITERATIONS: usize = 30;

/// The rectangle inside which GCJ-02 differs from WGS84: `(west, south, east, north)`
/// in degrees (see the module docs for why a rectangle).
pub const GCJ02_BOX: (f64, f64, f64, f64) = (72.004, 0.8293, 137.8347, 55.8271);

/// True when GCJ-02 applies its offset at this WGS84 (or GCJ-02) point, i.e. the
/// point is inside [`GCJ02_BOX`] (edges included, as in the reference tools).
#[inline]
pub fn in_gcj02_box(lon: f64, lat: f64) -> bool {
    let (w, s, e, n) = GCJ02_BOX;
    (w..=e).contains(&lon) && (s..=n).contains(&lat)
}

/// The GCJ-02 offset in metres `(d_lon, d_lat)` at `x = lon − 105`, `y = lat − 35`:
/// the published `transformLon`/`transformLat` polynomials, sharing the term
/// common to both (the inverse evaluates this several times per point).
#[inline]
fn offset_m(x: f64, y: f64) -> (f64, f64) {
    let common = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    let sqrt_abs_x = x.abs().sqrt();
    let mut d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x;
    d_lat += common;
    d_lat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x;
    d_lon += common;
    d_lon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    (d_lon, d_lat)
}

/// WGS84 → GCJ-02, `(lon, lat)` in degrees. Identity outside [`GCJ02_BOX`].
#[inline]
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_gcj02_box(lon, lat) {
        return (lon, lat);
    }
    let (d_lon_m, d_lat_m) = offset_m(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let (sin_lat, cos_lat) = rad_lat.sin_cos();
    let magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat;
    let sqrt_magic = magic.sqrt();
    // Metres to degrees with the meridian and parallel radii of curvature.
    let d_lat =
        (d_lat_m * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon_m * 180.0) / (KRASOVSKY_A / sqrt_magic * cos_lat * PI);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 → BD-09, `(lon, lat)` in degrees. Applied everywhere (see module docs).
#[inline]
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lon, lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    (z * theta.cos() + BD_DLON, z * theta.sin() + BD_DLAT)
}

/// WGS84 → BD-09, `(lon, lat)` in degrees.
#[inline]
pub fn wgs84_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let (glon, glat) = wgs84_to_gcj02(lon, lat);
    gcj02_to_bd09(glon, glat)
}

/// Baidu's closed-form BD-09 → GCJ-02, good to a few decimetres only; used as the
/// starting point of the exact inverse.
#[inline]
fn bd09_to_gcj02_rough(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - BD_DLON;
    let y = lat - BD_DLAT;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// Solves `forward(w) = target` by fixed-point iteration from `start`.
///
/// Returns the last estimate even if it has not converged within
/// `MAX_ITERATIONS` (which only happens at the discontinuous edge of
/// [`GCJ02_BOX`], far from any Chinese data).
#[inline]
fn invert(
    forward: impl Fn(f64, f64) -> (f64, f64),
    target: (f64, f64),
    start: (f64, f64),
) -> (f64, f64) {
    let (tx, ty) = target;
    let (mut x, mut y) = start;
    for _ in 0..MAX_ITERATIONS {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (fx - tx, fy - ty);
        if dx.abs() < INVERSE_TOLERANCE_DEG && dy.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
        x -= dx;
        y -= dy;
    }
    (x, y)
}

/// GCJ-02 → WGS84, `(lon, lat)` in degrees: the exact inverse of [`wgs84_to_gcj02`]
/// (its forward image is within [`INVERSE_TOLERANCE_DEG`] of the input). Points
/// outside [`GCJ02_BOX`] are returned unchanged.
#[inline]
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !in_gcj02_box(lon, lat) || !lon.is_finite() || !lat.is_finite() {
        return (lon, lat);
    }
    invert(wgs84_to_gcj02, (lon, lat), (lon, lat))
}

/// BD-09 → GCJ-02, `(lon, lat)` in degrees: the exact inverse of [`gcj02_to_bd09`].
#[inline]
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !lon.is_finite() || !lat.is_finite() {
        return (lon, lat);
    }
    invert(gcj02_to_bd09, (lon, lat), bd09_to_gcj02_rough(lon, lat))
}

/// BD-09 → WGS84, `(lon, lat)` in degrees: the exact inverse of [`wgs84_to_bd09`].
#[inline]
pub fn bd09_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (glon, glat) = bd09_to_gcj02(lon, lat);
    gcj02_to_wgs84(glon, glat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_converges_in_few_steps() {
        // Not a reference check (that lives in tests/crs.rs with outside vectors):
        // only that the contraction argument in the module docs holds.
        let target = wgs84_to_gcj02(118.3163, 32.3036);
        let mut w = target;
        let mut steps = 0;
        loop {
            let f = wgs84_to_gcj02(w.0, w.1);
            let d = (f.0 - target.0, f.1 - target.1);
            if d.0.abs() < INVERSE_TOLERANCE_DEG && d.1.abs() < INVERSE_TOLERANCE_DEG {
                break;
            }
            w = (w.0 - d.0, w.1 - d.1);
            steps += 1;
        }
        assert!(steps <= 4, "{steps} steps");
    }

    #[test]
    fn box_edges() {
        assert!(in_gcj02_box(72.004, 0.8293));
        assert!(in_gcj02_box(137.8347, 55.8271));
        assert!(!in_gcj02_box(137.8348, 30.0));
        assert!(!in_gcj02_box(f64::NAN, 30.0));
    }
}
