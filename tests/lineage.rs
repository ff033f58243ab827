//! Retired grid codes are never handed out again, across three successive
//! census updates, through the command line (`--previous G` with the lineage
//! kept beside G) and through HTTP (the lineage kept per dataset).
//!
//! The scenario makes the danger real. A development zone beside a town is
//! merged into it (update 1: every zone code is retired and none of the zone's
//! numbers is in use any more), re-designated on the same ground with a new
//! estate (update 2: its grids need codes again), and grows (update 3: one
//! more grid). Without the lineage, update 2 would number the zone's grids
//! from 001 again, so old case files would attach to different ground; the
//! test shows that by running update 2 once with the lineage file removed.

mod support;

#[path = "service/common.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::process::Command;

use actix_web::http::StatusCode;
use actix_web::test as web_test;
use geo_types::MultiPolygon;
use serde_json::Value;
use support::*;
use wangge::layers::lineage::{lineage_path, read_lineage};
use wangge::layers::previous::read_previous_grids;
use wangge::layers::{outputs, AnyLayer, FeatureWriter};
use wangge::model::{Area, AreaKind, Grid, Household};
use wangge::partition::RetiredCode;
use wangge::service::{self, Config};

const LON: f64 = 118.30;
const LAT: f64 = 32.30;
const TOWN: &str = "341102001";
/// The development zone east of the town: merged into it in update 1,
/// re-designated in update 2.
const ZONE: &str = "341102009";

fn town(wide: bool) -> Area {
    let w = if wide { 3600.0 } else { 2400.0 };
    area(
        TOWN,
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(LON, LAT, w, 1800.0)]),
    )
}

fn zone() -> Area {
    let lon = LON + 2400.0 * m_lon(LAT);
    area(
        ZONE,
        AreaKind::Urban,
        MultiPolygon(vec![rect_m(lon, LAT, 1200.0, 1800.0)]),
    )
}

fn village() -> Area {
    let g = MultiPolygon(vec![rect_m(LON, LAT + 0.03, 3000.0, 2500.0)]);
    area("341103003", AreaKind::Rural, g)
}

/// The sequence number of a grid code after its area code.
fn seq(code: &str, parent: &str) -> u64 {
    code.strip_prefix(parent).unwrap().parse().unwrap()
}

fn codes_of(grids: &[Grid], parent: &str) -> BTreeSet<String> {
    grids
        .iter()
        .filter(|g| g.parent_code == parent)
        .map(|g| g.code.clone())
        .collect()
}

/// `n` new households in a block of `w` × `w` metres inside the zone.
fn estate(rng: &mut Rng, hh: &mut Vec<Household>, n: usize, w: f64) {
    let lon = LON + 2700.0 * m_lon(LAT);
    let block = MultiPolygon(vec![rect_m(lon, LAT + 600.0 * M_LAT, w, w)]);
    uniform_in(rng, &block, n, hh);
}

/// The areas and households of every step.
struct Census {
    rng: Rng,
    areas: Vec<Area>,
    hh: Vec<Household>,
}

impl Census {
    fn new() -> Self {
        let mut rng = Rng::new(41);
        let mut hh = Vec::new();
        uniform_in(&mut rng, &town(false).geometry, 8000, &mut hh);
        uniform_in(&mut rng, &zone().geometry, 3000, &mut hh);
        clustered_in(&mut rng, &village().geometry, 4000, 4, 300.0, &mut hh);
        Census {
            rng,
            areas: vec![town(false), zone(), village()],
            hh,
        }
    }

