//! Rules of their own for some areas (`PartitionOptions::area_rules`, the
//! command line's `--area-rules`, the partition job's `area_rules`) on the
//! demo district (data/demo): an area with an override gets grids within its
//! own bounds, checked by an independent point-in-polygon recount of the raw
//! households; every other area's grids are exactly those of a run without
//! the override; a fresh partition, a census update and a partition around
//! locked grids all honour it; bad overrides are refused, naming the area.

#[path = "service/common.rs"]
mod common;
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{MultiPolygon, Point};
use serde_json::{json, Value};
use wangge::layers::{read_areas, read_barriers, read_households, ReadOptions};
use wangge::model::{Area, AreaRules, Barrier, Grid, Household, Rules, RulesError};
use wangge::partition::{
    partition, partition_around, update, LockError, Partition, PartitionError, PartitionOptions,
    UpdateError,
};
use wangge::NoProgress;

/// An urban community of 2,554 households: six grids of 300–500 under the
/// preset, none of which fits [`narrow`].
const OWN: &str = "341102012001";
/// A rural village of 813 households in 671 locations.
const RURAL: &str = "341102010200";

/// The override of [`OWN`]: 150–250 households.
fn narrow() -> Rules {
    Rules {
        min_households: 150,
        max_households: 250,
        target_households: None,
        max_persons: Some(2500),
        max_area_m2: None,
    }
}

/// The override of [`RURAL`]: 60–120 households, aiming at 90.
fn small_rural() -> Rules {
    Rules {
        min_households: 60,
        max_households: 120,
        target_households: Some(90),
        max_persons: None,
        max_area_m2: None,
    }
}

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
}

fn demo_text(name: &str) -> String {
    let path = demo(name);
    assert!(
        path.exists(),
        "data/demo is part of the repository; restore it with `git checkout data/demo`"
    );
    std::fs::read_to_string(path).unwrap()
}

fn demo_layers() -> (Vec<Area>, Vec<Household>, Vec<Barrier>) {
    let o = ReadOptions::default();
    let (areas, _) = read_areas(&demo_text("areas.geojson"), &o).unwrap();
    let (hh, _) = read_households(&demo_text("households.geojson"), &o).unwrap();
    let (barriers, _) = read_barriers(&demo_text("barriers.geojson"), &o).unwrap();
    (areas, hh, barriers)
}

fn overrides(list: &[(&str, Rules)]) -> AreaRules {
    list.iter().map(|(c, r)| (c.to_string(), *r)).collect()
}

/// A grid as comparable values (`Grid` has no `PartialEq`).
fn same_grid(a: &Grid, b: &Grid) -> bool {
    a.code == b.code
        && a.parent_code == b.parent_code
        && a.geometry == b.geometry
        && a.households == b.households
        && a.persons == b.persons
        && a.within_rules == b.within_rules
        && a.issues == b.issues
        && a.area_m2.to_bits() == b.area_m2.to_bits()
}

/// Every grid outside the areas in `own` is exactly as in `base`.
fn others_unchanged(base: &[Grid], run: &[Grid], own: &[&str]) {
    let other = |g: &&Grid| !own.contains(&g.parent_code.as_str());
    let (b, r): (Vec<&Grid>, Vec<&Grid>) = (
        base.iter().filter(other).collect(),
        run.iter().filter(other).collect(),
    );
    assert_eq!(b.len(), r.len(), "grids outside the overridden areas");
    for (x, y) in b.iter().zip(&r) {
        assert!(
            same_grid(x, y),
            "grid {} changed with another area's rules",
            x.code
        );
    }
}

/// The grids of area `code` are within `rules` by the oracle's recount
/// (which [`support::check_by`] has compared with the engine's counts).
fn within_own(p: &Partition, code: &str, rules: &Rules) -> usize {
    let mine: Vec<&Grid> = p.grids.iter().filter(|g| g.parent_code == code).collect();
    assert!(!mine.is_empty(), "area {code} has grids");
    for g in &mine {
        assert!(
            (rules.min_households..=rules.max_households).contains(&g.households)
                && g.within_rules
                && g.issues.is_empty(),
            "grid {} ({} households) is not within its area's rules {rules:?}: {:?}",
            g.code,
            g.households,
            g.issues
        );
    }
    mine.len()
}

