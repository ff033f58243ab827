//! Coverage benchmark: wangge's engine against the geopandas/shapely and
//! PuLP/CBC peers on the same generated files, in the same run.
//!
//! `cargo bench --bench coverage` (release). Environment:
//! - `WANGGE_BENCH_SIZES`: comma list of `10k`, `100k`, `1m` (default all three:
//!   10k households × 1k cameras, 100k × 10k, 1M × 100k), or of
//!   `HOUSEHOLDS:CAMERAS` pairs such as `1m:10k` for the rest of the 3 × 3 matrix
//!   (the generator keeps the household layout whatever the camera count).
//! - `WANGGE_BENCH_DATA`: where generated data goes (default
//!   `$TMPDIR/wangge-cov-bench`; never inside the repository).
//! - `WANGGE_BENCH_PEERS=0`: skip the Python peers.
//! - `WANGGE_PEERS_VENV` (default `../.peers-coverage`, beside the clone) and `WANGGE_PEERS_DIR`
//!   (default `../shared/peers` beside the repository).
//!
//! Every wangge measurement runs in a child process (this binary re-invoked), so
//! its peak memory is its own: `peak engine` is the high-water mark while the
//! engine runs (input data included), reset just before it starts.

#[path = "../tests/support_cov/mod.rs"]
mod support_cov;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use support_cov::fast;

/// A private copy of the `wangge` binary: the target directory is shared, and
/// another build may replace the file while the bench runs. `None` (with a
/// message) when the binary there is not this package's command line.
fn private_cli() -> Option<PathBuf> {
    let src = PathBuf::from(env!("CARGO_BIN_EXE_wangge"));
    let dst = std::env::temp_dir().join(format!("wangge-cov-bench-bin-{}", std::process::id()));
    std::fs::copy(&src, &dst).ok()?;
    let help = Command::new(&dst)
        .args(["coverage", "--help"])
        .output()
        .ok()?;
    if help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--cameras") {
        Some(dst)
    } else {
        println!(
            "CLI skipped: {} is not the wangge command line (rebuild it)",
            src.display()
        );
        None
    }
}

/// The whole command line, GeoJSON in → layers out, timed with `/usr/bin/time`:
/// (wall s, CPU s, peak MB), the run of median wall time of three.
fn cli(bin: Option<&Path>, dir: &Path, full: bool) -> Option<(f64, f64, f64)> {
    let mut runs = (0..3)
        .map(|_| cli_once(bin, dir, full))
        .collect::<Option<Vec<_>>>()?;
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(runs[1])
}

