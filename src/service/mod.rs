//! The HTTP service (actix-web): health, datasets and their layers.
//!
//! Errors from every module are mapped to HTTP status here and only here, as
//! `application/problem+json` (RFC 9457).

use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use serde_json::json;

use crate::store::{Store, StoreError};

/// Why a request failed, with the HTTP status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the server: {0}")]
    Io(#[from] std::io::Error),
}

impl ResponseError for ServiceError {
    fn status_code(&self) -> StatusCode {
        match self {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Store(_) | ServiceError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "server fault");
        }
        HttpResponse::build(status)
            .content_type("application/problem+json")
            .json(json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": self.to_string(),
            }))
    }
}

/// What every request handler shares.
pub struct State {
    store: Store,
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn datasets(state: web::Data<Arc<State>>) -> Result<HttpResponse, ServiceError> {
    Ok(HttpResponse::Ok().json(json!({ "layers": state.store.list()? })))
}

async fn layer(
    state: web::Data<Arc<State>>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    let (dataset, layer) = path.into_inner();
    match state.store.layer_geojson(&dataset, &layer)? {
        Some(body) => Ok(HttpResponse::Ok()
            .content_type("application/geo+json")
            .body(body)),
        None => Err(ServiceError::NotFound(format!(
            "no layer {layer:?} in dataset {dataset:?}"
        ))),
    }
}

/// The routes; the store is expected as `web::Data<Arc<State>>` app data.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/api/v1/datasets", web::get().to(datasets))
        .route(
            "/api/v1/datasets/{dataset}/layers/{layer}",
            web::get().to(layer),
        );
}

/// Shared state of the running service.
pub fn state(store: Store) -> web::Data<Arc<State>> {
    web::Data::new(Arc::new(State { store }))
}

/// Runs the server until it is stopped.
pub fn run(listen: &str, data_dir: &Path) -> Result<(), ServiceError> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    let store = Store::open(data_dir)?;
    let state = state(store);
    tracing::info!(%listen, data_dir = %data_dir.display(), "wangge serving");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
            .bind(listen)?
            .run()
            .await
    })?;
    Ok(())
}
