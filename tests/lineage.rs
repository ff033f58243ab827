//! Retired grid codes are never handed out again, across three successive
//! census updates, through the command line (`--previous G` with the lineage
//! kept beside G) and through HTTP (the lineage kept per dataset).
//!
//! The scenario makes the danger real: update 1 demolishes the block of the
//! grid with the highest code of an area, so that code is retired and is above
//! every code still in use; updates 2 and 3 build estates on the same ground,
//! which need new grids. Without the lineage, the next free number would be
//! the retired code (the test shows that with the lineage file removed).

mod support;

#[path = "service/common.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test as web_test;
use geo::Contains;
use geo_types::MultiPolygon;
use serde_json::Value;
use support::*;
use wangge::layers::lineage::{lineage_path, read_lineage};
use wangge::layers::previous::read_previous_grids;
use wangge::layers::{outputs, AnyLayer, FeatureWriter};
use wangge::model::{Area, AreaKind, Grid, Household};
use wangge::partition::{update, RetiredCode};
use wangge::NoProgress;
use wangge::service::{self, engines::Builtin, Config, Role, Tokens};
use wangge::store::{SqliteStore, Store};

const LON: f64 = 118.30;
const LAT: f64 = 32.30;
/// The area whose codes the scenario retires and hands out.
const TOWN: &str = "341102001";

fn areas() -> Vec<Area> {
    vec![
        area(
            TOWN,
            AreaKind::Urban,
            MultiPolygon(vec![rect_m(LON, LAT, 2400.0, 1800.0)]),
        ),
        area(
            "341103003",
            AreaKind::Rural,
            MultiPolygon(vec![rect_m(LON, LAT + 0.03, 3000.0, 2500.0)]),
        ),
    ]
}

fn census_0(rng: &mut Rng, areas: &[Area]) -> Vec<Household> {
    let mut hh = Vec::new();
    uniform_in(rng, &areas[0].geometry, 8000, &mut hh);
    clustered_in(rng, &areas[1].geometry, 4000, 4, 300.0, &mut hh);
    hh
}

/// The sequence number of a code of the town.
fn seq(code: &str) -> u64 {
    code.strip_prefix(TOWN).unwrap().parse().unwrap()
}

fn town_codes(grids: &[Grid]) -> BTreeSet<String> {
    grids
        .iter()
        .filter(|g| g.parent_code == TOWN)
        .map(|g| g.code.clone())
        .collect()
}

/// Update 1: a block of the town is demolished: the block of one of its
/// grids, chosen (by trying the update in the library, highest codes first) so
/// that the update retires a code above every code the town keeps. The retired
/// code is then the next number a careless update would hand out.
fn census_1(hh: &[Household], adopted: &[Grid]) -> (Vec<Household>, MultiPolygon<f64>) {
    let mut victims: Vec<&Grid> = adopted.iter().filter(|g| g.parent_code == TOWN).collect();
    victims.sort_by_key(|g| std::cmp::Reverse(seq(&g.code)));
    for victim in victims {
        let ground = victim.geometry.clone();
        let kept: Vec<Household> = hh
            .iter()
            .filter(|h| !ground.contains(&h.location))
            .cloned()
            .collect();
        let u = update(&areas(), &kept, &[], adopted, &Default::default(), &NoProgress).unwrap();
        let top_in_use = town_codes(&u.partition.grids).iter().map(|c| seq(c)).max();
        let retires_top = u.changes.retired_codes(&[]).iter().any(|r| {
            r.parent_code == TOWN && Some(seq(&r.code)) > top_in_use
        });
        if retires_top {
            return (kept, ground);
        }
    }
    panic!("no demolition among the town's top grids retires its highest code");
}

/// Updates 2 and 3: an estate of `n` households on the demolished ground.
fn estate(rng: &mut Rng, hh: &[Household], ground: &MultiPolygon<f64>, n: usize) -> Vec<Household> {
    let mut out = hh.to_vec();
    uniform_in(rng, ground, n, &mut out);
    out
}

/// What one run of the scenario produced: the grids of every step (adopted,
/// then three updates) and the lineage after every update.
struct Run {
    grids: Vec<Vec<Grid>>,
    lineages: Vec<Vec<RetiredCode>>,
}

