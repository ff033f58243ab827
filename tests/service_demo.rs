//! The demo dataset end to end through the service with the real engines, as
//! `make run` serves it: `--load data/demo` stores every layer and computes grids
//! and coverage; the served grids are exactly those `wangge partition` writes;
//! proposals run as a job; viewers see the aggregates but no household data.

#[path = "service/common.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::Value;

use wangge::service::{self, Config};

fn demo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo"))
}

macro_rules! get {
    ($app:expr, $uri:expr, $token:expr) => {{
        let req = test::TestRequest::get()
            .uri($uri)
            .insert_header(("authorization", format!("Bearer {}", $token)))
            .to_request();
        let res = test::call_service(&$app, req).await;
        let status = res.status();
        let body = test::read_body(res).await;
        (
            status,
            serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
        )
    }};
}

#[actix_web::test]
async fn demo_loads_computes_and_serves_what_the_cli_writes() {
    assert!(
        demo().join("areas.geojson").exists(),
        "data/demo is part of the repository; restore it with `git checkout data/demo`"
    );
    let dir = common::temp_dir("demo");
    let (state, _) = common::service_over(
        &dir.join("data"),
        Config {
            tokens: common::planner_and_viewer_tokens(),
            ..Config::default()
        },
    );
    assert_eq!(service::load_dir(&state, demo(), "demo").unwrap(), 7);
    // A second load is a no-op: the dataset is stored and its jobs are pending.
    assert_eq!(service::load_dir(&state, demo(), "demo").unwrap(), 0);
    let app = test::init_service(service::app(state.clone())).await;

    // Both jobs succeed.
    let t0 = Instant::now();
    loop {
        let (s, j) = get!(app, "/api/v1/jobs?dataset=demo", "p");
        assert_eq!(s, StatusCode::OK);
        let jobs = j["jobs"].as_array().unwrap().clone();
        assert_eq!(jobs.len(), 2);
        if jobs.iter().all(|j| j["state"] == "succeeded") {
            break;
        }
        assert!(
            !jobs.iter().any(|j| j["state"] == "failed"),
            "a demo job failed: {jobs:?}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "demo jobs too slow"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }

    // With the results stored, a restart with --load starts no new job.
    assert_eq!(service::load_dir(&state, demo(), "demo").unwrap(), 0);
    let (_, j) = get!(app, "/api/v1/jobs?dataset=demo", "p");
    assert_eq!(j["jobs"].as_array().unwrap().len(), 2);

    // The served grids are the CLI's grids, feature for feature.
    let cli = dir.join("grids.geojson");
    let st = Command::new(common::binary())
        .arg("partition")
        .arg("--areas")
        .arg(demo().join("areas.geojson"))
        .arg("--households")
        .arg(demo().join("households.geojson"))
        .arg("--barriers")
        .arg(demo().join("barriers.geojson"))
        .arg("--out")
        .arg(&cli)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let written: Value = serde_json::from_slice(&std::fs::read(&cli).unwrap()).unwrap();
    let (s, served) = get!(app, "/api/v1/datasets/demo/layers/grids", "v");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(served["features"], written["features"]);
    let n = written["features"].as_array().unwrap().len();
    let (_, page) = get!(app, "/collections/demo.grids/items?limit=10000", "v");
    assert_eq!(page["numberMatched"].as_u64().unwrap() as usize, n);

    // Coverage layers: viewers get the aggregates, not the households.
    for c in ["demo.coverage", "demo.gaps", "demo.coverage_sites"] {
        let (s, page) = get!(app, &format!("/collections/{c}/items"), "v");
        assert_eq!(s, StatusCode::OK, "{c}");
        assert!(page["numberMatched"].as_u64().unwrap() > 0, "{c} is empty");
    }
    let (_, page) = get!(app, "/collections/demo.coverage/items?limit=1", "v");
    let p = &page["features"][0]["properties"];
    for k in [
        "households",
        "covered_households",
        "household_coverage",
        "area_coverage",
        "cameras",
        "cameras_online",
        "online_rate",
    ] {
        assert!(p.get(k).is_some(), "coverage property {k} missing: {p}");
    }
    for c in [
        "demo.households",
        "demo.coverage_households",
        "demo.coverage_cameras",
    ] {
        let (s, _) = get!(app, &format!("/collections/{c}/items"), "v");
        assert_eq!(s, StatusCode::FORBIDDEN, "{c}");
        let (s, _) = get!(app, &format!("/collections/{c}/items"), "p");
        assert_eq!(s, StatusCode::OK, "{c}");
    }
    let (_, page) = get!(
        app,
        "/collections/demo.coverage_households/items?limit=1",
        "p"
    );
    let p = &page["features"][0]["properties"];
    assert!(p["covered"].is_boolean() && p["cameras"].is_array(), "{p}");

    // Adopted grids can be uploaded (here: the CLI's), and a census update
    // recomputes them with the smallest change: nothing changed, so every grid
    // stays as it is.
    let req = test::TestRequest::put()
        .uri("/api/v1/datasets/demo/layers/grids")
        .insert_header(("authorization", "Bearer p"))
        .insert_header(("content-type", "application/geo+json"))
        .set_payload(std::fs::read(&cli).unwrap())
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let req = test::TestRequest::post()
        .uri("/api/v1/datasets/demo/partition?update=true")
        .insert_header(("authorization", "Bearer p"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let started: Value = serde_json::from_slice(&test::read_body(res).await).unwrap();
    let job = common::finished_job!(app, started["url"].as_str().unwrap(), "Bearer v", 120);
    assert_eq!(job["state"], "succeeded", "{job}");
    let totals = &job["summary"]["changes"]["totals"];
    assert_eq!(
        totals["unchanged"].as_u64().unwrap() as usize,
        n,
        "{totals}"
    );
    assert_eq!(totals["households_moved"], 0, "{totals}");
    let (s, page) = get!(app, "/collections/demo.grid_changes/items", "v");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["numberMatched"], 0);
    let (_, served) = get!(app, "/api/v1/datasets/demo/layers/grids", "v");
    assert_eq!(served["features"], written["features"]);

    // Proposals as a job.
    let req = test::TestRequest::post()
        .uri("/api/v1/datasets/demo/propose")
        .insert_header(("authorization", "Bearer p"))
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"count": 5, "range_m": 60}"#)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let started: Value = serde_json::from_slice(&test::read_body(res).await).unwrap();
    let job = common::finished_job!(app, started["url"].as_str().unwrap(), "Bearer v", 120);
    assert_eq!(job["state"], "succeeded", "{job}");
    let (_, page) = get!(app, "/collections/demo.proposals/items", "v");
    assert_eq!(page["numberMatched"], 5);
    let ranks: Vec<u64> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, vec![1, 2, 3, 4, 5]);
    let _ = std::fs::remove_dir_all(&dir);
}
