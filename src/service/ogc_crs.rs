//! OGC API – Features Part 2 (Coordinate Reference Systems by Reference):
//! the CRSs items can be asked in (`crs`) and a `bbox` can be given in
//! (`bbox-crs`), the `Content-Crs` header, and the CRS lists of the
//! collections.
//!
//! Layers are stored in CRS84 (WGS84 longitude/latitude, RFC 7946), the
//! `storageCrs` of every collection. Offered besides it:
//!
//! - EPSG:4326 (WGS84) and EPSG:4490 (CGCS2000), **latitude first**, as the
//!   EPSG registry orders their axes and Part 2 requires (CGCS2000 and WGS84
//!   differ by centimetres; wangge treats them as one, see [`crate::crs`]);
//! - EPSG:3857 (Web Mercator), easting first;
//! - the CGCS2000 Gauss–Krüger zones EPSG:4491–4554 (6-degree and 3-degree,
//!   numbered and by central meridian), **northing first** as EPSG has them;
//! - GCJ-02 (AMap, Tencent) and BD-09 (Baidu), which no registry has, under
//!   URIs of this service: `{base}/crs/GCJ02` and `{base}/crs/BD09`,
//!   longitude first. `GET /crs/{name}` describes them. Any `http(s)` URI
//!   ending in `/crs/GCJ02` is taken for the first (a proxy may show the
//!   service under another base than the one it knows).
//!
//! Axis order is PROJ's reading of the EPSG definition
//! ([`crate::crs::northing_first`]), never a table of ours.
//!
//! A served feature in another CRS is its stored text with the coordinates
//! of its geometry rewritten in place ([`Reprojector`]): the id and
//! properties are copied, positions keep their order, and a position's
//! height (if any) is kept as written. Coordinates are rounded to 1e-9° or
//! 0.1 mm, well below what the data holds.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use geo_types::{Coord, LineString, Polygon};
use serde_json::json;
use serde_json::value::RawValue;

use super::error::ServiceError;
use super::{base_url, AppState};
use crate::crs::{Crs, CrsError, FromWgs84};

/// The conformance class of Part 2.
pub const CONFORMANCE: &str = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs";
/// WGS84 longitude/latitude: the storage CRS and the default.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_URI: &str = "http://www.opengis.net/def/crs/EPSG/0/";
/// The response header naming the CRS of the coordinates (Part 2, 6.2).
pub const CONTENT_CRS: &str = "content-crs";

/// EPSG codes offered besides CRS84, in the order the collections list them.
pub fn offered_codes() -> impl Iterator<Item = u32> {
    [4326, 4490, 3857].into_iter().chain(4491..=4554)
}

fn offered(code: u32) -> bool {
    matches!(code, 4326 | 4490 | 3857 | 4491..=4554)
}

/// The characters a base URL before `/crs/GCJ02` may hold (a regular
/// expression class, for the API description; `OgcCrs::parse` checks the same).
pub const OWN_PREFIX_CLASS: &str = "[A-Za-z0-9._~:/@%+-]";

fn own_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~:/@%+-".contains(&b))
}

/// The CRSs of this service's own, by the last segment of their URI.
const OWN: [(&str, Crs); 2] = [("GCJ02", Crs::Gcj02), ("BD09", Crs::Bd09)];

/// A CRS of a response or a bbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OgcCrs {
    #[default]
    Crs84,
    /// An offered EPSG code (4326 and 4490 included: they differ from CRS84
    /// in axis order).
    Epsg(u32),
    /// GCJ-02 or BD-09, under a URI of this service.
    Own(Crs),
}

impl OgcCrs {
    /// Reads a `crs` or `bbox-crs` value (named `param` in the error).
    pub fn parse(param: &str, v: &str) -> Result<OgcCrs, ServiceError> {
        if v == CRS84 {
            return Ok(OgcCrs::Crs84);
        }
        if let Some(code) = v.strip_prefix(EPSG_URI) {
            let plain = !code.is_empty()
                && !code.starts_with('0')
                && code.bytes().all(|b| b.is_ascii_digit());
            if let Some(code) = plain.then(|| code.parse::<u32>().ok()).flatten() {
                if offered(code) {
                    return Ok(OgcCrs::Epsg(code));
                }
            }
        } else if let Some(rest) = v
            .strip_prefix("http://")
            .or_else(|| v.strip_prefix("https://"))
        {
            for (name, crs) in OWN {
                let prefix = rest
                    .strip_suffix(name)
                    .and_then(|r| r.strip_suffix("/crs/"));
                if prefix.is_some_and(own_prefix) {
                    return Ok(OgcCrs::Own(crs));
                }
            }
        }
        Err(ServiceError::BadRequest(format!(
            "{param} {v:?} is not a CRS this service offers: {CRS84}, \
             {EPSG_URI}n for n = 4326 or 4490 (latitude first), 3857, or a CGCS2000 \
             Gauss-Kruger zone 4491-4554 (northing first), or this service's \
             …/crs/GCJ02 and …/crs/BD09 (see /collections)"
        )))
    }

