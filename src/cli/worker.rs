//! `wangge worker`: runs jobs from the PostgreSQL store's queue, without
//! HTTP. Any number of workers (and `serve` replicas without `--no-worker`)
//! on one database share the queue; a worker killed mid-job loses the job
//! to another within a bounded time (see `store::postgres::QueueTiming`).

use clap::Args;

use super::serve::{job_delay, job_lease};

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The PostgreSQL store whose queue to take jobs from:
    /// postgresql://USER:PASSWORD@HOST:PORT/DATABASE (also postgres://).
    #[arg(long, value_name = "URL")]
    store: String,
    /// Jobs this worker runs at once (jobs use every core through rayon themselves).
    #[arg(long, default_value_t = 1)]
    job_workers: usize,
    /// Seconds a worker may stay silent (no queue heartbeat) before another
    /// takes its jobs over; heartbeats go six times a lease.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    job_lease_s: f64,
    /// Memory for the layers this worker keeps after writing them, MiB.
    #[arg(long, default_value_t = 256)]
    cache_mb: usize,
}

pub(crate) fn worker(a: WorkerArgs) -> Result<(), String> {
    let config = wangge::service::Config {
        store: Some(a.store),
        job_lease: job_lease(a.job_lease_s)?,
        job_workers: a.job_workers.max(1),
        job_delay: job_delay(),
        cache_bytes: a.cache_mb.saturating_mul(1 << 20),
        ..Default::default()
    };
    wangge::service::run_worker(config).map_err(|e| e.to_string())
}
