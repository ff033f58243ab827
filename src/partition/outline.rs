//! Grid outlines of one area: each region's cells dissolved, cells cut along
//! barriers where two grids meet across them, and parts that the area's own
//! boundary cuts off handed to the grid they touch, so that every grid is one
//! polygon unless the area itself is in pieces.

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Intersects, Validation};
use geo_types::{LineString, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;

use super::area::Loads;
use super::graph::{BarrierIndex, Graph};
use super::regions::RegionResult;
use super::tessellate::Tessellation;
use super::{dissolve, metrics, polsby_popper, split};
use crate::model::{Household, Rules};

/// The outline of every region, and the barrier cuts they were built with.
pub(crate) struct Outlines {
    pub(crate) geoms: Vec<MultiPolygon<f64>>,
    pub(crate) splits: split::Splits,
    /// Regions that gave away or took in a cut-off part: their households
    /// are re-decided against the output polygons.
    moved: Vec<bool>,
}

impl Outlines {
    pub(crate) fn build(
        tess: &Tessellation,
        g: &Graph,
        part: &RegionResult,
        barriers: &BarrierIndex,
        households: &[Household],
        loads: &Loads,
        rules: &Rules,
    ) -> Outlines {
        let pts = dissolve::NodePoints::new(
            tess.nodes.len(),
            &loads
                .hh_node
                .iter()
                .map(|&(i, n)| (households[i as usize].location.0, n))
                .collect::<Vec<_>>(),
        );
        let mut splits = split::Splits::plan(
            tess,
            g,
            part,
            barriers,
            households,
            &loads.hh_node,
            rules,
            loads.has_persons,
        );
        let outline = |r: u32, splits: &split::Splits| {
            dissolve::region_geometry(tess, &part.assignment, r, &pts, splits)
        };
        let mut geoms: Vec<MultiPolygon<f64>> = (0..part.k)
            .into_par_iter()
            .map(|r| outline(r as u32, &splits))
            .collect();
        // A region that cut cells leave in parts, invalid, or less compact
        // (below `split::KEEP_PP`) gets its cells back whole, and so do the
        // regions that shared those cells.
        let pp = |gm: &MultiPolygon<f64>| {
            let (a, p) = metrics::area_perimeter_m(gm, &tess.frame);
            polsby_popper(a, p)
        };
        let mut check = splits.regions();
        loop {
            let bad: Vec<u32> = check
                .par_iter()
                .copied()
                .filter(|&r| {
                    let gm = &geoms[r as usize];
                    if gm.0.len() > 1 && !part.has_satellite[r as usize] {
                        return true;
                    }
                    let now = pp(gm);
                    (now < split::KEEP_PP && now < pp(&outline(r, &split::Splits::default())))
                        || !gm.is_valid()
                })
                .collect();
            if bad.is_empty() {
                break;
            }
            let redo = splits.revert(tess, &part.assignment, &bad);
            for &r in &redo {
                geoms[r as usize] = outline(r, &splits);
            }
            let touched = splits.regions();
            check = redo
                .into_iter()
                .filter(|r| touched.binary_search(r).is_ok())
                .collect();
        }
        let mut out = Outlines {
            moved: vec![false; geoms.len()],
            geoms,
            splits,
        };
        out.join_cut_off_parts(tess, part, households, loads, rules);
        out
    }

    /// A part of a grid that the area's boundary pinches off (it meets the
    /// rest of its grid only along a slit or at a point) goes to the
    /// neighbouring grid it shares the longest edge with, so both stay one
    /// polygon. Parts that touch no other grid along an edge stay: there the
    /// area itself is in pieces.
    ///
    /// The grid keeps the part holding most of its households (a tower cut
    /// off in a sliver of a cell stays where the rule repair put it), and a
    /// part that holds households goes, where it can, to a neighbour that
    /// stays within the maximum with it.
    fn join_cut_off_parts(
        &mut self,
        tess: &Tessellation,
        part: &RegionResult,
        households: &[Household],
        loads: &Loads,
        rules: &Rules,
    ) {
        let k = self.geoms.len();
        let mut boxes: Vec<Option<Rect<f64>>> =
            self.geoms.iter().map(|g| g.bounding_rect()).collect();
        let pinched: Vec<bool> = (0..k)
            .map(|r| self.geoms[r].0.len() > 1 && !part.has_satellite[r])
            .collect();
        if !pinched.contains(&true) {
            return;
        }
        // The household locations of every pinched grid.
        let mut located: Vec<Vec<(geo_types::Coord<f64>, u64)>> = vec![Vec::new(); k];
        for &(i, n) in &loads.hh_node {
            let r = part.assignment[n as usize] as usize;
            if pinched[r] {
                let h = &households[i as usize];
                located[r].push((h.location.0, u64::from(h.households)));
            }
        }
        let mut totals = part.households.clone();
        for r in (0..k).filter(|&r| pinched[r]) {
            let weights: Vec<u64> = self.geoms[r]
                .0
                .iter()
                .map(|p| {
                    located[r]
                        .iter()
                        .filter(|(c, _)| p.intersects(c))
                        .map(|&(_, w)| w)
                        .sum()
                })
                .collect();
            let main = main_polygon(&self.geoms[r], &weights, tess);
            let mut parts: Vec<Option<Polygon<f64>>> = std::mem::take(&mut self.geoms[r].0)
                .into_iter()
                .map(Some)
                .collect();
            let mut main_part = parts[main].take().expect("main part");
            let mut keep = Vec::new();
            for (i, p) in parts.into_iter().enumerate() {
                let Some(p) = p else { continue };
                if let Some(joined) = close_hairline(&main_part, &p, tess) {
                    main_part = joined;
                    continue;
                }
                let w = weights[i];
                let fits = |q: usize| w == 0 || totals[q] + w <= rules.max_households;
                match best_taker(&self.geoms, &boxes, r, &p, tess, &fits) {
                    Some((q, merged)) => {
                        self.geoms[q] = merged;
                        boxes[q] = self.geoms[q].bounding_rect();
                        totals[q] += w;
                        totals[r] = totals[r].saturating_sub(w);
                        self.moved[q] = true;
                        self.moved[r] = true;
                    }
                    None => keep.push(p),
                }
            }
            keep.insert(0, main_part);
            self.geoms[r] = MultiPolygon(keep);
        }
    }

    /// Re-decides households against the output polygons where a rounding
    /// error or a moved part could put them on the other side of a grid edge
    /// (households in nodes on a region boundary, or in regions whose outline
    /// gave or took a part), so a recount by point-in-polygon always agrees.
    /// Returns the region of every (household, node) pair of `loads`.
    pub(crate) fn settle_households(
        &self,
        tess: &Tessellation,
        g: &Graph,
        part: &mut RegionResult,
        households: &[Household],
        loads: &Loads,
    ) -> Vec<u32> {
        let k = part.k as u32;
        let mut hh_region: Vec<u32> = loads
            .hh_node
            .iter()
            .map(|&(_, n)| part.assignment[n as usize])
            .collect();
        for (j, &(i, n)) in loads.hh_node.iter().enumerate() {
            let r = hh_region[j];
            let border = self.moved[r as usize]
                || tess.pieces[n as usize].is_some()
                || g.neighbours(n)
                    .iter()
                    .any(|&u| part.assignment[u as usize] != r);
            if !border {
                continue;
            }
            let pt = households[i as usize].location.0;
            if self.geoms[r as usize].intersects(&pt) {
                continue;
            }
            let mut others: Vec<u32> = g
                .neighbours(n)
                .iter()
                .map(|&u| part.assignment[u as usize])
                .filter(|&q| q != r)
                .collect();
            others.sort_unstable();
            others.dedup();
            let found = others
                .iter()
                .copied()
                .find(|&q| self.geoms[q as usize].intersects(&pt))
                .or_else(|| (0..k).find(|&q| q != r && self.geoms[q as usize].intersects(&pt)));
            if let Some(q) = found {
                let h = &households[i as usize];
                part.households[r as usize] -= u64::from(h.households);
                part.households[q as usize] += u64::from(h.households);
                part.persons[r as usize] -= u64::from(h.persons.unwrap_or(0));
                part.persons[q as usize] += u64::from(h.persons.unwrap_or(0));
                hh_region[j] = q;
            }
        }
        hh_region
    }
}

/// `main ∪ part` as one polygon when they are apart only by a hairline
/// narrower than two steps of the area's precision grid: a sliver of a
/// clipped cell whose edge runs along the rest of its grid, a rounding error
/// away, so the overlay sees them touch at a point. Each polygon's vertices
/// that lie on the other's edges (within the tolerance) are inserted there,
/// which gives the overlay the common edge.
fn close_hairline(
    main: &Polygon<f64>,
    part: &Polygon<f64>,
    tess: &Tessellation,
) -> Option<Polygon<f64>> {
    let tol = 2.0 * tess.snap.unit();
    let (mb, pb) = (main.bounding_rect()?, part.bounding_rect()?);
    if mb.min().x > pb.max().x + tol
        || mb.max().x < pb.min().x - tol
        || mb.min().y > pb.max().y + tol
        || mb.max().y < pb.min().y - tol
    {
        return None;
    }
    let a = insert_near_vertices(main, part, tol);
    let b = insert_near_vertices(part, main, tol);
    let merged = tess.snap.merge(&MultiPolygon(vec![a, b]));
    (merged.0.len() == 1 && merged.is_valid()).then(|| {
        merged
            .orient(Direction::Default)
            .0
            .into_iter()
            .next()
            .expect("one polygon")
    })
}

/// `poly` with every vertex of `other` that lies within `tol` of the inside
/// of one of its exterior edges inserted into that edge.
fn insert_near_vertices(poly: &Polygon<f64>, other: &Polygon<f64>, tol: f64) -> Polygon<f64> {
    use geo_types::Coord;
    let near = |c: Coord<f64>, a: Coord<f64>, b: Coord<f64>| -> Option<f64> {
        let d = b - a;
        let len2 = d.x * d.x + d.y * d.y;
        if len2 == 0.0 {
            return None;
        }
        let t = ((c - a).x * d.x + (c - a).y * d.y) / len2;
        if t <= 0.0 || t >= 1.0 {
            return None;
        }
        let foot = a + d * t;
        let off = c - foot;
        (off.x * off.x + off.y * off.y <= tol * tol).then_some(t)
    };
    let ring = &poly.exterior().0;
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.len());
    for w in ring.windows(2) {
        out.push(w[0]);
        let mut inserts: Vec<(f64, Coord<f64>)> = other
            .exterior()
            .0
            .iter()
            .filter(|&&c| c != w[0] && c != w[1])
            .filter_map(|&c| near(c, w[0], w[1]).map(|t| (t, c)))
            .collect();
        inserts.sort_by(|x, y| x.0.total_cmp(&y.0));
        inserts.dedup_by(|x, y| x.1 == y.1);
        out.extend(inserts.into_iter().map(|(_, c)| c));
    }
    if let Some(&last) = ring.last() {
        out.push(last);
    }
    Polygon::new(LineString(out), poly.interiors().to_vec())
}

