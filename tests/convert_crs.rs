//! `wangge convert` against independent answers: pyproj for EPSG codes and
//! published GCJ-02/BD-09 implementations (vectors in `tests/data/crs/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn data(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/crs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wangge-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `wangge convert` on points, returning the output coordinates in order.
fn convert_points(
    points: &[(f64, f64)],
    crs_arg: Option<&str>,
    crs_member: Option<&str>,
    name: &str,
) -> Vec<(f64, f64)> {
    let features: Vec<Value> = points
        .iter()
        .enumerate()
        .map(|(i, (x, y))| json!({"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {"households": 1}}))
        .collect();
    let mut fc = json!({"type": "FeatureCollection", "features": features});
    if let Some(c) = crs_member {
        fc["crs"] = json!({"type": "name", "properties": {"name": c}});
    }
    let input = tmp(&format!("{name}.in.geojson"));
    let output = tmp(&format!("{name}.out.geojson"));
    std::fs::write(&input, fc.to_string()).unwrap();
    let mut args = vec![
        "convert",
        "--in",
        input.to_str().unwrap(),
        "--layer",
        "households",
        "--strict",
        "--out",
        output.to_str().unwrap(),
    ];
    if let Some(c) = crs_arg {
        args.extend(["--crs", c]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert!(
        out.get("crs").is_none(),
        "RFC 7946 output carries no crs member"
    );
    out["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
        })
        .collect()
}

/// Metres between two nearby lon/lat points (spherical; ample for sub-metre checks).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8;
    let dy = (a.1 - b.1).to_radians() * r;
    let dx = (a.0 - b.0).to_radians() * r * a.1.to_radians().cos();
    dx.hypot(dy)
}

#[test]
fn gauss_kruger_file_matches_proj_within_1e7_degrees() {
    let vectors = data("proj_vectors.json");
    for set in vectors["sets"].as_array().unwrap() {
        let crs = set["crs"].as_str().unwrap();
        if crs != "EPSG:4549" && crs != "EPSG:4548" {
            continue;
        }
        let pts: Vec<&Value> = set["points"].as_array().unwrap().iter().collect();
        let xy: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap()))
            .collect();
        // Once through --crs, once through the file's own legacy crs member.
        for (arg, member) in [(Some(crs), None), (None, Some(crs))] {
            let got = convert_points(&xy, arg, member, &crs.replace(':', "_"));
            for (p, g) in pts.iter().zip(&got) {
                let want = (
                    p["inv_lon"].as_f64().unwrap(),
                    p["inv_lat"].as_f64().unwrap(),
                );
                assert!(
                    (g.0 - want.0).abs() < 1e-7 && (g.1 - want.1).abs() < 1e-7,
                    "{crs}: got {g:?}, pyproj {want:?}"
                );
            }
        }
    }
}

#[test]
fn gcj02_and_bd09_files_land_within_half_a_metre_of_the_truth() {
    let vectors = data("chinese_vectors.json");
    let pts = vectors["points"].as_array().unwrap();
    let truth: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| {
            (
                p["wgs84"][0].as_f64().unwrap(),
                p["wgs84"][1].as_f64().unwrap(),
            )
        })
        .collect();
    for system in ["gcj02", "bd09"] {
        let input: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| {
                (
                    p[system][0].as_f64().unwrap(),
                    p[system][1].as_f64().unwrap(),
                )
            })
            .collect();
        let got = convert_points(&input, Some(&system.to_uppercase()), None, system);
        for (t, g) in truth.iter().zip(&got) {
            let d = metres(*t, *g);
            assert!(d < 0.5, "{system}: {g:?} is {d:.3} m from the true {t:?}");
        }
    }
}

#[test]
fn round_trips_through_files_stay_within_a_centimetre() {
    use wangge::crs::Crs;
    // WGS84 points → GK metres and GCJ-02 by the library, then back by the CLI.
    let truth: Vec<(f64, f64)> = (0..50)
        .map(|i| (117.8 + 0.028 * i as f64, 32.0 + 0.022 * i as f64))
        .collect();
    for crs in [Crs::Epsg(4549), Crs::Epsg(4548), Crs::Gcj02, Crs::Bd09] {
        let forward = crs.from_wgs84().unwrap();
        let there: Vec<(f64, f64)> = truth
            .iter()
            .map(|&(x, y)| forward.convert(x, y).unwrap())
            .collect();
        let back = convert_points(
            &there,
            Some(&crs.to_string()),
            None,
            &format!("rt-{crs}").replace(':', "_"),
        );
        for (t, b) in truth.iter().zip(&back) {
            let d = metres(*t, *b);
            assert!(d < 0.01, "{crs}: round trip of {t:?} is off by {d} m");
        }
    }
}

#[test]
fn help_lists_every_command() {
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for cmd in ["convert", "partition", "coverage", "propose", "serve"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}
