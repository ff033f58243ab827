//! Coordinate reference systems: everything is brought to WGS84 longitude/latitude
//! on the way in, and can be taken back out on the way out.
//!
//! Chinese planning data arrives in three families of CRS:
//!
//! - **WGS84 / CGCS2000 longitude/latitude** (RFC 7946 GeoJSON, GPS, CGCS2000
//!   geographic EPSG:4490). CGCS2000 and WGS84 differ by centimetres, far below the
//!   accuracy of household points or camera positions, so we treat them as one:
//!   [`Crs::Wgs84`].
//! - **Projected survey CRSs** given by EPSG code, above all the CGCS2000 3-degree
//!   Gauss–Krüger zones (EPSG:4513–4554; e.g. EPSG:4549 for 120°E) used by land and
//!   planning bureaus. These go through PROJ ([`Crs::Epsg`]).
//! - **Web-map systems** GCJ-02 (Gaode/AMap, Tencent) and BD-09 (Baidu), which PROJ
//!   does not know: done in pure Rust in [`chinese`].
//!
//! Accuracy: PROJ picks the datum shift. CGCS2000 → WGS84 is a null ("ballpark")
//! shift, right to centimetres. For the old Beijing 1954 and Xi'an 1980 datums
//! (EPSG:4214, 4610 and the projected CRSs on them, e.g. EPSG:2385) no parameters
//! are published, so PROJ also applies a null shift and results can be off by tens
//! to a hundred metres: such data should be re-surveyed or converted by the bureau
//! that owns the local parameters.
//!
//! The entry points are [`Crs::parse`], [`Crs::to_wgs84`] and [`Crs::from_wgs84`].
//! Transformers are `Send + Sync + Clone`, and [`ToWgs84::convert_coords`] splits
//! large batches over rayon's threads.
//!
//! ```
//! use wangge::crs::Crs;
//! let crs = Crs::parse("urn:ogc:def:crs:EPSG::4549").unwrap();
//! let (lon, lat) = crs.to_wgs84().unwrap().convert(421_000.0, 3_575_000.0).unwrap();
//! assert!((lon - 119.16).abs() < 0.01 && (lat - 32.30).abs() < 0.01);
//! ```

mod area;
pub mod chinese;
mod error;
mod name;
#[cfg(feature = "epsg")]
mod proj_transform;
/// Without the `epsg` feature (no PROJ in the build) every EPSG code is
/// refused with [`CrsError::NoEpsgSupport`].
#[cfg(not(feature = "epsg"))]
#[path = "no_proj.rs"]
mod proj_transform;
#[cfg(feature = "epsg")]
mod wkt;

use geo_types::Coord;
use rayon::prelude::*;

pub use area::{AreaOfUse, DOMAIN_MARGIN_DEG};
pub use error::{At, CrsError};
pub use name::{cgcs2000_zone, WGS84_EQUIVALENT_EPSG};

use area::Direction;
use proj_transform::ProjOp;

/// A coordinate reference system that input layers may come in.
///
/// Build one with [`Crs::parse`] or [`Crs::epsg`] (which fold EPSG:4326 and
/// EPSG:4490 into [`Crs::Wgs84`]). `Display` gives the canonical name, which
/// `parse` reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// WGS84 longitude/latitude in degrees, lon first (OGC CRS84, the CRS of RFC 7946
    /// GeoJSON). Also stands for EPSG:4326 and for CGCS2000 (EPSG:4490).
    #[default]
    Wgs84,
    /// GCJ-02 longitude/latitude in degrees (Gaode/AMap, Tencent, Google China).
    Gcj02,
    /// BD-09 longitude/latitude in degrees (Baidu).
    Bd09,
    /// Any CRS from the EPSG registry that PROJ knows, with easting/northing (or
    /// lon/lat) order whatever the registry's official axis order.
    Epsg(u32),
}

impl Crs {
    /// True for [`Crs::Wgs84`] and the EPSG codes treated as WGS84.
    pub fn is_wgs84(&self) -> bool {
        match self {
            Crs::Wgs84 => true,
            Crs::Epsg(code) => WGS84_EQUIVALENT_EPSG.contains(code),
            _ => false,
        }
    }

