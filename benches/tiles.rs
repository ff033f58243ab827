//! Vector tile benchmark of `wangge serve` on loopback, bounded in time, with
//! martin serving the same layers from GeoJSON as the peer.
//!
//! 1. Stores a city through the library's store: 1,000,000 households (half
//!    spread over 0.4° × 0.4°, half in 200 dense clusters) and 10,000 grids
//!    (400 m cells of 49 vertices) over the same ground, then starts the real
//!    `wangge serve` binary on it; writes both layers as GeoJSON files and
//!    starts martin on them (`WANGGE_MARTIN`, default
//!    `.tools/martin/bin/martin` in the repository; see below to install it).
//! 2. The first tile of each collection: the time to build its projected
//!    index (once per layer version), and the server's memory after.
//! 3. For zooms 12–16 and each collection, from 32 keep-alive connections:
//!    first every tile over the city's extent once, in random order (at most
//!    `WANGGE_BENCH_FIRST`, default 2,000: each is cut, none is cached yet),
//!    then random tiles over the extent for `WANGGE_BENCH_SECS` (default 3)
//!    seconds (a map being browsed: mostly tiles cut before). Tiles per
//!    second, p50/p99 latency, average tile size and the share of empty
//!    (204) tiles, for wangge and martin, and their ratio.
//!
//! Results are printed and written to `benches/TILES_RESULTS.md`.
//! Run: `cargo bench --bench tiles` (set `WANGGE_BIN` to pick a binary).
//! The peer: `cargo install martin --version 1.14.0 --locked --no-default-features
//! --features geojson,mbtiles --root .tools/martin` (its GeoJSON source;
//! no PostGIS needed). `WANGGE_MARTIN=none` runs without it.

#[path = "support/grid_city.rs"]
mod grid_city;
#[path = "support/http.rs"]
mod http;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grid_city::{store_city_grids, store_households, tile_of, CELL, ORIGIN, SIDE};
use http::{env_num, free_addr, loadavg, pct, read_response, Rng, Server};
use wangge::store::SqliteStore;

/// Stores the city; returns the households as GeoJSON text.
fn store_city(dir: &std::path::Path, points: usize) -> String {
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
    store_households(&store, "city", &text);
    text
}

struct Run {
    lat_us: Vec<u64>,
    empty: u64,
    errors: u64,
    bytes: u64,
    secs: f64,
}

/// Which tiles a run asks for.
#[derive(Clone)]
enum Pick {
    /// Random tiles over the extent until the time is up.
    Random,
    /// Each of these once (or until the time is up).
    Each(Arc<Vec<(u32, u32)>>),
}

/// The tiles over the city's extent at zoom `z`: (x0, x1, y0, y1).
fn extent_at(z: u8) -> (u32, u32, u32, u32) {
    let span = SIDE as f64 * CELL;
    let (x0, y1) = tile_of(ORIGIN.0, ORIGIN.1, z);
    let (x1, y0) = tile_of(ORIGIN.0 + span, ORIGIN.1 + span, z);
    (x0, x1, y0, y1)
}

/// Every tile over the extent, shuffled, at most `max`.
fn each_tile(z: u8, max: usize) -> Vec<(u32, u32)> {
    let (x0, x1, y0, y1) = extent_at(z);
    let mut all: Vec<(u32, u32)> = (x0..=x1)
        .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
        .collect();
    let mut rng = Rng(7 + u64::from(z));
    for i in (1..all.len()).rev() {
        let j = (rng.next() * (i + 1) as f64) as usize;
        all.swap(i, j.min(i));
    }
    all.truncate(max);
    all
}

/// A tile server under test: its address and its tile path.
#[derive(Clone)]
struct Target {
    name: &'static str,
    addr: String,
    /// `{c}` is the collection's name in this server, then z/x/y.
    path: fn(&str, u8, u32, u32) -> String,
}

fn wangge_path(c: &str, z: u8, x: u32, y: u32) -> String {
    format!("/collections/city.{c}/tiles/WebMercatorQuad/{z}/{y}/{x}")
}

fn martin_path(c: &str, z: u8, x: u32, y: u32) -> String {
    format!("/{c}/{z}/{x}/{y}")
}

