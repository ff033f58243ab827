//! Layers as servable features: conversion of model types into stored GeoJSON
//! features, and the in-memory collections (features in order plus an R-tree of
//! their boxes) that OGC API items requests are answered from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use geo::BoundingRect;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::value::RawValue;

use crate::layers::outputs::write_layer;
use crate::layers::{AnyLayer, FeatureWriter};
use crate::store::{LayerMeta, Store, StoreError, StoredFeature};

/// The bounding box of a geometry, `[NaN; 4]` for an empty one.
pub fn bbox_of<G>(g: &G) -> [f64; 4]
where
    G: BoundingRect<f64, Output = Option<geo_types::Rect<f64>>>,
{
    match g.bounding_rect() {
        Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
        None => [f64::NAN; 4],
    }
}

/// Ids come from uploads, so a set of them is hashed with a randomly keyed
/// SipHash (std's `RandomState`): crafted ids cannot make it quadratic.
type IdHash = std::collections::hash_map::RandomState;

/// The parts of a written feature that storing needs.
#[derive(serde::Deserialize)]
struct WrittenParts<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    geometry: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

/// A written id as text: a string's contents (borrowed unless escaped), or a
/// number as written.
fn written_id(raw: &RawValue) -> std::borrow::Cow<'_, str> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str(text).unwrap_or(std::borrow::Cow::Borrowed(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
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
        .par_iter()
        .map(|f| serde_json::from_str(f.raw))
        .collect::<Result<_, _>>()
        .map_err(|e| JobError::Invalid(format!("reading back the results: {e}")))?;
    let ids: Vec<Option<std::borrow::Cow<'_, str>>> =
        parts.par_iter().map(|p| p.id.map(written_id)).collect();
    let natural = {
        let mut seen: std::collections::HashSet<&str, IdHash> =
            std::collections::HashSet::with_capacity_and_hasher(ids.len(), IdHash::default());
        ids.iter()
            .all(|id| id.as_deref().is_some_and(|id| seen.insert(id)))
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
        .zip(ids.into_par_iter())
        .zip(collection.features.into_par_iter())
        .zip(boxes.into_par_iter())
        .enumerate()
        .map(|(i, (((p, id), raw), bbox))| {
            if natural {
                StoredFeature {
                    id: id.unwrap_or_default().into(),
                    bbox,
                    json: raw.raw.into(),
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

/// A validated layer as stored features, normalised exactly as `wangge convert`
/// writes it (`layers::outputs::write_layer`), so an upload serves the same
/// features the command line would write.
pub fn layer_to_stored(
    layer: &AnyLayer,
) -> Result<Vec<StoredFeature>, crate::service::jobs::JobError> {
    let mut text = Vec::new();
    let mut w = FeatureWriter::new(&mut text, None)
        .map_err(|e| crate::service::jobs::JobError::Invalid(e.to_string()))?;
    write_layer(&mut w, layer)
        .and_then(|_| w.finish())
        .map_err(|e| crate::service::jobs::JobError::Invalid(e.to_string()))?;
    stored_from_output(&text, layer_boxes(layer).into_iter())
}

/// The bounding box of every feature of a layer, in order.
fn layer_boxes(layer: &AnyLayer) -> Vec<[f64; 4]> {
    let point = |p: &geo_types::Point<f64>| [p.x(), p.y(), p.x(), p.y()];
    match layer {
        AnyLayer::Areas(v) => v.iter().map(|a| bbox_of(&a.geometry)).collect(),
        AnyLayer::Households(v) => v.iter().map(|h| point(&h.location)).collect(),
        AnyLayer::Cameras(v) => v.iter().map(|c| point(&c.location)).collect(),
        AnyLayer::Buildings(v) => v.iter().map(|b| bbox_of(&b.geometry)).collect(),
        AnyLayer::Barriers(v) => v.iter().map(|b| bbox_of(&b.geometry)).collect(),
        AnyLayer::Sites(v) => v.iter().map(|s| point(&s.location)).collect(),
        AnyLayer::Candidates(v) => v.iter().map(|c| point(&c.location)).collect(),
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A collection held in memory for serving.
pub struct FeatureSet {
    pub meta: LayerMeta,
    pub features: Vec<StoredFeature>,
    /// The features served as multi geometries in OGC responses, so the
    /// collection has one geometry type ([`super::geomtype`]).
    pub splices: Vec<super::geomtype::Splice>,
    /// Id → position, built on the first single-feature request.
    ids: OnceLock<HashMap<Box<str>, u32>>,
    tree: RTree<Entry>,
    /// Approximate memory held, bytes.
    bytes: usize,
    /// The features projected for vector tiles, built on the first tile
    /// request ([`super::tiles`]) and dropped with the set.
    tiles: OnceLock<super::tiles::index::TileIndex>,
    /// The same moved into GCJ-02 first, for tiles over a GCJ-02 base map.
    tiles_gcj02: OnceLock<super::tiles::index::TileIndex>,
    /// Tiles already cut from this version ([`super::tiles::cache`]), one
    /// cache a tile matrix set (WebMercatorQuad, GCJ02WebMercatorQuad),
    /// created on the first tile request.
    tile_caches: [OnceLock<super::tiles::cache::TileCache>; 2],
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
        let splices = super::geomtype::splices(&features);
        FeatureSet {
            meta,
            features,
            splices,
            bytes,
            last_used: AtomicU64::new(0),
            ids: OnceLock::new(),
            tiles: OnceLock::new(),
            tiles_gcj02: OnceLock::new(),
            tile_caches: Default::default(),
            tree: RTree::bulk_load(entries),
        }
    }

    /// The feature with id `fid`.
    pub fn get(&self, fid: &str) -> Option<&StoredFeature> {
        self.position(fid).map(|i| &self.features[i])
    }

    /// The position of the feature with id `fid`.
    pub fn position(&self, fid: &str) -> Option<usize> {
        let ids = self.ids.get_or_init(|| {
            self.features
                .iter()
                .enumerate()
                .map(|(i, f)| (f.id.clone(), i as u32))
                .collect()
        });
        ids.get(fid).map(|&i| i as usize)
    }

    /// The features projected for vector tiles, built on first use (a
    /// concurrent caller waits for that build rather than repeating it).
    pub fn tile_index(&self) -> &super::tiles::index::TileIndex {
        self.tiles
            .get_or_init(|| super::tiles::index::TileIndex::build(&self.features))
    }

    /// The tiles cut from this version of the layer, in the GCJ-02 tiling
    /// when `gcj02`.
    pub fn tile_cache(&self, gcj02: bool) -> &super::tiles::cache::TileCache {
        self.tile_caches[usize::from(gcj02)].get_or_init(Default::default)
    }

    /// [`FeatureSet::tile_index`] in GCJ-02 (`GCJ02WebMercatorQuad`).
    pub fn tile_index_gcj02(&self) -> &super::tiles::index::TileIndex {
        self.tiles_gcj02.get_or_init(|| {
            super::tiles::index::TileIndex::build_shifted(
                &self.features,
                Some(crate::crs::chinese::wgs84_to_gcj02),
            )
        })
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

    /// Positions of the features whose geometries intersect any of `boxes`,
    /// ascending. The R-tree finds the features whose boxes do; a feature whose
    /// box lies inside a query box intersects it (every point does), so only
    /// those straddling a query box's edge have their geometry read.
    pub fn intersecting(&self, boxes: &[[f64; 4]]) -> Vec<u32> {
        let rects: Vec<geo_types::Rect<f64>> = boxes
            .iter()
            .map(|b| geo_types::Rect::new((b[0], b[1]), (b[2], b[3])))
            .collect();
        let mut out = self.matching(boxes);
        out.retain(|&i| {
            let f = &self.features[i as usize];
            boxes.iter().any(|b| box_inside(&f.bbox, b)) || geometry_intersects(&f.json, &rects)
        });
        out
    }
}

impl FeatureSet {
    /// Positions of the features whose geometries intersect `area` (a bbox
    /// of another CRS drawn in CRS84), ascending: the R-tree's candidates for
    /// its box, then points tested directly and other geometries read.
    pub fn intersecting_area(&self, area: &geo_types::Polygon<f64>) -> Vec<u32> {
        use geo::{BoundingRect, Intersects};
        let Some(r) = area.bounding_rect() else {
            return Vec::new();
        };
        let mut out = self.matching(&[[r.min().x, r.min().y, r.max().x, r.max().y]]);
        out.retain(|&i| {
            let f = &self.features[i as usize];
            let b = f.bbox;
            if b[0] == b[2] && b[1] == b[3] {
                area.intersects(&geo_types::Point::new(b[0], b[1]))
            } else {
                geometry_meets(&f.json, |g| g.intersects(area))
            }
        });
        out
    }
}

fn box_inside(inner: &[f64; 4], outer: &[f64; 4]) -> bool {
    inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3]
}

/// Whether a stored feature's geometry intersects any of `rects`. Stored
/// features were written by this service, so they parse; if one did not, its
/// box (which matched) decides.
fn geometry_intersects(feature: &str, rects: &[geo_types::Rect<f64>]) -> bool {
    use geo::Intersects;
    geometry_meets(feature, |g| rects.iter().any(|r| g.intersects(r)))
}

/// Whether a stored feature's geometry passes `test` (a feature that does
/// not parse passes: its box matched).
fn geometry_meets(feature: &str, test: impl Fn(&geo_types::Geometry<f64>) -> bool) -> bool {
    #[derive(serde::Deserialize)]
    struct Part {
        geometry: Option<geojson::Geometry>,
    }
    match serde_json::from_str::<Part>(feature) {
        Ok(Part { geometry: None }) => false,
        Ok(Part { geometry: Some(g) }) => match geo_types::Geometry::<f64>::try_from(&g.value) {
            Ok(geom) => test(&geom),
            Err(_) => true,
        },
        Err(_) => true,
    }
}

/// Held while a collection is read from the store.
type LoadGate = Arc<Mutex<()>>;

/// Collections in memory, keyed by (dataset, layer), loaded from the store on
/// first use and replaced whenever a layer is written. When they hold more than
/// the budget, the least recently used ones are dropped (and reloaded from the
/// store when asked for again).
pub struct Cache {
    sets: RwLock<HashMap<(String, String), Arc<FeatureSet>>>,
    /// One gate per collection being loaded from the store: concurrent cold
    /// requests for it wait for the first one's load instead of each reading
    /// (and holding) their own copy.
    loading: Mutex<HashMap<(String, String), LoadGate>>,
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
            loading: Mutex::default(),
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

    /// The collection, from memory or (blocking) from the store. Concurrent
    /// calls for one collection not in memory load it once: the first reads
    /// it, the others wait and take what it cached.
    pub fn load(
        &self,
        store: &dyn Store,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<Arc<FeatureSet>>, StoreError> {
        if let Some(s) = self.peek(dataset, layer) {
            return Ok(Some(s));
        }
        let key = (dataset.to_string(), layer.to_string());
        let gate = self
            .loading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let result = {
            let _turn = gate.lock().unwrap_or_else(|p| p.into_inner());
            match self.peek(dataset, layer) {
                Some(s) => Ok(Some(s)),
                None => self.load_from(store, dataset, layer),
            }
        };
        let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        if loading.get(&key).is_some_and(|g| Arc::ptr_eq(g, &gate)) && Arc::strong_count(&gate) <= 2
        {
            loading.remove(&key);
        }
        result
    }

    /// Reads a collection from the store and caches it, unless a write raced
    /// with the read.
    fn load_from(
        &self,
        store: &dyn Store,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<Arc<FeatureSet>>, StoreError> {
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
            report: serde_json::Value::Null,
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
}
