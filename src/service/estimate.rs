//! The size of a submitted job, from what the store already knows: layer
//! metadata (feature counts and extents), the areas' feature boxes and the
//! cameras' ranges. Nothing is parsed into model types and no engine runs, so
//! a job over budget is refused in milliseconds (see [`crate::bounds`]).

use serde_json::Value;

use super::engines::{self, CoverageParams, ProposeParams};
use super::jobs::JobKind;
use crate::bounds::{self, bbox_m2, Estimate, Spread};
use crate::partition::counties::county_of;
use crate::store::{LayerMeta, Store, StoreError};

/// Range of a camera whose stored feature has none (the longest default).
const DEFAULT_RANGE_M: f64 = 100.0;

/// Estimates a job of `kind` with checked `params` over the dataset whose
/// layers are `metas`.
pub fn job(
    store: &dyn Store,
    dataset: &str,
    metas: &[LayerMeta],
    kind: JobKind,
    params: &Value,
) -> Result<Estimate, StoreError> {
    let households = spread(metas);
    Ok(match kind {
        JobKind::Partition => {
            let sharded = store.queue().is_some();
            partition(
                &county_boxes(store, dataset, sharded)?,
                households.locations,
                sharded,
            )
        }
        JobKind::Coverage => {
            let p: CoverageParams = serde_json::from_value(params.clone()).unwrap_or_default();
            let res = p
                .area_coverage
                .unwrap_or(true)
                .then(|| p.h3_resolution.unwrap_or(12));
            bounds::coverage(
                &area_boxes(store, dataset)?,
                res,
                &camera_ranges(store, dataset)?,
                households,
            )
        }
        JobKind::Propose => {
            let Ok(p) = serde_json::from_value::<ProposeParams>(params.clone()) else {
                return Ok(Estimate::default());
            };
            let candidates = metas
                .iter()
                .find(|m| m.layer == "candidates")
                .map_or(0, |m| m.features);
            let axes = if p.fov_deg >= 360.0 {
                1
            } else {
                p.orientations
            };
            bounds::propose(
                &camera_ranges(store, dataset)?,
                candidates,
                axes,
                p.range_m,
                households,
            )
        }
    })
}

/// Household locations and the ground they spread over.
fn spread(metas: &[LayerMeta]) -> Spread {
    let m = metas.iter().find(|m| m.layer == "households");
    Spread {
        locations: m.map_or(0, |m| m.features),
        extent_m2: m.and_then(|m| m.extent).map_or(0.0, bbox_m2),
    }
}

/// A partition's estimate. One cut into county shards (a store with a job
/// queue, two or more counties) is as big as its biggest county, for that is
/// what one worker holds at once; a county's households are taken in
/// proportion to the ground its areas' boxes cover.
fn partition(areas: &[(String, f64)], locations: u64, sharded: bool) -> Estimate {
    let mut counties: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for (code, m2) in areas {
        counties.entry(county_of(code)).or_default().push(*m2);
    }
    let all: Vec<f64> = areas.iter().map(|a| a.1).collect();
    if !sharded || counties.len() < 2 {
        return bounds::partition(&all, locations);
    }
    let ground: f64 = all.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    counties
        .values()
        .map(|boxes| {
            let share = boxes.iter().sum::<f64>() / ground;
            bounds::partition(boxes, (locations as f64 * share).ceil() as u64)
        })
        .max_by(|a, b| a.cells.total_cmp(&b.cells))
        .unwrap_or_default()
}

/// Every stored area's bounding box area (m²), with its code when `codes`
/// (only a sharded partition needs them, and reading them parses the text).
fn county_boxes(
    store: &dyn Store,
    dataset: &str,
    codes: bool,
) -> Result<Vec<(String, f64)>, StoreError> {
    Ok(store
        .features(dataset, "areas")?
        .map(|(_, features)| {
            features
                .iter()
                .map(|f| {
                    let code = match codes {
                        true => engines::area_code(&f.json).unwrap_or_default(),
                        false => String::new(),
                    };
                    (code, bbox_m2(f.bbox))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The bounding box area of every stored area, m².
fn area_boxes(store: &dyn Store, dataset: &str) -> Result<Vec<f64>, StoreError> {
    Ok(store
        .features(dataset, "areas")?
        .map(|(_, f)| f.iter().map(|f| bbox_m2(f.bbox)).collect())
        .unwrap_or_default())
}

/// Every stored camera's `range_m`. A stored camera is written by
/// `layers::outputs` with its effective `range_m` among the last properties
/// (after any input property, and followed only by scalars), so the last
/// `"range_m":` of the text is it: found without parsing the feature, which
/// keeps the estimate of 100,000 cameras to milliseconds.
fn camera_ranges(store: &dyn Store, dataset: &str) -> Result<Vec<f64>, StoreError> {
    let Some((_, features)) = store.features(dataset, "cameras")? else {
        return Ok(Vec::new());
    };
    Ok(features.iter().map(|f| range_of(&f.json)).collect())
}

fn range_of(json: &str) -> f64 {
    const KEY: &str = "\"range_m\":";
    json.rfind(KEY)
        .map(|i| json[i + KEY.len()..].trim_start())
        .map(|t| {
            let end = t
                .find(|c: char| !matches!(c, '0'..='9' | '.' | 'e' | 'E' | '+' | '-'))
                .unwrap_or(t.len());
            &t[..end]
        })
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|r| r.is_finite())
        .unwrap_or(DEFAULT_RANGE_M)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_last_range_is_the_cameras() {
        let f = r#"{"type":"Feature","properties":{"note":{"range_m":1},"id":"c","range_m": 2.5e3,"online":true}}"#;
        assert_eq!(super::range_of(f), 2500.0);
        assert_eq!(
            super::range_of(r#"{"properties":{}}"#),
            super::DEFAULT_RANGE_M
        );
    }

    #[test]
    fn a_sharded_partition_is_as_big_as_its_biggest_county() {
        // Four areas of 1 km² in county 341101, one in 341102.
        let mut areas: Vec<(String, f64)> =
            (0..4).map(|i| (format!("341101{i:03}"), 1e6)).collect();
        areas.push(("341102001".into(), 1e6));
        let whole = super::partition(&areas, 5000, false);
        let sharded = super::partition(&areas, 5000, true);
        assert_eq!(whole, crate::bounds::partition(&[1e6; 5], 5000));
        assert_eq!(sharded, crate::bounds::partition(&[1e6; 4], 4000));
        assert!(sharded.cells < whole.cells);
        // One county: nothing to cut.
        assert_eq!(
            super::partition(&areas[..4], 5000, true),
            crate::bounds::partition(&[1e6; 4], 5000)
        );
    }
}
