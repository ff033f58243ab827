//! The fuzz corpus (`fuzz/corpus/<target>/`) replayed through the same checks as
//! the fuzz targets in `fuzz/fuzz_targets/`, so every input the fuzzer kept —
//! the seeds from real data and what it found since — is part of the normal
//! test suite, plus one test per crash the fuzzer found (named after it).

use std::path::Path;

use actix_web::ResponseError;
use wangge::crs::Crs;
use wangge::layers::{read_layer, LayerKind, ReadOptions};
use wangge::model::Rules;
use wangge::service::datasets::parse_read_options;
use wangge::service::ogc::parse_items_query;

/// Every file of one target's corpus; the seeds are committed, so an empty
/// corpus is a broken checkout.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: seeds missing", dir.display());
    files
}

/// The `layers` target: every kind answers without panicking, and the report
/// of an accepted layer serialises.
fn check_layer(text: &str) -> usize {
    let opts = ReadOptions::default();
    let mut accepted = 0;
    for kind in LayerKind::ALL {
        if let Ok((_, report)) = read_layer(kind, text, &opts) {
            serde_json::to_string(&report).expect("a layer report serialises");
            accepted += 1;
        }
    }
    accepted
}

/// The `crs_name` target.
fn check_crs_name(name: &str) -> bool {
    let parsed = Crs::parse(name);
    assert_eq!(parsed.as_ref().ok(), name.parse::<Crs>().as_ref().ok());
    if let Ok(member) = serde_json::from_str::<serde_json::Value>(name) {
        let _ = Crs::from_geojson_member(&member);
    }
    let Ok(crs) = parsed else { return false };
    if let Some(uri) = crs.ogc_uri() {
        assert_eq!(Crs::parse(&uri).ok(), Some(crs), "{uri} round-trips");
    }
    if let Ok(t) = crs.to_wgs84() {
        let _ = t.convert(500_000.0, 3_000_000.0);
    }
    true
}

/// The `rules` target.
fn check_rules(data: &[u8]) -> bool {
    let Ok(rules) = serde_json::from_slice::<Rules>(data) else {
        return false;
    };
    if rules.validate().is_err() {
        return false;
    }
    let t = rules.target();
    assert!((rules.min_households..=rules.max_households).contains(&t));
    true
}

/// The `query` target.
fn check_query(query: &str) -> bool {
    let ok = match parse_items_query(query, 1000) {
        Ok(q) => {
            assert!((1..=1000).contains(&q.limit));
            if let Some(b) = q.bbox {
                // Finite and clamped to CRS84 (south above north is an
                // empty box, not an error).
                assert!(b.iter().all(|v| v.is_finite()), "{b:?}");
                assert!(b[0].abs() <= 180.0 && b[2].abs() <= 180.0, "{b:?}");
                assert!(b[1].abs() <= 90.0 && b[3].abs() <= 90.0, "{b:?}");
            }
            true
        }
        Err(e) => {
            assert!(e.status_code().is_client_error(), "{e}");
            false
        }
    };
    if let Err(e) = parse_read_options(query) {
        assert!(e.status_code().is_client_error(), "{e}");
    }
    ok
}

#[test]
fn layers_corpus() {
    let mut accepted = 0;
    for (name, data) in corpus("layers") {
        if let Ok(text) = std::str::from_utf8(&data) {
            eprintln!("{name}");
            accepted += check_layer(text);
        }
    }
    // The real seeds (Wuhan areas, Trafford cameras, …) are read by their kind.
    assert!(accepted >= 5, "only {accepted} layers accepted");
}

#[test]
fn crs_name_corpus() {
    let files = corpus("crs_name");
    let accepted = files
        .iter()
        .filter_map(|(_, d)| std::str::from_utf8(d).ok())
        .filter(|n| check_crs_name(n))
        .count();
    assert!(accepted >= 5, "only {accepted} names accepted");
    assert!(check_crs_name("urn:ogc:def:crs:EPSG::4549"));
    assert!(!check_crs_name("EPSG:999999x"));
}

#[test]
fn rules_corpus() {
    let files = corpus("rules");
    let accepted = files.iter().filter(|(_, d)| check_rules(d)).count();
    assert!(accepted >= 2, "only {accepted} rules documents accepted");
}

#[test]
fn query_corpus() {
    let files = corpus("query");
    let accepted = files
        .iter()
        .filter_map(|(_, d)| std::str::from_utf8(d).ok())
        .filter(|q| check_query(q))
        .count();
    assert!(accepted >= 2, "only {accepted} queries accepted");
}

/// This process's resident memory, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

/// Found by `crs_name` (its run went past the 2 GB limit): every unknown EPSG
/// code asked cost about 200 kB that was never given back (a PROJ context the
/// `proj` crate leaks when creation fails), so requests naming ever new codes
/// grew the server without bound. 3,000 new unknown codes now cost nothing
/// like the 600 MB they did.
#[test]
fn crs_name_unknown_codes_do_not_grow_memory() {
    // Warm PROJ's database and this process's tables first.
    assert!(Crs::parse("EPSG:4549").unwrap().to_wgs84().is_ok());
    let before = rss_mb();
    for code in 880_000..883_000u32 {
        let crs = Crs::parse(&format!("EPSG:{code}")).expect("a well-formed name");
        assert!(crs.to_wgs84().is_err(), "EPSG:{code} is not a CRS");
    }
    let grown = rss_mb() - before;
    assert!(
        grown < 100.0,
        "3,000 unknown codes grew memory by {grown:.0} MB"
    );
}
