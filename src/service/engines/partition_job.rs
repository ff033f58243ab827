//! What a partition job reads from its parameters and reports in its
//! summary, shared by the whole run and the assembly of its county shards.

use serde_json::{json, Value};

use super::JobError;
use crate::model::{AreaRules, Grid, Rules};
use crate::partition::{self, LockError, PartitionError, PartitionOptions};
use crate::service::jobs::Inputs;

/// The code of a stored area feature (its `properties.code`), read without
/// building the area.
pub(crate) fn area_code(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Props {
        code: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Feature {
        properties: Option<Props>,
    }
    serde_json::from_str::<Feature>(json).ok()?.properties?.code
}

/// The partition options a job's parameters give (rules, per-area rules).
pub(super) fn partition_options(params: &Value) -> Result<PartitionOptions, JobError> {
    let rules_value = params.get("rules").cloned().unwrap_or(Value::Null);
    let rules: Option<Rules> = if rules_value.is_null() {
        None
    } else {
        Some(
            serde_json::from_value(rules_value)
                .map_err(|e| JobError::Invalid(format!("rules: {e}")))?,
        )
    };
    let area_rules: AreaRules = params
        .get("area_rules")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| JobError::Invalid(format!("area_rules: {e}")))?
        .unwrap_or_default();
    Ok(PartitionOptions {
        rules,
        area_rules,
        ..Default::default()
    })
}

/// The codes of the current grids a partition job keeps (`locked`).
pub(super) fn locked_codes(params: &Value) -> Result<Vec<String>, JobError> {
    Ok(params
        .get("locked")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| JobError::Invalid(format!("locked: {e}")))?
        .unwrap_or_default())
}

/// Why a partition around locked grids cannot run.
pub(super) const NO_GRIDS_TO_LOCK: &str =
    "locked grids are taken from the dataset's grids layer, which is missing";

/// The grids named by `codes`, from the dataset's grids layer.
pub(super) fn locked_grids(inputs: &Inputs<'_>, codes: &[String]) -> Result<Vec<Grid>, JobError> {
    let Some((_, stored)) = inputs.store.features(inputs.dataset, "grids")? else {
        return Err(JobError::Invalid(NO_GRIDS_TO_LOCK.into()));
    };
    let current = crate::layers::previous::read_previous_grids(&super::collection_text(&stored))
        .map_err(|e| JobError::Invalid(format!("the current grids: {e}")))?;
    drop(stored);
    partition::select_locked(&current, codes).map_err(|e| JobError::Invalid(format!("locked: {e}")))
}

/// A partition around locked grids' error as a job's.
pub(super) fn locked_err(e: LockError) -> JobError {
    match e {
        LockError::Partition(p) => part_err(p),
        other => JobError::Invalid(format!("locked: {other}")),
    }
}

pub(super) fn part_err(e: PartitionError) -> JobError {
    match e {
        PartitionError::Cancelled => JobError::Cancelled,
        other => JobError::Invalid(other.to_string()),
    }
}

/// An area's entry in a partition's `area_notes`: those with notes or that
/// cannot meet their rules.
pub(super) fn area_note(a: &partition::AreaReport) -> Option<Value> {
    (!a.notes.is_empty() || !a.feasible)
        .then(|| json!({"code": a.code, "feasible": a.feasible, "notes": a.notes}))
}

/// The totals of a partition job's summary.
pub(super) struct PartitionTotals {
    pub grids: usize,
    pub within_rules: usize,
    pub areas: usize,
    pub outside_households: u64,
    pub outside_locations: usize,
    pub area_notes: Vec<Value>,
    pub areas_with_own_rules: usize,
    /// Grids kept as they were (a partition around locked grids).
    pub locked: usize,
}

/// A partition job's summary, as a fresh partition or one around locked
/// grids reports it; an update fills in what else it did.
pub(super) fn partition_summary(t: PartitionTotals) -> Value {
    json!({
        "grids": t.grids,
        "within_rules": t.within_rules,
        "areas": t.areas,
        "households_outside_areas": t.outside_households,
        "household_locations_outside_areas": t.outside_locations,
        "area_notes": t.area_notes,
        "update": false,
        "locked": t.locked,
        "areas_with_own_rules": t.areas_with_own_rules,
        "previous": Value::Null,
        "changes": Value::Null,
        "retired_codes": Value::Null,
    })
}
