//! A census update cut into county shards ([`crate::partition::counties`]).
//!
//! A shard reads what a fresh partition's shard reads (the areas and the
//! households near its county: `PartitionShardInputs`) and the previous
//! grids it needs: those
//! whose box meets its county's box (every grid that can hold one of its
//! households) and those whose code begins with its county's code (the
//! grids of its own areas, wherever the areas have moved since), in layer
//! order ([`crate::partition::update_selected`]). It reports each area's
//! grids as the features the whole run writes, its areas' changes with
//! previous grids named by code, and the moves of the households it counts:
//! those in its areas, and those outside every area whose first county box
//! is its own. The assembly puts the grids back in area order, counts the
//! households in no county's box (in no area, so only their leaving a
//! previous grid is news), retires the grids of areas that are gone, and
//! writes the change report and layer the whole run writes.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::partition_shards::{area_grids_json, AssembledGrids, PartitionShardInputs};
use super::shard_io::{stored_area_codes, unreadable};
use super::update_job::{previous_grids, update_err, UpdateOutputs};
use super::{partition_options, partition_summary, Builtin};
use crate::layers::LayerKind;
use crate::partition::{self, AreaChanges, MoveTally, UpdateOptions, UpdateSelection};
use crate::progress::Progress;
use crate::service::jobs::{Inputs, JobError, JobOutput};
use crate::store::BoxFilter;

impl Builtin {
    /// One county's part of a census update.
    pub(super) fn update_shard(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        county: &str,
        progress: &dyn Progress,
    ) -> Result<Value, JobError> {
        let PartitionShardInputs {
            near,
            options,
            households,
            barriers,
        } = PartitionShardInputs::read(params, inputs, county)?;
        let grids_near = BoxFilter::MeetsOrIdPrefix(near.this.bbox, county.to_string());
        let (_, previous) = previous_grids(inputs, Some(&grids_near))?;
        let earlier = inputs.store.retired_codes(inputs.dataset)?;
        let in_areas = near.mask();
        let outside: Vec<bool> = households
            .iter()
            .map(|h| near.reports(&h.location))
            .collect();
        let part = partition::update_selected(
            &near.areas,
            &households,
            &barriers,
            &previous,
            &UpdateOptions {
                partition: options,
                retired_codes: earlier,
            },
            Some(UpdateSelection {
                areas: &in_areas,
                outside: &outside,
            }),
            progress,
        )
        .map_err(update_err)?;
        let mut per_area = Vec::with_capacity(part.areas.len());
        for mut a in part.areas {
            // The engine numbers the areas it was given: the ones near the
            // county. The assembly orders them by their place in the layer.
            a.changes.index = near.positions[a.changes.index];
            let mut v = area_grids_json(a.changes.index, &a.grids, &[], &a.report)?;
            v["changes"] = to_json(&a.changes)?;
            per_area.push(v);
        }
        Ok(json!({
            "areas": per_area,
            "outside_households": part.outside.households,
            "outside_locations": part.outside.locations.len(),
            "boxes": near.counties.boxes(),
            "tally": to_json(&part.tally)?,
        }))
    }

    /// The whole update from its counties' results.
    pub(super) fn assemble_update(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        parts: Vec<Value>,
    ) -> Result<JobOutput, JobError> {
        let overrides = partition_options(params)?.area_rules.len();
        let assembled = AssembledGrids::of(inputs, &parts, overrides)?;
        let (previous_layer, previous) = previous_grids(inputs, None)?;
        let mut changes: Vec<AreaChanges> = Vec::new();
        let mut tallies = vec![MoveTally::of_outside(&assembled.in_no_box, &previous)];
        for part in &parts {
            for a in part["areas"]
                .as_array()
                .ok_or_else(|| unreadable("areas"))?
            {
                changes.push(from_json(&a["changes"])?);
            }
            tallies.push(from_json(&part["tally"])?);
        }
        let codes = stored_area_codes(inputs)?.ok_or(JobError::Input {
            layer: LayerKind::Areas,
            reason: "the layer was deleted while the update ran".into(),
        })?;
        let report = partition::change_report(
            codes.iter().map(String::as_str),
            &previous,
            changes,
            MoveTally::sum(tallies),
        )
        .map_err(update_err)?;
        let earlier = inputs.store.retired_codes(inputs.dataset)?;
        let grids = &assembled.layer.features;
        let out = UpdateOutputs::new(&report, &previous, &earlier, |g| {
            let text = super::collection_text(grids.get(g));
            let mut read = crate::layers::previous::read_previous_grids(&text)
                .map_err(|e| std::io::Error::other(format!("grid {g}: {e}")))?;
            read.pop()
                .map(|grid| Cow::Owned(grid.geometry))
                .ok_or_else(|| std::io::Error::other(format!("grid {g} is missing")))
        })?;
        let mut summary = partition_summary(assembled.totals);
        summary["update"] = json!(true);
        summary["previous"] = json!(previous_layer);
        summary["changes"] = out.changes;
        summary["retired_codes"] = out.lineage;
        Ok(JobOutput {
            layers: vec![assembled.layer, out.layer],
            summary,
            retired_codes: out.retired,
        })
    }
}

fn to_json(v: &impl serde::Serialize) -> Result<Value, JobError> {
    serde_json::to_value(v).map_err(|e| JobError::Invalid(format!("a shard result: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, JobError> {
    serde_json::from_value(v.clone()).map_err(|e| unreadable(&e.to_string()))
}
