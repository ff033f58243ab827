//! Region outlines: merge a region's cells exactly, then clip to the area.
//!
//! Whole cells are merged by walking the cell edges that border another region
//! (or nothing). Because edges use canonical vertex ids, the walk is pure
//! topology: the outline's coordinates are exactly the cells' coordinates (plus
//! the barrier crossings of cut cells, see [`super::split`]), and two
//! neighbouring regions share bit-identical boundaries. Only regions that reach
//! the area boundary go through a polygon clip, and pieces of cells that the
//! area boundary or a barrier split are added by a polygon union.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::Intersects;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::split::Splits;
use super::tessellate::{Tessellation, NONE};

/// Region of the whole cell c, or NONE when c is split into several pieces (or
/// has none).
fn hex_region(tess: &Tessellation, part: &[u32], splits: &Splits, c: u32) -> u32 {
    let r = tess.nodes_of(c);
    if r.len() == 1 && !splits.is_split(c) {
        part[r.start as usize]
    } else {
        NONE
    }
}

fn signed_area(ring: &[Coord<f64>]) -> f64 {
    let o = ring[0];
    let mut a = 0.0;
    for w in ring.windows(2) {
        let (p, q) = (w[0] - o, w[1] - o);
        a += p.x * q.y - q.x * p.y;
    }
    a / 2.0
}

/// Household locations per node (CSR), so smoothing never moves a household
/// to the other side of a grid edge.
pub(crate) struct NodePoints {
    pub start: Vec<u32>,
    pub points: Vec<Coord<f64>>,
}

impl NodePoints {
    pub(crate) fn new(n_nodes: usize, hh: &[(Coord<f64>, u32)]) -> Self {
        let mut start = vec![0u32; n_nodes + 1];
        for &(_, v) in hh {
            start[v as usize + 1] += 1;
        }
        for i in 0..n_nodes {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut points = vec![Coord { x: 0.0, y: 0.0 }; hh.len()];
        for &(c, v) in hh {
            points[fill[v as usize] as usize] = c;
            fill[v as usize] += 1;
        }
        NodePoints { start, points }
    }

    fn of(&self, v: u32) -> &[Coord<f64>] {
        &self.points[self.start[v as usize] as usize..self.start[v as usize + 1] as usize]
    }
}

pub(crate) fn region_geometry(
    tess: &Tessellation,
    part: &[u32],
    r: u32,
    pts: &NodePoints,
    splits: &Splits,
) -> MultiPolygon<f64> {
    if part.is_empty() {
        return tess.area.clone().orient(Direction::Default);
    }
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut any_clipped = false;
    let mut split_pieces: Vec<Polygon<f64>> = Vec::new();
    let mut barrier_pieces = false;
    let mut area_pieces = false;
    let mut reference_sign = 0.0;
    for c in 0..tess.cells.len() as u32 {
        if splits.is_split(c) {
            for (p, _) in splits.pieces(c).iter().filter(|x| x.1 == r) {
                split_pieces.push(p.clone());
                barrier_pieces = true;
                any_clipped |= tess.clipped[c as usize];
            }
            continue;
        }
        let nodes = tess.nodes_of(c);
        if nodes.len() > 1 {
            for v in nodes {
                if part[v as usize] == r {
                    if let Some(p) = &tess.pieces[v as usize] {
                        split_pieces.push(p.clone());
                        area_pieces = true;
                    }
                }
            }
            continue;
        }
        if hex_region(tess, part, splits, c) != r {
            continue;
        }
        let ci = c as usize;
        if tess.clipped[ci] {
            any_clipped = true;
        }
        let k = tess.nv[ci] as usize;
        if reference_sign == 0.0 {
            let mut ring: Vec<Coord<f64>> = (0..k)
                .map(|i| tess.vcoord[tess.verts[ci][i] as usize])
                .collect();
            ring.push(ring[0]);
            reference_sign = signed_area(&ring).signum();
        }
        for i in 0..k {
            let d = tess.nbr[ci][i];
            if d == NONE || hex_region(tess, part, splits, d) != r {
                edges.push((tess.verts[ci][i], tess.verts[ci][(i + 1) % k]));
            }
        }
    }
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    if !edges.is_empty() {
        edges.sort_unstable();
        let next: HashMap<u32, u32> = edges.iter().copied().collect();
        let mut used: HashMap<u32, bool> = HashMap::with_capacity(edges.len());
        let mut exteriors: Vec<LineString<f64>> = Vec::new();
        let mut holes: Vec<LineString<f64>> = Vec::new();
        for &(s, _) in &edges {
            if used.contains_key(&s) {
                continue;
            }
            let mut ids = Vec::new();
            let mut cur = s;
            loop {
                used.insert(cur, true);
                ids.push(cur);
                match next.get(&cur) {
                    Some(&nx) if nx != s && !used.contains_key(&nx) => cur = nx,
                    _ => break,
                }
            }
            let mut ring = smooth_ring(tess, part, pts, splits, &ids);
            ring.push(ring[0]);
            if ring.len() < 4 {
                continue;
            }
            let a = signed_area(&ring);
            if a.signum() == reference_sign {
                exteriors.push(LineString(ring));
            } else {
                holes.push(LineString(ring));
            }
        }
        polys = exteriors
            .into_iter()
            .map(|e| Polygon::new(e, vec![]))
            .collect();
        for h in holes {
            let probe = h.0[0];
            let idx = if polys.len() == 1 {
                Some(0)
            } else {
                polys.iter().position(|p| {
                    p.exterior().intersects(&probe)
                        || Polygon::new(p.exterior().clone(), vec![]).intersects(&probe)
                })
            };
            if let Some(i) = idx {
                polys[i].interiors_push(h);
            }
        }
    }
    let mut mp = MultiPolygon(polys);
    mp.0.extend(split_pieces);
    if any_clipped || area_pieces {
        // One overlay on the area's shared precision grid: (cells ∪ pieces) ∩ area.
        mp = tess.snap.intersection(&mp, &tess.area);
    } else if barrier_pieces {
        mp = tess.snap.merge(&mp);
    }
    mp.orient(Direction::Default)
}

/// Can the corner at vertex v be cut? Only where exactly two regions meet at
/// v and all three cells there are whole cells (away from the area boundary):
/// then both regions cut it the same way and the tiling stays exact.
fn cuttable(
    tess: &Tessellation,
    part: &[u32],
    pts: &NodePoints,
    splits: &Splits,
    v: u32,
    prev: u32,
    next: u32,
) -> bool {
    let cs = tess.vcells[v as usize];
    if cs.contains(&NONE) {
        return false;
    }
    let mut regions = [NONE; 3];
    for (i, &c) in cs.iter().enumerate() {
        if tess.clipped[c as usize] || splits.is_split(c) {
            return false;
        }
        let r = tess.nodes_of(c);
        if r.len() != 1 {
            return false;
        }
        regions[i] = part[r.start as usize];
    }
    let distinct = 1
        + usize::from(regions[1] != regions[0])
        + usize::from(regions[2] != regions[0] && regions[2] != regions[1]);
    if distinct != 2 {
        return false;
    }
    // The corner triangle lies in the cell that is alone in its region at v;
    // keep the corner if a household stands in it.
    let alone = (0..3)
        .find(|&i| regions.iter().filter(|&&q| q == regions[i]).count() == 1)
        .expect("two regions");
    let cell_node = tess.nodes_of(cs[alone]).start;
    let (a, b, c) = (
        mid(tess, prev, v),
        tess.vcoord[v as usize],
        mid(tess, v, next),
    );
    !pts.of(cell_node).iter().any(|&p| in_triangle(p, a, b, c))
}

fn mid(tess: &Tessellation, a: u32, b: u32) -> Coord<f64> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let (p, q) = (tess.vcoord[lo as usize], tess.vcoord[hi as usize]);
    tess.snap.coord(Coord {
        x: (p.x + q.x) * 0.5,
        y: (p.y + q.y) * 0.5,
    })
}

