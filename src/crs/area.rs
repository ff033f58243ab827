//! What the transforms share whether or not the build has PROJ: which way a
//! transform goes, and a CRS's area of use.

/// How far (degrees) a point may lie outside the area of use of a CRS before we
/// call it out of domain. Generous on purpose: a city often keeps one Gauss–Krüger
/// zone for land that spills into the next one, which PROJ handles fine; what we
/// want to catch is data in the wrong CRS or with X and Y swapped, which lands
/// tens of degrees away (or fails in PROJ outright).
pub const DOMAIN_MARGIN_DEG: f64 = 10.0;

/// Which way a PROJ transformer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// EPSG:n → WGS84 lon/lat.
    ToWgs84,
    /// WGS84 lon/lat → EPSG:n.
    FromWgs84,
}

/// The area of use of a CRS, in WGS84 degrees. `west > east` when it crosses the
/// antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaOfUse {
    /// Western bound, degrees of longitude.
    pub west: f64,
    /// Southern bound, degrees of latitude.
    pub south: f64,
    /// Eastern bound, degrees of longitude.
    pub east: f64,
    /// Northern bound, degrees of latitude.
    pub north: f64,
}

impl AreaOfUse {
    /// True when `(lon, lat)` is inside the area widened by `margin` degrees.
    pub fn contains_with_margin(&self, lon: f64, lat: f64, margin: f64) -> bool {
        if lat < self.south - margin || lat > self.north + margin {
            return false;
        }
        // Work on the circle, so that antimeridian-crossing areas (west > east) and
        // margins spilling over ±180° need no special case.
        let span = (self.east - self.west).rem_euclid(360.0);
        let span = if span == 0.0 && self.east != self.west {
            360.0
        } else {
            span
        };
        let width = span + 2.0 * margin;
        width >= 360.0 || (lon - (self.west - margin)).rem_euclid(360.0) <= width
    }
}

impl std::fmt::Display for AreaOfUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lon {:.2}..{:.2}, lat {:.2}..{:.2}",
            self.west, self.east, self.south, self.north
        )
    }
}
