//! Stage 4 of a repair: the new regions' outlines, tiling the zone exactly.
//! Each is the engine's dissolve of its cells clipped to the zone (the union
//! of the old zone grids); whatever the cell outlines leave of the zone
//! (corner triangles the engine's smoothing gave to a neighbour) joins the
//! grid it shares an edge with, and crumbs the clip cut off a grid rejoin a
//! neighbour, so every grid stays one polygon. All overlays run on the area's
//! precision grid ([`overlay`](super::super::overlay)).

use geo::{BoundingRect, Distance, Euclidean, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Polygon};
use rayon::prelude::*;

use super::super::super::dissolve;
use super::super::super::outline;
use super::super::super::snap::Snap;
use super::super::super::split::Splits;
use super::super::super::tessellate::Tessellation;
use super::super::overlay::{snap_difference, snap_union};
use super::rebalance::ZoneRegions;
use super::zone::Zone;
use super::ZoneRepair;

impl ZoneRepair<'_> {
    /// The outline of each new region; `hh_node` holds each household's
    /// location and node (the dissolve keeps outlines off households).
    pub(super) fn outlines(
        &self,
        zone: &Zone,
        regions: &ZoneRegions,
        hh_node: &[(Coord<f64>, u32)],
    ) -> Outlined {
        let tess = &self.cells.tess;
        let snap = &tess.snap;
        let pts = dissolve::NodePoints::new(tess.nodes.len(), hh_node);
        let mut zone_poly = MultiPolygon::<f64>(vec![]);
        for &j in &zone.grids {
            zone_poly = snap_union(snap, &zone_poly, &self.old_grids[j].geometry);
        }
        let mut geoms: Vec<MultiPolygon<f64>> = regions
            .ids
            .par_iter()
            .map(|&id| {
                let raw =
                    dissolve::region_geometry(tess, &regions.part, id, &pts, &Splits::default());
                snap.intersection(&raw, &zone_poly)
            })
            .collect();
        fill_leftover(snap, &mut geoms, &zone_poly);
        let mut kept: Vec<(usize, MultiPolygon<f64>)> = (0..self.old_grids.len())
            .filter(|&j| !zone.in_zone[j])
            .map(|j| (j, self.old_grids[j].geometry.clone()))
            .collect();
        let households: Vec<Coord<f64>> = hh_node.iter().map(|h| h.0).collect();
        let crumbs = Crumbs {
            tess,
            cell_deg2: self.cell_deg2(),
            households: &households,
        };
        let given = crumbs.rejoin(&mut geoms, &mut kept);
        use geo::orient::{Direction, Orient};
        Outlined {
            geoms: geoms
                .into_iter()
                .map(|gm| gm.orient(Direction::Default))
                .collect(),
            widened: kept
                .into_iter()
                .filter(|(j, _)| given.contains(j))
                .map(|(j, gm)| (j, gm.orient(Direction::Default)))
                .collect(),
        }
    }

    /// One cell's area in degrees² (degrees per metre from the local frame).
    fn cell_deg2(&self) -> f64 {
        let frame = &self.view.frame;
        let a = frame.to_degrees(Coord { x: 0.0, y: 0.0 });
        let b = frame.to_degrees(Coord { x: 1.0, y: 1.0 });
        self.cells.res.area_m2() * ((b.x - a.x) * (b.y - a.y)).abs()
    }
}

/// Gives what the outlines leave of the zone (pieces above a few precision
/// units) to the grid each shares an edge with, or else to the nearest grid,
/// so the zone stays tiled.
fn fill_leftover(snap: &Snap, geoms: &mut [MultiPolygon<f64>], zone_poly: &MultiPolygon<f64>) {
    let mut all = MultiPolygon::<f64>(vec![]);
    for gm in geoms.iter() {
        all.0.extend(gm.0.iter().cloned());
    }
    let leftover = snap_difference(snap, zone_poly, &all);
    let min_piece = snap.unit() * snap.unit() * 16.0;
    for piece in leftover.0 {
        if geo::Area::unsigned_area(&piece) <= min_piece {
            continue;
        }
        if !attach(snap, geoms, &piece, None) {
            // Nothing it shares an edge with: the nearest grid still takes it,
            // so the zone stays tiled.
            if let Some(ip) = piece.interior_point() {
                let best = geoms
                    .iter()
                    .enumerate()
                    .map(|(r, gm)| (Euclidean.distance(gm, &ip), r))
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if let Some((_, r)) = best {
                    geoms[r] = snap_union(snap, &geoms[r], &MultiPolygon(vec![piece]));
                }
            }
        }
    }
}