    /// A transformer from this CRS to WGS84 longitude/latitude.
    ///
    /// For an EPSG code this asks PROJ: an unknown code gives
    /// [`CrsError::UnknownEpsg`], a code that is not a geographic or projected CRS
    /// gives [`CrsError::NotHorizontal`].
    pub fn to_wgs84(&self) -> Result<ToWgs84, CrsError> {
        Ok(ToWgs84(Transformer::new(*self, Direction::ToWgs84)?))
    }

    /// A transformer from WGS84 longitude/latitude to this CRS: the inverse of
    /// [`Crs::to_wgs84`], for round trips and for writing outputs in other CRSs.
    pub fn from_wgs84(&self) -> Result<FromWgs84, CrsError> {
        Ok(FromWgs84(Transformer::new(*self, Direction::FromWgs84)?))
    }
}

/// Whether EPSG:`code`'s official axis order puts latitude or northing first:
/// EPSG:4326 and 4490 are latitude/longitude, the CGCS2000 Gauss–Krüger zones
/// (EPSG:4491–4554) northing/easting, EPSG:3857 easting/northing. PROJ says,
/// from its database. Transformers always work easting (longitude) first;
/// OGC API – Features Part 2 answers in the official order, so the service
/// swaps where this says so.
pub fn northing_first(code: u32) -> Result<bool, CrsError> {
    proj_transform::northing_first(code)
}

/// Batches at least this long are split over rayon's threads.
const PARALLEL_MIN: usize = 16 * 1024;
/// Size of the pieces a batch is cut into: large enough to make PROJ's per-call
/// overhead (and ours) negligible, small enough to balance the threads.
const CHUNK: usize = 4 * 1024;

/// The work behind [`ToWgs84`] and [`FromWgs84`].
#[derive(Debug, Clone)]
enum Op {
    Identity,
    /// A pure-Rust function (the GCJ-02/BD-09 conversions).
    Chinese(fn(f64, f64) -> (f64, f64)),
    Proj(ProjOp),
}

#[derive(Debug, Clone)]
struct Transformer {
    crs: Crs,
    op: Op,
}

impl Transformer {
    fn new(crs: Crs, dir: Direction) -> Result<Transformer, CrsError> {
        use chinese::*;
        let to = dir == Direction::ToWgs84;
        let op = match crs {
            c if c.is_wgs84() => Op::Identity,
            Crs::Gcj02 => Op::Chinese(if to { gcj02_to_wgs84 } else { wgs84_to_gcj02 }),
            Crs::Bd09 => Op::Chinese(if to { bd09_to_wgs84 } else { wgs84_to_bd09 }),
            Crs::Epsg(code) => Op::Proj(ProjOp::new(code, dir)?),
            Crs::Wgs84 => unreachable!("handled by is_wgs84"),
        };
        Ok(Transformer { crs, op })
    }

    fn area_of_use(&self) -> Option<AreaOfUse> {
        match &self.op {
            Op::Proj(p) => p.area_of_use(),
            _ => None,
        }
    }

    fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        match &self.op {
            Op::Identity => Ok((x, y)),
            Op::Chinese(f) => {
                if x.is_finite() && y.is_finite() {
                    Ok(f(x, y))
                } else {
                    Err(CrsError::NonFinite { at: At(None), x, y })
                }
            }
            Op::Proj(p) => p.convert(x, y),
        }
    }

    /// Converts one chunk; error indices are relative to the chunk.
    fn convert_chunk(&self, chunk: &mut [Coord]) -> Result<(), CrsError> {
        match &self.op {
            Op::Identity => Ok(()),
            Op::Chinese(f) => {
                for (i, c) in chunk.iter_mut().enumerate() {
                    if !c.x.is_finite() || !c.y.is_finite() {
                        return Err(CrsError::NonFinite {
                            at: At(Some(i)),
                            x: c.x,
                            y: c.y,
                        });
                    }
                    (c.x, c.y) = f(c.x, c.y);
                }
                Ok(())
            }
            Op::Proj(p) => p.convert_chunk(chunk),
        }
    }

    fn convert_coords(&self, coords: &mut [Coord]) -> Result<(), CrsError> {
        if matches!(self.op, Op::Identity) {
            return Ok(());
        }
        if coords.len() < PARALLEL_MIN {
            return self.convert_chunk(coords);
        }
        // Collecting all results (rather than try_for_each) makes the reported
        // error the first one in the slice, whatever the thread timing.
        let results: Vec<Result<(), CrsError>> = coords
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(k, chunk)| {
                self.convert_chunk(chunk)
                    .map_err(|e| e.offset_by(k * CHUNK))
            })
            .collect();
        results.into_iter().collect()
    }
}

