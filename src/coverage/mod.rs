//! Camera coverage: what the cameras really see, the blind spots, and the best
//! new camera sites.
//!
//! Two entry points, both taking model types and returning plain results (no
//! GeoJSON, HTTP or storage here, so the CLI, the service and the benches call
//! the same code):
//!
//! - [`coverage`]: per household and per key site, the online cameras that see
//!   it; per area, household and ground (H3) coverage, cameras, online rate and
//!   sites; the blind spots as polygons; and totals.
//! - [`propose`]: new camera sites chosen from candidates by lazy greedy maximum
//!   coverage (CELF), by count or until a coverage target is reached;
//!   [`propose_oriented`] also chooses which way a narrow camera faces.
//!
//! Modules, one idea each: `sector` (the exact range/bearing/field-of-view
//! test), `index` (uniform grids of camera discs and of points), `occlusion`
//! (building-edge grid and the sight-line test), `seer` (visibility of many
//! points in parallel), `households` and `sites` (totals), `areas` (membership
//! and the hierarchical H3 area coverage), `centres` (fine cell centres
//! predicted from their parent's, with an error bound), `outline` (the polygons of
//! a set of cells, traced on the hexagonal lattice), `gaps` (each area minus its
//! seen cells, as polygons), `propose` (CELF).
//!
//! # The rule
//!
//! A point P (household or site) is seen by camera C when C is online, the
//! distance C→P on the WGS84 ellipsoid is at most `range_m`, the compass bearing
//! C→P (at C, clockwise from north) lies within `azimuth_deg ± fov_deg/2`, and,
//! when buildings are given, the straight segment C→P crosses the interior of no
//! building other than one that strictly contains C or P.
//!
//! - Boundaries are inclusive: distance exactly `range_m`, or a bearing exactly
//!   on the edge of the field of view, is seen (up to floating-point rounding,
//!   about 1e-12 relative; distances and bearings agree with Karney's geodesics
//!   to better than 2e-8 relative within 500 m, 3e-7 within 3 km, and 1e-5°).
//! - P at the camera's own position is seen by it.
//! - `fov_deg ≥ 360` is a full circle; any field of view from a fraction of a
//!   degree up to 360° (including more than 180°) is exact, with no polygon
//!   approximation, and azimuths wrap (a 90° camera at azimuth 350° sees 305°–35°).
//! - A building touched by the sight line only along its boundary (grazing a
//!   corner, running along a wall) does not block it.
//! - The straight segment is straight in longitude/latitude (it differs from the
//!   geodesic by millimetres over a camera's range).
//!
//! # What the engine assumes about its input
//!
//! Defaults for missing camera fields (dome and PTZ see 360°, a bullet's default
//! field of view and range, `online` true) are applied by the layer reader, not
//! here: the engine takes each [`Camera`] as given and
//! rejects impossible values with [`CoverageError::InvalidCamera`]
//! (non-finite or out-of-range coordinates, `fov_deg` outside (0, 360],
//! `range_m` not positive and finite, azimuth not finite; any finite azimuth is
//! taken modulo 360). `camera_type` and `height_m` are not used by the geometry
//! (the model is two-dimensional). Household and site coordinates must be
//! finite longitude/latitude. Data must not straddle the ±180° meridian.
//!
//! Per-area camera counts are cameras located inside the area, whatever they
//! see. Areas may overlap (county, villages, grids): each is counted on its own.
//!
//! # Determinism
//!
//! Results do not depend on thread count or scheduling: parallel work is
//! collected in input order, sums are over integers, and gap polygons are
//! normalised and sorted.

mod areas;
mod centres;
mod gaps;
mod households;
mod index;
mod occlusion;
mod outline;
mod propose;
mod sector;
mod seer;
mod sites;

pub use centres::{ChildOffsets, TOLERANCE_M as CENTRE_TOLERANCE_M};
pub use gaps::{sort_gaps, Gap};
pub use propose::{
    propose, propose_oriented, Goal, Proposal, ProposeInput, ProposeOptions, ProposeResult,
};
pub use sector::Sector;

