//! Partition benchmark: wangge against the peers on the same GeoJSON inputs.
//!
//! `cargo bench --bench partition` generates three seeded scenarios, runs each
//! end to end (GeoJSON in → grids GeoJSON out) in a child process (so peak
//! memory, VmHWM, is per scenario), then runs the Python peers
//! (../shared/peers/peer_partition.py: METIS, pygeoda max-p, GerryChain) on the
//! same files, and prints one table with ratios.
//!
//! Environment: `WANGGE_BENCH=10k,county,city` picks scenarios;
//! `WANGGE_PEERS=0` skips peers, `WANGGE_PEERS=metis` limits the methods;
//! `WANGGE_PEER_TIMEOUT=s` caps each peer method (default 300 s);
//! `WANGGE_BENCH_DIR` is where inputs and outputs go.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use geo::{BoundingRect, Contains};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use support::{m_lon, Rng, M_LAT};
use wangge::model::Grid;
use wangge::partition::{partition, PartitionOptions};
use wangge::NoProgress;

const PEER_DIR: &str = "/work/shared/peers";
const VENV: &str = "/work/.peers-partition";

// ---------------------------------------------------------------- GeoJSON I/O

fn coords_json(out: &mut String, r: &LineString<f64>) {
    out.push('[');
    for (i, c) in r.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},{}]", c.x, c.y);
    }
    out.push(']');
}

fn polygon_json(out: &mut String, p: &Polygon<f64>) {
    out.push('[');
    coords_json(out, p.exterior());
    for h in p.interiors() {
        out.push(',');
        coords_json(out, h);
    }
    out.push(']');
}

fn fc_write(path: &Path, features: impl Iterator<Item = String>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .unwrap();
    for (i, s) in features.enumerate() {
        if i > 0 {
            f.write_all(b",\n").unwrap();
        }
        f.write_all(s.as_bytes()).unwrap();
    }
    f.write_all(b"\n]}\n").unwrap();
}

fn write_inputs(
    dir: &Path,
    areas: &[(String, &str, MultiPolygon<f64>)],
    hh: &[(f64, f64, u32)],
    roads: &[Vec<Coord<f64>>],
) {
    std::fs::create_dir_all(dir).unwrap();
    fc_write(
        &dir.join("areas.geojson"),
        areas.iter().map(|(code, kind, mp)| {
            let mut s = String::new();
            s.push_str(
                "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[",
            );
            for (j, p) in mp.0.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                polygon_json(&mut s, p);
            }
            let _ = write!(
                s,
                "]}},\"properties\":{{\"code\":\"{code}\",\"kind\":\"{kind}\"}}}}"
            );
            s
        }),
    );
    fc_write(
        &dir.join("households.geojson"),
        hh.iter().enumerate().map(|(i, (x, y, p))| {
            format!("{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}},\"properties\":{{\"hh_id\":{i},\"households\":1,\"persons\":{p}}}}}")
        }),
    );
    if !roads.is_empty() {
        fc_write(
            &dir.join("barriers.geojson"),
            roads.iter().map(|r| {
                let mut s = String::from(
                    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":",
                );
                coords_json(&mut s, &LineString(r.clone()));
                s.push_str("},\"properties\":{\"kind\":\"road\"}}");
                s
            }),
        );
    }
}

// ---------------------------------------------------------------- scenarios

