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

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use geo::{Area as _, BooleanOps, BoundingRect, Contains, InteriorPoint, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use support::{m_lon, Rng, M_LAT};
use wangge::model::{Area, Barrier, Household, Rules};
use wangge::partition::{partition, PartitionOptions};
use wangge::NoProgress;

/// The peer tools, in the shared folder beside the clone.
const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/peers");
/// The peers' virtual environment, beside the clone.
const VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.peers-partition");

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
    hh: &[(f64, f64, u32, u32)],
    roads: &[(Vec<Coord<f64>>, &str)],
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
        hh.iter().enumerate().map(|(i, (x, y, n, p))| {
            format!("{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}},\"properties\":{{\"hh_id\":{i},\"households\":{n},\"persons\":{p}}}}}")
        }),
    );
    if !roads.is_empty() {
        fc_write(
            &dir.join("barriers.geojson"),
            roads.iter().map(|(r, kind)| {
                let mut s = String::from(
                    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":",
                );
                coords_json(&mut s, &LineString(r.clone()));
                let _ = write!(s, "}},\"properties\":{{\"kind\":\"{kind}\"}}}}");
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
    let hh: Vec<(f64, f64, u32, u32)> = pts
        .into_iter()
        .map(|(x, y)| {
            (
                lon0 + x * m_lon(lat0),
                lat0 + y * M_LAT,
                1,
                1 + (rng.next_u64() % 6) as u32,
            )
        })
        .filter(|&(x, y, _, _)| set.contains(&h3o::LatLng::new(y, x).unwrap().to_cell(res)))
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
                hh.push((c.x, c.y, 1, 1 + (rng.next_u64() % 5) as u32));
                k += 1;
            }
        }
    }
    // Roads: a slightly slanted grid every 1.3 km.
    let mut roads = Vec::new();
    let (w, h) = (nx as f64 * size_m, ny as f64 * size_m);
    let mut x = 650.0;
    while x < w {
        roads.push((
            vec![
                Coord {
                    x: lon0 + x * mx,
                    y: lat0,
                },
                Coord {
                    x: lon0 + (x + 150.0) * mx,
                    y: lat0 + h * M_LAT,
                },
            ],
            "road",
        ));
        x += 1300.0;
    }
    let mut y = 650.0;
    while y < h {
        roads.push((
            vec![
                Coord {
                    x: lon0,
                    y: lat0 + y * M_LAT,
                },
                Coord {
                    x: lon0 + w * mx,
                    y: lat0 + (y + 120.0) * M_LAT,
                },
            ],
            "road",
        ));
        y += 1300.0;
    }
    write_inputs(dir, &areas, &hh, &roads);
}

/// The dense city district of `tests/support/dense.rs` (towers of 100 to
/// `tower_cap` households, old village clusters, shops; main roads, a river,
/// a railway), written as GeoJSON like the other scenarios.
fn gen_dense(dir: &Path, households: u64, tower_cap: u32, seed: u64) {
    let city = support::dense::dense_city(seed, households, tower_cap);
    let areas: Vec<(String, &str, MultiPolygon<f64>)> = city
        .areas
        .iter()
        .map(|a| (a.code.clone(), "urban", a.geometry.clone()))
        .collect();
    let hh: Vec<(f64, f64, u32, u32)> = city
        .households
        .iter()
        .map(|h| {
            (
                h.location.x(),
                h.location.y(),
                h.households,
                h.persons.unwrap_or(0),
            )
        })
        .collect();
    let roads: Vec<(Vec<Coord<f64>>, &str)> = city
        .barriers
        .iter()
        .flat_map(|b| {
            let kind = b.kind.as_deref().unwrap_or("road");
            b.geometry.0.iter().map(move |l| (l.0.clone(), kind))
        })
        .collect();
    write_inputs(dir, &areas, &hh, &roads);
}

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

// ---------------------------------------------------------------- recount

