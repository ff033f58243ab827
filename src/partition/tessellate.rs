//! H3 tessellation of one area: whole cells inside, clipped pieces at the edge.
//!
//! Cell polygons are built from the *canonical* H3 vertices (`VertexIndex`, one
//! owner per vertex), not from each cell's own boundary: H3 computes a shared
//! vertex from both cells' faces and the results can differ in the last bits.
//! With canonical vertices, neighbouring cells share bit-identical edges, so the
//! dissolved grids meet exactly and a household on a cell edge is on the edge of
//! both grids, never in a gap.
//!
//! The straight lon/lat segments between vertices are the cell edges used
//! everywhere in this module (tiling, point location, output), so they only need
//! to agree with each other, not with H3's own spherical edges.

use std::collections::HashMap;

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{BoundingRect, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution, VertexIndex};
use rayon::prelude::*;

use super::snap::Snap;
use crate::geodesy::LocalFrame;
use crate::model::{Area, Household, Rules};

/// Marks a missing neighbour or vertex.
pub(crate) const NONE: u32 = u32::MAX;

/// A node of the cell graph: a whole cell, or one piece of a clipped cell.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Index into [`Tessellation::cells`].
    pub cell: u32,
    /// Centroid in the area's local frame (metres).
    pub centroid: Coord<f64>,
    /// Area in square metres.
    pub area: f64,
}

impl Node {
    /// The node of one piece of cell `cell` (a polygon in degrees).
    pub(crate) fn of_piece(cell: u32, piece: &Polygon<f64>, frame: &LocalFrame) -> Node {
        let (area, centroid) = polygon_area_centroid(piece, frame);
        Node {
            cell,
            centroid,
            area,
        }
    }
}

/// The cells covering one area and the nodes built from them.
pub(crate) struct Tessellation {
    pub res: Resolution,
    pub frame: LocalFrame,
    /// Sorted cell indexes (sorting makes everything downstream deterministic).
    pub cells: Vec<CellIndex>,
    pub cell_id: HashMap<CellIndex, u32>,
    /// Canonical vertex ids of each cell, in H3 order (`nv[c]` of them).
    pub verts: Vec<[u32; 6]>,
    pub nv: Vec<u8>,
    /// Vertex coordinates (degrees).
    pub vcoord: Vec<Coord<f64>>,
    /// Neighbouring cell across edge i (from vertex i to vertex i+1), or NONE.
    pub nbr: Vec<[u32; 6]>,
    /// True for cells cut by the area boundary or refined into pieces; their
    /// nodes carry their own polygons in [`Tessellation::pieces`].
    pub clipped: Vec<bool>,
    /// True for cells cut into pieces between heavy household locations
    /// (see [`super::refine`]); their pieces are adjacent along the cuts.
    pub refined: Vec<bool>,
    /// The (up to three) cells meeting at each vertex.
    pub vcells: Vec<[u32; 3]>,
    /// Nodes of cell c are `first_node[c]..first_node[c + 1]`.
    pub first_node: Vec<u32>,
    pub nodes: Vec<Node>,
    /// Geometry of clipped nodes (degrees); `None` for whole cells.
    pub pieces: Vec<Option<Polygon<f64>>>,
    /// The area snapped to the area's precision grid (see [`super::snap`]).
    pub area: MultiPolygon<f64>,
    pub snap: Snap,
}

