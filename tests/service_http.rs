//! HTTP done right: HEAD on every GET route, strong ETags with 304 (and new
//! tags when a layer is replaced), Last-Modified, compressed responses equal to
//! plain ones, `bbox` by geometry, `datetime` refused, one geometry type per
//! collection, jobs paged and pruned, concurrent downloads of one layer
//! identical and loaded from the store once. Through actix's test harness, plus
//! one run of the real binary for what only the wire shows (HEAD's
//! Content-Length, gzip on a streamed body).

#[path = "service/common.rs"]
mod common;

use std::ffi::OsStr;
use std::io::Read;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{test, web};
use serde_json::{json, Value};

use wangge::partition::RetiredCode;
use wangge::progress::Progress;
use wangge::service::jobs::{Engine, Inputs, JobError, JobKind, JobOutput};
use wangge::service::{self, AppState, Config};
use wangge::store::{
    JobRecord, LayerMeta, LayerSource, NewLayer, SqliteStore, Store, StoreError, StoredFeature,
};

use common::{app, call, json_of, put};

/// Every job succeeds at once with nothing to write.
struct NoopEngine;

impl Engine for NoopEngine {
    fn run(
        &self,
        _: JobKind,
        _: &Value,
        _: &Inputs<'_>,
        _: &dyn Progress,
    ) -> Result<JobOutput, JobError> {
        Ok(JobOutput::default())
    }
}

/// The SQLite store, counting how often a layer's features are read.
struct CountingStore {
    inner: SqliteStore,
    feature_reads: AtomicUsize,
}

impl Store for CountingStore {
    fn put_layer(
        &self,
        dataset: &str,
        layer: &str,
        kind: &str,
        source: LayerSource,
        report: &Value,
        features: &[StoredFeature],
    ) -> Result<LayerMeta, StoreError> {
        self.inner
            .put_layer(dataset, layer, kind, source, report, features)
    }
    fn delete_layer(&self, dataset: &str, layer: &str) -> Result<bool, StoreError> {
        self.inner.delete_layer(dataset, layer)
    }
    fn delete_dataset(&self, dataset: &str) -> Result<usize, StoreError> {
        self.inner.delete_dataset(dataset)
    }
    fn layers(&self, dataset: Option<&str>) -> Result<Vec<LayerMeta>, StoreError> {
        self.inner.layers(dataset)
    }
    fn layer(&self, dataset: &str, layer: &str) -> Result<Option<LayerMeta>, StoreError> {
        self.inner.layer(dataset, layer)
    }
    fn features(
        &self,
        dataset: &str,
        layer: &str,
    ) -> Result<Option<(LayerMeta, Vec<StoredFeature>)>, StoreError> {
        self.feature_reads.fetch_add(1, Ordering::SeqCst);
        // Slow enough that concurrent requests overlap with the read.
        std::thread::sleep(Duration::from_millis(200));
        self.inner.features(dataset, layer)
    }
    fn put_job(&self, job: &JobRecord) -> Result<(), StoreError> {
        self.inner.put_job(job)
    }
    fn finish_job(
        &self,
        job: &JobRecord,
        layers: &[NewLayer],
        retired: &[RetiredCode],
    ) -> Result<Vec<LayerMeta>, StoreError> {
        self.inner.finish_job(job, layers, retired)
    }
    fn retired_codes(&self, dataset: &str) -> Result<Vec<RetiredCode>, StoreError> {
        self.inner.retired_codes(dataset)
    }
    fn retire_codes(&self, dataset: &str, codes: &[RetiredCode]) -> Result<(), StoreError> {
        self.inner.retire_codes(dataset, codes)
    }
    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.inner.job(id)
    }
    fn jobs(&self, dataset: Option<&str>) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.jobs(dataset)
    }
    fn fail_unfinished_jobs(&self, reason: &str, now: &str) -> Result<usize, StoreError> {
        self.inner.fail_unfinished_jobs(reason, now)
    }
    fn jobs_page(
        &self,
        dataset: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.jobs_page(dataset, offset, limit)
    }
    fn prune_jobs(&self, before: &str) -> Result<usize, StoreError> {
        self.inner.prune_jobs(before)
    }
}

fn state_over(dir: &std::path::Path, store: Arc<dyn Store>, config: Config) -> web::Data<AppState> {
    service::state_with(
        Config {
            data_dir: dir.to_path_buf(),
            ..config
        },
        store,
        Arc::new(NoopEngine),
    )
    .unwrap()
}

