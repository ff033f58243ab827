//! The command line's options for layer files other than GeoJSON (read with
//! every command's input options) and for output layers (`--out-crs`, and the
//! format an output's extension names).

use std::path::Path;

use clap::Args;

use wangge::crs::Crs;
use wangge::layers::formats::{self, Opened, OutputOptions, Sink, SourceOptions};

use crate::Status;

/// How to read Shapefiles, GeoPackages, CSV and Excel lists.
#[derive(Args, Clone)]
pub(crate) struct SourceArgs {
    /// Text encoding of Shapefile attributes (overrides a .cpg) and CSV files:
    /// GBK, GB18030, UTF-8, Big5 or a code page number such as 936.
    #[arg(long)]
    encoding: Option<String>,
    /// The layer of a GeoPackage, or the sheet of a workbook, to read (needed
    /// only when there is more than one).
    #[arg(long)]
    in_layer: Option<String>,
    /// Column holding the longitude of a CSV or Excel point list (default: the
    /// column headed lon, lng, longitude or 经度).
    #[arg(long)]
    lon_field: Option<String>,
    /// Column holding the latitude (default: lat, latitude or 纬度).
    #[arg(long)]
    lat_field: Option<String>,
}

impl SourceArgs {
    fn options(&self, id_field: &str) -> Result<SourceOptions, String> {
        Ok(SourceOptions {
            encoding: self
                .encoding
                .as_deref()
                .map(formats::parse_encoding)
                .transpose()
                .map_err(|e| e.to_string())?,
            layer: self.in_layer.clone(),
            lon_field: self.lon_field.clone(),
            lat_field: self.lat_field.clone(),
            id_field: Some(id_field.to_string()),
        })
    }

    /// Opens a layer file of any format (by its extension): GeoJSON is mapped
    /// into memory, the others are converted.
    /// `id_field` names refused rows in the report.
    pub(crate) fn open(
        &self,
        path: &Path,
        id_field: &str,
        status: &Status,
    ) -> Result<Opened, String> {
        status.stage(&format!("reading {}", path.display()));
        formats::open(path, &self.options(id_field)?)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// How to write output layers.
#[derive(Args, Clone)]
pub(crate) struct OutputArgs {
    /// CRS of the output layers: EPSG:n (e.g. EPSG:4549, the CGCS2000
    /// Gauss-Krüger zone at 120°E; EPSG:4491-4554 are the CGCS2000 zones, also
    /// by name: "CGCS2000 / 3-degree Gauss-Kruger CM 117E" or
    /// CGCS2000-GK-CM-117E), GCJ02 (AMap, Tencent) or BD09 (Baidu). Default
    /// WGS84, as RFC 7946 has it; GeoJSON in any other CRS carries a "crs"
    /// member, outside RFC 7946.
    #[arg(long)]
    out_crs: Option<String>,
}

impl OutputArgs {
    /// Where to write the layer at `path`, in the format its extension names
    /// (.geojson, .gpkg, .shp, or .zip for a zipped Shapefile).
    pub(crate) fn layer(&self, path: &Path) -> Result<Sink, String> {
        let crs = self
            .out_crs
            .as_deref()
            .map(Crs::parse)
            .transpose()
            .map_err(|e| format!("--out-crs: {e}"))?
            .unwrap_or_default();
        Sink::create(path, &OutputOptions { crs })
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Completes a layer written to a [`Sink`].
pub(crate) fn finish(path: &Path, written: std::io::Result<Sink>) -> Result<(), String> {
    written
        .and_then(Sink::finish)
        .map_err(|e| format!("writing {}: {e}", path.display()))
}
