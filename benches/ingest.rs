//! Ingest benchmark: reading a household layer of 1M points (about 160 MB of
//! GeoJSON) into model types, against the peer a planner would otherwise use
//! (geopandas/pyogrio when the peers' environment is present, else Python's own
//! `json` module), in the same run.
//!
//! Run: `cargo bench --bench ingest` (add `-- --points N` for another size).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wangge::layers::{self, ReadOptions};

/// The allocator the `wangge` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let points: usize = args
        .iter()
        .position(|a| a == "--points")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join("wangge-bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("households_{points}.geojson"));
    if !path.exists() {
        write_households(&path, points);
    }
    let size_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;

    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let text = layers::read_text(&path).expect("read");
        let (h, report) = layers::read_households(&text, &ReadOptions::default()).expect("parse");
        assert_eq!(report.accepted, points);
        std::hint::black_box(h);
        times.push(t.elapsed().as_secs_f64());
    }
    let ours = median(&mut times);
    let text = layers::read_text(&path).expect("read");
    let t = Instant::now();
    let scanned = layers::parse_collection(&text)
        .expect("scan")
        .features
        .len();
    let scan = t.elapsed().as_secs_f64();
    println!("first pass (finding the {scanned} features): {scan:.3} s");
    let (peer_name, peer) = run_peer(&path);
    println!(
        "ingest of {points} household points ({size_mb:.0} MB GeoJSON), median of 5, {} threads",
        rayon::current_num_threads()
    );
    println!("{:<28} {:>10}", "tool", "wall s");
    println!("{:<28} {:>10.3}", "wangge read_households", ours);
    match peer {
        Some(p) => {
            println!("{:<28} {:>10.3}", peer_name, p);
            println!("ratio peer / wangge: {:.1}x", p / ours);
        }
        None => println!("{peer_name}: not run"),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Deterministic points around Chuzhou with contract properties.
fn write_households(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    f.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .unwrap();
    for i in 0..n {
        let (lon, lat) = (118.2 + next() * 0.3, 32.2 + next() * 0.3);
        let hh = 1 + (next() * 3.0) as u32;
        let persons = hh + (next() * 4.0) as u32;
        if i > 0 {
            f.write_all(b",\n").unwrap();
        }
        write!(f, "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{lon:.7},{lat:.7}]}},\"properties\":{{\"id\":\"H{i:07}\",\"households\":{hh},\"persons\":{persons},\"village\":\"V{:04}\"}}}}", i / 300).unwrap();
    }
    f.write_all(b"\n]}\n").unwrap();
}

/// Times the peer reading the same file, in a child process.
fn run_peer(path: &Path) -> (String, Option<f64>) {
    let venv = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.peers-coverage/bin/python"
    ));
    let (python, name, code) = if venv.exists() {
        (venv, "geopandas.read_file (peer)", "import sys,time,geopandas as g\nts=[]\nfor _ in range(3):\n t=time.time(); d=g.read_file(sys.argv[1]); ts.append(time.time()-t)\nprint(sorted(ts)[1])")
    } else {
        (PathBuf::from("python3"), "python json.load (peer)", "import sys,time,json\nts=[]\nfor _ in range(3):\n t=time.time(); d=json.load(open(sys.argv[1])); pts=[(f['geometry']['coordinates'],f['properties'].get('households',1)) for f in d['features']]; ts.append(time.time()-t)\nprint(sorted(ts)[1])")
    };
    let out = Command::new(&python).arg("-c").arg(code).arg(path).output();
    let secs = out
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
    (name.to_string(), secs)
}
