//! A real client nobody here wrote: GDAL's OGC API – Features driver (Debian's
//! `gdal-bin`: `ogrinfo`, `ogr2ogr`, `OAPIF:`), logged in with HTTP Basic
//! authentication (the token as the password), reads every collection the
//! role may read from a tokened deployment of the demo district, page by page
//! (four pages a collection, so paging really happens), and must get exactly
//! what the command line writes for the same inputs: the count, the order,
//! every id, every property and every coordinate. A viewer must neither list
//! nor open the private collections.
//!
//! Fails (with what to install) when `ogr2ogr` is missing; `make test`
//! installs it.

#[path = "service/common.rs"]
mod common;
#[path = "clients/deploy.rs"]
mod deploy;

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

use deploy::{normalised, Deployment, Role, DATASET};

/// A GDAL command as `role`: Basic authentication, debug output on (it names
/// every URL fetched, which shows the paging).
fn gdal(d: &Deployment, role: Role, tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .env("GDAL_HTTP_AUTH", "BASIC")
        .env("GDAL_HTTP_USERPWD", format!("gdal:{}", role.token()))
        .env("CPL_DEBUG", "ON")
        // No cached answers between roles.
        .env("GDAL_HTTP_USE_CACHE", "NO")
        .current_dir(&d.dir)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The collections `ogrinfo` lists at the landing page.
fn listed(d: &Deployment, role: Role) -> BTreeSet<String> {
    let out = gdal(
        d,
        role,
        "ogrinfo",
        &["-ro", "-so", &format!("OAPIF:http://{}", d.addr)],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ogrinfo as {role:?}: {text}");
    // "3: langya.grids (title: langya grids) (Polygon)"
    text.lines()
        .filter_map(|l| l.split_once(": ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|name| name.starts_with(&format!("{DATASET}.")))
        .map(String::from)
        .collect()
}

/// Reads one collection with `ogr2ogr` in pages of `page` features; returns
/// the features written and the number of items pages fetched.
fn read(d: &Deployment, role: Role, layer: &str, page: usize) -> (Vec<Value>, usize) {
    let out_file = d.dir.join(format!("gdal-{role:?}-{layer}.geojson"));
    let _ = std::fs::remove_file(&out_file);
    let src = format!("OAPIF:http://{}/collections/{DATASET}.{layer}", d.addr);
    let out = gdal(
        d,
        role,
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            out_file.to_str().unwrap(),
            &src,
            "-oo",
            &format!("PAGE_SIZE={page}"),
            // Every digit of every coordinate, and the server's integer ids.
            "-lco",
            "SIGNIFICANT_FIGURES=17",
            "-preserve_fid",
        ],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ogr2ogr {layer} as {role:?}: {log}");
    let pages = log
        .lines()
        .filter(|l| l.contains("HTTP: Fetch(") && l.contains("/items?"))
        .count();
    let v: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    (v["features"].as_array().unwrap().clone(), pages)
}

/// GDAL's features against the command line's, one by one.
fn compare(layer: &str, got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "{layer}: feature count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let what = format!("{layer} feature {i}");
        let mut props = g["properties"].as_object().cloned().unwrap_or_default();
        match &w["id"] {
            // A string id is a field to GDAL (named `id`).
            Value::String(id) => {
                assert_eq!(
                    props.get("id"),
                    Some(&Value::from(id.as_str())),
                    "{what}: id"
                )
            }
            // A layer without ids is numbered by the server from 1; GDAL keeps
            // a number as the feature id.
            Value::Null => assert_eq!(g["id"], Value::from(i + 1), "{what}: id"),
            other => panic!("{what}: the command line wrote id {other}"),
        }
        if w["properties"].get("id").is_none() {
            props.remove("id");
        }
        let (got, want) = (
            normalised(&Value::Object(props)),
            normalised(&w["properties"]),
        );
        assert!(same(&got, &want), "{what}: properties\n{got}\n{want}");
        // The OGC items serve one geometry type per collection: a layer that
        // mixes Polygon and MultiPolygon comes as MultiPolygons (a polygon as
        // its one part); the shape must be the same.
        assert!(
            same(&as_multi(&g["geometry"]), &as_multi(&w["geometry"])),
            "{what}: geometry\n{}\n{}",
            g["geometry"],
            w["geometry"]
        );
    }
}

/// A Point, LineString or Polygon as the Multi* of one part; anything else
/// as it is.
fn as_multi(geometry: &Value) -> Value {
    let multi = match geometry["type"].as_str() {
        Some("Point") => "MultiPoint",
        Some("LineString") => "MultiLineString",
        Some("Polygon") => "MultiPolygon",
        _ => return geometry.clone(),
    };
    serde_json::json!({"type": multi, "coordinates": [geometry["coordinates"].clone()]})
}

/// Equal JSON, numbers to the last bits: GDAL writes 17 significant digits,
/// which serde_json's default (fast) float parser can read back one unit in the
/// last place away from the double GDAL read.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 2.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (x, y) => x == y,
    }
}

#[test]
fn gdal_reads_every_collection_page_by_page_as_the_cli_wrote_it() {
    deploy::require("ogr2ogr", "gdal-bin");
    deploy::require("ogrinfo", "gdal-bin");
    let d = Deployment::start("client-gdal", None);
    let t0 = Instant::now();
    let mut features = 0;
    for role in [Role::Planner, Role::Viewer] {
        let want: BTreeSet<String> = role
            .readable()
            .iter()
            .map(|l| format!("{DATASET}.{l}"))
            .collect();
        assert_eq!(listed(&d, role), want, "ogrinfo's collections as {role:?}");

        for layer in role.readable() {
            let cli = d.cli_output(layer);
            let cli = cli["features"].as_array().unwrap();
            assert!(!cli.is_empty(), "{layer}: the command line wrote nothing");
            let page = cli.len().div_ceil(4);
            let (got, pages) = read(&d, role, layer, page);
            // Four pages, the first of them fetched twice by GDAL.
            assert!(
                pages >= cli.len().div_ceil(page),
                "{layer} as {role:?}: {pages} pages fetched for {} features in pages of {page}",
                cli.len()
            );
            compare(layer, &got, cli);
            features += got.len();
        }

        // A private collection cannot be opened, and says it is refused.
        for layer in role.private() {
            let src = format!("OAPIF:http://{}/collections/{DATASET}.{layer}", d.addr);
            let out = gdal(&d, role, "ogrinfo", &["-ro", "-so", &src]);
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{layer} opened as {role:?}");
            assert!(log.contains("403"), "{layer} as {role:?}: {log}");
        }
    }
    // issues_text on grids that break the rules, as GDAL shows it.
    let grids = d.items(Role::Viewer, "grids");
    let broken = grids
        .iter()
        .filter(|g| !g["properties"]["issues"].as_array().unwrap().is_empty())
        .count();
    assert!(
        broken > 0,
        "the rules were meant to leave grids with issues"
    );
    eprintln!(
        "GDAL read {features} features as planner and viewer in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
