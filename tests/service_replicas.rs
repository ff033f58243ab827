//! Replicas: two real `wangge serve` processes on one PostgreSQL database (a
//! throwaway cluster, tests/service/pg.rs) answer alike. An upload on replica
//! A is read from replica B byte for byte (items and vector tiles); a job
//! queued on A shows its state and progress on B, and B can cancel one; a
//! layer replaced on A is served fresh by B on the very next request. Jobs
//! go through the queue in the database: a worker killed mid-job loses it to
//! another, and a late worker's commit is fenced out.

#[path = "service/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::{get_ok, http, poll_job, put_layer, Resp, Server, Worker};

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

#[test]
fn two_replicas_answer_alike() {
    let url = PgCluster::shared().fresh_database("replicas");
    let a = replica(&url, 3000);
    let b = replica(&url, 3000);

    // Uploaded on A, served by B: the same bytes.
    put_layer(&a, "areas", &common::areas(3));
    put_layer(&a, "households", &common::households(2000));
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
        let (ra, rb) = (get_ok(&a, path), get_ok(&b, path));
        assert_eq!(ra.body, rb.body, "{path}");
        assert!(!ra.body.is_empty(), "{path}");
        assert_eq!(ra.header("etag"), rb.header("etag"), "{path}");
    }
    let list = |s: &Server| get_ok(s, "/api/v1/datasets/d").json()["layers"].clone();
    assert_eq!(list(&a), list(&b));

    // A layer replaced on A is fresh on B at once (B had it in memory).
    let before = get_ok(&b, "/collections/d.households/items?limit=1");
    put_layer(&a, "households", &common::households(1500));
    let after = get_ok(&b, "/collections/d.households/items?limit=1");
    assert_eq!(after.json()["numberMatched"], 1500);
    assert_ne!(before.header("etag"), after.header("etag"));
    assert_eq!(
        get_ok(&a, "/collections/d.households/items?limit=3").body,
        get_ok(&b, "/collections/d.households/items?limit=3").body
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
    put_layer(&b, "households", &common::households(2000));

    // A job queued on A: its state and progress show on B while it runs, and
    // its results are served by B once it succeeded.
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let path = job_path(&r);
    let seen = poll_job(&b, &path, 30, |j| {
        j["state"] == "running" && j["stage"] == "waiting"
    });
    assert_eq!(seen["kind"], "partition");
    let done = poll_job(&b, &path, 30, |j| j["state"] == "succeeded");
    assert_eq!(done["progress"], 1.0);
    assert_eq!(get_ok(&a, &path).json()["state"], "succeeded");
    let grids = "/collections/d.grids/items";
    assert_eq!(get_ok(&a, grids).body, get_ok(&b, grids).body);
    assert!(get_ok(&b, grids).json()["numberMatched"].as_u64().unwrap() > 0);

    // Cancelled from B while it runs on A.
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    let path = job_path(&r);
    poll_job(&b, &path, 30, |j| j["state"] == "running");
    let r = http(&b.addr, "DELETE", &path, None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let j = poll_job(&a, &path, 30, |j| j["state"] == "cancelled");
    assert_eq!(get_ok(&b, &path).json()["state"], "cancelled", "{j}");
}

/// A worker killed with SIGKILL mid-job: another worker takes the job over
/// from the queue within the recovery bound and commits its result once; the
/// job shows its progress on a replica that runs no jobs itself.
#[test]
fn a_killed_workers_job_is_taken_over() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_database("takeover");
    let a = Server::start(
        &[
            "--store",
            &url,
            "--public-url",
            "http://wangge.test",
            "--no-worker",
        ],
        &[],
    );
    let lease = ["--job-lease-s", "3"];
    // The first worker would wait ten minutes before computing.
    let w1 = Worker::start(&url, &lease, &[("WANGGE_JOB_DELAY_MS", "600000")]);
    put_layer(&a, "areas", &common::areas(3));
    put_layer(&a, "households", &common::households(2000));
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let path = job_path(&r);
    poll_job(&a, &path, 30, |j| {
        j["state"] == "running" && j["stage"] == "waiting"
    });
    let w2 = Worker::start(&url, &lease, &[]);
    w1.kill9();
    let killed = Instant::now();
    let done = poll_job(&a, &path, 30, |j| j["state"] == "succeeded");
    // 3 s lease + heartbeat + sweep + poll (QueueTiming::takeover_bound: 5 s),
    // then a small partition; generous for a busy 2-core machine.
    let took = killed.elapsed();
    eprintln!("the killed worker's job finished on another {took:?} after the SIGKILL");
    assert!(took < Duration::from_secs(20), "taken over after {took:?}");
    assert_eq!(done["results"][0]["layer"], "grids", "{done}");
    let db = url.rsplit('/').next().unwrap();
    let id = path.rsplit('/').next().unwrap();
    let attempt = cluster.psql(
        db,
        &format!("SELECT attempt FROM wangge.jobs WHERE id = '{id}'"),
    );
    assert_eq!(attempt.trim(), "2", "the second worker's attempt committed");
    let grids = get_ok(&a, "/collections/d.grids");
    assert!(
        get_ok(&a, "/collections/d.grids/items").json()["numberMatched"]
            .as_u64()
            .unwrap()
            > 0
    );
    let queued = cluster.psql(db, "SELECT count(*) FROM graphile_worker._private_jobs");
    assert_eq!(
        queued.trim(),
        "0",
        "the queue is empty once the job is done"
    );
    // Committed once: nothing rewrites the layer later.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        get_ok(&a, "/collections/d.grids").header("etag"),
        grids.header("etag")
    );
    drop(w2);
}

