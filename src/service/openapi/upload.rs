//! The upload bodies: one FeatureCollection schema per layer kind, with the
//! geometry types and properties that kind reads (`layers/kinds.rs`,
//! [`crate::layers::previous`]) and a real example, so a schema-driven client
//! sends features the reader takes.
//!
//! What JSON Schema cannot say is checked per feature: a polygon that crosses
//! itself, a camera narrower than 360° without an azimuth. Such a feature is
//! a rejection in the report (the others are stored); a layer where no
//! feature can be accepted answers 422.

use serde_json::{json, Value};

use crate::bounds;

/// A position: longitude, latitude (and a height, ignored).
fn position() -> Value {
    json!({"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number", "minimum": -180, "maximum": 180}})
}

fn geometry(kinds: &[&str]) -> Value {
    let one = |kind: &str| {
        let coords = match kind {
            "Point" => position(),
            "MultiPoint" => json!({"type": "array", "minItems": 1, "items": position()}),
            "LineString" => json!({"type": "array", "minItems": 2, "items": position()}),
            "MultiLineString" => {
                json!({"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 2, "items": position()}})
            }
            "Polygon" => polygon(),
            _ => json!({"type": "array", "minItems": 1, "items": polygon()}),
        };
        json!({"type": "object", "required": ["type", "coordinates"], "properties": {
            "type": {"type": "string", "enum": [kind]}, "coordinates": coords}})
    };
    if kinds.len() == 1 {
        one(kinds[0])
    } else {
        json!({"oneOf": kinds.iter().map(|k| one(k)).collect::<Vec<_>>()})
    }
}

/// Closed rings of four positions or more; the first is the outer ring.
fn polygon() -> Value {
    json!({"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 4, "items": position()}})
}

fn text() -> Value {
    json!({"type": "string", "nullable": true})
}

fn count(max: u64) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": max, "nullable": true})
}

/// The geometry types and properties of an uploaded feature of `layer`.
fn feature_parts(layer: &str) -> (Value, Value, Vec<&'static str>) {
    let code = json!({"oneOf": [{"type": "string", "minLength": 1, "pattern": "\\S"}, {"type": "integer", "minimum": 0}]});
    match layer {
        "areas" => (
            geometry(&["Polygon", "MultiPolygon"]),
            json!({"code": code, "name": text(),
                   "kind": {"type": "string", "enum": ["urban", "rural", "URBAN", "RURAL", "Urban", "Rural"], "nullable": true}}),
            vec!["code"],
        ),
        "households" => (
            geometry(&["Point", "MultiPoint"]),
            json!({"id": text(), "households": count(bounds::MAX_HOUSEHOLDS), "persons": count(bounds::MAX_PERSONS)}),
            vec![],
        ),
        "cameras" => (
            geometry(&["Point"]),
            json!({"id": text(),
                   "type": {"type": "string", "enum": ["dome", "bullet", "ptz"], "nullable": true},
                   "azimuth_deg": {"type": "number", "nullable": true},
                   "fov_deg": {"type": "number", "exclusiveMinimum": 0, "maximum": 360, "nullable": true},
                   "range_m": {"type": "number", "exclusiveMinimum": 0, "maximum": bounds::MAX_RANGE_M, "nullable": true},
                   "online": {"type": "boolean", "nullable": true},
                   "height_m": {"type": "number", "nullable": true}}),
            vec![],
        ),
        "buildings" => (geometry(&["Polygon", "MultiPolygon"]), json!({}), vec![]),
        "barriers" => (
            geometry(&["LineString", "MultiLineString"]),
            json!({"kind": text()}),
            vec![],
        ),
        "sites" => (
            geometry(&["Point"]),
            json!({"kind": text(), "name": text()}),
            vec![],
        ),
        "candidates" => (geometry(&["Point"]), json!({"id": text()}), vec![]),
        // Adopted grids, as `wangge partition` writes them.
        _ => (
            geometry(&["Polygon", "MultiPolygon"]),
            json!({"code": code, "parent_code": code,
                   "households": count(u64::MAX >> 12), "persons": count(u64::MAX >> 12),
                   "area_m2": {"type": "number", "nullable": true},
                   "compactness": {"type": "number", "nullable": true},
                   "barrier_length_m": {"type": "number", "nullable": true},
                   "within_rules": {"type": "boolean", "nullable": true},
                   "issues": {"type": "array", "items": {"type": "string"}, "nullable": true}}),
            vec!["code", "parent_code"],
        ),
    }
}

/// A real feature of `layer`, for the examples.
fn example_feature(layer: &str) -> Value {
    let square = json!({"type": "Polygon", "coordinates": [[[118.30, 32.30], [118.31, 32.30], [118.31, 32.31], [118.30, 32.31], [118.30, 32.30]]]});
    let point = json!({"type": "Point", "coordinates": [118.305, 32.305]});
    let (geometry, properties) = match layer {
        "areas" => (
            square,
            json!({"code": "341102001001", "name": "琅琊村", "kind": "rural"}),
        ),
        "households" => (point, json!({"id": "h1", "households": 12, "persons": 30})),
        "cameras" => (
            point,
            json!({"id": "c1", "type": "bullet", "azimuth_deg": 90, "fov_deg": 60, "range_m": 40}),
        ),
        "buildings" => (
            json!({"type": "Polygon", "coordinates": [[[118.3052, 32.3052], [118.3054, 32.3052], [118.3054, 32.3054], [118.3052, 32.3054], [118.3052, 32.3052]]]}),
            json!({}),
        ),
        "barriers" => (
            json!({"type": "LineString", "coordinates": [[118.30, 32.303], [118.31, 32.303]]}),
            json!({"kind": "road"}),
        ),
        "sites" => (point, json!({"kind": "school", "name": "琅琊小学"})),
        "candidates" => (point, json!({"id": "k1"})),
        _ => (
            square,
            json!({"code": "341102001001001", "parent_code": "341102001001", "households": 12, "persons": 30}),
        ),
    };
    json!({"type": "Feature", "properties": properties, "geometry": geometry})
}

/// The schema of an upload of `layer` (an input kind, or `grids`).
pub fn collection_schema(layer: &str) -> Value {
    let (geometry, properties, required) = feature_parts(layer);
    let mut props = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        props["required"] = json!(required);
    }
    let feature = json!({"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": geometry,
        "properties": props}});
    json!({"type": "object", "required": ["type", "features"],
           "properties": {
               "type": {"type": "string", "enum": ["FeatureCollection"]},
               "features": {"type": "array", "minItems": 1, "items": feature}},
           "example": {"type": "FeatureCollection", "features": [example_feature(layer)]}})
}
