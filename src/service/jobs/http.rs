//! HTTP handlers for `/api/v1/jobs`: the job list (paged), one job, and
//! cancellation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::CancelOutcome;
use crate::service::auth::Caller;
use crate::service::conditional;
use crate::service::error::ServiceError;
use crate::service::openapi::types::JobsQuery;
use crate::service::{base_url, query_pairs, AppState};
use crate::store::JobRecord;

fn doc(base: &str, r: &JobRecord, elapsed: Option<f64>, caller: &Caller) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    v["url"] = json!(format!("{base}/api/v1/jobs/{}", r.id));
    let seconds = elapsed.or_else(|| seconds_between(r.started.as_deref(), r.finished.as_deref()));
    if let Some(s) = seconds {
        v["elapsed_s"] = json!(s);
    }
    let results: Vec<Value> = r
        .results
        .iter()
        .filter(|l| caller.can_read(&r.dataset, l))
        .map(|l| {
            json!({"layer": l, "collection": format!("{}.{}", r.dataset, l),
                   "href": format!("{base}/collections/{}.{}/items", r.dataset, l)})
        })
        .collect();
    v["results"] = json!(results);
    v
}

/// Seconds between two RFC 3339 times written by this service.
fn seconds_between(a: Option<&str>, b: Option<&str>) -> Option<f64> {
    fn secs(t: &str) -> Option<f64> {
        // YYYY-MM-DDTHH:MM:SS.mmmZ; days via a civil-to-days conversion.
        let y: i64 = t.get(0..4)?.parse().ok()?;
        let m: i64 = t.get(5..7)?.parse().ok()?;
        let d: i64 = t.get(8..10)?.parse().ok()?;
        let hh: f64 = t.get(11..13)?.parse().ok()?;
        let mm: f64 = t.get(14..16)?.parse().ok()?;
        let ss: f64 = t.get(17..t.len().checked_sub(1)?)?.parse().ok()?;
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(days as f64 * 86_400.0 + hh * 3600.0 + mm * 60.0 + ss)
    }
    Some(secs(b?)? - secs(a?)?)
}

/// Jobs per page unless `limit` says otherwise, and the most a page holds.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Jobs, newest first, a page at a time.
///
/// With a `next` link while more follow.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "Jobs", operation_id = "jobs",
    params(JobsQuery),
    responses(
        (status = 200, description = "a page of jobs, newest first, with a next link while more follow (finished jobs are removed after the server's retention age)", body = Jobs),
        (status = 304, description = "not modified"),
        (status = 400, description = "a bad or unknown parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the dataset is outside this caller's scope")))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ServiceError> {
    let mut dataset = None;
    let (mut limit, mut offset) = (DEFAULT_LIMIT, 0usize);
    let number = crate::service::ogc::parse_number;
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "dataset" => {
                crate::service::datasets::check_dataset_name(&v)?;
                dataset = Some(v)
            }
            "limit" => {
                limit = number("limit", &v)?;
                if limit == 0 {
                    return Err(ServiceError::BadRequest("limit must be at least 1".into()));
                }
                limit = limit.min(MAX_LIMIT);
            }
            "offset" => offset = number("offset", &v)?,
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    if let Some(d) = &dataset {
        caller.require_dataset(d)?;
    }
    let base = base_url(&req, &state);
    let st = state.clone();
    let ds = dataset.clone();
    let (jobs, more) = web::block(move || st.jobs.page(ds.as_deref(), offset, limit)).await??;
    // A scoped token sees only its datasets' jobs.
    let docs: Vec<Value> = jobs
        .iter()
        .filter(|r| caller.sees_dataset(&r.dataset))
        .map(|r| doc(&base, r, None, &caller))
        .collect();
    let ds_param = dataset
        .map(|d| format!("&dataset={}", crate::service::ogc::encode(&d)))
        .unwrap_or_default();
    let link = |rel: &str, offset: usize| {
        json!({"rel": rel, "type": "application/json",
               "href": format!("{base}/api/v1/jobs?limit={limit}&offset={offset}{ds_param}")})
    };
    let mut links = vec![link("self", offset)];
    if more {
        links.push(link("next", offset + jobs.len()));
    }
    if offset > 0 {
        links.push(link("prev", offset.saturating_sub(limit)));
    }
    let body = json!({ "jobs": docs, "numberReturned": docs.len(), "links": links });
    Ok(conditional::json(&req, &body, None))
}

/// A job's state, progress, timing and results.
#[utoipa::path(get, path = "/api/v1/jobs/{jobId}", tag = "Jobs", operation_id = "job",
    params(("jobId" = String, Path, description = "the job id")),
    responses(
        (status = 200, description = "the job's state, progress, timing and results", body = Job),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the job's dataset is outside this caller's scope"),
        (status = 404, description = "no such job")))]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let id = path.into_inner();
    crate::service::no_query(&req)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let i = id.clone();
    let found = web::block(move || st.jobs.get(&i)).await??;
    let (r, elapsed) = found.ok_or_else(|| ServiceError::NotFound(format!("no job {id:?}")))?;
    caller.require_job(&r.dataset, &id)?;
    // A finished job no longer changes: it has a modification time.
    let modified = r
        .state
        .is_final()
        .then(|| r.finished.as_deref().and_then(crate::store::parse_rfc3339))
        .flatten();
    Ok(conditional::json(
        &req,
        &doc(&base, &r, elapsed, &caller),
        modified,
    ))
}

/// Cancel a job (planner).
#[utoipa::path(delete, path = "/api/v1/jobs/{jobId}", tag = "Jobs", operation_id = "cancel_job",
    params(("jobId" = String, Path, description = "the job id")),
    responses(
        (status = 202, description = "cancelling", body = Job),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner"),
        (status = 404, description = "no such job"),
        (status = 409, description = "the job has already finished")))]
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    caller.require_planner()?;
    let id = path.into_inner();
    let base = base_url(&req, &state);
    let st = state.clone();
    let i = id.clone();
    let c = caller.clone();
    // A job outside the caller's datasets is answered as missing, untouched.
    let cancel = move || match st.jobs.get(&i)? {
        Some((r, _)) if !c.sees_dataset(&r.dataset) => Ok(CancelOutcome::NotFound),
        _ => st.jobs.cancel(&i),
    };
    match web::block(cancel).await?? {
        CancelOutcome::NotFound => Err(ServiceError::NotFound(format!("no job {id:?}"))),
        CancelOutcome::AlreadyFinal(r) => Err(ServiceError::Conflict(format!(
            "job {id} has already finished ({})",
            r.state.as_str()
        ))),
        CancelOutcome::Cancelling(r) => {
            Ok(HttpResponse::build(StatusCode::ACCEPTED).json(doc(&base, &r, None, &caller)))
        }
    }
}

/// Cancel a job (planner): the same as `DELETE /api/v1/jobs/{jobId}`,
/// for clients that cannot send DELETE.
#[utoipa::path(post, path = "/api/v1/jobs/{jobId}/cancel", tag = "Jobs", operation_id = "cancel_job_post",
    params(("jobId" = String, Path, description = "the job id")),
    responses(
        (status = 202, description = "cancelling", body = Job),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner"),
        (status = 404, description = "no such job"),
        (status = 409, description = "the job has already finished")))]
pub async fn cancel_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    cancel(req, state, caller, path).await
}
