//! Every file in `tests/data/bad/` breaks one rule of the contract. `wangge
//! convert --strict` must exit non-zero with one line naming the problem (and the
//! feature, where one feature is at fault), and never panic.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wangge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(args)
        .output()
        .expect("run wangge")
}

fn out_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wangge-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Checks the run failed cleanly, with exactly one line on stderr.
fn one_line_failure(o: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success(),
        "{what}: expected failure, got success; stderr {err}"
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: exit status {:?}, stderr {err}",
        o.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{what}: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: stderr not one line: {err}"
    );
    err
}

#[test]
fn every_bad_input_is_refused_with_a_named_reason() {
    let checked = check_corpus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad"));
    assert!(checked >= 30, "corpus has only {checked} files");
}

/// Broken Shapefiles, GeoPackages, CSV and Excel lists
/// (`tests/data/bad/formats/make_formats.py` writes them).
#[test]
fn every_bad_file_of_another_format_is_refused_with_a_named_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad/formats");
    let checked = check_corpus(&dir);
    assert!(checked >= 20, "corpus has only {checked} files");
}

/// Runs `convert --strict` on every file of a corpus's MANIFEST.tsv.
fn check_corpus(dir: &Path) -> usize {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, layer, expect, feature) = (cols[0], cols[1], cols[2], cols[3]);
        let input = dir.join(file);
        let out = out_path(&format!("{file}.out"));
        let o = wangge(&[
            "convert",
            "--in",
            input.to_str().unwrap(),
            "--layer",
            layer,
            "--strict",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = one_line_failure(&o, file);
        assert!(
            err.to_lowercase().contains(&expect.to_lowercase()),
            "{file}: expected {expect:?} in {err}"
        );
        assert!(
            err.contains(file),
            "{file}: reason does not name the file: {err}"
        );
        if feature != "-" {
            assert!(
                err.contains(&format!("feature {feature}")),
                "{file}: reason does not name feature {feature}: {err}"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn without_strict_the_good_features_are_kept_and_the_bad_reported() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    let input = dir.join("unclosed_ring.geojson");
    let out = out_path("kept.geojson");
    let o = wangge(&[
        "convert",
        "--in",
        input.to_str().unwrap(),
        "--layer",
        "areas",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 features, 1 accepted, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("feature 1") && stdout.contains("not closed"),
        "{stdout}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["features"].as_array().unwrap().len(), 1);
    assert_eq!(written["features"][0]["properties"]["code"], "341102001001");
}

#[test]
fn a_hundred_megabytes_of_garbage_is_refused_quickly() {
    // Binary noise (not UTF-8), and text noise that is valid UTF-8 but not JSON.
    let mut state: u64 = 42;
    let mut noise = vec![0u8; 100 << 20];
    for b in noise.iter_mut() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *b = (state >> 56) as u8;
    }
    let binary = out_path("garbage.bin");
    std::fs::write(&binary, &noise).unwrap();
    for b in noise.iter_mut() {
        *b = b'a' + (*b % 26);
    }
    noise[0] = b'{';
    let text = out_path("garbage.txt");
    std::fs::File::create(&text)
        .unwrap()
        .write_all(&noise)
        .unwrap();
    let deep = out_path("deep.geojson");
    std::fs::write(&deep, "[".repeat(10 << 20)).unwrap();
    let deep_obj = out_path("deep_obj.geojson");
    std::fs::write(
        &deep_obj,
        r#"{"type":"FeatureCollection","features":"#.to_string() + &"[".repeat(1 << 20),
    )
    .unwrap();
    for (path, expect) in [
        (&binary, "UTF-8"),
        (&text, "JSON"),
        (&deep, "FeatureCollection"),
        (&deep_obj, "JSON"),
    ] {
        let out = out_path("garbage.out");
        let started = std::time::Instant::now();
        let o = wangge(&[
            "convert",
            "--in",
            path.to_str().unwrap(),
            "--layer",
            "households",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = one_line_failure(&o, &path.display().to_string());
        assert!(err.contains(expect), "{err}");
        assert!(
            started.elapsed().as_secs() < 20,
            "took {:?}",
            started.elapsed()
        );
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn bad_options_are_refused_with_one_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let input = dir.join("households.geojson");
    let out = out_path("opt.geojson");
    for (args, expect) in [
        (
            vec!["--layer", "households", "--crs", "EPSG:abc"],
            "EPSG:abc",
        ),
        (
            vec!["--layer", "households", "--crs", "EPSG:999999"],
            "999999",
        ),
        (vec!["--layer", "parcels"], "unknown layer kind"),
    ] {
        let mut all = vec![
            "convert",
            "--in",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        all.extend(args);
        let err = one_line_failure(&wangge(&all), expect);
        assert!(err.contains(expect), "{err}");
    }
    let missing = wangge(&[
        "convert",
        "--in",
        "/nonexistent/x.geojson",
        "--layer",
        "areas",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(one_line_failure(&missing, "missing file").contains("/nonexistent/x.geojson"));
}

/// A spreadsheet's empty rows are passed over, not counted; a row whose position
/// is not a number is rejected by the row number Excel shows, and the other
/// rows are kept.
#[test]
fn a_spreadsheet_keeps_its_good_rows_and_names_the_bad_ones_by_row() {
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad/formats/xlsx_text_in_lat.xlsx");
    let out = out_path("rows.geojson");
    let report = out_path("rows.report.json");
    let o = wangge(&[
        "convert",
        "--in",
        input.to_str().unwrap(),
        "--layer",
        "households",
        "--id-field",
        "户号",
        "--households-field",
        "户数",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 features, 1 accepted, 1 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("rejected row 4 (id H2)"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["rejections"][0]["row"], 4);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["features"][0]["id"], "H1");
    assert_eq!(written["features"][0]["properties"]["户数"], 3);
}
