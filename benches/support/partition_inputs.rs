//! The partition bench's inputs: seeded scenarios (a disk of cells, a
//! region of villages and roads, the dense city of tests/support/dense.rs)
//! written as the GeoJSON files every tool reads.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use geo::{BoundingRect, Contains};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use crate::support::{self, m_lon, Rng, M_LAT};

pub fn coords_json(out: &mut String, r: &LineString<f64>) {
    out.push('[');
    for (i, c) in r.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},{}]", c.x, c.y);
    }
    out.push(']');
}

pub fn polygon_json(out: &mut String, p: &Polygon<f64>) {
    out.push('[');
    coords_json(out, p.exterior());
    for h in p.interiors() {
        out.push(',');
        coords_json(out, h);
    }
    out.push(']');
}

pub fn fc_write(path: &Path, features: impl Iterator<Item = String>) {
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

pub fn write_inputs(
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
pub fn gen_disk(dir: &Path, n_cells: usize, hh_per_cell: f64, seed: u64) {
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
pub fn gen_region(
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
    // A shared border is built in one canonical direction (from the smaller
    // vertex) and reversed for the other side, so both areas get identical
    // coordinates.
    let border = |a: (usize, usize), b: (usize, usize)| -> Vec<Coord<f64>> {
        let key = if a < b { (a, b) } else { (b, a) };
        let (p, q) = (vtx(key.0 .0, key.0 .1), vtx(key.1 .0, key.1 .1));
        let on_edge =
            (a.0 == b.0 && (a.0 == 0 || a.0 == nx)) || (a.1 == b.1 && (a.1 == 0 || a.1 == ny));
        let mut inner: Vec<Coord<f64>> = (1..5)
            .map(|t| {
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
                c
            })
            .collect();
        if a > b {
            inner.reverse();
        }
        let mut pts = vec![vtx(a.0, a.1)];
        pts.extend(inner);
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
pub fn gen_dense(dir: &Path, households: u64, tower_cap: u32, seed: u64) {
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