/// Quality of one tool's grids, measured from its output polygons and the raw
/// household locations with the definitions of `tests/support/contract.rs`
/// (its `polsby_popper` and `feasible`), without panicking on a breach, and
/// the same for every tool.
#[derive(Debug, Default)]
struct Quality {
    grids: usize,
    /// Grids within [`RULES`] by the point-in-polygon recount.
    within: usize,
    /// Grids (and those within the rules) in areas whose locations can be
    /// dealt within the rules (`contract::feasible`); wangge only, the peers'
    /// grids belong to no area.
    feasible: Option<(usize, usize)>,
    infeasible_areas: usize,
    /// Grids with no households in an area (or, for a peer, a region) that
    /// has households.
    empty: usize,
    /// Grids of more than one polygon where their area is one polygon.
    multipart: usize,
    pp_mean: f64,
    pp_min: f64,
    /// Σ pairwise grid overlap ÷ Σ grid area, and the largest pair in m².
    overlap_rel: f64,
    overlap_max_m2: f64,
    /// Area of the input areas not covered by any grid ÷ their area.
    gap_rel: f64,
    /// Households inside an area but inside no grid.
    unplaced: u64,
    /// Households whose grid was outside the grid counts range: min / max.
    min_hh: u64,
    max_hh: u64,
}

type Boxes =
    rstar::RTree<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>>;

fn box_tree<'a>(geoms: impl Iterator<Item = &'a MultiPolygon<f64>>) -> Boxes {
    rstar::RTree::bulk_load(
        geoms
            .enumerate()
            .filter_map(|(i, g)| {
                let r = g.bounding_rect()?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ),
                    i,
                ))
            })
            .collect(),
    )
}

