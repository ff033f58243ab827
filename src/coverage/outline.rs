//! The outline of a set of H3 cells (one resolution) as polygons, traced on
//! the hexagonal lattice.
//!
//! Why not h3o's `Solvent`: it finds the boundary through hash lookups of
//! directed edges and computes every boundary cell's outline twice, which was
//! a fifth of the full coverage engine. Here the cells get local IJ
//! coordinates, membership is a bitmap over their IJ box, and every vertex of
//! the lattice is named by the triangle of cell centres around it. A vertex of
//! a hexagonal lattice touches three cells, so where the set's boundary passes
//! through a vertex it enters and leaves exactly once: each boundary vertex has
//! one outgoing boundary edge, and rings are traced without any ambiguity.
//!
//! Positions: each vertex is its cell's centre (given by the caller) plus the
//! lattice's vertex offset, measured exactly once per resolution-8 block
//! (0.7 km²), across which the grid's scale and rotation change by so little
//! that a vertex moves by millimetres.
//! Every vertex is positioned once, from one of its cells, so rings close
//! exactly and neighbouring rings share their vertices. The offsets are within
//! a few millimetres of h3o's vertices (tested against `Solvent` around the
//! globe); callers add the error of the centres they pass.
//!
//! Sets the lattice cannot describe with one frame (cells on more than one
//! icosahedron face, near a pentagon or the antimeridian, or spread too
//! widely) and cells coarser than resolution 11 give `None`, and the caller
//! uses h3o's `Solvent`.

use super::centres;
use foldhash::HashMap;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use h3o::{CellIndex, CoordIJ, LocalIJ, Resolution};

/// IJ steps to the six neighbours, turning counter-clockwise in the grid's
/// own frame (i, i + j, j, −i, −i − j, −j).
const STEPS: [(i32, i32); 6] = [(1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1)];

/// The vertex between steps `m` and `m + 1` of the cell at (i, j), as the
/// lattice triangle holding it: (i, j) of the triangle's corner and whether it
/// is the "up" triangle {a, a + (1, 0), a + (1, 1)} (0) or the "down" one
/// {a, a + (1, 1), a + (0, 1)} (1).
const CORNER: [(i32, i32, u64); 6] = [
    (0, 0, 0),
    (0, 0, 1),
    (-1, 0, 0),
    (-1, -1, 1),
    (-1, -1, 0),
    (0, -1, 1),
];

/// Resolution of the blocks vertex offsets are measured on (about 0.7 km²):
/// the error of an offset grows with the block's size times the cell's, so it
/// stays within a centimetre for cells of resolution 11 and finer. Coarser
/// cells are few enough for h3o's dissolver.
const BLOCK_RES: Resolution = Resolution::Eight;

/// Largest IJ box traced (cells); beyond it the bitmap would be wasteful.
const MAX_BOX: u64 = 1 << 28;

