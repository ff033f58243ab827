//! Layer files other than GeoJSON, in and out: Shapefiles (loose or zipped),
//! GeoPackages, and CSV or Excel point lists.
//!
//! Reading turns such a file into the GeoJSON FeatureCollection text the rest
//! of `layers` reads, with the file's CRS as a legacy `crs` member, plus an
//! [`Origin`] that maps the collection's features back to the file's records
//! (and spreadsheet rows) and carries the records refused while converting
//! (a row whose longitude is not a number). So every format meets the same
//! validation and the same report: each rejection names the record (or the
//! row a person sees in Excel), its id and the reason. Only a file that
//! cannot be read at all is an error ([`FormatError`]).
//!
//! Writing ([`output`]) takes the GeoJSON the output writers produce and, when
//! asked, reprojects it (`--out-crs`) and writes it as a GeoPackage or a zipped
//! Shapefile instead.

mod encoding;
mod geopackage;
pub mod output;
mod shapefile_in;
mod shapefile_out;
mod table;
mod text;

use std::path::Path;

pub use super::origin::Origin;
pub use encoding::parse_encoding;
pub use geopackage::{BD09_SRS_ID, GCJ02_SRS_ID};
pub use output::{OutputFormat, OutputOptions, Sink};

use super::{LayerError, LayerText};
use crate::crs::CrsError;

/// What a layer file is, from its name (or an upload's content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    /// A `.shp` with its `.shx`, `.dbf`, `.prj` and `.cpg` beside it.
    Shapefile,
    /// A `.zip` holding one Shapefile.
    ShapefileZip,
    GeoPackage,
    Csv,
    /// `.xlsx` (and `.xls`, which the same reader takes).
    Excel,
}

impl Format {
    /// The format a file name's extension says; GeoJSON for anything else.
    pub fn from_name(name: &str) -> Format {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "shp" => Format::Shapefile,
            "zip" => Format::ShapefileZip,
            "gpkg" => Format::GeoPackage,
            "csv" => Format::Csv,
            "xlsx" | "xls" | "xlsm" => Format::Excel,
            _ => Format::GeoJson,
        }
    }

    /// The format an upload's `Content-Type` names, if it names one.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Some(match mime.as_str() {
            "application/geo+json" | "application/json" => Format::GeoJson,
            "application/zip" | "application/x-zip-compressed" | "application/x-shapefile" => {
                Format::ShapefileZip
            }
            "application/geopackage+sqlite3" | "application/x-sqlite3" => Format::GeoPackage,
            "text/csv" => Format::Csv,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "application/vnd.ms-excel" => Format::Excel,
            _ => return None,
        })
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "GeoJSON",
            Format::Shapefile => "Shapefile",
            Format::ShapefileZip => "zipped Shapefile",
            Format::GeoPackage => "GeoPackage",
            Format::Csv => "CSV",
            Format::Excel => "Excel",
        }
    }
}

/// How to read the formats that need more than the file itself.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Text encoding of Shapefile attributes (overriding a `.cpg`) and CSV
    /// files: an encoding label such as `GBK`, `GB18030`, `UTF-8` or a code
    /// page number (`936`).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// The GeoPackage layer (table) or the spreadsheet sheet to read; needed
    /// only when there is more than one.
    pub layer: Option<String>,
    /// The column holding longitudes (or eastings) in a CSV or Excel list;
    /// found among `lon`, `lng`, `longitude`, `经度` when not given.
    pub lon_field: Option<String>,
    /// The column naming each row in the report when a row is refused while
    /// converting (the reader's id field).
    pub id_field: Option<String>,
    /// The column holding latitudes (or northings); found among `lat`,
    /// `latitude`, `纬度` when not given.
    pub lat_field: Option<String>,
}

/// Why a file of one of these formats cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{0}")]
    Io(String),
    #[error("the Shapefile is incomplete: {0}")]
    MissingPart(String),
    #[error("the Shapefile cannot be read: {0}")]
    Shapefile(String),
    #[error("{what} is not valid {encoding} text{hint}")]
    Undecodable {
        what: String,
        encoding: &'static str,
        hint: &'static str,
    },
    #[error("unknown text encoding {0:?} (expected e.g. UTF-8, GBK, GB18030, Big5 or a code page number such as 936)")]
    UnknownEncoding(String),
    #[error("the .prj cannot be used: {0}")]
    Prj(CrsError),
    #[error("the GeoPackage cannot be read: {0}")]
    GeoPackage(String),
    #[error("the spreadsheet cannot be read: {0}")]
    Table(String),
    #[error("the zip file cannot be read: {0}")]
    Zip(String),
}

/// A layer file ready for the layer readers: the GeoJSON text (mapped or
/// converted) and, for converted files, where its features came from.
pub struct Opened {
    pub text: LayerText,
    pub origin: Option<std::sync::Arc<Origin>>,
}

impl std::ops::Deref for Opened {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// Opens a layer file of any format, by its extension.
pub fn open(path: &Path, opts: &SourceOptions) -> Result<Opened, LayerError> {
    let format = Format::from_name(&path.to_string_lossy());
    let converted = match format {
        Format::GeoJson => {
            return Ok(Opened {
                text: LayerText::open(path)?,
                origin: None,
            })
        }
        Format::Shapefile => shapefile_in::read_path(path, opts),
        Format::GeoPackage => geopackage::read_path(path, opts),
        _ => read_file(path).and_then(|bytes| convert(format, &bytes, opts)),
    }?;
    Ok(converted.into())
}

/// Reads a layer sent as bytes (an upload) in the given format.
pub fn from_bytes(
    format: Format,
    bytes: Vec<u8>,
    opts: &SourceOptions,
) -> Result<Opened, LayerError> {
    if format == Format::GeoJson {
        let text = String::from_utf8(bytes).map_err(|e| LayerError::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })?;
        return Ok(Opened {
            text: LayerText::Read(text),
            origin: None,
        });
    }
    Ok(convert(format, &bytes, opts)?.into())
}

/// A file converted to GeoJSON text.
pub(crate) struct Converted {
    text: String,
    origin: Origin,
}

impl From<Converted> for Opened {
    fn from(c: Converted) -> Opened {
        Opened {
            text: LayerText::Read(c.text),
            origin: Some(std::sync::Arc::new(c.origin)),
        }
    }
}

fn convert(format: Format, bytes: &[u8], opts: &SourceOptions) -> Result<Converted, FormatError> {
    match format {
        Format::ShapefileZip => shapefile_in::read_zip(bytes, opts),
        Format::GeoPackage => geopackage::read_bytes(bytes, opts),
        Format::Csv => table::read_csv(bytes, opts),
        Format::Excel => table::read_excel(bytes, opts),
        Format::Shapefile => Err(FormatError::MissingPart(
            "a lone .shp has no attributes and no CRS: send the .shp, .shx, .dbf, .prj (and .cpg) together as one .zip".into(),
        )),
        Format::GeoJson => unreachable!("GeoJSON is not converted"),
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    std::fs::read(path).map_err(|e| FormatError::Io(format!("reading {}: {e}", path.display())))
}
