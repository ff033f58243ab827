//! Layers as servable features: conversion of model types into stored GeoJSON
//! features, and the in-memory collections (features in order plus an R-tree of
//! their boxes) that OGC API items requests are answered from.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use geo::BoundingRect;
use geo_types::Geometry;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::layers::write::geometry_json;
use crate::layers::AnyLayer;
use crate::store::{LayerMeta, Store, StoreError, StoredFeature};

/// One feature before serialisation.
pub struct FeatureOut<'a> {
    /// The feature's natural id (area code, camera id), if it has one.
    pub id: Option<String>,
    pub geometry: Geometry<f64>,
    /// The input feature's properties (a JSON object), carried back verbatim.
    pub input: Option<&'a RawValue>,
    /// Properties set on top of the input ones (replacing those of the same name).
    pub properties: Vec<(&'static str, Value)>,
}

/// An object's members as borrowed raw values: carrying input properties back
/// costs no parsing of their values.
struct RawMembers<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    v.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(RawMembers(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON string literal, escaping only when needed.
fn push_json_str(k: &str, out: &mut String) {
    if k.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(k);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(k).unwrap_or_else(|_| "\"\"".into()));
    }
}

fn push_key(k: &str, out: &mut String) {
    push_json_str(k, out);
    out.push(':');
}

