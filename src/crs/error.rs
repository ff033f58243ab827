//! The one error type of the `crs` module.

use std::fmt;

use super::Crs;

/// Where in a batch a coordinate was: `None` for a single [`convert`] call.
///
/// Kept in the error so that the GeoJSON layer can report which vertex of which
/// feature was wrong.
///
/// [`convert`]: super::ToWgs84::convert
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At(pub Option<usize>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(i) => write!(f, "coordinate #{i} "),
            None => Ok(()),
        }
    }
}

/// Why a CRS name could not be used or a coordinate could not be transformed.
///
/// Every variant is the caller's input being wrong (a bad name, a code PROJ does not
/// know, a coordinate out of range), so the service maps all of them to 4xx.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    /// The text is not a CRS name we accept (see [`Crs::parse`]).
    #[error(
        "unknown CRS {name:?}: expected EPSG:<code>, CRS84, GCJ02 or BD09 \
         (or an OGC URN/URI such as urn:ogc:def:crs:EPSG::4549)"
    )]
    UnknownName {
        /// The text as given.
        name: String,
    },

    /// A WKT definition (a Shapefile's `.prj`, a GeoPackage's spatial reference
    /// system) that PROJ cannot read or cannot match to an EPSG code.
    #[error("the CRS definition {wkt:?} cannot be used: {reason}")]
    BadWkt {
        /// The start of the definition.
        wkt: String,
        /// What PROJ said, or why no code matched.
        reason: String,
    },

    /// The EPSG code is well formed but PROJ's database does not have it.
    #[error("EPSG:{code} is not a code PROJ knows: {reason}")]
    UnknownEpsg {
        /// The code.
        code: u32,
        /// PROJ's own message.
        reason: String,
    },

    /// This build of wangge has no PROJ (built without the `epsg` feature, as
    /// the engine-only build is), so no EPSG code can be converted.
    #[error(
        "EPSG:{code} cannot be used: this build of wangge has no EPSG support \
         (built without the `epsg` feature, so without PROJ); use CRS84, GCJ02 or \
         BD09, or a build with default features"
    )]
    NoEpsgSupport {
        /// The code.
        code: u32,
    },

    /// The code names something that has no longitude/latitude or easting/northing
    /// to convert: a geocentric, vertical or engineering CRS, or not a CRS at all (an
    /// ellipsoid, a datum, a transformation).
    #[error(
        "EPSG:{code} is a {kind}, not a geographic or projected CRS whose \
         coordinates can be converted to longitude/latitude"
    )]
    NotHorizontal {
        /// The code.
        code: u32,
        /// What PROJ says it is, in words (from the PROJJSON `type`).
        kind: String,
    },

    /// PROJ knows both ends but could not build an operation between them.
    #[error("PROJ could not build a transformation from {from} to {to}: {reason}")]
    NoTransformation {
        /// Source CRS.
        from: Crs,
        /// Target CRS.
        to: Crs,
        /// PROJ's own message.
        reason: String,
    },

    /// An input coordinate is NaN or infinite.
    #[error("{at}({x}, {y}) is not a pair of finite numbers")]
    NonFinite {
        /// Position in the batch.
        at: At,
        /// Input x (easting or longitude).
        x: f64,
        /// Input y (northing or latitude).
        y: f64,
    },

    /// The coordinate lies far outside where the CRS is meant to be used, which
    /// almost always means the data is in another CRS, or has x and y swapped.
    #[error(
        "{at}({x}, {y}) in {crs} lies at lon {lon:.4}, lat {lat:.4}, far outside the \
         area of use of {crs} ({area}); check the CRS, and that x is the easting \
         (Chinese survey data often lists the northing X first)"
    )]
    OutOfDomain {
        /// Position in the batch.
        at: At,
        /// The CRS whose area of use was left.
        crs: Crs,
        /// Input x.
        x: f64,
        /// Input y.
        y: f64,
        /// The coordinate as WGS84 longitude.
        lon: f64,
        /// The coordinate as WGS84 latitude.
        lat: f64,
        /// The area of use, as text.
        area: String,
    },

    /// PROJ refused the coordinate, or gave a non-finite or impossible result.
    #[error("{at}({x}, {y}) could not be transformed from {from} to {to}: {reason}")]
    Transform {
        /// Position in the batch.
        at: At,
        /// Source CRS.
        from: Crs,
        /// Target CRS.
        to: Crs,
        /// Input x.
        x: f64,
        /// Input y.
        y: f64,
        /// PROJ's message, or what was wrong with the result.
        reason: String,
    },
}

impl CrsError {
    /// The batch index of the offending coordinate, for errors about one coordinate.
    pub fn index(&self) -> Option<usize> {
        match self {
            CrsError::NonFinite { at, .. }
            | CrsError::OutOfDomain { at, .. }
            | CrsError::Transform { at, .. } => at.0,
            _ => None,
        }
    }

    /// The same error with its batch index shifted by `offset` (used when a batch
    /// is converted in chunks), or set to `offset` for a single-point error.
    pub(crate) fn offset_by(mut self, offset: usize) -> Self {
        if let CrsError::NonFinite { at, .. }
        | CrsError::OutOfDomain { at, .. }
        | CrsError::Transform { at, .. } = &mut self
        {
            at.0 = Some(at.0.unwrap_or(0) + offset);
        }
        self
    }
}
