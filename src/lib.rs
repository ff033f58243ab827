//! # wangge (网格)
//!
//! Service grids and camera coverage for grid-based governance (网格化服务管理).
//!
//! The library is the product; the `wangge` command line and the HTTP service are
//! thin layers over it:
//!
//! - [`model`]: plain types (areas, households, cameras, rules, grids).
//! - [`crs`]: coordinate reference systems: EPSG codes through PROJ, and the
//!   Chinese web-map systems GCJ-02 and BD-09 in pure Rust.
//! - [`layers`]: GeoJSON in (streaming parse, validation, field mapping) and out
//!   (RFC 7946 writer).
//! - [`partition`]: balanced, contiguous, compact grids that tile each area exactly.
//! - [`coverage`]: what cameras see, blind spots and new camera sites.
//! - [`bounds`]: the ranges of job parameters and a job's size before it runs.
//! - `store` and `service`: the stores (embedded SQLite; PostgreSQL/PostGIS
//!   with the `postgres` feature) and the actix-web service (`service` feature).
//!
//! Built without default features, the crate is the engine alone: `model`,
//! `partition`, `coverage`, GeoJSON `layers` and `crs` without PROJ (EPSG
//! codes are refused; GCJ-02 and BD-09 work), with no actix, rusqlite or PROJ
//! in the build.

pub mod bounds;
pub mod coverage;
pub mod crs;
pub mod geodesy;
pub mod layers;
pub mod model;
pub mod partition;
pub mod progress;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "service")]
pub mod store;

pub use progress::{NoProgress, Progress};