/// Chooses the resolution from household density: the coarsest one that gives
/// about 10–25 households per occupied cell (so cuts can balance grids to a few
/// percent) and at least ~40 cells per grid (so grid outlines can be compact),
/// capped at a cell count that keeps big empty areas affordable.
pub(crate) fn choose_resolution(
    households: &[Household],
    hh: &[u32],
    total: u64,
    area_m2: f64,
    rules: &Rules,
) -> Resolution {
    let target = rules.target().max(1) as f64;
    let k = (total as f64 / target).max(1.0);
    let area_per_grid = area_m2 / k;
    let max_w = (target / 16.0).max(4.0);
    // Deterministic sample of at most 2048 locations; the number of occupied
    // cells of the full set is estimated with the Good–Turing coverage 1 − f1/n
    // (f1 = cells seen once in the sample).
    let step = hh.len().div_ceil(2048).max(1);
    let fine: Vec<CellIndex> = hh
        .iter()
        .step_by(step)
        .map(|&i| &households[i as usize])
        .filter(|h| h.households > 0)
        .filter_map(|h| LatLng::new(h.location.y(), h.location.x()).ok())
        .map(|ll| ll.to_cell(Resolution::Thirteen))
        .collect();
    let sampled = step > 1;
    let locations = {
        let mut f = fine.clone();
        f.sort_unstable();
        f.dedup();
        f.len()
    };
    let mut chosen = Resolution::Thirteen;
    for r in 7u8..=13 {
        let res = Resolution::try_from(r).expect("valid");
        let cell_area = res.area_m2();
        if area_m2 / cell_area > 600_000.0 {
            continue;
        }
        if area_per_grid / cell_area < 40.0 {
            continue;
        }
        let mut occ: Vec<CellIndex> = fine.iter().filter_map(|c| c.parent(res)).collect();
        occ.sort_unstable();
        let n = occ.len();
        let mut distinct = 0usize;
        let mut singletons = 0usize;
        let mut i = 0;
        while i < n {
            let mut j = i + 1;
            while j < n && occ[j] == occ[i] {
                j += 1;
            }
            distinct += 1;
            if j - i == 1 {
                singletons += 1;
            }
            i = j;
        }
        let est = if sampled && n > 0 {
            let coverage = (1.0 - singletons as f64 / n as f64).max(1.0 / step as f64);
            distinct as f64 / coverage
        } else {
            distinct as f64
        };
        let mean_w = if est > 0.0 { total as f64 / est } else { 0.0 };
        // Point masses (e.g. one point per building or census unit): once
        // nearly every location has its own cell, finer cells do not help.
        if mean_w <= max_w || distinct as f64 >= 0.9 * locations as f64 {
            chosen = res;
            break;
        }
    }
    // Never so fine that the area needs more than ~600k cells.
    while chosen > Resolution::Seven && area_m2 / chosen.area_m2() > 600_000.0 {
        chosen = chosen.pred().expect("above seven");
    }
    chosen
}

/// Every cell that meets the area, flagged `true` when it lies wholly inside.
///
/// h3o's `Covers` tiler gives the same set but tests each outline cell with a
/// full `relate` against the whole area boundary, which dominated the run
/// time. Here: cells whose centre is inside (cheap point-in-polygon tiling),
/// plus every cell within one ring of a point sampled along the boundary at a
/// third of a cell edge; any cell the boundary passes through contains a
/// boundary point within a sixth of an edge of a sample, so it is that
/// sample's cell or a neighbour. Cells not reached by the boundary are wholly
/// inside or wholly outside, decided by their centre; candidates near the
/// boundary whose box meets no boundary edge are decided the same way, and
/// the rest are clipped later (an empty clip drops the cell).
fn cover(
    area: &Area,
    res: Resolution,
    frame: &LocalFrame,
) -> Result<Vec<(CellIndex, bool)>, String> {
    let mut tiler = TilerBuilder::new(res)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for p in &area.geometry.0 {
        tiler
            .add(p.clone())
            .map_err(|e| format!("cannot tile: {e}"))?;
    }
    let mut inner: Vec<CellIndex> = tiler.into_coverage().collect();
    inner.sort_unstable();
    inner.dedup();
    let step = res.edge_length_m() / 3.0;
    let mut near: Vec<CellIndex> = Vec::new();
    for p in &area.geometry.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for w in ring.0.windows(2) {
                let (a, b) = (w[0], w[1]);
                let (la, lb) = (frame.to_local(a), frame.to_local(b));
                let len = ((lb.x - la.x).powi(2) + (lb.y - la.y).powi(2)).sqrt();
                let n = (len / step).ceil().max(1.0) as usize;
                for t in 0..=n {
                    let f = t as f64 / n as f64;
                    let (x, y) = (a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f);
                    if let Ok(ll) = LatLng::new(y, x) {
                        near.push(ll.to_cell(res));
                    }
                }
            }
        }
    }
    near.sort_unstable();
    near.dedup();
    let mut ring1: Vec<CellIndex> = Vec::with_capacity(near.len() * 7);
    for c in &near {
        ring1.extend(c.grid_disk::<Vec<_>>(1));
    }
    ring1.sort_unstable();
    ring1.dedup();
    let rings = super::pip::BandedRings::new(&area.geometry);
    let mut out: Vec<(CellIndex, bool)> = Vec::with_capacity(inner.len() + ring1.len());
    let (mut i, mut j) = (0, 0);
    while i < inner.len() || j < ring1.len() {
        let take_inner = j >= ring1.len() || (i < inner.len() && inner[i] < ring1[j]);
        if take_inner {
            out.push((inner[i], true));
            i += 1;
            continue;
        }
        let c = ring1[j];
        if i < inner.len() && inner[i] == c {
            i += 1;
        }
        j += 1;
        // Box of the cell (own vertices, widened a little for the canonical
        // vertices' last bits).
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for ll in c.boundary().iter() {
            x0 = x0.min(ll.lng());
            y0 = y0.min(ll.lat());
            x1 = x1.max(ll.lng());
            y1 = y1.max(ll.lat());
        }
        let pad = (x1 - x0).max(y1 - y0) * 1e-6;
        if rings.meets_box(
            Coord {
                x: x0 - pad,
                y: y0 - pad,
            },
            Coord {
                x: x1 + pad,
                y: y1 + pad,
            },
        ) {
            out.push((c, false));
        } else {
            let ll = LatLng::from(c);
            if rings.covers(Coord {
                x: ll.lng(),
                y: ll.lat(),
            }) {
                out.push((c, true));
            }
        }
    }
    Ok(out)
}