fn run(target: &Target, collection: &str, z: u8, conns: usize, secs: f64, pick: Pick) -> Run {
    let (x0, x1, y0, y1) = extent_at(z);
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let (target, collection, stop, next, pick) = (
                target.clone(),
                collection.to_string(),
                stop.clone(),
                next.clone(),
                pick.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1000_0001));
                let stream = TcpStream::connect(&target.addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::with_capacity(1 << 16, stream);
                let mut out = Run {
                    lat_us: Vec::new(),
                    empty: 0,
                    errors: 0,
                    bytes: 0,
                    secs: 0.0,
                };
                while !stop.load(Ordering::Relaxed) {
                    let (x, y) = match &pick {
                        Pick::Random => (
                            x0 + (rng.next() * f64::from(x1 - x0 + 1)) as u32,
                            y0 + (rng.next() * f64::from(y1 - y0 + 1)) as u32,
                        ),
                        Pick::Each(tiles) => {
                            match tiles.get(next.fetch_add(1, Ordering::Relaxed)) {
                                Some(&t) => t,
                                None => break,
                            }
                        }
                    };
                    let req = format!(
                        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                        (target.path)(&collection, z, x, y),
                        target.addr
                    );
                    let t = Instant::now();
                    if w.write_all(req.as_bytes()).is_err() {
                        out.errors += 1;
                        break;
                    }
                    match read_response(&mut r) {
                        Ok((200, body)) if !body.is_empty() => {
                            out.lat_us.push(t.elapsed().as_micros() as u64);
                            out.bytes += body.len() as u64;
                        }
                        // martin answers an empty tile with 204 too (or
                        // 200 with no body).
                        Ok((200 | 204, _)) => {
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
    let deadline = t0 + Duration::from_secs_f64(secs);
    while Instant::now() < deadline && !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(5));
    }
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

impl Run {
    fn per_sec(&self) -> f64 {
        self.lat_us.len() as f64 / self.secs
    }

    /// `tiles/s | p50 | p99` cells.
    fn cells(&self) -> String {
        format!(
            "{:.0} | {:.1} | {:.1}",
            self.per_sec(),
            pct(&self.lat_us, 0.5),
            pct(&self.lat_us, 0.99)
        )
    }

    fn average_kb(&self) -> f64 {
        let full = self.lat_us.len() as u64 - self.empty;
        if full > 0 {
            self.bytes as f64 / full as f64 / 1000.0
        } else {
            0.0
        }
    }

    fn empty_pct(&self) -> f64 {
        self.empty as f64 * 100.0 / self.lat_us.len().max(1) as f64
    }
}

/// The first-pass and random runs of one collection and zoom on one server.
fn measure(
    target: &Target,
    collection: &str,
    z: u8,
    conns: usize,
    secs: f64,
    first_max: usize,
) -> (usize, Run, Run) {
    let tiles = Arc::new(each_tile(z, first_max));
    let first = run(
        target,
        collection,
        z,
        conns,
        120.0,
        Pick::Each(tiles.clone()),
    );
    let random = run(target, collection, z, conns, secs, Pick::Random);
    (tiles.len(), first, random)
}

/// martin on the same layers as GeoJSON files, if installed.
struct Martin {
    child: std::process::Child,
    addr: String,
    load_secs: f64,
}

impl Drop for Martin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_martin(bin: &std::path::Path, files: &[PathBuf]) -> Martin {
    let addr = free_addr();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let child = std::process::Command::new(bin)
        .args(["--listen-addresses", &addr, "--workers", &cpus.to_string()])
        .args(files)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let mut m = Martin {
        child,
        addr,
        load_secs: 0.0,
    };
    loop {
        if let Ok((200, _)) = http::request(&m.addr, "GET", "/health", &[]) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "martin did not start within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    m.load_secs = t.elapsed().as_secs_f64();
    m
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

/// The collection's items as one GeoJSON document (the server's own).
fn items_geojson(addr: &str, collection: &str) -> Vec<u8> {
    let (status, body) = http::request(
        addr,
        "GET",
        &format!("/collections/{collection}/items?limit=10000"),
        &[],
    )
    .expect("items");
    assert_eq!(status, 200, "{collection} items");
    body
}

fn main() {
    let load_before = loadavg();
    let secs = env_num("WANGGE_BENCH_SECS", 3) as f64;
    let conns = env_num("WANGGE_BENCH_CONNS", 32) as usize;
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let first_max = env_num("WANGGE_BENCH_FIRST", 2_000) as usize;
    let martin_bin = match std::env::var("WANGGE_MARTIN") {
        Ok(b) if b == "none" => None,
        Ok(b) => Some(PathBuf::from(b)),
        Err(_) => Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/martin/bin/martin")),
    };
    if let Some(b) = &martin_bin {
        assert!(
            b.is_file(),
            "the peer, martin, is not at {} (set WANGGE_MARTIN, or WANGGE_MARTIN=none to run without it). \
             Install it with: cargo install martin --version 1.14.0 --locked --no-default-features \
             --features geojson,mbtiles --root .tools/martin",
            b.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("wangge-tiles-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    let households = store_city(&dir, points);
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
    let wangge = Target {
        name: "wangge",
        addr: addr.clone(),
        path: wangge_path,
    };
    let martin = martin_bin.as_ref().map(|bin| {
        let files = [dir.join("households.geojson"), dir.join("grids.geojson")];
        std::fs::write(&files[0], &households).unwrap();
        std::fs::write(&files[1], items_geojson(&addr, "city.grids")).unwrap();
        let m = start_martin(bin, &files);
        println!("martin serves the GeoJSON files after {:.1} s", m.load_secs);
        m
    });
    drop(households);
    let mut targets = vec![wangge];
    if let Some(m) = &martin {
        targets.push(Target {
            name: "martin",
            addr: m.addr.clone(),
            path: martin_path,
        });
    }
    let mut rows = String::new();
    let mut ratios = String::new();
    for collection in ["households", "grids"] {
        for z in 12u8..=16 {
            let mut runs = Vec::new();
            for target in &targets {
                let (n, first, random) = measure(target, collection, z, conns, secs, first_max);
                let line = format!(
                    "| {collection} | {z} | {} | {n} | {} | {} | {:.0} | {:.0} % | {} |",
                    target.name,
                    first.cells(),
                    random.cells(),
                    random.average_kb().max(first.average_kb()),
                    random.empty_pct(),
                    first.errors + random.errors
                );
                println!("{line}");
                rows.push_str(&line);
                rows.push('\n');
                runs.push((first, random));
            }
            if let [(wf, wr), (mf, mr)] = runs.as_slice() {
                let line = format!(
                    "| {collection} | {z} | {:.2}× | {:.2}× | {:.2}× | {:.2}× |",
                    wf.per_sec() / mf.per_sec(),
                    pct(&mf.lat_us, 0.99) / pct(&wf.lat_us, 0.99),
                    wr.per_sec() / mr.per_sec(),
                    pct(&mr.lat_us, 0.99) / pct(&wr.lat_us, 0.99),
                );
                println!("{line}");
                ratios.push_str(&line);
                ratios.push('\n');
            }
        }
    }
    let rss_end = rss_mb(&server);
    let load_after = loadavg();
    let martin_ran = martin.is_some();
    drop(server);
    drop(martin);
    let _ = std::fs::remove_dir_all(&dir);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let peer = if ratios.is_empty() {
        "martin was not run (`WANGGE_MARTIN=none`).\n".to_string()
    } else {
        format!(
            "wangge ÷ martin (above 1: wangge is faster; p99 ratios are martin's p99 ÷ wangge's):\n\n\
| collection | z | first pass tiles/s | first pass p99 | random tiles/s | random p99 |\n\
|---|---|---|---|---|---|\n{ratios}"
        )
    };
    let with_martin = if martin_ran {
        format!(" and martin 1.14\nserving the same two layers from GeoJSON files (its GeoJSON source, {cpus} workers)")
    } else {
        " (martin not run)".to_string()
    };
    let md = format!(
        "# Vector tile benchmark\n\n\
Measured by `cargo bench --bench tiles` (benches/tiles.rs): the real `wangge serve`\n\
binary on loopback (one HTTP worker per core, `RUST_LOG=warn`){with_martin}, the\n\
load generator on the same machine ({cpus} cores shared by servers and client), {conns}\n\
keep-alive connections, uncompressed (no `Accept-Encoding`). Each row: first every\n\
tile over the city's extent once in random order (at most {first_max}; every one is\n\
cut, as on a fresh layer version), then random tiles over the extent for {secs} s\n\
(a map being browsed: mostly tiles cut before, served from each server's cache).\n\n\
City: {points} households (half uniform over 0.4° × 0.4°, half in 200 clusters of\n\
about 600 m) and 10,000 grids of 49 vertices over the same ground.\n\n\
First tile of a collection (loading it from the store, building its projected\n\
index and encoding its properties, once per layer version): households {first_h:.2} s,\n\
grids {first_g:.2} s. wangge's memory: {rss0:.0} MB at start, {rss_h:.0} MB with the\n\
households loaded and indexed, {rss_g:.0} MB with the grids too, {rss_end:.0} MB at the end.\n\n\
| collection | z | server | tiles in first pass | first pass tiles/s | p50 ms | p99 ms | random tiles/s | p50 ms | p99 ms | average tile KB | empty | errors |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|---|\n{rows}\n{peer}\n\
Load average {load_before} before, {load_after} after (other builds share the machine).\n"
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/TILES_RESULTS.md");
    // The sections after this bench's own (the page bench's, notes) stay.
    let old = std::fs::read_to_string(&out).unwrap_or_default();
    let page = old.find("\n## ").map_or("", |i| &old[i + 1..]);
    let md = if page.is_empty() {
        md
    } else {
        format!("{md}\n{page}")
    };
    match std::fs::write(&out, md) {
        Ok(()) => println!("written to {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
}
