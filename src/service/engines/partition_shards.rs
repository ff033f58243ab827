//! A partition cut into county shards ([`crate::partition::counties`]),
//! fresh or around locked grids.
//!
//! Every shard reads the areas whose box meets its county's box (so
//! households are assigned to areas exactly as the whole run assigns them,
//! first area in input order winning: an area that holds one of its
//! households meets its box) and the households in that box, partitions its
//! county's areas, and keeps each area's grids as the features the whole
//! run would write for them (a grid's feature text depends on that grid
//! alone). The assembly puts the areas back in input order, so the grids
//! layer is the whole run's, feature for feature, and its summary the same:
//! households outside every area are counted by the first county whose box
//! holds them, and those in no county's box by the assembly.

use serde_json::{json, Value};

use super::partition_job::NO_GRIDS_TO_LOCK;
use super::shard_io::{
    feature_from, feature_json, part_where, stored_counties, unreadable, ShardAreas,
};
use super::update_job::NO_PREVIOUS_GRIDS;
use super::{
    area_note, grids_layer_marked, locked_codes, locked_err, locked_grids, part_err,
    partition_options, partition_summary, Builtin, PartitionTotals,
};
use crate::layers::{AnyLayer, LayerKind};
use crate::model::{Barrier, Grid, Household};
use crate::partition::counties::box_holds;
use crate::partition::{self, AreaReport, PartitionOptions};
use crate::progress::Progress;
use crate::service::jobs::{Inputs, JobError, JobOutput, OutputLayer};
use crate::store::{BoxFilter, ADOPTED_LAYER};

/// Whether a partition job is a census update.
pub(super) fn is_update(params: &Value) -> bool {
    params.get("update").and_then(Value::as_bool) == Some(true)
}

pub(super) fn households_where(
    inputs: &Inputs<'_>,
    filter: &BoxFilter,
) -> Result<Vec<Household>, JobError> {
    let (_, households) = part_where(inputs, LayerKind::Households, filter, |l| match l {
        AnyLayer::Households(h) => Some(h),
        _ => None,
    })?;
    Ok(households)
}

impl Builtin {
    /// The counties of a partition job, in order of their first area. A job
    /// that needs grids the dataset does not have (to update, or to keep)
    /// is refused before it is cut, as the whole run refuses it.
    pub(super) fn partition_shards(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
    ) -> Result<Option<Vec<String>>, JobError> {
        let has = |layer: &str| -> Result<bool, JobError> {
            Ok(inputs.store.layer(inputs.dataset, layer)?.is_some())
        };
        if is_update(params) && !has(ADOPTED_LAYER)? && !has("grids")? {
            return Err(JobError::Invalid(NO_PREVIOUS_GRIDS.into()));
        }
        if !locked_codes(params)?.is_empty() && !has("grids")? {
            return Err(JobError::Invalid(NO_GRIDS_TO_LOCK.into()));
        }
        stored_counties(inputs)
    }

    /// One county's grids, area by area, and the outside households it reports.
    pub(super) fn partition_shard(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        county: &str,
        progress: &dyn Progress,
    ) -> Result<Value, JobError> {
        if is_update(params) {
            return self.update_shard(params, inputs, county, progress);
        }
        let PartitionShardInputs {
            near,
            options,
            households,
            barriers,
        } = PartitionShardInputs::read(params, inputs, county)?;
        let (areas, this) = (&near.areas, &near.this);
        let mask = near.mask();
        let codes = locked_codes(params)?;
        let (result, marks) = if codes.is_empty() {
            let run = partition::partition_selected(
                areas,
                &households,
                &barriers,
                &options,
                Some(&mask),
                progress,
            )
            .map_err(part_err)?;
            (run, Vec::new())
        } else {
            let keep = near_locked(locked_grids(inputs, &codes)?, &near)?;
            let run = partition::partition_around_selected(
                areas,
                &households,
                &barriers,
                &keep,
                &options,
                Some(&mask),
                progress,
            )
            .map_err(locked_err)?;
            (run.partition, run.locked)
        };
        let (mut outside_households, mut outside_locations) = (0u64, 0u64);
        for &i in &result.outside.locations {
            if near.reports(&households[i].location) {
                outside_households += u64::from(households[i].households);
                outside_locations += 1;
            }
        }
        let mut per_area = Vec::with_capacity(result.areas.len());
        let mut first = 0;
        for (report, &index) in result.areas.iter().zip(&this.areas) {
            let own = first..first + report.grids;
            let own_marks = marks.get(own.clone()).unwrap_or(&[]);
            per_area.push(area_grids_json(
                index,
                &result.grids[own.clone()],
                own_marks,
                report,
            )?);
            first = own.end;
        }
        Ok(json!({
            "areas": per_area,
            "outside_households": outside_households,
            "outside_locations": outside_locations,
            "boxes": near.counties.boxes(),
        }))
    }

    /// The whole partition from its counties' results.
    pub(super) fn assemble_partition(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        parts: Vec<Value>,
    ) -> Result<JobOutput, JobError> {
        if is_update(params) {
            return self.assemble_update(params, inputs, parts);
        }
        let overrides = partition_options(params)?.area_rules.len();
        let assembled = AssembledGrids::of(inputs, &parts, overrides)?;
        Ok(JobOutput {
            layers: vec![assembled.layer],
            summary: partition_summary(assembled.totals),
            retired_codes: Vec::new(),
        })
    }
}

