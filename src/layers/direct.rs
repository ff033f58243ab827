//! The fast path for well-formed features: one serde pass over a feature's text
//! that builds the geo-types geometry directly, with no intermediate GeoJSON
//! values and no second scan of the coordinates.
//!
//! It accepts only the common, unambiguous shape (`"type"` first in the geometry
//! object, numeric positions of two or three numbers, closed rings of four or more
//! positions). Anything else, including every malformed feature, makes it give up
//! with `None`, and the caller takes the checked path in [`super::read`], which
//! names the problem. So this module never decides what an error message says.

use std::fmt;

use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::props::JsonStr;

/// A feature read in one pass; its properties are still raw JSON. Reading one
/// fails unless its `"type"` is `"Feature"`, so a value of this type is always a
/// Feature, also when it was read from inside a longer text (the big-layer scan
/// in [`super::split`]).
#[derive(Debug, Deserialize)]
pub(super) struct DirectFeature<'a> {
    #[serde(rename = "type")]
    _kind: FeatureTag,
    /// Boxed: rare, and a big layer's features wait here between scan and build.
    #[serde(default)]
    pub(super) id: Option<Box<serde_json::Value>>,
    pub(super) geometry: DirectGeometry,
    #[serde(borrow, default)]
    pub(super) properties: Option<&'a RawValue>,
}

/// Reads `text` as a well-formed Feature, or `None` when the checked path must
/// look at it.
pub(super) fn read_feature(text: &str) -> Option<DirectFeature<'_>> {
    serde_json::from_str(text).ok()
}

/// The string `"Feature"`, checked while reading and then not kept.
#[derive(Debug)]
struct FeatureTag;

impl<'de> Deserialize<'de> for FeatureTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FeatureTag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the string \"Feature\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FeatureTag, E> {
                (v == "Feature")
                    .then_some(FeatureTag)
                    .ok_or_else(|| E::custom("not a Feature"))
            }
        }
        d.deserialize_str(V)
    }
}

/// A geometry built straight from its JSON text.
#[derive(Debug)]
pub(super) struct DirectGeometry(pub(super) Geometry<f64>);

impl<'de> Deserialize<'de> for DirectGeometry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(GeometryVisitor)
    }
}

struct GeometryVisitor;

impl<'de> Visitor<'de> for GeometryVisitor {
    type Value = DirectGeometry;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a geometry object with \"type\" first")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let first = map.next_key::<JsonStr<'de>>()?;
        if first.as_ref().map(|k| k.0.as_ref()) != Some("type") {
            return Err(de::Error::custom("\"type\" is not the first member"));
        }
        let JsonStr(kind) = map.next_value::<JsonStr<'de>>()?;
        let mut geometry = None;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            match key.as_ref() {
                "coordinates" if geometry.is_none() => {
                    geometry = Some(map.next_value_seed(Shape(&kind))?);
                }
                "bbox" => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => return Err(de::Error::custom("unexpected member")),
            }
        }
        geometry
            .map(DirectGeometry)
            .ok_or_else(|| de::Error::custom("no coordinates"))
    }
}

/// The coordinates of a geometry whose type is already known.
struct Shape<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for Shape<'_> {
    type Value = Geometry<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Ok(match self.0 {
            "Point" => Geometry::Point(Point(Position::deserialize(d)?.0)),
            "MultiPoint" => {
                let points = Line::deserialize(d)?.0 .0;
                nonempty(&points)?;
                Geometry::MultiPoint(MultiPoint(points.into_iter().map(Point).collect()))
            }
            "LineString" => Geometry::LineString(open_line(Line::deserialize(d)?)?),
            "MultiLineString" => {
                let lines = Vec::<Line>::deserialize(d)?;
                nonempty(&lines)?;
                Geometry::MultiLineString(MultiLineString(
                    lines.into_iter().map(open_line).collect::<Result<_, _>>()?,
                ))
            }
            "Polygon" => Geometry::Polygon(Rings::deserialize(d)?.0),
            "MultiPolygon" => {
                let polygons = Vec::<Rings>::deserialize(d)?;
                nonempty(&polygons)?;
                Geometry::MultiPolygon(MultiPolygon(polygons.into_iter().map(|r| r.0).collect()))
            }
            _ => return Err(de::Error::custom("not a simple geometry type")),
        })
    }
}

