//! Grid edges on barrier lines: where two grids meet along a road, river or
//! railway, the cells the line runs through are cut along it and each piece
//! goes to the grid on its side.
//!
//! Regions are sets of whole cells, so after the graph cut a grid edge runs
//! within one cell of a barrier, as an H3 staircase. Here every cell a barrier
//! crosses, with a neighbour in another region on the far side of the line, is
//! cut into the faces of its outline and the barrier chords through it; a face
//! goes to the region of the neighbours it touches without crossing a barrier.
//! Crossing points are computed once per cell edge (canonical vertex order) and
//! snapped to the area's precision grid, and the whole neighbours' outlines get
//! them too ([`Splits::edge_points`]), so pieces and cells share bit-identical
//! edges and the tiling stays exact.
//!
//! A cell stays whole when the line meets it degenerately (through a vertex or
//! an endpoint on its outline, ending inside it, two chords crossing), when the
//! move would take a grid out of its rules, and (after the outlines are built,
//! [`Splits::revert`]) when a region would fall apart, be invalid, or lose
//! compactness below [`KEEP_PP`]. Faces
//! smaller than [`MIN_PIECE_M2`] stay with the cell's region.

use std::collections::HashMap;

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::Intersects;
use geo_types::{Coord, LineString, Polygon};

use super::graph::{BarrierIndex, Graph};
use super::regions::RegionResult;
use super::tessellate::{Tessellation, NONE};
use crate::model::{Household, Rules};

/// Cut cells may make a grid less compact only while its Polsby–Popper stays
/// at least this (a piece can reach along a road into a grid's corner).
pub(crate) const KEEP_PP: f64 = 0.5;

/// Faces smaller than this (m²) are slivers: they stay with the cell's region.
const MIN_PIECE_M2: f64 = 0.5;

/// A cell cut along barriers.
struct SplitCell {
    cell: u32,
    owner: u32,
    /// Faces with the region each goes to.
    pieces: Vec<(Polygon<f64>, u32)>,
    /// Crossing points on the cell's edges: (lower vertex id, higher vertex id,
    /// parameter from the lower vertex, point).
    ends: Vec<(u32, u32, f64, Coord<f64>)>,
}

/// A crossing on a cell edge: parameter from the lower vertex id, and point.
type EdgePoint = (f64, Coord<f64>);

/// The cut cells of one area, and the extra points they put on cell edges.
#[derive(Default)]
pub(crate) struct Splits {
    cells: Vec<SplitCell>,
    index: HashMap<u32, usize>,
    inserts: HashMap<(u32, u32), Vec<EdgePoint>>,
}

impl Splits {
    /// Is cell c cut?
    pub(crate) fn is_split(&self, c: u32) -> bool {
        self.index.contains_key(&c)
    }

    /// The pieces of cell c with their regions (empty when c is whole).
    pub(crate) fn pieces(&self, c: u32) -> &[(Polygon<f64>, u32)] {
        match self.index.get(&c) {
            Some(&i) => &self.cells[i].pieces,
            None => &[],
        }
    }

