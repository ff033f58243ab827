//! The HTTP service through actix's test harness: every endpoint, both roles and
//! every error class, with a stand-in engine so job mechanics are tested apart
//! from the partition and coverage engines.

#[path = "service/common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{test, web};
use serde_json::{json, Value};

use wangge::layers::{AnyLayer, LayerKind};
use wangge::model::Grid;
use wangge::progress::Progress;
use wangge::service::engines::grids_layer;
use wangge::service::jobs::{Engine, Inputs, JobError, JobKind, JobOutput};
use wangge::service::{self, AppState, Config, Role, Tokens};
use wangge::store::Store;

use common::{app, call, json_of, put, StoreKind};

/// Partition: one grid per area. Coverage: runs until cancelled (10 s at most).
/// Propose: fails.
struct FakeEngine;

impl Engine for FakeEngine {
    fn run(
        &self,
        kind: JobKind,
        _params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        match kind {
            JobKind::Partition => {
                let AnyLayer::Areas(areas) = inputs.require(LayerKind::Areas)? else {
                    unreachable!()
                };
                progress.report("regions", 0.5);
                let grids: Vec<Grid> = areas
                    .iter()
                    .map(|a| Grid {
                        code: format!("{}001", a.code),
                        parent_code: a.code.clone(),
                        geometry: a.geometry.clone(),
                        households: 0,
                        persons: 0,
                        area_m2: 1.0,
                        compactness: 0.78,
                        barrier_length_m: 0.0,
                        within_rules: false,
                        issues: vec!["too few households".into()],
                    })
                    .collect();
                Ok(JobOutput {
                    layers: vec![grids_layer(&grids)?],
                    summary: json!({"grids": grids.len()}),
                    ..Default::default()
                })
            }
            JobKind::Coverage => {
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_secs(10) {
                    progress.report("households", 0.25);
                    if progress.cancelled() {
                        return Err(JobError::Cancelled);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(JobOutput::default())
            }
            JobKind::Propose => Err(JobError::Invalid("no candidate adds anything".into())),
        }
    }
}

fn state(name: &str, config: Config) -> web::Data<AppState> {
    state_on(StoreKind::Sqlite, name, config)
}

/// The service with the stand-in engine over either store.
fn state_on(kind: StoreKind, name: &str, config: Config) -> web::Data<AppState> {
    let dir = common::temp_dir(&format!("{name}-{kind:?}"));
    let store: Arc<dyn Store> = kind.open(&dir);
    service::state_with(
        Config {
            data_dir: dir,
            ..config
        },
        store,
        Arc::new(FakeEngine),
    )
    .unwrap()
}

/// Asserts an RFC 9457 problem with the given status.
fn assert_problem(
    status: StatusCode,
    headers: &actix_web::http::header::HeaderMap,
    body: &[u8],
    want: u16,
) {
    assert_eq!(
        status.as_u16(),
        want,
        "body: {}",
        String::from_utf8_lossy(body)
    );
    assert_eq!(
        headers.get("content-type").unwrap().to_str().unwrap(),
        "application/problem+json"
    );
    let p = json_of(body);
    assert_eq!(p["status"], want);
    assert!(p["detail"].is_string() && p["title"].is_string() && p["type"].is_string());
}

/// Polls a job until its state is one of `until`.
macro_rules! wait_job {
    ($app:expr, $url:expr, $until:expr) => {{
        let path = $url.trim_start_matches("http://localhost:8080").to_string();
        let until: &[&str] = &$until;
        let t0 = Instant::now();
        loop {
            let (s, _, b) = call!($app, test::TestRequest::get().uri(&path));
            assert_eq!(s, StatusCode::OK);
            let j = json_of(&b);
            if until.contains(&j["state"].as_str().unwrap()) {
                break j;
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "job stuck: {j}");
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

common::on_both_stores!(
    upload_validates_reports_and_replaces,
    ogc_items_paging_bbox_and_single_features,
    datasets_list_get_delete,
    jobs_run_report_progress_fail_and_cancel,
    queued_jobs_cancel_at_once,
);

#[actix_web::test]
async fn health_landing_conformance_api() {
    let st = state("basics", Config::default());
    let app = app!(st);
    let (s, _, b) = call!(app, test::TestRequest::get().uri("/health"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["status"], "ok");
    assert_eq!(json_of(&b)["jobs"]["running"], 0);

    let (s, _, b) = call!(app, test::TestRequest::get().uri("/"));
    assert_eq!(s, StatusCode::OK);
    let rels: Vec<String> = json_of(&b)["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_string())
        .collect();
    for r in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&r.to_string()), "{r} missing from {rels:?}");
    }
    let (_, _, b) = call!(app, test::TestRequest::get().uri("/"));
    assert!(json_of(&b)["links"][0]["href"]
        .as_str()
        .unwrap()
        .starts_with("http://"));

    let (s, _, b) = call!(app, test::TestRequest::get().uri("/conformance?f=json"));
    assert_eq!(s, StatusCode::OK);
    let c = json_of(&b);
    for cls in ["core", "geojson", "oas30"] {
        assert!(c["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().ends_with(&format!("/conf/{cls}"))));
    }

    let (s, h, b) = call!(app, test::TestRequest::get().uri("/api"));
    assert_eq!(s, StatusCode::OK);
    assert!(h
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("openapi"));
    let doc = json_of(&b);
    assert_eq!(doc["openapi"], "3.0.3");
    // Self-contained: every $ref is local and resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "$ref" {
                        out.push(x.as_str().unwrap().to_string());
                    } else {
                        refs(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in &all {
        let ptr = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("remote $ref {r}"));
        assert!(doc.pointer(ptr).is_some(), "dangling $ref {r}");
    }
    for p in [
        "/collections/{collectionId}/items",
        "/api/v1/jobs/{jobId}",
        "/api/v1/datasets/{dataset}/layers/{layer}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} not documented");
    }

    // Unknown routes and wrong methods are problems too; request ids are echoed.
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/nowhere"));
    assert_problem(s, &h, &b, 404);
    assert!(h.contains_key("x-request-id"));
    let (s, h, b) = call!(app, test::TestRequest::post().uri("/collections"));
    assert_problem(s, &h, &b, 405);
    // Every route answers a method it lacks with 405, /health included.
    for uri in ["/health", "/api/v1/jobs", "/collections"] {
        let (s, h, b) = call!(
            app,
            test::TestRequest::default()
                .method(actix_web::http::Method::TRACE)
                .uri(uri)
        );
        assert_problem(s, &h, &b, 405);
    }
    let (_, h, _) = call!(
        app,
        test::TestRequest::get()
            .uri("/health")
            .insert_header(("x-request-id", "abc-123")),
    );
    assert_eq!(h.get("x-request-id").unwrap(), "abc-123");
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/conformance?x=1"));
    assert_problem(s, &h, &b, 400);
}

async fn upload_validates_reports_and_replaces(kind: StoreKind) {
    let st = state_on(kind, "upload", Config::default());
    let app = app!(st);
    let (s, h, b) = call!(
        app,
        put("/api/v1/datasets/t1/layers/areas", common::areas(3))
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    assert!(h
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with("/collections/t1.areas"));
    let r = json_of(&b);
    assert_eq!(r["accepted"], 9);
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["collection"], "t1.areas");

    // Replacing answers 200; one bad feature is rejected with its index and reason.
    let mut fc: Value = serde_json::from_str(&common::areas(2)).unwrap();
    fc["features"][1]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("code");
    let (s, _, b) = call!(app, put("/api/v1/datasets/t1/layers/areas", fc.to_string()));
    assert_eq!(s, StatusCode::OK);
    let r = json_of(&b);
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(r["rejections"][0]["index"], 1);
    assert!(r["rejections"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("code"));
    let (_, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/t1.areas/items")
    );
    assert_eq!(json_of(&b)["numberMatched"], 3);

    // Strict: all or nothing, and nothing changes.
    let (s, h, b) = call!(
        app,
        put(
            "/api/v1/datasets/t1/layers/areas?strict=true",
            fc.to_string()
        ),
    );
    // Well-formed, but a feature cannot be used: 422 Unprocessable Content.
    assert_problem(s, &h, &b, 422);
    let (_, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/t1.areas/items")
    );
    assert_eq!(json_of(&b)["numberMatched"], 3);

    // The full report is kept.
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/api/v1/datasets/t1/layers/areas/report"),
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["report"]["rejected"], 1);

    // Error classes: bad JSON, not a FeatureCollection, unknown layer kind, bad
    // dataset name, unknown parameter, bad crs, wrong content type, not UTF-8.
    for (path, body, want) in [
        (
            "/api/v1/datasets/t1/layers/areas",
            "{not json".to_string(),
            400,
        ),
        (
            "/api/v1/datasets/t1/layers/areas",
            r#"{"type":"Point","coordinates":[1,2]}"#.to_string(),
            400,
        ),
        (
            "/api/v1/datasets/t1/layers/areas",
            r#"{"type":"FeatureCollection","features":[]}"#.to_string(),
            400,
        ),
        // Areas are no adopted grids (no parent codes): well-formed, unusable.
        ("/api/v1/datasets/t1/layers/grids", common::areas(1), 422),
        (
            "/api/v1/datasets/bad.name/layers/areas",
            common::areas(1),
            400,
        ),
        (
            "/api/v1/datasets/t1/layers/areas?colour=red",
            common::areas(1),
            400,
        ),
        // A well-formed EPSG code that PROJ does not know.
        (
            "/api/v1/datasets/t1/layers/areas?crs=EPSG:999999",
            common::areas(1),
            422,
        ),
    ] {
        let (s, h, b) = call!(app, put(path, body));
        assert_problem(s, &h, &b, want);
    }
    let (s, h, b) = call!(
        app,
        test::TestRequest::put()
            .uri("/api/v1/datasets/t1/layers/areas")
            .insert_header(("content-type", "text/plain"))
            .set_payload("a,b"),
    );
    assert_problem(s, &h, &b, 415);
    // CSV is a point list now; one without coordinate columns cannot be
    // used (422: well-formed, but nothing to read).
    let (s, h, b) = call!(
        app,
        test::TestRequest::put()
            .uri("/api/v1/datasets/t1/layers/areas")
            .insert_header(("content-type", "text/csv"))
            .set_payload("a,b"),
    );
    assert_problem(s, &h, &b, 422);
    let (s, h, b) = call!(
        app,
        put("/api/v1/datasets/t1/layers/areas", vec![0xff, 0xfe, 0x00])
    );
    assert_problem(s, &h, &b, 400);
}

#[actix_web::test]
async fn gzip_crs_and_body_limit() {
    let st = state(
        "gzip",
        Config {
            max_body_bytes: 64 * 1024,
            ..Config::default()
        },
    );
    let app = app!(st);
    let text = common::households(200);
    let (s, _, b) = call!(
        app,
        put(
            "/api/v1/datasets/g/layers/households",
            common::gzip(text.as_bytes())
        )
        .insert_header(("content-encoding", "gzip")),
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    assert_eq!(json_of(&b)["accepted"], 200);

    // ?crs=GCJ02: coordinates come back shifted to WGS84 (a few hundred metres).
    let (s, _, b) = call!(
        app,
        put(
            "/api/v1/datasets/g/layers/areas?crs=GCJ02",
            common::areas(1)
        ),
    );
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(json_of(&b)["crs"], "GCJ02");
    let (_, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/g.areas/items")
    );
    let x0 = json_of(&b)["features"][0]["geometry"]["coordinates"][0][0][0][0]
        .as_f64()
        .unwrap();
    let shift = (x0 - 118.30).abs().min((x0 - 118.31).abs());
    assert!(shift > 0.001 && shift < 0.01, "x {x0}");

    // Over the limit, plain or once decompressed: 413.
    let big = common::households(2000);
    assert!(big.len() > 64 * 1024);
    let (s, h, b) = call!(
        app,
        put("/api/v1/datasets/g/layers/households", big.clone())
    );
    assert_problem(s, &h, &b, 413);
    let (s, h, b) = call!(
        app,
        put(
            "/api/v1/datasets/g/layers/households",
            common::gzip(big.as_bytes())
        )
        .insert_header(("content-encoding", "gzip")),
    );
    assert_problem(s, &h, &b, 413);
    // An unknown content coding is refused.
    let (s, h, b) = call!(
        app,
        put("/api/v1/datasets/g/layers/households", text.clone())
            .insert_header(("content-encoding", "compress-me")),
    );
    assert_problem(s, &h, &b, 415);
    // A corrupt gzip stream is the client's fault.
    let (s, h, b) = call!(
        app,
        put(
            "/api/v1/datasets/g/layers/households",
            b"\x1f\x8bnot gzip at all".to_vec()
        )
        .insert_header(("content-encoding", "gzip")),
    );
    assert!(s.is_client_error(), "{s}");
    assert_problem(s, &h, &b, s.as_u16());
}

async fn ogc_items_paging_bbox_and_single_features(kind: StoreKind) {
    let st = state_on(
        kind,
        "ogc",
        Config {
            max_items: 5,
            ..Config::default()
        },
    );
    let app = app!(st);
    let (s, _, _) = call!(
        app,
        put("/api/v1/datasets/o/layers/areas", common::areas(4))
    );
    assert_eq!(s, StatusCode::CREATED);

    let (s, _, b) = call!(app, test::TestRequest::get().uri("/collections"));
    assert_eq!(s, StatusCode::OK);
    let cols = json_of(&b);
    assert_eq!(cols["collections"][0]["id"], "o.areas");
    let (s, _, b) = call!(app, test::TestRequest::get().uri("/collections/o.areas"));
    assert_eq!(s, StatusCode::OK);
    let c = json_of(&b);
    let bbox = &c["extent"]["spatial"]["bbox"][0];
    assert!((bbox[0].as_f64().unwrap() - 118.30).abs() < 1e-9);
    assert!((bbox[3].as_f64().unwrap() - 32.34).abs() < 1e-9);
    assert!(c["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "items"));

    // Page through everything with next links: 16 features, pages of 5 (the
    // server maximum, although 50 were asked for).
    let mut url = "/collections/o.areas/items?limit=50".to_string();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (s, h, b) = call!(app, test::TestRequest::get().uri(&url));
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h.get("content-type").unwrap(), "application/geo+json");
        let page = json_of(&b);
        assert_eq!(page["numberMatched"], 16);
        assert_eq!(
            page["numberReturned"].as_u64().unwrap() as usize,
            page["features"].as_array().unwrap().len()
        );
        assert!(page["numberReturned"].as_u64().unwrap() <= 5);
        for f in page["features"].as_array().unwrap() {
            ids.push(f["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(l) => {
                url = l["href"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("http://localhost:8080")
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 16);

    // bbox: the 2×2 areas in the corner (touching ones included), and paging
    // within the bbox keeps the bbox in the links.
    let (_, _, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections/o.areas/items?bbox=118.301,32.301,118.315,32.315&limit=3"),
    );
    let page = json_of(&b);
    assert_eq!(page["numberMatched"], 4);
    assert_eq!(page["numberReturned"], 3);
    let next = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(next["href"]
        .as_str()
        .unwrap()
        .contains("bbox=118.301,32.301,118.315,32.315"));
    assert!(next["href"].as_str().unwrap().contains("offset=3"));
    let (_, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/o.areas/items?bbox=10,10,11,11"),
    );
    assert_eq!(json_of(&b)["numberMatched"], 0);
    // An offset past the end is an empty page.
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/o.areas/items?offset=100")
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["numberReturned"], 0);

    // One feature, with its links; unknown ids and collections are 404.
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri(&format!("/collections/o.areas/items/{}", ids[0])),
    );
    assert_eq!(s, StatusCode::OK);
    let f = json_of(&b);
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], ids[0].as_str());
    assert!(f["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "collection"));
    for uri in [
        "/collections/o.areas/items/nope",
        "/collections/o.nothing/items",
        "/collections/nodot/items",
        "/collections/x.areas",
    ] {
        let (s, h, b) = call!(app, test::TestRequest::get().uri(uri));
        assert_problem(s, &h, &b, 404);
    }
    // Invalid parameters are 400.
    for q in [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "offset=x",
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=1,2,3,4,5",
        "bbox=0,nan,1,2",
        "bbox-crs=EPSG:4326",
        "f=xml",
        "colour=red",
        "bbox=1,2,3,4&limit=%%%",
        // Features carry no time: refused, not ignored.
        "datetime=2020-01-01T00:00:00Z",
    ] {
        let (s, h, b) = call!(
            app,
            test::TestRequest::get().uri(&format!("/collections/o.areas/items?{q}")),
        );
        assert_problem(s, &h, &b, 400);
    }
    // A south edge north of the north edge holds no point: an empty page,
    // as the API description says (every box of numbers is a query).
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/o.areas/items?bbox=0,50,1,40")
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["numberMatched"], 0);
    // Accepted: CRS84 bbox-crs, 6-number bbox, latitudes past a pole.
    for q in [
        "bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox=118,32,119,33",
        "bbox=118,32,0,119,33,100",
        "bbox=0,0,1,100",
        "f=json",
    ] {
        let (s, _, b) = call!(
            app,
            test::TestRequest::get().uri(&format!("/collections/o.areas/items?{q}")),
        );
        assert_eq!(s, StatusCode::OK, "{q}: {}", String::from_utf8_lossy(&b));
    }

    // The whole layer, and deleting it.
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/api/v1/datasets/o/layers/areas")
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["features"].as_array().unwrap().len(), 16);
    let (s, _, _) = call!(
        app,
        test::TestRequest::delete().uri("/api/v1/datasets/o/layers/areas")
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, h, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/o.areas/items")
    );
    assert_problem(s, &h, &b, 404);
    let (s, h, b) = call!(
        app,
        test::TestRequest::delete().uri("/api/v1/datasets/o/layers/areas")
    );
    assert_problem(s, &h, &b, 404);
}

async fn datasets_list_get_delete(kind: StoreKind) {
    let st = state_on(kind, "datasets", Config::default());
    let app = app!(st);
    call!(
        app,
        put("/api/v1/datasets/a/layers/areas", common::areas(1))
    );
    call!(
        app,
        put(
            "/api/v1/datasets/a/layers/households",
            common::households(3)
        )
    );
    call!(
        app,
        put("/api/v1/datasets/b/layers/cameras", common::cameras())
    );
    let (s, _, b) = call!(app, test::TestRequest::get().uri("/api/v1/datasets"));
    assert_eq!(s, StatusCode::OK);
    let d = json_of(&b);
    assert_eq!(d["datasets"].as_array().unwrap().len(), 2);
    assert_eq!(d["datasets"][0]["layers"].as_array().unwrap().len(), 2);
    let (s, _, b) = call!(app, test::TestRequest::get().uri("/api/v1/datasets/b"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["layers"][0]["layer"], "cameras");
    // Camera ids are the features' ids.
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/b.cameras/items/34110200001320000002"),
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["properties"]["online"], false);
    let (s, _, _) = call!(app, test::TestRequest::delete().uri("/api/v1/datasets/a"));
    assert_eq!(s, StatusCode::NO_CONTENT);
    for uri in ["/api/v1/datasets/a", "/collections/a.areas/items"] {
        let (s, h, b) = call!(app, test::TestRequest::get().uri(uri));
        assert_problem(s, &h, &b, 404);
    }
    let (s, h, b) = call!(app, test::TestRequest::delete().uri("/api/v1/datasets/a"));
    assert_problem(s, &h, &b, 404);
}

async fn jobs_run_report_progress_fail_and_cancel(kind: StoreKind) {
    let st = state_on(kind, "jobs", Config::default());
    let app = app!(st);
    // Unknown dataset, missing layers, bad rules.
    let post = |uri: &str, body: &str| {
        test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string())
    };
    let (s, h, b) = call!(app, post("/api/v1/datasets/j/partition", ""));
    assert_problem(s, &h, &b, 404);
    call!(
        app,
        put("/api/v1/datasets/j/layers/areas", common::areas(2))
    );
    let (s, h, b) = call!(app, post("/api/v1/datasets/j/partition", ""));
    assert_problem(s, &h, &b, 409);
    call!(
        app,
        put(
            "/api/v1/datasets/j/layers/households",
            common::households(10)
        )
    );
    // Values in range that contradict one another: 422 (a schema cannot
    // compare two fields, so a schema-valid request never gets a 400).
    let (s, h, b) = call!(
        app,
        post(
            "/api/v1/datasets/j/partition",
            r#"{"min_households": 500, "max_households": 300}"#
        )
    );
    assert_problem(s, &h, &b, 422);
    for body in [
        r#"{"min_households": 1, "max_households": 2, "colour": 1}"#,
        "{not json",
    ] {
        let (s, h, b) = call!(app, post("/api/v1/datasets/j/partition", body));
        assert_problem(s, &h, &b, 400);
    }
    let (s, h, b) = call!(
        app,
        post("/api/v1/datasets/j/coverage", r#"{"h3_resolution": 99}"#)
    );
    assert_problem(s, &h, &b, 400);

    // A partition job: 202, Location, {id, url}; then succeeded with results.
    let (s, h, b) = call!(
        app,
        post(
            "/api/v1/datasets/j/partition",
            r#"{"min_households": 1, "max_households": 10}"#
        ),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let started = json_of(&b);
    let url = started["url"].as_str().unwrap().to_string();
    assert_eq!(h.get("location").unwrap().to_str().unwrap(), url);
    assert!(started["id"].is_string());
    let job = wait_job!(app, &url, ["succeeded", "failed"]);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["progress"], 1.0);
    assert_eq!(job["kind"], "partition");
    assert!(job["started"].is_string() && job["finished"].is_string());
    assert!(job["elapsed_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(job["results"][0]["collection"], "j.grids");
    assert_eq!(job["summary"]["grids"], 4);
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/j.grids/items")
    );
    assert_eq!(s, StatusCode::OK);
    let grids = json_of(&b);
    assert_eq!(grids["numberMatched"], 4);
    let g = &grids["features"][0];
    assert_eq!(g["geometry"]["type"], "Polygon");
    for p in [
        "code",
        "parent_code",
        "households",
        "persons",
        "area_m2",
        "compactness",
        "within_rules",
        "issues",
        "issues_text",
    ] {
        assert!(!g["properties"][p].is_null(), "grid property {p} missing");
    }
    let issues: Vec<&str> = g["properties"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(g["properties"]["issues_text"], issues.join("; "));
    let (s, _, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/j.grids/items/341102001000001")
    );
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));

    // A failing job says why.
    call!(
        app,
        put("/api/v1/datasets/j/layers/cameras", common::cameras())
    );
    call!(
        app,
        put(
            "/api/v1/datasets/j/layers/candidates",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[118.3,32.3]}}]}"#
        )
    );
    let (s, h, b) = call!(
        app,
        post("/api/v1/datasets/j/propose", r#"{"range_m": 50}"#)
    );
    assert_problem(s, &h, &b, 400); // neither count nor target
    let (s, _, b) = call!(app, post("/api/v1/datasets/j/propose", r#"{"count": 3}"#));
    assert_eq!(s, StatusCode::ACCEPTED);
    let url_p = json_of(&b)["url"].as_str().unwrap().to_string();
    let job = wait_job!(app, &url_p, ["failed"]);
    assert!(job["reason"].as_str().unwrap().contains("no candidate"));

    // A long job shows progress, then is cancelled (DELETE).
    let (s, _, b) = call!(app, post("/api/v1/datasets/j/coverage", ""));
    assert_eq!(s, StatusCode::ACCEPTED);
    let url_c = json_of(&b)["url"].as_str().unwrap().to_string();
    let job = wait_job!(app, &url_c, ["running"]);
    assert_eq!(job["state"], "running");
    let t0 = Instant::now();
    loop {
        let (_, _, b) = call!(
            app,
            test::TestRequest::get().uri(url_c.trim_start_matches("http://localhost:8080"))
        );
        let j = json_of(&b);
        if j["stage"] == "households" {
            assert_eq!(j["progress"], 0.25);
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10));
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let path_c = url_c
        .trim_start_matches("http://localhost:8080")
        .to_string();
    let (s, _, _) = call!(app, test::TestRequest::delete().uri(&path_c));
    assert_eq!(s, StatusCode::ACCEPTED);
    let job = wait_job!(app, &url_c, ["cancelled"]);
    assert!(job["finished"].is_string());
    // Cancelling a finished job conflicts; unknown jobs are 404.
    let (s, h, b) = call!(
        app,
        test::TestRequest::post().uri(&format!("{path_c}/cancel"))
    );
    assert_problem(s, &h, &b, 409);
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/api/v1/jobs/nope"));
    assert_problem(s, &h, &b, 404);
    let (s, h, b) = call!(
        app,
        test::TestRequest::post().uri("/api/v1/jobs/nope/cancel")
    );
    assert_problem(s, &h, &b, 404);

    // Listing, per dataset.
    let (s, _, b) = call!(app, test::TestRequest::get().uri("/api/v1/jobs?dataset=j"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["jobs"].as_array().unwrap().len(), 3);
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/api/v1/jobs?state=x"));
    assert_problem(s, &h, &b, 400);
}

async fn queued_jobs_cancel_at_once(kind: StoreKind) {
    let st = state_on(
        kind,
        "queued",
        Config {
            job_delay: Duration::from_secs(5),
            ..Config::default()
        },
    );
    let app = app!(st);
    call!(
        app,
        put("/api/v1/datasets/q/layers/areas", common::areas(1))
    );
    call!(
        app,
        put(
            "/api/v1/datasets/q/layers/households",
            common::households(3)
        )
    );
    let post = || test::TestRequest::post().uri("/api/v1/datasets/q/partition");
    let (_, _, b) = call!(app, post());
    let first = json_of(&b)["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:8080")
        .to_string();
    let (_, _, b) = call!(app, post());
    let second = json_of(&b)["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:8080")
        .to_string();
    // One worker: the second job waits in the queue behind the first.
    let (_, _, b) = call!(app, test::TestRequest::get().uri(&second));
    assert_eq!(json_of(&b)["state"], "queued");
    let (s, _, b) = call!(
        app,
        test::TestRequest::post().uri(&format!("{second}/cancel"))
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(json_of(&b)["state"], "cancelled");
    let (s, _, _) = call!(app, test::TestRequest::delete().uri(&first));
    assert_eq!(s, StatusCode::ACCEPTED);
    wait_job!(app, &first, ["cancelled"]);

    // Deleting a dataset stops its jobs, so they cannot write results back.
    let (_, _, b) = call!(app, post());
    let third = json_of(&b)["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:8080")
        .to_string();
    let (s, _, _) = call!(app, test::TestRequest::delete().uri("/api/v1/datasets/q"));
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait_job!(app, &third, ["cancelled"]);
    let (s, h, b) = call!(
        app,
        test::TestRequest::get().uri("/collections/q.grids/items")
    );
    assert_problem(s, &h, &b, 404);
    // Deleted means gone: the dataset answers 404; its job records stay in
    // the job list (the history of what ran) until they are pruned.
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/api/v1/datasets/q"));
    assert_problem(s, &h, &b, 404);
    let (_, _, b) = call!(app, test::TestRequest::get().uri("/api/v1/jobs?dataset=q"));
    assert!(json_of(&b)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["state"] == "cancelled" || j["state"] == "succeeded"));
}

#[actix_web::test]
async fn roles_planner_and_viewer() {
    let mut tokens = Tokens::default();
    tokens.insert("p-token", Role::Planner);
    tokens.insert("v-token", Role::Viewer);
    let st = state(
        "roles",
        Config {
            tokens,
            ..Config::default()
        },
    );
    let app = app!(st);
    let planner = ("authorization", "Bearer p-token");
    let viewer = ("authorization", "Bearer v-token");

    // Health needs no token; everything else does.
    let (s, _, _) = call!(app, test::TestRequest::get().uri("/health"));
    assert_eq!(s, StatusCode::OK);
    let (s, h, b) = call!(app, test::TestRequest::get().uri("/collections"));
    assert_problem(s, &h, &b, 401);
    assert!(h.contains_key("www-authenticate"));
    let (s, h, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections")
            .insert_header(("authorization", "Bearer nope")),
    );
    assert_problem(s, &h, &b, 401);
    let (s, h, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections")
            .insert_header(("authorization", "Basic abc")),
    );
    assert_problem(s, &h, &b, 401);

    // Planners upload and start jobs; viewers cannot.
    for layer in ["areas", "households"] {
        let body = if layer == "areas" {
            common::areas(2)
        } else {
            common::households(5)
        };
        let (s, h, b) = call!(
            app,
            put(&format!("/api/v1/datasets/r/layers/{layer}"), body.clone()).insert_header(viewer)
        );
        assert_problem(s, &h, &b, 403);
        let (s, _, _) = call!(
            app,
            put(&format!("/api/v1/datasets/r/layers/{layer}"), body).insert_header(planner)
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, h, b) = call!(
        app,
        test::TestRequest::post()
            .uri("/api/v1/datasets/r/partition")
            .insert_header(viewer)
    );
    assert_problem(s, &h, &b, 403);
    let (s, _, b) = call!(
        app,
        test::TestRequest::post()
            .uri("/api/v1/datasets/r/partition")
            .insert_header(planner)
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    let url = json_of(&b)["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:8080")
        .to_string();
    let t0 = Instant::now();
    loop {
        let (_, _, b) = call!(
            app,
            test::TestRequest::get().uri(&url).insert_header(viewer)
        );
        if json_of(&b)["state"] == "succeeded" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20));
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    // Viewers read grids and areas, never households.
    let (_, _, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections")
            .insert_header(viewer)
    );
    let ids: Vec<String> = json_of(&b)["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"r.grids".to_string()) && ids.contains(&"r.areas".to_string()));
    assert!(!ids.iter().any(|i| i.contains("households")), "{ids:?}");
    let (_, _, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections")
            .insert_header(planner)
    );
    assert!(b.windows(12).any(|w| w == b"r.households"));
    for uri in [
        "/collections/r.households",
        "/collections/r.households/items",
        "/collections/r.households/items/h1",
        "/api/v1/datasets/r/layers/households",
        "/api/v1/datasets/r/layers/households/report",
        "/collections/r.coverage_households/items",
    ] {
        let (s, h, b) = call!(app, test::TestRequest::get().uri(uri).insert_header(viewer));
        assert_problem(s, &h, &b, 403);
    }
    let (_, _, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/api/v1/datasets")
            .insert_header(viewer)
    );
    assert!(!String::from_utf8_lossy(&b).contains("households"));
    let (s, _, _) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections/r.grids/items")
            .insert_header(viewer)
    );
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call!(
        app,
        test::TestRequest::get()
            .uri("/collections/r.households/items")
            .insert_header(planner)
    );
    assert_eq!(s, StatusCode::OK);
    // Viewers cannot delete or cancel.
    for req in [
        test::TestRequest::delete().uri("/api/v1/datasets/r"),
        test::TestRequest::delete().uri("/api/v1/datasets/r/layers/areas"),
        test::TestRequest::delete().uri(&url),
    ] {
        let (s, h, b) = call!(app, req.insert_header(viewer));
        assert_problem(s, &h, &b, 403);
    }
}

#[actix_web::test]
async fn cors_and_public_url() {
    let st = state(
        "cors",
        Config {
            cors_origins: vec!["https://map.example.org".into()],
            public_url: Some("https://gis.example.org/wangge/".into()),
            ..Config::default()
        },
    );
    let app = app!(st);
    let (s, h, _) = call!(
        app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/collections")
            .insert_header(("origin", "https://map.example.org"))
            .insert_header(("access-control-request-method", "GET")),
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.get("access-control-allow-origin").unwrap(),
        "https://map.example.org"
    );
    let (_, h, b) = call!(
        app,
        test::TestRequest::get()
            .uri("/")
            .insert_header(("origin", "https://other.example.org")),
    );
    assert!(h.get("access-control-allow-origin").is_none());
    assert_eq!(
        json_of(&b)["links"][0]["href"],
        "https://gis.example.org/wangge/"
    );
}

#[actix_web::test]
async fn without_tokens_only_loopback() {
    let cfg = Config {
        listen: "0.0.0.0:0".into(),
        data_dir: common::temp_dir("loopback"),
        ..Config::default()
    };
    let err = service::run(cfg).unwrap_err().to_string();
    assert!(err.contains("loopback"), "{err}");
}

/// Every file of the bad-input corpus, uploaded as every layer kind: always a
/// 2xx or a 4xx problem, never a 5xx; whole-file errors are 400; feature errors
/// are rejections (or a 422 when nothing could be accepted).
#[actix_web::test]
async fn bad_input_corpus_never_gives_a_server_error() {
    let st = state("corpus", Config::default());
    let app = app!(st);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, layer, feature) = (cols[0], cols[1], cols[3]);
        let body = std::fs::read(dir.join(file)).unwrap();
        for kind in LayerKind::ALL {
            let (s, h, b) = call!(
                app,
                put(
                    &format!("/api/v1/datasets/bad/layers/{}", kind.as_str()),
                    body.clone()
                )
            );
            assert!(!s.is_server_error(), "{file} as {kind}: {s}");
            if s.is_client_error() {
                assert_problem(s, &h, &b, s.as_u16());
            }
            if kind.as_str() == layer {
                if feature == "-" {
                    // A CRS PROJ does not know is well-formed but unusable.
                    let want = if file == "unknown_crs_member.geojson" {
                        422
                    } else {
                        400
                    };
                    assert_problem(s, &h, &b, want);
                } else if s.is_success() {
                    assert!(json_of(&b)["rejected"].as_u64().unwrap() >= 1, "{file}");
                } else {
                    // Nothing accepted: 422 (or 400 when the text is malformed).
                    assert!(s == 422 || s == 400, "{file}: {s}");
                    assert_problem(s, &h, &b, s.as_u16());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} corpus files checked");
    // Garbage on the other endpoints too.
    for (m, uri, body) in [
        ("POST", "/api/v1/datasets/bad/partition", &b"\xff\xfe"[..]),
        ("POST", "/api/v1/datasets/bad/coverage", &b"[1,2,3]"[..]),
        (
            "POST",
            "/api/v1/datasets/bad/propose",
            &b"{\"count\": -1}"[..],
        ),
        (
            "GET",
            "/collections/bad.areas/items?bbox=1e999,0,1,1",
            &b""[..],
        ),
        ("GET", "/collections/%ZZ/items", &b""[..]),
        (
            "GET",
            "/collections/bad.areas/items?limit=99999999999999999999999",
            &b""[..],
        ),
        (
            "GET",
            "/collections/bad.areas/items?offset=18446744073709551615",
            &b""[..],
        ),
        ("DELETE", "/api/v1/jobs/%00", &b""[..]),
    ] {
        let req = test::TestRequest::default()
            .method(m.parse().unwrap())
            .uri(uri)
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_vec());
        let (s, h, b) = call!(app, req);
        assert!(s.is_client_error() || s.is_success(), "{m} {uri}: {s}");
        if s.is_client_error() {
            assert_problem(s, &h, &b, s.as_u16());
        }
    }
}
