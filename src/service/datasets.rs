//! Datasets and their layers: upload (validated exactly as the command line
//! validates), list, fetch, replace, delete; and job submission per dataset.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::conditional::Validators;
use super::engines;
use super::error::{from_actix, ServiceError};
use super::estimate;
use super::features::{layer_to_stored, FeatureSet};
use super::jobs::JobKind;
use super::stream::Picks;
// The annotations name the body types of `super::openapi::types` by name.
use super::ogc_crs::OgcCrs;
use super::openapi::types::{LayerQuery, PartitionQuery, UploadQuery};
use super::{base_url, query_pairs, AppState};
use crate::crs::Crs;
use crate::layers::{self, FieldNames, LayerKind, ReadOptions};
use crate::store::{LayerMeta, LayerSource};

/// Rejections kept in a stored report (the counts are always complete).
const MAX_STORED_REJECTIONS: usize = 10_000;
/// Rejections shown in an upload response.
const MAX_SHOWN_REJECTIONS: usize = 1_000;

/// Dataset names: letters, digits, `_` and `-`, 1–64 characters (no `.`: the
/// collection id is `{dataset}.{layer}`).
pub fn check_dataset_name(name: &str) -> Result<(), ServiceError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::BadRequest(format!(
            "invalid dataset name {name:?}: use 1–64 letters, digits, '_' or '-'"
        )))
    }
}

fn layer_json(base: &str, m: &LayerMeta, full_report: bool) -> Value {
    let mut v = json!({
        "dataset": m.dataset,
        "layer": m.layer,
        "collection": format!("{}.{}", m.dataset, m.layer),
        "kind": m.kind,
        "source": m.source,
        "features": m.features,
        "extent": m.extent,
        "updated": m.updated,
        "links": [
            {"rel": "items", "type": "application/geo+json",
             "href": format!("{base}/collections/{}.{}/items", m.dataset, m.layer)},
            {"rel": "self", "type": "application/json",
             "href": format!("{base}/api/v1/datasets/{}/layers/{}/report", m.dataset, m.layer)},
        ]
    });
    if let Some(j) = &m.job {
        v["job"] = json!(j);
    }
    if full_report {
        v["report"] = m.report.clone();
    }
    v
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    web::block(f).await?
}

/// Datasets and their layers.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "Datasets", operation_id = "datasets",
    responses(
        (status = 200, description = "the datasets this caller may see, with the layers it may read", body = Datasets),
        (status = 401, description = "no valid token")))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ServiceError> {
    let base = base_url(&req, &state);
    let st = state.clone();
    let metas = blocking(move || Ok(st.store.layers(None)?)).await?;
    let mut datasets: Vec<Value> = Vec::new();
    let mut current: Option<String> = None;
    for m in metas
        .iter()
        .filter(|m| caller.can_read(&m.dataset, &m.layer))
    {
        if current.as_deref() != Some(&m.dataset) {
            current = Some(m.dataset.clone());
            datasets.push(json!({
                "name": m.dataset,
                "layers": [],
                "links": [{"rel": "self", "href": format!("{base}/api/v1/datasets/{}", m.dataset)}]
            }));
        }
        if let Some(Value::Array(a)) = datasets.last_mut().map(|d| &mut d["layers"]) {
            a.push(layer_json(&base, m, false));
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "datasets": datasets })))
}

/// A dataset's layers and jobs.
#[utoipa::path(get, path = "/api/v1/datasets/{dataset}", tag = "Datasets", operation_id = "dataset",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    responses(
        (status = 200, description = "the dataset's layers and jobs", body = Dataset),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset (a deleted dataset is gone; its finished jobs stay in the job list until pruned)")))]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let dataset = path.into_inner();
    caller.require_dataset(&dataset)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let ds = dataset.clone();
    let (metas, jobs) = blocking(move || {
        let metas = st.store.layers(Some(&ds))?;
        let jobs = st.jobs.list(Some(&ds))?;
        Ok((metas, jobs))
    })
    .await?;
    // A dataset is its layers and its jobs in progress: after a delete its
    // job records stay in the job list (the history of what ran, until
    // pruned), but the dataset is gone.
    if metas.is_empty() && jobs.iter().all(|j| j.state.is_final()) {
        return Err(ServiceError::NotFound(format!("no dataset {dataset:?}")));
    }
    let layers: Vec<Value> = metas
        .iter()
        .filter(|m| caller.can_read(&m.dataset, &m.layer))
        .map(|m| layer_json(&base, m, false))
        .collect();
    let jobs: Vec<Value> = jobs
        .iter()
        .map(|j| {
            json!({"id": j.id, "kind": j.kind, "state": j.state, "created": j.created,
                        "url": format!("{base}/api/v1/jobs/{}", j.id)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"name": dataset, "layers": layers, "jobs": jobs})))
}