    /// The areas and households of update `k` (1–3).
    fn next(&mut self, k: usize) {
        match k {
            1 => self.areas = vec![town(true), village()],
            2 => {
                self.areas = vec![town(false), zone(), village()];
                estate(&mut self.rng, &mut self.hh, 700, 250.0);
            }
            _ => estate(&mut self.rng, &mut self.hh, 900, 300.0),
        }
    }
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
    // Update 1 retired every zone code, and no zone number is in use after it:
    // a careless update 2 would start again from 001.
    let zone_codes = codes_of(&g[0], ZONE);
    assert!(zone_codes.len() >= 5, "{zone_codes:?}");
    for c in &zone_codes {
        assert!(
            l[0].iter().any(|r| &r.code == c),
            "{c} not retired by update 1"
        );
    }
    assert!(codes_of(&g[1], ZONE).is_empty());
    for k in 0..3 {
        // The lineage only grows, and holds every code an update dropped.
        let pairs = |l: &[RetiredCode]| -> BTreeSet<(String, String)> {
            l.iter()
                .map(|r| (r.parent_code.clone(), r.code.clone()))
                .collect()
        };
        let before = if k == 0 {
            BTreeSet::new()
        } else {
            pairs(&l[k - 1])
        };
        assert!(
            before.is_subset(&pairs(&l[k])),
            "update {}: the lineage lost codes",
            k + 1
        );
        for parent in [TOWN, ZONE] {
            for c in codes_of(&g[k], parent).difference(&codes_of(&g[k + 1], parent)) {
                assert!(
                    l[k].iter().any(|r| &r.code == c),
                    "update {}: {c} disappeared but is not in the lineage",
                    k + 1
                );
            }
        }
    }
    // Updates 2 and 3 hand out new zone codes, none of them ever retired.
    for k in 2..4 {
        let new: Vec<String> = codes_of(&g[k], ZONE)
            .difference(&codes_of(&g[k - 1], ZONE))
            .cloned()
            .collect();
        assert!(
            !new.is_empty(),
            "update {k}: the zone's estate needs new grids"
        );
        let top_retired = l[0]
            .iter()
            .filter(|r| r.parent_code == ZONE)
            .map(|r| seq(&r.code, ZONE))
            .max()
            .unwrap();
        for c in &new {
            assert!(
                seq(c, ZONE) > top_retired,
                "update {k}: {c} is not above the retired zone codes"
            );
        }
        for grid in &g[k] {
            for lineage in &l[..k - 1] {
                assert!(
                    !lineage.iter().any(|r| r.code == grid.code),
                    "update {k} hands out {}, retired by an earlier update",
                    grid.code
                );
            }
        }
        eprintln!("update {k}: new zone codes {new:?}");
    }
    eprintln!("lineage after update 3: {} codes", l[2].len());
}

// ---- command line ----

fn write_layer(path: &Path, layer: &AnyLayer) {
    let mut w = FeatureWriter::new(std::fs::File::create(path).unwrap(), None).unwrap();
    outputs::write_layer(&mut w, layer).unwrap();
    w.finish().unwrap();
}

/// Runs `wangge partition` on step `k`'s files in `dir`; returns its stderr.
fn partition_cli(dir: &Path, k: usize, previous: Option<&Path>, out: &Path) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wangge"));
    cmd.arg("partition")
        .arg("--areas")
        .arg(dir.join(format!("areas-{k}.geojson")))
        .arg("--households")
        .arg(dir.join(format!("households-{k}.geojson")))
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

fn write_step(dir: &Path, k: usize, census: &Census) {
    let areas = AnyLayer::Areas(census.areas.clone());
    write_layer(&dir.join(format!("areas-{k}.geojson")), &areas);
    let hh = AnyLayer::Households(census.hh.clone());
    write_layer(&dir.join(format!("households-{k}.geojson")), &hh);
}

