//! The built-in job engine: calls the library's partition and coverage engines
//! with the dataset's layers and turns their model-type results into layers.

use geo_types::Geometry;
use serde_json::{json, Value};

use super::error::ServiceError;
use super::features::{bbox_of, stored_from_output};
use super::jobs::{not_sharded, Engine, Inputs, JobError, JobKind, JobOutput, OutputLayer};
use crate::bounds;
use crate::coverage::{self, CoverageError, Goal, ProposeInput, ProposeOptions};
use crate::layers::{outputs, AnyLayer, LayerKind};
use crate::model::{list_codes, AreaRules, Grid, Rules, RulesError};
use crate::partition::{self, RetiredCode, UpdateOptions};
use crate::progress::Progress;
use crate::store::{Store, StoredFeature};

/// Parameters of a partition job: the rules document (or nothing for the
/// per-area presets), rules of their own for some areas (`area_rules`),
/// and whether to update the dataset's current grids with the smallest
/// change (census update) instead of drawing them afresh.
pub fn partition_params(body: &[u8], update: bool) -> Result<Value, ServiceError> {
    let mut locked: Vec<String> = Vec::new();
    let mut area_rules = AreaRules::default();
    let rules = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        let mut doc: Value = serde_json::from_slice(body)
            .map_err(|e| ServiceError::BadRequest(format!("the rules document is invalid: {e}")))?;
        // `locked` sits beside the rules: codes of the current grids to keep.
        if let Some(l) = doc.as_object_mut().and_then(|o| o.remove("locked")) {
            locked = serde_json::from_value(l).map_err(|e| {
                ServiceError::BadRequest(format!("locked must be a list of grid codes: {e}"))
            })?;
        }
        // `area_rules` too: area code → rules document.
        if let Some(r) = doc.as_object_mut().and_then(|o| o.remove("area_rules")) {
            area_rules = area_rules_param(r)?;
        }
        if doc.as_object().is_some_and(|o| o.is_empty()) {
            Value::Null
        } else {
            let rules: Rules = serde_json::from_value(doc).map_err(|e| {
                ServiceError::BadRequest(format!("the rules document is invalid: {e}"))
            })?;
            rules.validate().map_err(rules_error)?;
            serde_json::to_value(rules).map_err(|e| ServiceError::Internal(e.to_string()))?
        }
    };
    let mut params = json!({"rules": rules, "update": update});
    if !area_rules.is_empty() {
        params["area_rules"] =
            serde_json::to_value(&area_rules).map_err(|e| ServiceError::Internal(e.to_string()))?;
    }
    if locked.is_empty() {
        return Ok(params);
    }
    if update {
        return Err(ServiceError::Unprocessable(
            "locked grids and update=true cannot be combined: an update keeps every grid within the rules already; lock grids in a fresh partition"
                .into(),
        ));
    }
    params["locked"] = json!(locked);
    Ok(params)
}

/// A rules document that cannot be used: 422 when each value is in range
/// but they contradict one another (something the API description, JSON
/// Schema, cannot say), else 400.
fn rules_error(e: RulesError) -> ServiceError {
    if e.is_contradiction() {
        ServiceError::Unprocessable(format!("the rules contradict one another: {e}"))
    } else {
        ServiceError::BadRequest(format!("the rules are inconsistent: {e}"))
    }
}

/// The `area_rules` member of a partition body: area code → rules document,
/// each checked as the job's rules are, an unusable one named by its area.
fn area_rules_param(v: Value) -> Result<AreaRules, ServiceError> {
    if let Some(n) = v.as_object().map(|o| o.len()) {
        if n > bounds::MAX_AREA_RULES {
            return Err(ServiceError::BadRequest(format!(
                "area_rules gives rules for {n} areas; at most {} may have rules of their own",
                bounds::MAX_AREA_RULES
            )));
        }
    }
    let area_rules: AreaRules = serde_json::from_value(v).map_err(|e| {
        ServiceError::BadRequest(format!(
            "area_rules must map area codes to rules documents: {e}"
        ))
    })?;
    area_rules.validate().map_err(|e| match rules_error(e) {
        ServiceError::Unprocessable(m) => ServiceError::Unprocessable(format!("area_rules: {m}")),
        ServiceError::BadRequest(m) => ServiceError::BadRequest(format!("area_rules: {m}")),
        other => other,
    })?;
    Ok(area_rules)
}