/// The outline of `cells` (each with its centre, longitude/latitude), exterior
/// rings counter-clockwise; `None` when the caller should use h3o's dissolver.
/// Cells may repeat.
pub(crate) fn outline(cells: &[(CellIndex, Coord<f64>)]) -> Option<MultiPolygon<f64>> {
    let Some(&(anchor, _)) = cells.first() else {
        return Some(MultiPolygon(Vec::new()));
    };
    let res = anchor.resolution();
    if u8::from(res) < u8::from(BLOCK_RES) + 3 {
        return None;
    }

    // IJ coordinates and their box.
    let mut ij = Vec::with_capacity(cells.len());
    let (mut lo, mut hi) = ((i32::MAX, i32::MAX), (i32::MIN, i32::MIN));
    for &(cell, _) in cells {
        if cell.resolution() != res {
            return None;
        }
        let c = cell.to_local_ij(anchor).ok()?.coord;
        lo = (lo.0.min(c.i), lo.1.min(c.j));
        hi = (hi.0.max(c.i), hi.1.max(c.j));
        ij.push((c.i, c.j));
    }
    let mut members = Bitmap::new(lo, hi)?;
    for &p in &ij {
        members.insert(p);
    }

    // Boundary edges, keyed by their start vertex.
    let mut frames = Frames::new(anchor);
    let key = |i: i32, j: i32, m: usize| -> u64 {
        let (di, dj, t) = CORNER[m];
        // Corners are at most one step below the box, so the shifted values
        // are non-negative.
        let a = (i + di - lo.0 + 1) as u64;
        let b = (j + dj - lo.1 + 1) as u64;
        ((a << 31) | b) << 1 | t
    };
    let mut next: HashMap<u64, (u64, Coord<f64>)> = HashMap::default();
    let mut starts: Vec<u64> = Vec::new();
    for (&(cell, centre), &(i, j)) in cells.iter().zip(&ij) {
        let mut offsets = None;
        for (m, &(di, dj)) in STEPS.iter().enumerate() {
            if members.contains((i + di, j + dj)) {
                continue;
            }
            // The edge shared with the missing neighbour, from the vertex
            // before it to the vertex after it (the cell on the left).
            let before = (m + 5) % 6;
            let v = match offsets {
                Some(v) => v,
                None => *offsets.insert(frames.offsets(cell)?),
            };
            let o: Coord<f64> = v[before];
            let at = Coord {
                x: centre.x + o.x,
                y: centre.y + o.y,
            };
            let from = key(i, j, before);
            // A repeated cell finds its edges already there.
            if next.insert(from, (key(i, j, m), at)).is_none() {
                starts.push(from);
            }
        }
    }

    // Rings: follow each vertex's one outgoing edge until it comes back.
    let mut exteriors: Vec<(LineString<f64>, f64)> = Vec::new();
    let mut holes: Vec<LineString<f64>> = Vec::new();
    for start in starts {
        let Some((mut at, first)) = next.remove(&start) else {
            continue;
        };
        let mut ring = vec![first];
        while at != start {
            let (to, c) = next.remove(&at)?;
            ring.push(c);
            at = to;
        }
        ring.push(first);
        let area = signed_area(&ring) * frames.handedness;
        if area > 0.0 {
            exteriors.push((LineString(ring), area));
        } else {
            holes.push(LineString(ring));
        }
    }
    // Traced with the cells on the left: exteriors counter-clockwise and holes
    // clockwise in the grid's frame, mirrored on the map when it is.
    if frames.handedness < 0.0 {
        for (ring, _) in &mut exteriors {
            ring.0.reverse();
        }
        for hole in &mut holes {
            hole.0.reverse();
        }
    }
    Some(assemble(exteriors, holes))
}

/// Twice the signed area of a closed ring in degrees (positive when
/// counter-clockwise).
fn signed_area(ring: &[Coord<f64>]) -> f64 {
    let o = ring[0];
    ring.windows(2)
        .map(|w| (w[0].x - o.x) * (w[1].y - o.y) - (w[1].x - o.x) * (w[0].y - o.y))
        .sum()
}

/// Polygons from exterior rings (with their areas) and holes: each hole goes
/// to the smallest exterior around it (exteriors nest when an island lies in a
/// hole).
fn assemble(
    exteriors: Vec<(LineString<f64>, f64)>,
    holes: Vec<LineString<f64>>,
) -> MultiPolygon<f64> {
    let mut interiors: Vec<Vec<LineString<f64>>> = vec![Vec::new(); exteriors.len()];
    for hole in holes {
        let p = hole.0[0];
        let owner = if exteriors.len() == 1 {
            Some(0)
        } else {
            exteriors
                .iter()
                .enumerate()
                .filter(|(_, (ring, _))| ring_contains(&ring.0, p))
                .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
                .map(|(k, _)| k)
        };
        if let Some(k) = owner {
            interiors[k].push(hole);
        }
    }
    MultiPolygon(
        exteriors
            .into_iter()
            .zip(interiors)
            .map(|((ring, _), holes)| Polygon::new(ring, holes))
            .collect(),
    )
}

