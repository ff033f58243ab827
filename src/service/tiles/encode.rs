//! Writing a Mapbox Vector Tile (MVT 2.1) from tile-unit geometry and the
//! layer's pre-encoded tags ([`super::index::Tags`]).
//!
//! The protobuf is written directly rather than through the `mvt` crate's
//! builder, which takes every tag by value and looks it up in the tile's
//! tables by hashing its text: with a million-household layer that is a
//! string allocation and a hash per tag per tile, plus parsing the stored
//! JSON to get the values. Here a tile renumbers the layer-wide key and value
//! indices it uses (first use first, as the `mvt` crate numbers them) and
//! copies each value's encoded bytes once. The geometry commands follow the
//! `mvt` crate's `GeomEncoder`, and a test checks that both write the same
//! bytes for the same features; GDAL decodes the tiles in `tests/tiles.rs`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::index::{varint, Tags};

/// MVT geometry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    Point = 1,
    Linestring = 2,
    Polygon = 3,
}

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Geometry commands of one feature, with the cursor the MVT encoding is
/// relative to.
#[derive(Default)]
pub struct Geometry {
    data: Vec<u32>,
    cursor: (i32, i32),
}

impl Geometry {
    fn clear(&mut self) {
        self.data.clear();
        self.cursor = (0, 0);
    }

    fn point(&mut self, p: (i32, i32)) {
        self.data.push(zigzag(p.0 - self.cursor.0));
        self.data.push(zigzag(p.1 - self.cursor.1));
        self.cursor = p;
    }

    /// Points (one `MoveTo` for all; a point equal to the one before is
    /// skipped, as a zero move would be).
    pub fn points(&mut self, pts: &[(i32, i32)]) {
        let at = self.data.len();
        self.data.push(0);
        let mut n = 0;
        let mut last = None;
        for &p in pts {
            if last == Some(p) {
                continue;
            }
            self.point(p);
            last = Some(p);
            n += 1;
        }
        self.data[at] = command(MOVE_TO, n);
    }

    /// One line of at least two distinct consecutive vertices.
    pub fn line(&mut self, l: &[(i32, i32)]) {
        self.data.push(command(MOVE_TO, 1));
        self.point(l[0]);
        self.data.push(command(LINE_TO, (l.len() - 1) as u32));
        for &p in &l[1..] {
            self.point(p);
        }
    }

    /// One open ring (no closing vertex, consecutive vertices distinct). A
    /// vertex in the middle of a straight axis-parallel run is dropped, as
    /// the `mvt` crate drops it.
    pub fn ring(&mut self, r: &[(i32, i32)]) {
        let mut kept: Vec<(i32, i32)> = Vec::with_capacity(r.len());
        for &p in r {
            if kept.len() >= 2 {
                let (p0, p1) = (kept[kept.len() - 2], kept[kept.len() - 1]);
                let between = |a: i32, b: i32, c: i32| (a < b && b < c) || (a > b && b > c);
                if (p0.0 == p1.0 && p1.0 == p.0 && between(p0.1, p1.1, p.1))
                    || (p0.1 == p1.1 && p1.1 == p.1 && between(p0.0, p1.0, p.0))
                {
                    kept.pop();
                }
            }
            kept.push(p);
        }
        self.data.push(command(MOVE_TO, 1));
        self.point(kept[0]);
        self.data.push(command(LINE_TO, (kept.len() - 1) as u32));
        for &p in &kept[1..] {
            self.point(p);
        }
        self.data.push(command(CLOSE_PATH, 1));
    }
}

/// A hasher for `u32` keys that are already well spread (dictionary
/// indices): one multiplication.
#[derive(Default)]
struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One MVT layer being written.
pub struct LayerWriter<'a> {
    tags: &'a Tags,
    /// Layer key index → this tile's index + 1 (0: not used yet).
    key_local: Vec<u32>,
    value_local: HashMap<u32, u32, BuildHasherDefault<IndexHasher>>,
    /// The layer-wide indices of this tile's keys and values, in tile order.
    keys: Vec<u32>,
    values: Vec<u32>,
    /// The encoded features, each with its field header.
    features: Vec<u8>,
    count: usize,
    feature: Vec<u8>,
    packed: Vec<u32>,
    pub geometry: Geometry,
}