    /// The URI, with `base` for the service's own.
    pub fn uri(&self, base: &str) -> String {
        match self {
            OgcCrs::Crs84 => CRS84.to_string(),
            OgcCrs::Epsg(code) => format!("{EPSG_URI}{code}"),
            OgcCrs::Own(crs) => format!("{base}/crs/{crs}"),
        }
    }

    /// The CRS the coordinates are converted with (EPSG:4326 and 4490 are
    /// CRS84 with the axes swapped).
    pub fn crs(&self) -> Crs {
        match self {
            OgcCrs::Crs84 => Crs::Wgs84,
            OgcCrs::Epsg(code) => Crs::epsg(*code),
            OgcCrs::Own(crs) => *crs,
        }
    }

    /// Whether the official axis order puts latitude or northing first.
    pub fn northing_first(&self) -> Result<bool, ServiceError> {
        match self {
            OgcCrs::Epsg(code) => crate::crs::northing_first(*code)
                .map_err(|e| ServiceError::Internal(format!("PROJ: {e}"))),
            _ => Ok(false),
        }
    }

    /// Coordinates in degrees (rounded to 1e-9) rather than metres (1e-4).
    fn angular(&self) -> bool {
        !matches!(self, OgcCrs::Epsg(c) if *c != 4326 && *c != 4490)
    }

    /// What an ETag adds for a representation in this CRS (nothing for CRS84).
    pub fn tag(&self) -> String {
        match self {
            OgcCrs::Crs84 => String::new(),
            OgcCrs::Epsg(code) => format!("-e{code}"),
            OgcCrs::Own(crs) => format!("-{crs}"),
        }
    }

    /// The `Content-Crs` header value: the URI in angle brackets.
    pub fn header(&self, base: &str) -> (&'static str, String) {
        (CONTENT_CRS, format!("<{}>", self.uri(base)))
    }
}

/// Every CRS offered, as the collections list them (CRS84 first).
pub fn offered_uris(base: &str) -> Vec<String> {
    std::iter::once(OgcCrs::Crs84)
        .chain(offered_codes().map(OgcCrs::Epsg))
        .chain(OWN.iter().map(|(_, c)| OgcCrs::Own(*c)))
        .map(|c| c.uri(base))
        .collect()
}

/// Where a `bbox` selects, in CRS84.
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    /// West, south, east, north in CRS84, clamped to its range; west above
    /// east crosses the antimeridian, south above north holds nothing.
    Box([f64; 4]),
    /// A box of another CRS, drawn in CRS84 (its edges densified).
    Area(Polygon<f64>),
    /// Nothing: a box whose lower corner is above or right of its upper one.
    Empty,
}

/// Vertices per edge when a box of a projected CRS is drawn in CRS84: a
/// straight edge of a few kilometres bends by well under a millimetre
/// between them.
const DENSIFY: usize = 32;

/// A CRS84 box clamped to CRS84's range.
fn clamp_crs84(b: [f64; 4]) -> [f64; 4] {
    [
        b[0].clamp(-180.0, 180.0),
        b[1].clamp(-90.0, 90.0),
        b[2].clamp(-180.0, 180.0),
        b[3].clamp(-90.0, 90.0),
    ]
}

