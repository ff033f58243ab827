//! Metric helpers shared by the engines: a local tangent-plane frame that turns
//! longitude/latitude into metres with error far below 0.01 % over a county.

use geo_types::{Coord, Point};

/// WGS84 semi-major axis, metres.
pub const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// `bbox` (`[min_lon, min_lat, max_lon, max_lat]`) grown by `metres` on
/// every side, so that every point within `metres` of the box lies inside
/// the result: what a county shard reads of the cameras and buildings that
/// can see into, or stand between, its households. Degrees are counted at
/// the fewest metres per degree the grown box reaches (its latitude
/// farthest from the equator for longitude, the equator's meridional radius
/// for latitude), with 1 % to spare.
pub fn grow_box(bbox: [f64; 4], metres: f64) -> [f64; 4] {
    let equator = LocalFrame::new(Point::new(0.0, 0.0));
    let dlat = metres / equator.m_per_deg_lat * 1.01;
    let far = (bbox[1].abs().max(bbox[3].abs()) + dlat).min(89.9);
    let dlon = metres / LocalFrame::new(Point::new(0.0, far)).m_per_deg_lon * 1.01;
    [
        bbox[0] - dlon,
        (bbox[1] - dlat).max(-90.0),
        bbox[2] + dlon,
        (bbox[3] + dlat).min(90.0),
    ]
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Destination, Geodesic};

    /// Points just inside `metres` of a box's corners and edges, at every
    /// bearing, on the ellipsoid (Karney's geodesics), fall in the grown box.
    #[test]
    fn a_grown_box_holds_everything_within_reach() {
        for (lat, metres) in [(0.0, 3000.0), (32.0, 3000.0), (53.5, 50.0), (-40.0, 3000.0)] {
            let b = [118.0, lat, 118.2, lat + 0.1];
            let g = grow_box(b, metres);
            let corners = [(b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])];
            for (x, y) in corners {
                for bearing in (0..360).step_by(5) {
                    let p = Geodesic.destination(Point::new(x, y), bearing as f64, metres);
                    assert!(
                        p.x() >= g[0] && p.x() <= g[2] && p.y() >= g[1] && p.y() <= g[3],
                        "{p:?} ({metres} m from {x},{y}) is outside {g:?}"
                    );
                }
            }
            // Not much more than asked: within 2 % of a degree's metres.
            let frame = LocalFrame::new(Point::new(0.0, 0.0));
            assert!((b[1] - g[1]) * frame.m_per_deg_lat < metres * 1.02);
        }
    }
}
