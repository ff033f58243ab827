//! GeoJSON in and out.
//!
//! Reading runs on every core and parses each byte of a big layer once. A scan
//! finds each feature's text in the FeatureCollection (`collection`); on a big
//! layer it runs in parallel pieces (`split`) and also reads every well-formed
//! feature straight into geo-types (`direct`). Then a parallel pass (`read`)
//! parses the features the scan did not read, and reprojects, validates and
//! builds each one into a model type (`kinds`). Features the direct reader gives
//! up on take the checked path, which names what is wrong. A feature that breaks
//! the contract is rejected with its index, id and reason; the rest are kept
//! unless the caller asks for strict, all-or-nothing reading.
//!
//! Writing ([`mod@write`]) streams RFC 7946 FeatureCollections: WGS84 longitude/latitude,
//! right-hand rings, full double precision.

mod collection;
mod direct;
mod fields;
#[cfg(feature = "formats")]
pub mod formats;
mod geometry;
mod kinds;
pub mod lineage;
mod origin;
pub mod outputs;
pub mod previous;
mod props;
mod read;
mod report;
mod split;
pub mod write;

pub use collection::{parse_collection, Collection, RawFeature};
pub use fields::FieldNames;
pub use geometry::GeometryError;
pub use kinds::{
    read_areas, read_barriers, read_buildings, read_cameras, read_candidates, read_households,
    read_layer, read_sites, AnyLayer, CameraDefaults, LayerKind, ReadOptions,
};
pub use origin::Origin;
pub use report::{LayerReport, Rejection};
pub use write::FeatureWriter;

use crate::crs::CrsError;

/// Why a whole layer could not be read. Problems with single features are not
/// errors: they become [`Rejection`]s in the [`LayerReport`].
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("the file is not valid UTF-8 text (byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("the file is not valid JSON: {0}")]
    Json(String),
    #[error("expected a GeoJSON FeatureCollection, found {found}")]
    NotFeatureCollection { found: String },
    #[error("the FeatureCollection has no features")]
    Empty,
    #[error("the layer's CRS cannot be used: {0}")]
    Crs(#[from] CrsError),
    #[error("the legacy crs member is malformed: {0}")]
    BadCrsMember(String),
    #[error("{rejected} of {total} features rejected in strict mode; first: {first}")]
    Strict {
        rejected: usize,
        total: usize,
        first: Rejection,
    },
    #[error("no feature could be accepted: {rejected} rejected; first: {first}")]
    NothingAccepted { rejected: usize, first: Rejection },
    #[error("unknown layer kind {0:?} (expected areas, households, cameras, buildings, barriers, sites or candidates)")]
    UnknownKind(String),
    #[cfg(feature = "formats")]
    #[error("{0}")]
    Format(#[from] formats::FormatError),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads a whole file as UTF-8 text, naming the file and the first bad byte.
pub fn read_text(path: &std::path::Path) -> Result<String, LayerError> {
    let bytes = std::fs::read(path).map_err(|source| LayerError::Io {
        path: path.display().to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| LayerError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// A layer file's text for the command line: a regular file is mapped into
/// memory, so a layer of hundreds of megabytes is parsed where the page cache
/// holds it, with no copy and no fresh memory to zero; anything else (a pipe,
/// a file that cannot be mapped) is read like [`read_text`]. The service
/// always reads into memory.
pub enum LayerText {
    Mapped(memmap2::Mmap),
    Read(String),
}

impl LayerText {
    /// Opens `path`, checking that it is UTF-8 and naming the first bad byte.
    pub fn open(path: &std::path::Path) -> Result<Self, LayerError> {
        let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        let file = std::fs::File::open(path).ok().filter(|_| regular);
        // SAFETY: the map is read-only and private to this process; like any
        // tool that maps its inputs, the command line assumes nobody truncates
        // them while it runs.
        let map = file.and_then(|f| unsafe { memmap2::MmapOptions::new().populate().map(&f) }.ok());
        let Some(map) = map else {
            return read_text(path).map(LayerText::Read);
        };
        std::str::from_utf8(&map).map_err(|e| LayerError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        Ok(LayerText::Mapped(map))
    }
}

impl std::ops::Deref for LayerText {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            // SAFETY: checked to be UTF-8 in `open`, and the map is read-only.
            LayerText::Mapped(map) => unsafe { std::str::from_utf8_unchecked(map) },
            LayerText::Read(text) => text,
        }
    }
}