/// The part a pinched grid keeps: the one with most households, then the
/// largest.
fn main_polygon(mp: &MultiPolygon<f64>, weights: &[u64], tess: &Tessellation) -> usize {
    let areas: Vec<f64> =
        mp.0.iter()
            .map(|p| metrics::area_perimeter_m(&MultiPolygon(vec![p.clone()]), &tess.frame).0)
            .collect();
    (0..areas.len())
        .max_by(|&a, &b| {
            weights[a]
                .cmp(&weights[b])
                .then(areas[a].total_cmp(&areas[b]))
                .then(b.cmp(&a))
        })
        .unwrap_or(0)
}

/// The grid (other than `from`) that takes part `p` as one polygon with it,
/// sharing the longest edge (by exact perimeters), with the merged outline.
/// Grids for which `prefer` holds come first, whatever their shared edge.
pub(crate) fn best_taker(
    geoms: &[MultiPolygon<f64>],
    boxes: &[Option<Rect<f64>>],
    from: usize,
    p: &Polygon<f64>,
    tess: &Tessellation,
    prefer: &dyn Fn(usize) -> bool,
) -> Option<(usize, MultiPolygon<f64>)> {
    let pb = p.bounding_rect()?;
    let pad = 4.0 * tess.snap.unit();
    let meets = |b: &Option<Rect<f64>>| {
        b.is_some_and(|b| {
            b.min().x <= pb.max().x + pad
                && b.max().x >= pb.min().x - pad
                && b.min().y <= pb.max().y + pad
                && b.max().y >= pb.min().y - pad
        })
    };
    let (_, p_perim) = metrics::area_perimeter_m(&MultiPolygon(vec![p.clone()]), &tess.frame);
    let mut best: Option<((bool, f64), usize, MultiPolygon<f64>)> = None;
    for q in 0..geoms.len() {
        if q == from || !meets(&boxes[q]) || geoms[q].0.is_empty() {
            continue;
        }
        let mut both = geoms[q].clone();
        both.0.push(p.clone());
        let merged = tess.snap.merge(&both);
        if merged.0.len() > geoms[q].0.len() || !merged.is_valid() {
            continue;
        }
        let (_, q_perim) = metrics::area_perimeter_m(&geoms[q], &tess.frame);
        let (_, m_perim) = metrics::area_perimeter_m(&merged, &tess.frame);
        let shared = (q_perim + p_perim - m_perim) / 2.0;
        let rank = (prefer(q), shared);
        if shared > 0.01 && best.as_ref().map_or(true, |b| rank > b.0) {
            best = Some((rank, q, merged));
        }
    }
    best.map(|(_, q, m)| (q, m.orient(Direction::Default)))
}
