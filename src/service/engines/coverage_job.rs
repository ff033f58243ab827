//! A coverage job run whole: the options from its parameters, the engine's
//! run over the dataset's layers, and the layers it writes (which a job
//! assembled from county shards writes too, from the same values).

use serde_json::{json, Value};

use super::{cov_err, layer, point_box, write, Builtin, CoverageParams};
use crate::coverage::{self, CoverageInput, CoverageOptions, Gap, SeenBy, Summary};
use crate::layers::{outputs, AnyLayer, LayerKind};
use crate::model::{Area, Camera, Household, Site};
use crate::progress::Progress;
use crate::service::features::{bbox_of, stored_from_output};
use crate::service::jobs::{Inputs, JobError, JobOutput};
use crate::store::StoredFeature;

/// The engine's options from a coverage job's parameters.
pub(super) fn coverage_options(params: &Value) -> Result<CoverageOptions, JobError> {
    let p: CoverageParams = serde_json::from_value(params.clone()).unwrap_or_default();
    let mut options = CoverageOptions::default();
    if let Some(r) = p.h3_resolution {
        options.h3_resolution = h3o::Resolution::try_from(r)
            .map_err(|e| JobError::Invalid(format!("h3_resolution: {e}")))?;
    }
    if let Some(a) = p.area_coverage {
        options.area_coverage = a;
    }
    options.gaps = p.gaps.unwrap_or(options.area_coverage) && options.area_coverage;
    Ok(options)
}

/// What a coverage job writes, whole or assembled: the points with the
/// cameras that see them, the areas' coverage features (written per area,
/// so shards can write their own) and the gaps, sorted.
pub(super) struct CoverageLayers<'a> {
    pub cameras: &'a [Camera],
    pub households: &'a [Household],
    pub households_seen: &'a SeenBy,
    pub sites: &'a [Site],
    pub sites_seen: &'a SeenBy,
    pub areas: &'a [Area],
    pub area_features: Vec<StoredFeature>,
    pub gaps: &'a [Gap],
    pub summary: &'a Summary,
}

/// The area coverage features of `areas`, one per area in order.
pub(super) fn area_features(
    areas: &[Area],
    stats: &[coverage::AreaStats],
) -> Result<Vec<StoredFeature>, JobError> {
    let bytes = write(|w| outputs::write_area_coverage(w, areas, stats))?;
    stored_from_output(&bytes, areas.iter().map(|a| bbox_of(&a.geometry)))
}

/// The job's output layers and summary.
pub(super) fn coverage_output(l: CoverageLayers<'_>) -> Result<JobOutput, JobError> {
    let s = l.summary;
    let mut layers = Vec::new();
    let bytes = write(|w| {
        outputs::write_covered_households(w, l.households, l.cameras, l.households_seen)
    })?;
    layers.push(layer(
        "coverage_households",
        json!({"households": s.households, "covered_households": s.covered_households}),
        stored_from_output(&bytes, l.households.iter().map(|h| point_box(&h.location)))?,
    ));
    let bytes = write(|w| outputs::write_camera_use(w, l.cameras, l.households_seen))?;
    layers.push(layer(
        "coverage_cameras",
        json!({"cameras": s.cameras, "cameras_online": s.cameras_online}),
        stored_from_output(&bytes, l.cameras.iter().map(|c| point_box(&c.location)))?,
    ));
    if !l.areas.is_empty() {
        layers.push(layer(
            "coverage",
            json!({"areas": l.areas.len()}),
            l.area_features,
        ));
        let bytes = write(|w| outputs::write_gaps(w, l.areas, l.gaps))?;
        layers.push(layer(
            "gaps",
            json!({"gaps": l.gaps.len(), "households_in_gaps": s.households_in_gaps}),
            stored_from_output(&bytes, l.gaps.iter().map(|g| bbox_of(&g.geometry)))?,
        ));
    }
    if !l.sites.is_empty() {
        let bytes = write(|w| outputs::write_covered_sites(w, l.sites, l.cameras, l.sites_seen))?;
        layers.push(layer(
            "coverage_sites",
            json!({"sites": s.sites, "sites_covered": s.sites_covered}),
            stored_from_output(&bytes, l.sites.iter().map(|x| point_box(&x.location)))?,
        ));
    }
    Ok(JobOutput {
        layers,
        summary: serde_json::to_value(s).unwrap_or(Value::Null),
        ..Default::default()
    })
}

impl Builtin {
    pub(super) fn coverage(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        let options = coverage_options(params)?;
        let cameras = take!(inputs, Cameras, Cameras, required);
        let households = take!(inputs, Households, Households, required);
        let areas = take!(inputs, Areas, Areas);
        let buildings = take!(inputs, Buildings, Buildings);
        let sites = take!(inputs, Sites, Sites);
        let input = CoverageInput {
            cameras: &cameras,
            households: &households,
            areas: &areas,
            buildings: &buildings,
            sites: &sites,
        };
        let result = coverage::coverage(&input, &options, progress).map_err(cov_err)?;
        progress.report("writing results", 0.99);
        coverage_output(CoverageLayers {
            cameras: &cameras,
            households: &households,
            households_seen: &result.households,
            sites: &sites,
            sites_seen: &result.sites,
            areas: &areas,
            area_features: area_features(&areas, &result.areas)?,
            gaps: &result.gaps,
            summary: &result.summary,
        })
    }
}