/// Crossing-number test; `p` is never on the ring (it is a vertex of another
/// ring, and rings share no vertex).
fn ring_contains(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

/// Membership of IJ positions within a box.
struct Bitmap {
    lo: (i32, i32),
    w: i64,
    h: i64,
    bits: Vec<u64>,
}

impl Bitmap {
    fn new(lo: (i32, i32), hi: (i32, i32)) -> Option<Self> {
        let (w, h) = (
            i64::from(hi.0) - i64::from(lo.0) + 1,
            i64::from(hi.1) - i64::from(lo.1) + 1,
        );
        let n = (w as u64).checked_mul(h as u64).filter(|&n| n <= MAX_BOX)?;
        Some(Bitmap {
            lo,
            w,
            h,
            bits: vec![0; n.div_ceil(64) as usize],
        })
    }

    fn slot(&self, (i, j): (i32, i32)) -> Option<usize> {
        let (a, b) = (
            i64::from(i) - i64::from(self.lo.0),
            i64::from(j) - i64::from(self.lo.1),
        );
        (a >= 0 && b >= 0 && a < self.w && b < self.h).then(|| (a * self.h + b) as usize)
    }

    fn insert(&mut self, p: (i32, i32)) {
        if let Some(s) = self.slot(p) {
            self.bits[s / 64] |= 1 << (s % 64);
        }
    }

    #[inline]
    fn contains(&self, p: (i32, i32)) -> bool {
        self.slot(p)
            .is_some_and(|s| self.bits[s / 64] & (1 << (s % 64)) != 0)
    }
}

/// Vertex offsets per block of cells, measured on first use, and the grid's
/// handedness in longitude/latitude (the same for every block, or no trace).
struct Frames {
    anchor: CellIndex,
    measured: HashMap<CellIndex, [Coord<f64>; 6]>,
    face: Option<h3o::FaceSet>,
    /// 1 when the IJ steps turn counter-clockwise on the map, −1 when clockwise.
    handedness: f64,
}

impl Frames {
    fn new(anchor: CellIndex) -> Self {
        Frames {
            anchor,
            measured: HashMap::default(),
            face: None,
            handedness: 0.0,
        }
    }

    /// The offsets (degrees) from a cell's centre to its six vertices, the
    /// vertex between steps m and m + 1 at m.
    fn offsets(&mut self, cell: CellIndex) -> Option<[Coord<f64>; 6]> {
        let block = cell.parent(BLOCK_RES)?;
        if let Some(v) = self.measured.get(&block) {
            return Some(*v);
        }
        let faces = block.icosahedron_faces();
        if block.is_pentagon() || faces.len() != 1 || self.face.is_some_and(|f| f != faces) {
            return None;
        }
        self.face = Some(faces);
        // The block's central cell and its six neighbours by IJ step: the
        // vertex between steps m and m + 1 is the centroid of the triangle of
        // centres (exact on the grid's plane; the curvature over ten metres is
        // far below a millimetre).
        let probe = block.center_child(cell.resolution())?;
        let at = probe.to_local_ij(self.anchor).ok()?.coord;
        let c = centres::centre(probe);
        if c.x.abs() > 179.0 {
            return None; // longitudes would wrap
        }
        let mut d = [Coord { x: 0.0, y: 0.0 }; 6];
        for (m, &(di, dj)) in STEPS.iter().enumerate() {
            let n = CellIndex::try_from(LocalIJ::new(
                self.anchor,
                CoordIJ::new(at.i + di, at.j + dj),
            ))
            .ok()?;
            let nc = centres::centre(n);
            d[m] = Coord {
                x: nc.x - c.x,
                y: nc.y - c.y,
            };
        }
        let turn = (d[0].x * d[1].y - d[0].y * d[1].x).signum();
        if self.handedness == 0.0 {
            self.handedness = turn;
        } else if turn != self.handedness {
            return None;
        }
        let mut v = [Coord { x: 0.0, y: 0.0 }; 6];
        for m in 0..6 {
            let n = (m + 1) % 6;
            v[m] = Coord {
                x: (d[m].x + d[n].x) / 3.0,
                y: (d[m].y + d[n].y) / 3.0,
            };
        }
        self.measured.insert(block, v);
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;
    use h3o::geom::SolventBuilder;
    use h3o::LatLng;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn chance(&mut self, p: f64) -> bool {
            (self.next() % 1_000_000) as f64 / 1e6 < p
        }
    }

    /// Metres between two positions (equirectangular, fine at these distances).
    fn metres(a: Coord<f64>, b: Coord<f64>) -> f64 {
        let k = 111_320.0;
        ((a.x - b.x) * k * a.y.to_radians().cos()).hypot((a.y - b.y) * k)
    }

    fn vertices(mp: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0[..r.0.len() - 1].iter().copied())
            .collect()
    }

    /// Random blobs with holes and islands, from the tropics to 70° N and S:
    /// the same polygons as h3o's dissolver, vertex for vertex within a
    /// centimetre (the offsets' error; exact centres are passed in).
    #[test]
    fn matches_h3o_dissolve() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let places = [
            (32.3, 118.3),
            (53.4, -2.3),
            (60.2, 24.9),
            (-33.9, 151.2),
            (0.5, 10.0),
            (70.0, 20.0),
            (-45.0, -70.0),
        ];
        let mut traced = 0;
        for (lat, lng) in places {
            for res in [Resolution::Eleven, Resolution::Twelve, Resolution::Thirteen] {
                let origin = LatLng::new(lat, lng).unwrap().to_cell(res);
                let disk: Vec<CellIndex> = origin.grid_disk(14);
                let keep = 0.55 + 0.1 * (rng.next() % 4) as f64;
                let cells: Vec<(CellIndex, Coord<f64>)> = disk
                    .into_iter()
                    .filter(|_| rng.chance(keep))
                    .map(|c| (c, centres::centre(c)))
                    .collect();
                let mut sorted = cells.clone();
                sorted.sort_unstable_by_key(|&(c, _)| c);
                let Some(ours) = outline(&sorted) else {
                    continue;
                };
                traced += 1;
                let theirs: MultiPolygon<f64> = SolventBuilder::new()
                    .build()
                    .dissolve(sorted.iter().map(|&(c, _)| c))
                    .unwrap();
                assert_eq!(ours.0.len(), theirs.0.len(), "polygons at {lat},{lng}");
                let holes = |mp: &MultiPolygon<f64>| -> usize {
                    mp.0.iter().map(|p| p.interiors().len()).sum()
                };
                assert_eq!(holes(&ours), holes(&theirs), "holes at {lat},{lng}");
                let (a, b) = (vertices(&ours), vertices(&theirs));
                assert_eq!(a.len(), b.len(), "vertices at {lat},{lng}");
                let mut worst: f64 = 0.0;
                for v in &a {
                    let d = b.iter().map(|w| metres(*v, *w)).fold(f64::MAX, f64::min);
                    worst = worst.max(d);
                }
                let (sa, sb) = (ours.signed_area(), theirs.unsigned_area());
                assert!(worst < 0.01, "vertex {worst} m from h3o's at {lat},{lng}");
                assert!(sa > 0.0, "exteriors counter-clockwise");
                assert!((sa - sb).abs() < 1e-4 * sb, "area {sa} vs {sb}");
            }
        }
        assert!(traced >= 18, "only {traced} sets traced");
    }

    /// Repeated cells and an empty set.
    #[test]
    fn repeats_and_empty() {
        assert!(outline(&[]).unwrap().0.is_empty());
        let cell = LatLng::new(32.3, 118.3)
            .unwrap()
            .to_cell(Resolution::Twelve);
        let one = (cell, centres::centre(cell));
        let mp = outline(&[one, one]).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 7);
    }
}
