//! Per-area statistics: households, cameras, sites and the H3 area coverage.
//!
//! Areas may overlap (a county and its villages, a village and its grids), so
//! membership is computed per area, not by assigning each point to one area:
//! each area asks the point grids for the points in its bounding box and keeps
//! those inside it. A point on the boundary between two areas that tile the
//! plane belongs to exactly one of them (half-open crossing-number rule).
//!
//! Area coverage: the area's H3 cells (resolution 12 by default, about 307 m²)
//! whose centre lies inside it, each covered when its centre is seen by an online
//! camera (occlusion included). An area too small to hold a cell centre is
//! represented by the single cell containing an interior point.

use super::gaps::{self, Gap};
use super::index::PointGrid;
use super::seer::Seer;
use super::{AreaStats, CoverageError, CoverageInput, CoverageOptions, KindStats, SeenBy};
use crate::progress::Progress;
use geo::InteriorPoint;
use geo_types::{Coord, MultiPolygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A polygon prepared for fast point-in-polygon tests: edges bucketed into
/// horizontal bands, so that a query looks only at the edges crossing its
/// latitude (a county boundary of 20 000 vertices costs a few dozen edge tests).
pub(crate) struct PreparedArea {
    pub bbox: [f64; 4],
    y0: f64,
    band_h: f64,
    band_start: Vec<u32>,
    /// Edges (ax, ay, bx, by), listed per band.
    edges: Vec<[f64; 4]>,
}

impl PreparedArea {
    pub(crate) fn new(mp: &MultiPolygon<f64>) -> Self {
        let mut all = Vec::new();
        let mut bbox = super::index::EMPTY_BBOX;
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let cs = &ring.0;
                if cs.len() < 2 {
                    continue;
                }
                let n = cs.len();
                for j in 0..n {
                    let a = cs[j];
                    let b = if j + 1 < n { cs[j + 1] } else { cs[0] };
                    if a == b {
                        continue;
                    }
                    all.push([a.x, a.y, b.x, b.y]);
                    bbox = [
                        bbox[0].min(a.x),
                        bbox[1].min(a.y),
                        bbox[2].max(a.x),
                        bbox[3].max(a.y),
                    ];
                }
            }
        }
        if all.is_empty() {
            return PreparedArea {
                bbox: super::index::EMPTY_BBOX,
                y0: 0.0,
                band_h: 1.0,
                band_start: vec![0, 0],
                edges: Vec::new(),
            };
        }
        let bands = (all.len() / 4).clamp(1, 4096);
        let band_h = ((bbox[3] - bbox[1]) / bands as f64).max(1e-12);
        let band = |y: f64| (((y - bbox[1]) / band_h).floor().max(0.0) as usize).min(bands - 1);
        let mut count = vec![0u32; bands + 1];
        for e in &all {
            let (lo, hi) = (band(e[1].min(e[3])), band(e[1].max(e[3])));
            for b in lo..=hi {
                count[b + 1] += 1;
            }
        }
        for i in 0..bands {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut edges = vec![[0.0; 4]; count[bands] as usize];
        for e in &all {
            let (lo, hi) = (band(e[1].min(e[3])), band(e[1].max(e[3])));
            for b in lo..=hi {
                edges[fill[b] as usize] = *e;
                fill[b] += 1;
            }
        }
        PreparedArea {
            bbox,
            y0: bbox[1],
            band_h,
            band_start: count,
            edges,
        }
    }

    /// Crossing-number point-in-polygon (even–odd over all rings, half-open in y).
    #[inline]
    pub(crate) fn contains(&self, p: Coord<f64>) -> bool {
        if !(p.x >= self.bbox[0]
            && p.x <= self.bbox[2]
            && p.y >= self.bbox[1]
            && p.y <= self.bbox[3])
        {
            return false;
        }
        let bands = self.band_start.len() - 1;
        let b = (((p.y - self.y0) / self.band_h).floor().max(0.0) as usize).min(bands - 1);
        let mut inside = false;
        for e in &self.edges[self.band_start[b] as usize..self.band_start[b + 1] as usize] {
            if (e[1] > p.y) != (e[3] > p.y) {
                let x = e[0] + (p.y - e[1]) * (e[2] - e[0]) / (e[3] - e[1]);
                if p.x < x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

/// Shared inputs of the per-area pass.
pub(crate) struct AreaContext<'a> {
    pub input: &'a CoverageInput<'a>,
    pub options: &'a CoverageOptions,
    pub seer: &'a Seer<'a>,
    pub households: &'a SeenBy,
    pub sites: &'a SeenBy,
    pub household_grid: &'a PointGrid,
    pub camera_grid: &'a PointGrid,
    pub site_grid: &'a PointGrid,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The H3 cells of an area: centres inside it, sorted, or the cell of an interior
/// point for an area smaller than a cell.
pub(crate) fn area_cells(
    geometry: &MultiPolygon<f64>,
    res: h3o::Resolution,
) -> Result<Vec<CellIndex>, String> {
    let mut tiler = TilerBuilder::new(res)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .disable_transmeridian_heuristic()
        .build();
    for p in &geometry.0 {
        tiler.add(p.clone()).map_err(|e| e.to_string())?;
    }
    let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
    cells.sort_unstable();
    cells.dedup();
    if cells.is_empty() {
        if let Some(ip) = geometry.interior_point() {
            if let Ok(ll) = LatLng::new(ip.y(), ip.x()) {
                cells.push(ll.to_cell(res));
            }
        }
    }
    Ok(cells)
}

/// Computes the statistics (and gaps) of every area, in parallel.
pub(crate) fn area_stats(
    ctx: &AreaContext<'_>,
    progress: &dyn Progress,
    base: f64,
    share: f64,
) -> Result<(Vec<AreaStats>, Vec<Gap>), CoverageError> {
    let areas = ctx.input.areas;
    let done = AtomicUsize::new(0);
    let results: Vec<Result<(AreaStats, Vec<Gap>), CoverageError>> = areas
        .par_iter()
        .enumerate()
        .map(|(ai, area)| {
            if progress.cancelled() {
                return Err(CoverageError::Cancelled);
            }
            let r = one_area(ctx, ai, &area.geometry);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d % 64 == 0 || d == areas.len() {
                progress.report("areas", base + share * d as f64 / areas.len() as f64);
            }
            r
        })
        .collect();
    let mut stats = Vec::with_capacity(areas.len());
    let mut all_gaps = Vec::new();
    for r in results {
        let (s, g) = r?;
        stats.push(s);
        all_gaps.extend(g);
    }
    gaps::sort_gaps(&mut all_gaps);
    Ok((stats, all_gaps))
}

fn one_area(
    ctx: &AreaContext<'_>,
    ai: usize,
    geometry: &MultiPolygon<f64>,
) -> Result<(AreaStats, Vec<Gap>), CoverageError> {
    let input = ctx.input;
    let prep = PreparedArea::new(geometry);
    let mut st = AreaStats::default();
    if prep.edges.is_empty() {
        return Ok((st, Vec::new()));
    }

    // Households inside, and the uncovered ones (for the gaps).
    let mut uncovered: Vec<(Coord<f64>, u64)> = Vec::new();
    ctx.household_grid.for_each_in(prep.bbox, |i| {
        let h = &input.households[i as usize];
        if prep.contains(h.location.0) {
            let n = h.households as u64;
            st.household_locations += 1;
            st.households += n;
            st.persons += h.persons.unwrap_or(0) as u64;
            if ctx.households.covered(i as usize) {
                st.covered_households += n;
                st.covered_persons += h.persons.unwrap_or(0) as u64;
            } else {
                uncovered.push((h.location.0, n));
            }
        }
    });
    st.household_coverage = ratio(st.covered_households, st.households);

    ctx.camera_grid.for_each_in(prep.bbox, |i| {
        let c = &input.cameras[i as usize];
        if prep.contains(c.location.0) {
            st.cameras += 1;
            if c.online {
                st.cameras_online += 1;
            }
        }
    });
    st.online_rate = ratio(st.cameras_online as u64, st.cameras as u64);

    let mut kinds: BTreeMap<String, KindStats> = BTreeMap::new();
    ctx.site_grid.for_each_in(prep.bbox, |i| {
        let s = &input.sites[i as usize];
        if prep.contains(s.location.0) {
            let covered = ctx.sites.covered(i as usize);
            st.sites += 1;
            let k = kinds.entry(super::sites::kind_of(s)).or_default();
            k.sites += 1;
            if covered {
                st.sites_covered += 1;
                k.covered += 1;
            }
        }
    });
    st.sites_by_kind = kinds;

    if !ctx.options.area_coverage {
        return Ok((st, Vec::new()));
    }
    let cells = area_cells(geometry, ctx.options.h3_resolution)
        .map_err(|reason| CoverageError::InvalidArea { index: ai, reason })?;
    let centres: Vec<Coord<f64>> = cells
        .iter()
        .map(|&c| {
            let ll = LatLng::from(c);
            Coord {
                x: ll.lng(),
                y: ll.lat(),
            }
        })
        .collect();
    let seen = ctx.seer.sees_all(&centres);
    st.cells = cells.len() as u64;
    st.cells_covered = seen.iter().filter(|&&s| s).count() as u64;
    st.area_coverage = ratio(st.cells_covered, st.cells);

    if !ctx.options.gaps || st.cells_covered == st.cells {
        return Ok((st, Vec::new()));
    }
    let (blind, blind_centres): (Vec<CellIndex>, Vec<Coord<f64>>) = cells
        .iter()
        .zip(&centres)
        .zip(&seen)
        .filter(|(_, &s)| !s)
        .map(|((c, p), _)| (*c, *p))
        .unzip();
    let g = gaps::gaps_of_area(
        ai,
        blind,
        &blind_centres,
        &uncovered,
        ctx.options.h3_resolution,
    )
    .map_err(|reason| CoverageError::InvalidArea { index: ai, reason })?;
    st.gaps = g.len() as u32;
    Ok((st, g))
}
