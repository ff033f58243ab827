//! A coverage cut into county shards ([`crate::partition::counties`]).
//!
//! What a household sees depends on the cameras within range of it and the
//! buildings between them, nothing else; what an area's coverage is, on
//! the households, sites and cameras inside it and the cameras in range. So
//! a shard reads its county's box of households and sites, the cameras and
//! buildings within [`MAX_RANGE_M`] of that box (no camera reaches farther),
//! and runs the engine over its county's areas. It reports the points the
//! first county whose box holds them reports (as the partition's shards
//! count outside households) with the cameras that see them, numbered by
//! their positions in the stored layers; its areas' coverage features; and
//! its gaps. The assembly reads the households, sites and cameras whole (it
//! writes them all), sees the points in no county's box itself, sorts the
//! gaps as the engine sorts them, and writes the layers the whole run
//! writes, feature for feature, with the same summary.

use serde_json::{json, Value};

use super::coverage_job::{area_features, coverage_options, CoverageLayers};
use super::shard_io::{
    feature_from, feature_json, number_from, part_where, stored_county_boxes, unreadable,
    ShardAreas,
};
use super::{cov_err, coverage_job, Builtin};
use crate::bounds::MAX_RANGE_M;
use crate::coverage::{self, CoverageInput, Gap, SeenBy, Summary, Tally};
use crate::geodesy::grow_box;
use crate::layers::{AnyLayer, LayerKind};
use crate::model::{Camera, Household, Site};
use crate::partition::counties::Counties;
use crate::progress::{NoProgress, Progress};
use crate::service::jobs::{Inputs, JobError, JobOutput};
use crate::store::BoxFilter;

/// The seen points (households or sites) that `keep` keeps, with the
/// cameras that see them, as `(position, cameras)`: `points` maps the
/// points, `cameras` the cameras (`None`: every camera, so the same) to
/// their positions in the stored layers. A shard stores these as JSON
/// (`[point, [camera, …]]`); the assembly puts them back in one table.
fn seen_rows(
    points: &[usize],
    cameras: Option<&[usize]>,
    seen: &SeenBy,
    keep: impl Fn(usize) -> bool,
) -> Vec<SeenRow> {
    (0..seen.len())
        .filter(|&i| seen.covered(i) && keep(i))
        .map(|i| {
            let cams = seen.cameras(i).iter();
            let cams = match cameras {
                // Positions in the cameras layer, which the whole run numbers
                // as u32 too.
                Some(at) => cams.map(|&c| at[c as usize] as u32).collect(),
                None => cams.copied().collect(),
            };
            (points[i], cams)
        })
        .collect()
}

/// A seen point's position and the positions of the cameras that see it.
type SeenRow = (usize, Vec<u32>);

fn seen_from(v: &mut Value, into: &mut Vec<SeenRow>) -> Result<(), JobError> {
    let rows: Vec<SeenRow> =
        serde_json::from_value(v.take()).map_err(|e| unreadable(&format!("seen points: {e}")))?;
    into.extend(rows);
    Ok(())
}

/// A gap as shard JSON, its numbers as bits; `area` is the area's position.
fn gap_json(g: &Gap, area: usize) -> Value {
    let ring = |ls: &geo_types::LineString<f64>| -> Vec<[u64; 2]> {
        ls.0.iter()
            .map(|c| [c.x.to_bits(), c.y.to_bits()])
            .collect()
    };
    let rings: Vec<Vec<[u64; 2]>> = std::iter::once(g.geometry.exterior())
        .chain(g.geometry.interiors())
        .map(ring)
        .collect();
    json!([
        area,
        g.area_m2.to_bits(),
        g.cells,
        g.households_uncovered,
        rings
    ])
}

fn gap_from(v: &Value) -> Result<Gap, JobError> {
    let bad = || unreadable("a gap");
    let ring = |r: &Value| -> Result<geo_types::LineString<f64>, JobError> {
        r.as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|c| {
                Ok(geo_types::Coord {
                    x: number_from(c.get(0).ok_or_else(bad)?)?,
                    y: number_from(c.get(1).ok_or_else(bad)?)?,
                })
            })
            .collect::<Result<Vec<_>, JobError>>()
            .map(geo_types::LineString)
    };
    let mut rings = v
        .get(4)
        .and_then(Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(ring)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let exterior = rings.next().ok_or_else(bad)?;
    Ok(Gap {
        area: v.get(0).and_then(Value::as_u64).ok_or_else(bad)? as usize,
        geometry: geo_types::Polygon::new(exterior, rings.collect()),
        area_m2: number_from(v.get(1).ok_or_else(bad)?)?,
        cells: v.get(2).and_then(Value::as_u64).ok_or_else(bad)? as u32,
        households_uncovered: v.get(3).and_then(Value::as_u64).ok_or_else(bad)?,
    })
}