fn packed(out: &mut Vec<u8>, field: u8, values: &[u32], scratch: &mut Vec<u8>) {
    scratch.clear();
    for &v in values {
        varint(scratch, u64::from(v));
    }
    out.push(field);
    varint(out, scratch.len() as u64);
    out.extend_from_slice(scratch);
}

impl<'a> LayerWriter<'a> {
    pub fn new(tags: &'a Tags) -> LayerWriter<'a> {
        LayerWriter {
            tags,
            key_local: vec![0; tags.keys.len()],
            value_local: HashMap::default(),
            keys: Vec::new(),
            values: Vec::new(),
            features: Vec::new(),
            count: 0,
            feature: Vec::new(),
            packed: Vec::new(),
            geometry: Geometry::default(),
        }
    }

    /// Features written so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Starts a feature's geometry.
    pub fn geometry(&mut self) -> &mut Geometry {
        self.geometry.clear();
        &mut self.geometry
    }

    /// Writes a feature with MVT id `id`, the tags of the layer's feature at
    /// `position` and the geometry built since [`Self::geometry`].
    pub fn feature(&mut self, id: u64, position: usize, kind: GeomType) {
        self.packed.clear();
        for &[k, v] in self.tags.of(position) {
            let slot = &mut self.key_local[k as usize];
            if *slot == 0 {
                self.keys.push(k);
                *slot = self.keys.len() as u32;
            }
            let local_k = *slot - 1;
            let next = self.values.len() as u32;
            let local_v = *self.value_local.entry(v).or_insert(next);
            if local_v == next {
                self.values.push(v);
            }
            self.packed.push(local_k);
            self.packed.push(local_v);
        }
        let mut scratch = std::mem::take(&mut self.feature);
        let mut body =
            Vec::with_capacity(16 + 2 * self.packed.len() + 3 * self.geometry.data.len());
        body.push(0x08);
        varint(&mut body, id);
        if !self.packed.is_empty() {
            packed(&mut body, 0x12, &self.packed, &mut scratch);
        }
        body.push(0x18);
        body.push(kind as u8);
        packed(&mut body, 0x22, &self.geometry.data, &mut scratch);
        self.feature = scratch;
        self.features.push(0x12);
        varint(&mut self.features, body.len() as u64);
        self.features.extend_from_slice(&body);
        self.count += 1;
    }

    /// The tile: this layer alone, named `name`, of `extent` units.
    pub fn finish(self, name: &str, extent: u32) -> Vec<u8> {
        let mut layer = Vec::with_capacity(self.features.len() + 64 * self.values.len() + 64);
        layer.push(0x0A);
        varint(&mut layer, name.len() as u64);
        layer.extend_from_slice(name.as_bytes());
        layer.extend_from_slice(&self.features);
        for &k in &self.keys {
            let k = &self.tags.keys[k as usize];
            layer.push(0x1A);
            varint(&mut layer, k.len() as u64);
            layer.extend_from_slice(k.as_bytes());
        }
        for &v in &self.values {
            let body = self.tags.value(v);
            layer.push(0x22);
            varint(&mut layer, body.len() as u64);
            layer.extend_from_slice(body);
        }
        layer.push(0x28);
        varint(&mut layer, u64::from(extent));
        layer.extend_from_slice(&[0x78, 2]);
        let mut tile = Vec::with_capacity(layer.len() + 8);
        tile.push(0x1A);
        varint(&mut tile, layer.len() as u64);
        tile.extend_from_slice(&layer);
        tile
    }
}

#[cfg(test)]
mod tests {
    use super::super::index::{number_tags, raw_tags};
    use super::*;
    use serde_json::{json, Map, Value};

    enum G {
        Points(Vec<(i32, i32)>),
        Lines(Vec<Vec<(i32, i32)>>),
        Polygons(Vec<Vec<(i32, i32)>>),
    }

