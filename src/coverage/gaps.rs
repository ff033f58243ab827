//! Blind spots: the ground of an area that no online camera sees, as polygons,
//! each with the uncovered households it holds.
//!
//! At cell grain: an H3 cell (area-coverage resolution) is seen when its centre
//! is, and a gap is a connected piece of the area minus its seen cells, so gaps
//! follow the area's own edge and never spill over it. Cells whose centre lies
//! just outside the area count too: the part of such a cell inside the area is
//! blind ground exactly when the cell is blind.
//!
//! Why subtract the seen cells instead of dissolving the blind ones: blind
//! ground is usually most of an area, so tracing it cell by cell (and then
//! clipping the cells that cross the edge) costs far more than tracing the
//! seen cells; an area no camera sees needs no H3 geometry at all.
//!
//! A gap's `cells` counts the blind cells whose centre is inside the area and
//! inside the gap (a gap that is only slivers of outside cells has none), and
//! its `households_uncovered` counts the uncovered households located inside
//! it. An uncovered household standing in a seen cell belongs to no gap.
//!
//! The seen cells' outline is traced on the lattice (`outline`), with vertices
//! within a centimetre of h3o's, and by h3o's `Solvent` where the lattice
//! trace does not apply: so a household within a centimetre of a seen cell's
//! edge may be counted on either side of it.
//!
//! Output is normalised (rings start at their smallest vertex, holes sorted), so
//! results do not depend on hash order inside the dissolver.

use super::areas::{AreaCells, PreparedArea};
use super::outline;
use crate::geodesy::LocalFrame;
use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use h3o::geom::SolventBuilder;

/// One blind spot.
#[derive(Debug, Clone)]
pub struct Gap {
    /// Index of the area (in the input) the gap lies in.
    pub area: usize,
    /// The gap's ground, longitude/latitude.
    pub geometry: Polygon<f64>,
    /// Ground area in square metres.
    pub area_m2: f64,
    /// Blind H3 cells (at the area-coverage resolution) whose centre is inside
    /// the area and inside this gap.
    pub cells: u32,
    /// Households (the `households` counts) not seen by any camera inside it.
    pub households_uncovered: u64,
}

fn normalise_ring(ls: &LineString<f64>) -> LineString<f64> {
    let mut cs: Vec<Coord<f64>> = ls.0.clone();
    if cs.len() > 1 && cs.first() == cs.last() {
        cs.pop();
    }
    if cs.is_empty() {
        return LineString(cs);
    }
    let start = cs
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.x.total_cmp(&b.1.x).then(a.1.y.total_cmp(&b.1.y)))
        .map(|(i, _)| i)
        .unwrap_or(0);
    cs.rotate_left(start);
    cs.push(cs[0]);
    LineString(cs)
}

fn first_coord(ls: &LineString<f64>) -> (f64, f64) {
    ls.0.first().map_or((0.0, 0.0), |c| (c.x, c.y))
}

fn normalise(p: &Polygon<f64>) -> Polygon<f64> {
    let ext = normalise_ring(p.exterior());
    let mut holes: Vec<LineString<f64>> = p.interiors().iter().map(normalise_ring).collect();
    holes.sort_by(|a, b| {
        let (ax, ay) = first_coord(a);
        let (bx, by) = first_coord(b);
        ax.total_cmp(&bx).then(ay.total_cmp(&by))
    });
    Polygon::new(ext, holes)
}

/// Planar area of a ring in a local metric frame (signed, shoelace).
fn ring_area(frame: &LocalFrame, ls: &LineString<f64>) -> f64 {
    let pts: Vec<Coord<f64>> = ls.0.iter().map(|c| frame.to_local(*c)).collect();
    let mut s = 0.0;
    for w in pts.windows(2) {
        s += w[0].x * w[1].y - w[1].x * w[0].y;
    }
    0.5 * s
}

/// Ground area of a gap polygon in m²: small polygons, so a tangent frame at the
/// polygon is accurate to well under 0.1 %.
fn polygon_area_m2(p: &Polygon<f64>) -> f64 {
    let Some(o) = p.exterior().0.first() else {
        return 0.0;
    };
    let frame = LocalFrame::new(Point::from(*o));
    let mut a = ring_area(&frame, p.exterior()).abs();
    for h in p.interiors() {
        a -= ring_area(&frame, h).abs();
    }
    a.max(0.0)
}

/// The gaps of area `area` (index `area`, outline `geometry`): the area minus
/// its seen cells, split into polygons, with the blind cells and the uncovered
/// households (location, count) inside each.
pub(crate) fn gaps_of_area(
    area: usize,
    geometry: &MultiPolygon<f64>,
    cells: AreaCells,
    uncovered: &[(Coord<f64>, u64)],
) -> Result<Vec<Gap>, String> {
    let mp: MultiPolygon<f64> = if cells.seen.is_empty() {
        geometry.clone()
    } else {
        let mut seen = cells.seen;
        seen.sort_unstable_by_key(|&(cell, _)| cell);
        seen.dedup_by_key(|&mut (cell, _)| cell);
        let seen_mp = match outline::outline(&seen) {
            Some(mp) => mp,
            None => SolventBuilder::new()
                .build()
                .dissolve(seen.into_iter().map(|(cell, _)| cell))
                .map_err(|e| e.to_string())?,
        };
        geometry.difference(&seen_mp)
    };
    let polys: Vec<Polygon<f64>> =
        mp.0.iter()
            .filter(|p| p.exterior().0.len() >= 4)
            .map(normalise)
            .collect();
    if polys.is_empty() {
        return Ok(Vec::new());
    }
    let prepared: Vec<PreparedArea> = polys
        .iter()
        .map(|p| PreparedArea::new(&MultiPolygon(vec![p.clone()])))
        .collect();
    // Which gap holds a point. Blind block centres are centres of blind cells,
    // well inside ground that no seen cell covers.
    let gap_of = |p: Coord<f64>| -> Option<usize> {
        if prepared.len() == 1 {
            return prepared[0].contains(p).then_some(0);
        }
        prepared.iter().position(|g| g.contains(p))
    };
    let mut n_cells = vec![0u64; polys.len()];
    if polys.len() == 1 {
        n_cells[0] = cells.blind_cells.iter().sum();
    } else {
        for (p, n) in cells.blind_centres.iter().zip(&cells.blind_cells) {
            if let Some(g) = gap_of(*p) {
                n_cells[g] += n;
            }
        }
    }
    let mut households = vec![0u64; polys.len()];
    for &(p, n) in uncovered {
        if let Some(g) = gap_of(p) {
            households[g] += n;
        }
    }
    Ok(polys
        .into_iter()
        .enumerate()
        .map(|(i, geometry)| Gap {
            area,
            area_m2: polygon_area_m2(&geometry),
            geometry,
            cells: n_cells[i].min(u32::MAX as u64) as u32,
            households_uncovered: households[i],
        })
        .collect())
}

/// Largest first; ties by area index, then by position, so the order is
/// total (and gaps computed area by area, in any grouping, sort the same).
pub fn sort_gaps(gaps: &mut [Gap]) {
    gaps.sort_by(|a, b| {
        b.area_m2
            .total_cmp(&a.area_m2)
            .then(a.area.cmp(&b.area))
            .then_with(|| {
                let (ax, ay) = first_coord(a.geometry.exterior());
                let (bx, by) = first_coord(b.geometry.exterior());
                ax.total_cmp(&bx).then(ay.total_cmp(&by))
            })
    });
}