macro_rules! part {
    ($inputs:expr, $kind:ident, $variant:ident, $filter:expr) => {
        part_where($inputs, LayerKind::$kind, $filter, |l| match l {
            AnyLayer::$variant(v) => Some(v),
            _ => None,
        })
    };
}

impl Builtin {
    /// The counties of a coverage job over areas: `None` (run whole) when
    /// it has no areas, or lacks a layer it needs (the whole run names it).
    pub(super) fn coverage_shards(
        &self,
        inputs: &Inputs<'_>,
    ) -> Result<Option<Vec<String>>, JobError> {
        for needed in ["cameras", "households"] {
            if inputs.store.layer(inputs.dataset, needed)?.is_none() {
                return Ok(None);
            }
        }
        super::shard_io::stored_counties(inputs)
    }

    /// One county's coverage: its points' cameras, its areas' features and
    /// its gaps.
    pub(super) fn coverage_shard(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        county: &str,
        progress: &dyn Progress,
    ) -> Result<Value, JobError> {
        let options = coverage_options(params)?;
        let near = ShardAreas::read(inputs, county)?;
        let county_areas = near.own();
        let this = &near.this;
        let inside = BoxFilter::Meets(this.bbox);
        let reach = BoxFilter::Meets(grow_box(this.bbox, MAX_RANGE_M));
        let (household_at, households) = part!(inputs, Households, Households, &inside)?;
        let (site_at, sites) = part!(inputs, Sites, Sites, &inside)?;
        let (camera_at, cameras) = part!(inputs, Cameras, Cameras, &reach)?;
        let (_, buildings) = part!(inputs, Buildings, Buildings, &reach)?;
        let input = CoverageInput {
            cameras: &cameras,
            households: &households,
            areas: &county_areas,
            buildings: &buildings,
            sites: &sites,
        };
        let result = coverage::coverage(&input, &options, progress).map_err(cov_err)?;
        let area_rows: Vec<Value> = area_features(&county_areas, &result.areas)?
            .iter()
            .zip(&this.areas)
            .map(|(f, &at)| json!([at, feature_json(f)]))
            .collect();
        let gaps: Vec<Value> = result
            .gaps
            .iter()
            .map(|g| gap_json(g, this.areas[g.area]))
            .collect();
        Ok(json!({
            "households": seen_rows(&household_at, Some(&camera_at), &result.households,
                                    |i| near.reports(&households[i].location)),
            "sites": seen_rows(&site_at, Some(&camera_at), &result.sites,
                               |i| near.reports(&sites[i].location)),
            "areas": area_rows,
            "cells": [result.summary.area_cells, result.summary.area_cells_covered],
            "gaps": gaps,
        }))
    }

