//! Reading a 1M-point household layer from a Shapefile (GBK attributes, as
//! offices' ArcGIS exports have them) and from a GeoPackage, both written by
//! GDAL, against the peers a planner would otherwise use, on the same files:
//!
//! - whole processes, each reading the file and writing it as GeoJSON, timed
//!   with `/usr/bin/time -v` (wall, CPU, peak memory): `wangge convert`
//!   (which also validates every point, as every wangge command does),
//!   `ogr2ogr -f GeoJSON` (Debian's gdal-bin), and pyogrio (`pyogrio.raw`
//!   read then write: numpy arrays and GDAL underneath, no geopandas);
//! - reading alone, in process: wangge's `formats::open` plus the household
//!   reader (model types, validated) against `pyogrio.raw.read` (arrays).
//!
//! Needs `ogr2ogr` and pyogrio in a venv under `.tools/pyogrio`:
//!
//!     python3 -m venv .tools/pyogrio && .tools/pyogrio/bin/pip install pyogrio
//!
//! Run: `cargo bench --bench formats` (`-- --points N` for another size,
//! `-- --runs N` for another number of runs; the median is printed).

#[path = "support/http.rs"]
mod http;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wangge::layers::formats::{self, SourceOptions};
use wangge::layers::{self, ReadOptions};

/// The allocator the `wangge` binary uses, so the in-process figures are the
/// product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn pyogrio_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/pyogrio/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import pyogrio"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import pyogrio: python3 -m venv .tools/pyogrio && .tools/pyogrio/bin/pip install pyogrio",
        python.display()
    );
    python
}

