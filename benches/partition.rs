//! Partition benchmark: wangge against the peers on the same GeoJSON inputs.
//!
//! `cargo bench --bench partition` generates seeded scenarios, runs wangge on
//! each end to end (GeoJSON in → grids GeoJSON out, barriers included) in a
//! child process, three times (medians; peak memory is the child's VmHWM),
//! then runs the Python peers (../shared/peers/peer_partition.py: METIS,
//! pygeoda max-p, GerryChain) on the same files, and prints one table.
//!
//! Fairness: every tool gets the same rule, 300–500 households per grid
//! ([`RULES`]; wangge does not fall back to its rural preset), and the peers
//! count each location with its `households` (`--weight-col households`).
//! The peers partition the union of the areas as one region (their script
//! has no area borders and one rule). Quality comes from one recount applied
//! to every tool's output polygons ([`recount`], with the definitions of
//! tests/support/contract.rs), never from a tool's own report.
//!
//! Scenarios (`WANGGE_BENCH`, default `10k,county,dense`): `10k`, `county`,
//! `city` (villages and roads) and `dense`, `dense240` (the dense city of
//! tests/support/dense.rs, 1M households, towers up to 480 or 240).
//! `WANGGE_PEERS=0` skips peers, `WANGGE_PEERS=metis` limits the methods;
//! `WANGGE_PEER_TIMEOUT=s` caps each peer method (default 300 s);
//! `WANGGE_BENCH_RUNS` wangge runs per scenario (default 3);
//! `WANGGE_BENCH_DIR` is where inputs and outputs go.

#[path = "support/partition_inputs.rs"]
mod inputs;
#[path = "support/partition_quality.rs"]
mod quality;
#[path = "../tests/support/mod.rs"]
mod support;

use inputs::{gen_dense, gen_disk, gen_region, polygon_json};
use quality::{peer_regions, quality_cells, recount};

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use geo_types::MultiPolygon;
use wangge::model::{Area, Barrier, Household, Rules};
use wangge::partition::{partition, PartitionOptions};
use wangge::NoProgress;

/// The peer tools, in the shared folder beside the clone.
const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/peers");
/// The peers' virtual environment, beside the clone.
const VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.peers-partition");

// ---------------------------------------------------------------- measuring

/// One rule for every area and every tool: 300–500 households, no persons or
/// size cap (the peers have none). The per-kind presets (rural 150–400) are
/// not used, so wangge and the peers solve the same problem.
const RULES: Rules = Rules {
    min_households: 300,
    max_households: 500,
    target_households: None,
    max_persons: None,
    max_area_m2: None,
};

