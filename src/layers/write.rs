//! Streaming RFC 7946 writer: WGS84 longitude/latitude, exterior rings
//! counter-clockwise and holes clockwise, numbers at full double precision
//! (shortest round-trip form, so never fewer than the 7 decimals the RFC asks).
//! Features are written one at a time, so a million-point layer never sits in
//! memory as JSON.

use std::io::{self, Write};

use geo::orient::{Direction, Orient};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Writes one FeatureCollection.
pub struct FeatureWriter<W: Write> {
    out: W,
    count: usize,
    buf: String,
}

impl<W: Write> FeatureWriter<W> {
    /// Starts a collection. `name` becomes the collection's `name` member, which
    /// QGIS shows as the layer name.
    pub fn new(mut out: W, name: Option<&str>) -> io::Result<Self> {
        out.write_all(b"{\"type\":\"FeatureCollection\",")?;
        if let Some(n) = name {
            out.write_all(b"\"name\":")?;
            serde_json::to_writer(&mut out, n)?;
            out.write_all(b",")?;
        }
        out.write_all(b"\"features\":[\n")?;
        Ok(FeatureWriter {
            out,
            count: 0,
            buf: String::with_capacity(4096),
        })
    }

    /// Writes a feature whose properties are a serializable value (a struct or a map).
    pub fn write<P: Serialize>(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        properties: &P,
    ) -> io::Result<()> {
        self.begin_feature(id, geometry)?;
        serde_json::to_writer(&mut self.out, properties)?;
        self.out.write_all(b"}")
    }

    /// Writes a feature that carries its input properties back, with `extra`
    /// properties set on top (replacing input properties of the same name).
    pub fn write_with_input(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        input: Option<&RawValue>,
        extra: Map<String, Value>,
    ) -> io::Result<()> {
        self.begin_feature(id, geometry)?;
        // Input properties are copied as they are (no parse into values), minus
        // those `extra` replaces; then the extra ones.
        let mut first = true;
        let mut sep = |out: &mut W| -> io::Result<()> {
            let s: &[u8] = if first { b"{" } else { b"," };
            first = false;
            out.write_all(s)
        };
        if let Some(raw) = input {
            let props: super::props::Props<'_> =
                serde_json::from_str(raw.get()).unwrap_or_default();
            for (k, v) in props.entries() {
                if !extra.contains_key(k) {
                    sep(&mut self.out)?;
                    serde_json::to_writer(&mut self.out, k)?;
                    self.out.write_all(b":")?;
                    self.out.write_all(v.get().as_bytes())?;
                }
            }
        }
        for (k, v) in &extra {
            sep(&mut self.out)?;
            serde_json::to_writer(&mut self.out, k)?;
            self.out.write_all(b":")?;
            serde_json::to_writer(&mut self.out, v)?;
        }
        if first {
            self.out.write_all(b"{")?;
        }
        self.out.write_all(b"}}")
    }

    fn begin_feature(&mut self, id: Option<&str>, geometry: &Geometry<f64>) -> io::Result<()> {
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        self.count += 1;
        self.buf.clear();
        self.buf.push_str("{\"type\":\"Feature\",");
        if let Some(id) = id {
            self.buf.push_str("\"id\":");
            self.buf
                .push_str(&serde_json::to_string(id).unwrap_or_default());
            self.buf.push(',');
        }
        self.buf.push_str("\"geometry\":");
        geometry_json(geometry, &mut self.buf);
        self.buf.push_str(",\"properties\":");
        self.out.write_all(self.buf.as_bytes())
    }

    /// Features written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Closes the collection and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A geometry as RFC 7946 JSON text, appended to `out`.
pub fn geometry_json(g: &Geometry<f64>, out: &mut String) {
    match g {
        Geometry::Point(p) => {
            out.push_str("{\"type\":\"Point\",\"coordinates\":");
            coord(p.0, out);
        }
        Geometry::MultiPoint(mp) => {
            out.push_str("{\"type\":\"MultiPoint\",\"coordinates\":");
            list(mp.0.iter(), out, |p, o| coord(p.0, o));
        }
        Geometry::LineString(l) => {
            out.push_str("{\"type\":\"LineString\",\"coordinates\":");
            line(l, out);
        }
        Geometry::MultiLineString(ml) => {
            out.push_str("{\"type\":\"MultiLineString\",\"coordinates\":");
            list(ml.0.iter(), out, line);
        }
        Geometry::Polygon(p) => {
            out.push_str("{\"type\":\"Polygon\",\"coordinates\":");
            polygon(p, out);
        }
        Geometry::MultiPolygon(mp) => {
            out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":");
            list(mp.0.iter(), out, polygon);
        }
        Geometry::Line(l) => {
            return geometry_json(&Geometry::LineString(LineString(vec![l.start, l.end])), out)
        }
        Geometry::Rect(r) => return geometry_json(&Geometry::Polygon(r.to_polygon()), out),
        Geometry::Triangle(t) => return geometry_json(&Geometry::Polygon(t.to_polygon()), out),
        Geometry::GeometryCollection(gc) => {
            out.push_str("{\"type\":\"GeometryCollection\",\"geometries\":");
            list(gc.0.iter(), out, geometry_json);
            out.push('}');
            return;
        }
    }
    out.push('}');
}

fn list<T>(items: impl Iterator<Item = T>, out: &mut String, mut each: impl FnMut(T, &mut String)) {
    out.push('[');
    for (i, it) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(it, out);
    }
    out.push(']');
}

fn coord(c: Coord<f64>, out: &mut String) {
    out.push('[');
    number(c.x, out);
    out.push(',');
    number(c.y, out);
    out.push(']');
}

/// Shortest round-trip decimal form; JSON has no NaN, so non-finite becomes null.
fn number(v: f64, out: &mut String) {
    use std::fmt::Write as _;
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

fn line(l: &LineString<f64>, out: &mut String) {
    list(l.0.iter(), out, |c, o| coord(*c, o));
}

fn polygon(p: &Polygon<f64>, out: &mut String) {
    // RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.
    let p = p.orient(Direction::Default);
    out.push('[');
    line(p.exterior(), out);
    for r in p.interiors() {
        out.push(',');
        line(r, out);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn rings_follow_the_right_hand_rule_and_output_parses() {
        let cw = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0)];
        let mut w = FeatureWriter::new(Vec::new(), Some("t")).unwrap();
        w.write(
            Some("a"),
            &Geometry::Polygon(cw),
            &serde_json::json!({"k": 1}),
        )
        .unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let fc: geojson::FeatureCollection = text.parse().unwrap();
        let g: geo_types::Geometry<f64> =
            fc.features[0].geometry.clone().unwrap().try_into().unwrap();
        let Geometry::Polygon(p) = g else { panic!() };
        use geo::Winding;
        assert!(p.exterior().is_ccw());
        assert_eq!(fc.features[0].property("k"), Some(&serde_json::json!(1)));
    }
}
