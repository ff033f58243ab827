//! "Which online cameras see this point": sectors + disc index + occluders, and
//! the parallel evaluation of many points into a compact seen-by table.

use super::index::BoxGrid;
use super::occlusion::Occluders;
use super::sector::Sector;
use super::{CoverageError, SeenBy};
use crate::model::{Building, Camera};
use crate::progress::Progress;
use geo_types::Coord;
use rayon::prelude::*;

/// Points per parallel work unit: large enough to amortise scheduling, small
/// enough to balance two cores and to check cancellation often.
const CHUNK: usize = 4096;

/// The cameras that count (online ones, or a hypothetical set) ready to answer
/// visibility queries.
pub(crate) struct Seer<'a> {
    pub(crate) sectors: Vec<Sector>,
    /// Camera index reported for each sector (index into the caller's list).
    pub(crate) ids: Vec<u32>,
    grid: BoxGrid,
    occ: Option<&'a Occluders<'a>>,
}

impl<'a> Seer<'a> {
    /// Indexes the online cameras; offline cameras see nothing.
    pub(crate) fn from_cameras(cameras: &[Camera], occ: Option<&'a Occluders<'a>>) -> Self {
        let mut sectors = Vec::new();
        let mut ids = Vec::new();
        for (i, c) in cameras.iter().enumerate() {
            if c.online {
                sectors.push(Sector::of_camera(c));
                ids.push(i as u32);
            }
        }
        Self::new(sectors, ids, occ)
    }

    pub(crate) fn new(sectors: Vec<Sector>, ids: Vec<u32>, occ: Option<&'a Occluders<'a>>) -> Self {
        // Cell side: the median range. A disc then covers about 3×3 cells and a
        // point's cell lists only the discs around it.
        let mut ranges: Vec<f64> = sectors.iter().map(|s| s.range_m()).collect();
        let cell_m = if ranges.is_empty() {
            100.0
        } else {
            let mid = ranges.len() / 2;
            let (_, m, _) = ranges.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
            *m
        };
        let lat = if sectors.is_empty() {
            0.0
        } else {
            sectors.iter().map(|s| s.origin().y).sum::<f64>() / sectors.len() as f64
        };
        let (kx, ky) = super::sector::metres_per_degree(lat.clamp(-89.0, 89.0));
        let boxes: Vec<[f64; 4]> = sectors.iter().map(|s| s.bbox).collect();
        let grid = BoxGrid::build(
            &boxes,
            cell_m / kx.max(1.0),
            cell_m / ky,
            (sectors.len() * 16).max(1 << 16),
        );
        Seer {
            sectors,
            ids,
            grid,
            occ,
        }
    }

    /// Appends to `out` the ids of every camera that sees `p`, ascending.
    #[inline]
    pub(crate) fn seen_by(&self, p: Coord<f64>, out: &mut Vec<u32>) {
        for &s in self.grid.at(p.x, p.y) {
            let sec = &self.sectors[s as usize];
            if sec.contains(p) && !self.occ.is_some_and(|o| o.blocked(sec.origin(), p)) {
                out.push(self.ids[s as usize]);
            }
        }
    }

    /// True when at least one camera sees `p`.
    #[inline]
    pub(crate) fn sees(&self, p: Coord<f64>) -> bool {
        self.grid.at(p.x, p.y).iter().any(|&s| {
            let sec = &self.sectors[s as usize];
            sec.contains(p) && !self.occ.is_some_and(|o| o.blocked(sec.origin(), p))
        })
    }

    /// Whether some camera sees every point within `tol` metres of `p`
    /// (`Some(true)`), none sees any (`Some(false)`), or it depends on where in
    /// that disc the point is (`None`).
    #[inline]
    pub(crate) fn sees_near(&self, p: Coord<f64>, tol: f64) -> Option<bool> {
        let mut unsure = false;
        for &s in self.grid.at(p.x, p.y) {
            let sec = &self.sectors[s as usize];
            match sec.contains_near(p, tol) {
                Some(false) => {}
                Some(true) => {
                    match self.occ.map_or(Some(false), |o| {
                        o.blocked_near(sec.origin(), p, tol, sec.metric.scale())
                    }) {
                        Some(false) => return Some(true),
                        Some(true) => {}
                        None => unsure = true,
                    }
                }
                None => unsure = true,
            }
        }
        (!unsure).then_some(false)
    }

    /// False only when no camera can see any point of the disc of radius `rho`
    /// metres around `c` (range and field of view only; occlusion can only hide
    /// more).
    pub(crate) fn may_see_disc(&self, c: Coord<f64>, rho: f64) -> bool {
        let (kx, ky) = super::sector::metres_per_degree(c.y);
        let (rx, ry) = (rho / kx * 1.01, rho / ky * 1.01);
        self.grid
            .any_in_box([c.x - rx, c.y - ry, c.x + rx, c.y + ry], |s| {
                self.sectors[s as usize].may_meet_disc(c, rho)
            })
    }

    /// The seen-by table of many points, in parallel, in input order.
    pub(crate) fn seen_by_all(
        &self,
        points: &[Coord<f64>],
        progress: &dyn Progress,
    ) -> Result<SeenBy, CoverageError> {
        let parts: Vec<Option<(Vec<u32>, Vec<u32>)>> = points
            .par_chunks(CHUNK)
            .map(|chunk| {
                if progress.cancelled() {
                    return None;
                }
                let mut lens = Vec::with_capacity(chunk.len());
                let mut cams = Vec::new();
                for p in chunk {
                    let before = cams.len();
                    self.seen_by(*p, &mut cams);
                    lens.push((cams.len() - before) as u32);
                }
                Some((lens, cams))
            })
            .collect();
        let mut offsets = Vec::with_capacity(points.len() + 1);
        offsets.push(0usize);
        let total: usize = parts.iter().flatten().map(|(_, c)| c.len()).sum();
        let mut cameras = Vec::with_capacity(total);
        for part in parts {
            let (lens, cams) = part.ok_or(CoverageError::Cancelled)?;
            let mut o = *offsets.last().unwrap_or(&0);
            for l in lens {
                o += l as usize;
                offsets.push(o);
            }
            cameras.extend_from_slice(&cams);
        }
        Ok(SeenBy { offsets, cameras })
    }

    /// Covered flags of many points (any camera), in parallel, in input order.
    pub(crate) fn sees_all(&self, points: &[Coord<f64>]) -> Vec<bool> {
        points
            .par_iter()
            .with_min_len(CHUNK)
            .map(|p| self.sees(*p))
            .collect()
    }
}

/// Builds the occluder index when there are buildings.
pub(crate) fn occluders(buildings: &[Building]) -> Option<Occluders<'_>> {
    if buildings.is_empty() {
        None
    } else {
        Some(Occluders::new(buildings))
    }
}
