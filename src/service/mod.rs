//! The HTTP service (actix-web): datasets and layers, jobs, OGC API – Features
//! collections, the OpenAPI document, bearer-token roles.
//!
//! - [`error`]: every error as `application/problem+json`; the one place errors
//!   map to HTTP statuses.
//! - [`datasets`]: upload (validated as the command line validates), list, fetch,
//!   delete; job submission.
//! - [`jobs`]: the job manager and its worker pool (separate from the HTTP
//!   workers), progress, cancellation, restart recovery.
//! - [`ogc`]: OGC API – Features Part 1 served from in-memory collections with an
//!   R-tree ([`features`]); [`ogc_crs`]: Part 2, items in other CRSs.
//! - [`openapi`]: the self-contained OpenAPI 3.0 document at `/api`, generated
//!   from the handlers' annotations and the request and response types.
//! - [`queryables`]: each collection's properties as JSON Schema (OGC API –
//!   Features Part 3).
//! - [`page`]: the planner's web page (`/` for browsers, `/ui/`), offline.
//! - [`auth`]: tokens, Bearer and Basic authentication.
//! - [`access`]: the access policy: layer classes, roles, dataset scopes.
//! - [`adopt`]: adopted grids, versioned (who and when); [`adjust`]: moving
//!   a cell between neighbouring grids.
//! - [`tiles`]: OGC API – Tiles, Mapbox Vector Tiles of every collection.
//! - [`replicas`]: cached collections checked against the store's layer
//!   versions when other processes (replicas) write it too.
//! - [`conditional`]: strong ETags, Last-Modified and 304 answers;
//!   [`stream`]: layer and page bodies written while they are sent.
//!
//! Every GET route also answers HEAD (the middleware routes it as GET and
//! sends the headers only), and responses are compressed when the client
//! accepts it (`Accept-Encoding`: gzip, deflate, br, zstd).
//!
//! Storage is behind [`crate::store::Store`].

pub mod access;
pub mod adjust;
pub mod adopt;
pub mod auth;
pub mod conditional;
pub mod datasets;
pub mod engines;
pub mod error;
pub mod estimate;
pub mod features;
pub mod geomtype;
pub mod jobs;
pub mod ogc;
pub mod ogc_crs;
pub mod openapi;
pub mod page;
pub mod queryables;
pub mod replicas;
pub mod stream;
pub mod tiles;
pub mod upload_format;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Compress, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;
use tracing::Instrument;

pub use auth::{Role, Tokens};
pub use error::ServiceError;

use crate::layers::LayerKind;
use crate::store::Store;
use features::Cache;
use jobs::{Engine, JobKind, Jobs};
#[allow(unused_imports)] // named by the API description of `health`
use openapi::types::Health;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// Where the SQLite store lives (unless [`Config::store`] names another).
    pub data_dir: PathBuf,
    /// A `postgresql://` URL: the PostgreSQL/PostGIS store that replicas
    /// share, instead of SQLite in [`Config::data_dir`].
    pub store: Option<String>,
    /// On a shared store: how long a process may stay silent about its jobs
    /// before another declares them failed.
    pub job_lease: Duration,
    /// Load `DIR/<layer>.geojson` into [`Config::load_dataset`] at start-up when
    /// that dataset is not stored yet, then compute its grids and coverage.
    pub load: Option<PathBuf>,
    pub load_dataset: String,
    pub tokens: Tokens,
    /// Base of the absolute links (`https://example.org/wangge`), for use behind
    /// a proxy; by default the scheme and `Host` of each request.
    pub public_url: Option<String>,
    /// Largest accepted request body (after decompression), bytes.
    pub max_body_bytes: usize,
    /// Largest `limit` an items request gets.
    pub max_items: usize,
    /// HTTP worker threads (default: one per core).
    pub http_workers: Option<usize>,
    /// Jobs this process runs at once (job threads, or queue workers on a
    /// store with a queue); 0 on a queue: this process only queues jobs
    /// (`serve --no-worker`).
    pub job_workers: usize,
    /// Origins allowed by CORS (`*` for any); none: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Test aid: every job waits this long (cancellably) before computing.
    pub job_delay: Duration,
    /// Memory for collections served from memory, bytes (least recently used
    /// ones are dropped beyond it and reloaded from the store on demand).
    pub cache_bytes: usize,
    /// Finished jobs older than this are removed from the job list (their
    /// result layers stay); `None` keeps them forever.
    pub job_max_age: Option<Duration>,
    /// The largest job accepted: a job whose estimated size is over it is
    /// refused before it is queued ([`crate::bounds`]).
    pub job_budget: crate::bounds::Budget,
    /// A base map for the planner page (none: a plain background).
    pub basemap: Option<page::Basemap>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: "wangge-data".into(),
            store: None,
            job_lease: Duration::from_secs(30),
            load: None,
            load_dataset: "demo".into(),
            tokens: Tokens::default(),
            public_url: None,
            max_body_bytes: 512 << 20,
            max_items: 10_000,
            http_workers: None,
            job_workers: 1,
            cors_origins: Vec::new(),
            job_delay: Duration::ZERO,
            cache_bytes: 4 << 30,
            job_max_age: Some(Duration::from_secs(30 * 86_400)),
            job_budget: crate::bounds::Budget::SERVICE,
            basemap: None,
        }
    }
}

