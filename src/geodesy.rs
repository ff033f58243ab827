//! Metric helpers shared by the engines: a local tangent-plane frame that turns
//! longitude/latitude into metres with error far below 0.01 % over a county.

use geo_types::{Coord, Point};

/// WGS84 semi-major axis, metres.
pub const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// A local east/north frame in metres around an origin, using the ellipsoid's
/// radii of curvature at the origin's latitude. Good to about 1e-4 relative within
/// a few tens of kilometres; engines split larger extents into several frames.
#[derive(Debug, Clone, Copy)]
pub struct LocalFrame {
    lon0: f64,
    lat0: f64,
    /// Metres per degree of longitude at the origin.
    m_per_deg_lon: f64,
    /// Metres per degree of latitude at the origin.
    m_per_deg_lat: f64,
}

impl LocalFrame {
    /// A frame centred on `origin` (longitude, latitude in degrees).
    pub fn new(origin: Point<f64>) -> Self {
        let lat = origin.y().to_radians();
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let s = lat.sin();
        let w = (1.0 - e2 * s * s).sqrt();
        // Prime-vertical and meridional radii of curvature.
        let n = WGS84_A / w;
        let m = WGS84_A * (1.0 - e2) / (w * w * w);
        LocalFrame {
            lon0: origin.x(),
            lat0: origin.y(),
            m_per_deg_lon: (n * lat.cos()).to_radians(),
            m_per_deg_lat: m.to_radians(),
        }
    }

    /// Degrees to local metres (east, north).
    #[inline]
    pub fn to_local(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.lon0) * self.m_per_deg_lon,
            y: (c.y - self.lat0) * self.m_per_deg_lat,
        }
    }

    /// Local metres back to degrees.
    #[inline]
    pub fn to_degrees(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: c.x / self.m_per_deg_lon + self.lon0,
            y: c.y / self.m_per_deg_lat + self.lat0,
        }
    }
}
