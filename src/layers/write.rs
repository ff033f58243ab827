//! Streaming RFC 7946 writer: WGS84 longitude/latitude, exterior rings
//! counter-clockwise and holes clockwise, numbers at full double precision
//! (shortest round-trip form, so never fewer than the 7 decimals the RFC asks).
//! Features are written in order, one at a time or in batches serialized on
//! every core ([`FeatureWriter::write_features`]), so a million-point layer never sits
//! in memory as JSON.

use std::io::{self, Write};

use geo::orient::{Direction, Orient};
use geo_types::{Coord, Geometry, LineString, Polygon};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;

/// Features per parallel serialization task: big enough to amortize the task,
/// small enough to spread over the cores.
const CHUNK: usize = 2048;
/// Chunks serialized before they are written out, which bounds the memory the
/// text of a big layer takes while it is being written.
const CHUNKS_IN_FLIGHT: usize = 64;

/// Writes one FeatureCollection.
pub struct FeatureWriter<W: Write> {
    out: W,
    count: usize,
    text: FeatureText,
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
            text: FeatureText::default(),
        })
    }

    /// Writes a feature whose properties are a serializable value (a struct or a map).
    pub fn write<P: Serialize>(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        properties: &P,
    ) -> io::Result<()> {
        self.text.feature(id, geometry, properties);
        self.flush_text()
    }

    /// Writes a feature that carries its input properties back, with the
    /// properties `extra` sets on top (replacing input properties of the same name).
    pub fn write_with_input(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        input: Option<&RawValue>,
        extra: impl FnOnce(&mut ExtraProperties),
    ) -> io::Result<()> {
        self.text.feature_with_input(id, geometry, input, extra);
        self.flush_text()
    }

    /// Writes one feature per item, in order, serializing on every core:
    /// `feature(i, item, text)` appends the feature of `items[i]` (or none) to
    /// `text`. One batch is written out while the next is being serialized.
    pub fn write_features<T, F>(&mut self, items: &[T], feature: F) -> io::Result<()>
    where
        W: Send,
        T: Sync,
        F: Fn(usize, &T, &mut FeatureText) + Sync,
    {
        let serialize = |first: usize, batch: &[T]| -> Vec<FeatureText> {
            batch
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut text = FeatureText::default();
                    for (k, item) in chunk.iter().enumerate() {
                        feature(first + c * CHUNK + k, item, &mut text);
                    }
                    text
                })
                .collect()
        };
        let mut ready: Vec<FeatureText> = Vec::new();
        for (b, batch) in items.chunks(CHUNK * CHUNKS_IN_FLIGHT).enumerate() {
            let first = b * CHUNK * CHUNKS_IN_FLIGHT;
            let (next, written) =
                rayon::join(|| serialize(first, batch), || self.write_texts(ready));
            written?;
            ready = next;
        }
        self.write_texts(ready)
    }

    fn write_texts(&mut self, texts: Vec<FeatureText>) -> io::Result<()> {
        for mut text in texts {
            std::mem::swap(&mut self.text, &mut text);
            self.flush_text()?;
        }
        Ok(())
    }

    /// Moves the features in `self.text` to the output.
    fn flush_text(&mut self) -> io::Result<()> {
        if self.text.count == 0 {
            return Ok(());
        }
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        self.count += self.text.count;
        self.out.write_all(&self.text.buf)?;
        self.text.clear();
        Ok(())
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

/// The text of a run of features, comma-separated, ready to be written.
#[derive(Default)]
pub struct FeatureText {
    buf: Vec<u8>,
    count: usize,
    /// Reused for every feature's extra properties.
    extra: ExtraProperties,
}

impl FeatureText {
    fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }

    /// Appends a feature whose properties are a serializable value.
    pub fn feature<P: Serialize>(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        properties: &P,
    ) {
        self.begin(id, geometry);
        // Writing JSON into memory cannot fail but for a Serialize impl's own
        // error, which the model types never raise.
        let _ = serde_json::to_writer(&mut self.buf, properties);
        self.buf.push(b'}');
    }

    /// Appends a feature that carries its input properties back, as they are
    /// (no parse into values), with the properties `extra` sets on top.
    pub fn feature_with_input(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        input: Option<&RawValue>,
        extra: impl FnOnce(&mut ExtraProperties),
    ) {
        self.begin(id, geometry);
        let mut set = std::mem::take(&mut self.extra);
        set.keys.clear();
        set.text.clear();
        extra(&mut set);
        let mut first = true;
        let mut sep = |buf: &mut Vec<u8>| {
            buf.push(if first { b'{' } else { b',' });
            first = false;
        };
        if let Some(raw) = input {
            let props: super::props::Props<'_> =
                serde_json::from_str(raw.get()).unwrap_or_default();
            for (k, v) in props.entries() {
                if !set.keys.contains(&k) {
                    sep(&mut self.buf);
                    let _ = serde_json::to_writer(&mut self.buf, k);
                    self.buf.push(b':');
                    self.buf.extend_from_slice(v.get().as_bytes());
                }
            }
        }
        if !set.text.is_empty() {
            sep(&mut self.buf);
            self.buf.extend_from_slice(&set.text);
        }
        if first {
            self.buf.push(b'{');
        }
        self.buf.extend_from_slice(b"}}");
        self.extra = set;
    }

    fn begin(&mut self, id: Option<&str>, geometry: &Geometry<f64>) {
        if self.count > 0 {
            self.buf.extend_from_slice(b",\n");
        }
        self.count += 1;
        self.buf.extend_from_slice(b"{\"type\":\"Feature\",");
        if let Some(id) = id {
            self.buf.extend_from_slice(b"\"id\":");
            let _ = serde_json::to_writer(&mut self.buf, id);
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(b"\"geometry\":");
        geometry_json(geometry, &mut self.buf);
        self.buf.extend_from_slice(b",\"properties\":");
    }
}

/// Properties a writer sets on top of a feature's input properties.
#[derive(Default)]
pub struct ExtraProperties {
    keys: Vec<&'static str>,
    /// `"key":value` pairs, comma-separated.
    text: Vec<u8>,
}

impl ExtraProperties {
    /// Sets `key` to `value`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        if !self.text.is_empty() {
            self.text.push(b',');
        }
        let _ = serde_json::to_writer(&mut self.text, key);
        self.text.push(b':');
        let _ = serde_json::to_writer(&mut self.text, value);
        self.keys.push(key);
    }
}

