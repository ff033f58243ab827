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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::json;
use wangge::layers::outputs::write_grids as write_grids_layer;
use wangge::model::Grid;
use wangge::service::features::stored_from_output;
use wangge::store::{LayerSource, SqliteStore, Store};

const ORIGIN: (f64, f64) = (118.20, 32.25);
const CELL: f64 = 0.004; // about 400 m
const SIDE: usize = 100; // 100 × 100 = 10,000 grids

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A grid-like polygon: a square cell whose edges wiggle (12 vertices per side).
fn grid_polygon(i: usize, j: usize) -> Polygon<f64> {
    let (x0, y0) = (ORIGIN.0 + i as f64 * CELL, ORIGIN.1 + j as f64 * CELL);
    let mut pts = Vec::new();
    let n = 12;
    let wiggle = |k: usize| if k % 2 == 0 { 0.0 } else { CELL * 0.02 };
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL * k as f64 / n as f64,
            y: y0 + wiggle(k),
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL - wiggle(k),
            y: y0 + CELL * k as f64 / n as f64,
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + CELL - CELL * k as f64 / n as f64,
            y: y0 + CELL - wiggle(k),
        });
    }
    for k in 0..n {
        pts.push(Coord {
            x: x0 + wiggle(k),
            y: y0 + CELL - CELL * k as f64 / n as f64,
        });
    }
    pts.push(pts[0]);
    Polygon::new(LineString(pts), vec![])
}

fn write_grids(dir: &std::path::Path) -> usize {
    let store = SqliteStore::open(dir).expect("open store");
    let mut grids = Vec::with_capacity(SIDE * SIDE);
    for i in 0..SIDE {
        for j in 0..SIDE {
            grids.push(Grid {
                code: format!("341102{:03}{:03}{:03}", i / 10, i, j),
                parent_code: format!("341102{:03}{:03}", i / 10, i),
                geometry: MultiPolygon(vec![grid_polygon(i, j)]),
                households: (300 + (i * 7 + j * 13) % 200) as u64,
                persons: (1000 + (i * j) % 1400) as u64,
                area_m2: 160000.0,
                compactness: 0.78,
                barrier_length_m: 0.0,
                within_rules: true,
                issues: vec![],
            });
        }
    }
    // Stored the way a partition job stores its grids.
    let bytes = write_grids_layer(Vec::new(), "grids", &grids).expect("write grids");
    let boxes = grids.iter().map(|g| {
        let r = g.geometry.bounding_rect().expect("box");
        [r.min().x, r.min().y, r.max().x, r.max().y]
    });
    let stored = stored_from_output(&bytes, boxes).expect("stored grids");
    let avg = stored.iter().map(|f| f.json.len()).sum::<usize>() / stored.len();
    store
        .put_layer(
            "bench",
            "grids",
            "grids",
            LayerSource::Job,
            &json!({}),
            &stored,
        )
        .expect("store grids");
    avg
}

fn binary() -> PathBuf {
    if let Some(b) = std::env::var_os("WANGGE_BIN") {
        return b.into();
    }
    PathBuf::from(env!("CARGO_BIN_EXE_wangge"))
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, log: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(binary())
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", log)
        .stdout(Stdio::null())
        .stderr(if log == "warn" {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start wangge serve (build it with cargo build --release)");
    let t0 = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child, addr)
}

/// Reads one response on a keep-alive connection; returns (status, body bytes).
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, usize)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut left = len;
    let mut buf = [0u8; 65536];
    while left > 0 {
        let n = r.read(&mut buf[..left.min(65536)])?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        left -= n;
    }
    Ok((status, len))
}

struct Stats {
    latencies_us: Vec<u64>,
    errors: u64,
    bytes: u64,
}

/// Small deterministic generator (xorshift) so runs are repeatable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn load(addr: &str, conns: usize, secs: u64) -> (Stats, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.to_string();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut st = Stats { latencies_us: Vec::with_capacity(100_000), errors: 0, bytes: 0 };
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1000_0001));
                let stream = TcpStream::connect(&addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::with_capacity(1 << 16, stream);
                while !stop.load(Ordering::Relaxed) {
                    // A window of 12 × 12 cells (144 grids, more with touching
                    // neighbours) at a random place.
                    let span = 12.0 * CELL;
                    let x = ORIGIN.0 + rng.next() * (SIDE as f64 * CELL - span);
                    let y = ORIGIN.1 + rng.next() * (SIDE as f64 * CELL - span);
                    let req = format!(
                        "GET /collections/bench.grids/items?limit=100&bbox={x:.5},{y:.5},{:.5},{:.5} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
                        x + span,
                        y + span
                    );
                    let t = Instant::now();
                    if w.write_all(req.as_bytes()).is_err() {
                        st.errors += 1;
                        break;
                    }
                    match read_response(&mut r) {
                        Ok((200, n)) => {
                            st.latencies_us.push(t.elapsed().as_micros() as u64);
                            st.bytes += n as u64;
                        }
                        _ => st.errors += 1,
                    }
                }
                st
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all = Stats {
        latencies_us: Vec::new(),
        errors: 0,
        bytes: 0,
    };
    for h in handles {
        let s = h.join().unwrap();
        all.latencies_us.extend(s.latencies_us);
        all.errors += s.errors;
        all.bytes += s.bytes;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    (all, elapsed)
}

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

fn households(n: usize) -> String {
    let mut s = String::with_capacity(n * 110 + 64);
    s.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut rng = Rng(42);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let x = 118.0 + rng.next() * 0.6;
        let y = 32.1 + rng.next() * 0.5;
        s.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"id\":\"h{i}\",\"households\":1,\"persons\":3}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}}}}"
        ));
    }
    s.push_str("]}");
    s
}

fn upload(addr: &str, dataset: &str, body: &[u8]) -> (u16, f64) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let t = Instant::now();
    write!(
        s,
        "PUT /api/v1/datasets/{dataset}/layers/households HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/geo+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut r = BufReader::new(s);
    let (status, _) = read_response(&mut r).unwrap();
    (status, t.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    };
    let load_before = loadavg();
    let secs = env_num("WANGGE_BENCH_SECS", 10);
    let conns = env_num("WANGGE_BENCH_CONNS", 32) as usize;
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let dir = std::env::temp_dir().join(format!("wangge-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let avg = write_grids(&dir);
    let server = start(&dir, "warn");
    let addr = server.1.clone();
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

    let body = households(points);
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
    let server = start(&dir, "wangge=debug");
    let _ = load(&server.1, 4, 1);
    let (st_i, el_i) = load(&server.1, conns, secs.min(5));
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
