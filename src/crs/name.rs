//! CRS names: parsing the many spellings found in GeoJSON files and requests, and
//! the canonical name we print.

use std::fmt;
use std::str::FromStr;

use super::{Crs, CrsError};

/// EPSG codes that we treat as plain WGS84 longitude/latitude.
///
/// 4326 is WGS84 itself (its official axis order is lat/lon, but GeoJSON and every
/// web map use lon/lat, and so do we). 4490 is CGCS2000 geographic, China's official
/// datum: it agrees with WGS84 to a few centimetres, well below the accuracy of the
/// data this service handles, and PROJ itself only has a "ballpark" (null) shift
/// between the two.
pub const WGS84_EQUIVALENT_EPSG: [u32; 2] = [4326, 4490];

impl Crs {
    /// The CRS with this EPSG code, with [`WGS84_EQUIVALENT_EPSG`] folded into
    /// [`Crs::Wgs84`]. Use this rather than `Crs::Epsg(code)` so that equal systems
    /// compare equal.
    pub fn epsg(code: u32) -> Crs {
        if WGS84_EQUIVALENT_EPSG.contains(&code) {
            Crs::Wgs84
        } else {
            Crs::Epsg(code)
        }
    }

    /// Parses a CRS name, ignoring ASCII case and surrounding white space.
    ///
    /// Accepted:
    /// - `EPSG:n` (and `EPSG::n`);
    /// - `CRS84`, `OGC:CRS84`, `WGS84`;
    /// - OGC URNs `urn:ogc:def:crs:EPSG:<version>:n` (version may be empty, as in
    ///   `urn:ogc:def:crs:EPSG::4326`) and `urn:ogc:def:crs:OGC:1.3:CRS84`;
    /// - OGC URIs `http://www.opengis.net/def/crs/EPSG/0/n` and
    ///   `http://www.opengis.net/def/crs/OGC/1.3/CRS84` (also `https`);
    /// - `GCJ02`, `GCJ-02`, `BD09`, `BD-09`;
    /// - `CGCS2000` (EPSG:4490) and the CGCS2000 Gauss–Krüger zones by their
    ///   EPSG names, `CGCS2000 / 3-degree Gauss-Kruger CM 117E` (EPSG:4548),
    ///   `… zone 39` (EPSG:4527), `CGCS2000 / Gauss-Kruger CM 117E` (6-degree,
    ///   EPSG:4509), `… zone 20` (EPSG:4498), `Krüger` also spelt so, and the
    ///   short `CGCS2000-GK-CM-117E` for the 3-degree zone (see [`cgcs2000_zone`]).
    ///
    /// EPSG:4326 and EPSG:4490 become [`Crs::Wgs84`] (see [`WGS84_EQUIVALENT_EPSG`]).
    /// Whether PROJ knows an EPSG code is only checked when a transformer is built
    /// ([`Crs::to_wgs84`]), because that needs PROJ's database.
    pub fn parse(name: &str) -> Result<Crs, CrsError> {
        let unknown = || CrsError::UnknownName {
            name: name.to_string(),
        };
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "crs84" | "ogc:crs84" | "wgs84" => return Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => return Ok(Crs::Gcj02),
            "bd09" | "bd-09" => return Ok(Crs::Bd09),
            "cgcs2000" => return Ok(Crs::Wgs84),
            _ => {}
        }
        if lower.starts_with("cgcs2000") {
            return cgcs2000_zone(&lower).map(Crs::Epsg).ok_or_else(unknown);
        }
        // authority, version (ignored) and code, from the URN or URI forms.
        let parts: Option<Vec<&str>> = if let Some(rest) = lower.strip_prefix("urn:ogc:def:crs:") {
            Some(rest.split(':').collect())
        } else {
            lower
                .strip_prefix("http://")
                .or_else(|| lower.strip_prefix("https://"))
                .and_then(|r| r.strip_prefix("www.opengis.net/def/crs/"))
                .map(|r| r.trim_end_matches('/').split('/').collect())
        };
        if let Some(parts) = parts {
            return match parts.as_slice() {
                ["epsg", _version, code] => epsg_code(code).map(Crs::epsg).ok_or_else(unknown),
                ["ogc", _version, "crs84"] => Ok(Crs::Wgs84),
                _ => Err(unknown()),
            };
        }
        if let Some(rest) = lower.strip_prefix("epsg:") {
            let code = rest.strip_prefix(':').unwrap_or(rest);
            return epsg_code(code).map(Crs::epsg).ok_or_else(unknown);
        }
        Err(unknown())
    }

    /// Reads the legacy GeoJSON (2008) `crs` member of a FeatureCollection.
    ///
    /// RFC 7946 dropped the member, but files exported by Chinese GIS software
    /// still carry it. Accepted: `{"type": "name", "properties": {"name": …}}` with
    /// any name [`Crs::parse`] accepts, the older `{"type": "EPSG", "properties":
    /// {"code": n}}`, and `null` (which the 2008 spec defines as "no CRS"; we read it
    /// as the default, WGS84). Linked CRSs (`"type": "link"`) are refused.
    pub fn from_geojson_member(member: &serde_json::Value) -> Result<Crs, CrsError> {
        use serde_json::Value;
        let unknown = || CrsError::UnknownName {
            name: member.to_string(),
        };
        if member.is_null() {
            return Ok(Crs::Wgs84);
        }
        let kind = member
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(unknown)?;
        let props = member.get("properties").ok_or_else(unknown)?;
        if kind.eq_ignore_ascii_case("name") {
            let name = props
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(unknown)?;
            Crs::parse(name)
        } else if kind.eq_ignore_ascii_case("epsg") {
            let code = match props.get("code") {
                Some(Value::Number(n)) => n.as_u64().and_then(|c| u32::try_from(c).ok()),
                Some(Value::String(s)) => epsg_code(s.trim()),
                _ => None,
            };
            code.filter(|&c| c > 0).map(Crs::epsg).ok_or_else(unknown)
        } else {
            Err(unknown())
        }
    }

    /// The OGC URI of the CRS, as OGC API – Features wants it (`crs`,
    /// `storageCrs`); `None` for GCJ-02 and BD-09, which have none.
    pub fn ogc_uri(&self) -> Option<String> {
        match self {
            Crs::Wgs84 => Some("http://www.opengis.net/def/crs/OGC/1.3/CRS84".to_string()),
            Crs::Epsg(code) => Some(format!("http://www.opengis.net/def/crs/EPSG/0/{code}")),
            Crs::Gcj02 | Crs::Bd09 => None,
        }
    }
}