/// Converts coordinates of one CRS to WGS84 longitude/latitude.
///
/// Built by [`Crs::to_wgs84`]. `Send + Sync` and cheap to clone: share one across
/// threads freely.
#[derive(Debug, Clone)]
pub struct ToWgs84(Transformer);

impl ToWgs84 {
    /// The source CRS.
    pub fn crs(&self) -> Crs {
        self.0.crs
    }

    /// True when conversion is the identity (the source is WGS84).
    pub fn is_identity(&self) -> bool {
        matches!(self.0.op, Op::Identity)
    }

    /// Where the source CRS is meant to be used (EPSG codes only), in WGS84
    /// degrees. Points more than [`DOMAIN_MARGIN_DEG`] outside it are refused
    /// with [`CrsError::OutOfDomain`].
    pub fn area_of_use(&self) -> Option<AreaOfUse> {
        self.0.area_of_use()
    }

    /// Converts one coordinate (`x` = easting or longitude) to `(lon, lat)`.
    ///
    /// For WGS84 the input is returned as is, unchecked (validating ranges is the
    /// GeoJSON layer's job); otherwise non-finite input, PROJ failures and points
    /// far outside the CRS's area of use are errors.
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        self.0.convert(x, y)
    }

    /// Converts coordinates in place to WGS84 `(lon, lat)`.
    ///
    /// A no-op for WGS84. Batches of 16k coordinates or more are split over rayon's
    /// threads (it is safe to call from inside rayon work). On error the slice is
    /// left partly converted, and the error's [`CrsError::index`] is the first bad
    /// coordinate.
    pub fn convert_coords(&self, coords: &mut [Coord<f64>]) -> Result<(), CrsError> {
        self.0.convert_coords(coords)
    }
}

/// Converts WGS84 longitude/latitude to one CRS: the inverse of [`ToWgs84`].
///
/// Built by [`Crs::from_wgs84`]. `Send + Sync` and cheap to clone.
#[derive(Debug, Clone)]
pub struct FromWgs84(Transformer);

impl FromWgs84 {
    /// The target CRS.
    pub fn crs(&self) -> Crs {
        self.0.crs
    }

    /// True when conversion is the identity (the target is WGS84).
    pub fn is_identity(&self) -> bool {
        matches!(self.0.op, Op::Identity)
    }

    /// Where the target CRS is meant to be used (EPSG codes only); see
    /// [`ToWgs84::area_of_use`].
    pub fn area_of_use(&self) -> Option<AreaOfUse> {
        self.0.area_of_use()
    }

    /// Converts one `(lon, lat)` to the target CRS's `(x, y)` (easting first).
    pub fn convert(&self, lon: f64, lat: f64) -> Result<(f64, f64), CrsError> {
        self.0.convert(lon, lat)
    }

    /// Converts `(lon, lat)` coordinates in place; as [`ToWgs84::convert_coords`].
    pub fn convert_coords(&self, coords: &mut [Coord<f64>]) -> Result<(), CrsError> {
        self.0.convert_coords(coords)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn transformers_are_send_sync() {
        assert_send_sync::<ToWgs84>();
        assert_send_sync::<FromWgs84>();
        assert_send_sync::<CrsError>();
    }
}
