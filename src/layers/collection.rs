//! Finding the features of a GeoJSON FeatureCollection: each one's text,
//! borrowed from the file, without building a DOM.
//!
//! A big layer is cut into pieces scanned on every core ([`super::split`]); when
//! the caller asks for [`Depth::Direct`], that scan also reads each well-formed
//! feature with the direct reader ([`super::direct`]), so its bytes are parsed
//! once. Small layers, a single thread, and anything the split refuses take the
//! sequential scan here, which only finds the features' text and names any
//! syntax error; their parsing happens per feature, in parallel, in
//! [`super::read`].

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::direct::DirectFeature;
use super::LayerError;

/// One feature as found in the file, and the feature itself when the scan has
/// already read it.
#[derive(Debug)]
pub struct RawFeature<'a> {
    /// The whole feature object's text; valid JSON, as the scan checked it.
    pub raw: &'a str,
    /// The feature as the direct reader read it during the scan, so it is not
    /// parsed again; `None` unless the scan was asked for [`Depth::Direct`], ran
    /// in parallel and the feature had the common, well-formed shape. Boxed so
    /// the list of a million features the scan gathers and joins stays small.
    pub(super) direct: Option<Box<DirectFeature<'a>>>,
}

/// How much of each feature the scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// Only its text: for callers that parse features their own way.
    Extent,
    /// Its text, and on the parallel big-layer scan also the feature itself,
    /// for the layer reader, which would otherwise parse every byte again.
    Direct,
}

/// A FeatureCollection's features as the scan found them.
#[derive(Debug)]
pub struct Collection<'a> {
    pub features: Vec<RawFeature<'a>>,
    /// The legacy (GeoJSON 2008) `crs` member, if the file has one.
    pub crs: Option<serde_json::Value>,
}

/// The parts of a feature object that wangge reads.
#[derive(Debug, Deserialize)]
pub(crate) struct FeatureParts<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(borrow, default)]
    pub geometry: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub properties: Option<&'a RawValue>,
}

/// Scans `text` as a FeatureCollection, finding each feature's text.
pub fn parse_collection(text: &str) -> Result<Collection<'_>, LayerError> {
    scan_collection(text, Depth::Extent)
}

/// Scans `text` as a FeatureCollection, reading features as deep as `depth`.
pub(super) fn scan_collection(text: &str, depth: Depth) -> Result<Collection<'_>, LayerError> {
    let first = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if first.len() >= super::split::PARALLEL_FROM && rayon::current_num_threads() > 1 {
        if let Some(c) = super::split::split_collection(first, depth) {
            return Ok(c);
        }
    }
    match first.chars().next() {
        None => return Err(LayerError::Json("the file is empty".into())),
        Some('{') => {}
        Some('[') => {
            return Err(LayerError::NotFeatureCollection {
                found: "a JSON array".into(),
            })
        }
        Some(c) if c == '"' || c == '-' || c.is_ascii_digit() => {
            return Err(LayerError::NotFeatureCollection {
                found: "a JSON scalar".into(),
            })
        }
        Some(_) => {
            return Err(LayerError::Json(
                "the file does not start with a JSON object".into(),
            ))
        }
    }
    let seen = Cell::new(0usize);
    let mut de = serde_json::Deserializer::from_str(first);
    let top = TopSeed { seen: &seen }
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|_| top))
        .map_err(|e| {
            let n = seen.get();
            let place = if n > 0 {
                format!(" (in or after feature {n}; features 0..{n} were complete)")
            } else {
                String::new()
            };
            LayerError::Json(format!("{e}{place}"))
        })?;
    match top.kind.as_deref() {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(LayerError::NotFeatureCollection {
                found: format!("a {other}"),
            })
        }
        None => {
            return Err(LayerError::NotFeatureCollection {
                found: "an object without a \"type\" member".into(),
            })
        }
    }
    let features = top.features.ok_or(LayerError::NotFeatureCollection {
        found: "a FeatureCollection without a \"features\" array".into(),
    })?;
    if features.is_empty() {
        return Err(LayerError::Empty);
    }
    let crs = top
        .crs
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
        .map_err(|e| LayerError::BadCrsMember(e.to_string()))?;
    Ok(Collection { features, crs })
}

struct Top<'a> {
    kind: Option<String>,
    features: Option<Vec<RawFeature<'a>>>,
    crs: Option<&'a RawValue>,
}

struct TopSeed<'s> {
    seen: &'s Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = Top {
            kind: None,
            features: None,
            crs: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => top.kind = Some(map.next_value()?),
                "features" => {
                    if top.features.is_some() {
                        return Err(de::Error::custom("duplicate \"features\" member"));
                    }
                    top.features = Some(map.next_value_seed(FeaturesSeed { seen: self.seen })?)
                }
                "crs" => top.crs = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// Collects the features array, counting as it goes so a syntax error can say
/// how far the file was good.
struct FeaturesSeed<'s> {
    seen: &'s Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_> {
    type Value = Vec<RawFeature<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_> {
    type Value = Vec<RawFeature<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1024));
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            out.push(RawFeature {
                raw: raw.get(),
                direct: None,
            });
            self.seen.set(out.len());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_features_and_legacy_crs() {
        let text = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4549"}},
            "features":[{"type":"Feature","geometry":null,"properties":{}}, 3]}"#;
        let c = parse_collection(text).unwrap();
        assert_eq!(c.features.len(), 2);
        assert_eq!(c.crs.unwrap()["properties"]["name"], "EPSG:4549");
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(matches!(
            parse_collection("[1]"),
            Err(LayerError::NotFeatureCollection { .. })
        ));
        assert!(matches!(
            parse_collection(r#"{"type":"Feature","geometry":null}"#),
            Err(LayerError::NotFeatureCollection { .. })
        ));
        assert!(matches!(
            parse_collection(r#"{"type":"FeatureCollection","features":[]}"#),
            Err(LayerError::Empty)
        ));
        let truncated =
            r#"{"type":"FeatureCollection","features":[{"type":"Feature"},{"type":"Fea"#;
        match parse_collection(truncated) {
            Err(LayerError::Json(m)) => assert!(m.contains("feature 1;"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
