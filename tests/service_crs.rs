//! OGC API – Features Part 2 (`crs`, `bbox-crs`, `Content-Crs`, the CRS
//! lists) over the demo district, the GCJ-02 tiles, and the planner page's
//! base map.
//!
//! The oracle for EPSG codes is GDAL: `ogr2ogr` reprojects the CRS84 items
//! (Debian's gdal-bin, its own PROJ), and wangge's answers must match it
//! within a millimetre, in the axis order the EPSG registry gives (northing
//! first for the CGCS2000 Gauss-Krüger zones, latitude first for EPSG:4326;
//! GDAL writes easting first). GCJ-02 has no outside reference that agrees
//! to the millimetre, so it is checked against wangge's own forward
//! transform (itself checked against two independent implementations in
//! tests/crs.rs) within a centimetre, and by round trips through uploads.

#[path = "service/common.rs"]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;

use wangge::crs::chinese::{gcj02_to_wgs84, wgs84_to_gcj02};
use wangge::service::page::Basemap;
use wangge::service::{AppState, Config};

use common::{app, call, json_of, put};

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG: &str = "http://www.opengis.net/def/crs/EPSG/0/";
/// The base actix's test requests have.
const BASE: &str = "http://localhost:8080";

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
}

fn state(name: &str, basemap: Option<Basemap>) -> (actix_web::web::Data<AppState>, PathBuf) {
    let dir = common::temp_dir(name);
    let (state, _) = common::service_over(
        &dir.join("data"),
        Config {
            tokens: common::planner_tokens(),
            basemap,
            ..Config::default()
        },
    );
    (state, dir)
}

fn get(path: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("authorization", "Bearer p"))
}

fn upload(dataset: &str, layer: &str, query: &str, body: Vec<u8>) -> TestRequest {
    put(
        &format!("/api/v1/datasets/{dataset}/layers/{layer}{query}"),
        body,
    )
    .insert_header(("authorization", "Bearer p"))
}

fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs `ogr2ogr` with these arguments, failing with what to install.
fn ogr2ogr(args: &[&str]) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("ogr2ogr").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "ogr2ogr is not installed: this test reprojects with Debian's gdal-bin \
         (`apt-get install gdal-bin`, or `make test`, which installs it when run as root)"
    );
    let o = Command::new("ogr2ogr").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// GDAL's reprojection of a FeatureCollection (easting first, as GDAL
/// writes GeoJSON).
fn gdal_in(dir: &Path, fc: &Value, epsg: u32) -> Vec<Value> {
    let input = dir.join(format!("in-{epsg}.geojson"));
    let output = dir.join(format!("out-{epsg}.geojson"));
    std::fs::write(&input, fc.to_string()).unwrap();
    let _ = std::fs::remove_file(&output);
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-t_srs",
        &format!("EPSG:{epsg}"),
        "-lco",
        "COORDINATE_PRECISION=6",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    doc["features"].as_array().unwrap().clone()
}

