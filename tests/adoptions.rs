//! Adopting grids through HTTP: partition, adopt (version 1), a census
//! update after the households changed starts from the adopted grids and
//! writes the change view, adopt again (version 2), and the list shows both
//! with who and when. Refusals: viewers cannot adopt, only grids can be
//! adopted, bad bodies name the problem.

#[path = "service/common.rs"]
mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;

use wangge::service::Config;

use common::{app, call, json_of, put};

/// Households on a lattice in every area of `common::areas(2)`, 10 a point,
/// plus `extra` points (a new estate) in the first area's south-west corner.
fn households(extra: usize) -> String {
    let mut feats = Vec::new();
    let mut n = 0;
    let mut push = |x: f64, y: f64, h: u32| {
        feats.push(format!(
            r#"{{"type":"Feature","properties":{{"id":"h{n}","households":{h},"persons":{}}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#,
            h * 2
        ));
        n += 1;
    };
    for a in 0..2 {
        for b in 0..2 {
            for i in 0..10 {
                for j in 0..10 {
                    let x = 118.30 + a as f64 * 0.01 + (i as f64 + 0.5) * 0.001;
                    let y = 32.30 + b as f64 * 0.01 + (j as f64 + 0.5) * 0.001;
                    push(x, y, 10);
                }
            }
        }
    }
    for k in 0..extra {
        push(
            118.3002 + (k % 8) as f64 * 0.0003,
            32.3002 + (k / 8) as f64 * 0.0003,
            10,
        );
    }
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

fn with(req: TestRequest, who: &str) -> TestRequest {
    req.insert_header(("authorization", format!("Bearer {who}")))
}

fn get(path: &str, who: &str) -> TestRequest {
    with(TestRequest::get().uri(path), who)
}

fn post(path: &str, who: &str, body: &str) -> TestRequest {
    with(
        TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string()),
        who,
    )
}

/// Every item of a collection.
macro_rules! items {
    ($app:expr, $cid:expr) => {{
        let (s, _, b) = call!(
            $app,
            get(&format!("/collections/{}/items?limit=10000", $cid), "p")
        );
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        json_of(&b)["features"].as_array().unwrap().clone()
    }};
}

macro_rules! partition {
    ($app:expr, $query:expr) => {{
        let (s, _, b) = call!(
            $app,
            post(&format!("/api/v1/datasets/t/partition{}", $query), "p", "")
        );
        assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
        let job =
            common::finished_job!($app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 120);
        assert_eq!(job["state"], "succeeded", "{job}");
        job
    }};
}

