//! The partition bench's quality columns: one recount of every tool's output
//! polygons against the raw household locations (the definitions of
//! tests/support/contract.rs), and the dissolve of a peer's units into its
//! regions.

use std::path::Path;

use geo::{Area as _, BooleanOps, BoundingRect, InteriorPoint, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use crate::support;
use crate::RULES;
use wangge::model::{Area, Household};

/// Quality of one tool's grids, measured from its output polygons and the raw
/// household locations with the definitions of `tests/support/contract.rs`
/// (its `polsby_popper` and `feasible`), without panicking on a breach, and
/// the same for every tool.
#[derive(Debug, Default)]
pub struct Quality {
    pub grids: usize,
    /// Grids within [`RULES`] by the point-in-polygon recount.
    pub within: usize,
    /// Grids (and those within the rules) in areas whose locations can be
    /// dealt within the rules (`contract::feasible`); wangge only, the peers'
    /// grids belong to no area.
    pub feasible: Option<(usize, usize)>,
    pub infeasible_areas: usize,
    /// Grids with no households in an area (or, for a peer, a region) that
    /// has households.
    pub empty: usize,
    /// Grids of more than one polygon where their area is one polygon.
    pub multipart: usize,
    pub pp_mean: f64,
    pub pp_min: f64,
    /// Σ pairwise grid overlap ÷ Σ grid area, and the largest pair in m².
    pub overlap_rel: f64,
    pub overlap_max_m2: f64,
    /// Area of the input areas not covered by any grid ÷ their area.
    pub gap_rel: f64,
    /// Households inside an area but inside no grid.
    pub unplaced: u64,
    /// Households whose grid was outside the grid counts range: min / max.
    pub min_hh: u64,
    pub max_hh: u64,
}

type Boxes =
    rstar::RTree<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>>;

pub fn box_tree<'a>(geoms: impl Iterator<Item = &'a MultiPolygon<f64>>) -> Boxes {
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
pub fn recount(
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
pub fn peer_regions(
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

pub fn quality_cells(q: &Quality) -> String {
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