use crate::model::{Area, Building, Camera, Household, Site};
use crate::progress::Progress;
use geo_types::Coord;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything the coverage engine reads. Empty slices are fine: no areas means
/// no per-area statistics or gaps, no buildings means no occlusion.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoverageInput<'a> {
    pub cameras: &'a [Camera],
    pub households: &'a [Household],
    pub areas: &'a [Area],
    pub buildings: &'a [Building],
    pub sites: &'a [Site],
}

/// What to compute beyond per-household coverage.
#[derive(Debug, Clone)]
pub struct CoverageOptions {
    /// H3 resolution of the area-coverage cells (12 ≈ 307 m² per cell).
    pub h3_resolution: h3o::Resolution,
    /// Compute `area_coverage` (H3 cells inside each area).
    pub area_coverage: bool,
    /// Dissolve uncovered cells into gaps (needs `area_coverage`).
    pub gaps: bool,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        CoverageOptions {
            h3_resolution: h3o::Resolution::Twelve,
            area_coverage: true,
            gaps: true,
        }
    }
}

/// For each point (household location or site), the indices of the cameras (into
/// the input camera list) that see it, ascending. Stored flat: one offsets array
/// and one camera array, so a million households cost a few megabytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenBy {
    offsets: Vec<usize>,
    cameras: Vec<u32>,
}

impl SeenBy {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cameras that see point `i`, ascending.
    #[inline]
    pub fn cameras(&self, i: usize) -> &[u32] {
        &self.cameras[self.offsets[i]..self.offsets[i + 1]]
    }

    /// True when at least one online camera sees point `i`.
    #[inline]
    pub fn covered(&self, i: usize) -> bool {
        self.offsets[i + 1] > self.offsets[i]
    }

    /// Number of (point, camera) pairs that see each other.
    pub fn pairs(&self) -> usize {
        self.cameras.len()
    }

    /// The table of `len` points from the seen ones alone: `(point,
    /// cameras)` in any order of points, each point's cameras ascending;
    /// every other point is seen by none. What a coverage computed in parts
    /// (county by county) is put back together from. `None` when a point is
    /// out of range or given twice, or its cameras are not ascending.
    pub fn from_seen(len: usize, mut seen: Vec<(usize, Vec<u32>)>) -> Option<SeenBy> {
        seen.sort_unstable_by_key(|(point, _)| *point);
        let mut offsets = Vec::with_capacity(len + 1);
        let mut cameras = Vec::with_capacity(seen.iter().map(|(_, c)| c.len()).sum());
        offsets.push(0);
        let mut next = seen.into_iter().peekable();
        for point in 0..len {
            if let Some((_, cams)) = next.next_if(|(p, _)| *p == point) {
                if !cams.windows(2).all(|w| w[0] < w[1]) {
                    return None;
                }
                cameras.extend(cams);
            }
            offsets.push(cameras.len());
        }
        // Left over: a point past `len` or one given twice.
        next.peek().is_none().then_some(SeenBy { offsets, cameras })
    }
}

/// Sites and covered sites of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindStats {
    pub sites: u32,
    pub covered: u32,
}

/// Statistics of one area. Ratios are `None` when their denominator is zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AreaStats {
    /// Household locations inside the area.
    pub household_locations: u64,
    /// Sum of the `households` counts inside the area.
    pub households: u64,
    pub covered_households: u64,
    pub household_coverage: Option<f64>,
    pub persons: u64,
    pub covered_persons: u64,
    /// Share of the area's H3 cells whose centre is seen.
    pub area_coverage: Option<f64>,
    pub cells: u64,
    pub cells_covered: u64,
    /// Cameras located inside the area, and how many of them are online.
    pub cameras: u32,
    pub cameras_online: u32,
    /// 在线率: cameras_online / cameras.
    pub online_rate: Option<f64>,
    pub sites: u32,
    pub sites_covered: u32,
    pub sites_by_kind: BTreeMap<String, KindStats>,
    /// Number of gaps (blind-spot polygons) in the area.
    pub gaps: u32,
}

/// Totals over the whole input.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub household_locations: usize,
    pub households: u64,
    pub covered_households: u64,
    pub household_coverage: Option<f64>,
    pub persons: u64,
    pub covered_persons: u64,
    pub cameras: usize,
    pub cameras_online: usize,
    pub online_rate: Option<f64>,
    pub sites: usize,
    pub sites_covered: usize,
    pub sites_by_kind: BTreeMap<String, KindStats>,
    pub areas: usize,
    /// Over all areas (overlapping areas count their cells once each).
    pub area_cells: u64,
    pub area_cells_covered: u64,
    pub area_coverage: Option<f64>,
    pub gaps: usize,
    pub households_in_gaps: u64,
    pub buildings: usize,
    /// (household, camera) pairs that see each other.
    pub household_camera_pairs: usize,
}

