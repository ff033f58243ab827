//! What county shards read and write: the part of a layer inside a box,
//! with each feature's position in the whole layer, and results as JSON
//! that comes back exactly (numbers as the bits of their `f64`, since a
//! decimal round trip may be off by one unit in the last place).

use serde_json::{json, Value};

use crate::layers::{AnyLayer, LayerKind};
use crate::model::Area;
use crate::partition::counties::{county_codes, Counties, County};
use crate::service::jobs::{Inputs, JobError};
use crate::store::{BoxFilter, StoredFeature};

/// The features of layer `kind` that `filter` keeps, as model values
/// (`pick` takes them out of [`AnyLayer`]), and their positions in the
/// layer; both empty when the dataset has no such layer.
pub(super) fn part_where<T>(
    inputs: &Inputs<'_>,
    kind: LayerKind,
    filter: &BoxFilter,
    pick: impl FnOnce(AnyLayer) -> Option<Vec<T>>,
) -> Result<(Vec<usize>, Vec<T>), JobError> {
    let Some(part) = inputs.layer_where(kind, filter)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let values = pick(part.layer).ok_or(JobError::Input {
        layer: kind,
        reason: "the stored layer reads as another kind".into(),
    })?;
    Ok((part.positions, values))
}

/// The counties of the dataset's areas, in order of their first area, read
/// from the stored codes alone (every sharded job on a queue store asks
/// this before it runs, so no area is built); `None` without areas.
pub(super) fn stored_counties(inputs: &Inputs<'_>) -> Result<Option<Vec<String>>, JobError> {
    let codes = stored_area_codes(inputs)?;
    Ok(codes.map(|codes| county_codes(codes.iter().map(String::as_str))))
}

/// The codes of the dataset's areas, in layer order, read without building
/// the areas; `None` without areas.
pub(super) fn stored_area_codes(inputs: &Inputs<'_>) -> Result<Option<Vec<String>>, JobError> {
    let Some((_, stored)) = inputs.store.features(inputs.dataset, "areas")? else {
        return Ok(None);
    };
    Ok(Some(
        stored
            .iter()
            .filter_map(|f| super::area_code(&f.json))
            .collect(),
    ))
}

/// The dataset's areas, their counties, and the county a shard computes:
/// every shard reads the areas whole, so that a point on a county border
/// goes to the area (and the county) the whole run gives it.
pub(super) fn shard_counties(
    inputs: &Inputs<'_>,
    county: &str,
) -> Result<(Vec<Area>, Counties, County), JobError> {
    let areas = match inputs.require(LayerKind::Areas)? {
        AnyLayer::Areas(a) => a,
        _ => Vec::new(),
    };
    let counties = Counties::of(&areas);
    let this = counties
        .get(county)
        .cloned()
        .ok_or_else(|| JobError::Invalid(format!("the areas layer has no county {county}")))?;
    Ok((areas, counties, this))
}

/// A stored feature as shard JSON: the box as the bits of its numbers.
pub(super) fn feature_json(f: &StoredFeature) -> Value {
    json!([f.id, f.bbox.map(f64::to_bits), f.json])
}

/// The stored feature [`feature_json`] wrote.
pub(super) fn feature_from(v: &Value) -> Result<StoredFeature, JobError> {
    let read = || -> Option<StoredFeature> {
        let id = v.get(0)?.as_str()?;
        let json = v.get(2)?.as_str()?;
        Some(StoredFeature {
            id: id.into(),
            bbox: bits_box(v.get(1)?)?,
            json: json.into(),
        })
    };
    read().ok_or_else(|| unreadable("a feature"))
}

fn bits_box(v: &Value) -> Option<[f64; 4]> {
    let bits = v.as_array()?;
    if bits.len() != 4 {
        return None;
    }
    let mut bbox = [0.0; 4];
    for (b, x) in bbox.iter_mut().zip(bits) {
        *b = f64::from_bits(x.as_u64()?);
    }
    Some(bbox)
}

/// A number from its bits (as [`f64::to_bits`] wrote them).
pub(super) fn number_from(v: &Value) -> Result<f64, JobError> {
    v.as_u64()
        .map(f64::from_bits)
        .ok_or_else(|| unreadable("a number"))
}

/// The error of a shard result that does not read back.
pub(super) fn unreadable(what: &str) -> JobError {
    JobError::Invalid(format!("a stored shard result is unreadable: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_come_back_exactly() {
        let f = StoredFeature {
            id: "h1".into(),
            bbox: [0.1 + 0.2, -1e-300, f64::MAX, 118.123_456_789_012_34],
            json: r#"{"type":"Feature"}"#.into(),
        };
        let text = feature_json(&f).to_string();
        let back = feature_from(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, f);
        assert!(feature_from(&json!(["h1", [1, 2], "{}"])).is_err());
    }
}