    /// The same features through the `mvt` crate.
    fn with_mvt(features: &[(G, Map<String, Value>, &str)]) -> Vec<u8> {
        let mut tile = mvt::Tile::new(4096);
        let mut l = tile.create_layer("households");
        for (i, (g, props, id)) in features.iter().enumerate() {
            let geom = match g {
                G::Points(p) => {
                    let mut e = mvt::GeomEncoder::new(mvt::GeomType::Point);
                    for &(x, y) in p {
                        e.add_point(x, y).unwrap();
                    }
                    e.encode().unwrap()
                }
                G::Lines(parts) | G::Polygons(parts) => {
                    let kind = if matches!(g, G::Lines(_)) {
                        mvt::GeomType::Linestring
                    } else {
                        mvt::GeomType::Polygon
                    };
                    let mut e = mvt::GeomEncoder::new(kind);
                    for part in parts {
                        for &(x, y) in part {
                            e.add_point(x, y).unwrap();
                        }
                        e.complete_geom().unwrap();
                    }
                    e.encode().unwrap()
                }
            };
            let mut f = l.into_feature(geom);
            f.set_id(i as u64 + 1);
            for (k, v) in props {
                match v {
                    Value::String(s) => f.add_tag_string(k, s),
                    Value::Bool(b) => f.add_tag_bool(k, *b),
                    Value::Number(n) => {
                        if let Some(u) = n.as_u64() {
                            f.add_tag_uint(k, u);
                        } else if let Some(i) = n.as_i64() {
                            f.add_tag_sint(k, i);
                        } else {
                            f.add_tag_double(k, n.as_f64().unwrap());
                        }
                    }
                    _ => {}
                }
            }
            if !props.contains_key("id") {
                f.add_tag_string("id", id);
            }
            l = f.into_layer();
        }
        tile.add_layer(l).unwrap();
        tile.to_bytes().unwrap()
    }

    #[test]
    fn writes_the_bytes_the_mvt_crate_writes() {
        let obj = |v: Value| v.as_object().unwrap().clone();
        let features = vec![
            (
                G::Points(vec![(10, 20)]),
                obj(json!({"id": "h1", "households": 1, "persons": 3, "village": "东村"})),
                "h1",
            ),
            (
                G::Points(vec![(4095, 0), (4095, 0), (7, 7)]),
                obj(
                    json!({"id": "h2", "households": 1, "persons": 4, "village": "东村", "ratio": 0.25, "delta": -3, "flag": true, "tags": ["a"], "none": null}),
                ),
                "h2",
            ),
            (
                G::Lines(vec![
                    vec![(0, 0), (100, 0), (100, 50)],
                    vec![(200, 200), (300, 250)],
                ]),
                obj(json!({"kind": "river", "flag": false})),
                "b1",
            ),
            (
                // An exterior with an axis-parallel run (its middle vertex
                // goes) and a hole.
                G::Polygons(vec![
                    vec![(0, 0), (50, 0), (100, 0), (100, 100), (0, 100)],
                    vec![(10, 10), (10, 20), (20, 20), (20, 10)],
                ]),
                obj(json!({"code": "G001", "households": 120, "ratio": 0.25})),
                "g1",
            ),
        ];
        let raw: Vec<_> = features
            .iter()
            .map(|(_, p, id)| raw_tags(Some(p), id))
            .collect();
        let (tags, fields) = number_tags(&raw);
        assert_eq!(fields["village"], "String");
        assert_eq!(fields["households"], "Number");
        assert_eq!(fields["flag"], "Boolean");
        assert!(!fields.contains_key("tags") && !fields.contains_key("none"));
        let mut w = LayerWriter::new(&tags);
        for (i, (g, _, _)) in features.iter().enumerate() {
            let geom = w.geometry();
            let kind = match g {
                G::Points(p) => {
                    geom.points(p);
                    GeomType::Point
                }
                G::Lines(parts) => {
                    parts.iter().for_each(|p| geom.line(p));
                    GeomType::Linestring
                }
                G::Polygons(rings) => {
                    rings.iter().for_each(|r| geom.ring(r));
                    GeomType::Polygon
                }
            };
            w.feature(i as u64 + 1, i, kind);
        }
        assert_eq!(w.len(), 4);
        assert_eq!(w.finish("households", 4096), with_mvt(&features));
    }
}
