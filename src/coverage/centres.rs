//! Centres of fine H3 cells from their parent's centre, without h3o.
//!
//! Why: the area walk needs the centre of every fine cell it resolves, and
//! h3o's `LatLng::from(CellIndex)` (decoding the index digit by digit, then
//! the gnomonic projection with half a dozen trigonometric calls) was about a
//! fifth of the whole engine. Within one root cell (three levels coarser, a few
//! hundred metres across) the offset from a parent's centre to its child's
//! centre depends only on the child's digit, up to the slow change of the
//! projection's scale: about a millimetre. So each root measures the seven
//! offsets once, exactly, on one parent, checks them on a second parent at
//! its far side, and then predicts every fine centre with one addition.
//!
//! A prediction is within [`TOLERANCE_M`] of h3o's centre. Callers decide with
//! margins of that size and ask h3o for the exact centre whenever a decision
//! lies within the margin (`tests/coverage.rs` checks the bound on random roots
//! around the globe and the verdicts against h3o).

use geo_types::Coord;
use h3o::{CellIndex, LatLng, Resolution};

/// Largest distance, in metres, between a predicted centre and h3o's.
pub const TOLERANCE_M: f64 = 0.05;

/// What the check on the second parent may miss by: a tenth of the tolerance,
/// as the error grows about linearly with the distance from the measured
/// parent and the checked parent is at least half as far as any other.
const CHECK_M: f64 = TOLERANCE_M / 10.0;

/// The exact centre of a cell.
#[inline]
pub fn centre(cell: CellIndex) -> Coord<f64> {
    let ll = LatLng::from(cell);
    Coord {
        x: ll.lng(),
        y: ll.lat(),
    }
}

/// The digit of `cell` at its own resolution (0–6).
#[inline]
pub fn digit(cell: CellIndex) -> usize {
    let r = u8::from(cell.resolution()) as u64;
    ((u64::from(cell) >> (3 * (15 - r))) & 7) as usize
}

/// True when `cell` and its neighbours lie on one icosahedron face: the
/// grid's axes turn where faces meet, so offsets measured on one side do not
/// hold on the other.
fn on_one_face(cell: CellIndex) -> bool {
    let faces = cell.icosahedron_faces();
    faces.len() == 1
        && cell
            .grid_disk::<Vec<_>>(1)
            .iter()
            .all(|n| n.icosahedron_faces() == faces)
}

/// Offsets (degrees of longitude and latitude) from a parent's centre to its
/// children's centres, by digit, valid for the parents of one root cell.
#[derive(Debug, Clone, Copy)]
pub struct ChildOffsets {
    offsets: [Coord<f64>; 7],
}

impl ChildOffsets {
    /// Measures the offsets of the children at resolution `fine` of the
    /// parents (one level coarser) inside `root`. `None` when they cannot be
    /// trusted there: a pentagon, a root near an icosahedron face edge or the
    /// antimeridian, a root
    /// too close to the target resolution, or a check that misses.
    pub fn of_root(root: CellIndex, fine: Resolution) -> Option<Self> {
        // Longitude offsets would wrap at the antimeridian.
        if root.is_pentagon()
            || centre(root).x.abs() > 179.0
            || !on_one_face(root.parent(Resolution::Seven)?)
        {
            return None;
        }
        let parent_res = Resolution::try_from(u8::from(fine).checked_sub(1)?).ok()?;
        if parent_res <= root.resolution() {
            return None;
        }
        let measured = root.center_child(parent_res)?;
        let offsets = Self::measure(measured, fine)?;
        // The check: the parent reached from the root by digit 4 at every level,
        // at the far side of the root from the measured one.
        let mut far = root;
        while far.resolution() < parent_res {
            far = far.children(far.resolution().succ()?).nth(4)?;
        }
        let (kx, ky) = super::sector::metres_per_degree(centre(far).y);
        let base = centre(far);
        for child in far.children(fine) {
            let p = offsets.predict(base, digit(child));
            let e = centre(child);
            if ((p.x - e.x) * kx).hypot((p.y - e.y) * ky) > CHECK_M {
                return None;
            }
        }
        Some(offsets)
    }

    fn measure(parent: CellIndex, fine: Resolution) -> Option<Self> {
        let base = centre(parent);
        let mut offsets = [Coord { x: 0.0, y: 0.0 }; 7];
        let mut n = 0;
        for child in parent.children(fine) {
            let c = centre(child);
            offsets[digit(child)] = Coord {
                x: c.x - base.x,
                y: c.y - base.y,
            };
            n += 1;
        }
        (n == 7).then_some(ChildOffsets { offsets })
    }

    /// The predicted centre of the child with digit `d` of a parent centred at
    /// `parent`.
    #[inline]
    pub fn predict(&self, parent: Coord<f64>, d: usize) -> Coord<f64> {
        let o = self.offsets[d];
        Coord {
            x: parent.x + o.x,
            y: parent.y + o.y,
        }
    }
}
