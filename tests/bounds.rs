//! Job parameters have ranges and jobs have a size budget: a request for
//! `h3_resolution` 15 over a district, coverage of a country-sized area, 360
//! view axes per candidate with a long range, or cameras that see a hundred
//! kilometres is refused with its estimate before it starts, in well under a
//! second, and the server keeps answering. The command line refuses the same
//! with a one-line reason and a non-zero exit.

#[path = "service/common.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test as web_test;
use serde_json::Value;
use wangge::bounds::Budget;
use wangge::service::{self, engines::Builtin, Config};

/// A FeatureCollection of rectangles `(code, [x0, y0, x1, y1])`.
fn areas(rects: &[(&str, [f64; 4])]) -> String {
    let feats: Vec<String> = rects
        .iter()
        .map(|(code, [x0, y0, x1, y1])| {
            format!(
                r#"{{"type":"Feature","properties":{{"code":"{code}","kind":"urban"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

/// `n` points on a lattice filling the box, with `props` as their properties.
fn points(n: usize, [x0, y0, x1, y1]: [f64; 4], props: impl Fn(usize) -> String) -> String {
    let side = (n as f64).sqrt().ceil() as usize;
    let feats: Vec<String> = (0..n)
        .map(|i| {
            let (x, y) = (
                x0 + (x1 - x0) * ((i % side) as f64 + 0.5) / side as f64,
                y0 + (y1 - y0) * ((i / side) as f64 + 0.5) / side as f64,
            );
            format!(
                r#"{{"type":"Feature","properties":{},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#,
                props(i)
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

/// A district of about 10 km × 10 km near Chuzhou.
const DISTRICT: [f64; 4] = [118.25, 32.25, 118.36, 32.34];
/// Mainland China's bounding box, roughly: a "country-sized area".
const COUNTRY: [f64; 4] = [73.5, 18.0, 135.0, 53.5];
/// About 1 km × 1 km in the district's centre.
const CENTRE: [f64; 4] = [118.30, 32.29, 118.31, 32.30];

macro_rules! call {
    ($app:expr, $req:expr) => {{
        let req = $req
            .insert_header(("authorization", "Bearer p"))
            .to_request();
        let t0 = Instant::now();
        let res = web_test::call_service(&$app, req).await;
        let status = res.status();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = web_test::read_body(res).await.to_vec();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, ct, v, t0.elapsed())
    }};
}

macro_rules! put {
    ($app:expr, $ds:expr, $layer:expr, $body:expr) => {{
        let (s, _, v, _) = call!(
            $app,
            web_test::TestRequest::put()
                .uri(&format!("/api/v1/datasets/{}/layers/{}", $ds, $layer))
                .insert_header(("content-type", "application/geo+json"))
                .set_payload($body)
        );
        assert!(s.is_success(), "{s}: {v}");
    }};
}

macro_rules! job {
    ($app:expr, $ds:expr, $kind:expr, $body:expr) => {{
        call!(
            $app,
            web_test::TestRequest::post()
                .uri(&format!("/api/v1/datasets/{}/{}", $ds, $kind))
                .insert_header(("content-type", "application/json"))
                .set_payload($body)
        )
    }};
}

/// Asserts a fast refusal: `status`, problem+json, and for a budget refusal
/// the measure, the estimate above the budget, and the budget.
fn refused(
    what: &str,
    (s, ct, v, dt): (StatusCode, String, Value, Duration),
    status: u16,
    measure: Option<&str>,
) {
    eprintln!(
        "{what}: {s} in {:.1} ms: {}",
        dt.as_secs_f64() * 1e3,
        v["detail"]
    );
    assert_eq!(s.as_u16(), status, "{what}: {v}");
    assert_eq!(ct, "application/problem+json", "{what}");
    assert!(dt < Duration::from_millis(500), "{what} took {dt:?}");
    if let Some(m) = measure {
        assert_eq!(v["measure"], m, "{what}: {v}");
        let (e, b) = (
            v["estimate"].as_f64().unwrap(),
            v["budget"].as_f64().unwrap(),
        );
        assert!(e > b, "{what}: estimate {e} is not over the budget {b}");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains(m) && detail.contains("budget"), "{detail}");
    }
}

#[actix_web::test]
async fn oversized_jobs_are_refused_fast_and_the_server_keeps_answering() {
    let dir = common::temp_dir("bounds");
    let (state, store) = common::planner_service(&dir, Config::default());
    assert_eq!(state.config.job_budget, Budget::SERVICE);
    let app = web_test::init_service(service::app(state.clone())).await;

    // A district with 20,000 households, 200 cameras and 1,000 candidates.
    put!(app, "district", "areas", areas(&[("341102001", DISTRICT)]));
    put!(
        app,
        "district",
        "households",
        points(20_000, CENTRE, |_| "{}".into())
    );
    let cam = |i: usize| format!(r#"{{"id":"c{i}","type":"dome","range_m":40}}"#);
    put!(app, "district", "cameras", points(200, CENTRE, cam));
    put!(
        app,
        "district",
        "candidates",
        points(1000, CENTRE, |_| "{}".into())
    );

    // Ranges: 400 before any estimate.
    for (what, kind, body) in [
        ("h3_resolution 16", "coverage", r#"{"h3_resolution": 16}"#),
        (
            "range_m 100 km",
            "propose",
            r#"{"count": 5, "range_m": 100000}"#,
        ),
        (
            "720 orientations",
            "propose",
            r#"{"count": 5, "orientations": 720, "fov_deg": 90}"#,
        ),
        (
            "max_households 5M",
            "partition",
            r#"{"min_households": 1, "max_households": 5000000}"#,
        ),
    ] {
        refused(what, job!(app, "district", kind, body), 400, None);
    }

    // Budget: 422 with the estimate.
    let r = job!(app, "district", "coverage", r#"{"h3_resolution": 15}"#);
    refused("h3_resolution 15 over a district", r, 422, Some("cells"));
    let body = r#"{"count": 5, "range_m": 3000, "fov_deg": 90, "orientations": 360}"#;
    let r = job!(app, "district", "propose", body);
    refused("360 axes of 3 km per candidate", r, 422, Some("pairs"));

    // A country-sized area at the default resolution.
    put!(app, "country", "areas", areas(&[("100000", COUNTRY)]));
    put!(
        app,
        "country",
        "households",
        points(1000, CENTRE, |_| "{}".into())
    );
    put!(app, "country", "cameras", points(10, CENTRE, cam));
    let r = job!(app, "country", "coverage", "");
    refused("coverage of a country", r, 422, Some("cells"));

    // Cameras that claim to see 100 km are refused at upload: past the 3 km
    // the coverage engine measures.
    let far = |i: usize| format!(r#"{{"id":"f{i}","type":"ptz","range_m":100000}}"#);
    let (s, _, v, _) = call!(
        app,
        web_test::TestRequest::put()
            .uri("/api/v1/datasets/far/layers/cameras")
            .insert_header(("content-type", "application/geo+json"))
            .set_payload(points(10, DISTRICT, far))
    );
    // Every feature rejected: a well-formed layer that cannot be used, 422.
    assert_eq!(s.as_u16(), 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("3000 m"), "{v}");
    // 60,000 cameras of 3 km over 80,000 households in a 10 km district:
    // each camera against a quarter of them, 1.3e9 pairs.
    let wide = |i: usize| format!(r#"{{"id":"w{i}","type":"ptz","range_m":3000}}"#);
    put!(
        app,
        "far",
        "households",
        points(80_000, DISTRICT, |_| "{}".into())
    );
    put!(app, "far", "cameras", points(60_000, DISTRICT, wide));
    let r = job!(app, "far", "coverage", r#"{"area_coverage": false}"#);
    refused("60,000 cameras of 3 km range", r, 422, Some("pairs"));

    // Nothing was queued, and the server answers and runs a job in budget.
    assert!(
        store.jobs(None).unwrap().is_empty(),
        "refused jobs are never stored"
    );
    let (s, _, v, dt) = call!(app, web_test::TestRequest::get().uri("/health"));
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(dt < Duration::from_millis(500));
    let (s, _, v, _) = job!(app, "district", "coverage", r#"{"h3_resolution": 12}"#);
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let job = common::finished_job!(app, v["url"].as_str().unwrap(), "Bearer p", 120);
    assert_eq!(job["state"], "succeeded", "{job}");

    // The budget is the server's to set: a smaller one refuses that job too.
    let small = service::state_with(
        Config {
            tokens: common::planner_tokens(),
            data_dir: dir.clone(),
            job_budget: Budget {
                cells: 1e5,
                pairs: 1e9,
            },
            ..Config::default()
        },
        store.clone(),
        Arc::new(Builtin),
    )
    .unwrap();
    let app = web_test::init_service(service::app(small)).await;
    let r = job!(app, "district", "coverage", r#"{"h3_resolution": 12}"#);
    refused(
        "resolution 12 under a budget of 1e5 cells",
        r,
        422,
        Some("cells"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary; returns (success, stderr, seconds).
fn wangge(args: &[&str], dir: &Path) -> (bool, String, f64) {
    let t0 = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        t0.elapsed().as_secs_f64(),
    )
}

#[test]
fn the_command_line_refuses_absurd_parameters_with_a_reason() {
    let dir = common::temp_dir("bounds-cli");
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    write("country.geojson", areas(&[("100000", COUNTRY)]));
    write("households.geojson", points(1000, CENTRE, |_| "{}".into()));
    let cam = |i: usize| format!(r#"{{"id":"c{i}","type":"dome","range_m":40}}"#);
    write("cameras.geojson", points(10, CENTRE, cam));
    write("candidates.geojson", points(1000, CENTRE, |_| "{}".into()));
    // `wangge propose` on those layers with a range, then more arguments.
    let propose = |range_m: &'static str, more: &[&'static str]| {
        let mut args = vec![
            "propose",
            "--cameras",
            "cameras.geojson",
            "--households",
            "households.geojson",
            "--candidates",
            "candidates.geojson",
            "--count",
            "3",
            "--range-m",
            range_m,
        ];
        args.extend_from_slice(more);
        args
    };
    let cases: [(&str, Vec<&str>, &str); 4] = [
        (
            "coverage of a country",
            vec![
                "coverage",
                "--cameras",
                "cameras.geojson",
                "--households",
                "households.geojson",
                "--areas",
                "country.geojson",
                "--out",
                "cov",
            ],
            "cells",
        ),
        (
            "propose with a 5 km range",
            propose("5000", &["--out", "p.geojson"]),
            "--range-m",
        ),
        (
            "propose with 360 axes, under a small budget",
            propose(
                "3000",
                &[
                    "--fov-deg",
                    "60",
                    "--orientations",
                    "360",
                    "--max-pairs",
                    "1e8",
                    "--out",
                    "p.geojson",
                ],
            ),
            "pairs",
        ),
        (
            "rules of five million households",
            vec![
                "partition",
                "--areas",
                "country.geojson",
                "--households",
                "households.geojson",
                "--max-households",
                "5000000",
                "--out",
                "g.geojson",
            ],
            "max_households",
        ),
    ];
    for (what, args, names) in cases {
        let (ok, err, s) = wangge(&args, &dir);
        eprintln!("{what}: {:.2} s: {}", s, err.trim());
        assert!(!ok, "{what}: should fail");
        assert!(
            err.starts_with("wangge: error: ") && err.contains(names),
            "{what}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
        assert!(s < 5.0, "{what} took {s} s");
    }
    assert!(!dir.join("cov").exists() && !dir.join("p.geojson").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