#[test]
fn cli_never_hands_out_a_retired_code_across_three_updates() {
    let dir: PathBuf = common::temp_dir("lineage-cli");
    let mut census = Census::new();
    write_step(&dir, 0, &census);
    let g0 = dir.join("grids-0.geojson");
    partition_cli(&dir, 0, None, &g0);
    assert!(
        read_lineage_of(&g0).is_empty(),
        "a fresh partition starts an empty lineage"
    );
    let mut run = Run {
        grids: vec![read_grids(&g0)],
        lineages: Vec::new(),
    };
    let mut previous = g0;
    for k in 1..=3 {
        census.next(k);
        write_step(&dir, k, &census);
        let out = dir.join(format!("grids-{k}.geojson"));
        let note = partition_cli(&dir, k, Some(&previous), &out);
        assert!(!note.contains("no codes are known"), "{note}");
        run.grids.push(read_grids(&out));
        run.lineages.push(read_lineage_of(&out));
        if k == 2 {
            // The control: grids-1 copied without its lineage. Update 2 then
            // cannot know the code update 1 retired, and hands it out again.
            let bare = dir.join("bare");
            std::fs::create_dir_all(&bare).unwrap();
            std::fs::copy(dir.join("grids-1.geojson"), bare.join("grids-1.geojson")).unwrap();
            let control = bare.join("grids-2.geojson");
            let note = partition_cli(&dir, k, Some(&bare.join("grids-1.geojson")), &control);
            assert!(
                note.contains("no codes are known to have been retired"),
                "{note}"
            );
            let handed_out = codes_of(&read_grids(&control), ZONE);
            let retired = &run.lineages[0];
            assert!(
                retired.iter().any(|r| handed_out.contains(&r.code)),
                "without the lineage a retired code comes back (the danger this test guards): {retired:?} vs {handed_out:?}"
            );
        }
        previous = out;
    }
    check(&run);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- HTTP ----

fn layer_text(layer: &AnyLayer) -> Vec<u8> {
    let mut w = FeatureWriter::new(Vec::new(), None).unwrap();
    outputs::write_layer(&mut w, layer).unwrap();
    w.finish().unwrap()
}

macro_rules! call {
    ($app:expr, $req:expr) => {{
        let res = web_test::call_service(
            &$app,
            $req.insert_header(("authorization", "Bearer p"))
                .to_request(),
        )
        .await;
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

/// Uploads the census's areas and households.
macro_rules! put_census {
    ($app:expr, $census:expr) => {{
        let areas = AnyLayer::Areas($census.areas.clone());
        put_layer!($app, "areas", layer_text(&areas));
        let households = AnyLayer::Households($census.hh.clone());
        put_layer!($app, "households", layer_text(&households));
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
        let j = common::finished_job!($app, started["url"].as_str().unwrap(), "Bearer p", 300);
        assert_eq!(j["state"], "succeeded", "{j}");
        j
    }};
}

macro_rules! grids {
    ($app:expr) => {{
        let (s, b) = call!(
            $app,
            web_test::TestRequest::get().uri("/api/v1/datasets/town/layers/grids")
        );
        assert_eq!(s, StatusCode::OK);
        read_previous_grids(std::str::from_utf8(&b).unwrap()).unwrap()
    }};
}

common::on_both_stores!(http_never_hands_out_a_retired_code_across_three_updates);

async fn http_never_hands_out_a_retired_code_across_three_updates(kind: common::StoreKind) {
    let dir = common::temp_dir(&format!("lineage-http-{kind:?}"));
    let (state, store) = common::service_on(
        kind,
        &dir,
        Config {
            tokens: common::planner_tokens(),
            ..Config::default()
        },
    );
    let app = web_test::init_service(service::app(state.clone())).await;
    let mut census = Census::new();
    put_census!(app, census);
    let job = partition_job!(app, false);
    assert_eq!(job["summary"]["retired_codes"], Value::Null);
    let mut run = Run {
        grids: vec![grids!(app)],
        lineages: Vec::new(),
    };
    for k in 1..=3 {
        census.next(k);
        put_census!(app, census);
        let job = partition_job!(app, true);
        let lineage: Vec<RetiredCode> =
            serde_json::from_value(job["summary"]["retired_codes"].clone()).unwrap();
        assert_eq!(
            lineage,
            store.retired_codes("town").unwrap(),
            "the summary shows the stored lineage"
        );
        run.grids.push(grids!(app));
        run.lineages.push(lineage);
    }
    check(&run);

    // Adopted grids uploaded over the current ones: the codes they drop join
    // the lineage too (a planner merged two grids by hand).
    let mut edited = run.grids[3].clone();
    let dropped = edited.iter().rposition(|g| g.parent_code == ZONE).unwrap();
    let gone = edited.remove(dropped).code;
    let text = outputs::write_grids(Vec::new(), "grids", &edited).unwrap();
    put_layer!(app, "grids", text);
    assert!(store
        .retired_codes("town")
        .unwrap()
        .iter()
        .any(|r| r.code == gone));
    // A grids upload can carry a lineage (the command line's) into a dataset.
    let lineage = serde_json::to_string(&run.lineages[2]).unwrap();
    let text = String::from_utf8(outputs::write_grids(Vec::new(), "grids", &run.grids[3]).unwrap())
        .unwrap();
    let carried = text.replacen('{', &format!("{{\"retired_codes\":{lineage},"), 1);
    let moved = |text: String| {
        web_test::TestRequest::put()
            .uri("/api/v1/datasets/moved/layers/grids")
            .insert_header(("content-type", "application/geo+json"))
            .set_payload(text)
    };
    let (s, b) = call!(app, moved(carried));
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    assert_eq!(store.retired_codes("moved").unwrap(), run.lineages[2]);
    let bad = text.replacen(
        '{',
        r#"{"retired_codes":[{"parent_code":"35","code":"341102009001"}],"#,
        1,
    );
    let (s, _) = call!(app, moved(bad));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Deleting the dataset ends its lineage.
    let (s, _) = call!(
        app,
        web_test::TestRequest::delete().uri("/api/v1/datasets/town")
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(store.retired_codes("town").unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
