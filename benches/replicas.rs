//! Reads from two replicas on one PostgreSQL database against one replica:
//! the 10,000-grid city (`city.grids`) written into a throwaway PostgreSQL +
//! PostGIS cluster through the library's store, then the real `wangge serve
//! --store postgresql://…` started twice on loopback. Items pages (100
//! features of a random bbox) and random grid tiles at zoom 12–16, each from
//! 32 keep-alive connections for `WANGGE_BENCH_SECS` (default 10) seconds,
//! first all on replica A, then split between A and B; each row is the median
//! of `WANGGE_BENCH_RUNS` (default 3) runs.
//!
//! The machine has 2 cores shared by both replicas, PostgreSQL and the load
//! generator, so this measures what a second replica costs or gives on one
//! machine (each request checks the stored layer version in the database),
//! not the gain of a second machine.
//!
//! Run: `cargo bench --bench replicas`. Writes `benches/REPLICAS_RESULTS.md`.

#[path = "support/grid_city.rs"]
mod grid_city;
#[path = "support/http.rs"]
mod http;
#[path = "../tests/service/pg.rs"]
mod pg;

use std::path::PathBuf;

use grid_city::{store_city_grids, tile_of, CELL, ORIGIN, SIDE};
use http::{env_num, free_addr, loadavg, pct, Rng, Server};
use wangge::store::postgres::PgStore;

/// A random items page of the city (`grid_city::items_page_of`).
fn items_page(rng: &mut Rng) -> String {
    grid_city::items_page_of("city.grids", rng)
}

/// A random grid tile over the city at zoom 12–16.
fn grid_tile(rng: &mut Rng) -> String {
    let z = 12 + (rng.next() * 5.0) as u8;
    let span = SIDE as f64 * CELL;
    let (x0, y1) = tile_of(ORIGIN.0, ORIGIN.1, z);
    let (x1, y0) = tile_of(ORIGIN.0 + span, ORIGIN.1 + span, z);
    let x = x0 + (rng.next() * f64::from(x1 - x0 + 1)) as u32;
    let y = y0 + (rng.next() * f64::from(y1 - y0 + 1)) as u32;
    format!(
        "/collections/city.grids/tiles/WebMercatorQuad/{}/{}/{}",
        z,
        y.min(y1),
        x.min(x1)
    )
}

/// One measured row, the median of `runs` runs: requests per second, p50 and
/// p99 in ms, and the errors of all runs.
fn measure(
    addrs: &[String],
    runs: usize,
    secs: u64,
    path: fn(&mut Rng) -> String,
) -> (f64, f64, f64, u64) {
    let mut seen: Vec<(f64, f64, f64)> = Vec::new();
    let mut errors = 0;
    for _ in 0..runs {
        let (st, elapsed) = http::load(addrs, 32, secs, path);
        errors += st.errors;
        seen.push((
            st.latencies_us.len() as f64 / elapsed,
            pct(&st.latencies_us, 0.50),
            pct(&st.latencies_us, 0.99),
        ));
    }
    let median = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = seen.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(|r| r.0), median(|r| r.1), median(|r| r.2), errors)
}

fn main() {
    let load_before = loadavg();
    let secs = env_num("WANGGE_BENCH_SECS", 10);
    let runs = env_num("WANGGE_BENCH_RUNS", 3).max(1) as usize;
    let cluster = pg::PgCluster::start(true);
    let url = cluster.fresh_database("bench_replicas");
    let avg = store_city_grids(
        &PgStore::open(&url).expect("open the PostgreSQL store"),
        "city",
    );
    let dir = std::env::temp_dir().join(format!("wangge-bench-replicas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = Server::start(&dir.join("a"), &free_addr(), "warn", &["--store", &url]);
    let b = Server::start(&dir.join("b"), &free_addr(), "warn", &["--store", &url]);
    let (one, two) = (vec![a.addr.clone()], vec![a.addr.clone(), b.addr.clone()]);
    println!(
        "10,000 grids (average feature {avg} bytes) in PostGIS; replicas on {} and {}",
        a.addr, b.addr
    );
    // Warm-up: each replica loads the collection and builds its tile index.
    let _ = http::load(&two, 4, 1, items_page);
    let _ = http::load(&two, 4, 2, grid_tile);

    let mut rows = Vec::new();
    for (what, path) in [
        (
            "items, 100 a page, random bbox",
            items_page as fn(&mut Rng) -> String,
        ),
        ("grid tiles, z12–16, random", grid_tile),
    ] {
        for (replicas, addrs) in [(1, &one), (2, &two)] {
            let (rps, p50, p99, errors) = measure(addrs, runs, secs, path);
            let line =
                format!("| {what} | {replicas} | {rps:.0} | {p50:.2} | {p99:.2} | {errors} |");
            println!("{line}");
            rows.push((what, replicas, rps, line));
        }
    }
    drop((a, b));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let ratio = |what: &str| {
        let r = |n| {
            rows.iter()
                .find(|r| r.0 == what && r.1 == n)
                .map(|r| r.2)
                .unwrap_or(f64::NAN)
        };
        r(2) / r(1)
    };
    let load_after = loadavg();
    let md = format!(
        "# Replicas benchmark\n\n\
Measured by `cargo bench --bench replicas` (benches/replicas.rs): the 10,000-grid city \
(average feature {avg} bytes) in a throwaway PostgreSQL + PostGIS cluster, two `wangge serve \
--store postgresql://…` on loopback, 32 keep-alive connections for {secs} s a run, all on \
replica A or split between A and B; each row is the median of {runs} runs (errors: all runs). Everything (PostgreSQL, both replicas, the load \
generator) shares this machine's 2 cores.\n\n\
| requests | replicas | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n{}\n\n\
Two replicas against one: items {:.2}×, tiles {:.2}× the requests per second. On one \
2-core machine a second replica adds no cores, only a second copy of the collection and \
of its tile index; what it shows is that either replica answers every request from the shared \
database, with no errors (each request checks the layer version there, one primary-key \
lookup). Load average {load_before} before, {load_after} after (the load generator's 32 \
threads count in it).\n",
        rows.iter()
            .map(|r| r.3.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        ratio("items, 100 a page, random bbox"),
        ratio("grid tiles, z12–16, random"),
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/REPLICAS_RESULTS.md");
    if let Err(e) = std::fs::write(&out, md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
}