fn push_value(v: &Value, out: &mut String) {
    use std::fmt::Write as _;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_json_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// The properties object: input members not overridden, then the overrides.
fn write_properties(input: Option<&RawValue>, extra: &[(&'static str, Value)], out: &mut String) {
    out.push('{');
    let mut first = true;
    if let Some(raw) = input {
        if let Ok(members) = serde_json::from_str::<RawMembers<'_>>(raw.get()) {
            for (k, v) in members.0 {
                if extra.iter().any(|(e, _)| *e == k.as_ref()) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                push_key(&k, out);
                out.push_str(v.get());
            }
        }
    }
    for (k, v) in extra {
        if !first {
            out.push(',');
        }
        first = false;
        push_key(k, out);
        push_value(v, out);
    }
    out.push('}');
}

/// The bounding box of a geometry, `[NaN; 4]` for an empty one.
pub fn bbox_of(g: &Geometry<f64>) -> [f64; 4] {
    match g.bounding_rect() {
        Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
        None => [f64::NAN; 4],
    }
}

/// A fast non-cryptographic hash (FxHash's multiply-rotate) for id sets: ids
/// come from our own validated layers, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.add(u64::from_le_bytes(a));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FastHash = std::hash::BuildHasherDefault<Fx>;

/// Serialises features in parallel. Ids: the natural ids when every feature has
/// one and they are unique, else the 1-based position (a number).
pub fn to_stored(features: Vec<FeatureOut<'_>>) -> Vec<StoredFeature> {
    let natural = {
        let mut seen: std::collections::HashSet<&str, FastHash> =
            std::collections::HashSet::with_capacity_and_hasher(
                features.len(),
                FastHash::default(),
            );
        features
            .iter()
            .all(|f| f.id.as_deref().is_some_and(|id| seen.insert(id)))
    };
    features
        .into_par_iter()
        .enumerate()
        .map(|(i, f)| {
            let mut s = String::with_capacity(160);
            s.push_str("{\"type\":\"Feature\",\"id\":");
            let id = match (natural, f.id) {
                (true, Some(id)) => {
                    push_json_str(&id, &mut s);
                    id
                }
                _ => {
                    let n = (i + 1).to_string();
                    s.push_str(&n);
                    n
                }
            };
            s.push_str(",\"geometry\":");
            geometry_json(&f.geometry, &mut s);
            s.push_str(",\"properties\":");
            write_properties(f.input, &f.properties, &mut s);
            s.push('}');
            StoredFeature {
                id: id.into(),
                bbox: bbox_of(&f.geometry),
                json: s.into(),
            }
        })
        .collect()
}

/// The parts of a written feature that storing needs.
#[derive(serde::Deserialize)]
struct WrittenParts<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(borrow, default)]
    geometry: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

/// Features from a FeatureCollection written by one of the `layers::outputs`
/// writers (so the service serves exactly what the command line writes), with
/// their boxes given in the same order. Ids: the written ids when every feature
/// has one and they are unique, else the 1-based position, written into the
/// feature.
pub fn stored_from_output(
    text: &[u8],
    boxes: impl Iterator<Item = [f64; 4]>,
) -> Result<Vec<StoredFeature>, crate::service::jobs::JobError> {
    use crate::service::jobs::JobError;
    let text = std::str::from_utf8(text)
        .map_err(|e| JobError::Invalid(format!("results are not UTF-8: {e}")))?;
    let collection = crate::layers::parse_collection(text).or_else(|e| match e {
        crate::layers::LayerError::Empty => Ok(crate::layers::Collection {
            features: Vec::new(),
            crs: None,
        }),
        other => Err(JobError::Invalid(format!(
            "reading back the results: {other}"
        ))),
    })?;
    let parts: Vec<WrittenParts<'_>> = collection
        .features
        .iter()
        .map(|f| serde_json::from_str(f.raw.get()))
        .collect::<Result<_, _>>()
        .map_err(|e| JobError::Invalid(format!("reading back the results: {e}")))?;
    let id_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let natural = {
        let mut seen = std::collections::HashSet::with_capacity(parts.len());
        parts
            .iter()
            .all(|p| p.id.as_ref().is_some_and(|id| seen.insert(id_text(id))))
    };
    let boxes: Vec<[f64; 4]> = boxes.collect();
    if boxes.len() != parts.len() {
        return Err(JobError::Invalid(format!(
            "{} features written for {} results",
            parts.len(),
            boxes.len()
        )));
    }
    Ok(parts
        .into_par_iter()
        .zip(collection.features.into_par_iter())
        .zip(boxes.into_par_iter())
        .enumerate()
        .map(|(i, ((p, raw), bbox))| {
            if natural {
                StoredFeature {
                    id: p.id.as_ref().map(id_text).unwrap_or_default().into(),
                    bbox,
                    json: raw.raw.get().into(),
                }
            } else {
                let n = (i + 1).to_string();
                let json = format!(
                    "{{\"type\":\"Feature\",\"id\":{n},\"geometry\":{},\"properties\":{}}}",
                    p.geometry.map_or("null", |g| g.get()),
                    p.properties.map_or("null", |g| g.get())
                );
                StoredFeature {
                    id: n.into(),
                    bbox,
                    json: json.into(),
                }
            }
        })
        .collect())
}

/// A validated layer as features: WGS84, the contract's property names set on
/// top of the input properties (the same normalisation `wangge convert` does).
pub fn layer_features(layer: &AnyLayer) -> Vec<FeatureOut<'_>> {
    match layer {
        AnyLayer::Areas(v) => v
            .par_iter()
            .map(|a| FeatureOut {
                id: Some(a.code.clone()),
                geometry: Geometry::MultiPolygon(a.geometry.clone()),
                input: a.properties.as_deref(),
                properties: vec![
                    ("code", a.code.clone().into()),
                    ("name", a.name.clone().into()),
                    ("kind", json!(a.kind)),
                ],
            })
            .collect(),
        AnyLayer::Households(v) => v
            .par_iter()
            .map(|h| FeatureOut {
                id: h.id.clone(),
                geometry: Geometry::Point(h.location),
                input: h.properties.as_deref(),
                properties: vec![
                    ("households", h.households.into()),
                    ("persons", h.persons.into()),
                ],
            })
            .collect(),
        AnyLayer::Cameras(v) => v
            .par_iter()
            .map(|c| FeatureOut {
                id: Some(c.id.clone()),
                geometry: Geometry::Point(c.location),
                input: c.properties.as_deref(),
                properties: vec![
                    ("id", c.id.clone().into()),
                    ("type", json!(c.camera_type)),
                    ("azimuth_deg", c.azimuth_deg.into()),
                    ("fov_deg", c.fov_deg.into()),
                    ("range_m", c.range_m.into()),
                    ("online", c.online.into()),
                    ("height_m", c.height_m.into()),
                ],
            })
            .collect(),
        AnyLayer::Buildings(v) => v
            .par_iter()
            .map(|b| FeatureOut {
                id: None,
                geometry: Geometry::MultiPolygon(b.geometry.clone()),
                input: None,
                properties: vec![("feature", b.feature.into())],
            })
            .collect(),
        AnyLayer::Barriers(v) => v
            .par_iter()
            .map(|b| FeatureOut {
                id: None,
                geometry: Geometry::MultiLineString(b.geometry.clone()),
                input: None,
                properties: vec![("kind", b.kind.clone().into())],
            })
            .collect(),
        AnyLayer::Sites(v) => v
            .par_iter()
            .map(|s| FeatureOut {
                id: None,
                geometry: Geometry::Point(s.location),
                input: s.properties.as_deref(),
                properties: vec![
                    ("kind", s.kind.clone().into()),
                    ("name", s.name.clone().into()),
                ],
            })
            .collect(),
        AnyLayer::Candidates(v) => v
            .par_iter()
            .map(|c| FeatureOut {
                id: None,
                geometry: Geometry::Point(c.location),
                input: c.properties.as_deref(),
                properties: Vec::new(),
            })
            .collect(),
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A collection held in memory for serving.
pub struct FeatureSet {
    pub meta: LayerMeta,
    pub features: Vec<StoredFeature>,
    /// Id → position, built on the first single-feature request.
    ids: OnceLock<HashMap<Box<str>, u32>>,
    tree: RTree<Entry>,
    /// Approximate memory held, bytes.
    bytes: usize,
    /// When the set was last used ([`Cache`] ticks), for eviction.
    last_used: AtomicU64,
}

impl FeatureSet {
    pub fn new(meta: LayerMeta, features: Vec<StoredFeature>) -> FeatureSet {
        let entries: Vec<Entry> = features
            .iter()
            .enumerate()
            .filter(|(_, f)| f.bbox.iter().all(|v| v.is_finite()))
            .map(|(i, f)| {
                GeomWithData::new(
                    Rectangle::from_corners([f.bbox[0], f.bbox[1]], [f.bbox[2], f.bbox[3]]),
                    i as u32,
                )
            })
            .collect();
        let bytes = features
            .iter()
            .map(|f| f.json.len() + f.id.len() + 2 * std::mem::size_of::<StoredFeature>() + 64)
            .sum();
        FeatureSet {
            meta,
            features,
            bytes,
            last_used: AtomicU64::new(0),
            ids: OnceLock::new(),
            tree: RTree::bulk_load(entries),
        }
    }

    /// The feature with id `fid`.
    pub fn get(&self, fid: &str) -> Option<&StoredFeature> {
        let ids = self.ids.get_or_init(|| {
            self.features
                .iter()
                .enumerate()
                .map(|(i, f)| (f.id.clone(), i as u32))
                .collect()
        });
        ids.get(fid).map(|&i| &self.features[i as usize])
    }

    /// Positions of the features whose boxes intersect any of `boxes`, ascending.
    pub fn matching(&self, boxes: &[[f64; 4]]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for b in boxes {
            let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
            out.extend(
                self.tree
                    .locate_in_envelope_intersecting(&env)
                    .map(|e| e.data),
            );
        }
        out.sort_unstable();
        if boxes.len() > 1 {
            out.dedup();
        }
        out
    }
}

/// Collections in memory, keyed by (dataset, layer), loaded from the store on
/// first use and replaced whenever a layer is written. When they hold more than
/// the budget, the least recently used ones are dropped (and reloaded from the
/// store when asked for again).
pub struct Cache {
    sets: RwLock<HashMap<(String, String), Arc<FeatureSet>>>,
    /// Bumped by every write, so a load that raced with a write is not cached.
    generation: AtomicU64,
    /// Use counter standing in for time.
    tick: AtomicU64,
    budget: usize,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::with_budget(usize::MAX)
    }
}

impl Cache {
    /// A cache that keeps about `budget` bytes of collections.
    pub fn with_budget(budget: usize) -> Cache {
        Cache {
            sets: RwLock::default(),
            generation: AtomicU64::new(0),
            tick: AtomicU64::new(0),
            budget,
        }
    }

    pub fn peek(&self, dataset: &str, layer: &str) -> Option<Arc<FeatureSet>> {
        let sets = self.sets.read().unwrap_or_else(|p| p.into_inner());
        let set = sets
            .get(&(dataset.to_string(), layer.to_string()))
            .cloned()?;
        set.last_used
            .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(set)
    }

    /// Inserts under the write lock, then evicts the least recently used other
    /// sets while over budget.
    fn insert(
        &self,
        sets: &mut HashMap<(String, String), Arc<FeatureSet>>,
        key: (String, String),
        set: Arc<FeatureSet>,
    ) {
        set.last_used
            .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        sets.insert(key.clone(), set);
        let mut total: usize = sets.values().map(|s| s.bytes).sum();
        while total > self.budget {
            let victim = sets
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(k, s)| (k.clone(), s.bytes));
            let Some((k, bytes)) = victim else { break };
            tracing::debug!(dataset = %k.0, layer = %k.1, bytes, "collection evicted from memory");
            sets.remove(&k);
            total -= bytes;
        }
    }

    /// The collection, from memory or (blocking) from the store.
    pub fn load(
        &self,
        store: &dyn Store,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<Arc<FeatureSet>>, StoreError> {
        if let Some(s) = self.peek(dataset, layer) {
            return Ok(Some(s));
        }
        let gen = self.generation.load(Ordering::SeqCst);
        let Some((meta, features)) = store.features(dataset, layer)? else {
            return Ok(None);
        };
        let set = Arc::new(FeatureSet::new(meta, features));
        let mut sets = self.sets.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) == gen {
            self.insert(
                &mut sets,
                (dataset.to_string(), layer.to_string()),
                set.clone(),
            );
        }
        Ok(Some(set))
    }

    /// Records a freshly committed layer.
    pub fn put(&self, set: FeatureSet) -> Arc<FeatureSet> {
        let set = Arc::new(set);
        let mut sets = self.sets.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        let key = (set.meta.dataset.clone(), set.meta.layer.clone());
        let newer = sets
            .get(&key)
            .map_or(true, |old| old.meta.version <= set.meta.version);
        if newer {
            self.insert(&mut sets, key, set.clone());
        }
        set
    }

    /// Indexes a freshly committed layer on a background thread, so the writer
    /// can answer at once. Until the index is ready, readers load the layer
    /// from the store themselves; a later write or delete wins over this one.
    pub fn put_in_background(self: &Arc<Self>, meta: LayerMeta, features: Vec<StoredFeature>) {
        self.forget(&meta.dataset, Some(&meta.layer));
        let gen = self.generation.load(Ordering::SeqCst);
        let cache = self.clone();
        let spawned = std::thread::Builder::new()
            .name("wangge-index".into())
            .spawn(move || {
                let set = Arc::new(FeatureSet::new(meta, features));
                let mut sets = cache.sets.write().unwrap_or_else(|p| p.into_inner());
                if cache.generation.load(Ordering::SeqCst) == gen {
                    let key = (set.meta.dataset.clone(), set.meta.layer.clone());
                    cache.insert(&mut sets, key, set);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot index in the background; the layer loads on first use");
        }
    }

    /// Forgets a layer (after a delete), or every layer of a dataset.
    pub fn forget(&self, dataset: &str, layer: Option<&str>) {
        let mut sets = self.sets.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        sets.retain(|(d, l), _| !(d == dataset && layer.map_or(true, |x| x == l)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LayerSource;

    fn set(layer: &str, n: usize, version: i64) -> FeatureSet {
        let features: Vec<StoredFeature> = (0..n)
            .map(|i| StoredFeature {
                id: i.to_string().into(),
                bbox: [i as f64, 0.0, i as f64 + 0.5, 0.5],
                json: format!("{{\"type\":\"Feature\",\"id\":{i}}}").into(),
            })
            .collect();
        let meta = LayerMeta {
            dataset: "d".into(),
            layer: layer.into(),
            kind: layer.into(),
            source: LayerSource::Upload,
            features: n as u64,
            extent: None,
            report: Value::Null,
            job: None,
            updated: String::new(),
            version,
        };
        FeatureSet::new(meta, features)
    }

    #[test]
    fn bbox_queries_ids_and_eviction() {
        let s = set("a", 100, 1);
        assert_eq!(s.matching(&[[10.2, 0.1, 12.1, 0.2]]), vec![10, 11, 12]);
        assert_eq!(s.get("42").map(|f| f.bbox[0]), Some(42.0));
        assert!(s.get("x").is_none());
        let one = s.bytes;

        let cache = Cache::with_budget(one * 2 + one / 2);
        cache.put(set("a", 100, 1));
        cache.put(set("b", 100, 2));
        assert!(cache.peek("d", "a").is_some()); // a is now the most recent
        cache.put(set("c", 100, 3));
        assert!(cache.peek("d", "a").is_some());
        assert!(
            cache.peek("d", "b").is_none(),
            "the least recently used goes"
        );
        assert!(cache.peek("d", "c").is_some());
        // An older version never replaces a newer one.
        cache.put(set("c", 5, 1));
        assert_eq!(cache.peek("d", "c").unwrap().features.len(), 100);
        cache.forget("d", None);
        assert!(cache.peek("d", "a").is_none());
    }

    #[test]
    fn output_properties_override_input_ones() {
        let raw = RawValue::from_string(r#"{"a":1,"households":"x","b\"q":[1,2]}"#.into()).unwrap();
        let mut out = String::new();
        write_properties(Some(&raw), &[("households", 3.into())], &mut out);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, json!({"a": 1, "b\"q": [1, 2], "households": 3}));
    }
}