/// CPU seconds (user + system) of this process so far: steadier than wall
/// time on a shared machine.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
            let (u, st) = (
                f.get(11)?.parse::<f64>().ok()?,
                f.get(12)?.parse::<f64>().ok()?,
            );
            Some((u + st) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Reads a scenario's inputs with the product's reader, as the CLI does.
fn read_inputs(dir: &Path) -> (Vec<Area>, Vec<Household>, Vec<Barrier>) {
    let opts = wangge::layers::ReadOptions::default();
    let text = |f: &str| wangge::layers::read_text(&dir.join(f)).expect("read");
    let (areas, _) = wangge::layers::read_areas(&text("areas.geojson"), &opts).expect("areas");
    let (households, _) =
        wangge::layers::read_households(&text("households.geojson"), &opts).expect("households");
    let barriers = if dir.join("barriers.geojson").exists() {
        wangge::layers::read_barriers(&text("barriers.geojson"), &opts)
            .expect("barriers")
            .0
    } else {
        Vec::new()
    };
    (areas, households, barriers)
}

/// Child mode: one scenario end to end (read → partition with barriers and
/// [`RULES`] → write), one JSON line on stdout. Quality is measured later,
/// by the parent's recount of the written file, not from the engine's fields.
fn child(dir: &Path) {
    let t0 = Instant::now();
    let (areas, households, barriers) = read_inputs(dir);
    let t_read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let opts = PartitionOptions {
        rules: Some(RULES),
        ..PartitionOptions::default()
    };
    let p = partition(&areas, &households, &barriers, &opts, &NoProgress).expect("partition");
    let t_part = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let out = std::io::BufWriter::new(std::fs::File::create(dir.join("grids.geojson")).unwrap());
    wangge::layers::outputs::write_grids(out, "grids", &p.grids)
        .unwrap()
        .flush()
        .unwrap();
    let t_write = t2.elapsed().as_secs_f64();
    let total = t0.elapsed().as_secs_f64();
    let nodes: usize = p.areas.iter().map(|a| a.nodes).sum();
    println!(
        "{}",
        serde_json::json!({
            "areas": areas.len(), "locations": households.len(),
            "households": households.iter().map(|h| h.households as u64).sum::<u64>(),
            "nodes": nodes, "grids": p.grids.len(), "read_s": t_read, "partition_s": t_part,
            "write_s": t_write, "total_s": total, "cpu_s": cpu_s(), "vmhwm_mb": vm_hwm_mb(),
        })
    );
}

// ---------------------------------------------------------------- peers

fn peers_available() -> Result<PathBuf, String> {
    let py = PathBuf::from(VENV).join("bin/python");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import pymetis, pygeoda, gerrychain, geopandas, h3"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if py.exists() && ok(&py) {
        return Ok(py);
    }
    eprintln!("# creating the peer venv at {VENV} (one-off, a few minutes)");
    let venv = Command::new("python3").args(["-m", "venv", VENV]).status();
    if !matches!(venv, Ok(s) if s.success()) {
        return Err("python3 -m venv failed".into());
    }
    let pip = Command::new(PathBuf::from(VENV).join("bin/pip"))
        .args([
            "install",
            "-q",
            "-r",
            &format!("{PEER_DIR}/requirements-partition.txt"),
        ])
        .status();
    if !matches!(pip, Ok(s) if s.success()) {
        return Err("pip install of the peer requirements failed (no network or no pip?)".into());
    }
    if ok(&py) {
        Ok(py)
    } else {
        Err("peer packages do not import".into())
    }
}