fn codes(feats: &[Value]) -> Vec<String> {
    let mut c: Vec<String> = feats
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

common::on_both_stores!(adopt_update_and_adopt_again_are_versioned);

async fn adopt_update_and_adopt_again_are_versioned(kind: common::StoreKind) {
    let dir = common::temp_dir(&format!("adoptions-{kind:?}"));
    let (state, _) = common::service_on(
        kind,
        &dir,
        Config {
            tokens: common::planner_and_viewer_tokens(),
            ..Config::default()
        },
    );
    let app = app!(state);

    let ds = "/api/v1/datasets/t";
    let (s, _, _) = call!(app, get(&format!("{ds}/adoptions"), "p"));
    assert_eq!(s, StatusCode::NOT_FOUND, "no dataset yet");
    for (layer, text) in [("areas", common::areas(2)), ("households", households(0))] {
        let (s, _, b) = call!(app, with(put(&format!("{ds}/layers/{layer}"), text), "p"));
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }
    let (s, _, b) = call!(app, post(&format!("{ds}/adoptions"), "p", ""));
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "nothing to adopt before a partition"
    );
    assert!(String::from_utf8_lossy(&b).contains("partition"));

    partition!(app, "");
    let proposal = items!(app, "t.grids");
    assert!(proposal.len() >= 8, "{} grids", proposal.len());

    // Refusals, before anything changes.
    let (s, _, _) = call!(app, post(&format!("{ds}/adoptions"), "v", ""));
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = call!(
        app,
        post(&format!("{ds}/adoptions"), "p", r#"{"layer":"households"}"#)
    );
    assert_eq!(s, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&b));
    let (s, _, b) = call!(
        app,
        post(&format!("{ds}/adoptions"), "p", r#"{"layers":"grids"}"#)
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&b).contains("layers"));
    let (s, _, _) = call!(
        app,
        post(
            &format!("{ds}/adoptions"),
            "p",
            r#"{"layer":"adopted_grids"}"#
        )
    );
    // Well-formed, but not a proposal.
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, _, b) = call!(app, get(&format!("{ds}/adoptions"), "v"));
    assert_eq!(json_of(&b)["adoptions"].as_array().unwrap().len(), 0);
    assert_eq!(json_of(&b)["current"], Value::Null);

    // Version 1: the proposal becomes the adopted grids.
    let (s, _, b) = call!(
        app,
        post(&format!("{ds}/adoptions"), "p", r#"{"layer":"grids"}"#)
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let first = json_of(&b);
    assert_eq!(first["version"], 1);
    assert_eq!(first["adopted_by"], "planner");
    assert_eq!(first["layer"], "adopted_grids");
    assert_eq!(first["grids"].as_u64().unwrap() as usize, proposal.len());
    assert!(wangge::store::parse_rfc3339(first["adopted_at"].as_str().unwrap()).is_some());
    let adopted = items!(app, "t.adopted_grids");
    assert_eq!(
        adopted, proposal,
        "the adopted grids are the proposal, feature for feature"
    );
    // Viewers read the adopted grids (public) and their tiles.
    let (s, _, _) = call!(app, get("/collections/t.adopted_grids/items", "v"));
    assert_eq!(s, StatusCode::OK);

    // The census: a new estate of 60 points (600 households) in the first
    // area. The update starts from the adopted grids.
    let (s, _, _) = call!(
        app,
        with(put(&format!("{ds}/layers/households"), households(60)), "p")
    );
    assert_eq!(s, StatusCode::OK);
    let job = partition!(app, "?update=true");
    assert_eq!(job["summary"]["previous"], "adopted_grids", "{job}");
    let changes = items!(app, "t.grid_changes");
    assert!(!changes.is_empty(), "the estate changes some grids");
    let kinds: Vec<&str> = changes
        .iter()
        .map(|f| f["properties"]["change"].as_str().unwrap())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["adjusted", "new", "retired"].contains(k)),
        "{kinds:?}"
    );
    let moved: u64 = changes
        .iter()
        .map(|f| f["properties"]["moved_in"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        moved > 0,
        "households moved into changed grids: {changes:?}"
    );
    let update = items!(app, "t.grids");
    assert_ne!(
        codes(&update),
        codes(&adopted),
        "the update is a new proposal"
    );
    // Until it is adopted, the adopted grids stay as they were.
    assert_eq!(items!(app, "t.adopted_grids"), adopted);
    // Unchanged grids keep their code: every adopted code not reported as
    // changed is still in the proposal.
    let changed: Vec<&str> = changes
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap())
        .collect();
    for c in codes(&adopted) {
        if !changed.contains(&c.as_str()) {
            assert!(codes(&update).contains(&c), "unchanged {c} lost");
        }
    }

    // Version 2.
    let (s, _, b) = call!(app, post(&format!("{ds}/adoptions"), "p", ""));
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(json_of(&b)["version"], 2);
    assert_eq!(items!(app, "t.adopted_grids"), update);
    let (s, _, b) = call!(app, get(&format!("{ds}/adoptions"), "v"));
    assert_eq!(s, StatusCode::OK);
    let list = json_of(&b);
    let versions: Vec<i64> = list["adoptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(list["current"], 2);
    assert_eq!(
        list["adoptions"][0]["grids"].as_u64().unwrap() as usize,
        adopted.len()
    );
    assert_eq!(
        list["adoptions"][1]["grids"].as_u64().unwrap() as usize,
        update.len()
    );
    assert!(
        list["adoptions"][0]["adopted_at"].as_str() <= list["adoptions"][1]["adopted_at"].as_str()
    );

    // Deleting the dataset drops its adoptions.
    let (s, _, _) = call!(app, with(TestRequest::delete().uri(ds), "p"));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call!(app, get(&format!("{ds}/adoptions"), "p"));
    assert_eq!(s, StatusCode::NOT_FOUND);
}
