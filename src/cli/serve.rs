//! `wangge serve`: the HTTP service with its store, tokens and limits.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Without tokens only loopback addresses are allowed.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the store (SQLite) lives.
    #[arg(long, default_value = "wangge-data")]
    data_dir: PathBuf,
    /// Keep everything in PostgreSQL with PostGIS instead of SQLite:
    /// postgresql://USER:PASSWORD@HOST:PORT/DATABASE (also postgres://). Any
    /// number of `serve` processes on one database answer alike.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// With --store: seconds a process may stay silent about its jobs (it
    /// reports every half second) before another takes them over from the
    /// queue (or declares them failed when the queue gave up on them).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    job_lease_s: f64,
    /// Load DIR/<layer>.geojson (areas, households, cameras, …) into a dataset at
    /// start-up when it is not stored yet, then compute its grids and coverage.
    #[arg(long, value_name = "DIR")]
    load: Option<PathBuf>,
    /// The dataset --load fills.
    #[arg(long, default_value = "demo")]
    load_dataset: String,
    /// Tokens: one `TOKEN ROLE [DATASET,…]` per line (roles planner, viewer; the
    /// optional datasets limit the token to them); the file must not be open to
    /// others (chmod 600). Also read from WANGGE_TOKENS=token:role[:ds+ds],….
    /// Sent as `Authorization: Bearer TOKEN` or as the password of HTTP Basic.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Base URL of absolute links when behind a proxy (e.g. https://gis.example.org/wangge).
    #[arg(long)]
    public_url: Option<String>,
    /// Largest accepted upload, in MiB (after gzip decompression).
    #[arg(long, default_value_t = 512)]
    max_body_mb: usize,
    /// Largest page an items request returns.
    #[arg(long, default_value_t = 10_000)]
    max_items: usize,
    /// HTTP worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Jobs run at once (jobs use every core through rayon themselves).
    #[arg(long, default_value_t = 1)]
    job_workers: usize,
    /// With --store: run no jobs here, only queue them for `wangge worker`
    /// processes (and other replicas) to take.
    #[arg(long)]
    no_worker: bool,
    /// Allowed CORS origins (repeatable; `*` for any).
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Memory for collections served from memory, MiB; the least recently used
    /// are dropped beyond it and reloaded from the store when asked for.
    #[arg(long, default_value_t = 4096)]
    cache_mb: usize,
    /// Days a finished job stays in the job list (its result layers stay
    /// regardless); 0 keeps jobs forever. Fractions allowed (0.5 = 12 hours).
    #[arg(long, default_value_t = 30.0, value_name = "DAYS")]
    job_max_age_days: f64,
    /// Refuse (422) a job estimated to build or walk more H3 cells than this.
    #[arg(long, default_value_t = wangge::bounds::Budget::SERVICE.cells)]
    max_job_cells: f64,
    /// Refuse (422) a job estimated to test more camera × household pairs than this.
    #[arg(long, default_value_t = wangge::bounds::Budget::SERVICE.pairs)]
    max_job_pairs: f64,
    /// A raster base map for the planner page: a tile URL template with {z},
    /// {x} and {y} (repeat for each subdomain; MapLibre has no {s}). Also read
    /// from WANGGE_BASEMAP_URL (several separated by spaces). None by default:
    /// the page draws on a plain background and loads nothing from elsewhere.
    #[arg(long = "basemap-url", value_name = "TEMPLATE")]
    basemap_urls: Vec<String>,
    /// The CRS of the base map's tiles: GCJ02 (AMap, Tencent; the page then
    /// draws every layer moved into GCJ-02) or CRS84/EPSG:4490 (Tianditu).
    #[arg(long, default_value = "GCJ02")]
    basemap_crs: String,
    /// Attribution shown on the map for the base map (its provider's terms).
    #[arg(long, default_value = "")]
    basemap_attribution: String,
}

/// The base map: `--basemap-url`, else WANGGE_BASEMAP_URL; none without either.
fn basemap(a: &ServeArgs) -> Result<Option<wangge::service::page::Basemap>, String> {
    let mut urls = a.basemap_urls.clone();
    if urls.is_empty() {
        if let Ok(v) = std::env::var("WANGGE_BASEMAP_URL") {
            urls = v.split_whitespace().map(str::to_string).collect();
        }
    }
    if urls.is_empty() {
        return Ok(None);
    }
    wangge::service::page::Basemap::new(urls, &a.basemap_crs, a.basemap_attribution.clone())
        .map(Some)
}

/// `--job-max-age-days`: 0 keeps jobs forever.
fn job_max_age(days: f64) -> Result<Option<std::time::Duration>, String> {
    if days == 0.0 {
        return Ok(None);
    }
    std::time::Duration::try_from_secs_f64(days * 86_400.0)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| {
            format!("--job-max-age-days {days}: expected a positive number of days, or 0 for never")
        })
}

/// `--job-lease-s`: at least a second.
pub(crate) fn job_lease(seconds: f64) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d >= std::time::Duration::from_secs(1))
        .ok_or_else(|| format!("--job-lease-s {seconds}: expected at least 1 second"))
}

/// Test aid: WANGGE_JOB_DELAY_MS makes every job wait (cancellably) before
/// it computes.
pub(crate) fn job_delay() -> std::time::Duration {
    std::env::var("WANGGE_JOB_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
        .unwrap_or_default()
}

pub(crate) fn serve(a: ServeArgs) -> Result<(), String> {
    let env_tokens = std::env::var("WANGGE_TOKENS").ok();
    let tokens = wangge::service::Tokens::load(a.tokens.as_deref(), env_tokens.as_deref())?;
    let job_delay = job_delay();
    let basemap = basemap(&a)?;
    let config = wangge::service::Config {
        listen: a.listen,
        data_dir: a.data_dir,
        store: a.store,
        job_lease: job_lease(a.job_lease_s)?,
        load: a.load,
        load_dataset: a.load_dataset,
        tokens,
        public_url: a.public_url,
        max_body_bytes: a.max_body_mb.saturating_mul(1 << 20),
        max_items: a.max_items.max(1),
        http_workers: a.workers,
        job_workers: if a.no_worker { 0 } else { a.job_workers.max(1) },
        cors_origins: a.cors_origins,
        job_delay,
        cache_bytes: a.cache_mb.saturating_mul(1 << 20),
        job_max_age: job_max_age(a.job_max_age_days)?,
        job_budget: wangge::bounds::Budget {
            cells: a.max_job_cells,
            pairs: a.max_job_pairs,
        },
        basemap,
    };
    wangge::service::run(config).map_err(|e| e.to_string())
}
