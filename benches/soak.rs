//! Soak run of `wangge serve` on loopback, bounded in time, with a SIGKILL and
//! restart in the middle.
//!
//! The real binary serves a data directory holding the demo district (its grids
//! and coverage computed first). For `WANGGE_SOAK_SECS` (default 600) seconds:
//!
//! - readers on keep-alive connections ask vector tiles and items pages
//!   (grids and households, at a random place), whole-layer downloads and the
//!   job list;
//! - an uploader stores a new 2,000-household layer every 3 s, each in a
//!   dataset of its own, and notes every upload the server acknowledged;
//! - a job runner starts a partition of the demo district every 15 s and polls
//!   it to its end, noting every job the server acknowledged;
//! - the server's resident memory is read from /proc every second; the server
//!   runs with its layer cache bounded at 16 MB ([`SERVE_ARGS`]).
//!
//! Halfway, with a coverage job just seen running, the server is killed with
//! SIGKILL and started again on the same
//! directory and port. Connection errors while it is down are expected; any
//! other failure (a 5xx, a 4xx to a well-formed request, a broken response) is
//! counted as an error. At the end every acknowledged upload must be there with
//! its household count, every acknowledged job must be known (those that
//! succeeded before the kill still succeeded; those cut short are failed with a
//! reason), and memory must be flat: the last minute of each run no more than
//! 25 % above its first warm minute.
//!
//! Prints the figures, writes `benches/SOAK_RESULTS.md`, and exits non-zero
//! when a check fails. Run: `cargo bench --bench soak`
//! (`WANGGE_SOAK_SECS=60` for a short run).

#[path = "support/http.rs"]
mod http;

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{loadavg, pct, read_response, request, Rng, Server};
use serde_json::Value;

/// The demo district's layers, in upload order.
const DEMO_LAYERS: [&str; 7] = [
    "areas",
    "households",
    "buildings",
    "barriers",
    "cameras",
    "sites",
    "candidates",
];
/// The demo district's extent (Chuzhou, Langya), for random windows.
const EXTENT: (f64, f64, f64, f64) = (118.20, 32.26, 0.22, 0.16);
const UPLOAD_POINTS: usize = 2_000;

/// What the load threads saw, shared with the main thread.
#[derive(Default)]
struct Ledger {
    /// Requests answered as expected, by kind.
    ok: BTreeMap<&'static str, u64>,
    /// Latencies of answered reads, µs.
    read_us: Vec<u64>,
    /// Failures that are not the server being down: (what, detail).
    errors: Vec<(String, String)>,
    /// Connection failures (refused, reset, cut short) while the server was down.
    down_failures: u64,
    /// Uploads the server acknowledged: dataset → accepted households.
    uploads: BTreeMap<String, u64>,
    /// Jobs the server acknowledged: id → last state seen (and when).
    jobs: BTreeMap<String, (String, Instant)>,
}

struct Shared {
    addr: String,
    stop: AtomicBool,
    /// True from just before the kill until the restarted server is healthy.
    down: AtomicBool,
    ledger: Mutex<Ledger>,
    requests: AtomicU64,
}