fn nonempty<T, E: de::Error>(v: &[T]) -> Result<(), E> {
    if v.is_empty() {
        Err(E::custom("empty"))
    } else {
        Ok(())
    }
}

fn open_line<E: de::Error>(l: Line) -> Result<LineString<f64>, E> {
    if l.0 .0.len() < 2 {
        return Err(E::custom("short line"));
    }
    Ok(l.0)
}

/// One position: two or three numbers (a third, the height, is dropped).
struct Position(Coord<f64>);

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Position;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a position")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Position, A::Error> {
                let short = || de::Error::custom("short position");
                let x = seq.next_element::<f64>()?.ok_or_else(short)?;
                let y = seq.next_element::<f64>()?.ok_or_else(short)?;
                if seq.next_element::<f64>()?.is_some() && seq.next_element::<f64>()?.is_some() {
                    return Err(de::Error::custom("more than three numbers"));
                }
                Ok(Position(Coord { x, y }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A run of positions.
struct Line(LineString<f64>);

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Line;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of positions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Line, A::Error> {
                let mut coords = Vec::with_capacity(seq.size_hint().unwrap_or(8));
                while let Some(p) = seq.next_element::<Position>()? {
                    coords.push(p.0);
                }
                Ok(Line(LineString(coords)))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The rings of one polygon, each closed and of four or more positions.
struct Rings(Polygon<f64>);

impl<'de> Deserialize<'de> for Rings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut rings = Vec::<Line>::deserialize(d)?.into_iter().map(|l| l.0);
        let exterior = rings.next().ok_or_else(|| de::Error::custom("no rings"))?;
        let interiors: Vec<_> = rings.collect();
        for r in std::iter::once(&exterior).chain(&interiors) {
            if r.0.len() < 4 || r.0.first() != r.0.last() {
                return Err(de::Error::custom("open or short ring"));
            }
        }
        Ok(Rings(Polygon::new(exterior, interiors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::geometry::parse_geometry;

    /// The fast path builds exactly what the checked path builds.
    #[test]
    fn agrees_with_the_checked_path() {
        let cases = [
            r#"{"type":"Point","coordinates":[117.1,32.2]}"#,
            r#"{"type":"Point","coordinates":[117.1,32.2,10]}"#,
            r#"{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}"#,
            r#"{"type":"LineString","coordinates":[[1,2],[3,4.5]],"bbox":[1,2,3,4.5]}"#,
            r#"{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,8]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.2,0.2],[0.1,0.1]]]}"#,
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}"#,
            // Escaped keys and type names are read too (owned, not borrowed).
            r#"{"t\u0079pe":"Poi\u006et","coordi\u006eates":[117.1,32.2]}"#,
        ];
        for text in cases {
            let fast: DirectGeometry = serde_json::from_str(text).expect(text);
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            assert_eq!(fast.0, parse_geometry(Some(&raw)).unwrap(), "{text}");
        }
    }

    /// Every shape the checked path has words for is left to it.
    #[test]
    fn gives_up_on_anything_unusual() {
        let cases = [
            r#"{"coordinates":[1,2],"type":"Point"}"#,
            r#"{"type":"Point","coordinates":[1]}"#,
            r#"{"type":"Point","coordinates":[1,2,3,4]}"#,
            r#"{"type":"Point","coordinates":["1",2]}"#,
            r#"{"type":"Point"}"#,
            r#"{"type":"Point","coordinates":[1,2],"coordinates":[3,4]}"#,
            r#"{"type":"LineString","coordinates":[[1,2]]}"#,
            r#"{"type":"MultiPoint","coordinates":[]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[]}"#,
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            r#"{"type":"GeometryCollection","geometries":[]}"#,
            r#"{"type":"Circle","coordinates":[1,2]}"#,
        ];
        for text in cases {
            assert!(
                serde_json::from_str::<DirectGeometry>(text).is_err(),
                "{text}"
            );
        }
        assert!(read_feature(r#"{"type":"Feature","geometry":null}"#).is_none());
        assert!(read_feature(
            r#"{"type":"Other","geometry":{"type":"Point","coordinates":[1,2]}}"#
        )
        .is_none());
        let f = read_feature(
            r#"{"type":"Feature","id":7,"properties":{"a":1},"geometry":{"type":"Point","coordinates":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(f.id.as_deref(), Some(&serde_json::json!(7)));
        assert_eq!(f.properties.unwrap().get(), r#"{"a":1}"#);
    }
}
