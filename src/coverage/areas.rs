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

use super::centres::{self, ChildOffsets};
use super::gaps::{self, Gap};
use super::index::PointGrid;
use super::seer::Seer;
use super::{AreaStats, CoverageError, CoverageInput, CoverageOptions, KindStats, SeenBy};
use crate::progress::Progress;
use geo::InteriorPoint;
use geo_types::{Coord, MultiPolygon};
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
        let band = |y: f64| (((y - bbox[1]) / band_h).max(0.0) as usize).min(bands - 1);
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

    /// True when some boundary edge passes within `rho` metres of `c` (`kx`, `ky`:
    /// metres per degree of longitude and latitude there).
    pub(crate) fn edge_within(&self, c: Coord<f64>, rho: f64, kx: f64, ky: f64) -> bool {
        if self.edges.is_empty() {
            return false;
        }
        let dy = rho / ky;
        let dx = rho / kx;
        if c.x + dx < self.bbox[0]
            || c.x - dx > self.bbox[2]
            || c.y + dy < self.bbox[1]
            || c.y - dy > self.bbox[3]
        {
            return false;
        }
        let bands = self.band_start.len() - 1;
        let band = |y: f64| (((y - self.y0) / self.band_h).max(0.0) as usize).min(bands - 1);
        let r2 = rho * rho;
        for b in band(c.y - dy)..=band(c.y + dy) {
            for e in &self.edges[self.band_start[b] as usize..self.band_start[b + 1] as usize] {
                let (a, z) = (Coord { x: e[0], y: e[1] }, Coord { x: e[2], y: e[3] });
                if super::sector::segment_distance2_m(a, z, c, (kx, ky)) <= r2 {
                    return true;
                }
            }
        }
        false
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
        let b = (((p.y - self.y0) / self.band_h).max(0.0) as usize).min(bands - 1);
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

/// The H3 cells (at the target resolution) whose centre lies inside an area:
/// how many, how many are seen, where the blind ones are, and (for the gaps)
/// which cells are seen.
#[derive(Debug, Default)]
pub(crate) struct AreaCells {
    pub total: u64,
    pub covered: u64,
    /// Centre of each blind block (the centre of its central fine cell): a fine
    /// cell, or a coarser cell whose every descendant at the target resolution
    /// is inside the area and blind.
    pub blind_centres: Vec<Coord<f64>>,
    /// Number of target-resolution cells in each blind block.
    pub blind_cells: Vec<u64>,
    /// Seen cells at the target resolution that may meet the area: those whose
    /// centre is inside, and (when gaps are wanted) those whose centre is
    /// outside but within a cell's reach of the boundary. The gaps are the area
    /// minus these cells.
    pub seen: Vec<(CellIndex, Coord<f64>)>,
}

impl AreaCells {
    fn append(&mut self, o: AreaCells) {
        self.total += o.total;
        self.covered += o.covered;
        self.blind_centres.extend(o.blind_centres);
        self.blind_cells.extend(o.blind_cells);
        self.seen.extend(o.seen);
    }
}

/// Levels between the root cells and the target resolution.
const ROOT_LEVELS: u8 = 3;

/// Computes an area's cells and their coverage, hierarchically.
///
/// Why not h3o's `Tiler` at the target resolution followed by a test of every
/// cell: that grows the interior cell by cell through hash sets and then asks
/// the cameras about every centre, which dominated the whole pipeline. Instead
/// the area is covered by root cells three levels coarser (found by sampling
/// its bounding box, plus one ring), and each root is refined
/// recursively through its children (bit arithmetic). A block whose disc of
/// descendant centres (radius 1.3 × its circumradius; measured worst case
/// 1.007) is clear of the area's boundary is entirely inside or outside; one
/// that is inside and that no camera's sector can reach is blind as a whole and
/// is counted as a whole without visiting its cells. Only cells near the
/// boundary or near a camera are resolved to the target resolution and tested
/// exactly (centre in polygon, then the full visibility rule). The result is
/// exactly the set the centre-containment rule defines. With `seen_outside`,
/// cells whose centre is just outside the area are tested too, so that the
/// gaps (the area minus its seen cells) do not claim the seen cells' slivers.
pub(crate) fn area_cells(
    geometry: &MultiPolygon<f64>,
    prep: &PreparedArea,
    seer: &Seer<'_>,
    res: h3o::Resolution,
    seen_outside: bool,
) -> Result<AreaCells, String> {
    let target = u8::from(res);
    let root_res =
        h3o::Resolution::try_from(target.saturating_sub(ROOT_LEVELS)).map_err(|e| e.to_string())?;
    // Roots: the root cells of a grid of sample points over the bounding box,
    // plus their neighbours. Samples are spaced at 0.6 × the cell's inradius, so
    // a fine cell centre q in the area has a sample p within 0.43 R (R: the root
    // circumradius), q's root ancestor has its centre within 1.01 R of q
    // (measured worst case 1.007), so within 2.44 R of p's root's centre; cells
    // that far apart are neighbours (the next ring starts at 3 R). This is a few
    // lookups per area, where h3o's polygon tiler spent most of its time
    // tracing the outline.
    let bbox = prep.bbox;
    let mid = LatLng::new(0.5 * (bbox[1] + bbox[3]), 0.5 * (bbox[0] + bbox[2]))
        .map_err(|e| e.to_string())?;
    let probe = mid.to_cell(root_res);
    let pc = LatLng::from(probe);
    let circ = probe
        .boundary()
        .iter()
        .map(|v| pc.distance_m(*v))
        .fold(0.0, f64::max);
    // Cells vary in size by well under 10 % across an area; keep a margin.
    let spacing = 0.6 * 0.866 * circ * 0.9;
    let lat = 0.5 * (bbox[1] + bbox[3]);
    let (kx, ky) = super::sector::metres_per_degree(lat);
    let (kx_far, _) = super::sector::metres_per_degree(bbox[1].abs().max(bbox[3].abs()).min(89.0));
    let (sx, sy) = (spacing / kx_far.max(1.0), spacing / ky);
    let nx = ((bbox[2] - bbox[0]) / sx).ceil() as usize + 1;
    let ny = ((bbox[3] - bbox[1]) / sy).ceil() as usize + 1;
    let mut seeds: Vec<CellIndex> = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        let y = (bbox[1] + j as f64 * sy).min(bbox[3]);
        for i in 0..nx {
            let x = (bbox[0] + i as f64 * sx).min(bbox[2]);
            if let Ok(ll) = LatLng::new(y, x) {
                seeds.push(ll.to_cell(root_res));
            }
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    let mut roots: Vec<CellIndex> = Vec::with_capacity(seeds.len() * 4);
    for c in seeds {
        roots.extend(c.grid_disk::<Vec<_>>(1));
    }
    roots.sort_unstable();
    roots.dedup();
    if roots.is_empty() {
        return Ok(AreaCells::default());
    }
    let walker = Walker {
        prep,
        seer,
        target: res,
        root_res: u8::from(root_res),
        root_rho: 1.3 * circ,
        fine_rho: 1.3 * circ / 7f64.sqrt().powi(i32::from(ROOT_LEVELS)),
        seen_outside,
        kx,
        ky,
    };
    let parts: Vec<AreaCells> = if roots.len() > 64 {
        roots
            .par_iter()
            .map(|&r| {
                let mut out = AreaCells::default();
                walker.visit(r, false, &mut RootOffsets::new(r), &mut out);
                out
            })
            .collect()
    } else {
        roots
            .iter()
            .map(|&r| {
                let mut out = AreaCells::default();
                walker.visit(r, false, &mut RootOffsets::new(r), &mut out);
                out
            })
            .collect()
    };
    let mut out = AreaCells::default();
    for p in parts {
        out.append(p);
    }
    if out.total == 0 {
        // An area smaller than a cell: the cell of an interior point stands for it.
        if let Some(ip) = geometry.interior_point() {
            if let Ok(ll) = LatLng::new(ip.y(), ip.x()) {
                let cell = ll.to_cell(res);
                let ll = LatLng::from(cell);
                let c = Coord {
                    x: ll.lng(),
                    y: ll.lat(),
                };
                out.total = 1;
                if seer.sees(c) {
                    out.covered = 1;
                    if !out.seen.iter().any(|&(s, _)| s == cell) {
                        out.seen.push((cell, c));
                    }
                } else {
                    out.blind_centres.push(c);
                    out.blind_cells.push(1);
                }
            }
        }
    }
    Ok(out)
}

struct Walker<'a> {
    prep: &'a PreparedArea,
    seer: &'a Seer<'a>,
    target: h3o::Resolution,
    root_res: u8,
    /// Radius around a root cell's centre holding all its descendants' centres.
    root_rho: f64,
    /// The same for a cell at the target resolution: its circumradius, with margin.
    fine_rho: f64,
    /// Also test cells whose centre is outside but near the boundary.
    seen_outside: bool,
    kx: f64,
    ky: f64,
}

impl Walker<'_> {
    /// Walks the block `cell`; `offsets` are its root's child offsets, measured
    /// on first use.
    fn visit(
        &self,
        cell: CellIndex,
        inside_all: bool,
        offsets: &mut RootOffsets,
        out: &mut AreaCells,
    ) {
        let c = centres::centre(cell);
        let r = u8::from(cell.resolution());
        if cell.resolution() == self.target {
            self.fine(cell, c, inside_all, out);
            return;
        }
        let rho = self.root_rho / 7f64.sqrt().powi(i32::from(r - self.root_res));
        let mut inside = inside_all;
        if !inside {
            if self.prep.edge_within(c, rho, self.kx, self.ky) {
                inside = false;
            } else if self.prep.contains(c) {
                inside = true;
            } else {
                return; // the whole block is outside
            }
        }
        if inside && !cell.is_pentagon() && !self.seer.may_see_disc(c, rho) {
            let n = cell.children_count(self.target);
            out.total += n;
            // The block's centre is its central fine cell's centre.
            out.blind_centres.push(c);
            out.blind_cells.push(n);
            return;
        }
        let Some(next) = cell.resolution().succ() else {
            return;
        };
        if next == self.target {
            if let Some(o) = offsets.get(self.target) {
                for child in cell.children(next) {
                    let approx = o.predict(c, centres::digit(child));
                    self.fine_near(child, approx, inside, out);
                }
                return;
            }
        }
        for child in cell.children(next) {
            self.visit(child, inside, offsets, out);
        }
    }

    /// A cell at the target resolution, centred at `c`.
    fn fine(&self, cell: CellIndex, c: Coord<f64>, inside_all: bool, out: &mut AreaCells) {
        if inside_all || self.prep.contains(c) {
            out.total += 1;
            if self.seer.sees(c) {
                out.covered += 1;
                out.seen.push((cell, c));
            } else {
                out.blind_centres.push(c);
                out.blind_cells.push(1);
            }
        } else if self.seen_outside
            && self.prep.edge_within(c, self.fine_rho, self.kx, self.ky)
            && self.seer.sees(c)
        {
            out.seen.push((cell, c));
        }
    }

    /// A cell at the target resolution whose centre is within
    /// [`centres::TOLERANCE_M`] of `approx`: decided on `approx` where every
    /// point that close gets the same answer, on h3o's exact centre otherwise.
    fn fine_near(
        &self,
        cell: CellIndex,
        approx: Coord<f64>,
        inside_all: bool,
        out: &mut AreaCells,
    ) {
        let tol = centres::TOLERANCE_M;
        let inside = inside_all || {
            if self.prep.edge_within(approx, tol, self.kx, self.ky) {
                return self.fine(cell, centres::centre(cell), false, out);
            }
            self.prep.contains(approx)
        };
        // Outside: only cells near the boundary matter (see `fine`).
        let near = |rho: f64| self.prep.edge_within(approx, rho, self.kx, self.ky);
        if !(inside || self.seen_outside && near(self.fine_rho + tol)) {
            return;
        }
        let seen = match self.seer.sees_near(approx, tol) {
            Some(s) => s,
            None => self.seer.sees(centres::centre(cell)),
        };
        if inside {
            out.total += 1;
            if seen {
                out.covered += 1;
                out.seen.push((cell, approx));
            } else {
                // Well inside a blind cell: it lands in the same gap as the
                // exact centre.
                out.blind_centres.push(approx);
                out.blind_cells.push(1);
            }
        } else if seen {
            out.seen.push((cell, approx));
        }
    }
}

/// A root's child offsets, measured when the walk first needs them.
struct RootOffsets {
    root: CellIndex,
    measured: Option<Option<ChildOffsets>>,
}

impl RootOffsets {
    fn new(root: CellIndex) -> Self {
        RootOffsets {
            root,
            measured: None,
        }
    }

    fn get(&mut self, fine: h3o::Resolution) -> Option<&ChildOffsets> {
        let root = self.root;
        self.measured
            .get_or_insert_with(|| ChildOffsets::of_root(root, fine))
            .as_ref()
    }
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
    let cells = area_cells(
        geometry,
        &prep,
        ctx.seer,
        ctx.options.h3_resolution,
        ctx.options.gaps,
    )
    .map_err(|reason| CoverageError::InvalidArea { index: ai, reason })?;
    st.cells = cells.total;
    st.cells_covered = cells.covered;
    st.area_coverage = ratio(st.cells_covered, st.cells);

    if !ctx.options.gaps {
        return Ok((st, Vec::new()));
    }
    let g = gaps::gaps_of_area(ai, geometry, cells, &uncovered)
        .map_err(|reason| CoverageError::InvalidArea { index: ai, reason })?;
    st.gaps = g.len() as u32;
    Ok((st, g))
}
