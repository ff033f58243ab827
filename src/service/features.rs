//! Layers as servable features: conversion of model types into stored GeoJSON
//! features, and the in-memory collections (features in order plus an R-tree of
//! their boxes) that OGC API items requests are answered from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use geo::BoundingRect;
use geo_types::Geometry;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::{json, Map, Value};

use crate::layers::write::geometry_json;
use crate::layers::AnyLayer;
use crate::store::{LayerMeta, Store, StoreError, StoredFeature};

/// One feature before serialisation.
pub struct FeatureOut {
    /// The feature's natural id (area code, camera id), if it has one.
    pub id: Option<String>,
    pub geometry: Geometry<f64>,
    pub properties: Map<String, Value>,
}

/// The bounding box of a geometry, `[NaN; 4]` for an empty one.
pub fn bbox_of(g: &Geometry<f64>) -> [f64; 4] {
    match g.bounding_rect() {
        Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
        None => [f64::NAN; 4],
    }
}

/// Serialises features in parallel. Ids: the natural ids when every feature has
/// one and they are unique, else the 1-based position (a number).
pub fn to_stored(features: Vec<FeatureOut>) -> Vec<StoredFeature> {
    let natural = {
        let mut seen = std::collections::HashSet::with_capacity(features.len());
        features
            .iter()
            .all(|f| f.id.as_ref().is_some_and(|id| seen.insert(id.as_str())))
    };
    features
        .into_par_iter()
        .enumerate()
        .map(|(i, f)| {
            let (id, id_json) = match (natural, f.id) {
                (true, Some(id)) => {
                    let j = serde_json::to_string(&id).unwrap_or_default();
                    (id, j)
                }
                _ => {
                    let n = (i + 1).to_string();
                    (n.clone(), n)
                }
            };
            let mut s = String::with_capacity(128);
            s.push_str("{\"type\":\"Feature\",\"id\":");
            s.push_str(&id_json);
            s.push_str(",\"geometry\":");
            geometry_json(&f.geometry, &mut s);
            s.push_str(",\"properties\":");
            s.push_str(&Value::Object(f.properties).to_string());
            s.push('}');
            StoredFeature {
                id: id.into(),
                bbox: bbox_of(&f.geometry),
                json: s.into(),
            }
        })
        .collect()
}

fn merge(raw: Option<&serde_json::value::RawValue>, extra: Value) -> Map<String, Value> {
    let mut props: Map<String, Value> = match raw {
        Some(r) => serde_json::from_str(r.get()).unwrap_or_default(),
        None => Map::new(),
    };
    if let Value::Object(m) = extra {
        props.extend(m);
    }
    props
}

/// A validated layer as features: WGS84, the contract's property names set on
/// top of the input properties (the same normalisation `wangge convert` does).
pub fn layer_features(layer: &AnyLayer) -> Vec<FeatureOut> {
    match layer {
        AnyLayer::Areas(v) => v
            .par_iter()
            .map(|a| FeatureOut {
                id: Some(a.code.clone()),
                geometry: Geometry::MultiPolygon(a.geometry.clone()),
                properties: merge(
                    a.properties.as_deref(),
                    json!({"code": a.code, "name": a.name, "kind": a.kind}),
                ),
            })
            .collect(),
        AnyLayer::Households(v) => v
            .par_iter()
            .map(|h| FeatureOut {
                id: h.id.clone(),
                geometry: Geometry::Point(h.location),
                properties: merge(
                    h.properties.as_deref(),
                    json!({"households": h.households, "persons": h.persons}),
                ),
            })
            .collect(),
        AnyLayer::Cameras(v) => v
            .par_iter()
            .map(|c| FeatureOut {
                id: Some(c.id.clone()),
                geometry: Geometry::Point(c.location),
                properties: merge(
                    c.properties.as_deref(),
                    json!({"id": c.id, "type": c.camera_type, "azimuth_deg": c.azimuth_deg,
                        "fov_deg": c.fov_deg, "range_m": c.range_m, "online": c.online,
                        "height_m": c.height_m}),
                ),
            })
            .collect(),
        AnyLayer::Buildings(v) => v
            .par_iter()
            .map(|b| FeatureOut {
                id: None,
                geometry: Geometry::MultiPolygon(b.geometry.clone()),
                properties: merge(None, json!({"feature": b.feature})),
            })
            .collect(),
        AnyLayer::Barriers(v) => v
            .par_iter()
            .map(|b| FeatureOut {
                id: None,
                geometry: Geometry::MultiLineString(b.geometry.clone()),
                properties: merge(None, json!({"kind": b.kind})),
            })
            .collect(),
        AnyLayer::Sites(v) => v
            .par_iter()
            .map(|s| FeatureOut {
                id: None,
                geometry: Geometry::Point(s.location),
                properties: merge(
                    s.properties.as_deref(),
                    json!({"kind": s.kind, "name": s.name}),
                ),
            })
            .collect(),
        AnyLayer::Candidates(v) => v
            .par_iter()
            .map(|c| FeatureOut {
                id: None,
                geometry: Geometry::Point(c.location),
                properties: merge(c.properties.as_deref(), Value::Null),
            })
            .collect(),
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A collection held in memory for serving.
pub struct FeatureSet {
    pub meta: LayerMeta,
    pub features: Vec<StoredFeature>,
    ids: HashMap<Box<str>, u32>,
    tree: RTree<Entry>,
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
        let ids = features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i as u32))
            .collect();
        FeatureSet {
            meta,
            features,
            ids,
            tree: RTree::bulk_load(entries),
        }
    }

    /// The feature with id `fid`.
    pub fn get(&self, fid: &str) -> Option<&StoredFeature> {
        self.ids.get(fid).map(|&i| &self.features[i as usize])
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
/// first use and replaced whenever a layer is written.
#[derive(Default)]
pub struct Cache {
    sets: RwLock<HashMap<(String, String), Arc<FeatureSet>>>,
    /// Bumped by every write, so a load that raced with a write is not cached.
    generation: AtomicU64,
}

impl Cache {
    pub fn peek(&self, dataset: &str, layer: &str) -> Option<Arc<FeatureSet>> {
        let sets = self.sets.read().unwrap_or_else(|p| p.into_inner());
        sets.get(&(dataset.to_string(), layer.to_string())).cloned()
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
            sets.insert((dataset.to_string(), layer.to_string()), set.clone());
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
            sets.insert(key, set.clone());
        }
        set
    }

    /// Forgets a layer (after a delete), or every layer of a dataset.
    pub fn forget(&self, dataset: &str, layer: Option<&str>) {
        let mut sets = self.sets.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        sets.retain(|(d, l), _| !(d == dataset && layer.map_or(true, |x| x == l)));
    }
}
