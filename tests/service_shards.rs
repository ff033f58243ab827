//! County shards: a partition over a province of 24 counties, queued on one
//! replica of two on a PostgreSQL database (a throwaway cluster,
//! tests/service/pg.rs), is cut into one shard per county and run by three
//! `wangge worker` processes. One worker is SIGKILLed while it holds a
//! shard; the other replica shows `shards_total`/`shards_done` as they go;
//! every shard is stored exactly once (the killed one by a second attempt,
//! every other by its first); and the grids layer has, byte for byte, the features
//! `wangge partition` writes for the same inputs, with the same summary as
//! the job run whole on the embedded store. The same job survives the
//! database restarting mid-job. A coverage and a census update cut into
//! county shards write, byte for byte, what they write run whole.

#[path = "service/common.rs"]
mod common;
#[path = "support/province.rs"]
mod province;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::pg::PgCluster;
use common::{get_ok, http, poll_job, put_layer, Server, Worker};
use province::{features_part, Province};
use serde_json::Value;

/// 24 counties of 3 areas each (every county's box has an empty cell).
const PROVINCE: Province = Province {
    counties: 24,
    areas_per_county: 3,
    points_per_area: 300,
    households_per_point: None,
};

/// Starts a partition of dataset `d` on `s`; the job's path.
fn partition(s: &Server) -> String {
    let r = http(&s.addr, "POST", "/api/v1/datasets/d/partition", None).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let url = r.json()["url"].as_str().unwrap().to_string();
    url.trim_start_matches("http://wangge.test").to_string()
}

fn replica(url: &str) -> Server {
    Server::start(
        &[
            "--store",
            url,
            "--public-url",
            "http://wangge.test",
            "--job-lease-s",
            "3",
            "--no-worker",
        ],
        &[],
    )
}

fn worker(url: &str, delay_ms: u64) -> Worker {
    Worker::start(
        url,
        &["--job-lease-s", "3"],
        &[("WANGGE_JOB_DELAY_MS", &delay_ms.to_string())],
    )
}

