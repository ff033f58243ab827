//! What format an uploaded layer is in, and how to read it: the
//! `Content-Type` first (`application/zip` for a zipped Shapefile,
//! `application/geopackage+sqlite3`, `text/csv`, the Excel types), then the
//! `format` query parameter or the extension of a `Content-Disposition`
//! file name, then the first bytes (SQLite, zip, Excel). GeoJSON otherwise,
//! as before. The reading options of the other formats come from the query
//! (`encoding`, `layer_name`, `lon_field`, `lat_field`), as the command
//! line's `--encoding`, `--in-layer`, `--lon-field` and `--lat-field`.

use actix_web::http::header;
use actix_web::HttpRequest;

use super::error::ServiceError;
use crate::layers::formats::{parse_encoding, Format, SourceOptions};

/// The query parameters of an upload that belong to the formats; the layer
/// reader's own (`crs`, `strict`, `*_field`) are `datasets::parse_read_options`'.
pub const SOURCE_PARAMETERS: [&str; 5] =
    ["format", "encoding", "layer_name", "lon_field", "lat_field"];

/// The upload's format and how to read it.
pub fn upload_format(
    req: &HttpRequest,
    body: &[u8],
    id_field: &str,
) -> Result<(Format, SourceOptions), ServiceError> {
    let mut source = SourceOptions {
        id_field: Some(id_field.to_string()),
        ..Default::default()
    };
    let mut named: Option<Format> = None;
    for (k, v) in super::parse_query(req.query_string())? {
        match k.as_str() {
            "format" => {
                named = Some(format_name(&v).ok_or_else(|| {
                    ServiceError::BadRequest(format!(
                        "format {v:?}: expected geojson, shapefile (a .zip), gpkg, csv or xlsx"
                    ))
                })?)
            }
            "encoding" => {
                source.encoding =
                    Some(parse_encoding(&v).map_err(|e| ServiceError::BadRequest(e.to_string()))?)
            }
            "layer_name" => source.layer = Some(v),
            "lon_field" => source.lon_field = Some(v),
            "lat_field" => source.lat_field = Some(v),
            _ => {}
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase());
    let by_type = match content_type.as_deref() {
        None => None,
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim();
            match Format::from_content_type(mime) {
                Some(f) => Some(f),
                None if mime.ends_with("+json") || mime == "application/vnd.geo+json" => {
                    Some(Format::GeoJson)
                }
                None if mime == "application/octet-stream" => None,
                None => {
                    return Err(ServiceError::UnsupportedMediaType(format!(
                        "Content-Type {mime} (send GeoJSON, a zipped Shapefile, a GeoPackage, CSV or Excel)"
                    )))
                }
            }
        }
    };
    let format = by_type
        .filter(|f| *f != Format::GeoJson || named.is_none())
        .or(named)
        .or_else(|| disposition_name(req).map(|n| Format::from_name(&n)))
        .unwrap_or_else(|| sniff(body));
    if format == Format::Shapefile {
        return Err(ServiceError::BadRequest(
            "a lone .shp has no attributes and no CRS: send the .shp, .shx, .dbf, .prj (and .cpg) together as one .zip".into(),
        ));
    }
    Ok((format, source))
}

fn format_name(v: &str) -> Option<Format> {
    Some(match v.to_ascii_lowercase().as_str() {
        "geojson" | "json" => Format::GeoJson,
        "shapefile" | "shp" | "zip" => Format::ShapefileZip,
        "gpkg" | "geopackage" => Format::GeoPackage,
        "csv" => Format::Csv,
        "xlsx" | "xls" | "excel" => Format::Excel,
        _ => return None,
    })
}

/// The file name of a `Content-Disposition` header, if any.
fn disposition_name(req: &HttpRequest) -> Option<String> {
    let v = req
        .headers()
        .get(header::CONTENT_DISPOSITION)?
        .to_str()
        .ok()?;
    let at = v.find("filename=")?;
    let name = v[at + "filename=".len()..]
        .split(';')
        .next()?
        .trim()
        .trim_matches('"');
    (!name.is_empty()).then(|| name.to_string())
}

/// The format the first bytes give away; GeoJSON when they give none.
fn sniff(body: &[u8]) -> Format {
    if body.starts_with(b"SQLite format 3\0") {
        Format::GeoPackage
    } else if body.starts_with(b"\xd0\xcf\x11\xe0") {
        Format::Excel
    } else if body.starts_with(b"PK\x03\x04") {
        // A workbook is a zip too; its parts name it.
        let head = &body[..body.len().min(1 << 16)];
        if memchr::memmem::find(head, b"[Content_Types].xml").is_some()
            || memchr::memmem::find(head, b"xl/").is_some()
        {
            Format::Excel
        } else {
            Format::ShapefileZip
        }
    } else {
        Format::GeoJson
    }
}