/// Text that JSON is appended to: a String, or bytes bound for a file.
pub trait JsonText {
    fn put(&mut self, s: &str);
}

impl JsonText for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl JsonText for Vec<u8> {
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// A geometry as RFC 7946 JSON text, appended to `out`.
pub fn geometry_json(g: &Geometry<f64>, out: &mut impl JsonText) {
    match g {
        Geometry::Point(p) => {
            out.put("{\"type\":\"Point\",\"coordinates\":");
            coord(p.0, out);
        }
        Geometry::MultiPoint(mp) => {
            out.put("{\"type\":\"MultiPoint\",\"coordinates\":");
            list(mp.0.iter(), out, |p, o| coord(p.0, o));
        }
        Geometry::LineString(l) => {
            out.put("{\"type\":\"LineString\",\"coordinates\":");
            line(l, out);
        }
        Geometry::MultiLineString(ml) => {
            out.put("{\"type\":\"MultiLineString\",\"coordinates\":");
            list(ml.0.iter(), out, line);
        }
        Geometry::Polygon(p) => {
            out.put("{\"type\":\"Polygon\",\"coordinates\":");
            polygon(p, out);
        }
        Geometry::MultiPolygon(mp) => {
            out.put("{\"type\":\"MultiPolygon\",\"coordinates\":");
            list(mp.0.iter(), out, polygon);
        }
        Geometry::Line(l) => {
            return geometry_json(&Geometry::LineString(LineString(vec![l.start, l.end])), out)
        }
        Geometry::Rect(r) => return geometry_json(&Geometry::Polygon(r.to_polygon()), out),
        Geometry::Triangle(t) => return geometry_json(&Geometry::Polygon(t.to_polygon()), out),
        Geometry::GeometryCollection(gc) => {
            out.put("{\"type\":\"GeometryCollection\",\"geometries\":");
            list(gc.0.iter(), out, geometry_json);
            out.put("}");
            return;
        }
    }
    out.put("}");
}

fn list<T, O: JsonText>(
    items: impl Iterator<Item = T>,
    out: &mut O,
    mut each: impl FnMut(T, &mut O),
) {
    out.put("[");
    for (i, it) in items.enumerate() {
        if i > 0 {
            out.put(",");
        }
        each(it, out);
    }
    out.put("]");
}

fn coord(c: Coord<f64>, out: &mut impl JsonText) {
    out.put("[");
    number(c.x, out);
    out.put(",");
    number(c.y, out);
    out.put("]");
}

/// Shortest round-trip decimal form; JSON has no NaN, so non-finite becomes null.
fn number(v: f64, out: &mut impl JsonText) {
    if v.is_finite() {
        out.put(ryu::Buffer::new().format_finite(v));
    } else {
        out.put("null");
    }
}

fn line(l: &LineString<f64>, out: &mut impl JsonText) {
    list(l.0.iter(), out, |c, o| coord(*c, o));
}

fn polygon(p: &Polygon<f64>, out: &mut impl JsonText) {
    // RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.
    let p = p.orient(Direction::Default);
    out.put("[");
    line(p.exterior(), out);
    for r in p.interiors() {
        out.put(",");
        line(r, out);
    }
    out.put("]");
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

    #[test]
    fn extra_properties_replace_input_ones() {
        let raw = RawValue::from_string(r#"{"a":1,"households":"x","b\"q":[1,2]}"#.into()).unwrap();
        let mut w = FeatureWriter::new(Vec::new(), None).unwrap();
        w.write_with_input(None, &Geometry::Point((1.0, 2.0).into()), Some(&raw), |p| {
            p.set("households", &3)
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&w.finish().unwrap()).unwrap();
        assert_eq!(
            v["features"][0]["properties"],
            serde_json::json!({"a": 1, "b\"q": [1, 2], "households": 3})
        );
    }

    /// Batches serialized on several cores come out whole and in order.
    #[test]
    fn parallel_batches_keep_the_order() {
        let n = CHUNK * CHUNKS_IN_FLIGHT * 2 + 7;
        let items: Vec<usize> = (0..n).collect();
        let mut w = FeatureWriter::new(Vec::new(), Some("t")).unwrap();
        w.write(
            None,
            &Geometry::Point((0.0, 0.0).into()),
            &serde_json::json!({"i": -1}),
        )
        .unwrap();
        w.write_features(&items, |at, &i, text| {
            assert_eq!(at, i);
            if i % 5 != 3 {
                let id = i.to_string();
                text.feature(
                    Some(&id),
                    &Geometry::Point((i as f64, 1.0).into()),
                    &serde_json::json!({"i": i}),
                );
            }
        })
        .unwrap();
        assert_eq!(w.count(), 1 + items.iter().filter(|&&i| i % 5 != 3).count());
        let v: serde_json::Value = serde_json::from_slice(&w.finish().unwrap()).unwrap();
        let got: Vec<i64> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["i"].as_i64().unwrap())
            .collect();
        let want: Vec<i64> = std::iter::once(-1)
            .chain((0..n as i64).filter(|i| i % 5 != 3))
            .collect();
        assert_eq!(got, want);
    }
}
