//! The resolution the previous grids were built from: interior grid vertices
//! are canonical H3 vertices or cell edge midpoints snapped to the area's
//! precision grid, so tessellating at that resolution gives exactly the
//! engine's cells.

use geo::BoundingRect;
use geo_types::{Coord, Rect};
use h3o::{LatLng, Resolution};

use super::super::super::snap::Snap;
use crate::model::{Area, Grid};

/// The precision grid [`Tessellation::new`](crate::partition::tessellate::Tessellation::new) uses for an area at `res` (same
/// frame, so snapped coordinates can be compared bit for bit).
fn snap_for(bbox: Rect<f64>, res: Resolution) -> Snap {
    let lat = bbox.center().y.to_radians().cos().max(0.05);
    let pad = 3.0 * res.edge_length_m() / (111_000.0 * lat) + 1e-9;
    Snap::new(Rect::new(
        Coord {
            x: bbox.min().x - pad,
            y: bbox.min().y - pad,
        },
        Coord {
            x: bbox.max().x + pad,
            y: bbox.max().y + pad,
        },
    ))
}

/// The resolution the previous grids were built from: interior grid vertices
/// are canonical H3 vertices or cell edge midpoints snapped to the area's
/// grid, so the resolution whose vertices match most sample points is the one.
/// Falls back to `guess` when nothing matches (grids drawn by hand).
pub(super) fn infer_resolution(area: &Area, old: &[&Grid], guess: Resolution) -> Resolution {
    let bbox = area.geometry.bounding_rect().expect("validated");
    let mut samples: Vec<Coord<f64>> = Vec::new();
    for g in old {
        for p in &g.geometry.0 {
            let ring = &p.exterior().0;
            let step = (ring.len() / 6).max(1);
            samples.extend(ring.iter().step_by(step).copied());
        }
    }
    let stride = samples.len().div_ceil(120).max(1);
    let samples: Vec<Coord<f64>> = samples.into_iter().step_by(stride).collect();
    let g = u8::from(guess);
    let mut best = (0usize, guess);
    for r in g.saturating_sub(2).max(6)..=(g + 2).min(14) {
        let res = Resolution::try_from(r).expect("in range");
        let snap = snap_for(bbox, res);
        let mut score = 0usize;
        for &c in &samples {
            let Ok(ll) = LatLng::new(c.y, c.x) else {
                continue;
            };
            let cell = ll.to_cell(res);
            let hit = cell.grid_disk::<Vec<_>>(1).into_iter().any(|d| {
                let vs: Vec<Coord<f64>> = d
                    .vertexes()
                    .map(|v| {
                        let ll = LatLng::from(v);
                        snap.coord(Coord {
                            x: ll.lng(),
                            y: ll.lat(),
                        })
                    })
                    .collect();
                (0..vs.len()).any(|i| {
                    let (p, q) = (vs[i], vs[(i + 1) % vs.len()]);
                    let mid = snap.coord(Coord {
                        x: (p.x + q.x) * 0.5,
                        y: (p.y + q.y) * 0.5,
                    });
                    p == c || mid == c
                })
            });
            if hit {
                score += 1;
            }
        }
        if score > best.0 || (score == best.0 && score > 0 && res == guess) {
            best = (score, res);
        }
    }
    best.1
}