    /// Crossing points on the cell edge from vertex a to vertex b, in that
    /// order (without the vertices themselves).
    pub(crate) fn edge_points(&self, a: u32, b: u32) -> impl Iterator<Item = Coord<f64>> + '_ {
        let (key, rev) = if a < b {
            ((a, b), false)
        } else {
            ((b, a), true)
        };
        let pts = self.inserts.get(&key).map_or(&[][..], |v| &v[..]);
        let n = pts.len();
        (0..n).map(move |i| pts[if rev { n - 1 - i } else { i }].1)
    }

    /// Regions whose outline a cut cell changes, sorted.
    pub(crate) fn regions(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .cells
            .iter()
            .flat_map(|s| std::iter::once(s.owner).chain(s.pieces.iter().map(|p| p.1)))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Makes whole again every cut cell that involves one of the `bad` regions;
    /// returns the regions whose outline changes back (sorted): those that
    /// had its pieces, and those of the cells around it, whose outlines took
    /// its crossing points and kept their corners there unsmoothed.
    pub(crate) fn revert(&mut self, tess: &Tessellation, part: &[u32], bad: &[u32]) -> Vec<u32> {
        let mut redo = Vec::new();
        let involves =
            |s: &SplitCell| bad.contains(&s.owner) || s.pieces.iter().any(|p| bad.contains(&p.1));
        for s in self.cells.iter().filter(|s| involves(s)) {
            redo.push(s.owner);
            redo.extend(s.pieces.iter().map(|p| p.1));
            for &d in &tess.nbr[s.cell as usize] {
                if d != NONE {
                    redo.extend(tess.nodes_of(d).map(|v| part[v as usize]));
                }
            }
        }
        self.cells.retain(|s| !involves(s));
        self.reindex();
        redo.sort_unstable();
        redo.dedup();
        redo
    }

    fn reindex(&mut self) {
        self.index = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, s)| (s.cell, i))
            .collect();
        self.inserts.clear();
        for s in &self.cells {
            for &(lo, hi, t, x) in &s.ends {
                self.inserts.entry((lo, hi)).or_default().push((t, x));
            }
        }
        for v in self.inserts.values_mut() {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v.dedup_by(|a, b| a.1 == b.1);
        }
    }

    /// Decides which cells to cut and where their pieces go. `hh_node` is
    /// (household index, node) for the area's households.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn plan(
        tess: &Tessellation,
        g: &Graph,
        part: &RegionResult,
        barriers: &BarrierIndex,
        households: &[Household],
        hh_node: &[(u32, u32)],
        rules: &Rules,
        has_persons: bool,
    ) -> Splits {
        let mut out = Splits::default();
        if barriers.is_empty() || part.k < 2 {
            return out;
        }
        let a = &part.assignment;
        let centre = |v: u32| tess.frame.to_degrees(tess.nodes[v as usize].centroid);
        // Cells with a neighbour in another region across a barrier.
        let mut cand: Vec<u32> = Vec::new();
        for v in 0..g.len() as u32 {
            let c = tess.nodes[v as usize].cell;
            if tess.nodes_of(c).len() != 1 {
                continue;
            }
            if g.neighbours(v)
                .iter()
                .any(|&u| a[u as usize] != a[v as usize] && barriers.crosses(centre(v), centre(u)))
            {
                cand.push(c);
            }
        }
        if cand.is_empty() {
            return out;
        }
        let mut hh_of: HashMap<u32, Vec<u32>> = cand
            .iter()
            .map(|&c| (tess.first_node[c as usize], Vec::new()))
            .collect();
        for &(i, n) in hh_node {
            if let Some(v) = hh_of.get_mut(&n) {
                v.push(i);
            }
        }
        let within = |h: u64, p: u64| {
            h >= rules.min_households
                && h <= rules.max_households
                && !(has_persons && rules.max_persons.is_some_and(|m| p > m))
        };
        let excess = |h: u64| {
            rules
                .min_households
                .saturating_sub(h)
                .max(h.saturating_sub(rules.max_households))
        };
        let mut hh_count = part.households.clone();
        let mut pp_count = part.persons.clone();
        for c in cand {
            let owner = a[tess.first_node[c as usize] as usize];
            let Some(cut) = cut_cell(tess, barriers, c) else {
                continue;
            };
            let pieces = assign(tess, a, barriers, c, owner, cut.faces);
            if pieces.iter().all(|p| p.1 == owner) {
                continue;
            }
            // Households follow the piece they stand in.
            let mut delta: Vec<(u32, i64, i64)> = Vec::new();
            for &i in &hh_of[&tess.first_node[c as usize]] {
                let h = &households[i as usize];
                let r = pieces
                    .iter()
                    .find(|p| p.0.intersects(&h.location.0))
                    .map_or(owner, |p| p.1);
                if r != owner {
                    let (n, p) = (i64::from(h.households), i64::from(h.persons.unwrap_or(0)));
                    delta.push((r, n, p));
                    delta.push((owner, -n, -p));
                }
            }
            let mut regions: Vec<u32> = delta.iter().map(|d| d.0).collect();
            regions.sort_unstable();
            regions.dedup();
            let after = |r: u32| {
                let (dh, dp) = delta
                    .iter()
                    .filter(|d| d.0 == r)
                    .fold((0i64, 0i64), |s, d| (s.0 + d.1, s.1 + d.2));
                (
                    (hh_count[r as usize] as i64 + dh) as u64,
                    (pp_count[r as usize] as i64 + dp) as u64,
                )
            };
            let fine = regions.iter().all(|&r| {
                let (h, p) = after(r);
                let (h0, p0) = (hh_count[r as usize], pp_count[r as usize]);
                within(h, p) || (!within(h0, p0) && excess(h) <= excess(h0))
            });
            if !fine {
                continue;
            }
            let updated: Vec<(u32, (u64, u64))> = regions.iter().map(|&r| (r, after(r))).collect();
            for (r, (h, p)) in updated {
                hh_count[r as usize] = h;
                pp_count[r as usize] = p;
            }
            out.cells.push(SplitCell {
                cell: c,
                owner,
                pieces,
                ends: cut.ends,
            });
        }
        out.reindex();
        out
    }
}

