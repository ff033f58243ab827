//! `POST /api/v1/datasets/{d}/grids/move`: a planner moves the partition
//! cell holding a point from its grid to a neighbouring grid of the
//! dataset's `grids` layer, with the rule check and contiguity computed
//! here ([`crate::partition::move_cell`]: polygon overlay of the stored
//! grids, households recounted by point-in-polygon). `dry_run` only
//! reports; otherwise the move is applied (the grids layer is written
//! again, as a new version) unless it would leave the giving grid in pieces.
//!
//! The rules a grid is checked against are its area's own rules in the last
//! successful partition job (`area_rules`), else that job's rules, else its
//! area kind's preset. A moved grid's area and compactness are measured
//! again; its barrier length is kept from before the move.

use actix_web::{web, HttpRequest, HttpResponse};
use geo::{Area as _, MapCoords};
use geo_types::{Coord, MultiPolygon};
use serde_json::{json, Value};

use super::auth::Caller;
use super::datasets::{check_dataset_name, check_json_content_type};
use super::engines::{collection_text, grids_layer};
use super::error::ServiceError;
use super::features::FeatureSet;
use super::{no_query, AppState};
use crate::geodesy::LocalFrame;
use crate::layers::{AnyLayer, LayerKind};
use crate::model::{AreaKind, AreaRules, Grid, Rules};
use crate::partition::{move_cell, polsby_popper, MoveError};
use crate::store::{LayerSource, Store};

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// Longitude of a point in the cell to move (WGS84).
    #[schema(minimum = -180, maximum = 180)]
    lon: f64,
    /// Latitude of that point.
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    /// The code of the neighbouring grid that takes the cell.
    to: String,
    /// Report the move without writing it.
    #[serde(default)]
    dry_run: bool,
}

/// Area (m²) and perimeter (m) in a local frame at the geometry's first vertex.
fn measure(mp: &MultiPolygon<f64>) -> (f64, f64) {
    let Some(origin) = mp.0.first().and_then(|p| p.exterior().0.first()) else {
        return (0.0, 0.0);
    };
    let frame = LocalFrame::new((*origin).into());
    let mut area = 0.0;
    let mut perimeter = 0.0;
    for p in &mp.0 {
        let local = p.map_coords(|c| frame.to_local(c));
        area += local.unsigned_area();
        for ring in std::iter::once(local.exterior()).chain(local.interiors()) {
            perimeter += ring
                .0
                .windows(2)
                .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
                .sum::<f64>();
        }
    }
    (area, perimeter)
}

/// `within`, `below` or `above` the rules.
fn state_of(households: u64, persons: u64, r: &Rules) -> &'static str {
    if households < r.min_households {
        "below"
    } else if households > r.max_households || r.max_persons.is_some_and(|m| persons > m) {
        "above"
    } else {
        "within"
    }
}

/// A grid after a move: new outline and counts, measured and checked again.
fn remeasured(old: &Grid, geometry: MultiPolygon<f64>, hh: u64, persons: u64, r: &Rules) -> Grid {
    let (area_m2, perimeter) = measure(&geometry);
    let state = state_of(hh, persons, r);
    let mut issues = Vec::new();
    match state {
        "below" => issues.push(format!(
            "{hh} households, below the minimum of {}",
            r.min_households
        )),
        "above" if hh > r.max_households => issues.push(format!(
            "{hh} households, above the maximum of {}",
            r.max_households
        )),
        "above" => issues.push(format!(
            "{persons} persons, above the maximum of {}",
            r.max_persons.unwrap_or(0)
        )),
        _ => {}
    }
    Grid {
        geometry,
        households: hh,
        persons,
        area_m2,
        compactness: polsby_popper(area_m2, perimeter),
        within_rules: issues.is_empty(),
        issues,
        ..old.clone()
    }
}

/// The rules of the dataset's last successful partition, if it gave any,
/// and the areas' own rules it gave.
fn job_rules(store: &dyn Store, dataset: &str) -> Result<(Option<Rules>, AreaRules), ServiceError> {
    let jobs = store.jobs(Some(dataset))?;
    let last = jobs
        .iter()
        .find(|j| j.kind == "partition" && j.state == crate::store::JobState::Succeeded);
    let param = |name: &str| {
        last.and_then(|j| j.params.get(name))
            .filter(|r| !r.is_null())
            .cloned()
    };
    Ok((
        param("rules").and_then(|r| serde_json::from_value(r).ok()),
        param("area_rules")
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default(),
    ))
}

/// Area code → kind, from the stored areas layer (none: urban).
fn area_kinds(store: &dyn Store, dataset: &str) -> Result<Vec<(String, AreaKind)>, ServiceError> {
    let Some((_, stored)) = store.features(dataset, "areas")? else {
        return Ok(Vec::new());
    };
    let text = collection_text(&stored);
    let (layer, _) = crate::layers::read_layer(LayerKind::Areas, &text, &Default::default())
        .map_err(|e| ServiceError::Internal(format!("the stored areas: {e}")))?;
    Ok(match layer {
        AnyLayer::Areas(v) => v.into_iter().map(|a| (a.code, a.kind)).collect(),
        _ => Vec::new(),
    })
}

