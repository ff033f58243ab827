//! Uniform grids in longitude/latitude: camera discs by cell, and points by cell.
//!
//! Why a uniform grid and not an R-tree: camera ranges are all of the same order
//! (tens to a few hundred metres), so a grid with cells about one range wide puts
//! each disc in a handful of cells and answers "which discs may contain this
//! point" with one array lookup, no tree walk. Lists are stored flat (CSR), so
//! the index of 100k cameras is a few megabytes. The grid is dense over the
//! data's bounding box, with the number of cells capped: very sparse, very wide
//! inputs get coarser cells (slower, never wrong).

/// Largest number of cells a grid may have.
const MAX_CELLS: usize = 1 << 24;

/// Geometry of a uniform grid over a bounding box in degrees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridSpec {
    pub x0: f64,
    pub y0: f64,
    /// Cell width (longitude degrees) and height (latitude degrees).
    pub cw: f64,
    pub ch: f64,
    pub nx: usize,
    pub ny: usize,
}

impl GridSpec {
    /// A grid over `bbox` with cells of about `cw` × `ch` degrees, coarsened so
    /// that it has at most `max_cells` cells.
    pub fn new(bbox: [f64; 4], mut cw: f64, mut ch: f64, max_cells: usize) -> Self {
        let w = (bbox[2] - bbox[0]).max(0.0);
        let h = (bbox[3] - bbox[1]).max(0.0);
        if !(cw > 0.0 && cw.is_finite()) {
            cw = w.max(1e-9);
        }
        if !(ch > 0.0 && ch.is_finite()) {
            ch = h.max(1e-9);
        }
        let mut nx = ((w / cw).floor() as usize).saturating_add(1);
        let mut ny = ((h / ch).floor() as usize).saturating_add(1);
        let cap = max_cells.clamp(1, MAX_CELLS);
        if nx.saturating_mul(ny) > cap {
            let f = ((nx as f64 * ny as f64) / cap as f64).sqrt() * 1.001;
            cw *= f;
            ch *= f;
            nx = ((w / cw).floor() as usize).saturating_add(1);
            ny = ((h / ch).floor() as usize).saturating_add(1);
            while nx.saturating_mul(ny) > cap {
                cw *= 1.1;
                ch *= 1.1;
                nx = ((w / cw).floor() as usize).saturating_add(1);
                ny = ((h / ch).floor() as usize).saturating_add(1);
            }
        }
        GridSpec {
            x0: bbox[0],
            y0: bbox[1],
            cw,
            ch,
            nx,
            ny,
        }
    }

    #[inline]
    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    // Cell numbers below truncate instead of calling `floor` (a library call
    // on baseline x86-64, and these are the innermost lookups): for a
    // non-negative value the two agree, and negative ones are clamped or
    // refused first.

    /// Column of longitude `x`, clamped into the grid.
    #[inline]
    pub fn col(&self, x: f64) -> usize {
        let c = (x - self.x0) / self.cw;
        if c >= 1.0 {
            (c as usize).min(self.nx - 1)
        } else {
            0
        }
    }

    /// Row of latitude `y`, clamped into the grid.
    #[inline]
    pub fn row(&self, y: f64) -> usize {
        let c = (y - self.y0) / self.ch;
        if c >= 1.0 {
            (c as usize).min(self.ny - 1)
        } else {
            0
        }
    }

    /// The cell of a point, or `None` when it is outside the grid.
    #[inline]
    pub fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        let cx = (x - self.x0) / self.cw;
        let cy = (y - self.y0) / self.ch;
        // Written so that NaN also falls outside.
        if !(cx >= 0.0 && cy >= 0.0 && cx < self.nx as f64 && cy < self.ny as f64) {
            return None;
        }
        Some(cy as usize * self.nx + cx as usize)
    }

    /// Inclusive ranges of columns and rows a box overlaps (clamped).
    #[inline]
    pub fn span(&self, b: [f64; 4]) -> (usize, usize, usize, usize) {
        (
            self.col(b[0]),
            self.col(b[2]),
            self.row(b[1]),
            self.row(b[3]),
        )
    }
}

