//! The API description at `/api`, generated from the handlers' annotations:
//! valid OpenAPI 3.0 by an independent validator (openapi-spec-validator,
//! pinned, installed by `.ci/provision` into `.tools/schemathesis`),
//! self-contained, and describing exactly the routes the server has: every
//! route `service::routes` registers is documented, every documented
//! operation is served on a running server (with a dataset, its layers and a
//! finished job to name), and every example body the document gives is
//! accepted.
//!
//! Fails, naming what to install, when the validator is missing; never skips.

#[path = "service/common.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const AUTH: &str = "Bearer tok";

/// The Python of the venv `.ci/provision` fills.
fn tools_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/schemathesis/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import openapi_spec_validator: run .ci/provision (make test does), which installs schemathesis and openapi-spec-validator from PyPI into .tools/schemathesis (needs python3 with venv and pip)",
        py.display()
    );
    py
}

fn server(dir: &Path) -> common::Server {
    common::Server::start(
        &[std::ffi::OsStr::new("--data-dir"), dir.as_os_str()],
        &[("WANGGE_TOKENS", "tok:planner")],
    )
}

fn get_json(addr: &str, path: &str) -> Value {
    let r = common::http_as(addr, "GET", path, Some(AUTH), None).unwrap();
    assert_eq!(
        r.status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// A path with every `{name}` as `{}`, so templates compare whatever their
/// parameters are called.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

/// The routes `service::routes` registers, as (METHOD, shape), read from
/// its source: each `web::resource(PATH)` with the methods of its `.route`s.
fn registered_routes() -> BTreeSet<(String, String)> {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service/mod.rs"))
            .unwrap();
    let body = &src[src.find("pub fn routes(").expect("fn routes")..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let ds = body
        .split("let ds = \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("let ds");
    let mut out = BTreeSet::new();
    for chunk in body.split(".service(").skip(1) {
        let res = chunk.split("web::resource(").nth(1).expect("a resource");
        let res = res.trim_start();
        let res = match res.strip_prefix("format!(") {
            Some(f) => format!("format!({}", f.trim_start()),
            None => res.to_string(),
        };
        let path = if let Some(lit) = res.strip_prefix('"') {
            lit.split('"').next().unwrap().to_string()
        } else if let Some(f) = res.strip_prefix("format!(\"") {
            f.split('"')
                .next()
                .unwrap()
                .replace("{ds}", ds)
                .replace("{{", "{")
                .replace("}}", "}")
        } else if res.starts_with("ds)") {
            ds.to_string()
        } else {
            panic!("cannot read the resource of {chunk}");
        };
        for m in ["get", "put", "post", "delete"] {
            if chunk.contains(&format!("web::{m}()")) {
                out.insert((m.to_uppercase(), shape(&path)));
            }
        }
    }
    assert!(out.len() >= 20, "only {} routes read: {out:?}", out.len());
    out
}

/// The documented operations as (METHOD, path).
fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "head"].contains(&m.as_str()) {
                v.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    v
}

#[test]
fn the_document_validates_and_names_only_local_schemas() {
    let py = tools_python();
    let dir = common::temp_dir("openapi-valid");
    let s = server(&dir.join("data"));
    let doc = get_json(&s.addr, "/api");
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["servers"][0]["url"], format!("http://{}", s.addr));
    let file = dir.join("api.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = Command::new(&py)
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refuses /api:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(all.len() > 50);
    for r in &all {
        let ptr = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("remote $ref {r}"));
        assert!(doc.pointer(ptr).is_some(), "dangling $ref {r}");
    }
    // HEAD beside every GET; every error a problem; uploads never empty.
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert_eq!(
            item.get("get").is_some(),
            item.get("head").is_some(),
            "{path}"
        );
        for (m, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') && m != "head" {
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{m} {path} {status}"
                    );
                }
            }
        }
    }
    let areas = &doc["components"]["schemas"]["Upload_areas"];
    assert_eq!(areas["properties"]["features"]["minItems"], 1);
    // Without tokens nothing needs one and nothing answers 401.
    let open = common::Server::start(
        &[
            std::ffi::OsStr::new("--data-dir"),
            dir.join("open").as_os_str(),
        ],
        &[],
    );
    let doc = common::http(&open.addr, "GET", "/api", None)
        .unwrap()
        .json();
    assert!(doc.get("security").is_none() && !doc.to_string().contains("\"401\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_document_has_every_route_and_every_documented_operation_is_served() {
    let dir = common::temp_dir("openapi-routes");
    let s = server(&dir.join("data"));
    let addr = s.addr.clone();
    let doc = get_json(&addr, "/api");
    let ops = documented(&doc);

    // Every registered route is documented (HEAD is every GET's).
    let shapes: BTreeSet<(String, String)> =
        ops.iter().map(|(m, p)| (m.clone(), shape(p))).collect();
    let layer_shape = shape("/api/v1/datasets/{d}/layers/{l}");
    for (m, p) in registered_routes() {
        let documented = shapes.contains(&(m.clone(), p.clone()))
            || (p == layer_shape
                && ops.iter().any(|(om, op)| {
                    *om == m
                        && op.starts_with("/api/v1/datasets/{dataset}/layers/")
                        && !op.ends_with('}')
                        && !op.ends_with("report")
                }));
        assert!(documented, "{m} {p} is served but not in /api");
    }

    // A dataset with layers and a finished job, to name in the paths.
    for (layer, body) in [
        ("areas", common::areas(2)),
        ("households", common::households(300)),
    ] {
        let r = common::http_as(
            &addr,
            "PUT",
            &format!("/api/v1/datasets/d/layers/{layer}"),
            Some(AUTH),
            Some(body.as_bytes()),
        )
        .unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    let r = common::http_as(
        &addr,
        "POST",
        "/api/v1/datasets/d/partition",
        Some(AUTH),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let job = r.json()["id"].as_str().unwrap().to_string();
    common::job_succeeds(
        &addr,
        &format!("/api/v1/jobs/{job}"),
        Some(AUTH),
        Instant::now() + Duration::from_secs(120),
    );
    // The grids' queryables name every property, `issues` as an array and
    // `issues_text` as its text twin.
    let r = common::http_as(
        &addr,
        "GET",
        "/collections/d.grids/queryables",
        Some(AUTH),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/schema+json"));
    let q = r.json();
    let grid = &get_json(&addr, "/collections/d.grids/items?limit=1")["features"][0];
    for name in grid["properties"].as_object().unwrap().keys() {
        assert!(
            q["properties"][name].is_object(),
            "queryables lack {name}: {q}"
        );
    }
    assert_eq!(q["properties"]["issues"]["type"], "array");
    assert_eq!(q["properties"]["issues"]["items"]["type"], "string");
    assert_eq!(q["properties"]["issues_text"]["type"], "string");
    assert!(q["properties"]["issues_text"]["description"]
        .as_str()
        .unwrap()
        .contains("\"issues\""));
    assert_eq!(q["properties"]["households"]["type"], "integer");
    assert_eq!(q["properties"]["geometry"]["format"], "geometry-polygon");

    let example = |name: &str| -> Vec<u8> {
        let e = &doc["components"]["schemas"][name]["example"];
        assert!(e.is_object(), "{name} has no example");
        e.to_string().into_bytes()
    };
    // Uploads first, each with the document's own example (which must be
    // accepted), then reads of everything, then jobs, then deletions.
    let rank = |m: &str| {
        ["PUT", "GET", "HEAD", "POST", "DELETE"]
            .iter()
            .position(|x| *x == m)
    };
    let mut ordered = ops.clone();
    ordered.sort_by_key(|(m, p)| (rank(m), p.ends_with("{dataset}") as u8, p.clone()));
    let mut fid = String::new();
    let mut served = 0;
    for (m, p) in &ordered {
        if m == "GET" && fid.is_empty() {
            let items = get_json(&addr, "/collections/d.grids/items?limit=1");
            fid = match &items["features"][0]["id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
        let body = match (m.as_str(), p.rsplit('/').next().unwrap()) {
            ("PUT", name) => Some(example(&format!("Upload_{name}"))),
            ("POST", "partition") => Some(example("Rules")),
            ("POST", "coverage") => Some(example("CoverageOptions")),
            ("POST", "propose") => Some(example("ProposeOptions")),
            _ => None,
        };
        let uri = p
            .replace("{dataset}", "d")
            .replace("{layer}", "grids")
            .replace("{collectionId}", "d.grids")
            .replace("{featureId}", &fid)
            .replace("{jobId}", &job)
            .replace("{file}", "page/index.html")
            .replace("{name}", "GCJ02")
            .replace("{tileMatrixSetId}", "WebMercatorQuad")
            .replace("{tileMatrix}/{tileRow}/{tileCol}", "0/0/0");
        let r =
            common::request(&addr, m, &uri, &[("Authorization", AUTH)], body.as_deref()).unwrap();
        let text = String::from_utf8_lossy(&r.body);
        // The router's own 404 (no route) says "no such resource"; a handler's
        // names what it did not find (a layer deleted a moment ago).
        let unrouted = r.status == 404
            && serde_json::from_slice::<Value>(&r.body)
                .is_ok_and(|p| p["detail"] == "no such resource");
        assert!(
            !unrouted && r.status != 405,
            "{m} {uri} (documented as {p}) is not served: {} {text}",
            r.status
        );
        if m == "GET" || m == "HEAD" {
            // A tile may be empty (204): at zoom 0 a district's grids are
            // smaller than one tile unit.
            let empty_tile = p.ends_with("{tileCol}") && r.status == 204;
            assert!(
                r.status == 200 || empty_tile,
                "{m} {uri}: {} {text}",
                r.status
            );
        }
        if body.is_some() {
            assert!(
                (200..300).contains(&r.status),
                "{m} {uri}: the document's example is refused: {} {text}",
                r.status
            );
        }
        served += 1;
    }
    assert!(served >= 40, "only {served} operations");
    let _ = std::fs::remove_dir_all(&dir);
}