/// A position on a cell's outline: edge index and parameter along it (from
/// the cell's vertex `i` to `i + 1`).
#[derive(Clone, Copy)]
struct Pos {
    edge: usize,
    t: f64,
}

/// A point on a cell's outline: coordinates, the chord end it is (chord,
/// which end) if any, and its position.
type Event = (Coord<f64>, Option<(usize, usize)>, Pos);

/// One barrier chord through a cell: outline position of each end and the
/// points from the first end to the last.
struct Chord {
    ends: [Pos; 2],
    points: Vec<Coord<f64>>,
}

struct Cut {
    faces: Vec<Face>,
    ends: Vec<(u32, u32, f64, Coord<f64>)>,
}

/// A face of a cut cell and the outline arcs it has on each cell edge.
struct Face {
    ring: Vec<Coord<f64>>,
    arcs: Vec<(usize, Coord<f64>, Coord<f64>)>,
}

fn orient(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> Orientation {
    RobustKernel::orient2d(a, b, p)
}

/// Cuts cell c along the barriers through it, or `None` when the barriers do
/// not cut it cleanly.
fn cut_cell(tess: &Tessellation, barriers: &BarrierIndex, c: u32) -> Option<Cut> {
    let ci = c as usize;
    let k = tess.nv[ci] as usize;
    let vid = |i: usize| tess.verts[ci][i % k];
    let vx = |i: usize| tess.vcoord[vid(i) as usize];
    let (mut min, mut max) = (vx(0), vx(0));
    for i in 1..k {
        let p = vx(i);
        min = Coord {
            x: min.x.min(p.x),
            y: min.y.min(p.y),
        };
        max = Coord {
            x: max.x.max(p.x),
            y: max.y.max(p.y),
        };
    }
    // Winding of the cell outline: "inside" is this side of every edge.
    let ccw = {
        let (o, p, q) = (vx(0), vx(1), vx(2));
        orient(o, p, q) == Orientation::CounterClockwise
    };
    let side = |i: usize, p: Coord<f64>| match (orient(vx(i), vx(i + 1), p), ccw) {
        (Orientation::Collinear, _) => 0,
        (Orientation::CounterClockwise, true) | (Orientation::Clockwise, false) => 1,
        _ => -1,
    };
    // 1 strictly inside, -1 strictly outside, 0 on the outline (degenerate).
    let class = |p: Coord<f64>| {
        let s: Vec<i32> = (0..k).map(|i| side(i, p)).collect();
        if s.iter().all(|&x| x > 0) {
            1
        } else if s.iter().any(|&x| x < 0) {
            -1
        } else {
            0
        }
    };
    // Pieces of barrier segments inside the cell: (start, end), each an
    // outline crossing or a barrier vertex inside.
    #[derive(Clone, Copy, PartialEq)]
    enum End {
        Out(usize),
        In(Coord<f64>),
    }
    let mut crossings: Vec<(Pos, Coord<f64>, u32, u32, f64)> = Vec::new();
    let mut runs: Vec<(End, End)> = Vec::new();
    for (p, q) in barriers.segments_in(min, max) {
        let (cp, cq) = (class(p), class(q));
        if cp == 0 || cq == 0 {
            return None;
        }
        let mut hits: Vec<(f64, usize)> = Vec::new();
        for i in 0..k {
            let (a, b) = (vx(i), vx(i + 1));
            let (sa, sb) = (orient(p, q, a), orient(p, q, b));
            let (sp, sq) = (orient(a, b, p), orient(a, b, q));
            let on_segment = |v: Coord<f64>| {
                v.x >= p.x.min(q.x)
                    && v.x <= p.x.max(q.x)
                    && v.y >= p.y.min(q.y)
                    && v.y <= p.y.max(q.y)
            };
            if (sa == Orientation::Collinear && on_segment(a))
                || (sb == Orientation::Collinear && on_segment(b))
            {
                return None; // through a cell vertex
            }
            if sa != sb
                && sp != sq
                && sa != Orientation::Collinear
                && sb != Orientation::Collinear
                && sp != Orientation::Collinear
                && sq != Orientation::Collinear
            {
                let (lo, hi) = (vid(i).min(vid(i + 1)), vid(i).max(vid(i + 1)));
                let x = crossing(tess, lo, hi, p, q);
                let tl = param(tess.vcoord[lo as usize], tess.vcoord[hi as usize], x);
                if !(1e-9..=1.0 - 1e-9).contains(&tl) {
                    return None;
                }
                let t = if vid(i) == lo { tl } else { 1.0 - tl };
                let along = param(p, q, x);
                crossings.push((Pos { edge: i, t }, x, lo, hi, tl));
                hits.push((along, crossings.len() - 1));
            }
        }
        hits.sort_by(|a, b| a.0.total_cmp(&b.0));
        let inner = |x: Coord<f64>| -> Option<End> {
            let s = tess.snap.coord(x);
            (class(s) == 1).then_some(End::In(s))
        };
        match (cp, cq, hits.len()) {
            (1, 1, 0) => runs.push((inner(p)?, inner(q)?)),
            (1, -1, 1) => runs.push((inner(p)?, End::Out(hits[0].1))),
            (-1, 1, 1) => runs.push((End::Out(hits[0].1), inner(q)?)),
            (-1, -1, 0) => {}
            (-1, -1, 2) => runs.push((End::Out(hits[0].1), End::Out(hits[1].1))),
            _ => return None,
        }
    }
    if runs.is_empty() {
        return None;
    }
    // Chain runs into chords from one crossing to another; every inside
    // vertex must continue exactly one run (no dead ends, no junctions).
    let mut chords: Vec<Chord> = Vec::new();
    let mut used = vec![false; runs.len()];
    for s in 0..runs.len() {
        let End::Out(first) = runs[s].0 else {
            continue;
        };
        used[s] = true;
        let mut points = vec![crossings[first].1];
        let mut cur = runs[s].1;
        let mut steps = 0;
        let last = loop {
            match cur {
                End::Out(x) => break x,
                End::In(v) => {
                    points.push(v);
                    let next: Vec<usize> = (0..runs.len())
                        .filter(|&j| runs[j].0 == End::In(v))
                        .collect();
                    if next.len() != 1 || used[next[0]] || steps > runs.len() {
                        return None;
                    }
                    used[next[0]] = true;
                    cur = runs[next[0]].1;
                    steps += 1;
                }
            }
        };
        points.push(crossings[last].1);
        chords.push(Chord {
            ends: [crossings[first].0, crossings[last].0],
            points,
        });
    }
    if used.iter().any(|&u| !u) {
        return None;
    }
    // Outline events in order: each vertex, then the crossings on its edge.
    let mut events: Vec<Event> = Vec::new();
    for i in 0..k {
        events.push((vx(i), None, Pos { edge: i, t: 0.0 }));
        let mut on: Vec<(f64, usize, usize)> = Vec::new();
        for (j, ch) in chords.iter().enumerate() {
            for (e, p) in ch.ends.iter().enumerate() {
                if p.edge == i {
                    on.push((p.t, j, e));
                }
            }
        }
        on.sort_by(|a, b| a.0.total_cmp(&b.0));
        if on.windows(2).any(|w| w[1].0 - w[0].0 < 1e-9) {
            return None;
        }
        for (t, j, e) in on {
            events.push((
                chords[j].points[if e == 0 {
                    0
                } else {
                    chords[j].points.len() - 1
                }],
                Some((j, e)),
                Pos { edge: i, t },
            ));
        }
    }
    let n = events.len();
    let at: HashMap<(usize, usize), usize> = events
        .iter()
        .enumerate()
        .filter_map(|(x, e)| e.1.map(|ce| (ce, x)))
        .collect();
    // Chords must not cross: their ends may not interleave on the outline, and
    // no two chord segments may meet.
    let span: Vec<(usize, usize)> = (0..chords.len())
        .map(|j| {
            let (a, b) = (at[&(j, 0)], at[&(j, 1)]);
            (a.min(b), a.max(b))
        })
        .collect();
    for j in 0..chords.len() {
        for l in j + 1..chords.len() {
            let inside = |x: usize| x > span[j].0 && x < span[j].1;
            if inside(span[l].0) != inside(span[l].1) {
                return None;
            }
            for w in chords[j].points.windows(2) {
                for u in chords[l].points.windows(2) {
                    if segments_meet(w[0], w[1], u[0], u[1]) {
                        return None;
                    }
                }
            }
        }
    }
    // Faces: walk the outline; at a chord end, follow the chord to its other
    // end and go on along the outline from there.
    let mut done = vec![false; n];
    let mut faces = Vec::new();
    for s in 0..n {
        if done[s] {
            continue;
        }
        let mut ring = Vec::new();
        let mut arcs = Vec::new();
        let mut cur = s;
        let mut guard = 0;
        loop {
            guard += 1;
            if guard > 2 * n + 2 || done[cur] {
                return None;
            }
            done[cur] = true;
            ring.push(events[cur].0);
            let nx = (cur + 1) % n;
            arcs.push((events[cur].2.edge, events[cur].0, events[nx].0));
            cur = match events[nx].1 {
                Some((j, e)) => {
                    let pts = &chords[j].points;
                    if e == 0 {
                        ring.extend(pts[..pts.len() - 1].iter().copied());
                    } else {
                        ring.extend(pts[1..].iter().rev().copied());
                    }
                    at[&(j, 1 - e)]
                }
                None => nx,
            };
            if cur == s {
                break;
            }
        }
        ring.push(ring[0]);
        faces.push(Face { ring, arcs });
    }
    // The faces must tile the cell.
    let o = vx(0);
    let area = |r: &[Coord<f64>]| -> f64 {
        r.windows(2)
            .map(|w| (w[0].x - o.x) * (w[1].y - o.y) - (w[1].x - o.x) * (w[0].y - o.y))
            .sum::<f64>()
            .abs()
            / 2.0
    };
    let mut hex: Vec<Coord<f64>> = (0..=k).map(vx).collect();
    hex[k] = hex[0];
    let total: f64 = faces.iter().map(|f| area(&f.ring)).sum();
    if (total - area(&hex)).abs() > 1e-6 * area(&hex) {
        return None;
    }
    let ends = crossings
        .iter()
        .map(|&(_, x, lo, hi, tl)| (lo, hi, tl, x))
        .collect();
    Some(Cut { faces, ends })
}

/// Gives each face the region of the neighbours it touches on its side of the
/// barriers (weighted by the length of outline shared), or the cell's own.
fn assign(
    tess: &Tessellation,
    part: &[u32],
    barriers: &BarrierIndex,
    c: u32,
    owner: u32,
    faces: Vec<Face>,
) -> Vec<(Polygon<f64>, u32)> {
    let f = &tess.frame;
    let len = |a: Coord<f64>, b: Coord<f64>| {
        let (a, b) = (f.to_local(a), f.to_local(b));
        (b.x - a.x).hypot(b.y - a.y)
    };
    faces
        .into_iter()
        .map(|face| {
            let local: Vec<Coord<f64>> = face.ring.iter().map(|&p| f.to_local(p)).collect();
            let area_m2 = local
                .windows(2)
                .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                .sum::<f64>()
                .abs()
                / 2.0;
            let mut weight: Vec<(u32, f64)> = Vec::new();
            if area_m2 >= MIN_PIECE_M2 {
                for &(edge, a, b) in &face.arcs {
                    let d = tess.nbr[c as usize][edge];
                    if d == NONE || tess.nodes_of(d).len() != 1 {
                        continue;
                    }
                    let node = tess.first_node[d as usize];
                    let mid = Coord {
                        x: (a.x + b.x) * 0.5,
                        y: (a.y + b.y) * 0.5,
                    };
                    let dc = f.to_degrees(tess.nodes[node as usize].centroid);
                    if barriers.crosses(mid, dc) {
                        continue;
                    }
                    let r = part[node as usize];
                    match weight.iter_mut().find(|w| w.0 == r) {
                        Some(w) => w.1 += len(a, b),
                        None => weight.push((r, len(a, b))),
                    }
                }
            }
            // Heaviest region; ties go to the owner, then to the lower id.
            let region = weight
                .iter()
                .max_by(|x, y| {
                    x.1.total_cmp(&y.1)
                        .then((x.0 == owner).cmp(&(y.0 == owner)))
                        .then(y.0.cmp(&x.0))
                })
                .map_or(owner, |w| w.0);
            (Polygon::new(LineString(face.ring), vec![]), region)
        })
        .collect()
}

/// Where the barrier segment p–q crosses the cell edge lo–hi, snapped to the
/// area's grid. Computed from the edge in canonical order and the segment in
/// a fixed order, so both cells of the edge get the same point.
fn crossing(tess: &Tessellation, lo: u32, hi: u32, p: Coord<f64>, q: Coord<f64>) -> Coord<f64> {
    let (p, q) = if (p.x, p.y) <= (q.x, q.y) {
        (p, q)
    } else {
        (q, p)
    };
    let (a, b) = (tess.vcoord[lo as usize], tess.vcoord[hi as usize]);
    let (e, d) = (b - a, q - p);
    let den = e.x * d.y - e.y * d.x;
    let w = p - a;
    let t = (w.x * d.y - w.y * d.x) / den;
    tess.snap.coord(Coord {
        x: a.x + e.x * t,
        y: a.y + e.y * t,
    })
}

/// Parameter of x's projection on a–b (0 at a, 1 at b).
fn param(a: Coord<f64>, b: Coord<f64>, x: Coord<f64>) -> f64 {
    let (e, w) = (b - a, x - a);
    (w.x * e.x + w.y * e.y) / (e.x * e.x + e.y * e.y)
}

/// Do the closed segments a–b and c–d meet?
fn segments_meet(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    use geo::Line;
    Line::new(a, b).intersects(&Line::new(c, d))
}