/// Bounding box union helper.
pub(crate) fn union_bbox(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

pub(crate) const EMPTY_BBOX: [f64; 4] = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

/// Items (by index) listed in every cell their bounding box overlaps.
#[derive(Debug, Clone)]
pub(crate) struct BoxGrid {
    pub spec: GridSpec,
    start: Vec<u32>,
    items: Vec<u32>,
}

impl BoxGrid {
    /// Builds the grid from item boxes; items keep ascending order within a cell,
    /// which keeps every answer deterministic.
    pub fn build(boxes: &[[f64; 4]], cw: f64, ch: f64, max_cells: usize) -> Self {
        let mut bb = EMPTY_BBOX;
        for b in boxes {
            bb = union_bbox(bb, *b);
        }
        if boxes.is_empty() {
            bb = [0.0, 0.0, 0.0, 0.0];
        }
        let spec = GridSpec::new(bb, cw, ch, max_cells);
        Self::from_fn(spec, boxes.len(), |i| Some(boxes[i]))
    }

    /// Builds the grid over `spec` from `n` items whose boxes `bbox(i)` gives
    /// (`None` for items that are not indexed), without materialising the boxes.
    pub fn from_fn(
        spec: GridSpec,
        n_items: usize,
        bbox: impl Fn(usize) -> Option<[f64; 4]>,
    ) -> Self {
        let n = spec.cells();
        let mut count = vec![0u32; n + 1];
        for i in 0..n_items {
            if let Some(b) = bbox(i) {
                let (c0, c1, r0, r1) = spec.span(b);
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        count[r * spec.nx + c + 1] += 1;
                    }
                }
            }
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut items = vec![0u32; count[n] as usize];
        for i in 0..n_items {
            if let Some(b) = bbox(i) {
                let (c0, c1, r0, r1) = spec.span(b);
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        let k = r * spec.nx + c;
                        items[fill[k] as usize] = i as u32;
                        fill[k] += 1;
                    }
                }
            }
        }
        BoxGrid {
            spec,
            start: count,
            items,
        }
    }

    /// Like [`BoxGrid::from_fn`], counting and filling in parallel. The order of
    /// items within a cell then depends on scheduling, so this is only for
    /// callers whose answers do not depend on it (any-hit queries).
    pub fn from_fn_par(
        spec: GridSpec,
        n_items: usize,
        bbox: impl Fn(usize) -> Option<[f64; 4]> + Sync,
    ) -> Self {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        let n = spec.cells();
        // One array of cursors serves as counts, then as fill positions (each
        // ends at the next cell's start), then, shifted by one, as the starts;
        // every big array is made in parallel and converted in place.
        let mut cursor: Vec<AtomicU32> = (0..n + 1)
            .into_par_iter()
            .map(|_| AtomicU32::new(0))
            .collect();
        let visit = |i: usize, f: &dyn Fn(usize)| {
            if let Some(b) = bbox(i) {
                let (c0, c1, r0, r1) = spec.span(b);
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        f(r * spec.nx + c);
                    }
                }
            }
        };
        (0..n_items)
            .into_par_iter()
            .with_min_len(65_536)
            .for_each(|i| {
                visit(i, &|k| {
                    cursor[k + 1].fetch_add(1, Relaxed);
                })
            });
        let mut total = 0u32;
        for c in cursor.iter_mut() {
            total += *c.get_mut();
            *c.get_mut() = total;
        }
        let items: Vec<AtomicU32> = (0..total)
            .into_par_iter()
            .map(|_| AtomicU32::new(0))
            .collect();
        (0..n_items)
            .into_par_iter()
            .with_min_len(65_536)
            .for_each(|i| {
                visit(i, &|k| {
                    let at = cursor[k].fetch_add(1, Relaxed);
                    items[at as usize].store(i as u32, Relaxed);
                })
            });
        let mut start: Vec<u32> = cursor.into_iter().map(AtomicU32::into_inner).collect();
        start.rotate_right(1);
        start[0] = 0;
        BoxGrid {
            spec,
            start,
            items: items.into_iter().map(AtomicU32::into_inner).collect(),
        }
    }

    /// Items whose box may contain the point (a superset; empty outside the grid).
    #[inline]
    pub fn at(&self, x: f64, y: f64) -> &[u32] {
        match self.spec.cell_of(x, y) {
            Some(k) => &self.items[self.start[k] as usize..self.start[k + 1] as usize],
            None => &[],
        }
    }

    /// Calls `f` with the items of every cell the box overlaps (items may repeat);
    /// stops early when `f` returns true, and returns whether it did.
    #[inline]
    pub fn any_in_box(&self, b: [f64; 4], mut f: impl FnMut(u32) -> bool) -> bool {
        let s = &self.spec;
        if self.items.is_empty()
            || b[2] < s.x0
            || b[3] < s.y0
            || b[0] > s.x0 + s.cw * s.nx as f64
            || b[1] > s.y0 + s.ch * s.ny as f64
        {
            return false;
        }
        let (c0, c1, r0, r1) = s.span(b);
        for r in r0..=r1 {
            for c in c0..=c1 {
                if self.cell(r * s.nx + c).iter().any(|&i| f(i)) {
                    return true;
                }
            }
        }
        false
    }

    /// Items listed in cell `k`.
    #[inline]
    pub fn cell(&self, k: usize) -> &[u32] {
        &self.items[self.start[k] as usize..self.start[k + 1] as usize]
    }
}