/// Refuses a partition whose `area_rules` name codes the dataset's areas
/// layer does not have, before the job is queued. The stored areas are
/// read for their codes only (a few hundred or thousand small parses).
pub fn check_area_rules_codes(
    store: &dyn Store,
    dataset: &str,
    params: &Value,
) -> Result<(), ServiceError> {
    let Some(v) = params.get("area_rules") else {
        return Ok(());
    };
    let area_rules: AreaRules = serde_json::from_value(v.clone())
        .map_err(|e| ServiceError::Internal(format!("area_rules: {e}")))?;
    let Some((_, stored)) = store.features(dataset, "areas")? else {
        return Ok(()); // the missing areas layer is answered first (409)
    };
    let codes: Vec<String> = stored.iter().filter_map(|f| area_code(&f.json)).collect();
    let unknown = area_rules.unknown_codes(codes.iter().map(String::as_str));
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ServiceError::Unprocessable(format!(
        "area_rules names area codes that the dataset's areas layer does not have: {}",
        list_codes(&unknown, 20)
    )))
}

/// Adopted grids uploaded as the `grids` layer: read as `--previous` reads
/// them, stored as `wangge partition` writes grids.
pub fn read_grids_upload(text: &str) -> Result<(Vec<StoredFeature>, Value), ServiceError> {
    use crate::layers::previous::PreviousError;
    let grids = crate::layers::previous::read_previous_grids(text).map_err(|e| match e {
        // Not a FeatureCollection: malformed. Grids that cannot be adopted
        // (a code outside its parent, a code twice, a bad geometry): 422.
        PreviousError::Layer(e) => ServiceError::Layer(e),
        e => ServiceError::Unprocessable(e.to_string()),
    })?;
    let layer = grids_layer(&grids).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let report = json!({"layer": "grids", "features": grids.len(), "accepted": grids.len(),
                        "rejected": 0, "rejections": [], "crs": "CRS84"});
    Ok((layer.features, report))
}

/// Codes of the stored grids that a replacing upload no longer has: they were
/// in use, so they join the dataset's lineage and are never handed out again.
pub fn codes_dropped_by_upload(
    stored: &[StoredFeature],
    upload: &[StoredFeature],
) -> Result<Vec<RetiredCode>, String> {
    let kept: std::collections::HashSet<&str> = upload.iter().map(|f| &*f.id).collect();
    let text = collection_text(stored);
    let old = crate::layers::previous::read_previous_grids(&text)
        .map_err(|e| format!("the stored grids: {e}"))?;
    Ok(old
        .into_iter()
        .filter(|g| !kept.contains(g.code.as_str()))
        .map(|g| RetiredCode {
            parent_code: g.parent_code,
            code: g.code,
        })
        .collect())
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
    /// View axes tried per candidate (`propose_oriented`); 1 keeps `azimuth_deg`.
    #[serde(default = "default_orientations")]
    pub orientations: u32,
}

