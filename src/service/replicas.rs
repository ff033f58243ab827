//! Serving from memory when other processes write the store too.
//!
//! Replicas on one PostgreSQL database each keep collections in memory
//! ([`super::features::Cache`]), keyed by layer and stamped with the layer's
//! version. A replica's own writes replace its copy at once; another
//! replica's writes it learns from the store: before a cached collection is
//! served, its version is compared with the one stored (one primary-key
//! look-up), and a collection that changed is read again, one that is gone
//! is forgotten. So a layer replaced on replica A is served fresh by replica B
//! on the very next request, ETags included, with no window in which B serves
//! the old one. (LISTEN/NOTIFY would spare the look-up but leaves such a
//! window: a notification arrives after the commit, not with it.)

use std::sync::Arc;

use super::features::{Cache, FeatureSet};
use crate::store::{Store, StoreError};

/// The collection as stored now: `cached` when its version is current, else
/// read again (or `None` when the layer is gone). Blocking.
pub fn current(
    cache: &Cache,
    store: &dyn Store,
    dataset: &str,
    layer: &str,
    cached: Option<Arc<FeatureSet>>,
) -> Result<Option<Arc<FeatureSet>>, StoreError> {
    if let Some(set) = cached {
        match store.layer_version(dataset, layer)? {
            Some(v) if v == set.meta.version => return Ok(Some(set)),
            None => {
                cache.forget(dataset, Some(layer));
                return Ok(None);
            }
            Some(_) => cache.forget(dataset, Some(layer)),
        }
    }
    cache.load(store, dataset, layer)
}