impl Tessellation {
    pub(crate) fn new(area: &Area, res: Resolution, frame: LocalFrame) -> Result<Self, String> {
        let cov = cover(area, res, &frame)?;
        let cells: Vec<CellIndex> = cov.iter().map(|a| a.0).collect();
        let n = cells.len();
        let cell_id: HashMap<CellIndex, u32> = cells
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();

        // Canonical vertices.
        let cell_v: Vec<([VertexIndex; 6], u8)> = cells
            .par_iter()
            .map(|c| {
                let mut a = [None; 6];
                let mut k = 0;
                for v in c.vertexes() {
                    a[k] = Some(v);
                    k += 1;
                }
                let first = a[0].expect("cells have vertices");
                (a.map(|v| v.unwrap_or(first)), k as u8)
            })
            .collect();
        let mut vid: HashMap<VertexIndex, u32> = HashMap::with_capacity(n * 2 + 8);
        let mut vlist: Vec<VertexIndex> = Vec::with_capacity(n * 2 + 8);
        let mut verts = vec![[NONE; 6]; n];
        let mut nv = vec![0u8; n];
        for (c, (vs, k)) in cell_v.iter().enumerate() {
            nv[c] = *k;
            for i in 0..*k as usize {
                let id = *vid.entry(vs[i]).or_insert_with(|| {
                    vlist.push(vs[i]);
                    (vlist.len() - 1) as u32
                });
                verts[c][i] = id;
            }
        }
        // The precision frame: the area's box plus three cell edges all round,
        // which holds every cell that touches the area.
        let bbox = area.geometry.bounding_rect().expect("validated");
        let lat = bbox.center().y.to_radians().cos().max(0.05);
        let pad = 3.0 * res.edge_length_m() / (111_000.0 * lat) + 1e-9;
        let snap = Snap::new(Rect::new(
            Coord {
                x: bbox.min().x - pad,
                y: bbox.min().y - pad,
            },
            Coord {
                x: bbox.max().x + pad,
                y: bbox.max().y + pad,
            },
        ));
        let snapped_area = snap.multipolygon(&area.geometry);
        let vcoord: Vec<Coord<f64>> = vlist
            .par_iter()
            .map(|&v| {
                let ll = LatLng::from(v);
                snap.coord(Coord {
                    x: ll.lng(),
                    y: ll.lat(),
                })
            })
            .collect();
        // Vertex → cells (at most 3), then neighbours across each edge.
        let mut vcells = vec![[NONE; 3]; vlist.len()];
        for c in 0..n {
            for i in 0..nv[c] as usize {
                let slot = &mut vcells[verts[c][i] as usize];
                if let Some(s) = slot.iter_mut().find(|s| **s == NONE) {
                    *s = c as u32;
                }
            }
        }
        let mut nbr = vec![[NONE; 6]; n];
        for c in 0..n {
            let k = nv[c] as usize;
            for i in 0..k {
                let a = verts[c][i] as usize;
                let b = verts[c][(i + 1) % k] as usize;
                for &d in &vcells[a] {
                    if d != NONE && d != c as u32 && vcells[b].contains(&d) {
                        nbr[c][i] = d;
                    }
                }
            }
        }

        let mut tess = Tessellation {
            res,
            frame,
            cells,
            cell_id,
            verts,
            nv,
            vcoord,
            nbr,
            clipped: cov.iter().map(|a| !a.1).collect(),
            refined: vec![false; n],
            vcells,
            first_node: Vec::new(),
            nodes: Vec::new(),
            pieces: Vec::new(),
            area: snapped_area,
            snap,
        };

        // Clip the boundary cells, grouped by a coarser parent so each clip only
        // sees the part of the area boundary near it.
        let boundary: Vec<u32> = (0..n as u32)
            .filter(|&c| tess.clipped[c as usize])
            .collect();
        let area_vertices: usize = area
            .geometry
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
        let mut groups: Vec<(u64, Vec<u32>)> = Vec::new();
        {
            let parent_res = Resolution::try_from(u8::from(res).saturating_sub(2)).unwrap_or(res);
            let mut by: Vec<(u64, u32)> = boundary
                .iter()
                .map(|&c| {
                    let key = if area_vertices > 300 {
                        u64::from(
                            tess.cells[c as usize]
                                .parent(parent_res)
                                .unwrap_or(tess.cells[c as usize]),
                        )
                    } else {
                        0
                    };
                    (key, c)
                })
                .collect();
            by.sort_unstable();
            for (key, c) in by {
                match groups.last_mut() {
                    Some((k, v)) if *k == key => v.push(c),
                    _ => groups.push((key, vec![c])),
                }
            }
        }
        // Per group: (cell, pieces, came back whole).
        type Clipped = (u32, Vec<Polygon<f64>>, bool);
        let clipped_pieces: Vec<Vec<Clipped>> = groups
            .par_iter()
            .map(|(_, group)| {
                let hexes: Vec<Polygon<f64>> = group.iter().map(|&c| tess.hex_polygon(c)).collect();
                let local: MultiPolygon<f64> = if area_vertices > 300 {
                    let mut r: Option<Rect<f64>> = None;
                    for h in &hexes {
                        let b = h.bounding_rect().expect("hex");
                        r = Some(match r {
                            None => b,
                            Some(r) => Rect::new(
                                Coord {
                                    x: r.min().x.min(b.min().x),
                                    y: r.min().y.min(b.min().y),
                                },
                                Coord {
                                    x: r.max().x.max(b.max().x),
                                    y: r.max().y.max(b.max().y),
                                },
                            ),
                        });
                    }
                    let r = r.expect("non-empty group");
                    let pad = (r.width() + r.height()) * 0.05;
                    let f = tess.snap.rect();
                    let r = Rect::new(
                        Coord {
                            x: (r.min().x - pad).max(f.min().x + pad),
                            y: (r.min().y - pad).max(f.min().y + pad),
                        },
                        Coord {
                            x: (r.max().x + pad).min(f.max().x - pad),
                            y: (r.max().y + pad).min(f.max().y - pad),
                        },
                    );
                    tess.snap
                        .intersection(&tess.area, &MultiPolygon(vec![r.to_polygon()]))
                } else {
                    tess.area.clone()
                };
                group
                    .iter()
                    .zip(hexes)
                    .map(|(&c, hex)| {
                        let hex_area = geo::Area::unsigned_area(&hex);
                        let mut ps: Vec<Polygon<f64>> = tess
                            .snap
                            .intersection(&MultiPolygon(vec![hex]), &local)
                            .0
                            .into_iter()
                            .filter(|p| geo::Area::unsigned_area(p) > hex_area * 1e-12)
                            .collect();
                        // Deterministic piece order: by first exterior coordinate.
                        ps.sort_by(|a, b| {
                            let (ca, cb) = (a.exterior().0[0], b.exterior().0[0]);
                            ca.x.total_cmp(&cb.x).then(ca.y.total_cmp(&cb.y))
                        });
                        // A candidate the area boundary only touches comes
                        // back whole: treat it as a whole cell (its canonical
                        // outline, the ring test, smoothing).
                        let whole = ps.len() == 1
                            && (geo::Area::unsigned_area(&ps[0]) - hex_area).abs()
                                <= hex_area * 1e-9;
                        (c, ps, whole)
                    })
                    .collect()
            })
            .collect();
        let mut pieces_of: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); n];
        for g in clipped_pieces {
            for (c, ps, whole) in g {
                if whole {
                    tess.clipped[c as usize] = false;
                } else {
                    pieces_of[c as usize] = ps;
                }
            }
        }
        // Nodes.
        let mut first_node = Vec::with_capacity(n + 1);
        let mut nodes = Vec::with_capacity(n + boundary.len());
        let mut pieces = Vec::with_capacity(n + boundary.len());
        for (c, cell_pieces) in pieces_of.iter_mut().enumerate() {
            first_node.push(nodes.len() as u32);
            if !tess.clipped[c] {
                let ring: Vec<Coord<f64>> = (0..tess.nv[c] as usize)
                    .map(|i| frame.to_local(tess.vcoord[tess.verts[c][i] as usize]))
                    .collect();
                let (area, centroid) = ring_area_centroid(&ring);
                nodes.push(Node {
                    cell: c as u32,
                    centroid,
                    area: area.abs(),
                });
                pieces.push(None);
            } else {
                for p in std::mem::take(cell_pieces) {
                    nodes.push(Node::of_piece(c as u32, &p, &frame));
                    pieces.push(Some(p));
                }
            }
        }
        first_node.push(nodes.len() as u32);
        tess.first_node = first_node;
        tess.nodes = nodes;
        tess.pieces = pieces;
        Ok(tess)
    }

    /// The cell's polygon from canonical vertices (degrees).
    pub(crate) fn hex_polygon(&self, c: u32) -> Polygon<f64> {
        let c = c as usize;
        let k = self.nv[c] as usize;
        let mut ring: Vec<Coord<f64>> = (0..k)
            .map(|i| self.vcoord[self.verts[c][i] as usize])
            .collect();
        ring.push(ring[0]);
        Polygon::new(LineString(ring), vec![])
    }

    /// Closed point-in-cell test on the canonical (convex) cell polygon.
    fn hex_covers(&self, c: u32, p: Coord<f64>) -> bool {
        let c = c as usize;
        let k = self.nv[c] as usize;
        let (mut pos, mut neg) = (false, false);
        for i in 0..k {
            let a = self.vcoord[self.verts[c][i] as usize];
            let b = self.vcoord[self.verts[c][(i + 1) % k] as usize];
            // Robust predicate: the oracle (and any GIS) decides exactly, so a
            // point a rounding error off an edge must go to the right cell.
            match RobustKernel::orient2d(a, b, p) {
                Orientation::CounterClockwise => pos = true,
                Orientation::Clockwise => neg = true,
                Orientation::Collinear => {}
            }
        }
        !(pos && neg)
    }

    pub(crate) fn nodes_of(&self, c: u32) -> std::ops::Range<u32> {
        self.first_node[c as usize]..self.first_node[c as usize + 1]
    }

    /// The node holding a point known to lie in the area (closed). Uses the
    /// same polygons as the output, so a recount by point-in-polygon agrees.
    pub(crate) fn locate(&self, p: Coord<f64>) -> u32 {
        let guess = LatLng::new(p.y, p.x).map(|ll| ll.to_cell(self.res)).ok();
        let mut candidates: Vec<u32> = Vec::with_capacity(8);
        if let Some(g) = guess {
            if let Some(&c) = self.cell_id.get(&g) {
                candidates.push(c);
                candidates.extend(self.nbr[c as usize].iter().copied().filter(|&d| d != NONE));
            } else {
                for d in g.grid_disk::<Vec<_>>(1) {
                    if let Some(&c) = self.cell_id.get(&d) {
                        candidates.push(c);
                    }
                }
            }
        }
        for &c in &candidates {
            if !self.hex_covers(c, p) {
                continue;
            }
            if let Some(n) = self.node_in_cell(c, p) {
                return n;
            }
        }
        // Numerical corner (a point on the area boundary that the clip moved by
        // a rounding error, or a cell H3 did not report): the nearest node.
        self.nearest_node(p, &candidates)
    }

    /// The node holding a point, or `None` when the point is outside the area.
    pub(crate) fn node_at(&self, p: Coord<f64>) -> Option<u32> {
        let g = LatLng::new(p.y, p.x).ok()?.to_cell(self.res);
        let c = *self.cell_id.get(&g)?;
        std::iter::once(c)
            .chain(self.nbr[c as usize].iter().copied().filter(|&d| d != NONE))
            .filter(|&d| self.hex_covers(d, p))
            .find_map(|d| self.node_in_cell(d, p))
    }

    fn node_in_cell(&self, c: u32, p: Coord<f64>) -> Option<u32> {
        let r = self.nodes_of(c);
        if r.is_empty() {
            return None;
        }
        if !self.clipped[c as usize] {
            return Some(r.start);
        }
        r.clone().find(|&n| {
            self.pieces[n as usize]
                .as_ref()
                .is_some_and(|poly| poly.intersects(&p))
        })
    }

    fn nearest_node(&self, p: Coord<f64>, candidates: &[u32]) -> u32 {
        let q = self.frame.to_local(p);
        let d2 = |n: u32| {
            let c = self.nodes[n as usize].centroid;
            (c.x - q.x).powi(2) + (c.y - q.y).powi(2)
        };
        let mut best: Option<(f64, u32)> = None;
        let consider = |n: u32, best: &mut Option<(f64, u32)>| {
            let d = d2(n);
            if best.map_or(true, |(bd, bn)| d < bd || (d == bd && n < bn)) {
                *best = Some((d, n));
            }
        };
        for &c in candidates {
            for n in self.nodes_of(c) {
                consider(n, &mut best);
            }
        }
        if best.is_none() {
            for n in 0..self.nodes.len() as u32 {
                consider(n, &mut best);
            }
        }
        best.map(|b| b.1).unwrap_or(0)
    }
}