#[test]
fn an_area_with_its_own_rules_gets_grids_within_them_and_the_others_are_unchanged() {
    let (areas, hh, barriers) = demo_layers();
    let base = partition(&areas, &hh, &barriers, &Default::default(), &NoProgress).unwrap();
    let options = PartitionOptions {
        area_rules: overrides(&[(OWN, narrow()), (RURAL, small_rural())]),
        ..Default::default()
    };
    let run = partition(&areas, &hh, &barriers, &options, &NoProgress).unwrap();
    let c = support::check_by(&areas, &hh, &run, &|a| options.rules_for(a));
    eprintln!(
        "demo with two overrides: {} grids ({} before), {} within their area's rules",
        c.grids,
        base.grids.len(),
        c.within
    );
    // Under the preset, not one grid of OWN fits 150–250.
    assert!(base
        .grids
        .iter()
        .filter(|g| g.parent_code == OWN)
        .all(|g| g.households > narrow().max_households));
    let own = within_own(&run, OWN, &narrow());
    let before = base.grids.iter().filter(|g| g.parent_code == OWN).count();
    assert!(own > before, "{own} grids of 150–250, {before} of 300–500");
    within_own(&run, RURAL, &small_rural());
    for (a, rep) in areas.iter().zip(&run.areas) {
        let want = match a.code.as_str() {
            OWN => narrow(),
            RURAL => small_rural(),
            _ => Rules::preset(a.kind),
        };
        assert_eq!(rep.rules, want, "area {} reports the rules it used", a.code);
    }
    others_unchanged(&base.grids, &run.grids, &[OWN, RURAL]);
    // The job's rules hold elsewhere; the override still wins in its area.
    let wide = Rules {
        min_households: 200,
        max_households: 600,
        target_households: None,
        max_persons: None,
        max_area_m2: None,
    };
    let both = PartitionOptions {
        rules: Some(wide),
        area_rules: overrides(&[(OWN, narrow())]),
        ..Default::default()
    };
    let run = partition(&areas, &hh, &barriers, &both, &NoProgress).unwrap();
    support::check_by(&areas, &hh, &run, &|a| both.rules_for(a));
    within_own(&run, OWN, &narrow());
    for rep in &run.areas {
        assert_eq!(rep.rules, if rep.code == OWN { narrow() } else { wide });
    }
}

#[test]
fn a_census_update_and_locked_grids_honour_the_overrides() {
    let (areas, hh, barriers) = demo_layers();
    let base = partition(&areas, &hh, &barriers, &Default::default(), &NoProgress).unwrap();
    let options = PartitionOptions {
        area_rules: overrides(&[(OWN, narrow())]),
        ..Default::default()
    };
    // Update: OWN's grids all break the new rules and are drawn again within
    // them; every other area is within its preset and is left as it was.
    let up = update(
        &areas,
        &hh,
        &barriers,
        &base.grids,
        &options.clone().into(),
        &NoProgress,
    )
    .unwrap();
    support::check_by(&areas, &hh, &up.partition, &|a| options.rules_for(a));
    within_own(&up.partition, OWN, &narrow());
    others_unchanged(&base.grids, &up.partition.grids, &[OWN]);
    assert!(up.changes.totals.new > 0, "{:?}", up.changes.totals);

    // Locked: every grid of RURAL kept (its override goes unused, and is no
    // error), OWN partitioned afresh by its own rules.
    let locked: Vec<Grid> = base
        .grids
        .iter()
        .filter(|g| g.parent_code == RURAL)
        .cloned()
        .collect();
    let with_rural = PartitionOptions {
        area_rules: overrides(&[(OWN, narrow()), (RURAL, small_rural())]),
        ..Default::default()
    };
    let run = partition_around(&areas, &hh, &barriers, &locked, &with_rural, &NoProgress).unwrap();
    within_own(&run.partition, OWN, &narrow());
    let rural = run
        .partition
        .areas
        .iter()
        .find(|r| r.code == RURAL)
        .unwrap();
    assert_eq!(rural.rules, small_rural());
    assert_eq!(rural.grids, locked.len());
    for l in &locked {
        let g = run
            .partition
            .grids
            .iter()
            .find(|g| g.code == l.code)
            .unwrap();
        assert!(same_grid(g, l), "locked grid {} kept", l.code);
    }
}

