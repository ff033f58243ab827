//! Output layers in another CRS or format.
//!
//! The output writers (`layers::outputs`) stream RFC 7946 GeoJSON in WGS84.
//! A [`Sink`] is where they write: the file itself when that is what was asked
//! for; otherwise a buffer that [`Sink::finish`] reads back, reprojects to the
//! `--out-crs` and writes as GeoJSON (with a legacy `crs` member, outside RFC
//! 7946), a GeoPackage, or a Shapefile (loose `.shp` + siblings, or zipped).
//! The round trip through text costs little next to the engines' work, and it
//! keeps one writer per output layer.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use geo_types::Geometry;
use serde_json::Value;

use super::geopackage::{self, OutFeature};
use super::shapefile_out;
use crate::crs::{Crs, FromWgs84};
use crate::layers::read::for_each_coord;
use crate::layers::write::geometry_json;

/// The file format of an output layer, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    GeoJson,
    GeoPackage,
    /// `.shp`: the `.shp`, `.shx`, `.dbf`, `.prj` and `.cpg` beside each other.
    Shapefile,
    /// `.zip` (or `.shp.zip`): the same five files in one archive.
    ShapefileZip,
}

impl OutputFormat {
    pub fn from_path(path: &Path) -> OutputFormat {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("gpkg") => OutputFormat::GeoPackage,
            Some("shp") => OutputFormat::Shapefile,
            Some("zip") => OutputFormat::ShapefileZip,
            _ => OutputFormat::GeoJson,
        }
    }
}

/// How output layers are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// The CRS of the coordinates written: WGS84 (RFC 7946) unless asked.
    pub crs: Crs,
}

/// Where an output layer is written; see the module docs.
pub struct Sink {
    path: PathBuf,
    format: OutputFormat,
    crs: Crs,
    target: Target,
}

enum Target {
    File(BufWriter<File>),
    Buffer(Vec<u8>),
}

impl Sink {
    /// A sink for the layer at `path`, in the format its extension names.
    pub fn create(path: &Path, opts: &OutputOptions) -> io::Result<Sink> {
        let format = OutputFormat::from_path(path);
        let target = if format == OutputFormat::GeoJson && opts.crs.is_wgs84() {
            Target::File(BufWriter::with_capacity(1 << 20, File::create(path)?))
        } else {
            // Fail now, not after the engines ran, if the CRS cannot be used.
            opts.crs
                .from_wgs84()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            // And if the place cannot be written.
            File::create(path)?;
            Target::Buffer(Vec::new())
        };
        Ok(Sink {
            path: path.to_path_buf(),
            format,
            crs: opts.crs,
            target,
        })
    }

    /// Writes the layer out: flushes the file, or converts the buffer.
    pub fn finish(self) -> io::Result<()> {
        let text = match self.target {
            Target::File(mut f) => return f.flush(),
            Target::Buffer(b) => b,
        };
        let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
        let collection: Value =
            serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
        let name = collection
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                self.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "layer".into());
        let to = self.crs.from_wgs84().map_err(|e| invalid(e.to_string()))?;
        let features = features(&collection, &to).map_err(invalid)?;
        match self.format {
            OutputFormat::GeoJson => {
                write_geojson(&self.path, &name, self.crs, &collection, &features)
            }
            OutputFormat::GeoPackage => {
                geopackage::write(&self.path, &name, self.crs, &features).map_err(invalid)
            }
            OutputFormat::Shapefile | OutputFormat::ShapefileZip => {
                let files = shapefile_out::write(&name, self.crs, &features).map_err(invalid)?;
                if self.format == OutputFormat::ShapefileZip {
                    shapefile_out::zip(&self.path, &files)
                } else {
                    shapefile_out::beside(&self.path, &files)
                }
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.target {
            Target::File(f) => f.write(buf),
            Target::Buffer(b) => b.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::File(f) => f.flush(),
            Target::Buffer(_) => Ok(()),
        }
    }
}

/// The collection's features with their geometry moved to the target CRS.
fn features(collection: &Value, to: &FromWgs84) -> Result<Vec<OutFeature>, String> {
    let list = collection
        .get("features")
        .and_then(Value::as_array)
        .ok_or("the output is not a FeatureCollection")?;
    list.iter()
        .enumerate()
        .map(|(i, f)| {
            let geometry = match f.get("geometry") {
                None | Some(Value::Null) => None,
                Some(g) => {
                    let g: geojson::Geometry = serde_json::from_value(g.clone())
                        .map_err(|e| format!("feature {i}: {e}"))?;
                    let mut g: Geometry<f64> =
                        g.try_into().map_err(|e| format!("feature {i}: {e}"))?;
                    if !to.is_identity() {
                        for_each_coord(&mut g, &mut |c: &mut geo_types::Coord<f64>| {
                            (c.x, c.y) = to.convert(c.x, c.y)?;
                            Ok(())
                        })
                        .map_err(|e: crate::crs::CrsError| {
                            format!("feature {i} cannot be written in {}: {e}", to.crs())
                        })?;
                    }
                    Some(g)
                }
            };
            let mut props: Vec<(String, Value)> = f
                .get("properties")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if let Some(id) = f
                .get("id")
                .filter(|_| !props.iter().any(|(k, _)| k == "id"))
            {
                props.insert(0, ("id".into(), id.clone()));
            }
            Ok(OutFeature { geometry, props })
        })
        .collect()
}

/// GeoJSON in a CRS other than WGS84: the legacy (2008) `crs` member names it,
/// as GDAL and QGIS read it. Outside RFC 7946, which allows WGS84 only.
fn write_geojson(
    path: &Path,
    name: &str,
    crs: Crs,
    collection: &Value,
    features: &[OutFeature],
) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut head = serde_json::Map::new();
    head.insert("type".into(), "FeatureCollection".into());
    head.insert("name".into(), name.into());
    if !crs.is_wgs84() {
        let uri = match crs {
            Crs::Epsg(code) => format!("urn:ogc:def:crs:EPSG::{code}"),
            other => other.to_string(),
        };
        head.insert(
            "crs".into(),
            serde_json::json!({"type": "name", "properties": {"name": uri}}),
        );
    }
    let head = serde_json::to_string(&Value::Object(head))?;
    // The head without its closing brace: the features follow.
    out.write_all(&head.as_bytes()[..head.len() - 1])?;
    out.write_all(b",\"features\":[\n")?;
    let list = collection.get("features").and_then(Value::as_array);
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        let mut text = String::from("{\"type\":\"Feature\",");
        if let Some(id) = list.and_then(|l| l[i].get("id")) {
            text.push_str(&format!("\"id\":{id},"));
        }
        let props = list
            .and_then(|l| l[i].get("properties"))
            .cloned()
            .unwrap_or(Value::Null);
        text.push_str(&format!("\"properties\":{props},\"geometry\":"));
        match &f.geometry {
            Some(g) => geometry_json(g, &mut text),
            None => text.push_str("null"),
        }
        text.push('}');
        out.write_all(text.as_bytes())?;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()
}