/// `grids`: each grid's polygon and the index of its area (wangge), or `None`
/// (a peer's region, which may span areas). `one_piece`: whether the
/// region a peer partitioned (the union of the areas) is one polygon.
fn recount(
    areas: &[Area],
    households: &[Household],
    grids: &[(MultiPolygon<f64>, Option<usize>)],
    one_piece: bool,
) -> Quality {
    use rayon::prelude::*;
    let area_tree = box_tree(areas.iter().map(|a| &a.geometry));
    let grid_tree = box_tree(grids.iter().map(|g| &g.0));
    // Point in polygon (closed): each location to the first area holding
    // it, and to the first grid holding it (of that area, for wangge).
    let located: Vec<(Option<usize>, Option<usize>)> = households
        .par_iter()
        .map(|h| {
            let pt = h.location.0;
            let env = rstar::AABB::from_point([pt.x, pt.y]);
            let mut a: Vec<usize> = area_tree
                .locate_in_envelope_intersecting(&env)
                .map(|e| e.data)
                .filter(|&a| areas[a].geometry.intersects(&pt))
                .collect();
            a.sort_unstable();
            let a = a.first().copied();
            let mut g: Vec<usize> = grid_tree
                .locate_in_envelope_intersecting(&env)
                .map(|e| e.data)
                .filter(|&g| grids[g].1.is_none() || grids[g].1 == a)
                .filter(|&g| grids[g].0.intersects(&pt))
                .collect();
            g.sort_unstable();
            (a, g.first().copied())
        })
        .collect();
    let mut area_hh = vec![0u64; areas.len()];
    let mut area_locations: Vec<Vec<u64>> = vec![Vec::new(); areas.len()];
    let mut grid_hh = vec![0u64; grids.len()];
    let mut q = Quality {
        grids: grids.len(),
        ..Quality::default()
    };
    for (h, (a, g)) in households.iter().zip(&located) {
        let n = u64::from(h.households);
        if let Some(a) = *a {
            area_hh[a] += n;
            area_locations[a].push(n);
        }
        match (*a, *g) {
            (_, Some(g)) => grid_hh[g] += n,
            (Some(_), None) => q.unplaced += n,
            (None, None) => {}
        }
    }
    let total: u64 = area_hh.iter().sum();
    let wangge = grids.iter().any(|g| g.1.is_some());
    let feasible: Vec<bool> = areas
        .iter()
        .enumerate()
        .map(|(a, _)| support::contract::feasible(&area_locations[a], &RULES))
        .collect();
    q.infeasible_areas = (0..areas.len())
        .filter(|&a| area_hh[a] > 0 && !feasible[a])
        .count();
    let (mut f_grids, mut f_within) = (0, 0);
    let pp: Vec<f64> = grids
        .par_iter()
        .map(|g| support::contract::polsby_popper(&g.0))
        .collect();
    q.pp_min = f64::INFINITY;
    q.min_hh = u64::MAX;
    for (i, (geom, area)) in grids.iter().enumerate() {
        let n = grid_hh[i];
        let ok = (RULES.min_households..=RULES.max_households).contains(&n);
        q.within += usize::from(ok);
        q.min_hh = q.min_hh.min(n);
        q.max_hh = q.max_hh.max(n);
        let (has_hh, one) = match area {
            Some(a) => (area_hh[*a] > 0, areas[*a].geometry.0.len() == 1),
            None => (total > 0, one_piece),
        };
        q.empty += usize::from(n == 0 && has_hh);
        q.multipart += usize::from(one && geom.0.len() > 1);
        if let Some(a) = area {
            if feasible[*a] {
                f_grids += 1;
                f_within += usize::from(ok);
            }
        }
        q.pp_mean += pp[i];
        q.pp_min = q.pp_min.min(pp[i]);
    }
    q.pp_mean /= grids.len().max(1) as f64;
    if wangge {
        q.feasible = Some((f_grids, f_within));
    }
    // Overlap: every pair of grids whose boxes meet, intersected exactly.
    let lat = areas
        .first()
        .and_then(|a| a.geometry.bounding_rect())
        .map_or(30.0, |r| r.center().y);
    let m2 = 110_574.0 * 111_320.0 * lat.to_radians().cos();
    let overlaps: Vec<f64> = (0..grids.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let r = grids[i].0.bounding_rect();
            let env = r
                .map(|r| rstar::AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]));
            let js: Vec<usize> = env
                .map(|env| {
                    grid_tree
                        .locate_in_envelope_intersecting(&env)
                        .map(|e| e.data)
                        .filter(|&j| j > i)
                        .collect()
                })
                .unwrap_or_default();
            js.into_iter()
                .map(move |j| grids[i].0.intersection(&grids[j].0).unsigned_area())
        })
        .collect();
    let grid_area: f64 = grids.iter().map(|g| g.0.unsigned_area()).sum();
    let overlap: f64 = overlaps.iter().sum();
    q.overlap_rel = overlap / grid_area.max(f64::MIN_POSITIVE);
    q.overlap_max_m2 = overlaps.iter().fold(0.0f64, |m, &o| m.max(o)) * m2;
    let area_area: f64 = areas.iter().map(|a| a.geometry.unsigned_area()).sum();
    q.gap_rel = ((area_area - (grid_area - overlap)) / area_area).max(0.0);
    q
}

