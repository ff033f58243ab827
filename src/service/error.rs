//! Every error the service can answer with, and the one place they become HTTP
//! statuses: `application/problem+json` (RFC 9457) bodies, 4xx for anything the
//! client sent wrong, 5xx only for a genuine server fault (and then logged).

use actix_web::body::BoxBody;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::layers::LayerError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A malformed request: bad JSON, bad parameter, invalid rules.
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter the endpoint does not know.
    #[error("unknown query parameter {0:?}")]
    UnknownParameter(String),
    /// The uploaded layer could not be read as a whole.
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (a job already finished, a
    /// layer a job needs is missing).
    #[error("{0}")]
    Conflict(String),
    /// A well-formed request whose content cannot be used: values that
    /// contradict one another, features none of which can be read, a CRS
    /// PROJ does not know (what a schema cannot rule out).
    #[error("{0}")]
    Unprocessable(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("unsupported media type: {0}; send application/geo+json or application/json")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A method the resource does not have; `allow` lists those it has.
    #[error("{detail}")]
    MethodNotAllowed { allow: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A job whose estimated size is over the server's budget.
    #[error(transparent)]
    OverBudget(#[from] crate::bounds::OverBudget),
    /// A bug or an environment fault (thread pool gone, I/O).
    #[error("internal error: {0}")]
    Internal(String),
    /// The server cannot start as configured (never an HTTP answer).
    #[error("{0}")]
    Startup(String),
}

impl ServiceError {
    /// A short machine-readable name, used as the problem `type` suffix.
    fn slug(&self) -> &'static str {
        match self {
            ServiceError::BadRequest(_) => "bad-request",
            ServiceError::UnknownParameter(_) => "unknown-parameter",
            ServiceError::Layer(e) if layer_unprocessable(e) => "unprocessable-layer",
            ServiceError::Layer(_) => "invalid-layer",
            ServiceError::NotFound(_) => "not-found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Unprocessable(_) => "unprocessable",
            ServiceError::TooLarge { .. } => "payload-too-large",
            ServiceError::UnsupportedMediaType(_) => "unsupported-media-type",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::MethodNotAllowed { .. } => "method-not-allowed",
            ServiceError::OverBudget(_) => "job-too-big",
            ServiceError::Store(StoreError::Unavailable(_)) => "unavailable",
            ServiceError::Store(_) => "storage",
            ServiceError::Internal(_) | ServiceError::Startup(_) => "internal",
        }
    }
}

/// A layer that is a well-formed FeatureCollection but cannot be used: no
/// feature could be accepted (or, strict, one was rejected), or its CRS is
/// one PROJ does not know or cannot convert. Malformed text (not UTF-8, not JSON, not a
/// FeatureCollection, no features) is a bad request.
fn layer_unprocessable(e: &LayerError) -> bool {
    match e {
        LayerError::NothingAccepted { .. } | LayerError::Strict { .. } => true,
        // A Shapefile, GeoPackage or spreadsheet that cannot be read as one:
        // nothing a schema of its bytes could have ruled out.
        LayerError::Format(_) => true,
        // A CRS name that cannot be read is malformed; one that names a
        // system PROJ does not know or cannot convert is unusable.
        LayerError::Crs(c) => !matches!(c, crate::crs::CrsError::UnknownName { .. }),
        _ => false,
    }
}

impl From<actix_web::error::BlockingError> for ServiceError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ServiceError::Internal(format!("worker pool: {e}"))
    }
}

/// The challenge of a 401: the token as a Bearer token, or as the password of
/// HTTP Basic authentication.
pub const WWW_AUTHENTICATE: &str =
    "Basic realm=\"wangge\", charset=\"UTF-8\", Bearer realm=\"wangge\"";

/// A problem+json response for any status.
pub fn problem(status: StatusCode, slug: &str, detail: &str) -> HttpResponse<BoxBody> {
    let mut b = HttpResponse::build(status);
    b.content_type("application/problem+json");
    if status == StatusCode::UNAUTHORIZED {
        // Both schemes in one header, Basic first: clients that read only the
        // first challenge (Qt, hence QGIS) then offer their Basic login.
        b.insert_header((header::WWW_AUTHENTICATE, WWW_AUTHENTICATE));
    }
    b.body(
        json!({
            "type": format!("https://wangge.invalid/problems/{slug}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        })
        .to_string(),
    )
}

impl ResponseError for ServiceError {
    fn status_code(&self) -> StatusCode {
        match self {
            ServiceError::Layer(e) if layer_unprocessable(e) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::BadRequest(_)
            | ServiceError::UnknownParameter(_)
            | ServiceError::Layer(_) => StatusCode::BAD_REQUEST,
            ServiceError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ServiceError::OverBudget(_) => StatusCode::UNPROCESSABLE_ENTITY,
            // The database is down or restarting: the client may retry.
            ServiceError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::Startup(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "server fault");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "client error");
        }
        if let ServiceError::OverBudget(e) = self {
            return over_budget(status, self.slug(), e);
        }
        let mut res = problem(status, self.slug(), &self.to_string());
        if let ServiceError::MethodNotAllowed { allow, .. } = self {
            res.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        res
    }
}

/// A job refused for its size: the problem names the measure, the estimate
/// and the budget as members a client can read.
fn over_budget(
    status: StatusCode,
    slug: &str,
    e: &crate::bounds::OverBudget,
) -> HttpResponse<BoxBody> {
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(
            json!({
                "type": format!("https://wangge.invalid/problems/{slug}"),
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": e.to_string(),
                "measure": e.measure,
                "estimate": e.estimate,
                "budget": e.budget,
            })
            .to_string(),
        )
}

/// Maps errors raised by actix itself (extractors, routing, payload limits) to
/// the statuses the service promises: a problem with the body is the client's.
pub fn from_actix(e: &actix_web::Error, limit: usize) -> ServiceError {
    use actix_web::error::PayloadError;
    if let Some(p) = e.as_error::<PayloadError>() {
        return match p {
            PayloadError::Overflow => ServiceError::TooLarge { limit },
            other => ServiceError::BadRequest(format!("cannot read the request body: {other}")),
        };
    }
    let status = e.as_response_error().status_code();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ServiceError::TooLarge { limit };
    }
    if status.is_server_error() {
        ServiceError::Internal(e.to_string())
    } else {
        ServiceError::BadRequest(e.to_string())
    }
}