/// What every request handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cache: Arc<Cache>,
    pub jobs: Arc<Jobs>,
    pub tokens: Tokens,
    pub config: Config,
}

/// Builds the shared state over a store, starting the job workers (and
/// failing jobs a previous process left unfinished).
pub fn state_with(
    config: Config,
    store: Arc<dyn Store>,
    engine: Arc<dyn Engine>,
) -> Result<web::Data<AppState>, ServiceError> {
    let cache = Arc::new(Cache::with_budget(config.cache_bytes));
    let jobs = Jobs::start(
        store.clone(),
        cache.clone(),
        engine,
        config.job_workers,
        config.job_delay,
    )
    .map_err(|e| ServiceError::Startup(format!("cannot start the job workers: {e}")))?;
    if let Some(age) = config.job_max_age {
        jobs.prune_older_than(age)
            .map_err(|e| ServiceError::Startup(format!("cannot start pruning old jobs: {e}")))?;
    }
    Ok(web::Data::new(AppState {
        store,
        cache,
        jobs,
        tokens: config.tokens.clone(),
        config,
    }))
}

/// The state over the configured store (PostgreSQL at `config.store`, else
/// SQLite in `config.data_dir`) and the built-in engines.
pub fn state(config: Config) -> Result<web::Data<AppState>, ServiceError> {
    let store = crate::store::open(config.store.as_deref(), &config.data_dir, config.job_lease)?;
    state_with(config, store, Arc::new(engines::Builtin))
}

/// The base of absolute links for a request.
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let ci = req.connection_info();
            format!("{}://{}", ci.scheme(), ci.host())
        }
    }
}

/// The query string as decoded pairs, in order.
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ServiceError> {
    parse_query(req.query_string())
}

/// Refuses any query parameter: for endpoints that take none.
pub(crate) fn no_query(req: &HttpRequest) -> Result<(), ServiceError> {
    match query_pairs(req)?.into_iter().next() {
        Some((k, _)) => Err(ServiceError::UnknownParameter(k)),
        None => Ok(()),
    }
}

/// Decodes a raw query string (the part after `?`) into pairs, in order. Pure,
/// so the fuzz target `query` can reach it without a server.
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, ServiceError> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    web::Query::<Vec<(String, String)>>::from_query(q)
        .map(web::Query::into_inner)
        .map_err(|e| ServiceError::BadRequest(format!("malformed query string: {e}")))
}

/// Liveness, and the jobs this process is working on (needs no token).
#[utoipa::path(get, path = "/health", tag = "Capabilities", operation_id = "health",
    security(()),
    responses((status = 200, description = "the service is up", body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (queued, running) = state.jobs.counts();
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "jobs": {"queued": queued, "running": running},
    }))
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