/// Like ../shared/peers/gen_partition_data.py: an H3 res-10 disk of ~n cells
/// around 118.3°E 32.3°N, households in lognormal village cores plus 8 %
/// scatter, most cells empty.
fn gen_disk(dir: &Path, n_cells: usize, hh_per_cell: f64, seed: u64) {
    let res = h3o::Resolution::Ten;
    let centre = h3o::LatLng::new(32.30, 118.30).unwrap().to_cell(res);
    let mut k = 1u32;
    while (3 * k * k + 3 * k + 1) < n_cells as u32 {
        k += 1;
    }
    let cells: Vec<h3o::CellIndex> = centre.grid_disk(k);
    let set: std::collections::HashSet<h3o::CellIndex> = cells.iter().copied().collect();
    let boundary = h3o::geom::SolventBuilder::new()
        .build()
        .dissolve(cells.iter().copied())
        .unwrap();
    let mut rng = Rng::new(seed);
    let radius_m = k as f64 * 113.0;
    let n_hh = (n_cells as f64 * hh_per_cell) as usize;
    let n_v = (n_cells / 120).max(3);
    let sizes: Vec<f64> = (0..n_v).map(|_| (0.7 * rng.normal()).exp()).collect();
    let tot: f64 = sizes.iter().sum();
    let (lat0, lon0) = (32.30, 118.30);
    let mut pts = Vec::with_capacity(n_hh);
    let scatter = (0.08 * n_hh as f64) as usize;
    for (vi, s) in sizes.iter().enumerate() {
        let s = s / tot;
        let r = radius_m * rng.range(0.0, 0.85).sqrt();
        let a = rng.range(0.0, std::f64::consts::TAU);
        let (cx, cy) = (r * a.cos(), r * a.sin());
        let sd = 60.0 + 140.0 * (s * n_v as f64).sqrt();
        let c = ((n_hh - scatter) as f64 * s).round() as usize;
        let _ = vi;
        for _ in 0..c {
            pts.push((cx + rng.normal() * sd, cy + rng.normal() * sd));
        }
    }
    for _ in 0..scatter {
        let r = radius_m * rng.f().sqrt();
        let a = rng.range(0.0, std::f64::consts::TAU);
        pts.push((r * a.cos(), r * a.sin()));
    }
    let hh: Vec<(f64, f64, u32)> = pts
        .into_iter()
        .map(|(x, y)| {
            (
                lon0 + x * m_lon(lat0),
                lat0 + y * M_LAT,
                1 + (rng.next_u64() % 6) as u32,
            )
        })
        .filter(|&(x, y, _)| set.contains(&h3o::LatLng::new(y, x).unwrap().to_cell(res)))
        .collect();
    write_inputs(dir, &[("341102001001".into(), "urban", boundary)], &hh, &[]);
}