/// The database restarted mid-job (every connection cut): the job resumes
/// (and succeeds) or fails with a reason, within a bounded wait, and the
/// replicas answer again afterwards.
#[test]
fn a_database_restart_mid_job_never_hangs() {
    // A cluster of this test's own: the restart cuts every connection.
    let cluster = PgCluster::start(false);
    let url = cluster.fresh_database("restart");
    let a = replica(&url, 2000);
    let b = Server::start(&["--store", &url, "--job-lease-s", "3", "--no-worker"], &[]);
    put_layer(&a, "areas", &common::areas(3));
    put_layer(&a, "households", &common::households(2000));
    let r = http(&a.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    let path = job_path(&r);
    poll_job(&b, &path, 30, |j| j["state"] == "running");
    let j = common::job_after_database_restart(&cluster, &b, &path, 60);
    if j["state"] == "succeeded" {
        assert!(
            get_ok(&b, "/collections/d.grids/items").json()["numberMatched"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
    // Both replicas take work again.
    put_layer(&b, "households", &common::households(1000));
    let r = http(&b.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    poll_job(&a, &job_path(&r), 30, |j| j["state"] == "succeeded");
}

/// The fencing check: once a job was claimed again (another worker took it
/// over), the earlier attempt's final commit is refused and the later one's
/// stands.
#[test]
fn a_late_worker_cannot_commit() {
    use wangge::store::postgres::PgStore;
    use wangge::store::{JobRecord, JobState, NewLayer, Store, StoreError};
    let url = PgCluster::shared().fresh_database("fencing");
    let (early, late) = (PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap());
    let record = JobRecord {
        id: "fenced-job".into(),
        dataset: "d".into(),
        kind: "partition".into(),
        state: JobState::Queued,
        progress: 0.0,
        stage: "queued".into(),
        reason: None,
        params: serde_json::json!({}),
        created: wangge::store::now_rfc3339(),
        started: None,
        finished: None,
        results: vec!["grids".into()],
        summary: serde_json::Value::Null,
        shards: None,
    };
    early.queue().unwrap().enqueue(&record).unwrap();
    let first = early.queue().unwrap().claim(&record.id).unwrap().unwrap();
    let second = late.queue().unwrap().claim(&record.id).unwrap().unwrap();
    assert_eq!((first.attempt, second.attempt), (1, 2));
    let mut done = record.clone();
    done.state = JobState::Succeeded;
    done.finished = Some(wangge::store::now_rfc3339());
    let layer = |n: &str| NewLayer {
        layer: "grids".into(),
        kind: "grids".into(),
        report: serde_json::json!({"by": n}),
        features: vec![],
    };
    match early.finish_job(&done, &[layer("early")], &[]) {
        Err(StoreError::Fenced(id)) => assert_eq!(id, record.id),
        other => panic!("the late commit was not refused: {other:?}"),
    }
    late.finish_job(&done, &[layer("late")], &[]).unwrap();
    let meta = early.layer("d", "grids").unwrap().unwrap();
    assert_eq!(meta.report["by"], "late");
    assert_eq!(
        early.job(&record.id).unwrap().unwrap().state,
        JobState::Succeeded
    );
    // A claim of a finished job finds nothing to run.
    assert!(early.queue().unwrap().claim(&record.id).unwrap().is_none());
}

/// A worker needs a store with a queue, and `--no-worker` a store others
/// run jobs from: refused with a reason, not started.
#[test]
fn worker_and_no_worker_need_postgresql() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::binary())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["worker", "--store", "sqlite:///tmp/x"]);
    assert!(e.contains("postgresql://"), "{e}");
    let dir = common::temp_dir("no-worker");
    let e = run(&["serve", "--no-worker", "--data-dir", dir.to_str().unwrap()]);
    assert!(e.contains("--no-worker needs --store"), "{e}");
    let e = run(&[
        "worker",
        "--store",
        "postgresql://u@127.0.0.1:1/x",
        "--job-lease-s",
        "0.5",
    ]);
    assert!(e.contains("--job-lease-s 0.5"), "{e}");
}