/// The region of a bbox given as `b` (its four numbers in the order the
/// request wrote them: lower corner, upper corner, each in `crs`'s axis
/// order) in `crs`. Transform failures (a box far outside a Gauss–Krüger
/// zone) are 422: the request is well formed.
pub fn region(b: [f64; 4], crs: OgcCrs) -> Result<Region, ServiceError> {
    let swap = crs.northing_first()?;
    // Easting (longitude) first from here on.
    let b = if swap { [b[1], b[0], b[3], b[2]] } else { b };
    match crs {
        OgcCrs::Crs84 | OgcCrs::Epsg(4326 | 4490) => Ok(Region::Box(clamp_crs84(b))),
        // Web Mercator's rectangles are CRS84 rectangles: exact, never fails.
        OgcCrs::Epsg(3857) => {
            let r = 6_378_137.0_f64;
            let lon = |x: f64| (x / r).to_degrees();
            let lat = |y: f64| (y / r).sinh().atan().to_degrees();
            Ok(Region::Box(clamp_crs84([
                lon(b[0]),
                lat(b[1]),
                lon(b[2]),
                lat(b[3]),
            ])))
        }
        _ => {
            let b = match crs {
                OgcCrs::Own(_) => clamp_crs84(b),
                _ => b,
            };
            if b[0] > b[2] || b[1] > b[3] {
                return Ok(Region::Empty);
            }
            let mut ring: Vec<Coord> = Vec::with_capacity(4 * DENSIFY + 1);
            let corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])];
            for k in 0..4 {
                let (p, q) = (corners[k], corners[(k + 1) % 4]);
                for s in 0..DENSIFY {
                    let t = s as f64 / DENSIFY as f64;
                    ring.push(Coord {
                        x: p.0 + (q.0 - p.0) * t,
                        y: p.1 + (q.1 - p.1) * t,
                    });
                }
            }
            let to = crs.crs().to_wgs84().map_err(unusable)?;
            to.convert_coords(&mut ring).map_err(|e| {
                ServiceError::Unprocessable(format!(
                    "the bbox in {} cannot be drawn in CRS84: {e}",
                    crs.crs()
                ))
            })?;
            ring.push(ring[0]);
            Ok(Region::Area(Polygon::new(LineString(ring), Vec::new())))
        }
    }
}

fn unusable(e: CrsError) -> ServiceError {
    ServiceError::Unprocessable(e.to_string())
}

/// Rewrites served features' coordinates from CRS84 into another CRS.
pub struct Reprojector {
    to: FromWgs84,
    swap: bool,
    /// 1e9 for degrees, 1e4 for metres.
    scale: f64,
}

impl Reprojector {
    /// `None` for CRS84 (features are served as stored).
    pub fn new(crs: OgcCrs) -> Result<Option<Reprojector>, ServiceError> {
        if crs == OgcCrs::Crs84 {
            return Ok(None);
        }
        Ok(Some(Reprojector {
            to: crs.crs().from_wgs84().map_err(unusable)?,
            swap: crs.northing_first()?,
            scale: if crs.angular() { 1e9 } else { 1e4 },
        }))
    }

    /// Appends `feature` (a served Feature's text) to `out` with its
    /// geometry's coordinates converted.
    pub fn feature(&self, feature: &str, out: &mut Vec<u8>) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        struct Parts<'a> {
            #[serde(borrow, default)]
            geometry: Option<&'a RawValue>,
        }
        let parts: Parts<'_> = serde_json::from_str(feature).map_err(|e| e.to_string())?;
        let Some(g) = parts.geometry else {
            out.extend_from_slice(feature.as_bytes());
            return Ok(());
        };
        let start = offset_in(feature, g.get());
        out.extend_from_slice(&feature.as_bytes()[..start]);
        self.geometry(g.get(), out)?;
        out.extend_from_slice(&feature.as_bytes()[start + g.get().len()..]);
        Ok(())
    }

    /// A geometry object (or `null`) with its coordinates converted.
    fn geometry(&self, text: &str, out: &mut Vec<u8>) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        struct Parts<'a> {
            #[serde(borrow, default)]
            coordinates: Option<&'a RawValue>,
            #[serde(borrow, default)]
            geometries: Option<Vec<&'a RawValue>>,
        }
        if text.trim() == "null" {
            out.extend_from_slice(text.as_bytes());
            return Ok(());
        }
        let parts: Parts<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut spans: Vec<(&str, bool)> = Vec::new();
        if let Some(c) = parts.coordinates {
            spans.push((c.get(), true));
        }
        for g in parts.geometries.iter().flatten() {
            spans.push((g.get(), false));
        }
        spans.sort_by_key(|(s, _)| offset_in(text, s));
        let mut at = 0;
        for (span, coordinates) in spans {
            let start = offset_in(text, span);
            out.extend_from_slice(&text.as_bytes()[at..start]);
            if coordinates {
                let mut p = Positions {
                    text: span.as_bytes(),
                    at: 0,
                };
                p.array(self, out)?;
            } else {
                self.geometry(span, out)?;
            }
            at = start + span.len();
        }
        out.extend_from_slice(&text.as_bytes()[at..]);
        Ok(())
    }

    fn position(&self, lon: f64, lat: f64, out: &mut Vec<u8>) -> Result<(), String> {
        let (x, y) = self.to.convert(lon, lat).map_err(|e| e.to_string())?;
        let (a, b) = if self.swap { (y, x) } else { (x, y) };
        let mut text = ryu::Buffer::new();
        for (k, v) in [a, b].into_iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let r = (v * self.scale).round() / self.scale;
            out.extend_from_slice(text.format_finite(r).as_bytes());
        }
        Ok(())
    }
}

