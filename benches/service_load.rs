//! Load benchmark of `wangge serve` on loopback, bounded in time.
//!
//! 1. Writes a 10,000-grid collection (`bench.grids`, grid-like polygons of ~48
//!    vertices with the contract's grid properties) into a fresh data directory
//!    through the library's store, then starts the real `wangge serve` binary on it.
//! 2. Items pages of 100 features with a random bbox (each matching 100–200
//!    grids), from 32 keep-alive connections for `WANGGE_BENCH_SECS` (default
//!    10) seconds: requests per second and latency percentiles.
//! 3. Upload of 1,000,000 household points (`WANGGE_BENCH_POINTS`): time until
//!    the server acknowledges (validated, stored durably).
//!
//! Results are printed and written to `benches/SERVICE_RESULTS.md`.
//! Run: `cargo bench --bench service_load` (set `WANGGE_BIN` to pick a binary).

#[path = "support/grid_city.rs"]
mod grid_city;
#[path = "support/http.rs"]
mod http;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use grid_city::store_city_grids;
use http::{env_num, free_addr, loadavg, pct, request, Rng, Server};
use wangge::store::SqliteStore;

/// A random items page of the city (`grid_city::items_page_of`).
fn items_page(rng: &mut Rng) -> String {
    grid_city::items_page_of("bench.grids", rng)
}

fn load(addr: &str, conns: usize, secs: u64) -> (http::Stats, f64) {
    http::load(&[addr.to_string()], conns, secs, items_page)
}

/// Stores a households layer; (status, seconds until acknowledged).
fn upload(addr: &str, dataset: &str, body: &[u8]) -> (u16, f64) {
    let t = Instant::now();
    let (status, _) = request(
        addr,
        "PUT",
        &format!("/api/v1/datasets/{dataset}/layers/households"),
        body,
    )
    .expect("upload");
    (status, t.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let load_before = loadavg();
    let secs = env_num("WANGGE_BENCH_SECS", 10);
    let conns = env_num("WANGGE_BENCH_CONNS", 32) as usize;
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let dir = std::env::temp_dir().join(format!("wangge-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let avg = store_city_grids(&SqliteStore::open(&dir).expect("open store"), "bench");
    let server = Server::start(&dir, &free_addr(), "warn", &[]);
    let addr = server.addr.clone();
    println!("10,000 grids stored (average feature {avg} bytes); serving on {addr}");

    // Warm-up: loads the collection into memory.
    let _ = load(&addr, 4, 1);
    let (st, elapsed) = load(&addr, conns, secs);
    let n = st.latencies_us.len();
    let rps = n as f64 / elapsed;
    let (p50, p90, p99, max) = (
        pct(&st.latencies_us, 0.50),
        pct(&st.latencies_us, 0.90),
        pct(&st.latencies_us, 0.99),
        pct(&st.latencies_us, 1.0),
    );
    let mb_s = st.bytes as f64 / elapsed / 1e6;
    println!(
        "items, 100 per page, bbox, {conns} connections, {secs} s: {n} requests, {rps:.0} req/s, p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.2} ms, {} errors, {mb_s:.0} MB/s",
        st.errors
    );

    let body = http::households(points, 42, (118.0, 32.1, 0.6, 0.5));
    let mut ups = Vec::new();
    let mut status = 0;
    for k in 0..3 {
        // Let the previous upload's background indexing finish first.
        std::thread::sleep(Duration::from_secs(if k == 0 { 0 } else { 3 }));
        let (st, up_s) = upload(&addr, &format!("upload{k}"), body.as_bytes());
        println!(
            "upload of {points} household points ({:.0} MB): HTTP {st} after {up_s:.2} s",
            body.len() as f64 / 1e6
        );
        status = status.max(st);
        ups.push(up_s);
    }
    ups.sort_by(f64::total_cmp);
    let up_s = ups[1];
    let ups_text = ups
        .iter()
        .map(|u| format!("{u:.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    drop(server);

    // The same load with an access-log line per request (successful reads log
    // at debug), written to /dev/null.
    let server = Server::start(&dir, &free_addr(), "wangge=debug", &[]);
    let _ = load(&server.addr, 4, 1);
    let (st_i, el_i) = load(&server.addr, conns, secs.min(5));
    let rps_i = st_i.latencies_us.len() as f64 / el_i;
    let p99_i = pct(&st_i.latencies_us, 0.99);
    println!("with RUST_LOG=wangge=debug: {rps_i:.0} req/s, p99 {p99_i:.2} ms");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    let load_after = loadavg();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let md = format!(
        "# Service load benchmark\n\n\
Measured by `cargo bench --bench service_load` (benches/service_load.rs): the real\n\
`wangge serve` binary on loopback, default settings (one HTTP worker per core),\n\
`RUST_LOG=warn`; the load generator runs on the same machine ({cpus} cores shared by\n\
server and client).\n\n\
| what | result |\n|---|---|\n\
| collection | `bench.grids`: 10,000 grid polygons, 49 vertices each, average feature {avg} bytes |\n\
| requests | `GET /collections/bench.grids/items?limit=100&bbox=…` (random 12×12-cell window: 100 features returned of ~150 matched) |\n\
| connections | {conns} keep-alive, for {secs} s |\n\
| throughput | **{rps:.0} req/s** ({mb_s:.0} MB/s of GeoJSON) |\n\
| latency | p50 {p50:.2} ms, p90 {p90:.2} ms, **p99 {p99:.2} ms**, max {max:.2} ms |\n\
| errors | {} |\n\
| upload | {points} household points ({:.0} MB GeoJSON) acknowledged (HTTP {status}: validated, stored, fsynced) in **{up_s:.2} s** (median of 3, 3 s apart: {ups_text} s) |\n\
| machine load | load average {load_before} before, {load_after} after (other builds share the machine) |\n\
| with a log line per request | `RUST_LOG=wangge=debug` (logs to /dev/null), {} s: {rps_i:.0} req/s, p99 {p99_i:.2} ms |\n",
        st.errors,
        body.len() as f64 / 1e6,
        secs.min(5)
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/SERVICE_RESULTS.md");
    if let Err(e) = std::fs::write(&out, md) {
        eprintln!("cannot write {}: {e}", out.display());
    } else {
        println!("written to {}", out.display());
    }
}