/// What a partition or update shard reads: the areas near its county, the
/// job's options (with the rules of their own of those areas only, since
/// the engine refuses rules for areas it is not given), the households in
/// its county's box, and the barriers.
pub(super) struct PartitionShardInputs {
    pub near: ShardAreas,
    pub options: PartitionOptions,
    pub households: Vec<Household>,
    pub barriers: Vec<Barrier>,
}

impl PartitionShardInputs {
    pub(super) fn read(
        params: &Value,
        inputs: &Inputs<'_>,
        county: &str,
    ) -> Result<Self, JobError> {
        let near = ShardAreas::read(inputs, county)?;
        let mut options = partition_options(params)?;
        options.area_rules = options.area_rules.only(near.codes());
        let households = households_where(inputs, &BoxFilter::Meets(near.this.bbox))?;
        let barriers = take!(inputs, Barriers, Barriers);
        Ok(PartitionShardInputs {
            near,
            options,
            households,
            barriers,
        })
    }
}

/// The locked grids a shard keeps: those of the areas near its county (the
/// others hold none of its households). A grid whose area is in no county
/// fails the job as it fails the whole run.
fn near_locked(locked: Vec<Grid>, near: &ShardAreas) -> Result<Vec<Grid>, JobError> {
    let all: std::collections::HashSet<&str> = near.all_codes.iter().map(String::as_str).collect();
    if let Some(g) = locked
        .iter()
        .find(|g| !all.contains(g.parent_code.as_str()))
    {
        return Err(locked_err(partition::LockError::UnknownArea {
            code: g.code.clone(),
            parent: g.parent_code.clone(),
        }));
    }
    let here: std::collections::HashSet<&str> = near.codes().collect();
    Ok(locked
        .into_iter()
        .filter(|g| here.contains(g.parent_code.as_str()))
        .collect())
}

/// An area's grids as a shard reports them: the features the whole run
/// writes for them (those `locked` marks kept as locked), how many are
/// within the rules and locked, and the area's note.
pub(super) fn area_grids_json(
    index: usize,
    grids: &[Grid],
    locked: &[bool],
    report: &AreaReport,
) -> Result<Value, JobError> {
    let layer = grids_layer_marked(grids, locked)?;
    Ok(json!({
        "index": index,
        "within": grids.iter().filter(|g| g.within_rules).count(),
        "locked": locked.iter().filter(|l| **l).count(),
        "grids": layer.features.iter().map(feature_json).collect::<Vec<_>>(),
        "note": area_note(report),
    }))
}

/// The grids of a partition or update cut into county shards, put back in
/// area order.
pub(super) struct AssembledGrids {
    /// The grids layer.
    pub layer: OutputLayer,
    /// The summary's totals.
    pub totals: PartitionTotals,
    /// The households in no county's box: in no area, and seen by no shard.
    pub in_no_box: Vec<Household>,
}

impl AssembledGrids {
    pub(super) fn of(
        inputs: &Inputs<'_>,
        parts: &[Value],
        overrides: usize,
    ) -> Result<Self, JobError> {
        let mut per_area: Vec<&Value> = Vec::new();
        let (mut outside_households, mut outside_locations) = (0u64, 0usize);
        for part in parts {
            let areas = part["areas"]
                .as_array()
                .ok_or_else(|| unreadable("areas"))?;
            per_area.extend(areas);
            outside_households += part["outside_households"].as_u64().unwrap_or(0);
            outside_locations += part["outside_locations"].as_u64().unwrap_or(0) as usize;
        }
        per_area.sort_by_key(|a| a["index"].as_u64().unwrap_or(u64::MAX));
        let boxes: Vec<[f64; 4]> = parts
            .first()
            .map(|p| serde_json::from_value(p["boxes"].clone()))
            .transpose()
            .map_err(|e| unreadable(&e.to_string()))?
            .unwrap_or_default();
        let mut in_no_box = households_where(inputs, &BoxFilter::InsideNone(boxes.clone()))?;
        in_no_box.retain(|h| {
            let (x, y) = (h.location.x(), h.location.y());
            !boxes.iter().any(|b| box_holds(b, x, y))
        });
        for h in &in_no_box {
            outside_households += u64::from(h.households);
            outside_locations += 1;
        }
        let mut features = Vec::new();
        let (mut within_rules, mut locked) = (0, 0);
        let mut notes = Vec::new();
        for a in &per_area {
            locked += a["locked"].as_u64().unwrap_or(0) as usize;
            for f in a["grids"].as_array().ok_or_else(|| unreadable("grids"))? {
                features.push(feature_from(f)?);
            }
            within_rules += a["within"].as_u64().unwrap_or(0) as usize;
            if !a["note"].is_null() {
                notes.push(a["note"].clone());
            }
        }
        let totals = PartitionTotals {
            grids: features.len(),
            within_rules,
            areas: per_area.len(),
            outside_households,
            outside_locations,
            area_notes: notes,
            areas_with_own_rules: overrides,
            locked,
        };
        let layer = OutputLayer {
            layer: "grids".into(),
            kind: "grids".into(),
            report: json!({"grids": features.len(), "within_rules": within_rules}),
            features,
        };
        Ok(AssembledGrids {
            layer,
            totals,
            in_no_box,
        })
    }
}
