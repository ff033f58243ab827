//! The 10,000-grid city the service benches serve: a 100 × 100 lattice of
//! grid-like polygons (about 400 m, 49 vertices each) with the contract's grid
//! properties, stored the way a partition job stores its grids, and the
//! city's households stored as an upload stores them.

#![allow(dead_code)] // each bench uses part of it

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::json;
use wangge::layers::outputs::write_grids;
use wangge::layers::LayerKind;
use wangge::model::Grid;
use wangge::service::features::{layer_to_stored, stored_from_output};
use wangge::store::{LayerSource, Store};

pub const ORIGIN: (f64, f64) = (118.20, 32.25);
pub const CELL: f64 = 0.004; // about 400 m
pub const SIDE: usize = 100; // 100 × 100 = 10,000 grids

/// A grid-like polygon: a square cell whose edges wiggle (12 vertices per side).
pub fn grid_polygon(i: usize, j: usize) -> Polygon<f64> {
    let (x0, y0) = (ORIGIN.0 + i as f64 * CELL, ORIGIN.1 + j as f64 * CELL);
    let mut pts = Vec::new();
    let n = 12;
    let wiggle = |k: usize| if k % 2 == 0 { 0.0 } else { CELL * 0.02 };
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL * k as f64 / n as f64,
            y: y0 + wiggle(k),
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL - wiggle(k),
            y: y0 + CELL * k as f64 / n as f64,
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL - CELL * k as f64 / n as f64,
            y: y0 + CELL - wiggle(k),
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + wiggle(k),
            y: y0 + CELL - CELL * k as f64 / n as f64,
        });
    }
    pts.push(pts[0]);
    Polygon::new(LineString(pts), vec![])
}

/// The city's grids.
pub fn city_grids() -> Vec<Grid> {
    let mut grids = Vec::with_capacity(SIDE * SIDE);
    for i in 0..SIDE {
        for j in 0..SIDE {
            grids.push(Grid {
                code: format!("341102{:03}{:03}{:03}", i / 10, i, j),
                parent_code: format!("341102{:03}{:03}", i / 10, i),
                geometry: MultiPolygon(vec![grid_polygon(i, j)]),
                households: (300 + (i * 7 + j * 13) % 200) as u64,
                persons: (1000 + (i * j) % 1400) as u64,
                area_m2: 160000.0,
                compactness: 0.78,
                barrier_length_m: 0.0,
                within_rules: true,
                issues: vec![],
            });
        }
    }
    grids
}

/// Stores the city's grids as `{dataset}.grids`; returns the average stored
/// feature's size in bytes.
pub fn store_city_grids(store: &dyn Store, dataset: &str) -> usize {
    let grids = city_grids();
    let bytes = write_grids(Vec::new(), "grids", &grids).expect("write grids");
    let boxes = grids.iter().map(|g| {
        let r = g.geometry.bounding_rect().expect("box");
        [r.min().x, r.min().y, r.max().x, r.max().y]
    });
    let stored = stored_from_output(&bytes, boxes).expect("stored grids");
    let avg = stored.iter().map(|f| f.json.len()).sum::<usize>() / stored.len();
    store
        .put_layer(
            dataset,
            "grids",
            "grids",
            LayerSource::Job,
            &json!({}),
            &stored,
        )
        .expect("store grids");
    avg
}

/// Reads a households layer (GeoJSON text) and stores it as `dataset`'s
/// `households`, normalised as an upload is.
pub fn store_households(store: &dyn Store, dataset: &str, text: &str) {
    let (layer, _) = wangge::layers::read_layer(LayerKind::Households, text, &Default::default())
        .expect("households");
    let stored = layer_to_stored(&layer).expect("stored households");
    drop(layer);
    store
        .put_layer(
            dataset,
            "households",
            "households",
            LayerSource::Upload,
            &json!({}),
            &stored,
        )
        .expect("store households");
}

/// The WebMercatorQuad tile (x, y) at zoom `z` holding a WGS84 position.
pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let l = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

/// A random items page of `collection` over the city: 100 features of a
/// 12 × 12-cell window (144 grids, more with touching neighbours).
pub fn items_page_of(collection: &str, rng: &mut crate::http::Rng) -> String {
    let span = 12.0 * CELL;
    let x = ORIGIN.0 + rng.next() * (SIDE as f64 * CELL - span);
    let y = ORIGIN.1 + rng.next() * (SIDE as f64 * CELL - span);
    format!(
        "/collections/{collection}/items?limit=100&bbox={x:.5},{y:.5},{:.5},{:.5}",
        x + span,
        y + span
    )
}