/// The promises, checked on the outputs alone.
fn check(run: &Run) {
    let (g, l) = (&run.grids, &run.lineages);
    assert_eq!((g.len(), l.len()), (4, 3));
    // Update 1 retired a town code above every code still in use there: the
    // number a careless update would hand out next.
    let r1: Vec<&RetiredCode> = l[0].iter().filter(|r| r.parent_code == TOWN).collect();
    let top_retired = r1.iter().map(|r| seq(&r.code)).max();
    let top_in_use = town_codes(&g[1]).iter().map(|c| seq(c)).max().unwrap();
    assert!(
        top_retired.is_some_and(|t| t > top_in_use),
        "update 1 should retire the town's highest code: retired {r1:?}, highest in use {top_in_use}"
    );
    for k in 0..3 {
        // The lineage only grows, and holds every code an update dropped.
        let pairs = |l: &[RetiredCode]| -> BTreeSet<(String, String)> {
            l.iter()
                .map(|r| (r.parent_code.clone(), r.code.clone()))
                .collect()
        };
        let before = if k == 0 { BTreeSet::new() } else { pairs(&l[k - 1]) };
        let after = pairs(&l[k]);
        assert!(before.is_subset(&after), "update {}: the lineage lost codes", k + 1);
        let gone: BTreeSet<String> = town_codes(&g[k])
            .difference(&town_codes(&g[k + 1]))
            .cloned()
            .collect();
        for c in &gone {
            assert!(
                l[k].iter().any(|r| &r.code == c),
                "update {}: {c} disappeared but is not in the lineage",
                k + 1
            );
        }
    }
    for k in 2..4 {
        let new: Vec<String> = town_codes(&g[k])
            .difference(&town_codes(&g[k - 1]))
            .cloned()
            .collect();
        assert!(!new.is_empty(), "update {k}: the estate needs a new grid");
        for c in town_codes(&g[k]) {
            for lineage in &l[..k - 1] {
                assert!(
                    !lineage.iter().any(|r| r.code == c),
                    "update {k} hands out {c}, retired by an earlier update"
                );
            }
        }
        eprintln!("update {k}: new codes {new:?}");
    }
    eprintln!("lineage after update 3: {:?}", l[2]);
}

/// The households of every step, in order; `grids` so far decide where the
/// block is demolished.
struct Census {
    rng: Rng,
    hh: Vec<Household>,
    ground: Option<MultiPolygon<f64>>,
}

impl Census {
    fn new() -> Self {
        let mut rng = Rng::new(41);
        let hh = census_0(&mut rng, &areas());
        Census {
            rng,
            hh,
            ground: None,
        }
    }

    /// The households of update `k` (1–3), given the grids adopted before it.
    fn next(&mut self, k: usize, adopted: &[Grid]) -> Vec<Household> {
        self.hh = match k {
            1 => {
                let (hh, ground) = census_1(&self.hh, adopted);
                self.ground = Some(ground);
                hh
            }
            2 => estate(&mut self.rng, &self.hh, self.ground.as_ref().unwrap(), 700),
            _ => estate(&mut self.rng, &self.hh, self.ground.as_ref().unwrap(), 900),
        };
        self.hh.clone()
    }
}

// ---- command line ----

fn write_layer(path: &Path, layer: &AnyLayer) {
    let mut w = FeatureWriter::new(std::fs::File::create(path).unwrap(), None).unwrap();
    outputs::write_layer(&mut w, layer).unwrap();
    w.finish().unwrap();
}