fn default_orientations() -> u32 {
    1
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
        if !bounds::H3_RESOLUTION.contains(&r) {
            return Err(format!(
                "h3_resolution must be between {} and {}, got {r}",
                bounds::H3_RESOLUTION.start(),
                bounds::H3_RESOLUTION.end()
            ));
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
    if let Some(n) = p.count {
        if !(1..=bounds::MAX_COUNT).contains(&n) {
            return Err(format!(
                "count must be between 1 and {}, got {n}",
                bounds::MAX_COUNT
            ));
        }
    }
    if p.site_weight > bounds::MAX_SITE_WEIGHT {
        return Err(format!(
            "site_weight must be between 0 and {}, got {}",
            bounds::MAX_SITE_WEIGHT,
            p.site_weight
        ));
    }
    if let Some(t) = p.target_coverage {
        if !(t > 0.0 && t <= 1.0) {
            return Err("target_coverage must be in (0, 1]".into());
        }
    }
    if !(p.range_m > 0.0 && p.range_m <= bounds::MAX_RANGE_M) {
        return Err(format!(
            "range_m must be in (0, {}] metres, got {}",
            bounds::MAX_RANGE_M,
            p.range_m
        ));
    }
    if !(p.fov_deg > 0.0 && p.fov_deg <= 360.0) {
        return Err("fov_deg must be in (0, 360]".into());
    }
    if !p.azimuth_deg.is_finite() {
        return Err("azimuth_deg must be finite".into());
    }
    if !bounds::ORIENTATIONS.contains(&p.orientations) {
        return Err(format!(
            "orientations must be between {} and {}, got {}",
            bounds::ORIENTATIONS.start(),
            bounds::ORIENTATIONS.end(),
            p.orientations
        ));
    }
    serde_json::to_value(p).map_err(|e| e.to_string())
}

/// Grids as the `grids` layer, written exactly as `wangge partition` writes them.
pub fn grids_layer(grids: &[Grid]) -> Result<OutputLayer, JobError> {
    grids_layer_marked(grids, &[])
}

/// [`grids_layer`] with `"locked": true` on the grids marked in `locked`.
pub fn grids_layer_marked(grids: &[Grid], locked: &[bool]) -> Result<OutputLayer, JobError> {
    let within = grids.iter().filter(|g| g.within_rules).count();
    let bytes = write(|w| outputs::write_grids_marked(w, "grids", grids, locked))?;
    let boxes = grids.iter().map(|g| bbox_of(&g.geometry));
    Ok(OutputLayer {
        layer: "grids".into(),
        kind: "grids".into(),
        report: json!({"grids": grids.len(), "within_rules": within}),
        features: stored_from_output(&bytes, boxes)?,
    })
}

/// Runs one of the `layers::outputs` writers into memory.
fn write(f: impl FnOnce(Vec<u8>) -> std::io::Result<Vec<u8>>) -> Result<Vec<u8>, JobError> {
    f(Vec::new()).map_err(|e| JobError::Invalid(format!("writing the results: {e}")))
}

fn layer(name: &str, report: Value, features: Vec<StoredFeature>) -> OutputLayer {
    OutputLayer {
        layer: name.into(),
        kind: name.into(),
        report,
        features,
    }
}

macro_rules! take {
    ($inputs:expr, $kind:ident, $variant:ident, required) => {
        match $inputs.require(LayerKind::$kind)? {
            AnyLayer::$variant(v) => v,
            _ => Vec::new(),
        }
    };
    ($inputs:expr, $kind:ident, $variant:ident) => {
        match $inputs.layer(LayerKind::$kind)? {
            Some(AnyLayer::$variant(v)) => v,
            _ => Vec::new(),
        }
    };
}

mod coverage_job;
mod coverage_shards;
mod partition_job;
mod partition_shards;
mod shard_io;
mod update_job;
mod update_shards;
pub(crate) use partition_job::area_code;
use partition_job::{
    area_note, locked_codes, locked_err, locked_grids, part_err, partition_options,
    partition_summary, PartitionTotals,
};
use update_job::{update_err, UpdateOutputs};

fn point_box(p: &geo_types::Point<f64>) -> [f64; 4] {
    [p.x(), p.y(), p.x(), p.y()]
}

/// The engines of this build: `wangge::partition` and `wangge::coverage`, with
/// results written by the same `layers::outputs` writers the command line uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Builtin;

impl Builtin {
    fn partition(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        let options = partition_options(params)?;
        let update = params.get("update").and_then(Value::as_bool) == Some(true);
        let areas = take!(inputs, Areas, Areas, required);
        let households = take!(inputs, Households, Households, required);
        let barriers = take!(inputs, Barriers, Barriers);
        let overrides = options.area_rules.len();
        let mut extra_layers = Vec::new();
        let mut changes = Value::Null;
        let mut retired = Vec::new();
        let mut lineage = Value::Null;
        let mut previous_layer = "grids";
        let locked = locked_codes(params)?;
        let mut locked_marks = Vec::new();
        let result = if !locked.is_empty() {
            let keep = locked_grids(inputs, &locked)?;
            let run = partition::partition_around(
                &areas,
                &households,
                &barriers,
                &keep,
                &options,
                progress,
            )
            .map_err(locked_err)?;
            locked_marks = run.locked;
            run.partition
        } else if update {
            let (name, previous) = update_job::previous_grids(inputs, None)?;
            previous_layer = name;
            let earlier = inputs.store.retired_codes(inputs.dataset)?;
            let up = partition::update(
                &areas,
                &households,
                &barriers,
                &previous,
                &UpdateOptions {
                    partition: options,
                    retired_codes: earlier.clone(),
                },
                progress,
            )
            .map_err(update_err)?;
            let grids = &up.partition.grids;
            let out = UpdateOutputs::new(&up.changes, &previous, &earlier, |g| {
                Ok(std::borrow::Cow::Borrowed(&grids[g].geometry))
            })?;
            changes = out.changes;
            retired = out.retired;
            lineage = out.lineage;
            extra_layers.push(out.layer);
            up.partition
        } else {
            partition::partition(&areas, &households, &barriers, &options, progress)
                .map_err(part_err)?
        };
        progress.report("writing results", 0.99);
        let grids = grids_layer_marked(&result.grids, &locked_marks)?;
        let notes: Vec<Value> = result.areas.iter().filter_map(area_note).collect();
        let mut summary = partition_summary(PartitionTotals {
            grids: result.grids.len(),
            within_rules: result.grids.iter().filter(|g| g.within_rules).count(),
            areas: areas.len(),
            outside_households: result.outside.households,
            outside_locations: result.outside.locations.len(),
            area_notes: notes,
            areas_with_own_rules: overrides,
            locked: locked_marks.iter().filter(|l| **l).count(),
        });
        summary["update"] = json!(update);
        summary["previous"] = if update {
            json!(previous_layer)
        } else {
            Value::Null
        };
        summary["changes"] = changes;
        summary["retired_codes"] = lineage;
        let mut layers = vec![grids];
        layers.extend(extra_layers);
        Ok(JobOutput {
            layers,
            summary,
            retired_codes: retired,
        })
    }

    fn propose(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        let p: ProposeParams = serde_json::from_value(params.clone())
            .map_err(|e| JobError::Invalid(format!("options: {e}")))?;
        let goal = match (p.count, p.target_coverage) {
            (Some(n), _) => Goal::Count(n),
            (None, Some(t)) => Goal::TargetCoverage(t),
            (None, None) => return Err(JobError::Invalid("give count or target_coverage".into())),
        };
        let cameras = take!(inputs, Cameras, Cameras, required);
        let households = take!(inputs, Households, Households, required);
        let candidates = take!(inputs, Candidates, Candidates, required);
        let buildings = take!(inputs, Buildings, Buildings);
        let sites = if p.site_weight > 0 {
            take!(inputs, Sites, Sites)
        } else {
            Vec::new()
        };
        let input = ProposeInput {
            cameras: &cameras,
            households: &households,
            candidates: &candidates,
            buildings: &buildings,
            sites: &sites,
        };
        let options = ProposeOptions {
            range_m: p.range_m,
            fov_deg: p.fov_deg,
            azimuth_deg: p.azimuth_deg,
            goal,
            site_weight: p.site_weight,
        };
        let result = coverage::propose_oriented(&input, &options, p.orientations, progress)
            .map_err(cov_err)?;
        progress.report("writing results", 0.99);
        let bytes = write(|w| outputs::write_proposals(w, &candidates, &result))?;
        let boxes = result
            .picks
            .iter()
            .map(|pick| point_box(&candidates[pick.candidate].location));
        let features = stored_from_output(&bytes, boxes)?;
        let mut summary = serde_json::to_value(&result).unwrap_or(Value::Null);
        if let Some(m) = summary.as_object_mut() {
            m.remove("picks");
            m.insert("sites_chosen".into(), json!(result.picks.len()));
        }
        Ok(JobOutput {
            layers: vec![layer("proposals", summary.clone(), features)],
            summary,
            ..Default::default()
        })
    }
}

/// Stored features as one FeatureCollection text.
pub(crate) fn collection_text<'a>(
    features: impl IntoIterator<Item = &'a StoredFeature, IntoIter: Clone>,
) -> String {
    let features = features.into_iter();
    let size = features.clone().map(|f| f.json.len() + 1).sum::<usize>();
    let mut text = String::with_capacity(size + 64);
    text.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, f) in features.enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&f.json);
    }
    text.push_str("]}");
    text
}