#[test]
fn bad_overrides_are_refused_naming_the_area_before_any_work() {
    let (areas, hh, barriers) = demo_layers();
    let contradicting = Rules {
        min_households: 300,
        max_households: 200,
        ..narrow()
    };
    let bad = PartitionOptions {
        area_rules: overrides(&[(OWN, contradicting), (RURAL, small_rural())]),
        ..Default::default()
    };
    let e = partition(&areas, &hh, &barriers, &bad, &NoProgress).unwrap_err();
    match &e {
        PartitionError::Rules(r @ RulesError::Area { code, .. }) => {
            assert_eq!(code, OWN);
            assert!(r.is_contradiction());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        format!(
            "invalid rules: area {OWN}: min_households (300) is greater than max_households (200)"
        )
    );
    let zero = PartitionOptions {
        area_rules: overrides(&[(
            RURAL,
            Rules {
                min_households: 0,
                max_households: 0,
                ..small_rural()
            },
        )]),
        ..Default::default()
    };
    let e = partition(&areas, &hh, &barriers, &zero, &NoProgress).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("area {RURAL}: max_households must be at least 1")),
        "{e}"
    );

    let unknown = PartitionOptions {
        area_rules: overrides(&[
            ("341102999999", narrow()),
            (OWN, narrow()),
            ("000", narrow()),
        ]),
        ..Default::default()
    };
    let e = partition(&areas, &hh, &barriers, &unknown, &NoProgress).unwrap_err();
    match &e {
        PartitionError::UnknownAreaRules(codes) => {
            assert_eq!(codes, &["000".to_string(), "341102999999".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "rules are given for areas that are not among the areas: 000, 341102999999"
    );
    let e = update(
        &areas,
        &hh,
        &barriers,
        &[],
        &unknown.clone().into(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Partition(PartitionError::UnknownAreaRules(_))
        ),
        "{e:?}"
    );
    let e = partition_around(&areas, &hh, &barriers, &[], &bad, &NoProgress).unwrap_err();
    assert!(
        matches!(e, LockError::Partition(PartitionError::Rules(_))),
        "{e:?}"
    );
    let e = partition_around(&areas, &hh, &barriers, &[], &unknown, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("341102999999"), "{e}");
}

// ---------------------------------------------------------------------------
// Written grids (the command line's file, the service's layer), recounted
// from the raw demo households.

/// A written grid: code, parent code, households, within_rules, outline.
struct Written {
    code: String,
    parent: String,
    households: u64,
    within: bool,
    geometry: MultiPolygon<f64>,
    feature: Value,
}

fn written(features: &[Value]) -> Vec<Written> {
    features
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
            Written {
                code: p["code"].as_str().unwrap().into(),
                parent: p["parent_code"].as_str().unwrap().into(),
                households: p["households"].as_u64().unwrap(),
                within: p["within_rules"].as_bool().unwrap(),
                geometry: support::to_multi(g.try_into().unwrap()).unwrap(),
                feature: f.clone(),
            }
        })
        .collect()
}

/// Per grid code: households of the raw points strictly inside the grid,
/// and of those on its outline (a shared edge, which may go either way).
fn recount(grids: &[Written]) -> HashMap<String, (u64, u64)> {
    let boxes: Vec<_> = grids
        .iter()
        .map(|g| g.geometry.bounding_rect().unwrap())
        .collect();
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for (geom, props) in support::read_features(demo("households.geojson").to_str().unwrap()) {
        let geo_types::Geometry::Point(pt) = geom else {
            panic!("demo households are points")
        };
        let n = props["households"].as_u64().unwrap();
        let near: Vec<usize> = (0..grids.len())
            .filter(|&i| boxes[i].intersects(&pt) && grids[i].geometry.intersects(&pt))
            .collect();
        assert!(!near.is_empty(), "household at {pt:?} lies in no grid");
        let inside: Vec<usize> = near
            .iter()
            .copied()
            .filter(|&i| grids[i].geometry.contains(&pt))
            .collect();
        match inside.as_slice() {
            [one] => out.entry(grids[*one].code.clone()).or_default().0 += n,
            [] => {
                for &i in &near {
                    out.entry(grids[i].code.clone()).or_default().1 += n;
                }
            }
            many => panic!("household at {pt:?} inside {} grids", many.len()),
        }
    }
    out
}