/// A county or city: `nx × ny` villages/communities on a jittered grid with
/// wiggly shared borders, households in 1–3 cores per area plus scatter,
/// `urban_block` central areas urban and dense, the rest rural; a road grid.
#[allow(clippy::too_many_arguments)]
fn gen_region(
    dir: &Path,
    nx: usize,
    ny: usize,
    size_m: f64,
    total_hh: usize,
    urban_block: (usize, usize),
    urban_share: f64,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let (lon0, lat0) = (118.0, 32.2);
    let mx = m_lon(lat0);
    let jit = |i: usize, j: usize, salt: u64| {
        let mut r = Rng::new((i as u64) * 1_000_003 + (j as u64) * 7919 + salt * 104_729 + seed);
        r.range(-0.15, 0.15) * size_m
    };
    let vtx = |i: usize, j: usize| {
        let edge = i == 0 || j == 0 || i == nx || j == ny;
        let (dx, dy) = if edge {
            (0.0, 0.0)
        } else {
            (jit(i, j, 1), jit(i, j, 2))
        };
        Coord {
            x: lon0 + (i as f64 * size_m + dx) * mx,
            y: lat0 + (j as f64 * size_m + dy) * M_LAT,
        }
    };
    // Border between two grid vertices: 4 jittered intermediate points, the
    // same for both neighbours (keyed by the unordered pair).
    let border = |a: (usize, usize), b: (usize, usize)| -> Vec<Coord<f64>> {
        let (p, q) = (vtx(a.0, a.1), vtx(b.0, b.1));
        let key = if a < b { (a, b) } else { (b, a) };
        let on_edge =
            (a.0 == b.0 && (a.0 == 0 || a.0 == nx)) || (a.1 == b.1 && (a.1 == 0 || a.1 == ny));
        let mut pts = vec![p];
        for t in 1..5 {
            let f = t as f64 / 5.0;
            let mut c = Coord {
                x: p.x + (q.x - p.x) * f,
                y: p.y + (q.y - p.y) * f,
            };
            if !on_edge {
                let mut r = Rng::new(
                    (key.0 .0 * 31 + key.0 .1 * 17 + key.1 .0 * 13 + key.1 .1 * 7 + t) as u64
                        + seed * 3,
                );
                c.x += r.range(-0.04, 0.04) * size_m * mx;
                c.y += r.range(-0.04, 0.04) * size_m * M_LAT;
            }
            pts.push(c);
        }
        if a > b {
            // Keep identical coordinates for the shared border: build from the
            // canonical direction and reverse.
            let mut v = Vec::new();
            let (p2, q2) = (vtx(b.0, b.1), vtx(a.0, a.1));
            v.push(p2);
            for t in 1..5 {
                let f = t as f64 / 5.0;
                let mut c = Coord {
                    x: p2.x + (q2.x - p2.x) * f,
                    y: p2.y + (q2.y - p2.y) * f,
                };
                if !on_edge {
                    let mut r = Rng::new(
                        (key.0 .0 * 31 + key.0 .1 * 17 + key.1 .0 * 13 + key.1 .1 * 7 + t) as u64
                            + seed * 3,
                    );
                    c.x += r.range(-0.04, 0.04) * size_m * mx;
                    c.y += r.range(-0.04, 0.04) * size_m * M_LAT;
                }
                v.push(c);
            }
            v.reverse();
            v.pop();
            v.insert(0, p);
            return v;
        }
        pts
    };
    let mut areas = Vec::new();
    let n = nx * ny;
    let is_urban = |i: usize, j: usize| {
        let (ux, uy) = urban_block;
        let (x0, y0) = ((nx - ux) / 2, (ny - uy) / 2);
        i >= x0 && i < x0 + ux && j >= y0 && j < y0 + uy
    };
    let n_urban = (0..nx)
        .flat_map(|i| (0..ny).map(move |j| (i, j)))
        .filter(|&(i, j)| is_urban(i, j))
        .count();
    let urban_hh = (total_hh as f64 * urban_share) as usize;
    let rural_hh = total_hh - urban_hh;
    let mut weights = Vec::with_capacity(n);
    for j in 0..ny {
        for i in 0..nx {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let mut ring = Vec::new();
            for c in 0..4 {
                ring.extend(border(corners[c], corners[(c + 1) % 4]));
            }
            ring.push(ring[0]);
            let mp = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
            let urban = is_urban(i, j);
            weights.push(((if urban { 0.25 } else { 0.5 }) * rng.normal()).exp());
            areas.push((
                format!("3411{:02}{:03}{:03}", 22 + (j * nx + i) % 60, j, i),
                if urban { "urban" } else { "rural" },
                mp,
            ));
        }
    }
    let wu: f64 = areas
        .iter()
        .zip(&weights)
        .filter(|(a, _)| a.1 == "urban")
        .map(|(_, w)| w)
        .sum();
    let wr: f64 = areas
        .iter()
        .zip(&weights)
        .filter(|(a, _)| a.1 == "rural")
        .map(|(_, w)| w)
        .sum();
    let _ = n_urban;
    let mut hh = Vec::with_capacity(total_hh);
    for (a, w) in areas.iter().zip(&weights) {
        let urban = a.1 == "urban";
        let count = if urban {
            (urban_hh as f64 * w / wu) as usize
        } else {
            (rural_hh as f64 * w / wr) as usize
        };
        let mp = &a.2;
        let bb = mp.bounding_rect().unwrap();
        let cores = if urban {
            4
        } else {
            1 + (rng.next_u64() % 3) as usize
        };
        let mut centres = Vec::new();
        while centres.len() < cores {
            let c = Coord {
                x: rng.range(bb.min().x, bb.max().x),
                y: rng.range(bb.min().y, bb.max().y),
            };
            if mp.contains(&c) {
                centres.push(c);
            }
        }
        let scatter = count / if urban { 4 } else { 10 };
        let sd = if urban {
            size_m * 0.18
        } else {
            120.0 + 60.0 * rng.f()
        };
        let mut k = 0;
        while k < count {
            let c = if k < scatter {
                Coord {
                    x: rng.range(bb.min().x, bb.max().x),
                    y: rng.range(bb.min().y, bb.max().y),
                }
            } else {
                let o = centres[(rng.next_u64() % cores as u64) as usize];
                Coord {
                    x: o.x + rng.normal() * sd * mx,
                    y: o.y + rng.normal() * sd * M_LAT,
                }
            };
            if mp.contains(&c) {
                hh.push((c.x, c.y, 1 + (rng.next_u64() % 5) as u32));
                k += 1;
            }
        }
    }
    // Roads: a slightly slanted grid every 1.3 km.
    let mut roads = Vec::new();
    let (w, h) = (nx as f64 * size_m, ny as f64 * size_m);
    let mut x = 650.0;
    while x < w {
        roads.push(vec![
            Coord {
                x: lon0 + x * mx,
                y: lat0,
            },
            Coord {
                x: lon0 + (x + 150.0) * mx,
                y: lat0 + h * M_LAT,
            },
        ]);
        x += 1300.0;
    }
    let mut y = 650.0;
    while y < h {
        roads.push(vec![
            Coord {
                x: lon0,
                y: lat0 + y * M_LAT,
            },
            Coord {
                x: lon0 + w * mx,
                y: lat0 + (y + 120.0) * M_LAT,
            },
        ]);
        y += 1300.0;
    }
    write_inputs(dir, &areas, &hh, &roads);
}