/// Boxes of the features of a written collection, from their geometries.
fn changed_boxes(bytes: &[u8]) -> Result<Vec<[f64; 4]>, JobError> {
    #[derive(serde::Deserialize)]
    struct F {
        geometry: Option<geojson::Geometry>,
    }
    #[derive(serde::Deserialize)]
    struct Fc {
        features: Vec<F>,
    }
    let fc: Fc = serde_json::from_slice(bytes)
        .map_err(|e| JobError::Invalid(format!("reading back the changes: {e}")))?;
    Ok(fc
        .features
        .into_iter()
        .map(|f| {
            f.geometry
                .and_then(|g| Geometry::<f64>::try_from(g).ok())
                .map_or([f64::NAN; 4], |g| bbox_of(&g))
        })
        .collect())
}

fn cov_err(e: CoverageError) -> JobError {
    match e {
        CoverageError::Cancelled => JobError::Cancelled,
        other => JobError::Invalid(other.to_string()),
    }
}

impl Engine for Builtin {
    fn run(
        &self,
        kind: JobKind,
        params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        progress.report("reading inputs", 0.0);
        match kind {
            JobKind::Partition => self.partition(params, inputs, progress),
            JobKind::Coverage => self.coverage(params, inputs, progress),
            JobKind::Propose => self.propose(params, inputs, progress),
        }
    }