fn request_id(req: &ServiceRequest) -> String {
    if let Some(v) = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
    {
        if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
            return v.to_string();
        }
    }
    format!(
        "{:x}-{:x}",
        std::process::id(),
        REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn cors_origin(state: Option<&web::Data<AppState>>, req: &ServiceRequest) -> Option<HeaderValue> {
    let allowed = &state?.config.cors_origins;
    if allowed.is_empty() {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    if allowed.iter().any(|a| a == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    let o = origin.to_str().ok()?;
    allowed.iter().any(|a| a == o).then(|| origin.clone())
}

fn slug_for(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        404 => ("not-found", "no such resource"),
        405 => (
            "method-not-allowed",
            "this method is not allowed on this resource",
        ),
        406 => (
            "not-acceptable",
            "no content coding the request accepts is available",
        ),
        413 => ("payload-too-large", "the request body is too large"),
        415 => ("unsupported-media-type", "unsupported content type"),
        s if s >= 500 => ("internal", "internal error"),
        _ => ("bad-request", "the request is malformed"),
    }
}

/// The body of an answer to HEAD: nothing, but the size the GET body has, so
/// `Content-Length` (or chunked transfer) is what a GET would get.
struct HeadBody(BodySize);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;
    fn size(&self) -> BodySize {
        self.0
    }
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<web::Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

/// Request ids, structured request logs, CORS, HEAD as GET without a body,
/// per-coding ETags, and problem+json for errors that actix raises itself
/// (unknown routes, wrong methods, extractor failures).
async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let rid = request_id(&req);
    let method = req.method().clone();
    // HEAD is GET without the body (RFC 9110 §9.3.2): route it as GET, so every
    // GET resource answers it with the same status and headers.
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let path = req.path().to_string();
    let cors = cors_origin(state.as_ref(), &req);
    let start = Instant::now();

    let mut res = if method == Method::OPTIONS
        && cors.is_some()
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let resp = HttpResponse::NoContent()
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, HEAD, PUT, POST, DELETE, OPTIONS",
            ))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, Content-Encoding, X-Request-Id",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "3600"))
            .finish();
        req.into_response(resp)
    } else {
        let span = tracing::info_span!("request", id = %rid);
        // Handlers turn their errors into responses; an Err here comes from
        // actix itself and is answered by actix.
        next.call(req).instrument(span).await?.map_into_boxed_body()
    };

    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        let is_problem = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/problem+json"));
        if !is_problem {
            let (slug, detail) = slug_for(status);
            let allow = res.headers().get(header::ALLOW).cloned().map(|a| {
                // Wherever GET is allowed, HEAD is too.
                match a.to_str() {
                    Ok(s) if s.split(',').any(|m| m.trim() == "GET") => {
                        HeaderValue::from_str(&format!("{s}, HEAD")).unwrap_or(a)
                    }
                    _ => a,
                }
            });
            let mut p = error::problem(status, slug, detail);
            if let Some(a) = allow {
                p.headers_mut().insert(header::ALLOW, a);
            }
            res = res.into_response(p);
        }
    }
    if method == Method::HEAD {
        let size = res.response().body().size();
        res = res.map_body(|_, _| HeadBody(size).boxed());
    }
    let headers = res.headers_mut();
    // A compressed body is another representation: another strong tag.
    if let (Some(tag), Some(coding)) = (
        headers.get(header::ETAG),
        headers.get(header::CONTENT_ENCODING),
    ) {
        if let Some(t) = conditional::coded_tag(tag, coding) {
            headers.insert(header::ETAG, t);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(o) = cors {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Location, X-Request-Id, ETag, Wangge-Thinned"),
        );
        // Appended: the compression middleware may have set Vary already.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    // Every write and every failure at info; successful reads (the hot path of
    // map clients) at debug, so a busy tile-like load does not drown the log.
    if status.is_server_error() {
        tracing::error!(request_id = %rid, %method, %path, status = status.as_u16(), ms, "request");
    } else if status.is_success() && (method == Method::GET || method == Method::HEAD) {
        tracing::debug!(request_id = %rid, %method, %path, status = status.as_u16(), ms, "request");
    } else {
        tracing::info!(request_id = %rid, %method, %path, status = status.as_u16(), ms, "request");
    }
    Ok(res)
}

/// The routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let ds = "/api/v1/datasets/{dataset}";
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/").route(web::get().to(page::root)))
        .service(web::resource("/ui/session").route(web::get().to(page::session)))
        .service(web::resource("/ui/{path:.*}").route(web::get().to(page::asset)))
        .service(web::resource("/conformance").route(web::get().to(ogc::conformance)))
        .service(web::resource("/crs/{name}").route(web::get().to(ogc_crs::own_crs)))
        .service(web::resource("/api").route(web::get().to(openapi::api)))
        .service(web::resource("/collections").route(web::get().to(ogc::collections)))
        .service(web::resource("/collections/{id}").route(web::get().to(ogc::collection)))
        .service(
            web::resource("/collections/{id}/queryables")
                .route(web::get().to(queryables::queryables)),
        )
        .service(web::resource("/collections/{id}/items").route(web::get().to(ogc::items)))
        .service(web::resource("/collections/{id}/items/{fid}").route(web::get().to(ogc::item)))
        .service(web::resource("/collections/{id}/tiles").route(web::get().to(tiles::tilesets)))
        .service(
            web::resource("/collections/{id}/tiles/{tms}").route(web::get().to(tiles::tileset)),
        )
        .service(
            web::resource("/collections/{id}/tiles/{tms}/{z}/{y}/{x}")
                .route(web::get().to(tiles::tile)),
        )
        .service(web::resource("/api/v1/datasets").route(web::get().to(datasets::list)))
        .service(
            web::resource(ds)
                .route(web::get().to(datasets::get))
                .route(web::delete().to(datasets::delete)),
        )
        // The uploadable layers take PUT; the others (results) answer it 405.
        .service(
            web::resource(format!(
                "{ds}/layers/{{layer:(areas|households|cameras|buildings|barriers|sites|candidates|grids)}}"
            ))
            .route(web::get().to(datasets::get_layer))
            .route(web::put().to(datasets::put_layer))
            .route(web::delete().to(datasets::delete_layer)),
        )
        .service(
            web::resource(format!("{ds}/layers/{{layer}}"))
                .route(web::get().to(datasets::get_layer))
                .route(web::delete().to(datasets::delete_layer)),
        )
        .service(
            web::resource(format!("{ds}/layers/{{layer}}/report"))
                .route(web::get().to(datasets::layer_report)),
        )
        .service(
            web::resource(format!("{ds}/partition")).route(web::post().to(datasets::partition)),
        )
        .service(web::resource(format!("{ds}/coverage")).route(web::post().to(datasets::coverage)))
        .service(web::resource(format!("{ds}/propose")).route(web::post().to(datasets::propose)))
        .service(
            web::resource(format!("{ds}/grids/move")).route(web::post().to(adjust::move_grid_cell)),
        )
        .service(
            web::resource(format!("{ds}/adoptions"))
                .route(web::get().to(adopt::list))
                .route(web::post().to(adopt::adopt)),
        )
        .service(web::resource("/api/v1/jobs").route(web::get().to(jobs::http::list)))
        .service(
            web::resource("/api/v1/jobs/{id}")
                .route(web::get().to(jobs::http::get))
                .route(web::delete().to(jobs::http::cancel)),
        )
        .service(
            web::resource("/api/v1/jobs/{id}/cancel")
                .route(web::post().to(jobs::http::cancel_post)),
        );
}

