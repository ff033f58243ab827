//! Durability: the real `wangge serve` binary is killed with SIGKILL in the
//! middle of uploads and of a running job, restarted on the same data
//! directory (or PostgreSQL database), and must have kept everything it
//! acknowledged, show no half-written layer, and report the interrupted job as
//! failed with a reason (SQLite) or run it again from the queue (PostgreSQL).

#[path = "service/common.rs"]
mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{http, Resp, Server};

/// Where a server keeps its data: a SQLite directory or a PostgreSQL URL.
enum Data {
    Dir(std::path::PathBuf),
    Postgres(String),
}

/// The server on `data`, its jobs held back `job_delay_ms` before they run.
fn start(data: &Data, job_delay_ms: u64) -> Server {
    let delay = job_delay_ms.to_string();
    let args: Vec<&OsStr> = match data {
        Data::Dir(dir) => vec![OsStr::new("--data-dir"), dir.as_os_str()],
        // A short lease: the restarted process takes the killed one's job over soon.
        Data::Postgres(url) => vec![
            OsStr::new("--store"),
            OsStr::new(url),
            OsStr::new("--job-lease-s"),
            OsStr::new("2"),
        ],
    };
    Server::start(&args, &[("WANGGE_JOB_DELAY_MS", &delay)])
}

fn matched(addr: &str, collection: &str) -> Option<u64> {
    let r = http(
        addr,
        "GET",
        &format!("/collections/{collection}/items?limit=1"),
        None,
    )
    .unwrap();
    if r.status == 404 {
        return None;
    }
    assert_eq!(r.status, 200);
    r.json()["numberMatched"].as_u64()
}

fn put(addr: &str, layer: &str, body: &str) -> std::io::Result<Resp> {
    http(
        addr,
        "PUT",
        &format!("/api/v1/datasets/d/layers/{layer}"),
        Some(body.as_bytes()),
    )
}

