//! A collection's geometries in Web Mercator, built once per layer version
//! and shared by every tile request for it.
//!
//! Tiles are cut from projected coordinates, so projecting (and parsing the
//! stored GeoJSON geometry) once per layer version instead of once per tile
//! is what keeps a tile of a million-household layer cheap. The candidates of
//! a tile come from the collection's own R-tree of lon/lat boxes
//! ([`super::super::features::FeatureSet`]); this index adds what the R-tree
//! lacks: every feature's shape in world coordinates (`x` east, `y` south, both
//! in `[0, 1]` over the whole Web Mercator square), every feature's properties
//! already encoded as MVT tags ([`Tags`]), and the layer's fields for the
//! tileset document.

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
    /// One point, held inline: a tile of a million households reads tens of
    /// thousands of them, and a pointer to follow for each would be a cache
    /// miss each.
    Point(World),
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

/// A collection's properties as MVT tags, encoded once per layer version so
/// that a tile copies bytes instead of parsing stored JSON per feature: one
/// dictionary of keys and one of distinct values (each value kept as the body
/// of its protobuf `Value` message) for the whole layer, and per feature its
/// (key, value) pairs as indices into them. A tile renumbers the entries it
/// uses into its own layer's tables ([`super::encode`]).
#[derive(Default)]
pub struct Tags {
    /// Property names, in order of first appearance.
    pub keys: Vec<String>,
    /// The distinct values' `Value` message bodies, end to end.
    values: Vec<u8>,
    /// Where each value starts in `values` (one more entry than values).
    value_at: Vec<u32>,
    /// Every feature's (key, value) pairs, end to end.
    pairs: Vec<[u32; 2]>,
    /// Where each feature's pairs start (one more entry than features).
    pair_at: Vec<u32>,
}

impl Tags {
    /// The (key, value) pairs of the feature at `position`.
    pub fn of(&self, position: usize) -> &[[u32; 2]] {
        let (a, b) = (self.pair_at[position], self.pair_at[position + 1]);
        &self.pairs[a as usize..b as usize]
    }

    /// The `Value` message body of value `v`.
    pub fn value(&self, v: u32) -> &[u8] {
        let (a, b) = (self.value_at[v as usize], self.value_at[v as usize + 1]);
        &self.values[a as usize..b as usize]
    }

    /// Distinct values.
    pub fn value_count(&self) -> usize {
        self.value_at.len().saturating_sub(1)
    }

    /// Approximate memory held, bytes.
    pub fn bytes(&self) -> usize {
        self.keys.iter().map(|k| k.len() + 24).sum::<usize>()
            + self.values.len()
            + 4 * self.value_at.len()
            + 8 * self.pairs.len()
            + 4 * self.pair_at.len()
    }
}

/// Appends `v` as a protobuf varint.
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The body of the MVT `Value` message for a scalar property (`None` for
/// arrays, objects and nulls, which tiles leave out: arrays have `…_text`
/// twins). Integers are `uint_value` when non-negative, else `sint_value`;
/// other numbers `double_value`.
pub fn value_body(v: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match v {
        Value::String(s) => {
            out.push(0x0A);
            varint(&mut out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bool(b) => out.extend_from_slice(&[0x38, u8::from(*b)]),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(0x28);
                varint(&mut out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(0x30);
                varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
            } else {
                out.push(0x19);
                out.extend_from_slice(&n.as_f64()?.to_le_bytes());
            }
        }
        _ => return None,
    }
    Some(out)
}

/// One feature's tags before they are numbered, end to end in one buffer
/// (one allocation a feature): per tag its name and encoded value, each as a
/// varint length and the bytes.
pub(super) type RawTags = Vec<u8>;

/// The tags of one feature's properties, plus `id` = the stored id when the
/// properties have none (so every tile feature can be matched to its item).
pub(super) fn raw_tags(props: Option<&Map<String, Value>>, stored_id: &str) -> RawTags {
    let mut out = Vec::new();
    let mut push = |k: &str, body: &[u8]| {
        varint(&mut out, k.len() as u64);
        out.extend_from_slice(k.as_bytes());
        varint(&mut out, body.len() as u64);
        out.extend_from_slice(body);
    };
    for (k, v) in props.into_iter().flatten() {
        if let Some(body) = value_body(v) {
            push(k, &body);
        }
    }
    if !props.is_some_and(|p| p.contains_key("id")) {
        if let Some(body) = value_body(&Value::String(stored_id.into())) {
            push("id", &body);
        }
    }
    out
}

/// Reads a varint at `*at`, moving past it.
fn read_varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&byte) = b.get(*at) {
        *at += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

/// The (name, encoded value) pairs of a feature's raw tags.
fn raw_pairs(b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= b.len() {
            return None;
        }
        let mut take = || {
            let n = read_varint(b, &mut at) as usize;
            let s = &b[at..at + n];
            at += n;
            s
        };
        let k = take();
        Some((k, take()))
    })
}

