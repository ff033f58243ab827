//! The EPSG transforms of a build without PROJ (no `epsg` feature): every
//! code is refused with a [`CrsError::NoEpsgSupport`] that says so, while
//! WGS84, GCJ-02 and BD-09 (pure Rust) work as in the full build.

use geo_types::Coord;

use super::area::{AreaOfUse, Direction};
use super::CrsError;

/// Never built: [`ProjOp::new`] always refuses.
#[derive(Debug, Clone)]
pub(crate) enum ProjOp {}

impl ProjOp {
    pub(crate) fn new(code: u32, _dir: Direction) -> Result<ProjOp, CrsError> {
        Err(CrsError::NoEpsgSupport { code })
    }

    pub(crate) fn area_of_use(&self) -> Option<AreaOfUse> {
        match *self {}
    }

    pub(crate) fn convert(&self, _x: f64, _y: f64) -> Result<(f64, f64), CrsError> {
        match *self {}
    }

    pub(crate) fn convert_chunk(&self, _chunk: &mut [Coord]) -> Result<(), CrsError> {
        match *self {}
    }
}