/// A peer's regions as polygons: its units (H3 res-10 cells clipped to the
/// boundary, written by `peer_partition.py --out-dir` with their `region`)
/// are dissolved exactly on the H3 lattice (h3o), and regions with clipped
/// units are cut to the union of the areas. Returns the regions and the
/// number of units left unassigned (region < 0).
fn peer_regions(
    path: &Path,
    boundary: &MultiPolygon<f64>,
) -> Result<(Vec<MultiPolygon<f64>>, usize), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let feats = v["features"].as_array().ok_or("no features")?;
    let ring = |r: &serde_json::Value| -> LineString<f64> {
        LineString(
            r.as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| Coord {
                            x: c[0].as_f64().unwrap_or(f64::NAN),
                            y: c[1].as_f64().unwrap_or(f64::NAN),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let poly = |p: &serde_json::Value| -> Polygon<f64> {
        let rings = p.as_array().cloned().unwrap_or_default();
        let mut it = rings.iter().map(ring);
        let ext = it.next().unwrap_or(LineString(vec![]));
        Polygon::new(ext, it.collect())
    };
    let res = h3o::Resolution::Ten;
    // (cell, region, unit area, unit is the whole cell, households)
    let mut units = Vec::with_capacity(feats.len());
    let mut unassigned = 0;
    for f in feats {
        let region = f["properties"]["region"]
            .as_i64()
            .ok_or("unit without region")?;
        let g = &f["geometry"];
        let mp = match g["type"].as_str() {
            Some("Polygon") => MultiPolygon(vec![poly(&g["coordinates"])]),
            Some("MultiPolygon") => MultiPolygon(
                g["coordinates"]
                    .as_array()
                    .map(|a| a.iter().map(poly).collect())
                    .unwrap_or_default(),
            ),
            other => return Err(format!("unit geometry {other:?}")),
        };
        if region < 0 {
            unassigned += 1;
            continue;
        }
        let ip = mp.interior_point().ok_or("empty unit")?;
        let cell = h3o::LatLng::new(ip.y(), ip.x())
            .map_err(|e| e.to_string())?
            .to_cell(res);
        let cell_poly: Polygon<f64> = Polygon::new(
            LineString(
                cell.boundary()
                    .iter()
                    .chain(cell.boundary().iter().take(1))
                    .map(|ll| Coord {
                        x: ll.lng(),
                        y: ll.lat(),
                    })
                    .collect(),
            ),
            vec![],
        );
        let a = mp.unsigned_area();
        let whole = (a / cell_poly.unsigned_area() - 1.0).abs() < 1e-4;
        let count = f["properties"]["count"].as_f64().unwrap_or(0.0);
        units.push((cell, region, a, whole, count));
    }
    // A cell that only touches the boundary is clipped to a sliver whose
    // interior point can lie on its neighbour's edge: keep the larger unit
    // of a cell and report what the slivers held.
    units.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)));
    let mut regions: std::collections::BTreeMap<i64, (Vec<h3o::CellIndex>, bool)> =
        std::collections::BTreeMap::new();
    let mut slivers = (0usize, 0.0f64);
    for (k, u) in units.iter().enumerate() {
        if k > 0 && units[k - 1].0 == u.0 {
            slivers.0 += 1;
            slivers.1 += u.4;
            continue;
        }
        let e = regions.entry(u.1).or_default();
        e.0.push(u.0);
        e.1 |= !u.3;
    }
    if slivers.0 > 0 {
        eprintln!(
            "# {}: {} sliver units dropped ({} households)",
            path.display(),
            slivers.0,
            slivers.1
        );
    }
    use rayon::prelude::*;
    let regions: Vec<(Vec<h3o::CellIndex>, bool)> = regions.into_values().collect();
    let out: Result<Vec<MultiPolygon<f64>>, String> = regions
        .into_par_iter()
        .map(|(cells, clipped)| {
            let mp = h3o::geom::SolventBuilder::new()
                .build()
                .dissolve(cells)
                .map_err(|e| e.to_string())?;
            Ok(if clipped {
                mp.intersection(boundary)
            } else {
                mp
            })
        })
        .collect();
    Ok((out?, unassigned))
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

fn quality_cells(q: &Quality) -> String {
    let feasible = match q.feasible {
        Some((n, w)) => format!("{:.1} % ({w}/{n})", 100.0 * w as f64 / n.max(1) as f64),
        None => "–".into(),
    };
    format!(
        "{} | {:.1} % ({}/{}) | {feasible} | {}–{} | {} | {} | {:.3} / {:.3} | {:.1e} ({:.1} m²) / {:.1e} | {} |",
        q.grids,
        100.0 * q.within as f64 / q.grids.max(1) as f64,
        q.within,
        q.grids,
        q.min_hh,
        q.max_hh,
        q.empty,
        q.multipart,
        q.pp_mean,
        q.pp_min,
        q.overlap_rel,
        q.overlap_max_m2,
        q.gap_rel,
        q.unplaced,
    )
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