/// Delete a dataset and all its layers (planner).
#[utoipa::path(delete, path = "/api/v1/datasets/{dataset}", tag = "Datasets", operation_id = "delete_dataset",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    responses(
        (status = 204, description = "deleted with all its layers; its running jobs are cancelled"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let dataset = path.into_inner();
    caller.require_write(&dataset)?;
    let st = state.clone();
    let ds = dataset.clone();
    let n = blocking(move || {
        // Jobs of the dataset would write their results back: stop them first.
        let cancelled = st.jobs.cancel_dataset(&ds)?;
        Ok(st.store.delete_dataset(&ds)? + cancelled)
    })
    .await?;
    state.cache.forget(&dataset, None);
    if n == 0 {
        return Err(ServiceError::NotFound(format!("no dataset {dataset:?}")));
    }
    tracing::info!(%dataset, layers = n, "dataset deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// The whole layer as one GeoJSON FeatureCollection.
///
/// Streamed from the collection in memory (shared by every concurrent
/// download of it), with a strong ETag and Last-Modified. With `crs` (as
/// items take it), converted first: the planner page draws layers over a
/// GCJ-02 base map this way.
#[utoipa::path(get, path = "/api/v1/datasets/{dataset}/layers/{layer}", tag = "Datasets", operation_id = "get_layer",
    params(("dataset" = DatasetName, Path, description = "the dataset"), ("layer" = LayerName, Path, description = "the layer"), LayerQuery),
    responses(
        (status = 200, description = "the whole layer", body = FeatureCollection, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "the CRS of the coordinates, as `<URI>`"))),
        (status = 304, description = "not modified"),
        (status = 400, description = "a CRS this service does not offer"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such layer"),
        (status = 422, description = "a feature lies outside the area the requested CRS (a Gauss-Krüger zone) is defined for")))]
pub async fn get_layer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    let (dataset, layer) = path.into_inner();
    // Other parameters are ignored, as they always were here.
    let mut crs = OgcCrs::Crs84;
    for (k, v) in query_pairs(&req)? {
        if k == "crs" {
            crs = OgcCrs::parse(&k, &v)?;
        }
    }
    caller.require_read(&dataset, &layer)?;
    let set = super::ogc::load_set(&state, &dataset, &layer).await?;
    // The body has no links: the tag depends on the base URL only through
    // the URI of a CRS of this service's own.
    let base = base_url(&req, &state);
    let mut validators = Validators::for_layer(&set.meta, "");
    validators.etag.push_str(&crs.tag());
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }
    let name = serde_json::to_string(&format!("{dataset}.{layer}")).unwrap_or_default();
    let head = format!("{{\"type\":\"FeatureCollection\",\"name\":{name},\"features\":[\n");
    let n = set.features.len();
    let body = super::ogc::features_body(
        set,
        Picks::Range(0..n),
        false,
        head,
        ",\n",
        "\n]}\n".into(),
        crs,
    )
    .await?;
    let mut res = HttpResponse::Ok();
    validators.apply(&mut res);
    Ok(res
        .content_type("application/geo+json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(crs.header(&base))
        .body(body))
}