fn state(name: &str, config: Config) -> web::Data<AppState> {
    let dir = common::temp_dir(name);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    state_over(&dir, store, config)
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

/// A FeatureCollection of grids with the given geometries (JSON text each).
fn grids(geometries: &[&str]) -> String {
    let feats: Vec<String> = geometries
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(
                r#"{{"type":"Feature","properties":{{"code":"34110200100{i}01","parent_code":"34110200100{i}","name":"g{i}"}},"geometry":{g}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

fn square(x: f64, y: f64, d: f64) -> String {
    format!(
        "[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]",
        x + d,
        x + d,
        y + d,
        y + d
    )
}

/// Uploads a small dataset `h` (16 areas, 20 households), returns its app state.
async fn with_dataset(name: &str) -> web::Data<AppState> {
    let st = state(name, Config::default());
    let app = app!(st);
    for (layer, body) in [
        ("areas", common::areas(4)),
        ("households", common::households(20)),
    ] {
        let (s, _, b) = call!(
            app,
            put(&format!("/api/v1/datasets/h/layers/{layer}"), body)
        );
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }
    st
}

#[actix_web::test]
async fn head_answers_every_get_route_with_the_get_headers_and_no_body() {
    let st = with_dataset("http-head").await;
    let job = st
        .jobs
        .submit("h", JobKind::Partition, Value::Null)
        .unwrap();
    jobs_settle(&st).await;
    let app = app!(st);
    let routes = [
        "/health".to_string(),
        "/".into(),
        "/conformance".into(),
        "/api".into(),
        "/collections".into(),
        "/collections/h.areas".into(),
        "/collections/h.areas/items?limit=3".into(),
        "/collections/h.areas/items/341102001000".into(),
        "/api/v1/datasets".into(),
        "/api/v1/datasets/h".into(),
        "/api/v1/datasets/h/layers/areas".into(),
        "/api/v1/datasets/h/layers/areas/report".into(),
        "/api/v1/jobs".into(),
        format!("/api/v1/jobs/{}", job.id),
        // Errors too: HEAD gets the GET's status.
        "/collections/h.nothing/items".into(),
        "/no/such/route".into(),
    ];
    for uri in &routes {
        let (gs, gh, gb) = call!(app, get(uri));
        let (hs, hh, hb) = call!(
            app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(uri)
        );
        assert_eq!(hs, gs, "HEAD {uri}");
        assert!(hb.is_empty(), "HEAD {uri} sent a body");
        assert!(!gb.is_empty(), "GET {uri} sent no body");
        for name in ["content-type", "etag", "last-modified", "cache-control"] {
            if uri.starts_with("/api/v1/jobs") && name == "etag" {
                // A job's document changes while it runs; both have a tag.
                assert!(header(&hh, name).is_some() && header(&gh, name).is_some());
                continue;
            }
            assert_eq!(header(&hh, name), header(&gh, name), "HEAD {uri}: {name}");
        }
    }
    // Each GET route that is not an error carries a strong ETag, except the
    // liveness probe and the API document.
    for uri in &routes[1..14] {
        let (s, h, _) = call!(app, get(uri));
        assert_eq!(s, StatusCode::OK, "{uri}");
        if uri == "/api"
            || uri.starts_with("/api/v1/datasets/h/layers/areas/report")
            || uri == "/api/v1/datasets"
            || uri == "/api/v1/datasets/h"
        {
            continue;
        }
        let tag = header(&h, "etag").unwrap_or_else(|| panic!("{uri}: no ETag"));
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/"),
            "{uri}: {tag}"
        );
    }
    // A method the route does not have: 405, and Allow names HEAD beside GET.
    let (s, h, _) = call!(app, test::TestRequest::post().uri("/collections"));
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let allow = header(&h, "allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
}

#[actix_web::test]
async fn etags_give_304_and_change_when_the_layer_is_replaced() {
    let st = with_dataset("http-etag").await;
    let app = app!(st);
    for uri in [
        "/collections/h.areas/items?limit=5",
        "/collections/h.areas/items/341102001000",
        "/api/v1/datasets/h/layers/areas",
        "/collections/h.areas",
        "/collections",
    ] {
        let (s, h, _) = call!(app, get(uri));
        assert_eq!(s, StatusCode::OK);
        let tag = header(&h, "etag").unwrap().to_string();
        let (s, h304, b) = call!(app, get(uri).insert_header(("if-none-match", tag.as_str())));
        assert_eq!(s, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(b.is_empty());
        assert_eq!(header(&h304, "etag"), Some(tag.as_str()));
        // Another tag, or a list with ours among others.
        let (s, _, _) = call!(app, get(uri).insert_header(("if-none-match", "\"nope\"")));
        assert_eq!(s, StatusCode::OK, "{uri}");
        let list = format!("\"a\", {tag}");
        let (s, _, _) = call!(
            app,
            get(uri).insert_header(("if-none-match", list.as_str()))
        );
        assert_eq!(s, StatusCode::NOT_MODIFIED, "{uri}");
        // Last-Modified round trip, for the layer's representations.
        if let Some(lm) = header(&h, "last-modified") {
            let (s, _, _) = call!(app, get(uri).insert_header(("if-modified-since", lm)));
            assert_eq!(s, StatusCode::NOT_MODIFIED, "{uri}");
            let (s, _, _) = call!(
                app,
                get(uri).insert_header(("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT"))
            );
            assert_eq!(s, StatusCode::OK, "{uri}");
        }
    }

    // Replacing the layer (same content even) gives new tags: the old ones no
    // longer match.
    let uri = "/collections/h.areas/items?limit=5";
    let (_, h, before) = call!(app, get(uri));
    let old = header(&h, "etag").unwrap().to_string();
    let (_, h, _) = call!(app, get("/api/v1/datasets/h/layers/areas"));
    let old_layer = header(&h, "etag").unwrap().to_string();
    let (s, _, _) = call!(
        app,
        put("/api/v1/datasets/h/layers/areas", common::areas(4))
    );
    assert_eq!(s, StatusCode::OK);
    let (s, h, after) = call!(app, get(uri).insert_header(("if-none-match", old.as_str())));
    assert_eq!(s, StatusCode::OK);
    assert_ne!(header(&h, "etag").unwrap(), old);
    assert_eq!(before, after, "same features, new version");
    let (s, _, _) = call!(
        app,
        get("/api/v1/datasets/h/layers/areas").insert_header(("if-none-match", old_layer.as_str()))
    );
    assert_eq!(s, StatusCode::OK);
}

#[actix_web::test]
async fn gzip_responses_decode_to_the_plain_ones() {
    let st = with_dataset("http-gzip").await;
    let app = app!(st);
    for uri in [
        "/api/v1/datasets/h/layers/households",
        "/collections/h.areas/items?limit=16",
        "/collections",
        "/api",
    ] {
        let (s, plain_h, plain) = call!(app, get(uri));
        assert_eq!(s, StatusCode::OK);
        assert!(header(&plain_h, "content-encoding").is_none());
        let (s, h, gz) = call!(app, get(uri).insert_header(("accept-encoding", "gzip")));
        assert_eq!(s, StatusCode::OK);
        assert_eq!(header(&h, "content-encoding"), Some("gzip"), "{uri}");
        assert!(header(&h, "vary")
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding"));
        assert_eq!(gunzip(&gz), plain, "{uri}");
        assert!(
            gz.len() < plain.len(),
            "{uri}: {} vs {}",
            gz.len(),
            plain.len()
        );
        // The compressed representation has its own strong tag, and it
        // revalidates.
        if let (Some(t), Some(pt)) = (header(&h, "etag"), header(&plain_h, "etag")) {
            assert_ne!(t, pt);
            assert!(t.ends_with("-gzip\""), "{t}");
            let (s, _, _) = call!(
                app,
                get(uri)
                    .insert_header(("accept-encoding", "gzip"))
                    .insert_header(("if-none-match", t))
            );
            assert_eq!(s, StatusCode::NOT_MODIFIED);
        }
    }
}

#[actix_web::test]
async fn bbox_selects_by_geometry_and_datetime_is_refused() {
    let st = state("http-bbox", Config::default());
    let app = app!(st);
    // An L: the bar along the bottom and the bar up the left of the square
    // (0.1°) at (118.3, 32.3). Its box is the whole square; the top right
    // quarter is empty.
    let l = "{\"type\":\"Polygon\",\"coordinates\":[[[118.3,32.3],[118.4,32.3],[118.4,32.32],[118.32,32.32],[118.32,32.4],[118.3,32.4],[118.3,32.3]]]}";
    let far = format!(
        "{{\"type\":\"Polygon\",\"coordinates\":[{}]}}",
        square(118.6, 32.6, 0.01)
    );
    let (s, _, b) = call!(
        app,
        put("/api/v1/datasets/b/layers/grids", grids(&[l, &far]))
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let count = |b: &[u8]| json_of(b)["numberMatched"].as_u64().unwrap();
    // Inside the box's empty quarter: the box matches, the geometry does not.
    let (s, _, b) = call!(
        app,
        get("/collections/b.grids/items?bbox=118.35,32.35,118.39,32.39")
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(count(&b), 0, "{}", String::from_utf8_lossy(&b));
    // Over the bottom bar: found; the whole L and the other square: both.
    let (_, _, b) = call!(
        app,
        get("/collections/b.grids/items?bbox=118.35,32.31,118.36,32.315")
    );
    assert_eq!(count(&b), 1);
    let (_, _, b) = call!(app, get("/collections/b.grids/items?bbox=118,32,119,33"));
    assert_eq!(count(&b), 2);
    // Touching the L's inner corner from the empty quarter: it intersects.
    let (_, _, b) = call!(
        app,
        get("/collections/b.grids/items?bbox=118.32,32.32,118.39,32.39")
    );
    assert_eq!(count(&b), 1);

    let (s, h, b) = call!(
        app,
        get("/collections/b.grids/items?datetime=2024-01-01T00:00:00Z")
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(header(&h, "content-type"), Some("application/problem+json"));
    assert!(json_of(&b)["detail"].as_str().unwrap().contains("datetime"));
}

#[actix_web::test]
async fn a_collection_mixing_polygons_and_multipolygons_serves_multipolygons() {
    let st = state("http-geomtype", Config::default());
    let app = app!(st);
    let one = format!(
        "{{\"type\":\"Polygon\",\"coordinates\":[{}]}}",
        square(118.3, 32.3, 0.01)
    );
    let two = format!(
        "{{\"type\":\"MultiPolygon\",\"coordinates\":[[{}],[{}]]}}",
        square(118.32, 32.3, 0.01),
        square(118.34, 32.3, 0.01)
    );
    let (s, _, _) = call!(
        app,
        put("/api/v1/datasets/m/layers/grids", grids(&[&one, &two]))
    );
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, b) = call!(app, get("/collections/m.grids/items"));
    let page = json_of(&b);
    let types: Vec<&str> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["geometry"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["MultiPolygon", "MultiPolygon"]);
    // Same ground: the polygon is the one part, its ring as it was.
    let parts = page["features"][0]["geometry"]["coordinates"]
        .as_array()
        .unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].as_array().unwrap().len(), 1, "one ring");
    assert_eq!(parts[0][0].as_array().unwrap().len(), 5);
    assert_eq!(parts[0][0][0], json!([118.3, 32.3]));
    // The single feature, too; the layer download stays as written.
    let (_, _, b) = call!(app, get("/collections/m.grids/items/34110200100001"));
    assert_eq!(json_of(&b)["geometry"]["type"], "MultiPolygon");
    let (_, _, b) = call!(app, get("/api/v1/datasets/m/layers/grids"));
    let types: Vec<Value> = json_of(&b)["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["geometry"]["type"].clone())
        .collect();
    assert_eq!(types, [json!("Polygon"), json!("MultiPolygon")]);
    // A layer of polygons only stays polygons.
    let (s, _, _) = call!(app, put("/api/v1/datasets/p/layers/grids", grids(&[&one])));
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, b) = call!(app, get("/collections/p.grids/items"));
    assert_eq!(json_of(&b)["features"][0]["geometry"]["type"], "Polygon");
}

/// Waits until no job of `st` is queued or running.
async fn jobs_settle(st: &web::Data<AppState>) {
    let t0 = Instant::now();
    while st.jobs.counts() != (0, 0) {
        assert!(t0.elapsed() < Duration::from_secs(20), "jobs stuck");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn jobs_are_paged_with_next_links() {
    let st = with_dataset("http-jobs-page").await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(
            st.jobs
                .submit("h", JobKind::Partition, Value::Null)
                .unwrap()
                .id,
        );
        // Distinct creation times, so newest-first is one order.
        std::thread::sleep(Duration::from_millis(3));
    }
    jobs_settle(&st).await;
    let app = app!(st);
    let mut seen = Vec::new();
    let mut uri = "/api/v1/jobs?limit=3".to_string();
    let mut pages = 0;
    loop {
        let (s, _, b) = call!(app, get(&uri));
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let page = json_of(&b);
        let jobs = page["jobs"].as_array().unwrap();
        assert!(jobs.len() <= 3);
        assert_eq!(page["numberReturned"], jobs.len());
        seen.extend(jobs.iter().map(|j| j["id"].as_str().unwrap().to_string()));
        pages += 1;
        let next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next");
        match next {
            Some(n) => {
                uri = n["href"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("http://localhost:8080")
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    ids.reverse();
    assert_eq!(seen, ids, "every job once, newest first");
    // The dataset filter stays in the links; bad paging parameters are 400.
    let (_, _, b) = call!(app, get("/api/v1/jobs?dataset=h&limit=5"));
    let next = json_of(&b)["links"][1]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        next.contains("dataset=h") && next.contains("offset=5"),
        "{next}"
    );
    for q in ["limit=0", "limit=x", "offset=-1"] {
        let (s, _, _) = call!(app, get(&format!("/api/v1/jobs?{q}")));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
    }
    // A large limit is capped, not refused.
    let (s, _, b) = call!(app, get("/api/v1/jobs?limit=1000000"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["jobs"].as_array().unwrap().len(), 7);
}

#[actix_web::test]
async fn finished_jobs_are_pruned_after_the_configured_age() {
    let dir = common::temp_dir("http-jobs-prune");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    let st = state_over(
        &dir,
        store,
        Config {
            job_max_age: Some(Duration::from_millis(600)),
            ..Config::default()
        },
    );
    let app = app!(st);
    for (layer, body) in [
        ("areas", common::areas(2)),
        ("households", common::households(5)),
    ] {
        let (s, _, _) = call!(
            app,
            put(&format!("/api/v1/datasets/p/layers/{layer}"), body)
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    let old = st
        .jobs
        .submit("p", JobKind::Partition, Value::Null)
        .unwrap();
    jobs_settle(&st).await;
    let (_, _, b) = call!(app, get("/api/v1/jobs"));
    assert_eq!(json_of(&b)["jobs"].as_array().unwrap().len(), 1);
    // Past the age (and the pruner's period, a tenth of it): gone.
    actix_web::rt::time::sleep(Duration::from_millis(900)).await;
    let fresh = st
        .jobs
        .submit("p", JobKind::Partition, Value::Null)
        .unwrap();
    jobs_settle(&st).await;
    let (_, _, b) = call!(app, get("/api/v1/jobs"));
    let ids: Vec<String> = json_of(&b)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [fresh.id]);
    let (s, _, _) = call!(app, get(&format!("/api/v1/jobs/{}", old.id)));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn concurrent_cold_downloads_are_identical_and_read_the_store_once() {
    let dir = common::temp_dir("http-concurrent");
    {
        let st = state_over(
            &dir,
            Arc::new(SqliteStore::open(&dir).unwrap()),
            Config::default(),
        );
        let app = app!(st);
        let (s, _, _) = call!(
            app,
            put(
                "/api/v1/datasets/c/layers/households",
                common::households(3000)
            )
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    // A new process over the same data: nothing in memory.
    let counting = Arc::new(CountingStore {
        inner: SqliteStore::open(&dir).unwrap(),
        feature_reads: AtomicUsize::new(0),
    });
    let st = state_over(&dir, counting.clone(), Config::default());
    let app = Rc::new(app!(st));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        tasks.push(actix_web::rt::spawn(async move {
            let uri = "/api/v1/datasets/c/layers/households";
            let res = test::call_service(&*app, get(uri).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK);
            test::read_body(res).await
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap());
    }
    assert_eq!(counting.feature_reads.load(Ordering::SeqCst), 1);
    let first = &bodies[0];
    assert_eq!(json_of(first)["features"].as_array().unwrap().len(), 3000);
    assert!(bodies.iter().all(|b| b == first));
}

// ---- the real binary, for what only the wire shows ----

/// One request with extra headers, its body as it came over the wire.
fn raw(addr: &str, method: &str, path: &str, extra: &[(&str, &str)]) -> common::Resp {
    common::request(addr, method, path, extra, None).unwrap()
}

#[::core::prelude::v1::test]
fn over_the_wire_head_has_the_length_and_gzip_streams() {
    let dir = common::temp_dir("http-wire");
    let server = common::Server::start(&[OsStr::new("--data-dir"), dir.as_os_str()], &[]);
    let body = common::households(20_000);
    let r = common::http(
        &server.addr,
        "PUT",
        "/api/v1/datasets/w/layers/households",
        Some(body.as_bytes()),
    )
    .unwrap();
    assert_eq!(r.status, 201);
    let path = "/api/v1/datasets/w/layers/households";
    let plain = raw(&server.addr, "GET", path, &[]);
    assert_eq!(plain.status, 200);
    let len: usize = plain.header("content-length").unwrap().parse().unwrap();
    assert_eq!(len, plain.body.len());
    assert!(len > 1 << 20, "a layer of several chunks: {len}");
    // HEAD: the same length announced, nothing sent.
    let head = raw(&server.addr, "HEAD", path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(head.header("etag"), plain.header("etag"));
    assert!(head.body.is_empty());
    // gzip over the streamed body decodes to the plain one.
    let gz = raw(&server.addr, "GET", path, &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.body), plain.body);
    // And 304 over the wire carries no body.
    let tag = plain.header("etag").unwrap().to_string();
    let nm = raw(&server.addr, "GET", path, &[("If-None-Match", &tag)]);
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
}