/// Every position of a geometry, in order.
fn positions(g: &Value) -> Vec<[f64; 2]> {
    fn walk(c: &Value, out: &mut Vec<[f64; 2]>) {
        match c.as_array() {
            Some(a) if a.first().is_some_and(Value::is_number) => {
                out.push([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()])
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&g["coordinates"], &mut out);
    out
}

/// Ground distance in metres between two nearby lon/lat points.
fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    let lat = ((a[1] + b[1]) / 2.0).to_radians();
    ((a[0] - b[0]) * 111_320.0 * lat.cos()).hypot((a[1] - b[1]) * 110_574.0)
}

fn id_of(f: &Value) -> String {
    match &f["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A service holding the demo areas and households as dataset `demo`.
macro_rules! demo_app {
    ($name:expr) => {{
        let (st, dir) = state($name, None);
        let app = app!(st);
        for layer in ["areas", "households"] {
            let body = std::fs::read(demo(&format!("{layer}.geojson"))).unwrap();
            let (s, _, b) = call!(app, upload("demo", layer, "", body));
            assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
        }
        (app, dir)
    }};
}

/// A page of items: its status, `Content-Crs` and body.
macro_rules! page {
    ($app:expr, $query:expr) => {{
        let (s, h, b) = call!($app, get(&format!("/collections/{}", $query)));
        let crs = h
            .get("content-crs")
            .map(|v| v.to_str().unwrap().to_string());
        (s, crs, json_of(&b))
    }};
}

#[actix_web::test]
async fn the_crs_lists_name_every_crs_offered() {
    let (app, dir) = demo_app!("crs-lists");
    let (_, _, b) = call!(app, get("/conformance"));
    let conf = json_of(&b);
    assert!(conf["conformsTo"]
        .as_array()
        .unwrap()
        .contains(&Value::from(
            "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
        )));

    let (s, _, b) = call!(app, get("/collections"));
    assert_eq!(s, StatusCode::OK);
    let all = json_of(&b);
    let list: Vec<&str> = all["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(list[0], CRS84);
    for code in [4326, 4490, 3857].into_iter().chain(4491..=4554) {
        assert!(list.contains(&format!("{EPSG}{code}").as_str()), "{code}");
    }
    let gcj = format!("{BASE}/crs/GCJ02");
    assert!(list.contains(&gcj.as_str()) && list.contains(&format!("{BASE}/crs/BD09").as_str()));
    for c in all["collections"].as_array().unwrap() {
        assert_eq!(c["crs"], serde_json::json!(["#/crs"]), "{}", c["id"]);
        assert_eq!(c["storageCrs"], CRS84);
    }
    let (_, _, one) = page!(app, "demo.households");
    assert_eq!(one["crs"], all["crs"]);
    assert_eq!(one["storageCrs"], CRS84);

    // The service's own CRS URIs dereference.
    let (s, _, b) = call!(app, TestRequest::get().uri("/crs/GCJ02"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["uri"], gcj.as_str());
    let (s, _, _) = call!(app, TestRequest::get().uri("/crs/WGS84"));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn items_in_epsg_codes_match_gdal_in_the_registry_axis_order() {
    let (app, dir) = demo_app!("crs-items");
    for layer in ["households", "areas"] {
        let (s, crs, plain) = page!(app, format!("demo.{layer}/items?limit=10000"));
        assert_eq!(s, StatusCode::OK);
        assert_eq!(crs.as_deref(), Some(format!("<{CRS84}>").as_str()));
        let features = plain["features"].as_array().unwrap();
        assert!(features.len() > 40);

        // (code, swapped: wangge answers northing first where EPSG does)
        for (code, swapped) in [
            (4549, true),
            (4548, true),
            (4509, true),
            (4527, true),
            (3857, false),
        ] {
            let uri = format!("{EPSG}{code}");
            let (s, crs, ours) = page!(
                app,
                format!("demo.{layer}/items?limit=10000&crs={}", enc(&uri))
            );
            assert_eq!(s, StatusCode::OK, "{code}: {ours}");
            assert_eq!(crs.as_deref(), Some(format!("<{uri}>").as_str()));
            let gdal = gdal_in(&dir, &plain, code);
            let ours = ours["features"].as_array().unwrap();
            assert_eq!(ours.len(), gdal.len());
            let mut worst = 0.0_f64;
            for (a, g) in ours.iter().zip(&gdal) {
                // GDAL makes an `id` property the feature's id.
                let mut props = a["properties"].clone();
                if let Some(p) = props.as_object_mut() {
                    p.remove("id");
                }
                assert_eq!(props, g["properties"]);
                let (pa, pg) = (positions(&a["geometry"]), positions(&g["geometry"]));
                assert_eq!(pa.len(), pg.len(), "{code} {}", id_of(a));
                for (p, q) in pa.iter().zip(&pg) {
                    let p = if swapped { [p[1], p[0]] } else { *p };
                    worst = worst.max((p[0] - q[0]).hypot(p[1] - q[1]));
                }
            }
            assert!(worst < 0.001, "EPSG:{code} {layer}: {worst} m from GDAL");
        }

        // EPSG:4326 and 4490: CRS84 with latitude first.
        for code in [4326, 4490] {
            let (_, crs, ours) = page!(
                app,
                format!(
                    "demo.{layer}/items?limit=10000&crs={}",
                    enc(&format!("{EPSG}{code}"))
                )
            );
            assert_eq!(crs.as_deref(), Some(format!("<{EPSG}{code}>").as_str()));
            for (a, b) in ours["features"].as_array().unwrap().iter().zip(features) {
                for (p, q) in positions(&a["geometry"])
                    .iter()
                    .zip(positions(&b["geometry"]))
                {
                    assert!(
                        (p[0] - q[1]).abs() < 1e-9 && (p[1] - q[0]).abs() < 1e-9,
                        "{p:?} {q:?}"
                    );
                }
            }
        }
    }

    // Paging keeps the CRS; one feature alone is the page's.
    let uri = format!("{EPSG}4549");
    let (_, _, page) = page!(
        app,
        format!("demo.households/items?limit=5&crs={}", enc(&uri))
    );
    let next = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.contains(&format!("crs={}", enc(&uri))), "{next}");
    let (_, h, b) = call!(app, get(&common::local_path(&next)));
    let crs = h
        .get("content-crs")
        .map(|v| v.to_str().unwrap().to_string());
    let next_page = json_of(&b);
    assert_eq!(crs.as_deref(), Some(format!("<{uri}>").as_str()));
    let f = &next_page["features"][0];
    let (s, crs, one) = page!(
        app,
        format!("demo.households/items/{}?crs={}", enc(&id_of(f)), enc(&uri))
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(crs.as_deref(), Some(format!("<{uri}>").as_str()));
    assert_eq!(one["geometry"], f["geometry"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn a_bbox_in_any_offered_crs_selects_what_it_covers() {
    let (app, dir) = demo_app!("crs-bbox");
    let ids = |page: &Value| -> BTreeSet<String> {
        page["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect()
    };
    let (_, _, all) = page!(app, "demo.households/items?limit=10000");
    let households = all["features"].as_array().unwrap().clone();
    let b = [118.28, 32.29, 118.35, 32.35];
    let (_, _, p84) = page!(
        app,
        format!(
            "demo.households/items?limit=10000&bbox={},{},{},{}",
            b[0], b[1], b[2], b[3]
        )
    );
    let in84 = ids(&p84);
    assert!(
        in84.len() > 100 && in84.len() < households.len(),
        "{}",
        in84.len()
    );

    // Latitude first in EPSG:4326 and 4490.
    for code in [4326, 4490] {
        let (s, _, p) = page!(
            app,
            format!(
                "demo.households/items?limit=10000&bbox={},{},{},{}&bbox-crs={}",
                b[1],
                b[0],
                b[3],
                b[2],
                enc(&format!("{EPSG}{code}"))
            )
        );
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ids(&p), in84, "EPSG:{code}");
    }
    // Web Mercator: the same box by its definition (spherical, R = 6378137).
    let merc = |lon: f64, lat: f64| {
        let r = 6_378_137.0_f64;
        (
            r * lon.to_radians(),
            r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                .tan()
                .ln(),
        )
    };
    let (x0, y0) = merc(b[0], b[1]);
    let (x1, y1) = merc(b[2], b[3]);
    let (_, _, p) = page!(
        app,
        format!(
            "demo.households/items?limit=10000&bbox={x0},{y0},{x1},{y1}&bbox-crs={}",
            enc(&format!("{EPSG}3857"))
        )
    );
    assert_eq!(ids(&p), in84, "EPSG:3857");

    // A Gauss-Krüger rectangle (northing first): what GDAL places in it.
    let projected = gdal_in(&dir, &all, 4549);
    let (n0, e0, n1, e1) = (3_575_000.0, 335_000.0, 3_582_000.0, 342_000.0);
    let mut expected = BTreeSet::new();
    let mut on_edge = 0;
    for (f, g) in households.iter().zip(&projected) {
        let [e, n] = positions(&g["geometry"])[0];
        let margin = [e - e0, e1 - e, n - n0, n1 - n]
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        if margin.abs() < 0.01 {
            on_edge += 1;
        } else if margin > 0.0 {
            expected.insert(id_of(f));
        }
    }
    assert_eq!(
        on_edge, 0,
        "a household within 1 cm of the box's edge: move the box"
    );
    assert!(expected.len() > 50, "{}", expected.len());
    let gk = enc(&format!("{EPSG}4549"));
    let (s, _, p) = page!(
        app,
        format!("demo.households/items?limit=10000&bbox={n0},{e0},{n1},{e1}&bbox-crs={gk}")
    );
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(ids(&p), expected, "EPSG:4549");
    // Combined with an output CRS, and paged.
    let (_, _, p) = page!(
        app,
        format!(
            "demo.households/items?limit=7&bbox={n0},{e0},{n1},{e1}&bbox-crs={gk}&crs={}",
            enc(&format!("{BASE}/crs/GCJ02"))
        )
    );
    assert_eq!(p["numberMatched"], expected.len());
    assert_eq!(p["features"].as_array().unwrap().len(), 7);
    // A lower corner above the upper one holds nothing.
    let (s, _, p) = page!(
        app,
        format!("demo.households/items?bbox={n1},{e0},{n0},{e1}&bbox-crs={gk}")
    );
    assert_eq!((s, p["numberMatched"].as_u64()), (StatusCode::OK, Some(0)));

    // A GCJ-02 box: the households whose GCJ-02 position is in it.
    let g = [118.29, 32.29, 118.34, 32.34];
    let expected: BTreeSet<String> = households
        .iter()
        .filter(|f| {
            let [lon, lat] = positions(&f["geometry"])[0];
            let (x, y) = wgs84_to_gcj02(lon, lat);
            x >= g[0] && x <= g[2] && y >= g[1] && y <= g[3]
        })
        .map(id_of)
        .collect();
    let (_, _, p) = page!(
        app,
        format!(
            "demo.households/items?limit=10000&bbox={},{},{},{}&bbox-crs={}",
            g[0],
            g[1],
            g[2],
            g[3],
            enc(&format!("{BASE}/crs/GCJ02"))
        )
    );
    assert_eq!(ids(&p), expected, "GCJ-02");
    assert_ne!(
        expected,
        ids(&page!(
            app,
            format!(
                "demo.households/items?limit=10000&bbox={},{},{},{}",
                g[0], g[1], g[2], g[3]
            )
        )
        .2)
    );

    // Polygons too: the areas meeting the Gauss-Krüger box are the areas
    // meeting the CRS84 polygon GDAL draws for it, by its vertices at least.
    let (s, _, p) = page!(
        app,
        format!("demo.areas/items?bbox={n0},{e0},{n1},{e1}&bbox-crs={gk}")
    );
    assert_eq!(s, StatusCode::OK);
    assert!(p["numberMatched"].as_u64().unwrap() >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn gcj02_and_gauss_kruger_items_round_trip_through_uploads() {
    let (app, dir) = demo_app!("crs-round-trip");
    let (_, _, plain) = page!(app, "demo.households/items?limit=10000");
    let by_id: HashMap<String, [f64; 2]> = plain["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (id_of(f), positions(&f["geometry"])[0]))
        .collect();
    let gcj = format!("{BASE}/crs/GCJ02");
    let (s, crs, shifted) = page!(
        app,
        format!("demo.households/items?limit=10000&crs={}", enc(&gcj))
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(crs.as_deref(), Some(format!("<{gcj}>").as_str()));
    let mut worst = 0.0_f64;
    let mut moved = 0.0_f64;
    for f in shifted["features"].as_array().unwrap() {
        let w = by_id[&id_of(f)];
        let (x, y) = wgs84_to_gcj02(w[0], w[1]);
        let p = positions(&f["geometry"])[0];
        worst = worst.max(metres(p, [x, y]));
        moved = moved.max(metres(p, w));
    }
    assert!(worst < 0.01, "{worst} m from wangge's forward GCJ-02");
    assert!(moved > 100.0, "GCJ-02 moved nothing far: {moved} m");

    // The whole-layer download takes the same crs (the page draws it).
    let (s, h, b) = call!(
        app,
        get(&format!(
            "/api/v1/datasets/demo/layers/households?crs={}",
            enc(&gcj)
        ))
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.get("content-crs").unwrap().to_str().unwrap(),
        format!("<{gcj}>")
    );
    let layer = json_of(&b);
    for (a, b) in layer["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shifted["features"].as_array().unwrap())
    {
        assert_eq!(a["geometry"], b["geometry"]);
    }

    // Uploaded back as GCJ-02, stored within a centimetre of the original.
    let (s, _, b) = call!(
        app,
        upload(
            "back",
            "households",
            "?crs=GCJ02",
            shifted.to_string().into_bytes()
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let (_, _, back) = page!(app, "back.households/items?limit=10000");
    let mut worst = 0.0_f64;
    for f in back["features"].as_array().unwrap() {
        worst = worst.max(metres(positions(&f["geometry"])[0], by_id[&id_of(f)]));
    }
    assert!(worst < 0.01, "GCJ-02 round trip: {worst} m");
    // And the service's inverse agrees with wangge's own.
    let f = &shifted["features"][0];
    let p = positions(&f["geometry"])[0];
    let (lon, lat) = gcj02_to_wgs84(p[0], p[1]);
    assert!(metres([lon, lat], by_id[&id_of(f)]) < 0.01);

    // Gauss-Krüger: northing first as served; easting first as uploaded.
    let (_, _, gk) = page!(
        app,
        format!(
            "demo.households/items?limit=10000&crs={}",
            enc(&format!("{EPSG}4549"))
        )
    );
    let mut fc = gk.clone();
    for f in fc["features"].as_array_mut().unwrap() {
        let c = f["geometry"]["coordinates"].as_array_mut().unwrap();
        c.swap(0, 1);
    }
    let (s, _, b) = call!(
        app,
        upload(
            "gk",
            "households",
            "?crs=EPSG:4549",
            fc.to_string().into_bytes()
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let (_, _, back) = page!(app, "gk.households/items?limit=10000");
    let mut worst = 0.0_f64;
    for f in back["features"].as_array().unwrap() {
        worst = worst.max(metres(positions(&f["geometry"])[0], by_id[&id_of(f)]));
    }
    assert!(worst < 0.001, "EPSG:4549 round trip: {worst} m");
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn crs_values_not_offered_are_refused_naming_them() {
    let (app, dir) = demo_app!("crs-refusals");
    for (param, value) in [
        ("crs", "EPSG:4326"),
        ("crs", "http://www.opengis.net/def/crs/EPSG/0/32650"),
        ("crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS83"),
        ("bbox-crs", "GCJ02"),
        ("crs", "https://example.org/crs/WGS84"),
    ] {
        let (s, _, p) = page!(app, format!("demo.households/items?{param}={}", enc(value)));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{param}={value}");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(value) && detail.contains(param), "{detail}");
        let (s, _, _) = page!(
            app,
            format!("demo.households/items/H000001?{param}={}", enc(value))
        );
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    // Chuzhou (118°E) in the Gauss-Krüger zone of 75°E: outside its area.
    let far = enc(&format!("{EPSG}4534"));
    let (s, _, p) = page!(app, format!("demo.households/items?crs={far}"));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("EPSG:4534"), "{p}");
    let (s, _, _) = page!(app, format!("demo.households/items/H000001?crs={far}"));
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, p) = page!(
        app,
        format!(
            "demo.households/items?bbox=0,-1e9,1,1e9&bbox-crs={}",
            enc(&format!("{EPSG}4549"))
        )
    );
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tile (column, row) holding a lon/lat at zoom `z` (Web Mercator).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let l = lat.to_radians();
    let y = (1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x.floor() as u32, y.floor() as u32)
}

/// Decodes a tile with GDAL's MVT driver into lon/lat GeoJSON features.
fn decode(dir: &Path, bytes: &[u8], z: u8, x: u32, y: u32) -> Vec<Value> {
    let tile = dir.join(format!("tile-{z}-{x}-{y}.mvt"));
    let out = dir.join(format!("tile-{z}-{x}-{y}.geojson"));
    std::fs::write(&tile, bytes).unwrap();
    let _ = std::fs::remove_file(&out);
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-t_srs",
        "EPSG:4326",
        out.to_str().unwrap(),
        tile.to_str().unwrap(),
        "-oo",
        &format!("X={x}"),
        "-oo",
        &format!("Y={y}"),
        "-oo",
        &format!("Z={z}"),
    ]);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    doc["features"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn gcj02_tiles_hold_the_households_at_their_gcj02_positions() {
    let (app, dir) = demo_app!("crs-tiles");
    let (s, _, sets) = page!(app, "demo.households/tiles");
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = sets["tilesets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tileMatrixSetId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["WebMercatorQuad", "GCJ02WebMercatorQuad"]);
    let (s, _, ts) = page!(app, "demo.households/tiles/GCJ02WebMercatorQuad");
    assert_eq!(s, StatusCode::OK);
    assert!(ts["tiles"][0]
        .as_str()
        .unwrap()
        .ends_with("/collections/demo.households/tiles/GCJ02WebMercatorQuad/{z}/{y}/{x}"));

    let (_, _, all) = page!(app, "demo.households/items?limit=10000");
    let households = all["features"].as_array().unwrap();
    // Full zoom: every household whose GCJ-02 position is in the tile, where
    // it is (to a tile unit: 13 cm of longitude at zoom 16).
    let z = 16;
    let p0 = positions(&households[0]["geometry"])[0];
    let (gx, gy) = wgs84_to_gcj02(p0[0], p0[1]);
    for (x, y, gcj) in [
        (tile_of(gx, gy, z).0, tile_of(gx, gy, z).1, true),
        (
            tile_of(p0[0], p0[1], z).0,
            tile_of(p0[0], p0[1], z).1,
            false,
        ),
    ] {
        let tms = if gcj {
            "GCJ02WebMercatorQuad"
        } else {
            "WebMercatorQuad"
        };
        let expected: BTreeSet<String> = households
            .iter()
            .filter(|f| {
                let [lon, lat] = positions(&f["geometry"])[0];
                let (lon, lat) = if gcj {
                    wgs84_to_gcj02(lon, lat)
                } else {
                    (lon, lat)
                };
                tile_of(lon, lat, z) == (x, y)
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!expected.is_empty());
        let (s, h, b) = call!(
            app,
            get(&format!(
                "/collections/demo.households/tiles/{tms}/{z}/{y}/{x}"
            ))
        );
        assert_eq!(s, StatusCode::OK, "{tms}");
        let etag = h.get("etag").unwrap().to_str().unwrap().to_string();
        assert_eq!(etag.contains("gcj02"), gcj, "{etag}");
        let decoded = decode(&dir, &b, z, x, y);
        let got: BTreeSet<String> = decoded
            .iter()
            .map(|f| f["properties"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, expected, "{tms} {z}/{y}/{x}");
        let by_id: HashMap<&str, [f64; 2]> = households
            .iter()
            .map(|f| {
                (
                    f["properties"]["id"].as_str().unwrap(),
                    positions(&f["geometry"])[0],
                )
            })
            .collect();
        for f in &decoded {
            let w = by_id[f["properties"]["id"].as_str().unwrap()];
            let want = if gcj {
                let (a, b) = wgs84_to_gcj02(w[0], w[1]);
                [a, b]
            } else {
                w
            };
            let d = metres(positions(&f["geometry"])[0], want);
            assert!(d < 0.15, "{tms}: {d} m off");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn a_configured_base_map_is_admitted_and_named_to_the_page() {
    let amap = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}";
    let basemap = Basemap::new(vec![amap.into()], "GCJ02", "© AMap".into()).unwrap();
    for configured in [false, true] {
        let (st, dir) = state("crs-basemap", configured.then(|| basemap.clone()));
        let app = app!(st);
        let html = "text/html,application/xhtml+xml";
        let (s, h, _) = call!(
            app,
            TestRequest::get().uri("/").insert_header(("accept", html))
        );
        assert_eq!(s, StatusCode::OK);
        let csp = h
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let origin = "https://webrd01.is.autonavi.com";
        assert_eq!(
            csp.contains(&format!("img-src 'self' data: blob: {origin};")),
            configured,
            "{csp}"
        );
        assert_eq!(
            csp.contains(&format!("connect-src 'self' {origin};")),
            configured,
            "{csp}"
        );
        assert_eq!(
            csp.matches(origin).count(),
            if configured { 2 } else { 0 },
            "{csp}"
        );
        let (_, h, _) = call!(app, TestRequest::get().uri("/ui/page/js/map.js"));
        assert!(h.get("content-security-policy").is_none());

        let (_, _, b) = call!(app, get("/ui/session"));
        let session = json_of(&b);
        assert_eq!(session["signed_in"], true);
        if configured {
            assert_eq!(session["basemap"]["tiles"], serde_json::json!([amap]));
            assert_eq!(session["basemap"]["crs"], "GCJ02");
            assert_eq!(session["basemap"]["attribution"], "© AMap");
        } else {
            assert!(session.get("basemap").is_none());
        }
        // Not to a page that is not signed in (a tile URL may hold a key).
        let (_, _, b) = call!(app, TestRequest::get().uri("/ui/session"));
        let anonymous = json_of(&b);
        assert_eq!(anonymous["signed_in"], false);
        assert!(anonymous.get("basemap").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
