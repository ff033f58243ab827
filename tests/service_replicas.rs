//! Replicas: two real `wangge serve` processes on one PostgreSQL database (a
//! throwaway cluster, tests/service/pg.rs) answer alike. An upload on replica
//! A is read from replica B byte for byte (items and vector tiles); a job
//! queued on A shows its state and progress on B, and B can cancel one; a
//! layer replaced on A is served fresh by B on the very next request.

#[path = "service/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::{http, Resp, Server};

/// A replica on the database at `url`; jobs wait `delay_ms` before they run.
fn replica(url: &str, delay_ms: u64) -> Server {
    Server::start(
        &[
            "--store",
            url,
            "--public-url",
            "http://wangge.test",
            "--job-lease-s",
            "3",
        ],
        &[("WANGGE_JOB_DELAY_MS", &delay_ms.to_string())],
    )
}

fn get(s: &Server, path: &str) -> Resp {
    let r = http(&s.addr, "GET", path, None).unwrap();
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r
}

fn put(s: &Server, layer: &str, body: &str) {
    let r = http(
        &s.addr,
        "PUT",
        &format!("/api/v1/datasets/d/layers/{layer}"),
        Some(body.as_bytes()),
    )
    .unwrap();
    assert!(
        r.status == 200 || r.status == 201,
        "{layer}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
}

/// The Web Mercator tile holding (lon, lat) at zoom `z`, as `z/y/x`.
fn tile_of(lon: f64, lat: f64, z: u32) -> String {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    format!("{z}/{y}/{x}")
}

fn job_path(r: &Resp) -> String {
    let url = r.json()["url"].as_str().unwrap().to_string();
    url.trim_start_matches("http://wangge.test").to_string()
}

/// Polls `path` on `s` until `done` holds for the job document (30 s at most).
fn wait_job(
    s: &Server,
    path: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let j = get(s, path).json();
        if done(&j) {
            return j;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{path}: {j}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_replicas_answer_alike() {
    let url = PgCluster::shared().fresh_database("replicas");
    let a = replica(&url, 3000);
    let b = replica(&url, 3000);

    // Uploaded on A, served by B: the same bytes.
    put(&a, "areas", &common::areas(3));
    put(&a, "households", &common::households(2000));
    for path in [
        "/collections/d.households/items?limit=500&offset=700",
        "/collections/d.areas/items",
        "/collections/d.households/items?bbox=118.300,32.300,118.303,32.303",
        "/collections/d.households/items/h1234",
        "/collections/d.areas",
        &format!(
            "/collections/d.households/tiles/WebMercatorQuad/{}",
            tile_of(118.3049, 32.3049, 15)
        ),
    ] {
        let (ra, rb) = (get(&a, path), get(&b, path));
        assert_eq!(ra.body, rb.body, "{path}");
        assert!(!ra.body.is_empty(), "{path}");
        assert_eq!(ra.header("etag"), rb.header("etag"), "{path}");
    }
    let list = |s: &Server| get(s, "/api/v1/datasets/d").json()["layers"].clone();
    assert_eq!(list(&a), list(&b));

    // A layer replaced on A is fresh on B at once (B had it in memory).
    let before = get(&b, "/collections/d.households/items?limit=1");
    put(&a, "households", &common::households(1500));
    let after = get(&b, "/collections/d.households/items?limit=1");
    assert_eq!(after.json()["numberMatched"], 1500);
    assert_ne!(before.header("etag"), after.header("etag"));
    assert_eq!(
        get(&a, "/collections/d.households/items?limit=3").body,
        get(&b, "/collections/d.households/items?limit=3").body
    );
    // Deleted on B, gone on A.
    let r = http(
        &b.addr,
        "DELETE",
        "/api/v1/datasets/d/layers/households",
        None,
    )
    .unwrap();
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let r = http(
        &a.addr,
        "GET",
        "/collections/d.households/items?limit=1",
        None,
    )
    .unwrap();
    assert_eq!(r.status, 404);
    put(&b, "households", &common::households(2000));

    // A job queued on A: its state and progress show on B while it runs, and
    // its results are served by B once it succeeded.
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let path = job_path(&r);
    let seen = wait_job(&b, &path, |j| {
        j["state"] == "running" && j["stage"] == "waiting"
    });
    assert_eq!(seen["kind"], "partition");
    let done = wait_job(&b, &path, |j| j["state"] == "succeeded");
    assert_eq!(done["progress"], 1.0);
    assert_eq!(get(&a, &path).json()["state"], "succeeded");
    let grids = "/collections/d.grids/items";
    assert_eq!(get(&a, grids).body, get(&b, grids).body);
    assert!(get(&b, grids).json()["numberMatched"].as_u64().unwrap() > 0);

    // Cancelled from B while it runs on A.
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    let path = job_path(&r);
    wait_job(&b, &path, |j| j["state"] == "running");
    let r = http(&b.addr, "DELETE", &path, None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let j = wait_job(&a, &path, |j| j["state"] == "cancelled");
    assert_eq!(get(&b, &path).json()["state"], "cancelled", "{j}");
}

/// A replica killed with SIGKILL mid-job: another replica fails the job, with
/// a reason, once the lease has passed without a report.
#[test]
fn a_killed_replicas_job_is_failed_by_another() {
    let url = PgCluster::shared().fresh_database("lease");
    let a = replica(&url, 600_000);
    let b = replica(&url, 0);
    put(&a, "areas", &common::areas(2));
    put(&a, "households", &common::households(100));
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    let path = job_path(&r);
    wait_job(&b, &path, |j| j["state"] == "running");
    a.kill9();
    let j = wait_job(&b, &path, |j| j["state"] == "failed");
    assert!(j["reason"].as_str().unwrap().contains("stopped"), "{j}");
}