/// The application: state, body limit, middleware and routes.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(limit))
        // Inside the middleware, which sees the coding it chose.
        .wrap(Compress::default())
        .wrap(from_fn(middleware))
        .configure(routes)
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ServiceError::NotFound("no such resource".into()))
        }))
}

/// Loads `DIR/<layer>.geojson` for every layer kind present into `dataset`,
/// unless the dataset already has layers; then starts the partition and
/// coverage jobs whose results the dataset lacks (so a server killed while
/// computing them computes them again on its next start). Returns the number of
/// layers loaded.
pub fn load_dir(state: &AppState, dir: &Path, dataset: &str) -> Result<usize, String> {
    datasets::check_dataset_name(dataset).map_err(|e| e.to_string())?;
    let err = |e: crate::store::StoreError| e.to_string();
    let mut loaded = 0;
    if !state.store.layers(Some(dataset)).map_err(err)?.is_empty() {
        tracing::info!(%dataset, "dataset already stored; not loading {}", dir.display());
    } else {
        if !dir.is_dir() {
            return Err(format!("--load {}: not a directory", dir.display()));
        }
        for kind in LayerKind::ALL {
            let path = dir.join(format!("{}.geojson", kind.as_str()));
            if !path.exists() {
                continue;
            }
            let text = crate::layers::read_text(&path).map_err(|e| e.to_string())?;
            let (layer, report) = crate::layers::read_layer(kind, &text, &Default::default())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let feats = features::layer_to_stored(&layer).map_err(|e| e.to_string())?;
            let report_json = serde_json::to_value(&report).unwrap_or_default();
            let meta = state
                .store
                .put_layer(
                    dataset,
                    kind.as_str(),
                    kind.as_str(),
                    crate::store::LayerSource::Upload,
                    &report_json,
                    &feats,
                )
                .map_err(err)?;
            state.cache.put(features::FeatureSet::new(meta, feats));
            tracing::info!(%dataset, layer = kind.as_str(), "{}", report.summary());
            loaded += 1;
        }
    }
    let names: Vec<String> = state
        .store
        .layers(Some(dataset))
        .map_err(err)?
        .into_iter()
        .map(|m| m.layer)
        .collect();
    let jobs = state.jobs.list(Some(dataset)).map_err(err)?;
    for (job, result) in [
        (JobKind::Partition, "grids"),
        (JobKind::Coverage, "coverage_households"),
    ] {
        let inputs = job
            .required_layers()
            .iter()
            .all(|k| names.iter().any(|n| n == k.as_str()));
        let pending = jobs
            .iter()
            .any(|j| j.kind == job.as_str() && !j.state.is_final());
        if inputs && !pending && !names.iter().any(|n| n == result) {
            let params = match job {
                JobKind::Coverage => json!({}),
                _ => serde_json::Value::Null,
            };
            state.jobs.submit(dataset, job, params).map_err(err)?;
        }
    }
    Ok(loaded)
}

