//! The OpenAPI 3.0 document served at `/api`, generated from the handlers'
//! `#[utoipa::path]` annotations and the request and response types of
//! [`types`], then finished for the running server by [`finish`] (server URL,
//! security, HEAD beside every GET, problem bodies, the upload path of each
//! layer kind, links between operations). Self-contained: only local
//! `#/components/...` references.
//!
//! # Adding a route
//!
//! 1. Register it in [`super::routes`].
//! 2. Annotate the handler, next to it:
//!    ```text
//!    #[utoipa::path(get, path = "/collections/{collectionId}/things",
//!        tag = "Data", operation_id = "things",
//!        params(("collectionId" = CollectionId, Path), FormatQuery),
//!        responses(
//!            (status = 200, description = "the things", body = Things),
//!            (status = 304, description = "not modified"),   // if it sends ETags
//!            (status = 400, description = "a bad parameter"),
//!            (status = 401, description = "no valid token"),
//!            (status = 404, description = "no such collection")))]
//!    ```
//!    List every status the handler can answer: error responses need only a
//!    description ([`finish`] gives them the problem+json body), and a route
//!    that needs no token says `security(())`. Path templates use the names
//!    the document uses (`{collectionId}`, `{jobId}`), not actix's.
//! 3. Name the handler in `paths(...)` of [`ApiDoc`], and any new body type
//!    (derive [`utoipa::ToSchema`], or implement [`types::Described`] when its
//!    constraints come from constants) in `components(schemas(...))`.
//!
//! `tests/service_openapi.rs` fails when a route is missing from the
//! document, a documented path is not served, or the document does not
//! validate; the fuzzer (`tests/client_schemathesis.rs`) fails when a route
//! answers anything the document does not promise.

pub mod finish;
pub mod types;
pub mod upload;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use utoipa::OpenApi;

use super::error::ServiceError;
use super::{base_url, AppState};
use crate::store::{JobState, LayerSource};
use types::*;

/// The annotated routes and their types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "wangge",
        description = "Service grids (网格) and camera coverage: datasets, jobs and OGC API – Features collections."
    ),
    paths(
        super::ogc::landing,
        super::ogc::conformance,
        api,
        super::health,
        super::ogc::collections,
        super::ogc::collection,
        super::queryables::queryables,
        super::ogc::items,
        super::ogc::item,
        super::ogc_crs::own_crs,
        super::datasets::list,
        super::datasets::get,
        super::datasets::delete,
        super::datasets::get_layer,
        super::datasets::put_layer,
        super::datasets::delete_layer,
        super::datasets::layer_report,
        super::datasets::partition,
        super::datasets::coverage,
        super::datasets::propose,
        super::jobs::http::list,
        super::jobs::http::get,
        super::jobs::http::cancel,
        super::jobs::http::cancel_post,
        super::page::session,
        super::page::asset,
        super::tiles::tilesets,
        super::tiles::tileset,
        super::tiles::tile,
        super::adopt::adopt,
        super::adopt::list,
        super::adjust::move_grid_cell,
    ),
    components(schemas(
        Link, Landing, Conformance, Health, JobCounts, SpatialExtent, Extent, Collection,
        Collections, Problem, LayerInfo, Rejection, UploadReport, DatasetSummary, Datasets,
        JobRef, Dataset, JobResult, Jobs, JobStarted,
        JobState, LayerSource,
        DatasetName, LayerName, UploadLayerName, CollectionId, Bbox, CrsName, CrsUri, Format, Flag,
        Geometry, Feature, FeatureCollection, RulesDocument, Rules, CoverageOptions, ProposeOptions, Job,
        super::adopt::AdoptBody, super::adjust::MoveBody,
    )),
    tags(
        (name = "Capabilities", description = "what the service offers"),
        (name = "Data", description = "OGC API – Features collections"),
        (name = "Datasets", description = "datasets and their layers"),
        (name = "Jobs", description = "partition, coverage and proposal jobs"),
        (name = "Tiles", description = "OGC API – Tiles: vector tiles of every collection"),
    )
)]
pub struct ApiDoc;

/// The document for a server: its public base URL, items page maximum, and
/// whether it has tokens (then every route but the capabilities needs one).
pub fn document(base: &str, max_items: usize, tokens: bool) -> Value {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    finish::finish(
        doc,
        &finish::Server {
            base,
            max_items,
            tokens,
            max_jobs: super::jobs::http::MAX_LIMIT,
        },
    )
}

/// This API definition (OpenAPI 3.0).
#[utoipa::path(get, path = "/api", tag = "Capabilities", operation_id = "api",
    security(()),
    responses(
        (status = 200, description = "the OpenAPI document",
         content_type = "application/vnd.oai.openapi+json;version=3.0", body = Object)))]
pub async fn api(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ServiceError> {
    let base = base_url(&req, &state);
    let doc = document(&base, state.config.max_items, !state.tokens.is_empty());
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.oai.openapi+json;version=3.0")
        .body(doc.to_string()))
}
