//! Fast point-in-area lookup for many households against a few (large) areas.
//!
//! Real village boundaries have thousands of vertices and a city has a million
//! households, so a plain ray cast per (point, area) pair is too slow. Each area
//! keeps its edges in horizontal bands; a query ray-casts only against the edges
//! of one band. Points on an edge count as inside (closed polygons), and a point
//! on the shared border of two areas goes to the first area in input order.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo_types::{Coord, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::model::Area;

/// Edges of a multipolygon bucketed by latitude band.
pub(crate) struct BandedRings {
    y0: f64,
    inv_h: f64,
    bands: usize,
    /// CSR: band b's edges are `edges[start[b]..start[b+1]]`.
    start: Vec<u32>,
    edges: Vec<(Coord<f64>, Coord<f64>)>,
}

impl BandedRings {
    pub(crate) fn new(mp: &MultiPolygon<f64>) -> Self {
        let mut all = Vec::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    if w[0] != w[1] {
                        all.push((w[0], w[1]));
                    }
                }
            }
        }
        let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
        for (a, b) in &all {
            y0 = y0.min(a.y.min(b.y));
            y1 = y1.max(a.y.max(b.y));
        }
        let bands = (all.len() / 4).clamp(1, 4096);
        let h = ((y1 - y0) / bands as f64).max(1e-12);
        let inv_h = 1.0 / h;
        let band_of = |y: f64| (((y - y0) * inv_h) as isize).clamp(0, bands as isize - 1) as usize;
        let mut counts = vec![0u32; bands + 1];
        for (a, b) in &all {
            let (lo, hi) = (band_of(a.y.min(b.y)), band_of(a.y.max(b.y)));
            for c in &mut counts[lo..=hi] {
                *c += 1;
            }
        }
        let mut start = vec![0u32; bands + 1];
        for b in 0..bands {
            start[b + 1] = start[b] + counts[b];
        }
        let mut fill = start.clone();
        let mut edges =
            vec![(Coord { x: 0.0, y: 0.0 }, Coord { x: 0.0, y: 0.0 }); start[bands] as usize];
        for e in &all {
            let (lo, hi) = (band_of(e.0.y.min(e.1.y)), band_of(e.0.y.max(e.1.y)));
            for f in &mut fill[lo..=hi] {
                edges[*f as usize] = *e;
                *f += 1;
            }
        }
        BandedRings {
            y0,
            inv_h,
            bands,
            start,
            edges,
        }
    }

    /// Does any edge's bounding box meet the box [min, max]?
    pub(crate) fn meets_box(&self, min: Coord<f64>, max: Coord<f64>) -> bool {
        let b0 = ((min.y - self.y0) * self.inv_h).floor().max(0.0);
        let b1 = ((max.y - self.y0) * self.inv_h)
            .floor()
            .min(self.bands as f64 - 1.0);
        if b1 < 0.0 || b0 > self.bands as f64 - 1.0 || b0 > b1 {
            return false;
        }
        for band in b0 as usize..=b1 as usize {
            let s = self.start[band] as usize;
            let e = self.start[band + 1] as usize;
            for &(a, b) in &self.edges[s..e] {
                if a.x.max(b.x) >= min.x
                    && a.x.min(b.x) <= max.x
                    && a.y.max(b.y) >= min.y
                    && a.y.min(b.y) <= max.y
                    && super::graph::clip_segment(a, b, min, max).is_some()
                {
                    return true;
                }
            }
        }
        false
    }

    /// Closed containment: inside, or exactly on an edge.
    pub(crate) fn covers(&self, p: Coord<f64>) -> bool {
        let b = ((p.y - self.y0) * self.inv_h).floor();
        if b < 0.0 || b >= self.bands as f64 {
            // Outside the latitude range, except exactly on its top edge.
            if b == self.bands as f64 {
                return self.scan(self.bands - 1, p);
            }
            return false;
        }
        self.scan(b as usize, p)
    }

    fn scan(&self, band: usize, p: Coord<f64>) -> bool {
        let mut inside = false;
        let s = self.start[band] as usize;
        let e = self.start[band + 1] as usize;
        for &(a, b) in &self.edges[s..e] {
            // On the segment?
            if RobustKernel::orient2d(a, b, p) == Orientation::Collinear
                && p.x >= a.x.min(b.x)
                && p.x <= a.x.max(b.x)
                && p.y >= a.y.min(b.y)
                && p.y <= a.y.max(b.y)
            {
                return true;
            }
            if (a.y > p.y) != (b.y > p.y) {
                // Crossing to the right of p, decided robustly.
                let o = RobustKernel::orient2d(a, b, p);
                let right = if b.y > a.y {
                    o == Orientation::CounterClockwise
                } else {
                    o == Orientation::Clockwise
                };
                if right {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Finds the area containing a point.
pub(crate) struct AreaLocator {
    tree: RTree<Entry>,
    rings: Vec<BandedRings>,
}

impl AreaLocator {
    pub(crate) fn new(areas: &[Area]) -> Self {
        let mut entries = Vec::with_capacity(areas.len());
        let mut rings = Vec::with_capacity(areas.len());
        for (i, a) in areas.iter().enumerate() {
            if let Some(r) = super::rect_of(&a.geometry) {
                entries.push(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i as u32,
                ));
            }
            rings.push(BandedRings::new(&a.geometry));
        }
        AreaLocator {
            tree: RTree::bulk_load(entries),
            rings,
        }
    }

    /// The first area (in input order) whose closed polygon holds `p`.
    pub(crate) fn locate(&self, p: Coord<f64>) -> Option<u32> {
        let mut best: Option<u32> = None;
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.x, p.y]))
        {
            let i = e.data;
            if best.is_some_and(|b| b < i) {
                continue;
            }
            if self.rings[i as usize].covers(p) {
                best = Some(i);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn banded_matches_geo_on_a_polygon_with_a_hole() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0)]],
        );
        let mp = MultiPolygon(vec![p]);
        let b = BandedRings::new(&mp);
        for i in -5..=25 {
            for j in -5..=25 {
                let c = Coord {
                    x: i as f64 * 0.5,
                    y: j as f64 * 0.5,
                };
                assert_eq!(b.covers(c), geo::Intersects::intersects(&mp, &c), "{c:?}");
            }
        }
    }
}