fn side(g: &Grid, contiguous: bool, r: &Rules) -> Value {
    json!({
        "code": g.code,
        "households": g.households,
        "persons": g.persons,
        "state": state_of(g.households, g.persons, r),
        "contiguous": contiguous,
    })
}

/// `POST /api/v1/datasets/{dataset}/grids/move`
#[utoipa::path(post, path = "/api/v1/datasets/{dataset}/grids/move", tag = "Datasets", operation_id = "move_grid_cell",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    request_body(content = MoveBody, description = "the cell (by a point in it) and the grid that takes it", content_type = "application/json"),
    responses(
        (status = 200, description = "both grids after the move (code, households, persons, state, contiguous), whether it was applied, and the two grids", body = Object),
        (status = 400, description = "a malformed body"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset"),
        (status = 409, description = "the dataset has no grids layer"),
        (status = 415, description = "a body that is not JSON"),
        (status = 422, description = "the point is in no grid, the grid `to` is unknown or not a neighbour, or the move would split a grid")))]
pub async fn move_grid_cell(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ServiceError> {
    let dataset = path.into_inner();
    caller.require_write(&dataset)?;
    check_dataset_name(&dataset)?;
    no_query(&req)?;
    check_json_content_type(&req)?;
    let body: MoveBody = serde_json::from_slice(&body)
        .map_err(|e| ServiceError::BadRequest(format!("the move body is invalid: {e}")))?;
    // NaN and infinities are outside both ranges.
    if !((-180.0..=180.0).contains(&body.lon) && (-90.0..=90.0).contains(&body.lat)) {
        return Err(ServiceError::BadRequest(format!(
            "lon {} / lat {} is not a longitude/latitude",
            body.lon, body.lat
        )));
    }
    let st = state.clone();
    let ds = dataset.clone();
    let (doc, written) = web::block(move || -> Result<_, ServiceError> {
        let store = &*st.store;
        let Some((_, stored)) = store.features(&ds, "grids")? else {
            return Err(ServiceError::Conflict(format!(
                "dataset {ds:?} has no grids layer: run a partition first"
            )));
        };
        let mut grids = crate::layers::previous::read_previous_grids(&collection_text(&stored))
            .map_err(|e| ServiceError::Internal(format!("the stored grids: {e}")))?;
        drop(stored);
        let households = match store.features(&ds, "households")? {
            Some((_, stored)) => {
                let text = collection_text(&stored);
                match crate::layers::read_layer(LayerKind::Households, &text, &Default::default()) {
                    Ok((AnyLayer::Households(v), _)) => v,
                    Ok(_) => Vec::new(),
                    Err(e) => {
                        return Err(ServiceError::Internal(format!("the stored households: {e}")))
                    }
                }
            }
            None => Vec::new(),
        };
        let moved = move_cell(&grids, &households, Coord { x: body.lon, y: body.lat }, &body.to)
            .map_err(|e| match e {
                MoveError::BadPoint(..) => ServiceError::BadRequest(e.to_string()),
                other => ServiceError::Unprocessable(other.to_string()),
            })?;
        let (fixed, own) = job_rules(store, &ds)?;
        let kinds = area_kinds(store, &ds)?;
        let rules_of = |g: &Grid| {
            let kind = kinds
                .iter()
                .find(|(c, _)| *c == g.parent_code)
                .map_or(AreaKind::Urban, |(_, k)| *k);
            own.resolve(&g.parent_code, kind, fixed)
        };
        let (rf, rt) = (rules_of(&grids[moved.from]), rules_of(&grids[moved.to]));
        let from = remeasured(
            &grids[moved.from],
            moved.from_geometry,
            moved.from_households,
            moved.from_persons,
            &rf,
        );
        let to = remeasured(
            &grids[moved.to],
            moved.to_geometry,
            moved.to_households,
            moved.to_persons,
            &rt,
        );
        let pair = grids_layer(&[from.clone(), to.clone()]).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let features: Vec<Value> = pair
            .features
            .iter()
            .map(|f| serde_json::from_str(&f.json).unwrap_or(Value::Null))
            .collect();
        let mut doc = json!({
            "from": side(&from, moved.contiguous, &rf),
            "to": side(&to, true, &rt),
            "resolution": moved.resolution,
            "applied": false,
            "grids": {"type": "FeatureCollection", "features": features},
        });
        if body.dry_run {
            return Ok((doc, None));
        }
        if !moved.contiguous {
            return Err(ServiceError::Unprocessable(format!(
                "moving this cell would leave grid {} in pieces (or empty); dry_run shows the result",
                from.code
            )));
        }
        let (fi, ti) = (moved.from, moved.to);
        grids[fi] = from;
        grids[ti] = to;
        let layer = grids_layer(&grids).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let meta = store.put_layer(&ds, "grids", "grids", LayerSource::Job, &layer.report, &layer.features)?;
        doc["applied"] = json!(true);
        Ok((doc, Some(FeatureSet::new(meta, layer.features))))
    })
    .await??;
    if let Some(set) = written {
        state.cache.put(set);
        tracing::info!(%dataset, from = %doc["from"]["code"], to = %doc["to"]["code"], "cell moved");
    }
    Ok(HttpResponse::Ok().json(doc))
}