/// `x.floor() as i64` without the library call (baseline x86-64 has no
/// rounding instruction): the same for every input, NaN and infinities
/// included.
#[inline]
pub(crate) fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    t.saturating_sub(((t as f64) > x) as i64)
}

/// Points bucketed by cell, for "which points lie in this box" queries.
#[derive(Debug, Clone)]
pub(crate) struct PointGrid {
    pub spec: GridSpec,
    start: Vec<u32>,
    /// Point indices sorted by cell, ascending within a cell.
    order: Vec<u32>,
}

impl PointGrid {
    /// Cells are sized for about `per_cell` points on average over the bounding box.
    pub fn build(points: &[[f64; 2]], per_cell: f64) -> Self {
        let mut bb = EMPTY_BBOX;
        for p in points {
            if p[0].is_finite() && p[1].is_finite() {
                bb = union_bbox(bb, [p[0], p[1], p[0], p[1]]);
            }
        }
        if bb[0] > bb[2] {
            bb = [0.0, 0.0, 0.0, 0.0];
        }
        let area = ((bb[2] - bb[0]) * (bb[3] - bb[1])).max(1e-18);
        let cells = (points.len() as f64 / per_cell).max(1.0);
        let side = (area / cells).sqrt().max(1e-7);
        let spec = GridSpec::new(bb, side, side, (points.len() * 2).max(1024));
        let n = spec.cells();
        let mut count = vec![0u32; n + 1];
        let cell: Vec<u32> = points
            .iter()
            .map(|p| spec.cell_of(p[0], p[1]).map_or(u32::MAX, |k| k as u32))
            .collect();
        for &k in &cell {
            if k != u32::MAX {
                count[k as usize + 1] += 1;
            }
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut order = vec![0u32; count[n] as usize];
        for (i, &k) in cell.iter().enumerate() {
            if k != u32::MAX {
                order[fill[k as usize] as usize] = i as u32;
                fill[k as usize] += 1;
            }
        }
        PointGrid {
            spec,
            start: count,
            order,
        }
    }

    /// Calls `f` with every point index whose cell overlaps the box (a superset of
    /// the points inside it).
    #[inline]
    pub fn for_each_in(&self, b: [f64; 4], mut f: impl FnMut(u32)) {
        if self.order.is_empty() {
            return;
        }
        let s = &self.spec;
        if b[2] < s.x0
            || b[3] < s.y0
            || b[0] > s.x0 + s.cw * s.nx as f64
            || b[1] > s.y0 + s.ch * s.ny as f64
        {
            return;
        }
        let (c0, c1, r0, r1) = s.span(b);
        for r in r0..=r1 {
            let a = self.start[r * s.nx + c0] as usize;
            let z = self.start[r * s.nx + c1 + 1] as usize;
            for &i in &self.order[a..z] {
                f(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same as `floor` everywhere, at integers, just off them, for huge
    /// values, NaN and infinities.
    #[test]
    fn floor_i64_is_floor() {
        let mut xs = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            0.0,
            -0.0,
        ];
        for k in -5..=5 {
            let k = k as f64;
            xs.extend([k, k + 1e-12, k - 1e-12, k + 0.5, k - 0.5]);
            xs.extend([k.next_up(), k.next_down()]);
        }
        xs.extend([9.3e18, -9.3e18, 4503599627370495.5, -4503599627370495.5]);
        for x in xs {
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
        }
    }

    /// Truncating lookups give the cells `floor` gave, at cell borders and
    /// outside the grid.
    #[test]
    fn cells_at_borders() {
        let spec = GridSpec {
            x0: -1.0,
            y0: 2.0,
            cw: 0.25,
            ch: 0.5,
            nx: 8,
            ny: 4,
        };
        for i in -40..=50 {
            let x = -1.0 + i as f64 * 0.0625;
            let y = 2.0 + i as f64 * 0.125;
            let fx = ((x - spec.x0) / spec.cw).floor();
            let fy = ((y - spec.y0) / spec.ch).floor();
            let col = if fx <= 0.0 { 0 } else { (fx as usize).min(7) };
            let row = if fy <= 0.0 { 0 } else { (fy as usize).min(3) };
            assert_eq!((spec.col(x), spec.row(y)), (col, row), "{x} {y}");
            let inside = fx >= 0.0 && fy >= 0.0 && fx < 8.0 && fy < 4.0;
            let want = inside.then(|| fy as usize * 8 + fx as usize);
            assert_eq!(spec.cell_of(x, y), want, "{x} {y}");
        }
    }
}
