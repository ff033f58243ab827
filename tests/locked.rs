//! Partitioning around locked grids: the engine keeps them byte for byte
//! (geometry, code, households) and the result still tiles every area
//! exactly, by the independent oracle's recount (tests/support); the command
//! line's `--locked` and the service's `locked` job parameter write them
//! with `"locked": true`.

#[path = "service/common.rs"]
mod common;
mod support;

use std::process::Command;

use geo_types::MultiPolygon;
use serde_json::Value;
use support::*;
use wangge::model::{AreaKind, Rules};
use wangge::partition::{partition, partition_around, LockError, PartitionOptions};
use wangge::NoProgress;

const LON: f64 = 118.30;
const LAT: f64 = 32.30;

/// Two urban areas of 1.2 × 0.9 km side by side, 4,000 households each.
fn district() -> (Vec<wangge::model::Area>, Vec<wangge::model::Household>) {
    let a = MultiPolygon(vec![rect_m(LON, LAT, 1200.0, 900.0)]);
    let b = MultiPolygon(vec![rect_m(LON + 1200.0 * m_lon(LAT), LAT, 1200.0, 900.0)]);
    let mut rng = Rng::new(7);
    let mut hh = Vec::new();
    uniform_in(&mut rng, &a, 4000, &mut hh);
    uniform_in(&mut rng, &b, 4000, &mut hh);
    (
        vec![
            area("341102001001", AreaKind::Urban, a),
            area("341102001002", AreaKind::Urban, b),
        ],
        hh,
    )
}

#[test]
fn locked_grids_are_kept_exactly_and_the_rest_tiles_around_them() {
    let (areas, hh) = district();
    let first = partition(&areas, &hh, &[], &PartitionOptions::default(), &NoProgress).unwrap();
    check(&areas, &hh, &first, None);
    let in_a: Vec<usize> = (0..first.grids.len())
        .filter(|&g| first.grids[g].parent_code == areas[0].code)
        .collect();
    let in_b: Vec<usize> = (0..first.grids.len())
        .filter(|&g| first.grids[g].parent_code == areas[1].code)
        .collect();
    assert!(
        in_a.len() >= 6 && in_b.len() >= 6,
        "{} and {} grids",
        in_a.len(),
        in_b.len()
    );
    // Lock the second and last grids of the first area and all of the second.
    let mut locked: Vec<wangge::model::Grid> = vec![
        first.grids[in_a[1]].clone(),
        first.grids[*in_a.last().unwrap()].clone(),
    ];
    locked.extend(in_b.iter().map(|&g| first.grids[g].clone()));
    // Other rules, so the rest of the first area is drawn anew.
    let options = PartitionOptions {
        rules: Some(Rules {
            min_households: 250,
            max_households: 450,
            ..Rules::URBAN
        }),
        ..Default::default()
    };
    let run = partition_around(&areas, &hh, &[], &locked, &options, &NoProgress).unwrap();
    let p = &run.partition;
    assert_eq!(run.locked.len(), p.grids.len());
    for l in &locked {
        let i = p
            .grids
            .iter()
            .position(|g| g.code == l.code)
            .expect("locked grid kept");
        assert!(run.locked[i], "{} marked locked", l.code);
        let g = &p.grids[i];
        assert_eq!(g.geometry, l.geometry, "{}: geometry changed", l.code);
        assert_eq!(
            (g.households, g.persons),
            (l.households, l.persons),
            "{}",
            l.code
        );
        assert_eq!(&g.parent_code, &l.parent_code);
    }
    assert_eq!(run.locked.iter().filter(|l| **l).count(), locked.len());
    // The second area is all locked: nothing else there.
    assert_eq!(
        p.grids
            .iter()
            .filter(|g| g.parent_code == areas[1].code)
            .count(),
        in_b.len()
    );
    // New grids exist around the locked ones, and everything tiles and
    // recounts (the oracle also checks codes are unique).
    assert!(run.locked.iter().filter(|l| !**l).count() >= 3);
    let c = check(&areas, &hh, p, options.rules);
    eprintln!(
        "around locked: {} grids, union diff {:e}, overlap {:e}",
        c.grids, c.max_union_rel_diff, c.max_overlap_rel
    );

    // Refusals name the grid.
    let mut twice = locked.clone();
    twice.push(locked[0].clone());
    let e = partition_around(&areas, &hh, &[], &twice, &options, &NoProgress).unwrap_err();
    assert!(
        matches!(e, LockError::Duplicate(ref c) if *c == locked[0].code),
        "{e}"
    );
    let mut stray = locked[0].clone();
    stray.parent_code = "999".into();
    let e = partition_around(&areas, &hh, &[], &[stray], &options, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("999"), "{e}");
}