    fn shards(
        &self,
        kind: JobKind,
        params: &Value,
        inputs: &Inputs<'_>,
    ) -> Result<Option<Vec<String>>, JobError> {
        match kind {
            JobKind::Partition => self.partition_shards(params, inputs),
            JobKind::Coverage => self.coverage_shards(inputs),
            JobKind::Propose => Ok(None),
        }
    }

    fn run_shard(
        &self,
        kind: JobKind,
        params: &Value,
        inputs: &Inputs<'_>,
        shard: &str,
        progress: &dyn Progress,
    ) -> Result<Value, JobError> {
        match kind {
            JobKind::Partition => self.partition_shard(params, inputs, shard, progress),
            JobKind::Coverage => self.coverage_shard(params, inputs, shard, progress),
            JobKind::Propose => Err(not_sharded(kind)),
        }
    }

    fn assemble(
        &self,
        kind: JobKind,
        params: &Value,
        inputs: &Inputs<'_>,
        parts: Vec<Value>,
    ) -> Result<JobOutput, JobError> {
        match kind {
            JobKind::Partition => self.assemble_partition(params, inputs, parts),
            JobKind::Coverage => self.assemble_coverage(params, inputs, parts),
            JobKind::Propose => Err(not_sharded(kind)),
        }
    }
}