/// Where `part` (a slice of `whole`) starts in it.
fn offset_in(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// A cursor over a GeoJSON `coordinates` value: nested arrays of numbers.
struct Positions<'a> {
    text: &'a [u8],
    at: usize,
}

impl Positions<'_> {
    fn skip_ws(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        self.skip_ws();
        if self.text.get(self.at) == Some(&b) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!(
                "coordinates: expected {:?} at byte {}",
                b as char, self.at
            ))
        }
    }

    /// One array: of arrays (copied with their structure) or of numbers (a
    /// position, converted).
    fn array(&mut self, rp: &Reprojector, out: &mut Vec<u8>) -> Result<(), String> {
        self.expect(b'[')?;
        out.push(b'[');
        self.skip_ws();
        match self.text.get(self.at) {
            Some(b']') => {
                self.at += 1;
                out.push(b']');
                return Ok(());
            }
            Some(b'[') => loop {
                self.array(rp, out)?;
                self.skip_ws();
                match self.text.get(self.at) {
                    Some(b',') => {
                        self.at += 1;
                        out.push(b',');
                    }
                    Some(b']') => {
                        self.at += 1;
                        out.push(b']');
                        return Ok(());
                    }
                    _ => return Err(format!("coordinates: bad array at byte {}", self.at)),
                }
            },
            _ => {}
        }
        // A position: numbers up to the closing bracket.
        let end = self.text[self.at..]
            .iter()
            .position(|&b| b == b']')
            .map(|k| self.at + k)
            .ok_or("coordinates: an open position")?;
        let inner = std::str::from_utf8(&self.text[self.at..end]).map_err(|e| e.to_string())?;
        let mut nums = inner.split(',');
        let mut next = || -> Result<f64, String> {
            let n = nums.next().ok_or("coordinates: a position of one number")?;
            n.trim()
                .parse::<f64>()
                .map_err(|_| format!("coordinates: {n:?} is not a number"))
        };
        let (lon, lat) = (next()?, next()?);
        rp.position(lon, lat, out)?;
        // A height, kept as written.
        for rest in nums {
            out.push(b',');
            out.extend_from_slice(rest.trim().as_bytes());
        }
        self.at = end + 1;
        out.push(b']');
        Ok(())
    }
}

/// A CRS of this service's own.
#[utoipa::path(get, path = "/crs/{name}", tag = "Capabilities", operation_id = "own_crs",
    security(()),
    params(("name" = String, Path, description = "GCJ02 or BD09", pattern = "^(GCJ02|BD09)$")),
    responses(
        (status = 200, description = "what the CRS is: the URI `crs` and `bbox-crs` take, its axes, and how it is defined", body = Object),
        (status = 404, description = "no such CRS")))]