impl Shared {
    fn ok(&self, kind: &'static str) {
        *self.ledger.lock().unwrap().ok.entry(kind).or_default() += 1;
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A failed request: expected while the server is down and it is a
    /// connection failure, an error otherwise.
    fn failed(&self, what: &str, detail: String, connection: bool) {
        let mut l = self.ledger.lock().unwrap();
        if connection && self.down.load(Ordering::SeqCst) {
            l.down_failures += 1;
        } else {
            l.errors.push((what.to_string(), detail));
        }
    }
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

/// Starts a job and waits for it; returns its final JSON.
fn run_job(addr: &str, path: &str, body: &str) -> Value {
    let (status, b) = request(addr, "POST", path, body.as_bytes()).expect("start job");
    assert_eq!(status, 202, "{path}: {}", String::from_utf8_lossy(&b));
    let id = json_of(&b)["id"].as_str().expect("job id").to_string();
    loop {
        let (_, b) = request(addr, "GET", &format!("/api/v1/jobs/{id}"), &[]).expect("job");
        let job = json_of(&b);
        if matches!(
            job["state"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return job;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a job and returns its id once the server says it is running.
fn start_running_job(addr: &str, path: &str) -> String {
    let (status, b) = request(addr, "POST", path, b"").expect("start job");
    assert_eq!(status, 202, "{path}: {}", String::from_utf8_lossy(&b));
    let id = json_of(&b)["id"].as_str().expect("job id").to_string();
    loop {
        let (_, b) = request(addr, "GET", &format!("/api/v1/jobs/{id}"), &[]).expect("job");
        if json_of(&b)["state"] != "queued" {
            return id;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stores the demo district as dataset `soak` and computes its grids and coverage.
fn seed_demo(addr: &str) {
    for layer in DEMO_LAYERS {
        let body = std::fs::read(demo_dir().join(format!("{layer}.geojson"))).expect("demo layer");
        let (status, b) = request(
            addr,
            "PUT",
            &format!("/api/v1/datasets/soak/layers/{layer}"),
            &body,
        )
        .expect("upload demo layer");
        assert!(
            status < 300,
            "{layer}: {status} {}",
            String::from_utf8_lossy(&b)
        );
    }
    for (path, body) in [
        ("/api/v1/datasets/soak/partition", ""),
        ("/api/v1/datasets/soak/coverage", ""),
    ] {
        let job = run_job(addr, path, body);
        assert_eq!(job["state"], "succeeded", "{path}: {job}");
    }
}

fn random_bbox(rng: &mut Rng, span: f64) -> String {
    let (x0, y0, w, h) = EXTENT;
    let x = x0 + rng.next() * (w - span);
    let y = y0 + rng.next() * (h - span);
    format!("{x:.5},{y:.5},{:.5},{:.5}", x + span, y + span)
}

/// A vector tile path at zoom 12–16 over a random point of the district.
fn random_tile(rng: &mut Rng, collection: &str) -> String {
    let (x0, y0, w, h) = EXTENT;
    let (lon, lat) = (x0 + rng.next() * w, y0 + rng.next() * h);
    let z = 12 + (rng.next() * 5.0) as u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    format!("/collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x}")
}

/// One reader: a keep-alive connection asking a mix of reads until stopped.
fn reader(shared: Arc<Shared>, seed: u64) {
    let mut rng = Rng(seed);
    let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        let r = rng.next();
        let (kind, path) = if r < 0.15 {
            ("grids tile", random_tile(&mut rng, "soak.grids"))
        } else if r < 0.30 {
            ("households tile", random_tile(&mut rng, "soak.households"))
        } else if r < 0.45 {
            (
                "grids page",
                format!(
                    "/collections/soak.grids/items?limit=100&bbox={}",
                    random_bbox(&mut rng, 0.03)
                ),
            )
        } else if r < 0.85 {
            (
                "households page",
                format!(
                    "/collections/soak.households/items?limit=500&bbox={}",
                    random_bbox(&mut rng, 0.02)
                ),
            )
        } else if r < 0.95 {
            ("job list", "/api/v1/jobs?limit=20".to_string())
        } else {
            (
                "grids download",
                "/api/v1/datasets/soak/layers/grids".to_string(),
            )
        };
        if conn.is_none() {
            match TcpStream::connect(&shared.addr) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    let w = s.try_clone().expect("clone stream");
                    conn = Some((w, BufReader::with_capacity(1 << 16, s)));
                }
                Err(e) => {
                    shared.failed(kind, e.to_string(), true);
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        }
        let (w, rd) = conn.as_mut().expect("connection");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", shared.addr);
        let t = Instant::now();
        let answer = w.write_all(req.as_bytes()).and_then(|()| read_response(rd));
        match answer {
            // An empty vector tile is 204 (the district is not a rectangle).
            Ok((200, body)) if !body.is_empty() || kind.ends_with("tile") => {
                let us = t.elapsed().as_micros() as u64;
                shared.ok(kind);
                shared.ledger.lock().unwrap().read_us.push(us);
            }
            Ok((204, _)) if kind.ends_with("tile") => {
                let us = t.elapsed().as_micros() as u64;
                shared.ok(kind);
                shared.ledger.lock().unwrap().read_us.push(us);
            }
            Ok((status, body)) => {
                shared.failed(
                    kind,
                    format!("{path}: HTTP {status} {}", String::from_utf8_lossy(&body)),
                    false,
                );
                conn = None;
            }
            Err(e) => {
                shared.failed(kind, format!("{path}: {e}"), true);
                conn = None;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Stores a fresh households layer every 3 s, each in a dataset of its own.
fn uploader(shared: Arc<Shared>) {
    let mut k = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let body = http::households(UPLOAD_POINTS, 1000 + k, EXTENT);
        let dataset = format!("up{k:04}");
        let path = format!("/api/v1/datasets/{dataset}/layers/households");
        match request(&shared.addr, "PUT", &path, body.as_bytes()) {
            Ok((status, b)) if status < 300 => {
                let accepted = json_of(&b)["accepted"].as_u64().unwrap_or(0);
                shared.ok("upload");
                shared
                    .ledger
                    .lock()
                    .unwrap()
                    .uploads
                    .insert(dataset, accepted);
            }
            Ok((status, b)) => shared.failed(
                "upload",
                format!("{path}: HTTP {status} {}", String::from_utf8_lossy(&b)),
                false,
            ),
            Err(e) => shared.failed("upload", format!("{path}: {e}"), true),
        }
        k += 1;
        pause(&shared, Duration::from_secs(3));
    }
}

/// Starts a partition every 15 s and polls it to its end.
fn job_runner(shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        let started = match request(&shared.addr, "POST", "/api/v1/datasets/soak/partition", b"") {
            Ok((202, b)) => json_of(&b)["id"].as_str().map(str::to_owned),
            Ok((status, b)) => {
                shared.failed(
                    "job start",
                    format!("HTTP {status} {}", String::from_utf8_lossy(&b)),
                    false,
                );
                None
            }
            Err(e) => {
                shared.failed("job start", e.to_string(), true);
                None
            }
        };
        if let Some(id) = started {
            shared.ok("job start");
            let note = |state: &str| {
                shared
                    .ledger
                    .lock()
                    .unwrap()
                    .jobs
                    .insert(id.clone(), (state.to_string(), Instant::now()));
            };
            note("queued");
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(300) {
                match request(&shared.addr, "GET", &format!("/api/v1/jobs/{id}"), &[]) {
                    Ok((200, b)) => {
                        let state = json_of(&b)["state"].as_str().unwrap_or("?").to_string();
                        note(&state);
                        if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                            shared.ok("job finished");
                            break;
                        }
                    }
                    Ok((status, b)) => {
                        shared.failed(
                            "job poll",
                            format!("{id}: HTTP {status} {}", String::from_utf8_lossy(&b)),
                            false,
                        );
                        break;
                    }
                    Err(e) => shared.failed("job poll", format!("{id}: {e}"), true),
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        pause(&shared, Duration::from_secs(15));
    }
}

/// Sleeps `d`, waking early when the run stops.
fn pause(shared: &Shared, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Median of a run's RSS samples taken between `from` and `to` seconds.
fn median_between(samples: &[(f64, f64)], from: f64, to: f64) -> f64 {
    let mut v: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|s| s.1)
        .collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Checks everything acknowledged is still there; returns the problems found.
fn audit(addr: &str, ledger: &Ledger, killed_at: Instant) -> Vec<String> {
    let mut lost = Vec::new();
    for (dataset, accepted) in &ledger.uploads {
        let stored = request(addr, "GET", &format!("/api/v1/datasets/{dataset}"), &[])
            .ok()
            .filter(|(s, _)| *s == 200)
            .and_then(|(_, b)| {
                json_of(&b)["layers"]
                    .as_array()
                    .and_then(|ls| ls.iter().find(|l| l["layer"] == "households"))
                    .and_then(|l| l["features"].as_u64())
            });
        if stored != Some(*accepted) {
            lost.push(format!(
                "upload {dataset}: acknowledged {accepted}, stored {stored:?}"
            ));
        }
    }
    for (id, (seen, when)) in &ledger.jobs {
        let now = request(addr, "GET", &format!("/api/v1/jobs/{id}"), &[])
            .ok()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| json_of(&b));
        let Some(job) = now else {
            lost.push(format!("job {id}: acknowledged, now unknown"));
            continue;
        };
        let state = job["state"].as_str().unwrap_or("?");
        let cut_short = *when < killed_at
            && seen != "succeeded"
            && state == "failed"
            && job["reason"].is_string();
        if !(state == "succeeded" || cut_short) {
            lost.push(format!(
                "job {id}: last seen {seen}, now {state} ({})",
                job["reason"]
            ));
        }
    }
    lost
}

/// The layer cache is bounded well below what the run uploads (2,000
/// households every 3 s, each layer cached as it is stored), so the cache is
/// full within the first minute and the run measures the steady state a
/// long-lived server lives in: without a bound the cache (4 GB by default)
/// would grow with the data for hours and hide a leak. 16 MB still holds the
/// collections the readers ask for (the least recently used go first).
const SERVE_ARGS: &[&str] = &["--cache-mb", "16"];

fn main() {
    let secs = std::env::var("WANGGE_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600u64);
    let readers = 4;
    let load_before = loadavg();
    let dir = std::env::temp_dir().join(format!("wangge-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let addr = http::free_addr();
    let mut server = Server::start(&dir, &addr, "warn", SERVE_ARGS);
    seed_demo(&addr);
    println!("demo district stored with grids and coverage; soaking {secs} s on {addr}");

    let shared = Arc::new(Shared {
        addr: addr.clone(),
        stop: AtomicBool::new(false),
        down: AtomicBool::new(false),
        ledger: Mutex::default(),
        requests: AtomicU64::new(0),
    });
    let mut threads = Vec::new();
    for i in 0..readers {
        let s = shared.clone();
        threads.push(std::thread::spawn(move || reader(s, 0x9e37_79b9 + i)));
    }
    let s = shared.clone();
    threads.push(std::thread::spawn(move || uploader(s)));
    let s = shared.clone();
    threads.push(std::thread::spawn(move || job_runner(s)));

    let t0 = Instant::now();
    let half = secs as f64 / 2.0;
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut run_start = 0.0;
    let mut killed_at = None;
    let mut restart_s = 0.0;
    while t0.elapsed().as_secs_f64() < secs as f64 {
        let t = t0.elapsed().as_secs_f64();
        if killed_at.is_none() && t >= half {
            // Kill with a job surely in flight: a coverage job seen running.
            let cut = start_running_job(&addr, "/api/v1/datasets/soak/coverage");
            shared
                .ledger
                .lock()
                .unwrap()
                .jobs
                .insert(cut, ("running".into(), Instant::now()));
            shared.down.store(true, Ordering::SeqCst);
            killed_at = Some(Instant::now());
            drop(server); // SIGKILL, then reap
            let r0 = Instant::now();
            server = Server::start(&dir, &addr, "warn", SERVE_ARGS);
            restart_s = r0.elapsed().as_secs_f64();
            // Let in-flight connection failures of the old process land.
            std::thread::sleep(Duration::from_millis(500));
            shared.down.store(false, Ordering::SeqCst);
            println!("SIGKILL at {t:.0} s; serving again after {restart_s:.2} s");
            runs.push(Vec::new());
            run_start = t0.elapsed().as_secs_f64();
        }
        if let Some(mb) = server.rss_mb() {
            runs.last_mut()
                .expect("run")
                .push((t0.elapsed().as_secs_f64() - run_start, mb));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    shared.stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("load thread");
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let ledger = std::mem::take(&mut *shared.ledger.lock().unwrap());
    let lost = audit(&addr, &ledger, killed_at.unwrap_or_else(Instant::now));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    report(&Report {
        secs,
        elapsed,
        readers,
        restart_s,
        runs: &runs,
        ledger: &ledger,
        lost: &lost,
        load: (load_before, loadavg()),
    });
}

struct Report<'a> {
    secs: u64,
    elapsed: f64,
    readers: u64,
    restart_s: f64,
    runs: &'a [Vec<(f64, f64)>],
    ledger: &'a Ledger,
    lost: &'a [String],
    load: (String, String),
}

/// Prints the figures and the checks, writes them to `benches/SOAK_RESULTS.md`
/// and exits non-zero when a check failed.
fn report(r: &Report) {
    let mut memory = Vec::new();
    let mut flat = true;
    for (i, run) in r.runs.iter().enumerate() {
        let end = run.last().map_or(0.0, |s| s.0);
        let warm = median_between(run, 30.0_f64.min(end / 3.0), 90.0_f64.min(end / 2.0));
        let last = median_between(run, (end - 60.0).max(end / 2.0), end + 1.0);
        let max = run.iter().map(|s| s.1).fold(0.0, f64::max);
        flat &= last <= warm * 1.25;
        memory.push(format!(
            "run {} ({end:.0} s): warm {warm:.0} MB, last minute {last:.0} MB, max {max:.0} MB",
            i + 1
        ));
    }
    let l = r.ledger;
    let mut lat = l.read_us.clone();
    lat.sort_unstable();
    let reads: u64 = [
        "grids page",
        "households page",
        "job list",
        "grids download",
    ]
    .iter()
    .map(|k| l.ok.get(k).copied().unwrap_or(0))
    .sum();
    let counts =
        l.ok.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
    let checks = [
        ("no unexpected error", l.errors.is_empty()),
        ("nothing acknowledged lost", r.lost.is_empty()),
        ("memory flat (last minute ≤ 1.25 × warm)", flat),
    ];
    let mut md = format!(
        "# Soak run\n\n\
Measured by `cargo bench --bench soak` (benches/soak.rs): the real `wangge serve`\n\
binary on loopback over the demo district, {} s with a SIGKILL and restart halfway;\n\
{} keep-alive readers (grids and households vector tiles and items pages at a random\n\
place, job list, whole grids layer), a 2,000-household upload every 3 s (each its own\n\
dataset), a partition job every 15 s; the server's layer cache bounded at 16 MB. Load generator on the same machine (load average {} before,\n\
{} after).\n\n| what | result |\n|---|---|\n\
| ran | {:.0} s |\n| answered | {counts} |\n\
| reads | {reads} ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |\n\
| restart | serving again {:.2} s after the SIGKILL; {} connection failures while down (expected) |\n\
| memory | {} |\n| unexpected errors | {} |\n\
| acknowledged | {} uploads, {} jobs; lost: {} |\n\n",
        r.secs,
        r.readers,
        r.load.0,
        r.load.1,
        r.elapsed,
        reads as f64 / r.elapsed,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0),
        r.restart_s,
        l.down_failures,
        memory.join("; "),
        l.errors.len(),
        l.uploads.len(),
        l.jobs.len(),
        r.lost.len(),
    );
    for (name, ok) in checks {
        md.push_str(&format!("- {}: {name}\n", if ok { "PASS" } else { "FAIL" }));
    }
    for (what, detail) in l.errors.iter().take(10) {
        md.push_str(&format!("- error ({what}): {detail}\n"));
    }
    for lost in r.lost.iter().take(10) {
        md.push_str(&format!("- lost: {lost}\n"));
    }
    print!("{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/SOAK_RESULTS.md");
    if let Err(e) = std::fs::write(&out, &md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
    if checks.iter().any(|(_, ok)| !ok) {
        std::process::exit(1);
    }
}