/// A layer's metadata and upload report.
#[utoipa::path(get, path = "/api/v1/datasets/{dataset}/layers/{layer}/report", tag = "Datasets", operation_id = "layer_report",
    params(("dataset" = DatasetName, Path, description = "the dataset"), ("layer" = LayerName, Path, description = "the layer")),
    responses(
        (status = 200, description = "the layer's metadata and upload report", body = LayerInfo),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such layer")))]
pub async fn layer_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    let (dataset, layer) = path.into_inner();
    caller.require_read(&dataset, &layer)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let (d, l) = (dataset.clone(), layer.clone());
    let meta = blocking(move || Ok(st.store.layer(&d, &l)?)).await?;
    let meta = meta.ok_or_else(|| {
        ServiceError::NotFound(format!("no layer {layer:?} in dataset {dataset:?}"))
    })?;
    Ok(HttpResponse::Ok().json(layer_json(&base, &meta, true)))
}

/// Delete a layer (planner).
#[utoipa::path(delete, path = "/api/v1/datasets/{dataset}/layers/{layer}", tag = "Datasets", operation_id = "delete_layer",
    params(("dataset" = DatasetName, Path, description = "the dataset"), ("layer" = LayerName, Path, description = "the layer")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such layer")))]
pub async fn delete_layer(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    let (dataset, layer) = path.into_inner();
    caller.require_write(&dataset)?;
    let st = state.clone();
    let (d, l) = (dataset.clone(), layer.clone());
    let found = blocking(move || Ok(st.store.delete_layer(&d, &l)?)).await?;
    state.cache.forget(&dataset, Some(&layer));
    if !found {
        return Err(ServiceError::NotFound(format!(
            "no layer {layer:?} in dataset {dataset:?}"
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Upload options from the query string.
fn read_options(req: &HttpRequest) -> Result<ReadOptions, ServiceError> {
    parse_read_options(req.query_string())
}

/// Parses the raw query string of a layer upload (`crs`, `strict`, the
/// `*_field` names). Pure, so the fuzz target `query` can reach it without a
/// server.
pub fn parse_read_options(query: &str) -> Result<ReadOptions, ServiceError> {
    let mut opts = ReadOptions::default();
    let mut fields = FieldNames::default();
    for (k, v) in super::parse_query(query)? {
        match k.as_str() {
            "crs" => {
                opts.crs = Some(
                    Crs::parse(&v).map_err(|e| ServiceError::BadRequest(format!("crs: {e}")))?,
                )
            }
            "strict" => {
                opts.strict = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ServiceError::BadRequest(
                            "strict must be true or false".into(),
                        ))
                    }
                }
            }
            "code_field" => fields.code = v,
            "name_field" => fields.name = v,
            "kind_field" => fields.kind = v,
            "households_field" => fields.households = v,
            "persons_field" => fields.persons = v,
            "id_field" => fields.id = v,
            // The upload's file format and its options: `upload_format`'s.
            k if super::upload_format::SOURCE_PARAMETERS.contains(&k) => {}
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    opts.fields = fields;
    Ok(opts)
}

/// Accepts the content codings actix decodes (or none).
pub fn check_content_encoding(req: &HttpRequest) -> Result<(), ServiceError> {
    for v in req.headers().get_all(header::CONTENT_ENCODING) {
        let v = v.to_str().unwrap_or("?");
        for coding in v.split(',').map(|c| c.trim().to_ascii_lowercase()) {
            if !matches!(
                coding.as_str(),
                "" | "identity" | "gzip" | "x-gzip" | "deflate" | "br" | "zstd"
            ) {
                return Err(ServiceError::UnsupportedMediaType(format!(
                    "Content-Encoding {coding} (use gzip, deflate, br or zstd)"
                )));
            }
        }
    }
    Ok(())
}

/// Accepts JSON-ish content types, or none.
pub fn check_json_content_type(req: &HttpRequest) -> Result<(), ServiceError> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    if matches!(
        mime,
        "application/json" | "application/geo+json" | "application/vnd.geo+json"
    ) || mime.ends_with("+json")
    {
        Ok(())
    } else {
        Err(ServiceError::UnsupportedMediaType(format!(
            "Content-Type {mime}"
        )))
    }
}

/// Upload (or replace) a layer (planner): validated per feature as the
/// command line validates, then stored.
#[utoipa::path(put, path = "/api/v1/datasets/{dataset}/layers/{layer}", tag = "Datasets", operation_id = "put_layer",
    params(("dataset" = DatasetName, Path, description = "the dataset"), ("layer" = UploadLayerName, Path, description = "the layer"), UploadQuery),
    responses(
        (status = 200, description = "replaced: the layer report", body = UploadReport),
        (status = 201, description = "created: the layer report", body = UploadReport),
        (status = 400, description = "not a GeoJSON FeatureCollection, or a bad parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 413, description = "the body is larger than the server's limit"),
        (status = 415, description = "a body that is not JSON, or a content coding the server cannot decode"),
        (status = 422, description = "no feature could be accepted (or, with strict=true, one was rejected), the CRS is unknown to PROJ, or adopted grids contradict one another")))]
pub async fn put_layer(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    let (dataset, layer) = path.into_inner();
    caller.require_write(&dataset)?;
    check_dataset_name(&dataset)?;
    let kind: Option<LayerKind> = layer.parse().ok();
    if kind.is_none() && layer != "grids" {
        let why = format!(
            "cannot upload a layer named {layer:?}: layers are areas, households, cameras, buildings, barriers, sites, candidates, or grids (adopted grids, for updates)"
        );
        // A result layer is read and deleted, never uploaded; any other name
        // is no layer at all.
        return Err(match super::access::class_of(&layer) {
            Some(_) => ServiceError::MethodNotAllowed {
                allow: "GET, HEAD, DELETE",
                detail: why,
            },
            None => ServiceError::NotFound(why),
        });
    }
    check_content_encoding(&req)?;
    let mut opts = read_options(&req)?;
    if kind.is_none() && !query_pairs(&req)?.is_empty() {
        return Err(ServiceError::BadRequest(
            "adopted grids take no parameters: send RFC 7946 (WGS84) grids as written by wangge partition".into(),
        ));
    }
    let body = body.map_err(|e| from_actix(&e, state.config.max_body_bytes))?;
    let (format, source) = super::upload_format::upload_format(&req, &body, &opts.fields.id)?;
    if kind.is_none() && format != layers::formats::Format::GeoJson {
        return Err(ServiceError::BadRequest(
            "adopted grids are uploaded as the GeoJSON wangge partition writes".into(),
        ));
    }
    let base = base_url(&req, &state);
    let st = state.clone();
    let ds = dataset.clone();
    let t0 = std::time::Instant::now();
    let (meta, report, created) = blocking(move || {
        // Other formats are converted to GeoJSON text first (`layers::formats`).
        let converted = match format {
            layers::formats::Format::GeoJson => None,
            f => Some(layers::formats::from_bytes(f, body.to_vec(), &source)?),
        };
        opts.origin = converted.as_ref().and_then(|c| c.origin.clone());
        let text: &str = match &converted {
            Some(c) => c,
            None => std::str::from_utf8(&body).map_err(|e| {
                ServiceError::Layer(layers::LayerError::NotUtf8 {
                    offset: e.valid_up_to(),
                })
            })?,
        };
        let t_read = std::time::Instant::now();
        let Some(kind) = kind else {
            // Adopted grids.
            let (features, report_json) = engines::read_grids_upload(text)?;
            // A lineage the upload carries (the command line's) joins the dataset's.
            let carried = layers::lineage::read_carried(text)
                .map_err(|e| ServiceError::BadRequest(format!("retired_codes: {e}")))?;
            st.store.retire_codes(&ds, &carried.retired_codes)?;
            // Codes the replaced grids used and this upload drops join the
            // dataset's lineage first (retiring a code too many is harmless).
            let existed = match st.store.features(&ds, "grids")? {
                Some((_, stored)) => {
                    let dropped = engines::codes_dropped_by_upload(&stored, &features)
                        .map_err(ServiceError::Internal)?;
                    st.store.retire_codes(&ds, &dropped)?;
                    true
                }
                None => false,
            };
            let meta = st.store.put_layer(
                &ds,
                "grids",
                "grids",
                LayerSource::Upload,
                &report_json,
                &features,
            )?;
            st.cache.put(FeatureSet::new(meta.clone(), features));
            let report = layers::LayerReport {
                layer: "grids".into(),
                crs: "CRS84".into(),
                features: meta.features as usize,
                accepted: meta.features as usize,
                ..Default::default()
            };
            return Ok((meta, report, !existed));
        };
        let (parsed, report) = layers::read_layer(kind, text, &opts)?;
        let read_s = t_read.elapsed().as_secs_f64();
        let features =
            layer_to_stored(&parsed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        drop(parsed);
        let convert_s = t_read.elapsed().as_secs_f64() - read_s;
        let mut stored_report = serde_json::to_value(&report).unwrap_or(Value::Null);
        if report.rejections.len() > MAX_STORED_REJECTIONS {
            stored_report["rejections"] =
                serde_json::to_value(&report.rejections[..MAX_STORED_REJECTIONS])
                    .unwrap_or(Value::Null);
            stored_report["rejections_truncated"] = json!(true);
        }
        let t_store = std::time::Instant::now();
        let existed = st.store.layer(&ds, kind.as_str())?.is_some();
        let meta = st.store.put_layer(
            &ds,
            kind.as_str(),
            kind.as_str(),
            LayerSource::Upload,
            &stored_report,
            &features,
        )?;
        let store_s = t_store.elapsed().as_secs_f64();
        if features.len() > 50_000 {
            st.cache.put_in_background(meta.clone(), features);
        } else {
            st.cache.put(FeatureSet::new(meta.clone(), features));
        }
        tracing::debug!(read_s, convert_s, store_s, "upload timing");
        Ok((meta, report, !existed))
    })
    .await?;
    tracing::info!(
        dataset = %dataset, layer = %layer, accepted = report.accepted, rejected = report.rejected,
        seconds = t0.elapsed().as_secs_f64(), "layer stored"
    );
    let mut v = layer_json(&base, &meta, false);
    v["crs"] = json!(report.crs);
    v["accepted"] = json!(report.accepted);
    v["rejected"] = json!(report.rejected);
    v["rejections"] = json!(report
        .rejections
        .iter()
        .take(MAX_SHOWN_REJECTIONS)
        .collect::<Vec<_>>());
    if report.rejections.len() > MAX_SHOWN_REJECTIONS {
        v["rejections_truncated"] = json!(true);
    }
    v["defaults"] = json!(report.defaults);
    v["repairs"] = json!(report.repairs);
    v["ignored"] = json!(report.ignored);
    if let Some(from) = &report.read_from {
        v["read_from"] = json!(from);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header((
            header::LOCATION,
            format!("{base}/collections/{dataset}.{layer}"),
        ))
        .json(v))
}

/// `POST /api/v1/datasets/{dataset}/{partition|coverage|propose}`: starts a job.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    kind: JobKind,
) -> Result<HttpResponse, ServiceError> {
    let dataset = path.into_inner();
    caller.require_write(&dataset)?;
    check_dataset_name(&dataset)?;
    let mut update = false;
    for (k, v) in query_pairs(&req)? {
        match (kind, k.as_str()) {
            (JobKind::Partition, "update") => {
                update = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ServiceError::BadRequest(
                            "update must be true or false".into(),
                        ))
                    }
                }
            }
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    let body = body.map_err(|e| from_actix(&e, state.config.max_body_bytes))?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        check_json_content_type(&req)?;
    }
    let params = match kind {
        JobKind::Partition => engines::partition_params(&body, update),
        JobKind::Coverage => engines::coverage_params(&body).map_err(ServiceError::BadRequest),
        JobKind::Propose => engines::propose_params(&body).map_err(ServiceError::BadRequest),
    }?;
    let base = base_url(&req, &state);
    let st: Arc<AppState> = state.clone().into_inner();
    let ds = dataset.clone();
    let record = blocking(move || {
        let layers = st.store.layers(Some(&ds))?;
        if layers.is_empty() {
            return Err(ServiceError::NotFound(format!("no dataset {ds:?}")));
        }
        let mut missing: Vec<&str> = kind
            .required_layers()
            .iter()
            .map(|k| k.as_str())
            .filter(|k| !layers.iter().any(|m| m.layer == *k))
            .collect();
        let previous = |m: &LayerMeta| m.layer == "grids" || m.layer == crate::store::ADOPTED_LAYER;
        if update && !layers.iter().any(previous) {
            missing.push("grids");
        }
        if params.get("locked").is_some() && !layers.iter().any(|m| m.layer == "grids") {
            missing.push("grids");
        }
        if !missing.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "a {} job needs the {} layer(s): upload them first",
                kind.as_str(),
                missing.join(", ")
            )));
        }
        // Overrides must name the dataset's areas.
        engines::check_area_rules_codes(&*st.store, &ds, &params)?;
        // Refused before it is queued when its estimated size is over budget.
        let size = estimate::job(&*st.store, &ds, &layers, kind, &params)?;
        st.config.job_budget.check(&size)?;
        Ok(st.jobs.submit(&ds, kind, params)?)
    })
    .await?;
    let url = format!("{base}/api/v1/jobs/{}", record.id);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, url.clone()))
        .json(json!({"id": record.id, "url": url, "state": record.state})))
}

