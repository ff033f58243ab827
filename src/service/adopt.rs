//! Adopting grids, versioned: `POST /api/v1/datasets/{d}/adoptions` makes a
//! proposal layer (normally `grids`, a partition's or census update's
//! result) the dataset's adopted grids, the layer `adopted_grids`, and
//! records who adopted it and when; `GET` lists the adoptions. A census
//! update (`POST …/partition?update=true`) starts from the adopted grids
//! when there are any ([`super::engines`]), and writes the new proposal to
//! `grids` and its change view to `grid_changes`, for review before the
//! next adoption.
//!
//! Adopting is for planners. The list is public within the token's scope:
//! it says when grids were adopted, how many, and by which role (tokens
//! carry no names), nothing about people or cameras.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::datasets::{check_dataset_name, check_json_content_type};
use super::error::ServiceError;
use super::{base_url, no_query, AppState};
use crate::store::{Adoption, ADOPTED_LAYER};

/// The body of an adoption: which proposal layer to adopt.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptBody {
    /// The proposal layer to adopt (default `grids`).
    #[serde(default = "default_layer")]
    #[schema(default = "grids", min_length = 1)]
    layer: String,
}

fn default_layer() -> String {
    "grids".into()
}

fn adoption_json(a: &Adoption) -> Value {
    json!({
        "version": a.version,
        "adopted_by": a.adopted_by,
        "adopted_at": a.adopted_at,
        "grids": a.grids,
        "source": a.layer,
    })
}

/// `POST /api/v1/datasets/{dataset}/adoptions`
#[utoipa::path(post, path = "/api/v1/datasets/{dataset}/adoptions", tag = "Datasets", operation_id = "adopt",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    request_body(content = AdoptBody, description = "optional: the proposal to adopt", content_type = "application/json"),
    responses(
        (status = 201, description = "adopted: the version, who and when, the number of grids", body = Object),
        (status = 400, description = "a malformed body"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "not a planner, or the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset or layer"),
        (status = 409, description = "the layer is not a grids proposal"),
        (status = 415, description = "a body that is not JSON")))]
pub async fn adopt(
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
    let body: AdoptBody = if body.iter().all(u8::is_ascii_whitespace) {
        AdoptBody {
            layer: default_layer(),
        }
    } else {
        check_json_content_type(&req)?;
        serde_json::from_slice(&body)
            .map_err(|e| ServiceError::BadRequest(format!("the adoption body is invalid: {e}")))?
    };
    let source = body.layer;
    if source == ADOPTED_LAYER {
        return Err(ServiceError::Conflict(format!(
            "layer {ADOPTED_LAYER:?} is the adopted grids themselves: adopt a proposal (\"grids\")"
        )));
    }
    let by = match caller.role {
        super::Role::Planner => "planner",
        super::Role::Viewer => "viewer",
    };
    let st = state.clone();
    let ds = dataset.clone();
    let (adoption, meta) = web::block(move || -> Result<_, ServiceError> {
        let layers = st.store.layers(Some(&ds))?;
        if layers.is_empty() {
            return Err(ServiceError::NotFound(format!("no dataset {ds:?}")));
        }
        match layers.iter().find(|m| m.layer == source) {
            None => {
                return Err(ServiceError::Conflict(format!(
                    "dataset {ds:?} has no layer {source:?} to adopt: run a partition first"
                )))
            }
            Some(m) if m.kind != "grids" => {
                return Err(ServiceError::Conflict(format!(
                    "layer {source:?} holds {}, not grids: only grids can be adopted",
                    m.kind
                )))
            }
            Some(_) => {}
        }
        st.store.adopt(&ds, &source, by)?.ok_or_else(|| {
            ServiceError::Conflict(format!("layer {source:?} was removed meanwhile"))
        })
    })
    .await??;
    state.cache.forget(&dataset, Some(ADOPTED_LAYER));
    tracing::info!(%dataset, version = adoption.version, grids = adoption.grids, "grids adopted");
    let base = base_url(&req, &state);
    let mut doc = adoption_json(&adoption);
    doc["layer"] = json!(ADOPTED_LAYER);
    doc["collection"] = json!(format!("{dataset}.{ADOPTED_LAYER}"));
    doc["links"] = json!([
        {"rel": "items", "type": "application/geo+json",
         "href": format!("{base}/collections/{dataset}.{ADOPTED_LAYER}/items")},
        {"rel": "collection", "type": "application/json",
         "href": format!("{base}/api/v1/datasets/{dataset}/adoptions")},
    ]);
    debug_assert_eq!(meta.features, adoption.grids);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{base}/api/v1/datasets/{dataset}/adoptions"),
        ))
        .json(doc))
}

/// `GET /api/v1/datasets/{dataset}/adoptions`
#[utoipa::path(get, path = "/api/v1/datasets/{dataset}/adoptions", tag = "Datasets", operation_id = "adoptions",
    params(("dataset" = DatasetName, Path, description = "the dataset")),
    responses(
        (status = 200, description = "the adoptions, oldest first, and the current version", body = Object),
        (status = 400, description = "a bad parameter"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the dataset is outside this caller's scope"),
        (status = 404, description = "no such dataset")))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let dataset = path.into_inner();
    caller.require_dataset(&dataset)?;
    no_query(&req)?;
    let st = state.clone();
    let ds = dataset.clone();
    let (adoptions, exists) = web::block(move || -> Result<_, ServiceError> {
        let exists = !st.store.layers(Some(&ds))?.is_empty();
        Ok((st.store.adoptions(&ds)?, exists))
    })
    .await??;
    if !exists {
        return Err(ServiceError::NotFound(format!("no dataset {dataset:?}")));
    }
    let doc = json!({
        "dataset": dataset,
        "adoptions": adoptions.iter().map(adoption_json).collect::<Vec<_>>(),
        "current": adoptions.last().map(|a| a.version),
    });
    Ok(super::conditional::json(&req, &doc, None))
}
