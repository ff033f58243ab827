//! Encoded tiles of one layer version, kept in memory.
//!
//! A tile is cut once per layer version: the cache lives in the collection
//! held in memory ([`crate::service::features::FeatureSet`]), so a write of
//! the layer (a new version, a new set) drops it whole. It is bounded in
//! bytes ([`TILE_CACHE_BYTES`] a layer), evicting by `quick_cache`'s
//! CLOCK-Pro policy (recency and frequency: a scan of one-off tiles does not
//! flush the tiles a map keeps asking for). Concurrent requests for a tile
//! not yet cut wait for the first one's cut instead of cutting it again.

use std::sync::Arc;

use actix_web::web::Bytes;

use super::cut::{Encoded, TileId};

/// Memory for one layer version's encoded tiles, bytes.
pub const TILE_CACHE_BYTES: u64 = 64 << 20;

/// A cut tile.
pub struct Tile {
    /// The MVT bytes; `None` for an empty tile.
    pub bytes: Option<Bytes>,
    /// Features in the tile.
    pub features: usize,
    /// Features of the tile's area left out by thinning.
    pub thinned: usize,
}

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<TileId, Arc<Tile>> for ByBytes {
    fn weight(&self, _: &TileId, t: &Arc<Tile>) -> u64 {
        // The entry itself counts too, so empty tiles are not free.
        t.bytes.as_ref().map_or(0, Bytes::len) as u64 + 64
    }
}

/// The encoded tiles of one layer version.
pub struct TileCache {
    tiles: quick_cache::sync::Cache<TileId, Arc<Tile>, ByBytes>,
}

impl Default for TileCache {
    fn default() -> Self {
        TileCache {
            // About 8 KB a tile on average (full-zoom household tiles).
            tiles: quick_cache::sync::Cache::with_weighter(
                (TILE_CACHE_BYTES / 8192) as usize,
                TILE_CACHE_BYTES,
                ByBytes,
            ),
        }
    }
}

impl TileCache {
    /// Tile `t`, cut (blocking, by `cut`) unless cached. The second value
    /// says whether it was cut by this call.
    pub fn get_or_cut(&self, t: TileId, cut: impl FnOnce() -> Encoded) -> (Arc<Tile>, bool) {
        let mut cut_here = false;
        let tile = self
            .tiles
            .get_or_insert_with(&t, || {
                cut_here = true;
                let e = cut();
                Ok::<_, std::convert::Infallible>(Arc::new(Tile {
                    bytes: e.bytes.map(Bytes::from),
                    features: e.features,
                    thinned: e.thinned,
                }))
            })
            .unwrap_or_else(|e| match e {});
        (tile, cut_here)
    }

    /// Memory held, bytes.
    pub fn bytes(&self) -> u64 {
        self.tiles.weight()
    }
}
