//! Moving one partition cell between neighbouring grids, for a planner's
//! adjustments after a partition: the H3 cell (at the partition's
//! resolution, as much of it as lies in the giving grid) holding a point goes
//! to a neighbouring grid; both grids are recounted by point-in-polygon and
//! the giving grid is checked for contiguity.
//!
//! Stored grids do not say their resolution, but their outlines are made of
//! the H3 cells' canonical vertices, so it is read back from them: the
//! resolution whose cell vertices the giving grid's outline passes through.

use geo::{Area as _, BooleanOps, BoundingRect, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use h3o::{LatLng, Resolution};

use crate::model::{Grid, Household};

/// Why a cell cannot be moved.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("the point {0},{1} is in no grid")]
    NoGrid(f64, f64),
    #[error("no grid {0:?}")]
    UnknownGrid(String),
    #[error("the point is already in grid {0}")]
    SameGrid(String),
    #[error("grid {to} is not a neighbour of grid {from} at the cell holding the point")]
    NotNeighbour { from: String, to: String },
    #[error("the outline of grid {0} does not follow H3 cells: it was not drawn by a partition")]
    NoResolution(String),
    #[error("the point {0},{1} is not a valid longitude/latitude")]
    BadPoint(f64, f64),
}

/// The two grids after a move (not yet measured beyond households and
/// persons: the caller recomputes what it shows).
#[derive(Debug, Clone)]
pub struct CellMove {
    pub from: usize,
    pub to: usize,
    /// The giving grid's new geometry and recount.
    pub from_geometry: MultiPolygon<f64>,
    pub from_households: u64,
    pub from_persons: u64,
    /// The receiving grid's new geometry and recount.
    pub to_geometry: MultiPolygon<f64>,
    pub to_households: u64,
    pub to_persons: u64,
    /// Whether the giving grid is still in as many pieces as before (and not
    /// empty).
    pub contiguous: bool,
    /// The H3 resolution the cell was taken at.
    pub resolution: u8,
}

/// Degrees within which an outline vertex is taken for a cell vertex.
const VERTEX_TOLERANCE: f64 = 1e-7;

/// Parts of a polygon overlay result that are real (not rounding slivers).
fn parts(mp: &MultiPolygon<f64>, scale: f64) -> usize {
    mp.0.iter()
        .filter(|p| p.unsigned_area() > scale * 1e-9)
        .count()
}

fn outline_vertices(mp: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter().copied())
        .collect()
}

/// The cell's polygon at `res` from its canonical vertices, each replaced
/// by an outline vertex within [`VERTEX_TOLERANCE`] (so the overlay sees the
/// grid's own coordinates), and how many vertices matched.
fn cell_polygon(at: LatLng, res: Resolution, outline: &[Coord<f64>]) -> (Polygon<f64>, usize) {
    let cell = at.to_cell(res);
    let mut matched = 0;
    let mut ring: Vec<Coord<f64>> = cell
        .vertexes()
        .map(|v| {
            let ll = LatLng::from(v);
            let c = Coord {
                x: ll.lng(),
                y: ll.lat(),
            };
            match outline.iter().find(|o| {
                (o.x - c.x).abs() < VERTEX_TOLERANCE && (o.y - c.y).abs() < VERTEX_TOLERANCE
            }) {
                Some(o) => {
                    matched += 1;
                    *o
                }
                None => c,
            }
        })
        .collect();
    ring.push(ring[0]);
    (Polygon::new(LineString(ring), vec![]), matched)
}

/// The resolution whose cell vertices the outline passes through most.
fn resolution_of(outline: &[Coord<f64>]) -> Option<Resolution> {
    let step = (outline.len() / 64).max(1);
    let sample: Vec<Coord<f64>> = outline.iter().step_by(step).copied().collect();
    (6u8..=14)
        .filter_map(|r| {
            let res = Resolution::try_from(r).ok()?;
            let hits = sample
                .iter()
                .filter(|c| {
                    LatLng::new(c.y, c.x).ok().is_some_and(|ll| {
                        ll.to_cell(res).vertexes().any(|v| {
                            let p = LatLng::from(v);
                            (p.lng() - c.x).abs() < VERTEX_TOLERANCE
                                && (p.lat() - c.y).abs() < VERTEX_TOLERANCE
                        })
                    })
                })
                .count();
            (hits > 0).then_some((hits, res))
        })
        .max_by_key(|(hits, res)| (*hits, u8::from(*res)))
        .map(|(_, res)| res)
}

/// Moves the cell holding `point` from its grid to the grid coded `to`.
pub fn move_cell(
    grids: &[Grid],
    households: &[Household],
    point: Coord<f64>,
    to: &str,
) -> Result<CellMove, MoveError> {
    let at = LatLng::new(point.y, point.x).map_err(|_| MoveError::BadPoint(point.x, point.y))?;
    let from = grids
        .iter()
        .position(|g| g.geometry.intersects(&point))
        .ok_or(MoveError::NoGrid(point.x, point.y))?;
    let to_i = grids
        .iter()
        .position(|g| g.code == to)
        .ok_or_else(|| MoveError::UnknownGrid(to.into()))?;
    if from == to_i {
        return Err(MoveError::SameGrid(to.into()));
    }
    let (gf, gt) = (&grids[from], &grids[to_i]);
    let mut outline = outline_vertices(&gf.geometry);
    let res = resolution_of(&outline).ok_or_else(|| MoveError::NoResolution(gf.code.clone()))?;
    outline.extend(outline_vertices(&gt.geometry));
    let (cell, _) = cell_polygon(at, res, &outline);
    let scale = gf.geometry.unsigned_area().max(gt.geometry.unsigned_area());
    let piece = MultiPolygon(vec![cell]).intersection(&gf.geometry);
    let to_geometry = gt.geometry.union(&piece);
    // A neighbour takes the piece in without a new part.
    if parts(&piece, scale) == 0 || parts(&to_geometry, scale) > parts(&gt.geometry, scale) {
        return Err(MoveError::NotNeighbour {
            from: gf.code.clone(),
            to: gt.code.clone(),
        });
    }
    let from_geometry = gf.geometry.difference(&piece);
    let contiguous = parts(&from_geometry, scale) >= 1
        && parts(&from_geometry, scale) <= parts(&gf.geometry, scale);
    let clean = |mp: MultiPolygon<f64>| {
        MultiPolygon(
            mp.0.into_iter()
                .filter(|p| p.unsigned_area() > scale * 1e-9)
                .collect(),
        )
    };
    let (from_geometry, to_geometry) = (clean(from_geometry), clean(to_geometry));
    // Recount the households the two grids held: each goes to the new giving
    // grid when its outline holds it, else to the receiving grid.
    let boxes = [gf.geometry.bounding_rect(), gt.geometry.bounding_rect()];
    let (mut fh, mut fp, mut th, mut tp) = (0u64, 0u64, 0u64, 0u64);
    for h in households {
        let p = h.location;
        if !boxes.iter().flatten().any(|b| b.intersects(&p)) {
            continue;
        }
        if !(gf.geometry.intersects(&p) || gt.geometry.intersects(&p)) {
            continue;
        }
        let (n, m) = (u64::from(h.households), u64::from(h.persons.unwrap_or(0)));
        if from_geometry.intersects(&p) {
            fh += n;
            fp += m;
        } else {
            th += n;
            tp += m;
        }
    }
    Ok(CellMove {
        from,
        to: to_i,
        from_geometry,
        from_households: fh,
        from_persons: fp,
        to_geometry,
        to_households: th,
        to_persons: tp,
        contiguous,
        resolution: u8::from(res),
    })
}