/// The zone's new outlines, and the grids outside the zone that took a
/// crumb (local index, widened outline).
pub(in crate::partition::update) struct Outlined {
    pub geoms: Vec<MultiPolygon<f64>>,
    pub widened: Vec<(usize, MultiPolygon<f64>)>,
}

/// Crumbs: a part smaller than a cell (`cell_deg2`) that the clip to the
/// zone cut off a grid (a cell corner beyond a neighbour's corner, where the
/// previous grids' outline cut the corner another way) joins the grid it
/// shares an edge with, so every grid stays one polygon: a grid of the zone
/// if one takes it, else a grid outside the zone (which is then adjusted by
/// that corner), provided no household stands in it.
struct Crumbs<'a> {
    tess: &'a Tessellation,
    cell_deg2: f64,
    households: &'a [Coord<f64>],
}

impl Crumbs<'_> {
    /// Returns the local indices of the outside grids that took a crumb.
    fn rejoin(
        &self,
        geoms: &mut [MultiPolygon<f64>],
        kept: &mut [(usize, MultiPolygon<f64>)],
    ) -> Vec<usize> {
        let snap = &self.tess.snap;
        let mut given = Vec::new();
        for r in 0..geoms.len() {
            if geoms[r].0.len() < 2 {
                continue;
            }
            let mut parts = std::mem::take(&mut geoms[r].0);
            parts.sort_by(|a, b| {
                geo::Area::unsigned_area(b).total_cmp(&geo::Area::unsigned_area(a))
            });
            let mut keep = vec![parts.remove(0)];
            for p in parts {
                if geo::Area::unsigned_area(&p) >= self.cell_deg2 {
                    keep.push(p);
                    continue;
                }
                if attach(snap, geoms, &p, Some(r)) {
                    continue;
                }
                match self.outside_taker(kept, &p) {
                    Some((i, merged)) => {
                        kept[i].1 = merged;
                        given.push(kept[i].0);
                    }
                    None => keep.push(p),
                }
            }
            geoms[r] = MultiPolygon(keep);
        }
        given.sort_unstable();
        given.dedup();
        given
    }

    /// The grid outside the zone that takes crumb `p` as one polygon with it.
    fn outside_taker(
        &self,
        kept: &[(usize, MultiPolygon<f64>)],
        p: &Polygon<f64>,
    ) -> Option<(usize, MultiPolygon<f64>)> {
        use geo::Intersects;
        if self.households.iter().any(|&h| p.intersects(&h)) {
            return None;
        }
        let outlines: Vec<MultiPolygon<f64>> = kept.iter().map(|k| k.1.clone()).collect();
        let boxes: Vec<_> = outlines.iter().map(|g| g.bounding_rect()).collect();
        outline::best_taker(&outlines, &boxes, usize::MAX, p, self.tess, &|_| true)
    }
}

/// Gives `piece` to the grid (other than `not`) it shares an edge with: the
/// nearest grids are tried in order and the first whose union with the piece
/// is no more parts than before takes it. False when none does.
fn attach(
    snap: &Snap,
    geoms: &mut [MultiPolygon<f64>],
    piece: &Polygon<f64>,
    not: Option<usize>,
) -> bool {
    let Some(ip) = piece.interior_point() else {
        return false;
    };
    let mut cands: Vec<(f64, usize)> = geoms
        .iter()
        .enumerate()
        .filter(|(r, gm)| Some(*r) != not && !gm.0.is_empty())
        .map(|(r, gm)| (Euclidean.distance(gm, &ip), r))
        .collect();
    cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let pm = MultiPolygon(vec![piece.clone()]);
    for &(_, r) in cands.iter().take(16) {
        let u = snap_union(snap, &geoms[r], &pm);
        if u.0.len() <= geoms[r].0.len() {
            geoms[r] = u;
            return true;
        }
    }
    false
}
