//! Vector tile benchmark of `wangge serve` on loopback, bounded in time.
//!
//! 1. Stores a city through the library's store: 1,000,000 households (half
//!    spread over 0.4° × 0.4°, half in 200 dense clusters) and 10,000 grids
//!    (400 m cells of 49 vertices) over the same ground, then starts the real
//!    `wangge serve` binary on it.
//! 2. The first tile of each collection: the time to build its projected
//!    index (once per layer version), and the server's memory after.
//! 3. For zooms 12–16 and each collection, random tiles over the city's
//!    extent from 32 keep-alive connections for `WANGGE_BENCH_SECS` (default
//!    3) seconds: tiles per second, p50/p99 latency, average tile size and the
//!    share of empty (204) tiles.
//!
//! Results are printed and written to `benches/TILES_RESULTS.md`.
//! Run: `cargo bench --bench tiles` (set `WANGGE_BIN` to pick a binary).

#[path = "support/grid_city.rs"]
mod grid_city;
#[path = "support/http.rs"]
mod http;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grid_city::{store_city_grids, CELL, ORIGIN, SIDE};
use http::{env_num, free_addr, pct, read_response, Rng, Server};
use serde_json::json;
use wangge::layers::LayerKind;
use wangge::service::features::layer_to_stored;
use wangge::store::{LayerSource, SqliteStore, Store};

fn store_city(dir: &std::path::Path, points: usize) {
    let store = SqliteStore::open(dir).expect("open store");
    store_city_grids(&store, "city");

    let span = SIDE as f64 * CELL;
    let mut rng = Rng(42);
    let centres: Vec<(f64, f64)> = (0..200)
        .map(|_| (ORIGIN.0 + rng.next() * span, ORIGIN.1 + rng.next() * span))
        .collect();
    let mut text = String::with_capacity(points * 120);
    text.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..points {
        let (x, y) = if i % 2 == 0 {
            (ORIGIN.0 + rng.next() * span, ORIGIN.1 + rng.next() * span)
        } else {
            let (cx, cy) = centres[i % centres.len()];
            // Within about 300 m of the centre: towers and estates.
            (
                cx + (rng.next() - 0.5) * 0.006,
                cy + (rng.next() - 0.5) * 0.006,
            )
        };
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"id\":\"h{i}\",\"households\":1,\"persons\":3}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}}}}"
        ));
    }
    text.push_str("]}");
    let (layer, _) = wangge::layers::read_layer(LayerKind::Households, &text, &Default::default())
        .expect("households");
    let stored = layer_to_stored(&layer).expect("stored households");
    store
        .put_layer(
            "city",
            "households",
            "households",
            LayerSource::Upload,
            &json!({}),
            &stored,
        )
        .expect("store households");
}

fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let l = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

struct Run {
    lat_us: Vec<u64>,
    empty: u64,
    errors: u64,
    bytes: u64,
    secs: f64,
}