/// Shoelace area (signed) and centroid of a closed ring given without repeat.
fn ring_area_centroid(ring: &[Coord<f64>]) -> (f64, Coord<f64>) {
    let n = ring.len();
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    let o = ring[0];
    for i in 0..n {
        let p = ring[i] - o;
        let q = ring[(i + 1) % n] - o;
        let cr = p.x * q.y - q.x * p.y;
        a += cr;
        cx += (p.x + q.x) * cr;
        cy += (p.y + q.y) * cr;
    }
    let a2 = a / 2.0;
    if a2.abs() < 1e-300 {
        let m = ring.iter().fold(Coord { x: 0.0, y: 0.0 }, |s, c| s + *c) / n as f64;
        return (0.0, m);
    }
    (
        a2,
        Coord {
            x: cx / (6.0 * a2) + o.x,
            y: cy / (6.0 * a2) + o.y,
        },
    )
}

/// Area (m²) and centroid (local metres) of a polygon given in degrees.
pub(crate) fn polygon_area_centroid(p: &Polygon<f64>, frame: &LocalFrame) -> (f64, Coord<f64>) {
    let mut total = 0.0;
    let mut sx = 0.0;
    let mut sy = 0.0;
    for (i, ring) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        let pts: Vec<Coord<f64>> = ring
            .0
            .iter()
            .take(ring.0.len().saturating_sub(1))
            .map(|&c| frame.to_local(c))
            .collect();
        if pts.len() < 3 {
            continue;
        }
        let (a, c) = ring_area_centroid(&pts);
        let a = if i == 0 { a.abs() } else { -a.abs() };
        total += a;
        sx += a * c.x;
        sy += a * c.y;
    }
    if total.abs() < 1e-300 {
        let c = frame.to_local(p.exterior().0[0]);
        return (0.0, c);
    }
    (
        total,
        Coord {
            x: sx / total,
            y: sy / total,
        },
    )
}