/// `wangge partition` over the province, its inputs normalised by `wangge
/// convert` as an upload normalises them: the grids file's bytes.
fn cli_grids(dir: &Path) -> Vec<u8> {
    let run = |args: &[&str]| {
        let out = Command::new(common::binary()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "wangge {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    std::fs::write(dir.join("areas.in.geojson"), PROVINCE.areas()).unwrap();
    std::fs::write(dir.join("households.in.geojson"), PROVINCE.households()).unwrap();
    for layer in ["areas", "households"] {
        run(&[
            "convert",
            "--layer",
            layer,
            "--in",
            &p(&format!("{layer}.in.geojson")),
            "--out",
            &p(&format!("{layer}.geojson")),
        ]);
    }
    run(&[
        "partition",
        "--areas",
        &p("areas.geojson"),
        "--households",
        &p("households.geojson"),
        "--out",
        &p("grids.geojson"),
    ]);
    std::fs::read(dir.join("grids.geojson")).unwrap()
}

/// A server on the embedded store in `dir`, which runs every job whole.
fn embedded(dir: &Path) -> Server {
    Server::start(
        &[
            "--data-dir",
            dir.join("sqlite").to_str().unwrap(),
            "--public-url",
            "http://wangge.test",
        ],
        &[],
    )
}

/// The summary of the same partition run whole, on the embedded store.
fn whole_run_summary(dir: &Path) -> Value {
    let s = embedded(dir);
    put_layer(&s, "areas", &PROVINCE.areas());
    put_layer(&s, "households", &PROVINCE.households());
    let path = partition(&s);
    let j = poll_job(&s, &path, 120, |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(
        j.get("shards_total").is_none(),
        "the embedded store runs jobs whole: {j}"
    );
    j["summary"].clone()
}

/// Asserts that the grids layer a client downloads from `s` has `cli`'s
/// features, byte for byte (a differing download is left beside the CLI's
/// file).
fn assert_grids_are(s: &Server, cli: &[u8], dir: &Path) {
    let got = get_ok(s, "/api/v1/datasets/d/layers/grids").body;
    if features_part(&got) != features_part(cli) {
        let path = dir.join("grids.sharded.geojson");
        std::fs::write(&path, &got).unwrap();
        panic!(
            "the sharded grids ({}) differ from the CLI's ({})",
            path.display(),
            dir.join("grids.geojson").display()
        );
    }
}

/// Every shard of job `id`, as `shard state attempt` lines.
fn shard_rows(cluster: &PgCluster, db: &str, id: &str) -> Vec<(String, String, u32)> {
    cluster
        .psql(
            db,
            &format!("SELECT shard, state, attempt FROM wangge.job_shards WHERE job = '{id}' ORDER BY ord"),
        )
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_province_is_cut_into_county_shards_that_survive_a_killed_worker() {
    let dir = common::temp_dir("shards");
    let cli = cli_grids(&dir);
    let whole = whole_run_summary(&dir);

    let cluster = PgCluster::shared();
    let url = cluster.fresh_database("shards");
    let db = url.rsplit('/').next().unwrap().to_string();
    let (a, b) = (replica(&url), replica(&url));
    put_layer(&a, "areas", &PROVINCE.areas());
    put_layer(&a, "households", &PROVINCE.households());
    // The first worker cuts the job and then holds its first shard for ten
    // minutes: it is surely mid-shard when it is killed.
    let w1 = worker(&url, 600_000);
    let path = partition(&a);
    let id = path.rsplit('/').next().unwrap().to_string();
    let held = {
        let t0 = Instant::now();
        loop {
            let running: Vec<_> = shard_rows(cluster, &db, &id)
                .into_iter()
                .filter(|(_, state, _)| state == "running")
                .collect();
            if running.len() == 1 {
                break running[0].0.clone();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no shard taken: {running:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (w2, w3) = (worker(&url, 0), worker(&url, 0));
    // Progress on the other replica, while the shards run.
    let mid = poll_job(&b, &path, 60, |j| j["shards_done"].as_u64() >= Some(3));
    assert_eq!(mid["shards_total"], 24, "{mid}");
    assert_eq!(mid["state"], "running", "{mid}");
    w1.kill9();
    let killed = Instant::now();
    let done = poll_job(&b, &path, 120, |j| j["state"] != "running");
    eprintln!(
        "24 county shards done {:?} after the worker holding {held} was killed",
        killed.elapsed()
    );
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        (
            &done["shards_total"],
            &done["shards_done"],
            &done["shards_failed"]
        ),
        (&Value::from(24), &Value::from(24), &Value::from(0)),
        "{done}"
    );
    // Stored exactly once: the killed shard by its second attempt, every
    // other one by its first.
    let rows = shard_rows(cluster, &db, &id);
    assert_eq!(rows.len(), 24);
    let codes: Vec<String> = (0..24).map(Province::county_code).collect();
    assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), codes);
    for (shard, state, attempt) in &rows {
        assert_eq!(state, "done", "{shard}");
        let expected = if *shard == held { 2 } else { 1 };
        assert_eq!(*attempt, expected, "shard {shard} ran {attempt} times");
    }
    // The results: the command line's grids, byte for byte, from either
    // replica, and the whole run's summary.
    assert_grids_are(&a, &cli, &dir);
    assert_grids_are(&b, &cli, &dir);
    assert_eq!(
        done["summary"], whole,
        "the summary differs from the whole run's"
    );
    assert!(whole["household_locations_outside_areas"].as_u64() > Some(0));
    let queued = cluster.psql(&db, "SELECT count(*) FROM graphile_worker._private_jobs");
    assert_eq!(
        queued.trim(),
        "0",
        "the queue is empty once the job is done"
    );
    drop((w2, w3));
}

/// The database restarted while the shards run: the job still finishes
/// (the shards cut off are run again) or fails with a reason, never hangs,
/// and when it succeeds its grids are the command line's.
#[test]
fn a_database_restart_mid_shards_never_hangs() {
    let dir = common::temp_dir("shards-restart");
    let cli = cli_grids(&dir);
    let cluster = PgCluster::start(false);
    let url = cluster.fresh_database("shards_restart");
    let (a, b) = (replica(&url), replica(&url));
    put_layer(&a, "areas", &PROVINCE.areas());
    put_layer(&a, "households", &PROVINCE.households());
    // Shards take 300 ms each at least, so the restart lands among them.
    let workers: Vec<Worker> = (0..3).map(|_| worker(&url, 300)).collect();
    let path = partition(&a);
    poll_job(&b, &path, 60, |j| j["shards_done"].as_u64() >= Some(2));
    let j = common::job_after_database_restart(&cluster, &b, &path, 120);
    if j["state"] == "succeeded" {
        assert_eq!(j["shards_done"], 24, "{j}");
        assert_grids_are(&a, &cli, &dir);
    }
    drop(workers);
}

/// A sharded job cancelled on the other replica stops at its next shard:
/// no shard is taken after the request, and no grids are written.
#[test]
fn a_sharded_job_is_cancelled_from_any_replica() {
    let url = PgCluster::shared().fresh_database("shards_cancel");
    let (a, b) = (replica(&url), replica(&url));
    put_layer(&a, "areas", &PROVINCE.areas());
    put_layer(&a, "households", &PROVINCE.households());
    let workers: Vec<Worker> = (0..2).map(|_| worker(&url, 300)).collect();
    let path = partition(&a);
    let running = poll_job(&b, &path, 60, |j| j["shards_done"].as_u64() >= Some(1));
    assert_eq!(running["state"], "running", "{running}");
    let r = http(&b.addr, "DELETE", &path, None).unwrap();
    assert!(
        r.status < 300,
        "{} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let j = poll_job(&a, &path, 30, |j| j["state"] != "running");
    assert_eq!(j["state"], "cancelled", "{j}");
    assert!(j["shards_done"].as_u64() < Some(24), "{j}");
    let r = http(&a.addr, "GET", "/api/v1/datasets/d/layers/grids", None).unwrap();
    assert_eq!(r.status, 404, "a cancelled job writes no grids");
    drop(workers);
}

/// What a coverage job writes; the sharded run must write each the same.
const COVERAGE_LAYERS: [&str; 5] = [
    "coverage_households",
    "coverage_cameras",
    "coverage",
    "gaps",
    "coverage_sites",
];

fn put_coverage_inputs(s: &Server) {
    put_layer(s, "areas", &PROVINCE.areas());
    put_layer(s, "households", &PROVINCE.households());
    put_layer(s, "cameras", &PROVINCE.cameras(700));
    put_layer(s, "buildings", &PROVINCE.buildings(4000));
    put_layer(s, "sites", &PROVINCE.sites(300));
}

/// Runs the job posted to `post` (with `body`) on `s` to its end; the
/// finished job.
fn run_job(s: &Server, post: &str, body: Option<&str>) -> Value {
    let r = http(&s.addr, "POST", post, body.map(str::as_bytes)).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let url = r.json()["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches("http://wangge.test").to_string();
    poll_job(s, &path, 300, |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
}

/// Runs a coverage of dataset `d` on `s` to its end; the finished job.
fn coverage(s: &Server) -> Value {
    run_job(s, "/api/v1/datasets/d/coverage", None)
}

/// `[minx, miny, maxx, maxy]` of each county's areas.
fn county_boxes() -> Vec<[f64; 4]> {
    let areas: Value = serde_json::from_str(&PROVINCE.areas()).unwrap();
    let mut boxes: std::collections::BTreeMap<String, [f64; 4]> = Default::default();
    for f in areas["features"].as_array().unwrap() {
        let county = f["properties"]["code"].as_str().unwrap()[..6].to_string();
        let b = boxes
            .entry(county)
            .or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
        for c in f["geometry"]["coordinates"][0].as_array().unwrap() {
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }
    boxes.into_values().collect()
}

/// The point features of a layer: (lon, lat, properties).
fn points(collection: &[u8]) -> Vec<(f64, f64, Value)> {
    let v: Value = serde_json::from_slice(collection).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
                f["properties"].clone(),
            )
        })
        .collect()
}

/// A coverage over the province, cut into its 24 counties and run by two
/// workers on PostgreSQL, writes every layer the whole run on the embedded
/// store writes, byte for byte, with the same summary; the province is
/// made so that cameras see across county borders and into the ground
/// between counties, which no county's box holds.
#[test]
fn a_coverage_cut_into_county_shards_writes_what_the_whole_run_writes() {
    let dir = common::temp_dir("coverage-shards");
    let whole = embedded(&dir);
    put_coverage_inputs(&whole);
    let w = coverage(&whole);
    assert_eq!(w["state"], "succeeded", "{w}");
    assert!(w.get("shards_total").is_none(), "{w}");

    // The province is one to test shards with: households seen by cameras
    // standing outside their county's box, and households in no county's
    // box seen at all.
    let boxes = county_boxes();
    let holds = |b: &[f64; 4], x: f64, y: f64| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
    let cameras: std::collections::HashMap<String, (f64, f64)> =
        points(&get_ok(&whole, "/api/v1/datasets/d/layers/coverage_cameras").body)
            .into_iter()
            .map(|(x, y, p)| (p["id"].as_str().unwrap().to_string(), (x, y)))
            .collect();
    let households = points(&get_ok(&whole, "/api/v1/datasets/d/layers/coverage_households").body);
    let (mut across, mut beyond) = (0, 0);
    for (x, y, p) in &households {
        let seen_by: Vec<(f64, f64)> = p["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| cameras[id.as_str().unwrap()])
            .collect();
        match boxes.iter().find(|b| holds(b, *x, *y)) {
            None => beyond += usize::from(!seen_by.is_empty()),
            Some(b) => {
                across += seen_by
                    .iter()
                    .filter(|(cx, cy)| !holds(b, *cx, *cy))
                    .count()
            }
        }
    }
    assert!(across > 0 && beyond > 0, "across {across}, beyond {beyond}");
    let summary = &w["summary"];
    for key in [
        "covered_households",
        "gaps",
        "sites_covered",
        "area_cells_covered",
    ] {
        assert!(summary[key].as_u64() > Some(0), "{key}: {summary}");
    }

    let url = PgCluster::shared().fresh_database("coverage_shards");
    let a = replica(&url);
    put_coverage_inputs(&a);
    let workers: Vec<Worker> = (0..2).map(|_| worker(&url, 0)).collect();
    let t0 = Instant::now();
    let j = coverage(&a);
    eprintln!("sharded coverage: {:?}", t0.elapsed());
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(
        (&j["shards_total"], &j["shards_done"], &j["shards_failed"]),
        (&Value::from(24), &Value::from(24), &Value::from(0)),
        "{j}"
    );
    assert_eq!(
        j["summary"], w["summary"],
        "the summary differs from the whole run's"
    );
    for layer in COVERAGE_LAYERS {
        let path = format!("/api/v1/datasets/d/layers/{layer}");
        let (sharded, one) = (get_ok(&a, &path).body, get_ok(&whole, &path).body);
        if features_part(&sharded) != features_part(&one) {
            let (s, o) = (
                dir.join(format!("{layer}.sharded.geojson")),
                dir.join(format!("{layer}.whole.geojson")),
            );
            std::fs::write(&s, &sharded).unwrap();
            std::fs::write(&o, &one).unwrap();
            panic!(
                "{layer}: the sharded run's ({}) differs from the whole run's ({})",
                s.display(),
                o.display()
            );
        }
    }
    drop(workers);
}

/// What a census update wrote: the finished job, its grids and its change
/// layer.
struct Updated {
    job: Value,
    grids: Vec<u8>,
    changes: Vec<u8>,
}

/// Partitions the province on `s`, then updates its grids after a census.
fn census_update(s: &Server) -> Updated {
    put_layer(s, "areas", &PROVINCE.areas());
    put_layer(s, "households", &PROVINCE.households());
    let j = run_job(s, "/api/v1/datasets/d/partition", None);
    assert_eq!(j["state"], "succeeded", "{j}");
    put_layer(s, "areas", &PROVINCE.areas_after_census());
    put_layer(s, "households", &PROVINCE.households_after_census());
    let job = run_job(s, "/api/v1/datasets/d/partition?update=true", None);
    assert_eq!(job["state"], "succeeded", "{job}");
    Updated {
        job,
        grids: get_ok(s, "/api/v1/datasets/d/layers/grids").body,
        changes: get_ok(s, "/api/v1/datasets/d/layers/grid_changes").body,
    }
}

/// Grids of the change layer that changed as `change`, as (parent code,
/// southern edge).
fn changed(layer: &[u8], change: &str) -> Vec<(String, f64)> {
    let v: Value = serde_json::from_slice(layer).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["change"] == change)
        .map(|f| {
            let south = south_of(&f["geometry"]["coordinates"]);
            let parent = f["properties"]["parent_code"].as_str().unwrap();
            (parent.to_string(), south)
        })
        .collect()
}

/// The least latitude of a (multi)polygon's coordinates.
fn south_of(coordinates: &Value) -> f64 {
    let items = coordinates.as_array().unwrap();
    match items.first() {
        Some(Value::Number(_)) => items[1].as_f64().unwrap(),
        _ => items.iter().map(south_of).fold(f64::MAX, f64::min),
    }
}

/// A census update of the province (households come and go, one area
/// shrinks, one is dissolved, a county is added), cut into its 25 counties
/// and run by two workers on PostgreSQL, writes the grids, the change layer
/// and the change report that the whole update on the embedded store
/// writes, byte for byte.
#[test]
fn a_census_update_cut_into_county_shards_writes_what_the_whole_update_writes() {
    let dir = common::temp_dir("update-shards");
    let whole = census_update(&embedded(&dir));
    assert!(whole.job.get("shards_total").is_none(), "{}", whole.job);

    // The census is one to test shards with: every kind of change, and
    // grids of the shrunk area beyond its county's box now, which only
    // their codes lead the county's shard to.
    let changes = &whole.job["summary"]["changes"];
    let totals = &changes["totals"];
    for key in [
        "adjusted",
        "new",
        "retired",
        "households_moved",
        "households_entered",
        "households_left",
    ] {
        assert!(totals[key].as_u64() > Some(0), "{key}: {totals}");
    }
    let modes: Vec<&str> = changes["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["mode"].as_str().unwrap())
        .collect();
    for mode in ["unchanged", "rebalanced", "repartitioned", "new", "removed"] {
        assert!(modes.contains(&mode), "no {mode} area: {modes:?}");
    }
    let shrunk = format!("{}{:06}", Province::county_code(0), 3);
    let county_top = province::ORIGIN.1 + 1.25 * province::CELL;
    let beyond = changed(&whole.changes, "retired")
        .into_iter()
        .filter(|(parent, south)| *parent == shrunk && *south > county_top)
        .count();
    assert!(
        beyond > 0,
        "no retired grid beyond the shrunk area's county: {:?} {:?}",
        changed(&whole.changes, "retired"),
        changes["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == shrunk.as_str())
    );

    let url = PgCluster::shared().fresh_database("update_shards");
    let a = replica(&url);
    let workers: Vec<Worker> = (0..2).map(|_| worker(&url, 0)).collect();
    let sharded = census_update(&a);
    let j = &sharded.job;
    assert_eq!(
        (&j["shards_total"], &j["shards_done"], &j["shards_failed"]),
        (&Value::from(25), &Value::from(25), &Value::from(0)),
        "{j}"
    );
    let totals = |j: &Value| j["summary"]["changes"]["totals"].clone();
    assert_eq!(
        totals(j),
        totals(&whole.job),
        "the change totals differ from the whole update's"
    );
    if j["summary"] != whole.job["summary"] {
        let (s, o) = (
            dir.join("summary.sharded.json"),
            dir.join("summary.whole.json"),
        );
        std::fs::write(&s, serde_json::to_string_pretty(&j["summary"]).unwrap()).unwrap();
        std::fs::write(
            &o,
            serde_json::to_string_pretty(&whole.job["summary"]).unwrap(),
        )
        .unwrap();
        panic!(
            "the summary ({}) differs from the whole update's ({})",
            s.display(),
            o.display()
        );
    }
    for (layer, got, want) in [
        ("grids", &sharded.grids, &whole.grids),
        ("grid_changes", &sharded.changes, &whole.changes),
    ] {
        if features_part(got) != features_part(want) {
            let (s, o) = (
                dir.join(format!("{layer}.sharded.geojson")),
                dir.join(format!("{layer}.whole.geojson")),
            );
            std::fs::write(&s, got).unwrap();
            std::fs::write(&o, want).unwrap();
            panic!(
                "{layer}: the sharded update's ({}) differs from the whole update's ({})",
                s.display(),
                o.display()
            );
        }
    }
    drop(workers);
}

/// Grids a planner keeps in three counties: the first of one area each.
const LOCKED: [&str; 3] = ["341101000001001", "341106000002001", "341124000003001"];

/// Partitions the province on `s`, then again after a census around the
/// [`LOCKED`] grids; the finished job and its grids.
fn partition_around_locked(s: &Server) -> (Value, Vec<u8>) {
    put_layer(s, "areas", &PROVINCE.areas());
    put_layer(s, "households", &PROVINCE.households());
    let j = run_job(s, "/api/v1/datasets/d/partition", None);
    assert_eq!(j["state"], "succeeded", "{j}");
    put_layer(s, "households", &PROVINCE.households_after_census());
    let body = serde_json::json!({ "locked": LOCKED }).to_string();
    let job = run_job(s, "/api/v1/datasets/d/partition", Some(&body));
    assert_eq!(job["state"], "succeeded", "{job}");
    (job, get_ok(s, "/api/v1/datasets/d/layers/grids").body)
}

/// A partition around grids kept in three counties, cut into the 24
/// counties on PostgreSQL, writes the grids (locked ones marked) and the
/// summary that the whole run on the embedded store writes.
#[test]
fn a_partition_around_locked_grids_cut_into_county_shards_writes_what_the_whole_run_writes() {
    let dir = common::temp_dir("locked-shards");
    let (whole, whole_grids) = partition_around_locked(&embedded(&dir));
    assert!(whole.get("shards_total").is_none(), "{whole}");
    assert_eq!(whole["summary"]["locked"], 3, "{whole}");
    let grids: Value = serde_json::from_slice(&whole_grids).unwrap();
    let marked: Vec<&str> = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["locked"] == true)
        .map(|f| f["properties"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(marked, LOCKED, "the locked grids, marked, in area order");

    let url = PgCluster::shared().fresh_database("locked_shards");
    let a = replica(&url);
    let workers: Vec<Worker> = (0..2).map(|_| worker(&url, 0)).collect();
    let (sharded, sharded_grids) = partition_around_locked(&a);
    assert_eq!(
        (
            &sharded["shards_total"],
            &sharded["shards_done"],
            &sharded["shards_failed"]
        ),
        (&Value::from(24), &Value::from(24), &Value::from(0)),
        "{sharded}"
    );
    assert_eq!(
        sharded["summary"], whole["summary"],
        "the summary differs from the whole run's"
    );
    if features_part(&sharded_grids) != features_part(&whole_grids) {
        let path = dir.join("grids.sharded.geojson");
        std::fs::write(&path, &sharded_grids).unwrap();
        std::fs::write(dir.join("grids.whole.geojson"), &whole_grids).unwrap();
        panic!(
            "the sharded grids ({}) differ from the whole run's",
            path.display()
        );
    }
    drop(workers);
}

/// A layer uploaded again while a sharded job runs fails the job with the
/// layer named (its shards would otherwise have read two generations of
/// it), and writes nothing; run again, the job succeeds.
#[test]
fn an_input_rewritten_among_the_shards_fails_the_job_with_the_layer_named() {
    let url = PgCluster::shared().fresh_database("shards_rewritten");
    let a = replica(&url);
    put_layer(&a, "areas", &PROVINCE.areas());
    put_layer(&a, "households", &PROVINCE.households());
    let workers: Vec<Worker> = (0..2).map(|_| worker(&url, 500)).collect();
    let path = partition(&a);
    poll_job(&a, &path, 60, |j| j["shards_done"].as_u64() >= Some(2));
    put_layer(&a, "households", &PROVINCE.households_after_census());
    let j = poll_job(&a, &path, 60, |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(j["state"], "failed", "{j}");
    let reason = j["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("the dataset's households layer changed while the job ran"),
        "{j}"
    );
    let r = http(&a.addr, "GET", "/api/v1/datasets/d/layers/grids", None).unwrap();
    assert_eq!(r.status, 404, "a failed job writes no grids");
    let again = run_job(&a, "/api/v1/datasets/d/partition", None);
    assert_eq!(again["state"], "succeeded", "{again}");
    drop(workers);
}