// ---------------------------------------------------------------- measuring

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

/// Child mode: one scenario end to end, one JSON line on stdout.
fn child(dir: &Path) {
    // The product's own reader and writer (wangge::layers), as the CLI uses.
    let t0 = Instant::now();
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
    let t_read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let p = partition(
        &areas,
        &households,
        &barriers,
        &PartitionOptions::default(),
        &NoProgress,
    )
    .expect("partition");
    let t_part = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let out = std::io::BufWriter::new(std::fs::File::create(dir.join("grids.geojson")).unwrap());
    wangge::layers::outputs::write_grids(out, "grids", &p.grids)
        .unwrap()
        .flush()
        .unwrap();
    let t_write = t2.elapsed().as_secs_f64();
    let total = t0.elapsed().as_secs_f64();
    let n = p.grids.len().max(1) as f64;
    let within = p.grids.iter().filter(|g| g.within_rules).count() as f64 / n * 100.0;
    let pp_mean = p.grids.iter().map(|g| g.compactness).sum::<f64>() / n;
    let pp_min = p
        .grids
        .iter()
        .map(|g| g.compactness)
        .fold(f64::INFINITY, f64::min);
    let feasible_areas = p.areas.iter().filter(|a| a.feasible).count();
    let within_feasible = {
        let codes: std::collections::HashSet<&str> = p
            .areas
            .iter()
            .filter(|a| a.feasible)
            .map(|a| a.code.as_str())
            .collect();
        let g: Vec<&Grid> = p
            .grids
            .iter()
            .filter(|g| codes.contains(g.parent_code.as_str()))
            .collect();
        g.iter().filter(|g| g.within_rules).count() as f64 / g.len().max(1) as f64 * 100.0
    };
    let nodes: usize = p.areas.iter().map(|a| a.nodes).sum();
    // CV within areas (grid-weighted mean over areas with ≥ 2 grids): the
    // balance the engine controls; the overall CV also mixes areas whose mean
    // grid differs (k is an integer per area, rural and urban presets differ).
    let (mut cv_sum, mut cv_w) = (0.0, 0.0);
    for a in &p.areas {
        let g: Vec<Grid> = p
            .grids
            .iter()
            .filter(|g| g.parent_code == a.code)
            .cloned()
            .collect();
        if g.len() >= 2 {
            cv_sum += support::cv(&g) * g.len() as f64;
            cv_w += g.len() as f64;
        }
    }
    let cv_within = if cv_w > 0.0 { cv_sum / cv_w } else { 0.0 };
    println!(
        "{}",
        serde_json::json!({
            "areas": areas.len(), "households": households.iter().map(|h| h.households as u64).sum::<u64>(),
            "nodes": nodes, "grids": p.grids.len(), "read_s": t_read, "partition_s": t_part, "write_s": t_write,
            "total_s": total, "cpu_s": cpu_s(), "vmhwm_mb": vm_hwm_mb(), "within_pct": within, "within_feasible_pct": within_feasible,
            "feasible_areas": feasible_areas, "cv": support::cv(&p.grids), "cv_within": cv_within, "pp_mean": pp_mean, "pp_min": pp_min,
            "outside": p.outside.households,
        })
    );
}

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