fn features(path: &std::path::Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

#[test]
fn the_command_line_locks_grids_of_previous() {
    let dir = std::env::temp_dir().join(format!("wangge-locked-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let bin = env!("CARGO_BIN_EXE_wangge");
    let first = dir.join("grids.geojson");
    let run = |extra: &[&str], out: &std::path::Path| {
        Command::new(bin)
            .arg("partition")
            .arg("--areas")
            .arg(demo.join("areas.geojson"))
            .arg("--households")
            .arg(demo.join("households.geojson"))
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(&[], &first);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let grids = features(&first);
    let codes: Vec<String> = [0, 5, 9]
        .iter()
        .map(|&i| grids[i]["properties"]["code"].as_str().unwrap().to_string())
        .collect();
    let second = dir.join("kept.geojson");
    let list = codes.join(",");
    let prev = first.to_str().unwrap().to_string();
    let o = run(
        &[
            "--previous",
            &prev,
            "--locked",
            &list,
            "--max-households",
            "450",
        ],
        &second,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept = features(&second);
    for c in &codes {
        let before = grids
            .iter()
            .find(|f| f["properties"]["code"] == c.as_str())
            .unwrap();
        let after = kept
            .iter()
            .find(|f| f["properties"]["code"] == c.as_str())
            .unwrap();
        assert_eq!(
            after["geometry"].to_string(),
            before["geometry"].to_string(),
            "{c}"
        );
        assert_eq!(
            after["properties"]["households"],
            before["properties"]["households"]
        );
        assert_eq!(after["properties"]["locked"], true, "{c}");
    }
    let marked = kept
        .iter()
        .filter(|f| f["properties"]["locked"] == true)
        .count();
    assert_eq!(marked, codes.len());
    let mut all: Vec<&str> = kept
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap())
        .collect();
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "codes unique");

    // Unknown code, and --locked without --previous.
    let o = run(
        &["--previous", &prev, "--locked", "nope"],
        &dir.join("x.geojson"),
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"nope\""),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["--locked", &list], &dir.join("y.geojson"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--previous"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Households on a lattice in every area of `common::areas(2)`, 10 a point.
fn lattice() -> String {
    let mut feats = Vec::new();
    for a in 0..2 {
        for b in 0..2 {
            for i in 0..10 {
                for j in 0..10 {
                    let x = 118.30 + a as f64 * 0.01 + (i as f64 + 0.5) * 0.001;
                    let y = 32.30 + b as f64 * 0.01 + (j as f64 + 0.5) * 0.001;
                    feats.push(format!(
                        r#"{{"type":"Feature","properties":{{"households":10,"persons":20}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#
                    ));
                }
            }
        }
    }
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

#[actix_web::test]
async fn the_service_keeps_locked_grids_of_the_current_grids_layer() {
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    use common::{app, call, json_of, put};
    let dir = common::temp_dir("locked-service");
    let (state, _store) = common::planner_service(&dir, wangge::service::Config::default());
    let app = app!(state);
    let auth = ("authorization", "Bearer p");
    for (layer, text) in [("areas", common::areas(2)), ("households", lattice())] {
        let (s, _, _) = call!(
            app,
            put(&format!("/api/v1/datasets/t/layers/{layer}"), text).insert_header(auth)
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    let post = |q: &str, body: &str| {
        TestRequest::post()
            .uri(&format!("/api/v1/datasets/t/partition{q}"))
            .insert_header(auth)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string())
    };
    let grids = |app_body: &[u8]| json_of(app_body)["features"].as_array().unwrap().clone();
    let (s, _, b) = call!(app, post("", ""));
    assert_eq!(s, StatusCode::ACCEPTED);
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 120);
    assert_eq!(job["state"], "succeeded");
    let (_, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/api/v1/datasets/t/layers/grids")
            .insert_header(auth)
    );
    let before = grids(&b);
    let codes: Vec<&str> = [0usize, 2]
        .iter()
        .map(|&i| before[i]["properties"]["code"].as_str().unwrap())
        .collect();

    // Refused before queueing: a bad list, and locking in an update.
    let (s, _, b) = call!(app, post("", r#"{"locked":"x"}"#));
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert!(String::from_utf8_lossy(&b).contains("locked"));
    let (s, _, _) = call!(
        app,
        post("?update=true", &format!(r#"{{"locked":["{}"]}}"#, codes[0]))
    );
    // Well-formed, but contradicting the update: no schema can refuse it.
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // An unknown code fails the job, naming it.
    let (_, _, b) = call!(app, post("", r#"{"locked":["nope"]}"#));
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 120);
    assert_eq!(job["state"], "failed");
    assert!(job["reason"].as_str().unwrap().contains("nope"), "{job}");

    let body = format!(
        r#"{{"locked":["{}","{}"],"min_households":200,"max_households":350}}"#,
        codes[0], codes[1]
    );
    let (s, _, b) = call!(app, post("", &body));
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 120);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["summary"]["locked"], 2);
    let (_, _, b) = call!(
        app,
        TestRequest::get()
            .uri("/api/v1/datasets/t/layers/grids")
            .insert_header(auth)
    );
    let after = grids(&b);
    for c in &codes {
        let old = before
            .iter()
            .find(|f| f["properties"]["code"] == *c)
            .unwrap();
        let new = after
            .iter()
            .find(|f| f["properties"]["code"] == *c)
            .unwrap();
        assert_eq!(
            new["geometry"].to_string(),
            old["geometry"].to_string(),
            "{c}"
        );
        assert_eq!(
            new["properties"]["households"],
            old["properties"]["households"]
        );
        assert_eq!(new["properties"]["locked"], true);
    }
    assert_eq!(
        after
            .iter()
            .filter(|f| f["properties"]["locked"] == true)
            .count(),
        2
    );
    assert!(after.len() > 2);
}