/// Runs the peer methods on the scenario's households (weighted by their
/// `households` count) inside one boundary, the union of the areas, with
/// the same bounds as [`RULES`]. Returns the peer's JSON rows and its
/// load + adjacency seconds (shared by the methods, not in their time).
fn run_peers(
    py: &Path,
    name: &str,
    dir: &Path,
    boundary: &MultiPolygon<f64>,
    methods: &[&str],
    timeout: u64,
) -> (Vec<serde_json::Value>, Option<f64>) {
    let out = dir.join("peers.jsonl");
    let _ = std::fs::remove_file(&out);
    let units_dir = dir.join("peer_units");
    let _ = std::fs::remove_dir_all(&units_dir);
    let path = dir.join("boundary.geojson");
    let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (i, p) in boundary.0.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        polygon_json(&mut s, p);
    }
    s.push_str("]}}]}");
    std::fs::write(&path, s).unwrap();
    let mut cmd = Command::new(py);
    cmd.arg(format!("{PEER_DIR}/peer_partition.py"))
        .args([
            "--boundary",
            path.to_str().unwrap(),
            "--points",
            dir.join("households.geojson").to_str().unwrap(),
            "--weight-col",
            "households",
        ])
        .args(["--h3-res", "10"])
        .args(["--lo", &RULES.min_households.to_string()])
        .args(["--hi", &RULES.max_households.to_string()])
        .args(["--timeout", &timeout.to_string(), "--label", name])
        .args(["--out-dir", units_dir.to_str().unwrap()])
        .args(["--json-out", out.to_str().unwrap(), "--methods"])
        .args(methods);
    eprintln!("# peers: {methods:?} (timeout {timeout} s each)");
    let mut prep = None;
    match cmd.output() {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            for l in text.lines() {
                eprintln!("#   {l}");
                // "# name: … load 1.23s, adjacency 0.45s (…"
                let secs = |key: &str| {
                    l.split(key)
                        .nth(1)?
                        .split('s')
                        .next()?
                        .trim()
                        .parse::<f64>()
                        .ok()
                };
                if let (Some(a), Some(b)) = (secs(" load "), secs(" adjacency ")) {
                    prep = Some(a + b);
                }
            }
            if !o.status.success() {
                eprintln!(
                    "# peer script failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        Err(e) => eprintln!("# peers failed to start: {e}"),
    }
    let rows = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (rows, prep)
}

// ---------------------------------------------------------------- main

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    let base = std::env::var("WANGGE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("wangge-bench-partition"));
    let wanted = std::env::var("WANGGE_BENCH").unwrap_or_else(|_| "10k,county,dense".into());
    let peers_env = std::env::var("WANGGE_PEERS").unwrap_or_default();
    let timeout: u64 = std::env::var("WANGGE_PEER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let runs: usize = std::env::var("WANGGE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let peer_py = if peers_env == "0" {
        eprintln!("# peers skipped (WANGGE_PEERS=0)");
        None
    } else {
        match peers_available() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("# peers skipped: {e}");
                None
            }
        }
    };
    let exe = std::env::current_exe().unwrap();
    let mut rows: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let dir = base.join(name);
        if !dir.join("households.geojson").exists() {
            eprintln!("# generating {name} in {}", dir.display());
            match name {
                "10k" => gen_disk(&dir, 10_000, 7.5, 42),
                "county" => gen_region(&dir, 20, 15, 2000.0, 300_000, (4, 3), 0.25, 7),
                "city" => gen_region(&dir, 40, 30, 1600.0, 1_000_000, (12, 10), 0.45, 11),
                "dense" => gen_dense(&dir, 1_000_000, 480, 2024),
                "dense240" => gen_dense(&dir, 1_000_000, 240, 2024),
                _ => {
                    eprintln!("# unknown scenario {name}");
                    continue;
                }
            }
        }
        notes.push(format!("{name}: load average {} before", load_avg()));
        let mut results = Vec::new();
        for run in 0..runs {
            let out = Command::new(&exe)
                .args(["--child", dir.to_str().unwrap()])
                .output()
                .expect("run child");
            let line = String::from_utf8_lossy(&out.stdout);
            match line
                .lines()
                .last()
                .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            {
                Some(v) => {
                    eprintln!("# {name} run {}: {v}", run + 1);
                    results.push(v);
                }
                None => eprintln!(
                    "# {name}: child failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        let Some(v) = results.last().cloned() else {
            continue;
        };
        let med = |k: &str| {
            median(
                &mut results
                    .iter()
                    .map(|r| r[k].as_f64().unwrap_or(f64::NAN))
                    .collect::<Vec<_>>(),
            )
        };
        let (total, cpu, part) = (med("total_s"), med("cpu_s"), med("partition_s"));
        let all = |k: &str| {
            results
                .iter()
                .map(|r| format!("{:.2}", r[k].as_f64().unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        notes.push(format!(
            "{name}: wangge runs, wall {} s; CPU {} s; peak {} MB",
            all("total_s"),
            all("cpu_s"),
            all("vmhwm_mb")
        ));

        // Recount every tool's output the same way.
        let (areas, households, _) = read_inputs(&dir);
        let engine_within = {
            let grids = std::fs::read_to_string(dir.join("grids.geojson")).unwrap_or_default();
            grids.matches("\"within_rules\":true").count()
        };
        let t = Instant::now();
        let grids_text = std::fs::read_to_string(dir.join("grids.geojson")).expect("grids");
        let grids = wangge::layers::previous::read_previous_grids(&grids_text).expect("grids");
        let index: std::collections::HashMap<&str, usize> = areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.as_str(), i))
            .collect();
        let gs: Vec<(MultiPolygon<f64>, Option<usize>)> = grids
            .iter()
            .map(|g| {
                (
                    g.geometry.clone(),
                    index.get(g.parent_code.as_str()).copied(),
                )
            })
            .collect();
        let boundary = geo::unary_union(areas.iter().flat_map(|a| a.geometry.0.iter()));
        let one_piece = boundary.0.len() == 1;
        let q = recount(&areas, &households, &gs, one_piece);
        eprintln!(
            "# {name}: wangge recount {:.1} s",
            t.elapsed().as_secs_f64()
        );
        notes.push(format!(
            "{name}: wangge grids the engine itself marks within the rules (last run): \
             {engine_within}; areas whose locations cannot be dealt within the rules: {}",
            q.infeasible_areas
        ));
        rows.push(format!(
            "| {name} | **wangge** end to end | {} areas, {} locations, {} hh; {} nodes | {:.2} s ({:.2} partition) | {:.2} | {:.0} MB | {} |",
            v["areas"], v["locations"], v["households"], v["nodes"], total, part, cpu, med("vmhwm_mb"),
            quality_cells(&q)
        ));
        eprintln!("{}", rows.last().unwrap());
        let Some(py) = &peer_py else { continue };
        let methods: Vec<&str> = if !peers_env.is_empty() && peers_env != "1" {
            peers_env.split(',').collect()
        } else if name == "10k" {
            vec!["metis", "geoda_maxp", "recom"]
        } else if name.starts_with("dense") {
            vec!["metis", "geoda_maxp"]
        } else {
            vec!["metis"]
        };
        let (peer_rows, prep) = run_peers(py, name, &dir, &boundary, &methods, timeout);
        for m in &methods {
            if !peer_rows.iter().any(|r| r["method"].as_str() == Some(m)) {
                rows.push(format!(
                    "| {name} | {m} | no result (see the log) | | | | | | | | | | | | |"
                ));
            }
        }
        for r in peer_rows {
            let m = r["method"].as_str().unwrap_or("?");
            let status = r["status"].as_str().unwrap_or("?");
            let t = r["time_s"].as_f64().unwrap_or(f64::NAN);
            let c = r["cpu_s"].as_f64().unwrap_or(f64::NAN);
            let ratio = format!(
                "{:.2}× wall, {:.2}× CPU of wangge end to end; {:.2}× wangge's partition step",
                t / total,
                c / cpu,
                t / part
            );
            let input = format!(
                "{} units (H3 res 10 in the union of the areas){}",
                r["units"],
                prep.map_or(String::new(), |p| format!(
                    "; load + adjacency {p:.1} s not in its time"
                ))
            );
            if status != "ok" {
                rows.push(format!(
                    "| {name} | {m} ({status}) | {input} | {t:.1} s | {c:.1} | | {} | | | | | | | | | |",
                    r["error"].as_str().unwrap_or("")
                ));
                eprintln!("{}", rows.last().unwrap());
                continue;
            }
            let t0 = Instant::now();
            let units = dir.join("peer_units").join(format!("{name}_{m}.geojson"));
            match peer_regions(&units, &boundary) {
                Ok((regions, unassigned)) => {
                    let gs: Vec<(MultiPolygon<f64>, Option<usize>)> =
                        regions.into_iter().map(|g| (g, None)).collect();
                    let q = recount(&areas, &households, &gs, one_piece);
                    eprintln!("# {name} {m}: recount {:.1} s", t0.elapsed().as_secs_f64());
                    if unassigned > 0 {
                        notes.push(format!("{name} {m}: {unassigned} units unassigned"));
                    }
                    rows.push(format!(
                        "| {name} | {m} partition step | {input} | {t:.2} s | {c:.2} | | {} {ratio} |",
                        quality_cells(&q)
                    ));
                }
                Err(e) => rows.push(format!("| {name} | {m} | {input} | {t:.2} s | {c:.2} | | could not read its regions: {e} | | | | | | | | {ratio} |")),
            }
            eprintln!("{}", rows.last().unwrap());
        }
        notes.push(format!("{name}: load average {} after", load_avg()));
    }
    println!("\nRules 300–500 households for every area and every tool; quality recounted from each tool's output polygons and the raw household points.\n");
    println!("| scenario | tool | input | wall time (wangge: median of {runs}) | CPU-s | peak memory | grids | within 300–500 | within, areas the totals allow | households per grid | empty grids | multi-part grids | PP mean / min | overlap (largest pair) / gap | households in no grid | peer ÷ wangge time |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    for n in notes {
        println!("- {n}");
    }
}