/// The grids of `code` claim counts the recount confirms and lie within
/// `rules`; their households add up to the area's raw total.
fn check_written(grids: &[Written], code: &str, rules: &Rules) -> usize {
    let counts = recount(grids);
    let mine: Vec<&Written> = grids.iter().filter(|g| g.parent == code).collect();
    assert!(!mine.is_empty(), "area {code} has grids");
    for g in &mine {
        let (sure, edge) = counts.get(&g.code).copied().unwrap_or_default();
        assert!(
            sure <= g.households && g.households <= sure + edge,
            "grid {}: {} households claimed, {sure} recounted inside and {edge} on its outline",
            g.code,
            g.households
        );
        assert!(
            (rules.min_households..=rules.max_households).contains(&g.households) && g.within,
            "grid {} ({} households) is not within {rules:?}",
            g.code,
            g.households
        );
    }
    let raw: u64 = support::read_features(demo("households.geojson").to_str().unwrap())
        .iter()
        .filter(|(_, p)| p["village"] == code)
        .map(|(_, p)| p["households"].as_u64().unwrap())
        .sum();
    let claimed: u64 = mine.iter().map(|g| g.households).sum();
    assert_eq!(claimed, raw, "area {code}: grids hold every household once");
    mine.len()
}

/// Grids of every area but `own` are the same features in both.
fn written_unchanged(base: &[Written], run: &[Written], own: &str) {
    let pick = |v: &[Written]| -> BTreeMap<String, Value> {
        v.iter()
            .filter(|g| g.parent != own)
            .map(|g| (g.code.clone(), g.feature.clone()))
            .collect()
    };
    let (b, r) = (pick(base), pick(run));
    assert_eq!(b.len(), r.len());
    for (code, f) in &b {
        assert_eq!(
            Some(f),
            r.get(code),
            "grid {code} changed with another area's rules"
        );
    }
}