fn partition_cli(dir: &Path, households: &Path, previous: Option<&Path>, out: &Path) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wangge"));
    cmd.arg("partition")
        .arg("--areas")
        .arg(dir.join("areas.geojson"))
        .arg("--households")
        .arg(households)
        .arg("--out")
        .arg(out);
    if let Some(p) = previous {
        cmd.arg("--previous").arg(p);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "wangge partition failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_grids(path: &Path) -> Vec<Grid> {
    read_previous_grids(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_lineage_of(grids: &Path) -> Vec<RetiredCode> {
    read_lineage(&std::fs::read_to_string(lineage_path(grids)).unwrap())
        .unwrap()
        .retired_codes
}

#[test]
fn cli_never_hands_out_a_retired_code_across_three_updates() {
    let dir: PathBuf = common::temp_dir("lineage-cli");
    write_layer(&dir.join("areas.geojson"), &AnyLayer::Areas(areas()));
    let mut census = Census::new();
    let hh0 = dir.join("households-0.geojson");
    write_layer(&hh0, &AnyLayer::Households(census.hh.clone()));
    let g0 = dir.join("grids-0.geojson");
    partition_cli(&dir, &hh0, None, &g0);
    assert!(read_lineage_of(&g0).is_empty(), "a fresh partition starts an empty lineage");
    let mut run = Run {
        grids: vec![read_grids(&g0)],
        lineages: Vec::new(),
    };
    let mut previous = g0;
    for k in 1..=3 {
        let hh = census.next(k, run.grids.last().unwrap());
        let hh_path = dir.join(format!("households-{k}.geojson"));
        write_layer(&hh_path, &AnyLayer::Households(hh));
        let out = dir.join(format!("grids-{k}.geojson"));
        partition_cli(&dir, &hh_path, Some(&previous), &out);
        run.grids.push(read_grids(&out));
        run.lineages.push(read_lineage_of(&out));
        if k == 1 {
            // The control: grids-1 copied without its lineage. Update 2 then
            // has no way to know the retired code, and hands it out again.
            let bare = dir.join("bare");
            std::fs::create_dir_all(&bare).unwrap();
            std::fs::copy(&out, bare.join("grids-1.geojson")).unwrap();
            let hh2 = estate(&mut Rng::new(7), &read_households(&hh_path), census.ground.as_ref().unwrap(), 700);
            let hh2_path = bare.join("households-2.geojson");
            write_layer(&hh2_path, &AnyLayer::Households(hh2));
            let note = partition_cli(&dir, &hh2_path, Some(&bare.join("grids-1.geojson")), &bare.join("grids-2.geojson"));
            assert!(note.contains("no codes are known to have been retired"), "{note}");
            let reused = town_codes(&read_grids(&bare.join("grids-2.geojson")));
            let retired = &run.lineages[0];
            assert!(
                retired.iter().any(|r| reused.contains(&r.code)),
                "without the lineage a retired code comes back (the danger this test guards): {retired:?} vs {reused:?}"
            );
        }
        previous = out;
    }
    check(&run);
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_households(path: &Path) -> Vec<Household> {
    let text = std::fs::read_to_string(path).unwrap();
    wangge::layers::read_households(&text, &Default::default())
        .unwrap()
        .0
}

// ---- HTTP ----

fn layer_text(layer: &AnyLayer) -> Vec<u8> {
    let mut w = FeatureWriter::new(Vec::new(), None).unwrap();
    outputs::write_layer(&mut w, layer).unwrap();
    w.finish().unwrap()
}

macro_rules! call {
    ($app:expr, $req:expr) => {{
        let res = web_test::call_service(&$app, $req.insert_header(("authorization", "Bearer p")).to_request()).await;
        let status = res.status();
        let body = web_test::read_body(res).await.to_vec();
        (status, body)
    }};
}

macro_rules! put_layer {
    ($app:expr, $layer:expr, $body:expr) => {{
        let (s, b) = call!(
            $app,
            web_test::TestRequest::put()
                .uri(&format!("/api/v1/datasets/town/layers/{}", $layer))
                .insert_header(("content-type", "application/geo+json"))
                .set_payload($body)
        );
        assert!(s.is_success(), "{s}: {}", String::from_utf8_lossy(&b));
    }};
}

/// Runs a partition job (an update when `update`) and returns its document.
macro_rules! partition_job {
    ($app:expr, $update:expr) => {{
        let uri = if $update {
            "/api/v1/datasets/town/partition?update=true"
        } else {
            "/api/v1/datasets/town/partition"
        };
        let (s, b) = call!($app, web_test::TestRequest::post().uri(uri));
        assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
        let started: Value = serde_json::from_slice(&b).unwrap();
        let path = started["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://localhost:8080")
            .to_string();
        let t0 = Instant::now();
        loop {
            let (_, b) = call!($app, web_test::TestRequest::get().uri(&path));
            let j: Value = serde_json::from_slice(&b).unwrap();
            if j["state"] == "succeeded" || j["state"] == "failed" {
                assert_eq!(j["state"], "succeeded", "{j}");
                break j;
            }
            assert!(t0.elapsed() < Duration::from_secs(300), "job stuck: {j}");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

macro_rules! grids {
    ($app:expr) => {{
        let (s, b) = call!($app, web_test::TestRequest::get().uri("/api/v1/datasets/town/layers/grids"));
        assert_eq!(s, StatusCode::OK);
        read_previous_grids(std::str::from_utf8(&b).unwrap()).unwrap()
    }};
}

#[actix_web::test]
async fn http_never_hands_out_a_retired_code_across_three_updates() {
    let dir = common::temp_dir("lineage-http");
    let mut tokens = Tokens::default();
    tokens.insert("p", Role::Planner);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    let state = service::state_with(
        Config {
            tokens,
            data_dir: dir.clone(),
            ..Config::default()
        },
        store.clone(),
        Arc::new(Builtin),
    )
    .unwrap();
    let app = web_test::init_service(service::app(state.clone())).await;
    let mut census = Census::new();
    put_layer!(app, "areas", layer_text(&AnyLayer::Areas(areas())));
    put_layer!(app, "households", layer_text(&AnyLayer::Households(census.hh.clone())));
    let job = partition_job!(app, false);
    assert_eq!(job["summary"]["retired_codes"], Value::Null);
    let mut run = Run {
        grids: vec![grids!(app)],
        lineages: Vec::new(),
    };
    for k in 1..=3 {
        let hh = census.next(k, run.grids.last().unwrap());
        put_layer!(app, "households", layer_text(&AnyLayer::Households(hh)));
        let job = partition_job!(app, true);
        let lineage: Vec<RetiredCode> =
            serde_json::from_value(job["summary"]["retired_codes"].clone()).unwrap();
        assert_eq!(lineage, store.retired_codes("town").unwrap(), "the summary shows the stored lineage");
        run.grids.push(grids!(app));
        run.lineages.push(lineage);
    }
    check(&run);

    // Adopted grids uploaded over the current ones: the codes they drop join
    // the lineage too (a planner merged two grids by hand).
    let mut edited = run.grids[3].clone();
    let dropped = edited.iter().rposition(|g| g.parent_code == TOWN).unwrap();
    let gone = edited.remove(dropped).code;
    let text = outputs::write_grids(Vec::new(), "grids", &edited).unwrap();
    put_layer!(app, "grids", text);
    assert!(store.retired_codes("town").unwrap().iter().any(|r| r.code == gone));
    // Deleting the dataset ends its lineage.
    let (s, _) = call!(app, web_test::TestRequest::delete().uri("/api/v1/datasets/town"));
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(store.retired_codes("town").unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
