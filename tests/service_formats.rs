//! Uploads of zipped Shapefiles, GeoPackages, CSV and Excel lists over HTTP
//! (through actix's test harness): the format is taken from the
//! Content-Type, the `format` parameter or the first bytes, and the layer is
//! stored as the equivalent GeoJSON upload is. GDAL's `ogr2ogr` writes the
//! files; the test fails (naming what to install) when it is missing.

#[path = "service/common.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web};
use serde_json::Value;

use wangge::service::engines::Builtin;
use wangge::service::{self, AppState, Config};
use wangge::store::{SqliteStore, Store};

use common::{app, call, json_of};

fn state(name: &str) -> web::Data<AppState> {
    let dir = common::temp_dir(name);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    service::state_with(
        Config {
            data_dir: dir.clone(),
            ..Config::default()
        },
        store,
        Arc::new(Builtin),
    )
    .unwrap()
}

fn ogr2ogr(args: &[&str]) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("ogr2ogr").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "ogr2ogr is not installed: this test needs Debian's gdal-bin \
         (`apt-get install gdal-bin`, or `make test`, which installs it when run as root)"
    );
    let o = Command::new("ogr2ogr").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn demo(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn upload(uri: &str, content_type: Option<&str>, body: Vec<u8>) -> test::TestRequest {
    let req = test::TestRequest::put().uri(uri).set_payload(body);
    match content_type {
        Some(ct) => req.insert_header(("content-type", ct)),
        None => req,
    }
}

/// The stored layer's features.
macro_rules! stored {
    ($app:expr, $dataset:expr, $layer:expr) => {{
        let uri = format!("/api/v1/datasets/{}/layers/{}", $dataset, $layer);
        let (s, _, b) = call!($app, test::TestRequest::get().uri(&uri));
        assert_eq!(s, StatusCode::OK, "{uri}");
        json_of(&b)["features"].as_array().unwrap().clone()
    }};
}

/// Largest distance (metres, local plane) between the features' first vertices.
fn max_shift(a: &[Value], b: &[Value]) -> f64 {
    fn first(g: &Value) -> (f64, f64) {
        let mut v = &g["coordinates"];
        while v[0].is_array() {
            v = &v[0];
        }
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let (p, q) = (first(&x["geometry"]), first(&y["geometry"]));
            let dx = (p.0 - q.0) * 111_320.0 * p.1.to_radians().cos();
            let dy = (p.1 - q.1) * 111_320.0;
            dx.hypot(dy)
        })
        .fold(0.0, f64::max)
}

