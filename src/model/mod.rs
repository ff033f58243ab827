//! Plain data types shared by every part of wangge.
//!
//! The engines (`partition`, `coverage`) take and return these types only: they
//! never see GeoJSON text, HTTP or storage. All geometry is WGS84 longitude/latitude
//! in degrees (`x` = longitude, `y` = latitude); engines that need metres project
//! locally themselves.

mod rules;

pub use rules::{
    list_codes, AreaRules, Rules, RulesError, MAX_AREA_RULES, MAX_HOUSEHOLDS, MAX_PERSONS,
};

use geo_types::{MultiLineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Serialize};

/// Properties of an input feature kept verbatim (JSON object text), so outputs can
/// carry them back without the engines knowing their shape.
pub type RawProperties = Option<Box<serde_json::value::RawValue>>;

/// The kind of an area, which picks its rule preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AreaKind {
    /// Urban community: comprehensive grids of 300–500 households.
    #[default]
    Urban,
    /// Rural village: grids of 150–400 households, about 300.
    Rural,
}

/// A village, community or any polygon with a code that grids are drawn inside.
#[derive(Debug, Clone)]
pub struct Area {
    /// Unique code (GB/T 2260 style for Chinese divisions), kept as text.
    pub code: String,
    pub name: Option<String>,
    pub kind: AreaKind,
    pub geometry: MultiPolygon<f64>,
    pub properties: RawProperties,
}

/// One household location with its counts. A MultiPoint input feature becomes
/// several `Household`s sharing `feature` and counts.
#[derive(Debug, Clone)]
pub struct Household {
    pub location: Point<f64>,
    /// Number of households at this location (≥ 0, default 1).
    pub households: u32,
    /// Number of residents, when known.
    pub persons: Option<u32>,
    pub id: Option<String>,
    /// Index of the input feature this location came from.
    pub feature: usize,
    pub properties: RawProperties,
}

/// The kind of camera, which decides the field-of-view default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraType {
    /// Fixed dome: sees all around unless `fov_deg` says otherwise.
    Dome,
    /// Fixed bullet camera: a narrow sector.
    Bullet,
    /// Pan-tilt-zoom: can turn to any bearing, so treated as 360°.
    Ptz,
}

/// A surveillance camera as the coverage engine sees it.
#[derive(Debug, Clone)]
pub struct Camera {
    pub id: String,
    pub location: Point<f64>,
    pub camera_type: CameraType,
    /// Compass bearing of the view axis, degrees clockwise from north, in [0, 360).
    pub azimuth_deg: f64,
    /// Horizontal field of view in degrees, 0 < fov ≤ 360.
    pub fov_deg: f64,
    /// Effective range in metres, > 0.
    pub range_m: f64,
    pub online: bool,
    pub height_m: Option<f64>,
    pub feature: usize,
    pub properties: RawProperties,
}

/// A building footprint that blocks sight lines.
#[derive(Debug, Clone)]
pub struct Building {
    pub geometry: MultiPolygon<f64>,
    pub feature: usize,
}

/// A road, river, railway or wall that grids should not straddle.
#[derive(Debug, Clone)]
pub struct Barrier {
    pub geometry: MultiLineString<f64>,
    pub kind: Option<String>,
    pub feature: usize,
}

/// A key site that must be watched (village entrance, intersection, school …).
#[derive(Debug, Clone)]
pub struct Site {
    pub location: Point<f64>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub feature: usize,
    pub properties: RawProperties,
}

/// A possible new camera site.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub location: Point<f64>,
    pub feature: usize,
    pub properties: RawProperties,
}

/// A proposed or adopted service grid.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Unique code beginning with the area's code.
    pub code: String,
    /// The area's code.
    pub parent_code: String,
    pub geometry: MultiPolygon<f64>,
    pub households: u64,
    pub persons: u64,
    pub area_m2: f64,
    /// Polsby–Popper compactness 4πA/P², in (0, 1].
    pub compactness: f64,
    /// Barrier length running through the grid's interior, in metres.
    pub barrier_length_m: f64,
    pub within_rules: bool,
    /// Reasons the grid breaks the rules; empty when `within_rules`.
    pub issues: Vec<String>,
}

/// Convenience: a single polygon as a multipolygon.
pub fn to_multi(p: Polygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(vec![p])
}
