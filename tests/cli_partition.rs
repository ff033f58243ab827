//! `wangge partition` end to end on the demo dataset, recounted from the raw
//! input files with point-in-polygon on the written grids.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Area, BooleanOps, BoundingRect, Contains, Intersects};
use geo_types::{Geometry, MultiPolygon, Point};

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
}

fn features(path: &Path) -> Vec<geojson::Feature> {
    let text = std::fs::read_to_string(path).unwrap();
    let fc: geojson::FeatureCollection = text.parse().unwrap();
    fc.features
}

fn run(out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["partition", "--areas"])
        .arg(demo("areas.geojson"))
        .arg("--households")
        .arg(demo("households.geojson"))
        .arg("--barriers")
        .arg(demo("barriers.geojson"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn demo_grids_tile_the_villages_and_count_every_household_once() {
    let dir = std::env::temp_dir().join(format!("wangge-cli-partition-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("1/grids.geojson"), dir.join("2/grids.geojson"));
    for p in [&a, &b] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        run(p);
    }
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "same input, different output"
    );

    let grids: Vec<(String, String, u64, Geometry<f64>, bool)> = features(&a)
        .into_iter()
        .map(|f| {
            let p = |k: &str| f.property(k).cloned().unwrap();
            let g: Geometry<f64> = f.geometry.clone().unwrap().try_into().unwrap();
            (
                p("code").as_str().unwrap().to_string(),
                p("parent_code").as_str().unwrap().to_string(),
                p("households").as_u64().unwrap(),
                g,
                p("within_rules").as_bool().unwrap(),
            )
        })
        .collect();
    let codes: HashSet<&str> = grids.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(codes.len(), grids.len(), "grid codes are unique");
    assert!(
        grids.iter().all(|g| g.0.starts_with(&g.1)),
        "codes begin with the area code"
    );
    // A grid is one polygon unless its village itself is in several pieces.
    let multi_part: HashSet<String> = features(&demo("areas.geojson"))
        .iter()
        .filter(|v| matches!(&v.geometry.as_ref().unwrap().value, geojson::GeometryValue::MultiPolygon { coordinates } if coordinates.len() > 1))
        .map(|v| v.property("code").unwrap().as_str().unwrap().to_string())
        .collect();
    for g in &grids {
        assert!(
            matches!(g.3, Geometry::Polygon(_)) || multi_part.contains(&g.1),
            "grid {} is in pieces",
            g.0
        );
    }

    // Recount: each household point lies in exactly one grid of its own village.
    let boxes: Vec<_> = grids.iter().map(|g| g.3.bounding_rect().unwrap()).collect();
    let mut counted: HashMap<&str, u64> = HashMap::new();
    let mut total = 0;
    for h in features(&demo("households.geojson")) {
        let pt: Geometry<f64> = h.geometry.clone().unwrap().try_into().unwrap();
        let Geometry::Point(pt) = pt else { panic!() };
        let n = h.property("households").unwrap().as_u64().unwrap();
        let village = h.property("village").unwrap().as_str().unwrap().to_string();
        let hits: Vec<usize> = (0..grids.len())
            .filter(|&i| boxes[i].intersects(&pt) && contains_or_on(&grids[i].3, pt))
            .collect();
        let inside: Vec<usize> = hits
            .iter()
            .copied()
            .filter(|&i| grids[i].3.contains(&pt))
            .collect();
        let owner = match inside.as_slice() {
            [one] => *one,
            [] => {
                assert!(
                    !hits.is_empty(),
                    "household {:?} is in no grid",
                    h.property("id")
                );
                hits[0]
            }
            many => panic!(
                "household {:?} inside {} grids",
                h.property("id"),
                many.len()
            ),
        };
        assert_eq!(
            grids[owner].1, village,
            "household counted in another village's grid"
        );
        *counted.entry(&grids[owner].0).or_default() += n;
        total += n;
    }
    let sum: u64 = grids.iter().map(|g| g.2).sum();
    assert_eq!(sum, total, "grid households add up to the input");
    for g in &grids {
        let c = counted.get(g.0.as_str()).copied().unwrap_or(0);
        // Points exactly on a shared edge may be credited to either side.
        assert!(
            c.abs_diff(g.2) <= 40,
            "grid {}: {} claimed, {} recounted",
            g.0,
            g.2,
            c
        );
    }
    let within = grids.iter().filter(|g| g.4).count();
    assert_eq!(within, grids.len(), "every demo village can meet the rules");

    // Tiling: per village, the union of its grids is the village (symmetric
    // difference ≈ 0) and their areas add up to it (so they do not overlap).
    let mut by_village: HashMap<&str, Vec<Geometry<f64>>> = HashMap::new();
    for g in &grids {
        by_village.entry(&g.1).or_default().push(g.3.clone());
    }
    for v in features(&demo("areas.geojson")) {
        let code = v.property("code").unwrap().as_str().unwrap().to_string();
        let shape: Geometry<f64> = v.geometry.clone().unwrap().try_into().unwrap();
        let shape = to_multi(shape);
        let parts: Vec<MultiPolygon<f64>> = by_village[code.as_str()]
            .iter()
            .cloned()
            .map(to_multi)
            .collect();
        let union = parts
            .iter()
            .fold(MultiPolygon::<f64>(vec![]), |acc, p| acc.union(p));
        let want = shape.unsigned_area();
        let sum: f64 = parts.iter().map(|p| p.unsigned_area()).sum();
        let diff = union.xor(&shape).unsigned_area();
        assert!(
            diff / want < 1e-7,
            "village {code}: union differs from the village by {}",
            diff / want
        );
        assert!(
            (sum - want).abs() / want < 1e-7,
            "village {code}: grid areas sum to {sum}, village {want}"
        );
    }
}

fn to_multi(g: Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        other => panic!("not polygonal: {other:?}"),
    }
}

fn contains_or_on(g: &Geometry<f64>, p: Point<f64>) -> bool {
    g.intersects(&p)
}

#[test]
fn updating_with_unchanged_households_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("wangge-cli-update-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("before")).unwrap();
    std::fs::create_dir_all(dir.join("after")).unwrap();
    let before = dir.join("before/grids.geojson");
    let after = dir.join("after/grids.geojson");
    run(&before);
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(["partition", "--areas"])
        .arg(demo("areas.geojson"))
        .arg("--households")
        .arg(demo("households.geojson"))
        .arg("--barriers")
        .arg(demo("barriers.geojson"))
        .arg("--previous")
        .arg(&before)
        .arg("--out")
        .arg(&after)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read(&before).unwrap() == std::fs::read(&after).unwrap(),
        "an update with nothing to fix moved something"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("after/grids.changes.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["totals"]["households_moved"], 0);
    assert_eq!(report["totals"]["adjusted"], 0);
    assert_eq!(report["totals"]["new"], 0);
    assert_eq!(report["totals"]["retired"], 0);
}