pub async fn own_crs(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    super::no_query(&req)?;
    let name = path.into_inner();
    let crs = OWN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "no CRS {name:?}: this service defines GCJ02 and BD09"
            ))
        })?;
    let base = base_url(&req, &state);
    let uri = OgcCrs::Own(crs).uri(&base);
    let (title, definition) = match crs {
        Crs::Gcj02 => (
            "GCJ-02 longitude/latitude (AMap/Gaode, Tencent)",
            "WGS84 longitude/latitude moved by the published GCJ-02 offset (Krasovsky 1940 ellipsoid); no offset outside 72.004–137.8347°E, 0.8293–55.8271°N. The inverse is iterated to 1e-9°.",
        ),
        _ => (
            "BD-09 longitude/latitude (Baidu)",
            "GCJ-02 with Baidu's further rotation and shift (x_pi = π·3000/180, +0.0065°, +0.006°). The inverse is iterated to 1e-9°.",
        ),
    };
    let doc = json!({
        "id": name,
        "uri": uri,
        "title": title,
        "axes": [{"name": "longitude", "direction": "east", "unit": "degree"},
                 {"name": "latitude", "direction": "north", "unit": "degree"}],
        "baseCrs": CRS84,
        "definition": definition,
        "links": [{"rel": "self", "type": "application/json", "href": uri}],
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .json(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_values() {
        assert_eq!(OgcCrs::parse("crs", CRS84).unwrap(), OgcCrs::Crs84);
        assert_eq!(
            OgcCrs::parse("crs", "http://www.opengis.net/def/crs/EPSG/0/4549").unwrap(),
            OgcCrs::Epsg(4549)
        );
        assert_eq!(
            OgcCrs::parse("crs", "https://gis.example.org/wangge/crs/GCJ02").unwrap(),
            OgcCrs::Own(Crs::Gcj02)
        );
        for bad in [
            "EPSG:4326",
            "http://www.opengis.net/def/crs/EPSG/0/4555",
            "http://www.opengis.net/def/crs/EPSG/0/04549",
            "http://www.opengis.net/def/crs/EPSG/0/",
            "http://x/crsGCJ02",
            "GCJ02",
            "ftp://x/crs/GCJ02",
        ] {
            let e = OgcCrs::parse("crs", bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        let all = offered_uris("http://h");
        assert_eq!(all.len(), 1 + 3 + 64 + 2);
        for u in &all {
            assert_eq!(OgcCrs::parse("crs", u).unwrap().uri("http://h"), *u);
        }
    }

    #[test]
    fn features_are_rewritten_in_place() {
        let rp = Reprojector::new(OgcCrs::Epsg(4326)).unwrap().unwrap();
        let f = r#"{"type":"Feature","id":"a","geometry":{"type":"MultiPolygon","coordinates":[[[[118.1,32.2,5],[118.2, 32.2],[118.1,32.3],[118.1,32.2,5]]]]},"properties":{"coordinates":[1,2]}}"#;
        let mut out = Vec::new();
        rp.feature(f, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["geometry"]["coordinates"][0][0][0],
            json!([32.2, 118.1, 5])
        );
        assert_eq!(v["geometry"]["coordinates"][0][0][1], json!([32.2, 118.2]));
        assert_eq!(v["properties"]["coordinates"], json!([1, 2]));
        assert_eq!(v["id"], "a");
        let mut out = Vec::new();
        let null = r#"{"type":"Feature","geometry":null,"properties":{}}"#;
        rp.feature(null, &mut out).unwrap();
        assert_eq!(out, null.as_bytes());
    }

    #[test]
    fn bbox_regions() {
        let b = [118.0, 32.0, 118.5, 32.5];
        assert_eq!(region(b, OgcCrs::Crs84).unwrap(), Region::Box(b));
        assert_eq!(
            region([32.0, 118.0, 32.5, 118.5], OgcCrs::Epsg(4326)).unwrap(),
            Region::Box(b)
        );
        let Region::Box(m) = region(
            [
                13_135_699.913_6,
                3_763_310.627_1,
                13_191_359.659,
                3_829_123.837,
            ],
            OgcCrs::Epsg(3857),
        )
        .unwrap() else {
            panic!()
        };
        assert!(m.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-8), "{m:?}");
        let Region::Area(p) = region(
            [3_540_000.0, 400_000.0, 3_560_000.0, 420_000.0],
            OgcCrs::Epsg(4549),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(p.exterior().0.len(), 4 * DENSIFY + 1);
        assert_eq!(
            region(
                [3_560_000.0, 400_000.0, 3_540_000.0, 420_000.0],
                OgcCrs::Epsg(4549)
            )
            .unwrap(),
            Region::Empty
        );
        assert!(matches!(
            region([0.0, -1e9, 1.0, 1e9], OgcCrs::Epsg(4549)),
            Err(ServiceError::Unprocessable(_))
        ));
    }
}