fn run(addr: &str, collection: &str, z: u8, conns: usize, secs: u64) -> Run {
    let span = SIDE as f64 * CELL;
    let (x0, y1) = tile_of(ORIGIN.0, ORIGIN.1, z);
    let (x1, y0) = tile_of(ORIGIN.0 + span, ORIGIN.1 + span, z);
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let (addr, collection, stop) = (addr.to_string(), collection.to_string(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1000_0001));
                let stream = TcpStream::connect(&addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::with_capacity(1 << 16, stream);
                let mut out = Run { lat_us: Vec::new(), empty: 0, errors: 0, bytes: 0, secs: 0.0 };
                while !stop.load(Ordering::Relaxed) {
                    let x = x0 + (rng.next() * f64::from(x1 - x0 + 1)) as u32;
                    let y = y0 + (rng.next() * f64::from(y1 - y0 + 1)) as u32;
                    let req = format!(
                        "GET /collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x} HTTP/1.1\r\nHost: {addr}\r\n\r\n"
                    );
                    let t = Instant::now();
                    if w.write_all(req.as_bytes()).is_err() {
                        out.errors += 1;
                        break;
                    }
                    match read_response(&mut r) {
                        Ok((200, body)) => {
                            out.lat_us.push(t.elapsed().as_micros() as u64);
                            out.bytes += body.len() as u64;
                        }
                        Ok((204, _)) => {
                            out.lat_us.push(t.elapsed().as_micros() as u64);
                            out.empty += 1;
                        }
                        _ => {
                            out.errors += 1;
                            break;
                        }
                    }
                }
                out
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all = Run {
        lat_us: Vec::new(),
        empty: 0,
        errors: 0,
        bytes: 0,
        secs: 0.0,
    };
    for h in handles {
        let r = h.join().unwrap();
        all.lat_us.extend(r.lat_us);
        all.empty += r.empty;
        all.errors += r.errors;
        all.bytes += r.bytes;
    }
    all.secs = t0.elapsed().as_secs_f64();
    all.lat_us.sort_unstable();
    all
}

fn first_tile(addr: &str, collection: &str) -> f64 {
    let (x, y) = tile_of(ORIGIN.0 + 0.2, ORIGIN.1 + 0.2, 14);
    let mut s = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    write!(
        s,
        "GET /collections/{collection}/tiles/WebMercatorQuad/14/{y}/{x} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let (status, _) = read_response(&mut r).unwrap();
    assert!(
        status == 200 || status == 204,
        "first tile of {collection}: {status}"
    );
    t.elapsed().as_secs_f64()
}

fn main() {
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    };
    let load_before = loadavg();
    let secs = env_num("WANGGE_BENCH_SECS", 3);
    let conns = env_num("WANGGE_BENCH_CONNS", 32) as usize;
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let dir = std::env::temp_dir().join(format!("wangge-tiles-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    store_city(&dir, points);
    println!(
        "stored {points} households and 10,000 grids in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let server = Server::start(&dir, &free_addr(), "warn", &[]);
    let addr = server.addr.clone();
    let rss_mb = |s: &Server| s.rss_mb().unwrap_or(f64::NAN);
    let rss0 = rss_mb(&server);
    let first_h = first_tile(&addr, "city.households");
    let rss_h = rss_mb(&server);
    let first_g = first_tile(&addr, "city.grids");
    let rss_g = rss_mb(&server);
    println!(
        "first tile (collection load + projected index): households {first_h:.2} s, grids {first_g:.2} s; server memory {rss0:.0} MB → {rss_h:.0} MB → {rss_g:.0} MB"
    );
    let mut rows = String::new();
    for collection in ["city.households", "city.grids"] {
        for z in 12u8..=16 {
            let r = run(&addr, collection, z, conns, secs);
            let n = r.lat_us.len();
            let full = n as u64 - r.empty;
            let line = format!(
                "| {collection} | {z} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} % | {} |",
                n as f64 / r.secs,
                pct(&r.lat_us, 0.5),
                pct(&r.lat_us, 0.99),
                if full > 0 {
                    r.bytes as f64 / full as f64 / 1000.0
                } else {
                    0.0
                },
                r.empty as f64 * 100.0 / n.max(1) as f64,
                r.errors
            );
            println!("{line}");
            rows.push_str(&line);
            rows.push('\n');
        }
    }
    let rss_end = rss_mb(&server);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let md = format!(
        "# Vector tile benchmark\n\n\
Measured by `cargo bench --bench tiles` (benches/tiles.rs): the real `wangge serve`\n\
binary on loopback (one HTTP worker per core, `RUST_LOG=warn`), the load generator\n\
on the same machine ({cpus} cores shared by server and client), {conns} keep-alive\n\
connections for {secs} s per row, random tiles over the city's extent,\n\
uncompressed (no `Accept-Encoding`).\n\n\
City: {points} households (half uniform over 0.4° × 0.4°, half in 200 clusters of\n\
about 600 m) and 10,000 grids of 49 vertices over the same ground.\n\n\
First tile of a collection (loading it from the store and building its projected\n\
index, once per layer version): households {first_h:.2} s, grids {first_g:.2} s.\n\
Server memory: {rss0:.0} MB at start, {rss_h:.0} MB with the households loaded and\n\
indexed, {rss_g:.0} MB with the grids too, {rss_end:.0} MB at the end.\n\n\
| collection | z | tiles/s | p50 ms | p99 ms | average tile KB | empty (204) | errors |\n\
|---|---|---|---|---|---|---|---|\n{rows}\n\
Load average {load_before} before, {} after (other builds share the machine).\n",
        loadavg()
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/TILES_RESULTS.md");
    match std::fs::write(&out, md) {
        Ok(()) => println!("written to {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
}