fn ogr2ogr(args: &[&str]) {
    let o = Command::new("ogr2ogr")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("ogr2ogr: {e}: install Debian's gdal-bin (apt-get install gdal-bin)")
        });
    assert!(
        o.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `n` households around Chuzhou with an id, counts and a village name in
/// Chinese (deterministic).
fn write_households(path: &Path, n: usize) {
    const VILLAGES: [&str; 6] = [
        "花园街社区",
        "琅琊街道",
        "清流街道",
        "扬子街道",
        "西涧街道",
        "南谯新区",
    ];
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut rng = http::Rng(0x9E37_79B9_7F4A_7C15);
    f.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .unwrap();
    for i in 0..n {
        let (lon, lat) = (118.2 + rng.next() * 0.3, 32.2 + rng.next() * 0.3);
        let hh = 1 + (rng.next() * 3.0) as u32;
        let persons = hh + (rng.next() * 4.0) as u32;
        if i > 0 {
            f.write_all(b",\n").unwrap();
        }
        write!(
            f,
            "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{lon:.7},{lat:.7}]}},\"properties\":{{\"id\":\"H{i:07}\",\"households\":{hh},\"persons\":{persons},\"village\":\"{}{:03}\"}}}}",
            VILLAGES[(i / 300) % VILLAGES.len()],
            (i / 300) % 1000
        )
        .unwrap();
    }
    f.write_all(b"\n]}\n").unwrap();
}

/// What `/usr/bin/time -v` says about one process.
#[derive(Debug, Clone, Copy)]
struct Usage {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
}

fn timed(cmd: &[&str]) -> Usage {
    let o = Command::new("/usr/bin/time")
        .arg("-v")
        .args(cmd)
        .output()
        .expect("/usr/bin/time (Debian's time package)");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{cmd:?}: {err}");
    let field = |name: &str| -> &str {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {err}"))
            .trim()
    };
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .split(':')
        .fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap());
    let cpu = field("User time (seconds):").parse::<f64>().unwrap()
        + field("System time (seconds):").parse::<f64>().unwrap();
    let rss_mb = field("Maximum resident set size (kbytes):")
        .parse::<f64>()
        .unwrap()
        / 1024.0;
    Usage { wall, cpu, rss_mb }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall, CPU and peak memory of `runs` runs.
fn whole(runs: usize, cmd: &[&str]) -> Usage {
    let u: Vec<Usage> = (0..runs).map(|_| timed(cmd)).collect();
    Usage {
        wall: median(u.iter().map(|x| x.wall).collect()),
        cpu: median(u.iter().map(|x| x.cpu).collect()),
        rss_mb: median(u.iter().map(|x| x.rss_mb).collect()),
    }
}

const PYOGRIO_CONVERT: &str = "import sys, pyogrio.raw as r
meta, fids, geom, fields = r.read(sys.argv[1])
r.write(sys.argv[2], geom, fields, meta['fields'], driver='GeoJSON', geometry_type=meta['geometry_type'], crs=meta['crs'], encoding='UTF-8')";

const PYOGRIO_READ: &str = "import sys, time, pyogrio.raw as r
ts, cs = [], []
for _ in range(int(sys.argv[2])):
    t, c = time.perf_counter(), time.process_time()
    meta, fids, geom, fields = r.read(sys.argv[1])
    ts.append(time.perf_counter() - t); cs.append(time.process_time() - c)
    assert len(geom) == int(sys.argv[3])
print(sorted(ts)[len(ts) // 2], sorted(cs)[len(cs) // 2])";

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 a second on Linux).
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn main() {
    let points = arg("--points", 1_000_000);
    let runs = arg("--runs", 3);
    let python = pyogrio_python();
    let wangge = http::binary();
    let dir = std::env::temp_dir().join("wangge-bench-formats");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let geojson = dir.join(format!("households_{points}.geojson"));
    let shp = dir.join(format!("households_{points}.shp"));
    let gpkg = dir.join(format!("households_{points}.gpkg"));
    if !geojson.exists() {
        write_households(&geojson, points);
    }
    let g = geojson.to_str().unwrap();
    if !shp.exists() {
        ogr2ogr(&[
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=GBK",
            shp.to_str().unwrap(),
            g,
        ]);
    }
    if !gpkg.exists() {
        ogr2ogr(&[
            "-f",
            "GPKG",
            "-nln",
            "households",
            gpkg.to_str().unwrap(),
            g,
        ]);
    }
    let out = dir.join("out.geojson");
    let o = out.to_str().unwrap();
    let load = http::loadavg();

    println!(
        "{points} household points; median of {runs} runs; whole processes timed with /usr/bin/time -v; \
         {} cores, load average {load} before",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| file | tool (file → GeoJSON) | wall s | CPU s | peak MB | wall ratio to wangge | CPU ratio to wangge |");
    println!("|---|---|---|---|---|---|---|");
    for (name, path) in [("Shapefile (GBK)", &shp), ("GeoPackage", &gpkg)] {
        let p = path.to_str().unwrap();
        // A Shapefile is its .shp, .shx and .dbf.
        let parts: &[&str] = if path == &shp {
            &["shp", "shx", "dbf"]
        } else {
            &["gpkg"]
        };
        let size: u64 = parts
            .iter()
            .filter_map(|e| std::fs::metadata(path.with_extension(e)).ok())
            .map(|m| m.len())
            .sum();
        let ours = whole(
            runs,
            &[
                wangge.to_str().unwrap(),
                "convert",
                "--in",
                p,
                "--layer",
                "households",
                "--out",
                o,
            ],
        );
        let text = std::fs::read_to_string(&out).expect("wangge's output");
        assert_eq!(
            text.matches("\"Feature\"").count(),
            points,
            "wangge wrote every point"
        );
        let gdal = whole(runs, &["ogr2ogr", "-f", "GeoJSON", o, p]);
        let _ = std::fs::remove_file(&out);
        let py = whole(
            runs,
            &[python.to_str().unwrap(), "-c", PYOGRIO_CONVERT, p, o],
        );
        let _ = std::fs::remove_file(&out);
        let label = format!("{name}, {:.0} MB", size as f64 / 1e6);
        for (tool, u) in [
            ("wangge convert", ours),
            ("ogr2ogr (GDAL 3.6)", gdal),
            ("pyogrio raw read + write", py),
        ] {
            println!(
                "| {label} | {tool} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} |",
                u.wall,
                u.cpu,
                u.rss_mb,
                u.wall / ours.wall,
                u.cpu / ours.cpu
            );
        }
    }

    println!();
    println!("Reading alone, in process (median of {runs}):");
    println!("| file | wangge formats::open + read_households: wall s | CPU s | pyogrio.raw.read: wall s | CPU s | wall ratio pyogrio / wangge | CPU ratio |");
    println!("|---|---|---|---|---|---|---|");
    for (name, path) in [("Shapefile (GBK)", &shp), ("GeoPackage", &gpkg)] {
        let mut cpu = Vec::new();
        let ours = median(
            (0..runs)
                .map(|_| {
                    let c = cpu_seconds();
                    let t = Instant::now();
                    let opened = formats::open(path, &SourceOptions::default()).expect("open");
                    let opts = ReadOptions {
                        origin: opened.origin.clone(),
                        ..Default::default()
                    };
                    let (h, report) = layers::read_households(&opened, &opts).expect("read");
                    assert_eq!(report.accepted, points);
                    std::hint::black_box(h);
                    let wall = t.elapsed().as_secs_f64();
                    cpu.push(cpu_seconds() - c);
                    wall
                })
                .collect(),
        );
        let ours_cpu = median(cpu);
        let o = Command::new(&python)
            .args([
                "-c",
                PYOGRIO_READ,
                path.to_str().unwrap(),
                &runs.to_string(),
                &points.to_string(),
            ])
            .output()
            .expect("pyogrio");
        assert!(
            o.status.success(),
            "pyogrio: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        let mut t = text
            .split_whitespace()
            .map(|v| v.parse::<f64>().expect("seconds"));
        let (py, py_cpu) = (t.next().expect("wall"), t.next().expect("cpu"));
        println!(
            "| {name} | {ours:.2} | {ours_cpu:.2} | {py:.2} | {py_cpu:.2} | {:.2} | {:.2} |",
            py / ours,
            py_cpu / ours_cpu
        );
    }
    println!();
    println!("load average {} after", http::loadavg());
}