/// What a coverage's totals are counted from: the points with the cameras
/// that see them, and the areas' cells and gaps.
#[derive(Debug, Clone, Copy)]
pub struct Tally<'a> {
    pub cameras: &'a [Camera],
    pub households: &'a [Household],
    pub households_seen: &'a SeenBy,
    pub sites: &'a [Site],
    pub sites_seen: &'a SeenBy,
    pub areas: usize,
    pub area_cells: u64,
    pub area_cells_covered: u64,
    pub gaps: &'a [Gap],
    pub buildings: usize,
}

impl Summary {
    /// The totals [`coverage`] reports; public so that a coverage computed
    /// in parts (county by county) reports the same ones.
    pub fn of(t: &Tally<'_>) -> Summary {
        let (locations, hh, hh_cov, persons, persons_cov) =
            households::totals(t.households, t.households_seen);
        let cameras_online = t.cameras.iter().filter(|c| c.online).count();
        let sites_covered = (0..t.sites_seen.len())
            .filter(|&i| t.sites_seen.covered(i))
            .count();
        Summary {
            household_locations: locations,
            households: hh,
            covered_households: hh_cov,
            household_coverage: ratio(hh_cov, hh),
            persons,
            covered_persons: persons_cov,
            cameras: t.cameras.len(),
            cameras_online,
            online_rate: ratio(cameras_online as u64, t.cameras.len() as u64),
            sites: t.sites.len(),
            sites_covered,
            sites_by_kind: sites::by_kind(t.sites, t.sites_seen),
            areas: t.areas,
            area_cells: t.area_cells,
            area_cells_covered: t.area_cells_covered,
            area_coverage: ratio(t.area_cells_covered, t.area_cells),
            gaps: t.gaps.len(),
            households_in_gaps: t.gaps.iter().map(|g| g.households_uncovered).sum(),
            buildings: t.buildings,
            household_camera_pairs: t.households_seen.pairs(),
        }
    }
}

/// Everything [`coverage`] computes.
#[derive(Debug, Clone, Default)]
pub struct CoverageResult {
    /// Per household location (input order).
    pub households: SeenBy,
    /// Per site (input order).
    pub sites: SeenBy,
    /// Per area (input order).
    pub areas: Vec<AreaStats>,
    /// Blind spots, largest first.
    pub gaps: Vec<Gap>,
    pub summary: Summary,
}

/// Why coverage could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CoverageError {
    #[error("camera {index}: {reason}")]
    InvalidCamera { index: usize, reason: String },
    #[error("{layer} {index}: location is not a finite longitude/latitude")]
    InvalidLocation { layer: &'static str, index: usize },
    #[error("area {index}: {reason}")]
    InvalidArea { index: usize, reason: String },
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("cancelled")]
    Cancelled,
}

fn valid_lonlat(c: Coord<f64>) -> bool {
    c.x.is_finite() && c.y.is_finite() && c.x.abs() <= 180.0 && c.y.abs() <= 90.0
}

/// Checks a camera against the model's invariants.
pub fn validate_camera(index: usize, c: &Camera) -> Result<(), CoverageError> {
    let bad = |reason: &str| {
        Err(CoverageError::InvalidCamera {
            index,
            reason: reason.to_string(),
        })
    };
    if !valid_lonlat(c.location.0) || c.location.y().abs() >= 89.9 {
        return bad("location is not a longitude/latitude away from the poles");
    }
    if !(c.fov_deg > 0.0 && c.fov_deg <= 360.0) {
        return bad("fov_deg must be in (0, 360]");
    }
    if !(c.range_m > 0.0 && c.range_m.is_finite()) {
        return bad("range_m must be positive and finite");
    }
    if !c.azimuth_deg.is_finite() {
        return bad("azimuth_deg must be finite");
    }
    Ok(())
}

