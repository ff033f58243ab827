//! The built-in job engine: calls the library's partition and coverage engines
//! with the dataset's layers and turns their model-type results into layers.

use geo_types::Geometry;
use serde_json::{json, Value};

use super::features::{to_stored, FeatureOut};
use super::jobs::{Engine, Inputs, JobError, JobKind, JobOutput, OutputLayer};
use crate::model::{Grid, Rules};
use crate::progress::Progress;

/// Parameters of a partition job: the rules document, or nothing for the
/// per-area presets.
pub fn partition_params(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let rules: Rules =
        serde_json::from_slice(body).map_err(|e| format!("the rules document is invalid: {e}"))?;
    rules
        .validate()
        .map_err(|e| format!("the rules are inconsistent: {e}"))?;
    serde_json::to_value(rules).map_err(|e| e.to_string())
}

/// Options of a coverage job.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CoverageParams {
    /// H3 resolution of the area-coverage cells (default 12).
    #[serde(default)]
    pub h3_resolution: Option<u8>,
    /// Compute area coverage and gaps (default true).
    #[serde(default)]
    pub area_coverage: Option<bool>,
    #[serde(default)]
    pub gaps: Option<bool>,
}

/// Options of a proposals job.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeParams {
    #[serde(default)]
    pub count: Option<usize>,
    #[serde(default)]
    pub target_coverage: Option<f64>,
    #[serde(default = "default_range")]
    pub range_m: f64,
    #[serde(default = "default_fov")]
    pub fov_deg: f64,
    #[serde(default)]
    pub azimuth_deg: f64,
    #[serde(default)]
    pub site_weight: u32,
}

fn default_range() -> f64 {
    50.0
}
fn default_fov() -> f64 {
    360.0
}

/// Parses and checks the body of a coverage job.
pub fn coverage_params(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::to_value(CoverageParams::default()).map_err(|e| e.to_string());
    }
    let p: CoverageParams = serde_json::from_slice(body)
        .map_err(|e| format!("the coverage options are invalid: {e}"))?;
    if let Some(r) = p.h3_resolution {
        if !(7..=15).contains(&r) {
            return Err("h3_resolution must be between 7 and 15".into());
        }
    }
    serde_json::to_value(p).map_err(|e| e.to_string())
}

/// Parses and checks the body of a proposals job.
pub fn propose_params(body: &[u8]) -> Result<Value, String> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    let p: ProposeParams = serde_json::from_slice(text)
        .map_err(|e| format!("the proposal options are invalid: {e}"))?;
    if p.count.is_some() == p.target_coverage.is_some() {
        return Err("give exactly one of count and target_coverage".into());
    }
    if let Some(t) = p.target_coverage {
        if !(t > 0.0 && t <= 1.0) {
            return Err("target_coverage must be in (0, 1]".into());
        }
    }
    if !(p.range_m > 0.0 && p.range_m.is_finite()) {
        return Err("range_m must be positive".into());
    }
    if !(p.fov_deg > 0.0 && p.fov_deg <= 360.0) {
        return Err("fov_deg must be in (0, 360]".into());
    }
    if !p.azimuth_deg.is_finite() {
        return Err("azimuth_deg must be finite".into());
    }
    serde_json::to_value(p).map_err(|e| e.to_string())
}

/// Grids as the `grids` layer, with the contract's properties.
pub fn grids_layer(grids: &[Grid]) -> OutputLayer {
    let within = grids.iter().filter(|g| g.within_rules).count();
    let features = grids
        .iter()
        .map(|g| FeatureOut {
            id: Some(g.code.clone()),
            geometry: if g.geometry.0.len() == 1 {
                Geometry::Polygon(g.geometry.0[0].clone())
            } else {
                Geometry::MultiPolygon(g.geometry.clone())
            },
            input: None,
            properties: match json!({
                "code": g.code, "parent_code": g.parent_code, "households": g.households,
                "persons": g.persons, "area_m2": g.area_m2, "compactness": g.compactness,
                "barrier_length_m": g.barrier_length_m, "within_rules": g.within_rules,
                "issues": g.issues,
            }) {
                Value::Object(m) => m,
                _ => Default::default(),
            },
        })
        .collect();
    OutputLayer {
        layer: "grids".into(),
        kind: "grids".into(),
        report: json!({"grids": grids.len(), "within_rules": within}),
        features: to_stored(features),
    }
}

/// The engines of this build.
#[derive(Debug, Default, Clone, Copy)]
pub struct Builtin;

impl Engine for Builtin {
    fn run(
        &self,
        kind: JobKind,
        _params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        progress.report("reading inputs", 0.0);
        for k in kind.required_layers() {
            if inputs.store.layer(inputs.dataset, k.as_str())?.is_none() {
                return Err(JobError::MissingLayer(*k));
            }
        }
        Err(JobError::Unavailable(format!(
            "the {} engine is not part of this build yet",
            kind.as_str()
        )))
    }
}