fn features_of(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

fn cli(out: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wangge"))
        .arg("partition")
        .arg("--areas")
        .arg(demo("areas.geojson"))
        .arg("--households")
        .arg(demo("households.geojson"))
        .arg("--barriers")
        .arg(demo("barriers.geojson"))
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_command_line_reads_area_rules_from_a_file() {
    let dir = common::temp_dir("area-rules-cli");
    let base = dir.join("base.geojson");
    let o = cli(&base, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = dir.join("area-rules.json");
    std::fs::write(
        &file,
        json!({OWN: {"min_households": 150, "max_households": 250, "max_persons": 2500}})
            .to_string(),
    )
    .unwrap();
    let out = dir.join("own.geojson");
    let o = cli(&out, &["--area-rules".as_ref(), file.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (b, r) = (written(&features_of(&base)), written(&features_of(&out)));
    let n = check_written(&r, OWN, &narrow());
    eprintln!("--area-rules: {n} grids of 150–250 households in {OWN}");
    assert!(n > b.iter().filter(|g| g.parent == OWN).count());
    written_unchanged(&b, &r, OWN);

    // Bad files: exit status 1, one line naming the problem; nothing written.
    let cases: [(&str, String, &[&str]); 5] = [
        (
            "contradicting",
            json!({OWN: {"min_households": 300, "max_households": 200}}).to_string(),
            &[
                OWN,
                "min_households (300) is greater than max_households (200)",
            ],
        ),
        (
            "zero",
            json!({RURAL: {"min_households": 0, "max_households": 0}}).to_string(),
            &[RURAL, "max_households must be at least 1"],
        ),
        (
            "unknown",
            json!({OWN: {"min_households": 150, "max_households": 250},
                   "341102999999": {"min_households": 150, "max_households": 250}})
            .to_string(),
            &["no area in", "341102999999"],
        ),
        (
            "field",
            json!({OWN: {"min_households": 150, "max_households": 250, "colour": 1}}).to_string(),
            &["not an area rules document", "colour"],
        ),
        (
            "list",
            "[150, 250]".to_string(),
            &["not an area rules document"],
        ),
    ];
    for (name, text, want) in cases {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, text).unwrap();
        let out = dir.join(format!("{name}.geojson"));
        let o = cli(&out, &["--area-rules".as_ref(), file.as_os_str()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        for w in want {
            assert!(err.contains(w), "{name}: {err:?} does not say {w:?}");
        }
        assert!(!out.exists(), "{name}: grids written after a refusal");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// Over HTTP.

#[actix_web::test]
async fn the_partition_job_takes_area_rules_and_refuses_bad_ones() {
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    use common::{app, call, json_of, put};
    let dir = common::temp_dir("area-rules-service");
    let (state, _store) = common::planner_service(&dir, wangge::service::Config::default());
    let app = app!(state);
    let auth = ("authorization", "Bearer p");
    for layer in ["areas", "households", "barriers"] {
        let (s, _, b) = call!(
            app,
            put(
                &format!("/api/v1/datasets/d/layers/{layer}"),
                demo_text(&format!("{layer}.geojson"))
            )
            .insert_header(auth)
        );
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }
    let post = |q: &str, body: &str| {
        TestRequest::post()
            .uri(&format!("/api/v1/datasets/d/partition{q}"))
            .insert_header(auth)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string())
    };
    let grids_layer = || {
        TestRequest::get()
            .uri("/api/v1/datasets/d/layers/grids")
            .insert_header(auth)
    };
    let jobs = || {
        TestRequest::get()
            .uri("/api/v1/jobs?dataset=d")
            .insert_header(auth)
    };

    let (s, _, b) = call!(app, post("", ""));
    assert_eq!(s, StatusCode::ACCEPTED);
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 240);
    assert_eq!(job["state"], "succeeded", "{job}");
    let (_, _, b) = call!(app, grids_layer());
    let base = written(json_of(&b)["features"].as_array().unwrap());

    let body = json!({"area_rules": {OWN: {"min_households": 150, "max_households": 250, "max_persons": 2500}}});
    let (s, _, b) = call!(app, post("", &body.to_string()));
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 240);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["summary"]["areas_with_own_rules"], 1, "{job}");
    assert_eq!(
        job["params"]["area_rules"][OWN]["max_households"], 250,
        "{job}"
    );
    let (_, _, b) = call!(app, grids_layer());
    let own = written(json_of(&b)["features"].as_array().unwrap());
    let n = check_written(&own, OWN, &narrow());
    assert!(n > base.iter().filter(|g| g.parent == OWN).count());
    written_unchanged(&base, &own, OWN);

    // A cell moved inside OWN is judged by OWN's rules: 150–250. (A point
    // beside a grid edge that is not an H3 cell edge, where a cell was cut
    // between buildings, may be refused as "not a neighbour": the next
    // candidate is tried.)
    let mut moved = None;
    for (g1, g2, point) in neighbours_in(&own, OWN).into_iter().take(40) {
        let (s, _, b) = call!(
            app,
            TestRequest::post()
                .uri("/api/v1/datasets/d/grids/move")
                .insert_header(auth)
                .insert_header(("content-type", "application/json"))
                .set_payload(
                    json!({"lon": point.x(), "lat": point.y(), "to": g2, "dry_run": true})
                        .to_string()
                )
        );
        if s == StatusCode::OK {
            let doc = json_of(&b);
            assert_eq!(doc["from"]["code"], g1.as_str(), "{doc}");
            moved = Some(doc);
            break;
        }
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            String::from_utf8_lossy(&b)
        );
    }
    let moved = moved.expect("a cell of OWN can be moved to a neighbouring grid");
    for side in ["from", "to"] {
        let h = moved[side]["households"].as_u64().unwrap();
        let want = if h < 150 {
            "below"
        } else if h > 250 {
            "above"
        } else {
            "within"
        };
        assert_eq!(moved[side]["state"], want, "{moved}");
    }

    // A census update with OWN's own rules: OWN's grids (150–250, each below
    // the urban preset's 300) meet them and are kept, as is every other
    // area's, made by its preset.
    let body = json!({"area_rules": {OWN: {"min_households": 150, "max_households": 250, "max_persons": 2500}}});
    let (s, _, b) = call!(app, post("?update=true", &body.to_string()));
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 240);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["summary"]["changes"]["totals"]["adjusted"], 0, "{job}");
    assert_eq!(job["summary"]["changes"]["totals"]["new"], 0, "{job}");
    assert_eq!(job["summary"]["changes"]["totals"]["retired"], 0, "{job}");
    let (_, _, b) = call!(app, grids_layer());
    let updated = written(json_of(&b)["features"].as_array().unwrap());
    check_written(&updated, OWN, &narrow());

    // Refusals, before any job is queued.
    let (_, _, b) = call!(app, jobs());
    let queued = json_of(&b)["jobs"].as_array().unwrap().len();
    let cases: [(&str, Value, StatusCode, &[&str]); 6] = [
        (
            "contradicting",
            json!({"area_rules": {OWN: {"min_households": 300, "max_households": 200}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            &[
                OWN,
                "min_households (300) is greater than max_households (200)",
            ],
        ),
        (
            "target outside",
            json!({"min_households": 300, "max_households": 500,
                   "area_rules": {RURAL: {"min_households": 60, "max_households": 120, "target_households": 200}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            &[RURAL, "target_households (200)"],
        ),
        (
            "zero",
            json!({"area_rules": {RURAL: {"min_households": 0, "max_households": 0}}}),
            StatusCode::BAD_REQUEST,
            &[RURAL, "max_households must be at least 1"],
        ),
        (
            "unknown codes",
            json!({"area_rules": {OWN: {"min_households": 150, "max_households": 250},
                                  "341102999999": {"min_households": 150, "max_households": 250},
                                  "x": {"min_households": 1, "max_households": 2}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            &["areas layer does not have", "341102999999, x"],
        ),
        (
            "unknown field",
            json!({"area_rules": {OWN: {"min_households": 150, "max_households": 250, "colour": 1}}}),
            StatusCode::BAD_REQUEST,
            &["area_rules", "colour"],
        ),
        (
            "not a map",
            json!({"area_rules": [150, 250]}),
            StatusCode::BAD_REQUEST,
            &["area_rules must map area codes to rules documents"],
        ),
    ];
    for (name, body, status, want) in cases {
        let (s, _, b) = call!(app, post("", &body.to_string()));
        let problem = json_of(&b);
        assert_eq!(s, status, "{name}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        for w in want {
            assert!(detail.contains(w), "{name}: {detail:?} does not say {w:?}");
        }
    }
    let (_, _, b) = call!(app, jobs());
    assert_eq!(
        json_of(&b)["jobs"].as_array().unwrap().len(),
        queued,
        "a refused job was queued"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pairs of neighbouring grids of area `code`, each with a point just inside
/// the first, beside the middle of an edge it shares with the second.
fn neighbours_in(grids: &[Written], code: &str) -> Vec<(String, String, Point<f64>)> {
    let mine: Vec<&Written> = grids.iter().filter(|g| g.parent == code).collect();
    let mut out = Vec::new();
    for a in &mine {
        for b in &mine {
            if a.code == b.code {
                continue;
            }
            let ring = &a.geometry.0[0].exterior().0;
            for w in ring.windows(2) {
                let (p, q) = (Point(w[0]), Point(w[1]));
                if !(b.geometry.intersects(&p) && b.geometry.intersects(&q)) {
                    continue;
                }
                let mid = Point::new((p.x() + q.x()) / 2.0, (p.y() + q.y()) / 2.0);
                // A step of ~0.5 m to the side of the edge that lies in `a`.
                let (dx, dy) = (q.x() - p.x(), q.y() - p.y());
                let len = dx.hypot(dy);
                for s in [1.0, -1.0] {
                    let t =
                        Point::new(mid.x() - s * dy / len * 5e-6, mid.y() + s * dx / len * 5e-6);
                    if a.geometry.contains(&t) && !b.geometry.intersects(&t) {
                        out.push((a.code.clone(), b.code.clone(), t));
                    }
                }
            }
        }
    }
    assert!(!out.is_empty(), "no two neighbouring grids in area {code}");
    out
}