/// Start a partition job (planner): the grids of every area, or with
/// `update=true` the smallest change to the current grids (census update).
#[utoipa::path(post, path = "/api/v1/datasets/{dataset}/partition", tag = "Jobs", operation_id = "partition",
    params(("dataset" = DatasetName, Path, description = "the dataset"), PartitionQuery),
    request_body(content = Rules, content_type = "application/json", description = "the rules (min/max/target households, max persons, max area), `area_rules` (rules of their own for some areas, by area code) and `locked`; empty: the per-area presets"),
    responses(
        (status = 202, description = "the job is queued", body = JobStarted,
         headers(("Location" = String, description = "the job"))),
        (status = 400, description = "a malformed body or a bad parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset"),
        (status = 409, description = "a layer the job needs is missing; or, with update=true, no grids layer"),
        (status = 413, description = "the body is larger than the server's limit"),
        (status = 415, description = "a body that is not JSON"),
        (status = 422, description = "the job is over the server's size budget (the problem names the estimate), the rules (or an area's own rules) contradict one another, or area_rules names an area code the areas layer does not have")))]
pub async fn partition(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    submit(req, state, caller, path, body, JobKind::Partition).await
}

/// Start a coverage job (planner).
#[utoipa::path(post, path = "/api/v1/datasets/{dataset}/coverage", tag = "Jobs", operation_id = "coverage",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    request_body(content = CoverageOptions, content_type = "application/json", description = "the options; empty: the defaults"),
    responses(
        (status = 202, description = "the job is queued", body = JobStarted,
         headers(("Location" = String, description = "the job"))),
        (status = 400, description = "a malformed body or a bad parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset"),
        (status = 409, description = "a layer the job needs is missing"),
        (status = 413, description = "the body is larger than the server's limit"),
        (status = 415, description = "a body that is not JSON"),
        (status = 422, description = "the job is over the server's size budget (the problem names the estimate)")))]
pub async fn coverage(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    submit(req, state, caller, path, body, JobKind::Coverage).await
}

/// Start a camera-siting job (planner).
#[utoipa::path(post, path = "/api/v1/datasets/{dataset}/propose", tag = "Jobs", operation_id = "propose",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    request_body(content = ProposeOptions, content_type = "application/json", description = "how many sites to propose, or the coverage to reach"),
    responses(
        (status = 202, description = "the job is queued", body = JobStarted,
         headers(("Location" = String, description = "the job"))),
        (status = 400, description = "a malformed body or a bad parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset"),
        (status = 409, description = "a layer the job needs is missing"),
        (status = 413, description = "the body is larger than the server's limit"),
        (status = 415, description = "a body that is not JSON"),
        (status = 422, description = "the job is over the server's size budget (the problem names the estimate)")))]
pub async fn propose(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ServiceError> {
    submit(req, state, caller, path, body, JobKind::Propose).await
}