#[test]
fn sigkill_mid_upload_and_mid_job_loses_nothing_acknowledged() {
    let dir = common::temp_dir("restart");
    sigkill_mid_upload_and_mid_job(&Data::Dir(dir.clone()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_mid_upload_and_mid_job_loses_nothing_acknowledged_postgres() {
    let url = common::pg::PgCluster::shared().fresh_database("restart");
    sigkill_mid_upload_and_mid_job(&Data::Postgres(url));
}

fn sigkill_mid_upload_and_mid_job(data: &Data) {
    let server = start(data, 600_000);
    let addr = server.addr.clone();

    // Acknowledged uploads.
    let r = put(&addr, "areas", &common::areas(3)).unwrap();
    assert_eq!(r.status, 201);
    let r = put(&addr, "households", &common::households(5000)).unwrap();
    assert_eq!(r.status, 201);

    // A job that is running when the server dies (the delay keeps it running).
    let r = http(&addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202);
    let job_url = r.json()["url"].as_str().unwrap().to_string();
    let job_path = job_url
        .trim_start_matches(&format!("http://{addr}"))
        .to_string();
    let t0 = Instant::now();
    loop {
        let j = http(&addr, "GET", &job_path, None).unwrap().json();
        if j["state"] == "running" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "job never ran: {j}");
        std::thread::sleep(Duration::from_millis(20));
    }

    // A writer replacing the candidates layer again and again with a different
    // size each time, recording which versions were acknowledged.
    let acked: Arc<Mutex<Vec<usize>>> = Arc::default();
    let attempted: Arc<Mutex<Vec<usize>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, attempted, stop, addr) =
            (acked.clone(), attempted.clone(), stop.clone(), addr.clone());
        std::thread::spawn(move || {
            let mut n = 1000;
            while !stop.load(Ordering::SeqCst) {
                let body = common::households(n).replace("\"households\":2", "\"x\":1");
                attempted.lock().unwrap().push(n);
                match put(&addr, "candidates", &body) {
                    Ok(r) if r.status == 200 || r.status == 201 => acked.lock().unwrap().push(n),
                    _ => break,
                }
                n += 1;
            }
        })
    };
    // An upload cut off half-way: never acknowledged, must leave no trace.
    let big = common::households(40_000);
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "PUT /api/v1/datasets/d/layers/sites HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/geo+json\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .unwrap();
    s.write_all(&big.as_bytes()[..big.len() / 2]).unwrap();
    s.flush().unwrap();

    // Let the writer get a few versions in, then kill in the middle of it all.
    while acked.lock().unwrap().len() < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(37));
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    drop(s);
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let last_acked = *acked.last().unwrap();

    // Restart on the same directory (database).
    let server = start(data, 0);
    let addr = server.addr.clone();
    assert_eq!(matched(&addr, "d.areas"), Some(9));
    assert_eq!(matched(&addr, "d.households"), Some(5000));
    // The candidates layer is the last acknowledged version, or the one whose
    // answer was on its way: whole either way.
    let n = matched(&addr, "d.candidates").unwrap() as usize;
    assert!(
        n == last_acked || (attempted.contains(&n) && n > last_acked),
        "candidates has {n} features; last acknowledged {last_acked}, attempted up to {:?}",
        attempted.last()
    );
    // The cut-off upload left nothing.
    assert_eq!(matched(&addr, "d.sites"), None);
    // The job that was running: on SQLite failed at once, with a reason; on
    // PostgreSQL it is still in the queue, and the restarted process's
    // worker takes it over once the killed one's heartbeat is stale.
    let t0 = Instant::now();
    let j = loop {
        let j = http(&addr, "GET", &job_path, None).unwrap();
        assert_eq!(j.status, 200);
        let j = j.json();
        let settled = matches!(
            j["state"].as_str(),
            Some("failed" | "succeeded" | "cancelled")
        );
        if settled || t0.elapsed() > Duration::from_secs(30) {
            break j;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    match data {
        Data::Dir(_) => {
            assert_eq!(j["state"], "failed", "{j}");
            assert!(j["reason"].as_str().unwrap().contains("stopped"), "{j}");
        }
        Data::Postgres(_) => assert_eq!(j["state"], "succeeded", "{j}"),
    }
    // And the restarted server takes new work.
    let r = put(
        &addr,
        "sites",
        &common::households(10).replace("\"households\":2", "\"kind\":\"school\""),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    server.kill9();
}

/// `wangge serve --load data/demo` killed while computing the demo's grids and
/// coverage: the next start keeps every loaded layer, reports the interrupted
/// jobs as failed, and computes the missing results again.
#[test]
fn sigkill_during_demo_jobs_then_load_recomputes() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    assert!(
        demo.join("areas.geojson").exists(),
        "data/demo is part of the repository; restore it with `git checkout data/demo`"
    );
    let dir = common::temp_dir("restart-demo");
    let start = |dir: &Path| {
        let args = [
            OsStr::new("--load"),
            demo.as_os_str(),
            OsStr::new("--data-dir"),
            dir.as_os_str(),
        ];
        Server::start(&args, &[])
    };
    let server = start(&dir);
    let addr = server.addr.clone();
    // Kill as soon as a job runs (or at the latest when both are done).
    let t0 = Instant::now();
    loop {
        let j = http(&addr, "GET", "/api/v1/jobs", None).unwrap().json();
        let states: Vec<String> = j["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["state"].as_str().unwrap().to_string())
            .collect();
        if states.iter().any(|s| s == "running") || states.iter().all(|s| s == "succeeded") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();

    let server = start(&dir);
    let addr = server.addr.clone();
    for layer in common::DEMO_LAYERS {
        let text = std::fs::read_to_string(demo.join(format!("{layer}.geojson"))).unwrap();
        let want = serde_json::from_str::<serde_json::Value>(&text).unwrap()["features"]
            .as_array()
            .unwrap()
            .len() as u64;
        assert_eq!(
            matched(&addr, &format!("demo.{layer}")),
            Some(want),
            "{layer}"
        );
    }
    let t0 = Instant::now();
    loop {
        let j = http(&addr, "GET", "/api/v1/jobs", None).unwrap().json();
        let jobs = j["jobs"].as_array().unwrap().clone();
        for x in &jobs {
            if x["state"] == "failed" {
                assert!(x["reason"].as_str().unwrap().contains("stopped"), "{x}");
            }
        }
        if matched(&addr, "demo.grids").is_some()
            && matched(&addr, "demo.coverage").is_some()
            && !jobs
                .iter()
                .any(|x| x["state"] == "queued" || x["state"] == "running")
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "results never computed: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(matched(&addr, "demo.grids").unwrap() > 0);
    server.kill9();
    let _ = std::fs::remove_dir_all(&dir);
}