fn run_peers(py: &Path, dir: &Path, methods: &[&str], timeout: u64) -> Vec<serde_json::Value> {
    let out = dir.join("peers.jsonl");
    let _ = std::fs::remove_file(&out);
    let boundary = dir.join("boundary.geojson");
    if !boundary.exists() {
        // The peers take one boundary: the union of the areas.
        let text = wangge::layers::read_text(&dir.join("areas.geojson")).expect("read");
        let (areas, _) = wangge::layers::read_areas(&text, &wangge::layers::ReadOptions::default())
            .expect("areas");
        let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[");
        let mut first = true;
        for a in &areas {
            for p in &a.geometry.0 {
                if !first {
                    s.push(',');
                }
                first = false;
                polygon_json(&mut s, p);
            }
        }
        s.push_str("]}}]}");
        std::fs::write(&boundary, s).unwrap();
    }
    let mut cmd = Command::new(py);
    cmd.arg(format!("{PEER_DIR}/peer_partition.py"))
        .args([
            "--boundary",
            boundary.to_str().unwrap(),
            "--points",
            dir.join("households.geojson").to_str().unwrap(),
        ])
        .args([
            "--h3-res",
            "10",
            "--lo",
            "300",
            "--hi",
            "500",
            "--timeout",
            &timeout.to_string(),
        ])
        .args(["--json-out", out.to_str().unwrap(), "--methods"])
        .args(methods);
    eprintln!("# peers: {:?}", methods);
    match cmd.output() {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            for l in text.lines() {
                eprintln!("#   {l}");
            }
        }
        Err(e) => eprintln!("# peers failed to start: {e}"),
    }
    std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
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
    let wanted = std::env::var("WANGGE_BENCH").unwrap_or_else(|_| "10k,county,city".into());
    let peers_env = std::env::var("WANGGE_PEERS").unwrap_or_default();
    let timeout: u64 = std::env::var("WANGGE_PEER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
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
    for name in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let dir = base.join(name);
        if !dir.join("households.geojson").exists() {
            eprintln!("# generating {name} in {}", dir.display());
            match name {
                "10k" => gen_disk(&dir, 10_000, 7.5, 42),
                "county" => gen_region(&dir, 20, 15, 2000.0, 300_000, (4, 3), 0.25, 7),
                "city" => gen_region(&dir, 40, 30, 1600.0, 1_000_000, (12, 10), 0.45, 11),
                _ => {
                    eprintln!("# unknown scenario {name}");
                    continue;
                }
            }
        }
        let out = Command::new(&exe)
            .args(["--child", dir.to_str().unwrap()])
            .output()
            .expect("run child");
        let line = String::from_utf8_lossy(&out.stdout);
        let Some(v) = line
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        else {
            eprintln!(
                "# {name}: child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        };
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        rows.push(format!(
            "| {name} | wangge | {} areas, {} hh, {} nodes | {:.2} s ({:.2} read, {:.2} partition, {:.2} write), {:.2} CPU-s | {:.0} MB | {} | {:.1} % ({:.1} % in feasible areas) | {:.3} ({:.3} within areas) | {:.3} | {:.3} | |",
            v["areas"], v["households"], v["nodes"], f("total_s"), f("read_s"), f("partition_s"), f("write_s"), f("cpu_s"), f("vmhwm_mb"), v["grids"],
            f("within_pct"), f("within_feasible_pct"), f("cv"), f("cv_within"), f("pp_mean"), f("pp_min")
        ));
        eprintln!("{}", rows.last().unwrap());
        if let Some(py) = &peer_py {
            let methods: Vec<&str> = if !peers_env.is_empty() && peers_env != "1" {
                peers_env.split(',').collect()
            } else if name == "10k" {
                vec!["metis", "geoda_maxp", "recom"]
            } else {
                vec!["metis"]
            };
            for r in run_peers(py, &dir, &methods, timeout) {
                let m = r["method"].as_str().unwrap_or("?");
                let t = r["time_s"].as_f64().unwrap_or(f64::NAN);
                let cpu = r["cpu_s"].as_f64().unwrap_or(f64::NAN);
                let status = r["status"].as_str().unwrap_or("?");
                let ratio = t / f("total_s");
                let cpu_ratio = cpu / f("cpu_s");
                rows.push(format!(
                    "| {name} | {m} ({status}) | {} units{} | {:.2} s partition step, {:.2} CPU-s | | {} | {} | {} | {} | {} | {:.1}× wall, {:.1}× CPU (wangge end to end) |",
                    r["units"],
                    if name == "10k" { "" } else { ", whole region as one boundary (no area borders)" },
                    t,
                    cpu,
                    r["regions"],
                    r["pct_in_bounds"],
                    r["cv"],
                    r["pp_mean"],
                    r["pp_min"],
                    ratio,
                    cpu_ratio
                ));
                eprintln!("{}", rows.last().unwrap());
            }
        }
    }
    println!("\n| scenario | tool | input | wall time | peak memory | grids | within rules | CV | PP mean | PP min | peer time / wangge time |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
