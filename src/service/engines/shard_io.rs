//! What county shards read and write: the part of a layer inside a box,
//! with each feature's position in the whole layer, and results as JSON
//! that comes back exactly (numbers as the bits of their `f64`, since a
//! decimal round trip may be off by one unit in the last place).

use serde_json::{json, Value};

use crate::layers::{AnyLayer, LayerKind};
use crate::model::Area;
use crate::partition::counties::{Counties, County};
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
    let counties = stored_county_boxes(inputs)?;
    Ok(counties.map(|c| c.0.into_iter().map(|c| c.code).collect()))
}

/// The codes of the dataset's areas (their ids), in layer order, read
/// without reading the areas; `None` without areas.
pub(super) fn stored_area_codes(inputs: &Inputs<'_>) -> Result<Option<Vec<String>>, JobError> {
    let stored = stored_area_boxes(inputs)?;
    Ok(stored.map(|s| s.into_iter().map(|f| f.id.into()).collect()))
}

/// The counties of the dataset's areas, from the stored codes (the areas'
/// ids) and boxes alone, without reading the areas; `None` without areas.
/// Every shard and every assembly takes the counties' boxes from here, so
/// they agree to the bit on which county a point belongs to.
pub(super) fn stored_county_boxes(inputs: &Inputs<'_>) -> Result<Option<Counties>, JobError> {
    Ok(stored_area_boxes(inputs)?.map(|stored| counties_of(&stored)))
}

fn stored_area_boxes(inputs: &Inputs<'_>) -> Result<Option<Vec<StoredFeature>>, JobError> {
    Ok(inputs.store.feature_boxes(inputs.dataset, "areas")?)
}

fn counties_of(stored: &[StoredFeature]) -> Counties {
    Counties::from_boxes(stored.iter().map(|f| {
        let bbox = f.bbox.iter().all(|v| v.is_finite()).then_some(f.bbox);
        (&*f.id, bbox)
    }))
}

/// What a county shard knows of the areas: those whose box meets its
/// county's box (every area that can hold one of the points it reads, so a
/// point on a county border goes to the first area in input order, as in
/// the whole run), the counties of every area, and its own county.
pub(super) struct ShardAreas {
    /// The areas near the county, in layer order.
    pub areas: Vec<Area>,
    /// Their positions in the areas layer.
    pub positions: Vec<usize>,
    /// The counties of every area (indices are positions in the layer).
    pub counties: Counties,
    /// The shard's county.
    pub this: County,
    /// The codes of every area, in layer order.
    pub all_codes: Vec<String>,
}

impl ShardAreas {
    pub(super) fn read(inputs: &Inputs<'_>, county: &str) -> Result<Self, JobError> {
        let stored = stored_area_boxes(inputs)?.ok_or(JobError::Input {
            layer: LayerKind::Areas,
            reason: "the dataset has no areas".into(),
        })?;
        let counties = counties_of(&stored);
        let all_codes = stored.into_iter().map(|f| f.id.into()).collect();
        let this = counties
            .get(county)
            .cloned()
            .ok_or_else(|| JobError::Invalid(format!("the areas layer has no county {county}")))?;
        let (positions, areas) = part_where(
            inputs,
            LayerKind::Areas,
            &BoxFilter::Meets(this.bbox),
            |l| match l {
                AnyLayer::Areas(a) => Some(a),
                _ => None,
            },
        )?;
        Ok(ShardAreas {
            areas,
            positions,
            counties,
            this,
            all_codes,
        })
    }

    /// The county's own areas, as a mask over [`ShardAreas::areas`].
    pub(super) fn mask(&self) -> Vec<bool> {
        self.positions
            .iter()
            .map(|p| self.this.areas.binary_search(p).is_ok())
            .collect()
    }

    /// The county's own areas.
    pub(super) fn own(&self) -> Vec<Area> {
        self.areas
            .iter()
            .zip(self.mask())
            .filter(|(_, own)| *own)
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Whether a point in no area is this shard's to report: the first
    /// county whose box holds it is its own (every shard and the assembly
    /// agree, as they share the boxes).
    pub(super) fn reports(&self, p: &geo_types::Point<f64>) -> bool {
        let first = self.counties.first_holding(p.x(), p.y());
        first.is_some_and(|c| c.code == self.this.code)
    }

    /// The codes of the areas near the county.
    pub(super) fn codes(&self) -> impl Iterator<Item = &str> {
        self.areas.iter().map(|a| a.code.as_str())
    }
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