/// Sets up logging to stderr, one line per event with its fields, and one
/// per closed span with its duration (the engines' phases are `debug`
/// spans); `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// `wangge worker`: runs jobs from the store's queue without HTTP, until
/// the process is stopped. Needs a store with a queue (PostgreSQL).
pub fn run_worker(config: Config) -> Result<(), ServiceError> {
    init_logging();
    let store = crate::store::open(config.store.as_deref(), &config.data_dir, config.job_lease)?;
    if store.queue().is_none() {
        return Err(ServiceError::Startup(
            "a worker takes jobs from a shared queue: give --store postgresql://… (the SQLite \
             store runs jobs inside `wangge serve`)"
                .into(),
        ));
    }
    let workers = config.job_workers;
    let _state = state_with(config, store, Arc::new(engines::Builtin))?;
    tracing::info!(concurrency = workers, "wangge worker running");
    loop {
        std::thread::park();
    }
}

/// Runs the server until it is stopped.
pub fn run(config: Config) -> Result<(), ServiceError> {
    init_logging();
    if config.store.is_none() && config.job_workers == 0 {
        return Err(ServiceError::Startup(
            "--no-worker needs --store postgresql://…: with the SQLite store, jobs run only \
             inside `wangge serve`"
                .into(),
        ));
    }
    if config.tokens.is_empty() && !auth::is_loopback(&config.listen) {
        return Err(ServiceError::Startup(format!(
            "no tokens are configured, so the server only listens on loopback (127.0.0.1 or [::1]), not {}; configure tokens with --tokens FILE or WANGGE_TOKENS",
            config.listen
        )));
    }
    let listen = config.listen.clone();
    let workers = config.http_workers;
    let load = config.load.clone();
    let load_dataset = config.load_dataset.clone();
    let store_name = match &config.store {
        Some(url) => crate::store::redact(url),
        None => config.data_dir.display().to_string(),
    };
    let state = state(config)?;
    if let Some(dir) = load {
        let n = load_dir(&state, &dir, &load_dataset).map_err(ServiceError::Startup)?;
        if n > 0 {
            tracing::info!(dataset = %load_dataset, layers = n, "loaded {}", dir.display());
        }
    }
    tracing::info!(%listen, store = %store_name, "wangge serving");
    let addr = listen.clone();
    actix_web::rt::System::new()
        .block_on(async move {
            let mut server = HttpServer::new(move || app(state.clone()));
            if let Some(w) = workers {
                server = server.workers(w.max(1));
            }
            server.bind(&addr)?.run().await
        })
        .map_err(|e| ServiceError::Startup(format!("cannot serve on {listen}: {e}")))?;
    Ok(())
}