#[actix_web::test]
async fn shapefiles_geopackages_csv_and_excel_uploads_store_what_geojson_stores() {
    let st = state("upload-formats");
    let app = app!(st);
    let dir = common::temp_dir("upload-formats-files");
    let path = |n: &str| dir.join(n).to_string_lossy().into_owned();

    // The reference: the demo layers uploaded as GeoJSON.
    for layer in ["areas", "households"] {
        let body = std::fs::read(demo(&format!("{layer}.geojson"))).unwrap();
        let (s, _, b) = call!(
            app,
            upload(
                &format!("/api/v1/datasets/ref/layers/{layer}"),
                Some("application/geo+json"),
                body
            )
        );
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }
    let ref_areas = stored!(app, "ref", "areas");
    let ref_households = stored!(app, "ref", "households");

    // A zipped GBK Shapefile in EPSG:4549, by Content-Type.
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4549",
        "-lco",
        "ENCODING=GBK",
        &path("areas.shp"),
        &demo("areas.geojson"),
    ]);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        zip.start_file(
            format!("areas.{ext}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(
            &mut zip,
            &std::fs::read(path(&format!("areas.{ext}"))).unwrap(),
        )
        .unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let (s, _, b) = call!(
        app,
        upload(
            "/api/v1/datasets/shp/layers/areas",
            Some("application/zip"),
            zip.clone()
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let report = json_of(&b);
    assert_eq!(report["accepted"], 45, "{report}");
    assert!(
        report["read_from"]
            .as_str()
            .unwrap()
            .contains("GBK text (.cpg), EPSG:4549 (.prj)"),
        "{report}"
    );
    let got = stored!(app, "shp", "areas");
    assert!(max_shift(&got, &ref_areas) < 0.001);
    for (a, r) in got.iter().zip(&ref_areas) {
        assert_eq!(a["properties"]["name"], r["properties"]["name"]);
    }
    // The same bytes with no Content-Type are recognised by their first bytes.
    let (s, _, b) = call!(app, upload("/api/v1/datasets/shp2/layers/areas", None, zip));
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));

    // A GeoPackage in EPSG:4549.
    ogr2ogr(&[
        "-f",
        "GPKG",
        "-t_srs",
        "EPSG:4549",
        &path("households.gpkg"),
        &demo("households.geojson"),
    ]);
    let gpkg = std::fs::read(path("households.gpkg")).unwrap();
    let (s, _, b) = call!(
        app,
        upload(
            "/api/v1/datasets/gpkg/layers/households",
            Some("application/geopackage+sqlite3"),
            gpkg
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let got = stored!(app, "gpkg", "households");
    assert!(max_shift(&got, &ref_households) < 0.001);
    assert_eq!(
        got[7]["properties"]["households"],
        ref_households[7]["properties"]["households"]
    );

    // CSV and Excel household lists with GCJ-02 positions.
    let gcj = wangge::crs::Crs::Gcj02.from_wgs84().unwrap();
    let mut csv = String::from("户号,经度,纬度,户数\n");
    for f in &ref_households {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = gcj
            .convert(c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
            .unwrap();
        csv.push_str(&format!(
            "{},{lon},{lat},{}\n",
            f["id"].as_str().unwrap(),
            f["properties"]["households"]
        ));
    }
    std::fs::write(path("list.csv"), &csv).unwrap();
    ogr2ogr(&[
        "-f",
        "XLSX",
        "-oo",
        "AUTODETECT_TYPE=YES",
        &path("list.xlsx"),
        &path("list.csv"),
    ]);
    let query = "crs=GCJ02&id_field=%E6%88%B7%E5%8F%B7&households_field=%E6%88%B7%E6%95%B0";
    for (dataset, ct, body) in [
        ("csv", Some("text/csv"), csv.clone().into_bytes()),
        ("xlsx", None, std::fs::read(path("list.xlsx")).unwrap()),
    ] {
        let uri = format!("/api/v1/datasets/{dataset}/layers/households?{query}");
        let (s, _, b) = call!(app, upload(&uri, ct, body));
        assert_eq!(
            s,
            StatusCode::CREATED,
            "{dataset}: {}",
            String::from_utf8_lossy(&b)
        );
        let got = stored!(app, dataset, "households");
        assert!(max_shift(&got, &ref_households) < 0.01, "{dataset}");
        for (a, r) in got.iter().zip(&ref_households) {
            assert_eq!(a["id"], r["id"]);
            assert_eq!(a["properties"]["户数"], r["properties"]["households"]);
        }
    }
}

#[actix_web::test]
async fn broken_uploads_of_other_formats_are_refused_with_the_reason() {
    let st = state("upload-formats-bad");
    let app = app!(st);
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad/formats");
    for (file, ct, status, words) in [
        (
            "zip_two_layers.zip",
            "application/zip",
            StatusCode::UNPROCESSABLE_ENTITY,
            "holds 2 Shapefiles",
        ),
        (
            "gpkg_missing_srs.gpkg",
            "application/geopackage+sqlite3",
            StatusCode::UNPROCESSABLE_ENTITY,
            "SRS id 777",
        ),
        (
            "xlsx_merged_headers.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            StatusCode::UNPROCESSABLE_ENTITY,
            "longitude column",
        ),
        (
            "csv_gbk.csv",
            "text/csv",
            StatusCode::UNPROCESSABLE_ENTITY,
            "give --encoding",
        ),
        (
            "csv_gbk.csv",
            "image/png",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image/png",
        ),
    ] {
        let body = std::fs::read(bad.join(file)).unwrap();
        let (s, _, b) = call!(
            app,
            upload("/api/v1/datasets/b/layers/households", Some(ct), body)
        );
        let text = String::from_utf8_lossy(&b);
        assert_eq!(s, status, "{file}: {text}");
        assert!(text.contains(words), "{file}: {text}");
    }
    // The GBK list reads with its encoding named.
    let body = std::fs::read(bad.join("csv_gbk.csv")).unwrap();
    let (s, _, b) = call!(
        app,
        upload(
            "/api/v1/datasets/b/layers/households?encoding=GBK&id_field=%E6%88%B7%E5%8F%B7",
            Some("text/csv"),
            body
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let got = stored!(app, "b", "households");
    assert_eq!(got[1]["id"], "张三家");
}
