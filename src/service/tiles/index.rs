//! A collection's geometries in Web Mercator, built once per layer version
//! and shared by every tile request for it.
//!
//! Tiles are cut from projected coordinates, so projecting (and parsing the
//! stored GeoJSON geometry) once per layer version instead of once per tile
//! is what keeps a tile of a million-household layer cheap. The candidates of
//! a tile come from the collection's own R-tree of lon/lat boxes
//! ([`super::super::features::FeatureSet`]); this index adds what the R-tree
//! lacks: every feature's shape in world coordinates (`x` east, `y` south, both
//! in `[0, 1]` over the whole Web Mercator square), and the layer's fields
//! for the tileset document.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::store::StoredFeature;

/// The largest latitude Web Mercator shows (the square's edge).
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A point in world coordinates: `[x, y]` in `[0, 1]`, `y` growing south.
pub type World = [f64; 2];

/// A feature's geometry in world coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// No geometry (a null geometry or one this index cannot tile).
    Empty,
    Points(Vec<World>),
    Lines(Vec<Vec<World>>),
    /// Polygons, each as its rings (exterior first), rings open (the closing
    /// vertex dropped).
    Polygons(Vec<Vec<Vec<World>>>),
}

/// A lon/lat position in world coordinates.
pub fn to_world(lon: f64, lat: f64) -> World {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y =
        0.5 - (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln() / (2.0 * std::f64::consts::PI);
    [x, y]
}

/// The lon/lat of a world position.
pub fn to_lon_lat(p: World) -> [f64; 2] {
    let lon = p[0] * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * p[1]))
        .sinh()
        .atan()
        .to_degrees();
    [lon, lat]
}

/// What the tileset document says about a property: its type, as TileJSON's
/// `vector_layers[].fields` names them.
fn field_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::String(_) => Some("String"),
        Value::Number(_) => Some("Number"),
        Value::Bool(_) => Some("Boolean"),
        // Arrays and objects are not carried in tiles (their text twins are).
        _ => None,
    }
}

/// A move of every `(lon, lat)` before projecting (WGS84 → GCJ-02).
pub type Shift = fn(f64, f64) -> (f64, f64);

/// The projected shapes of a collection, in the collection's order.
pub struct TileIndex {
    pub shapes: Vec<Shape>,
    /// Property name → type, over every feature (a name whose type differs
    /// between features is `String`, as tile clients read it as text).
    pub fields: BTreeMap<String, &'static str>,
}

#[derive(serde::Deserialize)]
struct Parts {
    #[serde(default)]
    geometry: Option<geojson::Geometry>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

fn ring(r: &geo_types::LineString<f64>) -> Vec<World> {
    let mut out: Vec<World> = r.0.iter().map(|c| to_world(c.x, c.y)).collect();
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

fn line(l: &geo_types::LineString<f64>) -> Vec<World> {
    l.0.iter().map(|c| to_world(c.x, c.y)).collect()
}

fn polygon(p: &geo_types::Polygon<f64>) -> Vec<Vec<World>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(ring)
        .collect()
}

/// The shape of a geometry (a collection is taken as its first tileable
/// member; the service stores none).
pub fn shape_of(g: &geo_types::Geometry<f64>) -> Shape {
    use geo_types::Geometry as G;
    match g {
        G::Point(p) => Shape::Points(vec![to_world(p.x(), p.y())]),
        G::MultiPoint(ps) => Shape::Points(ps.iter().map(|p| to_world(p.x(), p.y())).collect()),
        G::Line(l) => Shape::Lines(vec![vec![
            to_world(l.start.x, l.start.y),
            to_world(l.end.x, l.end.y),
        ]]),
        G::LineString(l) => Shape::Lines(vec![line(l)]),
        G::MultiLineString(ls) => Shape::Lines(ls.iter().map(line).collect()),
        G::Polygon(p) => Shape::Polygons(vec![polygon(p)]),
        G::MultiPolygon(ps) => Shape::Polygons(ps.iter().map(polygon).collect()),
        G::Rect(r) => Shape::Polygons(vec![polygon(&r.to_polygon())]),
        G::Triangle(t) => Shape::Polygons(vec![polygon(&t.to_polygon())]),
        G::GeometryCollection(gs) => gs
            .iter()
            .map(shape_of)
            .find(|s| *s != Shape::Empty)
            .unwrap_or(Shape::Empty),
    }
}

impl TileIndex {
    /// Parses and projects every feature (in parallel).
    pub fn build(features: &[StoredFeature]) -> TileIndex {
        Self::build_shifted(features, None)
    }

    /// [`TileIndex::build`] with every position first moved by `shift`
    /// (WGS84 → GCJ-02, for tiles over a GCJ-02 base map).
    pub fn build_shifted(features: &[StoredFeature], shift: Option<Shift>) -> TileIndex {
        use geo::MapCoordsInPlace;
        let parsed: Vec<(Shape, BTreeMap<String, &'static str>)> = features
            .par_iter()
            .map(|f| match serde_json::from_str::<Parts>(&f.json) {
                Ok(p) => {
                    let shape = p
                        .geometry
                        .and_then(|g| geo_types::Geometry::<f64>::try_from(&g.value).ok())
                        .map(|mut g| {
                            if let Some(shift) = shift {
                                g.map_coords_in_place(|c| shift(c.x, c.y).into());
                            }
                            g
                        })
                        .map_or(Shape::Empty, |g| shape_of(&g));
                    let fields = p
                        .properties
                        .iter()
                        .flatten()
                        .filter_map(|(k, v)| Some((k.clone(), field_type(v)?)))
                        .collect();
                    (shape, fields)
                }
                // Stored features were written by this service; one that does
                // not parse is not drawn rather than failing every tile.
                Err(_) => (Shape::Empty, BTreeMap::new()),
            })
            .collect();
        let mut fields: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut shapes = Vec::with_capacity(parsed.len());
        for (shape, f) in parsed {
            for (k, t) in f {
                let e = fields.entry(k).or_insert(t);
                if *e != t {
                    *e = "String";
                }
            }
            shapes.push(shape);
        }
        fields.entry("id".into()).or_insert("String");
        TileIndex { shapes, fields }
    }

    /// Approximate memory held, bytes.
    pub fn bytes(&self) -> usize {
        let world = std::mem::size_of::<World>();
        self.shapes
            .iter()
            .map(|s| {
                std::mem::size_of::<Shape>()
                    + match s {
                        Shape::Empty => 0,
                        Shape::Points(p) => p.len() * world,
                        Shape::Lines(l) => l.iter().map(|l| l.len() * world + 24).sum(),
                        Shape::Polygons(p) => p
                            .iter()
                            .flatten()
                            .map(|r| r.len() * world + 24)
                            .sum::<usize>(),
                    }
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips_and_has_known_corners() {
        assert_eq!(to_world(-180.0, MAX_LAT)[0], 0.0);
        assert!(to_world(-180.0, MAX_LAT)[1].abs() < 1e-12);
        assert!((to_world(0.0, 0.0)[1] - 0.5).abs() < 1e-15);
        for (lon, lat) in [(118.3, 32.3), (-70.5, -33.4), (0.0, 0.0)] {
            let back = to_lon_lat(to_world(lon, lat));
            assert!((back[0] - lon).abs() < 1e-9 && (back[1] - lat).abs() < 1e-9);
        }
    }
}
