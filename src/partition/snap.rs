//! One precision grid per area, shared by every polygon operation in it.
//!
//! The polygon overlay (i_overlay behind `geo::BooleanOps`) converts floats to
//! integers on a grid derived from the bounding box of each operation's input,
//! so two operations with different inputs round shared edges differently and
//! leave slivers a rounding error wide between neighbouring grids. Here every
//! coordinate of an area (cell vertices and area boundary) is snapped once to
//! the grid of a fixed frame, and every operation includes two tiny dummy
//! triangles at the frame's corners, so all operations use that same grid.
//! Snapped coordinates survive the overlay bit for bit, so neighbouring grids
//! share identical edges whether or not they were clipped.

use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};

pub(crate) struct Snap {
    rect: Rect<f64>,
    off: Coord<f64>,
    scale: f64,
    inv: f64,
}

/// Rounding as i_float's `to_i32` does it (half away from zero).
fn round_i32(x: f64) -> i32 {
    (x + 0.5f64.copysign(x)) as i32
}

impl Snap {
    /// The frame must contain every coordinate the area's operations will see.
    pub(crate) fn new(rect: Rect<f64>) -> Self {
        // Mirrors i_float's FloatPointAdapter::new.
        let a = rect.width() * 0.5;
        let b = rect.height() * 0.5;
        let off = Coord {
            x: rect.min().x + a,
            y: rect.min().y + b,
        };
        let max = a.max(b);
        let log2 = round_i32(max.log2());
        let e = 29 - log2;
        Snap {
            rect,
            off,
            scale: (e as f64).exp2(),
            inv: (-e as f64).exp2(),
        }
    }

    pub(crate) fn coord(&self, c: Coord<f64>) -> Coord<f64> {
        let x = round_i32((c.x - self.off.x) * self.scale) as f64 * self.inv + self.off.x;
        let y = round_i32((c.y - self.off.y) * self.scale) as f64 * self.inv + self.off.y;
        Coord { x, y }
    }

    pub(crate) fn multipolygon(&self, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        let ring = |r: &LineString<f64>| {
            let mut v: Vec<Coord<f64>> = Vec::with_capacity(r.0.len());
            for &c in &r.0 {
                let s = self.coord(c);
                if v.last() != Some(&s) {
                    v.push(s);
                }
            }
            LineString(v)
        };
        MultiPolygon(
            mp.0.iter()
                .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
                .filter(|p| p.exterior().0.len() >= 4)
                .collect(),
        )
    }

    fn dummies(&self) -> [Polygon<f64>; 2] {
        let (lo, hi) = (self.rect.min(), self.rect.max());
        let e = self.rect.width().max(self.rect.height()) * 1e-4;
        let tri = |c: Coord<f64>, dx: f64, dy: f64| {
            Polygon::new(
                LineString(vec![
                    c,
                    Coord {
                        x: c.x + dx,
                        y: c.y,
                    },
                    Coord {
                        x: c.x,
                        y: c.y + dy,
                    },
                    c,
                ]),
                vec![],
            )
        };
        [tri(lo, e, e), tri(hi, -e, -e)]
    }

    /// `subject ∩ clip` on the area's grid. The clip must lie inside the frame
    /// and away from its corners (the dummies fall outside it and vanish).
    pub(crate) fn intersection(
        &self,
        subject: &MultiPolygon<f64>,
        clip: &MultiPolygon<f64>,
    ) -> MultiPolygon<f64> {
        let mut s = subject.clone();
        s.0.extend(self.dummies());
        s.intersection(clip)
    }

    /// The union of polygons that lie inside the area's box (which the frame
    /// holds with a margin), on the area's grid.
    pub(crate) fn merge(&self, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        let (lo, hi) = (self.rect.min(), self.rect.max());
        let e = self.rect.width().max(self.rect.height()) * 2e-4;
        let inner = Rect::new(
            Coord {
                x: lo.x + e,
                y: lo.y + e,
            },
            Coord {
                x: hi.x - e,
                y: hi.y - e,
            },
        );
        self.intersection(mp, &MultiPolygon(vec![inner.to_polygon()]))
    }

    /// Size of one grid step, in degrees.
    pub(crate) fn unit(&self) -> f64 {
        self.inv
    }

    pub(crate) fn rect(&self) -> Rect<f64> {
        self.rect
    }
}
