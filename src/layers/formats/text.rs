//! The GeoJSON FeatureCollection text a converted file becomes.

use geo_types::Geometry;
use serde_json::Value;

use crate::crs::Crs;
use crate::layers::write::geometry_json;

/// Builds a FeatureCollection feature by feature, remembering which record of
/// the file each feature is.
pub(super) struct CollectionText {
    text: String,
    records: Vec<usize>,
}

impl CollectionText {
    /// Starts a collection; a CRS other than WGS84 goes in a legacy `crs`
    /// member, which the reader takes unless the caller names another.
    pub(super) fn new(crs: Option<Crs>) -> Self {
        let mut text = String::from("{\"type\":\"FeatureCollection\",");
        if let Some(crs) = crs.filter(|c| !c.is_wgs84()) {
            text.push_str("\"crs\":{\"type\":\"name\",\"properties\":{\"name\":");
            text.push_str(&Value::String(crs.to_string()).to_string());
            text.push_str("}},");
        }
        text.push_str("\"features\":[\n");
        CollectionText {
            text,
            records: Vec::new(),
        }
    }

    /// Adds record `record` of the file; `None` geometry becomes `null`, which
    /// the reader rejects with its usual words.
    pub(super) fn push(
        &mut self,
        record: usize,
        geometry: Option<&Geometry<f64>>,
        props: &[(String, Value)],
    ) {
        if !self.records.is_empty() {
            self.text.push_str(",\n");
        }
        self.records.push(record);
        self.text.push_str("{\"type\":\"Feature\",\"properties\":{");
        for (i, (k, v)) in props.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.text.push_str(&Value::String(k.clone()).to_string());
            self.text.push(':');
            self.text.push_str(&v.to_string());
        }
        self.text.push_str("},\"geometry\":");
        match geometry {
            Some(g) => geometry_json(g, &mut self.text),
            None => self.text.push_str("null"),
        }
        self.text.push('}');
    }

    /// The text, and the record of each feature.
    pub(super) fn finish(mut self) -> (String, Vec<usize>) {
        self.text.push_str("\n]}\n");
        (self.text, self.records)
    }
}

/// The id of a record refused while converting: its `id_field` property.
pub(super) fn id_of(props: &[(String, Value)], id_field: &Option<String>) -> Option<String> {
    let field = id_field.as_ref()?;
    match &props.iter().find(|(k, _)| k == field)?.1 {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number for a property: whole numbers as integers (as GIS tools write
/// them), the rest as they are; NaN and infinities, which JSON cannot hold,
/// as null.
pub(super) fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}