pub(crate) fn validate_points(
    layer: &'static str,
    pts: impl Iterator<Item = Coord<f64>>,
) -> Result<(), CoverageError> {
    for (index, p) in pts.enumerate() {
        if !valid_lonlat(p) {
            return Err(CoverageError::InvalidLocation { layer, index });
        }
    }
    Ok(())
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Computes coverage of households, sites and areas by the online cameras.
///
/// Progress stages: `index`, `households`, `sites`, `areas`. Cancellation is
/// checked between chunks of work and yields [`CoverageError::Cancelled`].
pub fn coverage(
    input: &CoverageInput<'_>,
    options: &CoverageOptions,
    progress: &dyn Progress,
) -> Result<CoverageResult, CoverageError> {
    for (i, c) in input.cameras.iter().enumerate() {
        validate_camera(i, c)?;
    }
    validate_points("household", input.households.iter().map(|h| h.location.0))?;
    validate_points("site", input.sites.iter().map(|s| s.location.0))?;
    if options.gaps && !options.area_coverage && !input.areas.is_empty() {
        return Err(CoverageError::InvalidOptions(
            "gaps need area_coverage".to_string(),
        ));
    }
    progress.report("index", 0.0);
    let occ = seer::occluders(input.buildings);
    let seer = seer::Seer::from_cameras(input.cameras, occ.as_ref());
    if progress.cancelled() {
        return Err(CoverageError::Cancelled);
    }
    progress.report("households", 0.05);
    let hh_pts: Vec<Coord<f64>> = input.households.iter().map(|h| h.location.0).collect();
    let households = seer.seen_by_all(&hh_pts, progress)?;
    progress.report("sites", 0.45);
    let site_pts: Vec<Coord<f64>> = input.sites.iter().map(|s| s.location.0).collect();
    let sites = seer.seen_by_all(&site_pts, progress)?;

    let (areas, gaps) = if input.areas.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        progress.report("areas", 0.5);
        let to_arr = |c: Coord<f64>| [c.x, c.y];
        let (hg, (cg, sg)) = rayon::join(
            || index::PointGrid::build(&hh_pts.iter().map(|c| to_arr(*c)).collect::<Vec<_>>(), 8.0),
            || {
                let cams: Vec<[f64; 2]> =
                    input.cameras.iter().map(|c| to_arr(c.location.0)).collect();
                let sites: Vec<[f64; 2]> = site_pts.iter().map(|c| to_arr(*c)).collect();
                (
                    index::PointGrid::build(&cams, 4.0),
                    index::PointGrid::build(&sites, 4.0),
                )
            },
        );
        drop(hh_pts);
        let ctx = areas::AreaContext {
            input,
            options,
            seer: &seer,
            households: &households,
            sites: &sites,
            household_grid: &hg,
            camera_grid: &cg,
            site_grid: &sg,
        };
        areas::area_stats(&ctx, progress, 0.5, 0.5)?
    };

    let summary = Summary::of(&Tally {
        cameras: input.cameras,
        households: input.households,
        households_seen: &households,
        sites: input.sites,
        sites_seen: &sites,
        areas: input.areas.len(),
        area_cells: areas.iter().map(|a| a.cells).sum(),
        area_cells_covered: areas.iter().map(|a| a.cells_covered).sum(),
        gaps: &gaps,
        buildings: input.buildings.len(),
    });
    progress.report("done", 1.0);
    Ok(CoverageResult {
        households,
        sites,
        areas,
        gaps,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::SeenBy;

    #[test]
    fn a_seen_by_table_is_put_back_together_from_its_seen_points() {
        let t = SeenBy::from_seen(5, vec![(3, vec![0, 7]), (1, vec![2])]).unwrap();
        assert_eq!(t.len(), 5);
        let rows: Vec<&[u32]> = (0..5).map(|i| t.cameras(i)).collect();
        assert_eq!(rows, [&[][..], &[2], &[], &[0, 7], &[]]);
        assert_eq!(t.pairs(), 3);
        assert!(
            SeenBy::from_seen(5, vec![(5, vec![1])]).is_none(),
            "past the end"
        );
        assert!(SeenBy::from_seen(5, vec![(1, vec![1]), (1, vec![2])]).is_none());
        assert!(SeenBy::from_seen(5, vec![(1, vec![2, 1])]).is_none());
        assert_eq!(SeenBy::from_seen(0, vec![]).unwrap().len(), 0);
    }
}