/// The central meridians of the CGCS2000 3-degree Gauss–Krüger zones (°E).
pub const CGCS2000_3_DEGREE_CM: std::ops::RangeInclusive<u32> = 75..=135;

/// The EPSG code of a CGCS2000 Gauss–Krüger zone named as EPSG names it
/// (ASCII case ignored, `krüger` or `kruger`):
///
/// | name | codes |
/// |---|---|
/// | `cgcs2000 / 3-degree gauss-kruger cm {75…135, every 3}e` (and short `cgcs2000-gk-cm-{…}e`) | 4534–4554 |
/// | `cgcs2000 / 3-degree gauss-kruger zone {25…45}` | 4513–4533 |
/// | `cgcs2000 / gauss-kruger cm {75…135, every 6}e` (6-degree) | 4502–4512 |
/// | `cgcs2000 / gauss-kruger zone {13…23}` (6-degree) | 4491–4501 |
///
/// The short form is the 3-degree zone, the one city surveys use; a central
/// meridian that is also a 6-degree one (117°E) names the same projection
/// either way, only the EPSG code (and PROJ's area of use) differ.
/// `lower` is the name in ASCII lower case, trimmed.
pub fn cgcs2000_zone(lower: &str) -> Option<u32> {
    let name = lower.replace("krüger", "kruger");
    let cm = |s: &str| -> Option<u32> {
        let digits = s.strip_suffix('e')?;
        plain_number(digits, 3)
            .then(|| digits.parse().ok())
            .flatten()
    };
    let zone = |s: &str| -> Option<u32> { plain_number(s, 2).then(|| s.parse().ok()).flatten() };
    let three_cm = |n: u32| {
        (CGCS2000_3_DEGREE_CM.contains(&n) && (n - 75) % 3 == 0).then(|| 4534 + (n - 75) / 3)
    };
    if let Some(rest) = name.strip_prefix("cgcs2000-gk-cm-") {
        return cm(rest).and_then(three_cm);
    }
    if let Some(rest) = name.strip_prefix("cgcs2000 / 3-degree gauss-kruger ") {
        if let Some(n) = rest.strip_prefix("cm ") {
            return cm(n).and_then(three_cm);
        }
        let z = zone(rest.strip_prefix("zone ")?)?;
        return (25..=45).contains(&z).then(|| 4513 + z - 25);
    }
    let rest = name.strip_prefix("cgcs2000 / gauss-kruger ")?;
    if let Some(n) = rest.strip_prefix("cm ") {
        let n = cm(n)?;
        return (CGCS2000_3_DEGREE_CM.contains(&n) && (n - 75) % 6 == 0)
            .then(|| 4502 + (n - 75) / 6);
    }
    let z = zone(rest.strip_prefix("zone ")?)?;
    (13..=23).contains(&z).then(|| 4491 + z - 13)
}

/// 1 to `max` ASCII digits without a leading zero.
fn plain_number(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

/// An EPSG code: 1 to 9 ASCII digits, not zero.
fn epsg_code(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&c| c > 0)
}

impl fmt::Display for Crs {
    /// The canonical name, which [`Crs::parse`] reads back: `CRS84` (the
    /// longitude/latitude WGS84 of RFC 7946), `EPSG:n`, `GCJ02` or `BD09`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Wgs84 => f.write_str("CRS84"),
            Crs::Gcj02 => f.write_str("GCJ02"),
            Crs::Bd09 => f.write_str("BD09"),
            Crs::Epsg(code) => write!(f, "EPSG:{code}"),
        }
    }
}

impl FromStr for Crs {
    type Err = CrsError;
    fn from_str(s: &str) -> Result<Crs, CrsError> {
        Crs::parse(s)
    }
}

/// Serialized as its canonical name, so model and request types can hold a `Crs`.
impl serde::Serialize for Crs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Crs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Crs, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Crs::parse(&s).map_err(serde::de::Error::custom)
    }
}