fn cli_once(bin: Option<&Path>, dir: &Path, full: bool) -> Option<(f64, f64, f64)> {
    let bin = bin?;
    let out = std::env::temp_dir().join(format!("wangge-cov-bench-out-{}", std::process::id()));
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "TIME %e %U %S %M"])
        .arg(bin)
        .arg("coverage")
        .arg("--cameras")
        .arg(dir.join("cameras_c.geojson"))
        .arg("--households")
        .arg(dir.join("households_c.geojson"));
    if full {
        cmd.arg("--areas")
            .arg(dir.join("areas.geojson"))
            .arg("--buildings")
            .arg(dir.join("buildings.geojson"))
            .arg("--sites")
            .arg(dir.join("sites.geojson"));
    }
    cmd.arg("--out").arg(&out);
    let o = cmd.output().ok()?;
    let _ = std::fs::remove_dir_all(&out);
    if !o.status.success() {
        eprintln!("  CLI failed: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().rev().find(|l| l.starts_with("TIME "))?;
    let v: Vec<f64> = line[5..]
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    (v.len() == 4).then(|| (v[0], v[1] + v[2], v[3] / 1024.0))
}
use wangge::coverage::{
    coverage, propose, CoverageInput, CoverageOptions, Goal, ProposeInput, ProposeOptions,
};
use wangge::NoProgress;

/// (name, households, cameras, data folder).
const SIZES: [(&str, usize, usize, &str); 3] = [
    ("10k", 10_000, 1_000, "h10k_c1k"),
    ("100k", 100_000, 10_000, "h100k_c10k"),
    ("1m", 1_000_000, 100_000, "h1m_c100k"),
];

fn cpu_seconds() -> f64 {
    // utime + stime from /proc/self/stat, in clock ticks (100 Hz on Linux).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn status_kb(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Prints each stage's start time to stderr (with `WANGGE_BENCH_STAGES=1`).
struct StageTimer {
    t0: Instant,
    last: std::sync::Mutex<String>,
}

impl wangge::Progress for StageTimer {
    fn report(&self, stage: &str, _fraction: f64) {
        let mut last = self.last.lock().unwrap();
        if *last != stage {
            eprintln!("  {:>8.3} s  {stage}", self.t0.elapsed().as_secs_f64());
            *last = stage.to_string();
        }
    }
}

/// One of `wangge::layers`' typed readers.
type Reader<T> = fn(
    &str,
    &wangge::layers::ReadOptions,
) -> Result<(Vec<T>, wangge::layers::LayerReport), wangge::layers::LayerError>;

/// Reads a layer with wangge's own reader (what the CLI does).
fn layer<T>(path: &str, read: Reader<T>) -> Vec<T> {
    let text = wangge::layers::read_text(Path::new(path)).expect("read");
    read(&text, &Default::default()).expect("layer").0
}

fn child(mode: &str, dir: &str) {
    let p = |f: &str| format!("{dir}/{f}");
    let t0 = Instant::now();
    let c0 = cpu_seconds();
    let reps: usize = std::env::var("WANGGE_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    match mode {
        "plain" | "full" => {
            let full = mode == "full";
            let cameras = layer(&p("cameras_c.geojson"), wangge::layers::read_cameras);
            let households = layer(&p("households_c.geojson"), wangge::layers::read_households);
            let (buildings, areas, sites) = if full {
                (
                    layer(&p("buildings.geojson"), wangge::layers::read_buildings),
                    layer(&p("areas.geojson"), wangge::layers::read_areas),
                    layer(&p("sites.geojson"), wangge::layers::read_sites),
                )
            } else {
                (Vec::new(), Vec::new(), Vec::new())
            };
            let read_s = t0.elapsed().as_secs_f64();
            let read_cpu = cpu_seconds() - c0;
            let input = CoverageInput {
                cameras: &cameras,
                households: &households,
                areas: &areas,
                buildings: &buildings,
                sites: &sites,
            };
            let mut opts = CoverageOptions::default();
            // Switches for profiling the stages.
            if std::env::var("WANGGE_BENCH_NO_CELLS").is_ok() {
                opts.area_coverage = false;
                opts.gaps = false;
            }
            if std::env::var("WANGGE_BENCH_NO_GAPS").is_ok() {
                opts.gaps = false;
            }
            let mut best = f64::INFINITY;
            let mut best_cpu = f64::INFINITY;
            let mut peak = 0.0f64;
            let mut summary = None;
            for _ in 0..reps {
                reset_peak();
                let t = Instant::now();
                let c = cpu_seconds();
                let r = if std::env::var("WANGGE_BENCH_STAGES").is_ok() {
                    let p = StageTimer {
                        t0: Instant::now(),
                        last: Default::default(),
                    };
                    coverage(&input, &opts, &p).expect("coverage")
                } else {
                    coverage(&input, &opts, &NoProgress).expect("coverage")
                };
                best = best.min(t.elapsed().as_secs_f64());
                best_cpu = best_cpu.min(cpu_seconds() - c);
                peak = peak.max(status_kb("VmHWM:"));
                summary = Some(r.summary);
            }
            let s = summary.unwrap();
            println!(
                "{}",
                serde_json::json!({
                    "read_s": read_s, "read_cpu_s": read_cpu, "engine_s": best, "engine_cpu_s": best_cpu,
                    "peak_engine_mb": peak / 1024.0,
                    "households": s.household_locations, "coverage": s.household_coverage,
                    "pairs": s.household_camera_pairs, "area_coverage": s.area_coverage,
                    "gaps": s.gaps, "sites_covered": s.sites_covered, "sites": s.sites,
                })
            );
        }
        "propose" => {
            let households = fast::households(&p("demand_10k.geojson"));
            let candidates = fast::candidates(&p("candidates_5k.geojson"));
            let input = ProposeInput {
                households: &households,
                candidates: &candidates,
                ..Default::default()
            };
            let opts = ProposeOptions {
                range_m: 60.0,
                fov_deg: 360.0,
                goal: Goal::Count(100),
                ..Default::default()
            };
            let mut best = f64::INFINITY;
            let mut res = None;
            for _ in 0..reps.max(5) {
                let t = Instant::now();
                let r = propose(&input, &opts, &NoProgress).expect("propose");
                best = best.min(t.elapsed().as_secs_f64());
                res = Some(r);
            }
            let r = res.unwrap();
            println!(
                "{}",
                serde_json::json!({
                    "engine_s": best, "picks": r.picks.len(),
                    "covered_frac": r.covered_after as f64 / r.households as f64,
                    "demand": households.len(), "candidates": candidates.len(),
                })
            );
        }
        _ => panic!("unknown child mode {mode}"),
    }
}

fn run_json(cmd: &mut Command) -> Option<serde_json::Value> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!(
            "  failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

fn wangge(mode: &str, dir: &Path) -> Option<serde_json::Value> {
    let exe = std::env::current_exe().ok()?;
    run_json(
        Command::new(exe)
            .env("WANGGE_COV_CHILD", mode)
            .env("WANGGE_COV_DIR", dir),
    )
}

struct Peers {
    python: PathBuf,
    dir: PathBuf,
}

/// The peers' venv, created when missing; `None` (with a message) when that fails.
fn peers(repo: &Path) -> Option<Peers> {
    if std::env::var("WANGGE_BENCH_PEERS").as_deref() == Ok("0") {
        println!("peers skipped (WANGGE_BENCH_PEERS=0)");
        return None;
    }
    let venv = PathBuf::from(std::env::var("WANGGE_PEERS_VENV").unwrap_or_else(|_| default_venv()));
    let dir = std::env::var("WANGGE_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("../shared/peers"));
    if !dir.join("peer_coverage.py").exists() {
        println!("peers skipped: {} has no peer_coverage.py", dir.display());
        return None;
    }
    let python = venv.join("bin/python");
    let ok = |python: &Path| {
        Command::new(python)
            .args(["-c", "import geopandas, shapely, h3, pulp, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok(&python) {
        println!("creating the peers' venv at {} (once) …", venv.display());
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(dir.join("requirements-coverage.txt"))
                .status()
                .is_ok_and(|s| s.success());
        if !made || !ok(&python) {
            println!(
                "peers skipped: could not set up {} (pip install failed?)",
                venv.display()
            );
            return None;
        }
    }
    Some(Peers { python, dir })
}

/// Generates a size's data (with buildings) unless present.
fn ensure_data(
    peers: Option<&Peers>,
    repo: &Path,
    data: &Path,
    name: &str,
    hh: usize,
    cams: usize,
) -> Option<PathBuf> {
    let dir = data.join(name);
    if dir.join("households_c.geojson").exists() && dir.join("buildings.geojson").exists() {
        return Some(dir);
    }
    let (python, pdir) = match peers {
        Some(p) => (p.python.clone(), p.dir.clone()),
        None => {
            // Peers skipped: still prefer their venv's Python (it has numpy).
            let venv = PathBuf::from(
                std::env::var("WANGGE_PEERS_VENV").unwrap_or_else(|_| default_venv()),
            )
            .join("bin/python");
            let python = if venv.exists() {
                venv
            } else {
                PathBuf::from("python3")
            };
            (python, repo.join("../shared/peers"))
        }
    };
    println!("generating {} …", dir.display());
    let ok = Command::new(&python)
        .arg(pdir.join("gen_cov_data.py"))
        .args([
            "--households",
            &hh.to_string(),
            "--cameras",
            &cams.to_string(),
            "--seed",
            "42",
            "--buildings",
            "--out",
        ])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&python)
            .arg(pdir.join("to_contract.py"))
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        println!("skipping {name}: could not generate data (needs numpy: set up the peers' venv)");
        return None;
    }
    Some(dir)
}

/// 10k demand points (every 10th household) and 5k candidates (evenly spaced
/// indices) from the 100k set, so that wangge and the peer read the same files.
fn ensure_propose_data(dir: &Path) -> bool {
    let d = dir.join("demand_10k.geojson");
    let c = dir.join("candidates_5k.geojson");
    if d.exists() && c.exists() {
        return true;
    }
    let sub = |src: &str, dst: &Path, pick: &dyn Fn(usize, usize) -> Vec<usize>| -> bool {
        let Ok(text) = std::fs::read(dir.join(src)) else {
            return false;
        };
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&text) else {
            return false;
        };
        let feats = v["features"].as_array().cloned().unwrap_or_default();
        let idx = pick(feats.len(), 0);
        v["features"] =
            serde_json::Value::Array(idx.into_iter().map(|i| feats[i].clone()).collect());
        std::fs::write(dst, serde_json::to_vec(&v).unwrap()).is_ok()
    };
    sub("households_c.geojson", &d, &|n, _| {
        (0..n).step_by(10).take(10_000).collect()
    }) && sub("candidates_c.geojson", &c, &|n, _| {
        (0..5000.min(n)).map(|i| i * n / 5000.min(n)).collect()
    })
}

fn fmt_count(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn f(v: &serde_json::Value, k: &str) -> f64 {
    v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN)
}

fn peer_cpu(v: &serde_json::Value) -> f64 {
    v.get("cpu_s")
        .and_then(|c| c.as_object())
        .map(|o| o.values().filter_map(|x| x.as_f64()).sum())
        .unwrap_or(f64::NAN)
}

fn main() {
    if let (Ok(mode), Ok(dir)) = (
        std::env::var("WANGGE_COV_CHILD"),
        std::env::var("WANGGE_COV_DIR"),
    ) {
        child(&mode, &dir);
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = PathBuf::from(std::env::var("WANGGE_BENCH_DATA").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("wangge-cov-bench")
            .to_string_lossy()
            .into_owned()
    }));
    let wanted: Vec<String> = std::env::var("WANGGE_BENCH_SIZES")
        .unwrap_or_else(|_| "10k,100k,1m".into())
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect();
    let peers = peers(&repo);
    let cli_bin = private_cli();
    let mut rows = Vec::new();
    let mut prop_row = None;
    let count = |t: &str| -> Option<usize> {
        let t = t.trim();
        let (n, mul) = match t.chars().last()? {
            'k' => (&t[..t.len() - 1], 1_000),
            'm' => (&t[..t.len() - 1], 1_000_000),
            _ => (t, 1),
        };
        n.parse::<usize>().ok().map(|v| v * mul)
    };
    let mut cases: Vec<(String, usize, usize, String)> = Vec::new();
    for w in &wanted {
        if let Some((name, hh, cams, folder)) = SIZES.iter().find(|s| s.0 == w) {
            cases.push((name.to_string(), *hh, *cams, folder.to_string()));
        } else if let Some((h, c)) = w.split_once(':') {
            match (count(h), count(c)) {
                (Some(hh), Some(cams)) => {
                    cases.push((h.to_string(), hh, cams, format!("h{h}_c{c}")))
                }
                _ => println!("ignoring size {w:?}"),
            }
        } else {
            println!("ignoring size {w:?}");
        }
    }
    for (name, hh, cams, folder) in cases {
        let name = name.as_str();
        let Some(dir) = ensure_data(peers.as_ref(), &repo, &data, &folder, hh, cams) else {
            continue;
        };
        for mode in ["plain", "full"] {
            println!("{name} × {} cameras, {mode}: wangge …", cams);
            let w = wangge(mode, &dir);
            println!("{name} × {} cameras, {mode}: wangge CLI …", cams);
            let c = cli(cli_bin.as_deref(), &dir, mode == "full");
            let pr = peers.as_ref().and_then(|p| {
                println!("{name} × {} cameras, {mode}: peer_coverage.py …", cams);
                let mut cmd = Command::new(&p.python);
                cmd.arg(p.dir.join("peer_coverage.py"))
                    .args(["--method", "analytic", "--cameras"])
                    .arg(dir.join("cameras.geojson"))
                    .arg("--households")
                    .arg(dir.join("households.geojson"));
                if mode == "full" {
                    cmd.arg("--buildings")
                        .arg(dir.join("buildings.geojson"))
                        .arg("--villages")
                        .arg(dir.join("villages.geojson"))
                        .arg("--keysites")
                        .arg(dir.join("keysites.geojson"))
                        .args(["--h3-res", "12"]);
                }
                run_json(&mut cmd)
            });
            rows.push((format!("{name} × {} {mode}", fmt_count(cams)), c, w, pr));
        }
        if folder == "h100k_c10k" && ensure_propose_data(&dir) {
            println!("proposals 10k × 5k, k = 100: wangge …");
            let w = wangge("propose", &dir);
            let pr = peers.as_ref().and_then(|p| {
                println!("proposals 10k × 5k, k = 100: peer_mclp.py (greedy, PuLP/CBC) …");
                run_json(
                    Command::new(&p.python)
                        .arg(p.dir.join("peer_mclp.py"))
                        .arg("--demand")
                        .arg(dir.join("demand_10k.geojson"))
                        .arg("--candidates")
                        .arg(dir.join("candidates_5k.geojson"))
                        .args([
                            "--k",
                            "100",
                            "--radius",
                            "60",
                            "--methods",
                            "greedy,pulp_sparse",
                        ]),
                )
            });
            prop_row = Some((w, pr));
        }
    }

    println!();
    println!("| case | CLI wall s | CLI CPU s | CLI peak MB | read s (wangge::layers) | engine wall s | engine CPU s | engine peak MB | peer wall s | peer CPU s | peer peak MB | CPU ratio peer / CLI | CPU ratio peer compute / engine | coverage wangge / peer |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (case, c, w, p) in &rows {
        let na = serde_json::Value::Null;
        let w = w.as_ref().unwrap_or(&na);
        let p = p.as_ref().unwrap_or(&na);
        let (cw, cc, cm) = c.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        let peer_cov = p
            .get("coverage")
            .and_then(|x| x.as_f64())
            .unwrap_or(f64::NAN);
        println!(
            "| {case} | {cw:.2} | {cc:.2} | {cm:.0} | {:.2} | {:.3} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0}× | {:.0}× | {:.4} / {:.4} |",
            f(w, "read_s"),
            f(w, "engine_s"),
            f(w, "engine_cpu_s"),
            f(w, "peak_engine_mb"),
            f(p, "total_s"),
            peer_cpu(p),
            f(p, "peak_rss_mb"),
            peer_cpu(p) / cc.max(0.01),
            f(p, "compute_cpu_s") / f(w, "engine_cpu_s").max(0.01),
            f(w, "coverage"),
            peer_cov
        );
    }
    if let Some((w, p)) = prop_row {
        let na = serde_json::Value::Null;
        let w = w.as_ref().unwrap_or(&na);
        let p = p.as_ref().unwrap_or(&na);
        let opt = f(p, "pulp_sparse_covered_frac");
        let t = p.get("times_s").cloned().unwrap_or_default();
        println!();
        println!("| proposals 10k × 5k, k = 100, 60 m | wangge s | wangge covered | peer greedy s | peer greedy covered | CBC s | CBC optimum | wangge / optimum |");
        println!("|---|---|---|---|---|---|---|---|");
        println!(
            "| | {:.4} | {:.5} | {:.3} | {:.5} | {:.2} | {:.5} | {:.4} % |",
            f(w, "engine_s"),
            f(w, "covered_frac"),
            f(&t, "greedy") + f(&t, "incidence"),
            f(p, "greedy_covered_frac"),
            f(&t, "pulp_sparse_total"),
            opt,
            100.0 * f(w, "covered_frac") / opt
        );
    }
    if let Some(bin) = cli_bin {
        let _ = std::fs::remove_file(bin);
    }
}

/// The peers' virtual environment: `.peers-coverage` beside the clone.
fn default_venv() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.peers-coverage").to_string()
}
