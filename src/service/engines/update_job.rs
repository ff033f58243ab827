//! What a census update job reads besides the partition's inputs (the
//! grids it updates) and writes besides the grids (the change layer, the
//! change report and the codes it retires), shared by the whole run and
//! the assembly of its county shards.

use std::borrow::Cow;

use geo_types::MultiPolygon;
use serde_json::{json, Value};

use super::{changed_boxes, collection_text, layer, write};
use crate::model::Grid;
use crate::partition::{ChangeReport, RetiredCode, UpdateError};
use crate::service::features::stored_from_output;
use crate::service::jobs::{Inputs, JobError, OutputLayer};
use crate::store::{BoxFilter, StoredFeature, ADOPTED_LAYER};

/// The grids an update starts from: the adopted grids when there are any
/// (`POST …/adoptions`), else the grids layer as uploaded or last computed;
/// with the name of the layer they come from. `filter` reads only some of
/// them (a county shard's), in layer order.
pub(super) fn previous_grids(
    inputs: &Inputs<'_>,
    filter: Option<&BoxFilter>,
) -> Result<(&'static str, Vec<Grid>), JobError> {
    for name in [ADOPTED_LAYER, "grids"] {
        let found: Option<Vec<StoredFeature>> = match filter {
            Some(f) => inputs
                .store
                .features_where(inputs.dataset, name, f)?
                .map(|placed| placed.into_iter().map(|p| p.feature).collect()),
            None => inputs.store.features(inputs.dataset, name)?.map(|(_, s)| s),
        };
        let Some(stored) = found else { continue };
        // A county far from every previous grid (a new one) reads none.
        if stored.is_empty() && filter.is_some() {
            return Ok((name, Vec::new()));
        }
        let text = collection_text(&stored);
        drop(stored);
        let grids = crate::layers::previous::read_previous_grids(&text)
            .map_err(|e| JobError::Invalid(format!("the current grids: {e}")))?;
        return Ok((name, grids));
    }
    Err(JobError::Invalid(NO_PREVIOUS_GRIDS.into()))
}

/// Why an update cannot run.
pub(super) const NO_PREVIOUS_GRIDS: &str =
    "an update needs the dataset's adopted grids or its grids layer";

/// An update's error as a job's.
pub(super) fn update_err(e: UpdateError) -> JobError {
    match e {
        UpdateError::Partition(p) => super::part_err(p),
        other => JobError::Invalid(other.to_string()),
    }
}

/// What an update job writes besides its grids.
pub(super) struct UpdateOutputs {
    /// The `grid_changes` layer.
    pub layer: OutputLayer,
    /// The change report, for the summary.
    pub changes: Value,
    /// The codes this update retired, for the dataset's lineage.
    pub retired: Vec<RetiredCode>,
    /// Every code retired so far, this update's included, for the summary.
    pub lineage: Value,
}

impl UpdateOutputs {
    /// The outputs of the update whose change report is `report`, from the
    /// `previous` grids and the codes `earlier` updates retired;
    /// `grid_outline` gives the outline of a new grid by its index.
    pub fn new<'g>(
        report: &ChangeReport,
        previous: &'g [Grid],
        earlier: &[RetiredCode],
        grid_outline: impl Fn(usize) -> std::io::Result<Cow<'g, MultiPolygon<f64>>>,
    ) -> Result<Self, JobError> {
        let bytes = write(|w| {
            crate::layers::previous::write_change_records(
                w,
                "grid_changes",
                report,
                previous,
                grid_outline,
            )
        })?;
        let features = stored_from_output(&bytes, changed_boxes(&bytes)?.into_iter())?;
        let changes = serde_json::to_value(report).unwrap_or(Value::Null);
        let totals = changes.get("totals").cloned().unwrap_or(Value::Null);
        Ok(UpdateOutputs {
            layer: layer("grid_changes", totals, features),
            changes,
            retired: report.retired_codes(&[]),
            lineage: json!(report.retired_codes(earlier)),
        })
    }
}