/// What TileJSON calls the type of an encoded value.
fn body_type(body: &[u8]) -> &'static str {
    match body.first() {
        Some(0x38) => "Boolean",
        Some(0x0A) | None => "String",
        Some(_) => "Number",
    }
}

/// Numbers every feature's tags into one layer-wide dictionary, and names
/// each key's type (a key whose type differs between features is `String`,
/// as tile clients read it as text).
pub(super) fn number_tags(raw: &[RawTags]) -> (Tags, BTreeMap<String, &'static str>) {
    use std::collections::HashMap;
    let mut t = Tags {
        value_at: vec![0],
        pair_at: Vec::with_capacity(raw.len() + 1),
        ..Tags::default()
    };
    t.pair_at.push(0);
    let mut types: Vec<&'static str> = Vec::new();
    // Keys borrow the raw buffers, which outlive the maps. Values come from
    // uploads, so std's randomly keyed hasher stays.
    let mut key_ids: HashMap<&[u8], u32> = HashMap::new();
    let mut value_ids: HashMap<&[u8], u32> = HashMap::with_capacity(raw.len());
    for feature in raw {
        for (k, v) in raw_pairs(feature) {
            let kid = *key_ids.entry(k).or_insert_with(|| {
                t.keys.push(String::from_utf8_lossy(k).into_owned());
                types.push(body_type(v));
                (t.keys.len() - 1) as u32
            });
            if types[kid as usize] != body_type(v) {
                types[kid as usize] = "String";
            }
            let vid = *value_ids.entry(v).or_insert_with(|| {
                t.values.extend_from_slice(v);
                t.value_at.push(t.values.len() as u32);
                (t.value_at.len() - 2) as u32
            });
            t.pairs.push([kid, vid]);
        }
        t.pair_at.push(t.pairs.len() as u32);
    }
    let fields = t.keys.iter().cloned().zip(types).collect();
    (t, fields)
}

/// A move of every `(lon, lat)` before projecting (WGS84 → GCJ-02).
pub type Shift = fn(f64, f64) -> (f64, f64);

/// The projected shapes of a collection, in the collection's order.
pub struct TileIndex {
    pub shapes: Vec<Shape>,
    /// The features' properties as MVT tags.
    pub tags: Tags,
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
        G::Point(p) => Shape::Point(to_world(p.x(), p.y())),
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
    /// Parses and projects every feature and encodes its tags (in
    /// parallel; the dictionaries are numbered after, in layer order).
    pub fn build(features: &[StoredFeature]) -> TileIndex {
        Self::build_shifted(features, None)
    }

    /// [`TileIndex::build`] with every position first moved by `shift`
    /// (WGS84 → GCJ-02, for tiles over a GCJ-02 base map).
    pub fn build_shifted(features: &[StoredFeature], shift: Option<Shift>) -> TileIndex {
        use geo::MapCoordsInPlace;
        let parsed: Vec<(Shape, RawTags)> = features
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
                    (shape, raw_tags(p.properties.as_ref(), &f.id))
                }
                // Stored features were written by this service; one that does
                // not parse is not drawn rather than failing every tile.
                Err(_) => (Shape::Empty, Vec::new()),
            })
            .collect();
        let (shapes, raw): (Vec<Shape>, Vec<RawTags>) = parsed.into_iter().unzip();
        let (tags, mut fields) = number_tags(&raw);
        fields.entry("id".into()).or_insert("String");
        TileIndex {
            shapes,
            tags,
            fields,
        }
    }

    /// Approximate memory held, bytes.
    pub fn bytes(&self) -> usize {
        let world = std::mem::size_of::<World>();
        self.tags.bytes()
            + self
                .shapes
                .iter()
                .map(|s| {
                    std::mem::size_of::<Shape>()
                        + match s {
                            Shape::Empty | Shape::Point(_) => 0,
                            Shape::Points(p) => p.len() * world,
                            Shape::Lines(l) => l.iter().map(|l| l.len() * world + 24).sum(),
                            Shape::Polygons(p) => p
                                .iter()
                                .flatten()
                                .map(|r| r.len() * world + 24)
                                .sum::<usize>(),
                        }
                })
                .sum::<usize>()
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