    /// The whole coverage from its counties' results.
    pub(super) fn assemble_coverage(
        &self,
        params: &Value,
        inputs: &Inputs<'_>,
        parts: Vec<Value>,
    ) -> Result<JobOutput, JobError> {
        let options = coverage_options(params)?;
        let cameras = take!(inputs, Cameras, Cameras, required);
        let households = take!(inputs, Households, Households, required);
        let areas = take!(inputs, Areas, Areas, required);
        let sites = take!(inputs, Sites, Sites);
        let buildings = inputs
            .store
            .layer(inputs.dataset, "buildings")?
            .map_or(0, |m| m.features as usize);
        let (mut seen_households, mut seen_sites) = (Vec::new(), Vec::new());
        let mut area_rows: Vec<(usize, Value)> = Vec::with_capacity(areas.len());
        let (mut cells, mut cells_covered) = (0u64, 0u64);
        let mut gaps = Vec::new();
        for mut part in parts {
            seen_from(&mut part["households"], &mut seen_households)?;
            seen_from(&mut part["sites"], &mut seen_sites)?;
            for row in part["areas"]
                .as_array()
                .ok_or_else(|| unreadable("areas"))?
            {
                let at = row[0].as_u64().ok_or_else(|| unreadable("an area"))? as usize;
                area_rows.push((at, row[1].clone()));
            }
            cells += part["cells"][0].as_u64().unwrap_or(0);
            cells_covered += part["cells"][1].as_u64().unwrap_or(0);
            for g in part["gaps"].as_array().ok_or_else(|| unreadable("gaps"))? {
                gaps.push(gap_from(g)?);
            }
        }
        let counties = stored_county_boxes(inputs)?.ok_or(JobError::Input {
            layer: LayerKind::Areas,
            reason: "the layer was deleted while the coverage ran".into(),
        })?;
        let (far_households, far_sites) =
            see_beyond_counties(inputs, &counties, &cameras, &households, &sites, &options)?;
        seen_households.extend(far_households);
        seen_sites.extend(far_sites);
        let households_seen = SeenBy::from_seen(households.len(), seen_households)
            .ok_or_else(|| unreadable("households seen twice or out of range"))?;
        let sites_seen = SeenBy::from_seen(sites.len(), seen_sites)
            .ok_or_else(|| unreadable("sites seen twice or out of range"))?;
        area_rows.sort_by_key(|(at, _)| *at);
        if area_rows.iter().map(|(at, _)| *at).ne(0..areas.len()) {
            return Err(unreadable("the areas are not each reported once"));
        }
        let area_features = area_rows
            .iter()
            .map(|(_, f)| feature_from(f))
            .collect::<Result<Vec<_>, _>>()?;
        coverage::sort_gaps(&mut gaps);
        let summary = Summary::of(&Tally {
            cameras: &cameras,
            households: &households,
            households_seen: &households_seen,
            sites: &sites,
            sites_seen: &sites_seen,
            areas: areas.len(),
            area_cells: cells,
            area_cells_covered: cells_covered,
            gaps: &gaps,
            buildings,
        });
        coverage_job::coverage_output(CoverageLayers {
            cameras: &cameras,
            households: &households,
            households_seen: &households_seen,
            sites: &sites,
            sites_seen: &sites_seen,
            areas: &areas,
            area_features,
            gaps: &gaps,
            summary: &summary,
        })
    }
}

/// Seen points (households, then sites) in no county's box, which no shard
/// reported: seen here by every camera, with the buildings in reach of them.
fn see_beyond_counties(
    inputs: &Inputs<'_>,
    counties: &Counties,
    cameras: &[Camera],
    households: &[Household],
    sites: &[Site],
    options: &coverage::CoverageOptions,
) -> Result<SeenRows, JobError> {
    let beyond = |p: &geo_types::Point<f64>| counties.first_holding(p.x(), p.y()).is_none();
    let far_households: Vec<usize> = (0..households.len())
        .filter(|&i| beyond(&households[i].location))
        .collect();
    let far_sites: Vec<usize> = (0..sites.len())
        .filter(|&i| beyond(&sites[i].location))
        .collect();
    if far_households.is_empty() && far_sites.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let points = far_households
        .iter()
        .map(|&i| households[i].location)
        .chain(far_sites.iter().map(|&i| sites[i].location));
    let bbox = points.fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
        [
            b[0].min(p.x()),
            b[1].min(p.y()),
            b[2].max(p.x()),
            b[3].max(p.y()),
        ]
    });
    let (_, buildings) = part!(
        inputs,
        Buildings,
        Buildings,
        &BoxFilter::Meets(grow_box(bbox, MAX_RANGE_M))
    )?;
    let h: Vec<Household> = far_households
        .iter()
        .map(|&i| households[i].clone())
        .collect();
    let s: Vec<Site> = far_sites.iter().map(|&i| sites[i].clone()).collect();
    let input = CoverageInput {
        cameras,
        households: &h,
        areas: &[],
        buildings: &buildings,
        sites: &s,
    };
    let result = coverage::coverage(&input, options, &NoProgress).map_err(cov_err)?;
    Ok((
        seen_rows(&far_households, None, &result.households, |_| true),
        seen_rows(&far_sites, None, &result.sites, |_| true),
    ))
}

/// Seen households and seen sites, as `(position, cameras)`.
type SeenRows = (Vec<SeenRow>, Vec<SeenRow>);
