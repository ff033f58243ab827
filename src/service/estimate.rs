//! The size of a submitted job, from what the store already knows: layer
//! metadata (feature counts and extents), the areas' feature boxes and the
//! cameras' ranges. Nothing is parsed into model types and no engine runs, so
//! a job over budget is refused in milliseconds (see [`crate::bounds`]).

use serde_json::Value;

use super::engines::{CoverageParams, ProposeParams};
use super::jobs::JobKind;
use crate::bounds::{self, bbox_m2, Estimate, Spread};
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
        JobKind::Partition => bounds::partition(&area_boxes(store, dataset)?, households.locations),
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
            let axes = if p.fov_deg >= 360.0 { 1 } else { p.orientations };
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

/// The bounding box area of every stored area, m².
fn area_boxes(store: &dyn Store, dataset: &str) -> Result<Vec<f64>, StoreError> {
    Ok(store
        .features(dataset, "areas")?
        .map(|(_, f)| f.iter().map(|f| bbox_m2(f.bbox)).collect())
        .unwrap_or_default())
}

/// Every stored camera's `range_m`.
fn camera_ranges(store: &dyn Store, dataset: &str) -> Result<Vec<f64>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Props {
        range_m: Option<f64>,
    }
    #[derive(serde::Deserialize)]
    struct Feature {
        properties: Option<Props>,
    }
    let Some((_, features)) = store.features(dataset, "cameras")? else {
        return Ok(Vec::new());
    };
    Ok(features
        .iter()
        .map(|f| {
            serde_json::from_str::<Feature>(&f.json)
                .ok()
                .and_then(|f| f.properties?.range_m)
                .filter(|r| r.is_finite())
                .unwrap_or(DEFAULT_RANGE_M)
        })
        .collect())
}
