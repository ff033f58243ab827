//! `wangge coverage` and `wangge propose` end to end on the demo dataset,
//! checked against a brute-force recount from the raw input files: every
//! household against every camera with Karney geodesics (geo's `Geodesic`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Bearing, Distance, Geodesic};
use geo_types::Point;
use serde_json::Value;

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn point(f: &Value) -> Point<f64> {
    let c = &f["geometry"]["coordinates"];
    Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

fn wangge(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The contract's rule without occlusion, with the README's camera defaults.
fn sees(cam: &Value, p: Point<f64>) -> bool {
    let props = &cam["properties"];
    if props["online"].as_bool() == Some(false) {
        return false;
    }
    let c = point(cam);
    let kind = props["type"].as_str().unwrap_or("dome");
    let range = props["range_m"].as_f64().unwrap_or(match kind {
        "bullet" => 50.0,
        "ptz" => 100.0,
        _ => 30.0,
    });
    let fov = props["fov_deg"]
        .as_f64()
        .unwrap_or(if kind == "bullet" { 60.0 } else { 360.0 });
    let d = Geodesic.distance(c, p);
    // Stay clear of measure-zero ties the two computations may round apart.
    if (d - range).abs() < 1e-3 {
        return d < range;
    }
    if d > range {
        return false;
    }
    if fov >= 360.0 || d == 0.0 {
        return true;
    }
    let az = props["azimuth_deg"].as_f64().unwrap();
    let b = Geodesic.bearing(c, p);
    let off = ((b - az + 540.0) % 360.0 - 180.0).abs();
    off <= fov / 2.0
}

#[test]
fn demo_coverage_matches_a_brute_force_recount() {
    let out = std::env::temp_dir().join(format!("wangge-cli-coverage-{}", std::process::id()));
    let arg = |p: PathBuf| p.to_str().unwrap().to_string();
    let stdout = wangge(&[
        "coverage",
        "--cameras",
        &arg(demo("cameras.geojson")),
        "--households",
        &arg(demo("households.geojson")),
        "--areas",
        &arg(demo("areas.geojson")),
        "--sites",
        &arg(demo("sites.geojson")),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("coverage:"), "{stdout}");

    let cameras = read(&demo("cameras.geojson"));
    let cameras = cameras["features"].as_array().unwrap();
    let input = read(&demo("households.geojson"));
    let output = read(&out.join("households.geojson"));
    let (input, output) = (
        input["features"].as_array().unwrap(),
        output["features"].as_array().unwrap(),
    );
    assert_eq!(input.len(), output.len());
    let (mut covered, mut total, mut pairs) = (0u64, 0u64, 0usize);
    for (h, o) in input.iter().zip(output) {
        assert_eq!(
            h["properties"]["id"], o["properties"]["id"],
            "input properties are kept, in order"
        );
        let p = point(h);
        let want: HashSet<String> = cameras
            .iter()
            .filter(|c| sees(c, p))
            .map(|c| c["properties"]["id"].as_str().unwrap().to_string())
            .collect();
        let got: HashSet<String> = o["properties"]["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "household {}", h["properties"]["id"]);
        // The text twin lists the same ids, in the array's order.
        let listed: Vec<&str> = o["properties"]["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            o["properties"]["cameras_text"].as_str().unwrap(),
            listed.join("; "),
            "household {}",
            h["properties"]["id"]
        );
        assert_eq!(
            o["properties"]["covered"].as_bool().unwrap(),
            !want.is_empty()
        );
        let n = h["properties"]["households"].as_u64().unwrap();
        total += n;
        if !want.is_empty() {
            covered += n;
        }
        pairs += want.len();
    }
    assert!(
        pairs > 500,
        "the demo should exercise many camera-household pairs, got {pairs}"
    );

    let summary = read(&out.join("summary.json"));
    assert_eq!(summary["summary"]["households"].as_u64(), Some(total));
    assert_eq!(
        summary["summary"]["covered_households"].as_u64(),
        Some(covered)
    );
    let offline = cameras
        .iter()
        .filter(|c| c["properties"]["online"] == false)
        .count();
    assert_eq!(
        summary["summary"]["cameras_online"].as_u64(),
        Some((cameras.len() - offline) as u64)
    );

    // Per-area household totals add up (the demo villages tile the district).
    let areas = read(&out.join("areas.geojson"));
    let by_area: u64 = areas["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["properties"]["households"].as_u64().unwrap())
        .sum();
    assert_eq!(by_area, total);
    let gaps = read(&out.join("gaps.geojson"));
    let in_gaps: u64 = gaps["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["properties"]["households_uncovered"].as_u64().unwrap())
        .sum();
    assert!(
        in_gaps <= total - covered,
        "gaps hold {in_gaps} uncovered households, only {} are uncovered",
        total - covered
    );
}

#[test]
fn demo_proposals_are_ranked_and_add_up() {
    let out =
        std::env::temp_dir().join(format!("wangge-cli-propose-{}.geojson", std::process::id()));
    let arg = |p: PathBuf| p.to_str().unwrap().to_string();
    wangge(&[
        "propose",
        "--cameras",
        &arg(demo("cameras.geojson")),
        "--households",
        &arg(demo("households.geojson")),
        "--candidates",
        &arg(demo("candidates.geojson")),
        "--count",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    let picks = read(&out);
    let picks = picks["features"].as_array().unwrap();
    assert_eq!(picks.len(), 8);
    let mut last_gain = u64::MAX;
    let mut cumulative = None;
    for (i, p) in picks.iter().enumerate() {
        let props = &p["properties"];
        assert_eq!(props["rank"].as_u64(), Some(i as u64 + 1));
        let gain = props["households_gained"].as_u64().unwrap();
        assert!(gain <= last_gain, "greedy gains never grow");
        last_gain = gain;
        let cum = props["cumulative_covered"].as_u64().unwrap();
        if let Some(prev) = cumulative {
            assert_eq!(cum, prev + gain);
        }
        cumulative = Some(cum);
    }
}

/// `--orientations N`: narrow cameras whose view axis is chosen too. The first
/// pick is the best (site, axis) pair, so it gains at least as much as the best
/// site facing the fixed axis (which is one of the axes tried); gains still add up.
#[test]
fn oriented_proposals_choose_the_view_axis() {
    let arg = |p: PathBuf| p.to_str().unwrap().to_string();
    let run = |orientations: &str| {
        let out = std::env::temp_dir().join(format!(
            "wangge-cli-propose-oriented-{orientations}-{}.geojson",
            std::process::id()
        ));
        let stdout = wangge(&[
            "propose",
            "--cameras",
            &arg(demo("cameras.geojson")),
            "--households",
            &arg(demo("households.geojson")),
            "--candidates",
            &arg(demo("candidates.geojson")),
            "--count",
            "6",
            "--fov-deg",
            "60",
            "--range-m",
            "80",
            "--azimuth-deg",
            "30",
            "--orientations",
            orientations,
            "--out",
            out.to_str().unwrap(),
        ]);
        let v = read(&out);
        let gains: Vec<u64> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["households_gained"].as_u64().unwrap())
            .collect();
        let azimuths: Vec<f64> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["azimuth_deg"].as_f64().unwrap())
            .collect();
        let last = v["features"].as_array().unwrap().last().unwrap()["properties"]
            ["cumulative_covered"]
            .as_u64()
            .unwrap();
        (stdout, gains, last, azimuths)
    };
    let (out1, fixed, _, fixed_axes) = run("1");
    let (out8, oriented, last, axes) = run("8");
    // Each pick says which way its camera faces: the given axis, or one of the
    // eight axes 45° apart starting from it.
    assert!(fixed_axes.iter().all(|&a| a == 30.0), "{fixed_axes:?}");
    assert!(
        axes.iter()
            .all(|&a| ((a - 30.0) / 45.0).fract().abs() < 1e-9 && (0.0..360.0).contains(&a)),
        "{axes:?}"
    );
    assert!(!out1.contains("axes"), "{out1}");
    assert!(out8.contains("best of 8 axes"), "{out8}");
    assert_eq!(oriented.len(), 6);
    assert!(oriented[0] >= fixed[0], "{oriented:?} vs {fixed:?}");
    assert!(oriented.windows(2).all(|w| w[0] >= w[1]));
    let first = read(&std::env::temp_dir().join(format!(
        "wangge-cli-propose-oriented-8-{}.geojson",
        std::process::id()
    )))["features"][0]["properties"]["cumulative_covered"]
        .as_u64()
        .unwrap();
    assert_eq!(last - first, oriented[1..].iter().sum::<u64>());

    // A bad count of axes is refused with a reason, not a panic.
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args([
            "propose",
            "--cameras",
            &arg(demo("cameras.geojson")),
            "--households",
            &arg(demo("households.geojson")),
            "--candidates",
            &arg(demo("candidates.geojson")),
            "--count",
            "2",
            "--orientations",
            "0",
            "--out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--orientations"));
}
