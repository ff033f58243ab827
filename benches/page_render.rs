//! The planner page's first render of a city in headless Chromium: the real
//! `wangge serve` over a city of 10,000 grids (the tiles bench's, 400 m cells
//! of 49 vertices) and `WANGGE_BENCH_POINTS` households (default 1,000,000,
//! offered to the page as vector tiles), opened by `benches/page/page_render.mjs`
//! (playwright-core with Debian's Chromium, software WebGL) in a fresh browser
//! context `WANGGE_BENCH_RUNS` times (default 5). Each run is the time from
//! navigation to the first idle frame with every grid drawn (rendered
//! features queried from the map; timed at the idle event, before the query
//! counts them). The median is the figure (target ≤ 2 s).
//! The page draws so many grids from vector tiles and fetches their GeoJSON
//! for its panels after that frame; the bench also times until the page
//! holds it ("panels filled").
//!
//! Results are printed and written into `benches/TILES_RESULTS.md` (its
//! "Planner page first render" section).
//! Run: `cargo bench --bench page_render`. Needs what `tests/planner_page.rs`
//! needs: Debian's `chromium` (`WANGGE_CHROMIUM` overrides) and playwright-core
//! in `.tools/page` (`.ci/provision` installs both).

#[path = "support/grid_city.rs"]
mod grid_city;
#[path = "support/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use grid_city::{store_city_grids, store_households, CELL, ORIGIN, SIDE};
use http::{env_num, free_addr, loadavg, Server};
use serde_json::Value;
use wangge::store::SqliteStore;

/// The section of TILES_RESULTS.md this bench writes.
const SECTION: &str = "## Planner page first render";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing at {}: run .ci/provision as root (it installs Debian's chromium and \
         playwright-core into .tools/page), or `apt-get install -y chromium` and \
         `npm ci --prefix .tools/page` with tests/page/package*.json",
        path.display()
    );
}

fn main() {
    let load_before = loadavg();
    let runs = env_num("WANGGE_BENCH_RUNS", 5);
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let chromium = std::env::var_os("WANGGE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    require(&chromium, "Chromium");
    let pw = repo().join(".tools/page");
    require(
        &pw.join("node_modules/playwright-core/package.json"),
        "playwright-core",
    );

    let dir = std::env::temp_dir().join(format!("wangge-page-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir).expect("open store");
    store_city_grids(&store, "city");
    let span = SIDE as f64 * CELL;
    let text = http::households(points, 42, (ORIGIN.0, ORIGIN.1, span, span));
    store_households(&store, "city", &text);
    drop((store, text));

    let server = Server::start(&dir, &free_addr(), "warn", &[]);
    let t = Instant::now();
    let out = Command::new("node")
        .arg(repo().join("benches/page/page_render.mjs"))
        .env("WANGGE_ADDR", &server.addr)
        .env("PLAYWRIGHT_DIR", &pw)
        .env("CHROMIUM", &chromium)
        .env("RUNS", runs.to_string())
        .env("GRIDS", (SIDE * SIDE).to_string())
        .output()
        .expect("run node (Node.js must be on PATH)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert!(out.status.success(), "the page bench failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no figures ({e}): {stdout}"));
    let rss = server.rss_mb().unwrap_or(f64::NAN);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    let mut ms: Vec<u64> = runs.iter().filter_map(|r| r["ms"].as_u64()).collect();
    ms.sort_unstable();
    assert!(!ms.is_empty(), "no runs: {doc}");
    assert!(
        runs.iter().all(|r| r["offOrigin"] == 0),
        "a request left the server: {doc}"
    );
    let median = ms[ms.len() / 2];
    let median_of = |key: &str| {
        let mut v: Vec<u64> = runs.iter().filter_map(|r| r[key].as_u64()).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0) as f64 / 1000.0
    };
    let drawn_from = if runs.iter().all(|r| r["tiled"] == true) {
        "vector tiles"
    } else {
        "GeoJSON"
    };
    let first = &runs[0];
    let section = format!(
        "{SECTION}\n\n\
Measured by `cargo bench --bench page_render` (benches/page_render.rs,\n\
benches/page/page_render.mjs): `wangge serve` over the same city (10,000 grids,\n\
{points} households), the planner page opened in headless Chromium (Debian's,\n\
software WebGL through SwiftShader, 1400 × 900) in a fresh browser context each run,\n\
timed from navigation to the first idle frame with every grid drawn (rendered\n\
features queried from the map; the time is that of the idle event, before the\n\
query counts them). The grids were drawn from {drawn_from}: a grids\n\
layer of more than 2,000 features comes as vector tiles, coloured by rule state\n\
with a style expression, and its GeoJSON (every grid's properties, for the summary,\n\
clicks and moves) is fetched after that first frame (\"panels filled\": from\n\
navigation until the page holds it). Households come as vector tiles (off until\n\
switched on).\n\n\
| runs | first render, median | fastest | slowest | sources set (median) | panels filled (median) | grids drawn | grids GeoJSON (run 1) | tile requests | other requests | wall time of the bench |\n\
|---|---|---|---|---|---|---|---|---|---|---|\n\
| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {} | {:.1} MB in {} ms | {} | {} | {:.0} s |\n\n\
Target ≤ 2 s. Server memory after: {rss:.0} MB. Load average {load_before} before, {} after.\n",
        ms.len(),
        median as f64 / 1000.0,
        ms[0] as f64 / 1000.0,
        ms[ms.len() - 1] as f64 / 1000.0,
        median_of("readyMs"),
        median_of("detailsMs"),
        first["grids"],
        first["gridsFetch"][0]["bytes"].as_f64().unwrap_or(f64::NAN) / 1e6,
        first["gridsFetch"][0]["ms"],
        first["tiles"],
        first["other"],
        t.elapsed().as_secs_f64(),
        loadavg()
    );
    println!("{section}");
    let path = repo().join("benches/TILES_RESULTS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let kept = old.find(SECTION).map_or(old.as_str(), |i| &old[..i]);
    let md = format!("{}\n\n{section}", kept.trim_end());
    match std::fs::write(&path, md) {
        Ok(()) => println!("written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}
