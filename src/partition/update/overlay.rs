//! Overlays on an area's precision grid ([`Snap`]): union and difference of
//! outlines computed on the same integer grid as the engine's, so the edges a
//! repaired grid shares with an unchanged neighbour stay bit for bit the
//! edges that neighbour already has.

use geo::BooleanOps;
use geo_types::{Coord, MultiPolygon, Polygon};

use super::super::snap::Snap;

/// Two tiny triangles at the frame's corners: added to both operands of an
/// overlay they fix i_overlay's integer grid to the area's (as
/// [`Snap::intersection`] does), and they are removed again afterwards.
fn dummies(snap: &Snap) -> [Polygon<f64>; 2] {
    let r = snap.rect();
    let (lo, hi) = (r.min(), r.max());
    let e = r.width().max(r.height()) * 1e-4;
    let tri = |c: Coord<f64>, dx: f64, dy: f64| {
        Polygon::new(
            geo_types::LineString(vec![
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

/// `mp` with the two corner triangles of [`dummies`] added.
fn with_dummies(snap: &Snap, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut m = mp.clone();
    m.0.extend(dummies(snap));
    m
}

/// `mp` without the corner triangles [`with_dummies`] added.
fn strip_dummies(snap: &Snap, mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    let r = snap.rect();
    let e = r.width().max(r.height()) * 2e-4;
    let near = |c: &Coord<f64>, k: Coord<f64>| (c.x - k.x).abs() <= e && (c.y - k.y).abs() <= e;
    MultiPolygon(
        mp.0.into_iter()
            .filter(|p| {
                !(p.exterior().0.iter().all(|c| near(c, r.min()))
                    || p.exterior().0.iter().all(|c| near(c, r.max())))
            })
            .collect(),
    )
}

/// Union of `a` and `b` on the precision grid of `snap`.
pub(super) fn snap_union(
    snap: &Snap,
    a: &MultiPolygon<f64>,
    b: &MultiPolygon<f64>,
) -> MultiPolygon<f64> {
    strip_dummies(snap, with_dummies(snap, a).union(&with_dummies(snap, b)))
}

/// `a` minus `b` on the precision grid of `snap`.
pub(super) fn snap_difference(
    snap: &Snap,
    a: &MultiPolygon<f64>,
    b: &MultiPolygon<f64>,
) -> MultiPolygon<f64> {
    strip_dummies(
        snap,
        with_dummies(snap, a).difference(&with_dummies(snap, b)),
    )
}