/// Closed point-in-triangle test (robust orientation).
fn in_triangle(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> bool {
    use geo::kernels::{Kernel, Orientation, RobustKernel};
    let o = [
        RobustKernel::orient2d(a, b, p),
        RobustKernel::orient2d(b, c, p),
        RobustKernel::orient2d(c, a, p),
    ];
    let pos = o.contains(&Orientation::CounterClockwise);
    let neg = o.contains(&Orientation::Clockwise);
    !(pos && neg)
}

/// The ring's coordinates with the hexagon staircase smoothed: each cuttable
/// corner is replaced by the midpoints of its two edges. On a staircase of
/// cell edges the midpoints lie on a straight line, so this removes the ~15 %
/// extra perimeter a cell outline has over the line it approximates (better
/// compactness, cleaner maps). Midpoints are snapped to the area's grid and
/// computed from the unordered edge, so both neighbouring grids get the same
/// coordinates.
fn smooth_ring(
    tess: &Tessellation,
    part: &[u32],
    pts: &NodePoints,
    splits: &Splits,
    ids: &[u32],
) -> Vec<Coord<f64>> {
    let n = ids.len();
    let mid = |a: u32, b: u32| mid(tess, a, b);
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(n * 2);
    let push = |c: Coord<f64>, out: &mut Vec<Coord<f64>>| {
        if out.last() != Some(&c) {
            out.push(c);
        }
    };
    for k in 0..n {
        let v = ids[k];
        let prev = ids[(k + n - 1) % n];
        let next = ids[(k + 1) % n];
        if n >= 6 && cuttable(tess, part, pts, splits, v, prev, next) {
            push(mid(prev, v), &mut out);
            push(mid(v, next), &mut out);
        } else {
            push(tess.vcoord[v as usize], &mut out);
            for x in splits.edge_points(v, next) {
                push(x, &mut out);
            }
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}
