//! The node graph: which nodes share an edge of positive length, and which of
//! those edges cross a barrier line.
//!
//! Adjacency is decided on the clipped geometry, not on H3 neighbourhood alone:
//! two clipped pieces of neighbouring cells are adjacent only if their outlines
//! overlap along the shared cell edge. Then "connected in the graph" means "one
//! polygon on the ground", which is what the contiguity guarantee is about. Two
//! pieces that only touch at a point are not adjacent.
//!
//! A graph edge whose centre-to-centre segment crosses a barrier (road, river,
//! railway) gets a low cut cost, so the region refinement prefers to put grid
//! edges along barriers.

use geo_types::Coord;
use rstar::primitives::{GeomWithData, Line};
use rstar::{RTree, AABB};

use super::split::Splits;
use super::tessellate::{Tessellation, NONE};
use crate::model::Barrier;
use geo::Intersects;

type Seg = GeomWithData<Line<[f64; 2]>, ()>;

/// Per cell edge, the parameter intervals a clipped piece covers on it.
type EdgeIntervals = Vec<Vec<(f64, f64)>>;

/// All barrier segments, indexed.
pub(crate) struct BarrierIndex {
    tree: RTree<Seg>,
}

impl BarrierIndex {
    pub(crate) fn new(barriers: &[Barrier]) -> Self {
        let mut segs = Vec::new();
        for b in barriers {
            for ls in &b.geometry.0 {
                for w in ls.0.windows(2) {
                    if w[0] != w[1]
                        && w[0].x.is_finite()
                        && w[1].x.is_finite()
                        && w[0].y.is_finite()
                        && w[1].y.is_finite()
                    {
                        segs.push(GeomWithData::new(
                            Line::new([w[0].x, w[0].y], [w[1].x, w[1].y]),
                            (),
                        ));
                    }
                }
            }
        }
        BarrierIndex {
            tree: RTree::bulk_load(segs),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Does segment a–b cross (or touch) any barrier segment?
    pub(crate) fn crosses(&self, a: Coord<f64>, b: Coord<f64>) -> bool {
        let env = AABB::from_corners([a.x.min(b.x), a.y.min(b.y)], [a.x.max(b.x), a.y.max(b.y)]);
        self.tree.locate_in_envelope_intersecting(&env).any(|s| {
            let l = s.geom();
            segments_intersect(
                a,
                b,
                Coord {
                    x: l.from[0],
                    y: l.from[1],
                },
                Coord {
                    x: l.to[0],
                    y: l.to[1],
                },
            )
        })
    }

    /// Barrier segments whose bounding boxes meet the rectangle.
    pub(crate) fn segments_in(
        &self,
        min: Coord<f64>,
        max: Coord<f64>,
    ) -> Vec<(Coord<f64>, Coord<f64>)> {
        let env = AABB::from_corners([min.x, min.y], [max.x, max.y]);
        let mut v: Vec<(Coord<f64>, Coord<f64>)> = self
            .tree
            .locate_in_envelope_intersecting(&env)
            .map(|s| {
                let l = s.geom();
                (
                    Coord {
                        x: l.from[0],
                        y: l.from[1],
                    },
                    Coord {
                        x: l.to[0],
                        y: l.to[1],
                    },
                )
            })
            .collect();
        // The tree's order depends on insertion; sort for determinism of sums.
        v.sort_by(|p, q| {
            (p.0.x, p.0.y, p.1.x, p.1.y)
                .partial_cmp(&(q.0.x, q.0.y, q.1.x, q.1.y))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }
}

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

fn segments_intersect(p1: Coord<f64>, p2: Coord<f64>, q1: Coord<f64>, q2: Coord<f64>) -> bool {
    let d1 = orient(q1, q2, p1);
    let d2 = orient(q1, q2, p2);
    let d3 = orient(p1, p2, q1);
    let d4 = orient(p1, p2, q2);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    let on = |a: Coord<f64>, b: Coord<f64>, c: Coord<f64>| {
        c.x >= a.x.min(b.x) && c.x <= a.x.max(b.x) && c.y >= a.y.min(b.y) && c.y <= a.y.max(b.y)
    };
    (d1 == 0.0 && on(q1, q2, p1))
        || (d2 == 0.0 && on(q1, q2, p2))
        || (d3 == 0.0 && on(p1, p2, q1))
        || (d4 == 0.0 && on(p1, p2, q2))
}

/// Node adjacency in CSR form with cut costs.
pub(crate) struct Graph {
    pub xadj: Vec<u32>,
    pub adj: Vec<u32>,
    /// Cost of cutting each adjacency (1, or the barrier cost).
    pub cost: Vec<f32>,
    /// Length in metres of the outline two adjacent nodes share (parallel to
    /// `adj`), so region perimeters, hence Polsby–Popper, can be kept exactly
    /// as nodes move.
    pub shared: Vec<f32>,
    /// Perimeter in metres of each node's polygon (holes included).
    pub perim: Vec<f64>,
    /// For whole cells whose six neighbours are whole cells: the neighbour nodes
    /// in cyclic order (enables an O(1) "stays connected" test). `[NONE; 6]`
    /// otherwise.
    pub ring: Vec<[u32; 6]>,
}

impl Graph {
    pub(crate) fn neighbours(&self, v: u32) -> &[u32] {
        &self.adj[self.xadj[v as usize] as usize..self.xadj[v as usize + 1] as usize]
    }

    pub(crate) fn costs(&self, v: u32) -> &[f32] {
        &self.cost[self.xadj[v as usize] as usize..self.xadj[v as usize + 1] as usize]
    }

    /// Shared outline lengths (metres), parallel to [`Graph::neighbours`].
    pub(crate) fn shared(&self, v: u32) -> &[f32] {
        &self.shared[self.xadj[v as usize] as usize..self.xadj[v as usize + 1] as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.xadj.len() - 1
    }

    pub(crate) fn build(
        tess: &Tessellation,
        _area: &geo_types::MultiPolygon<f64>,
        barriers: &BarrierIndex,
        barrier_cost: f64,
    ) -> Graph {
        let n_nodes = tess.nodes.len();
        let n_cells = tess.cells.len();
        // Intervals covered by each clipped node along each edge of its cell,
        // parametrised from the lower to the higher canonical vertex id.
        let mut intervals: Vec<Option<EdgeIntervals>> = vec![None; n_nodes];
        for (v, iv) in intervals.iter_mut().enumerate() {
            if let Some(p) = &tess.pieces[v] {
                iv.replace(piece_intervals(tess, tess.nodes[v].cell, p));
            }
        }
        let mut pairs: Vec<(u32, u32, f32)> = Vec::with_capacity(n_nodes * 3);
        let local = |id: u32| tess.frame.to_local(tess.vcoord[id as usize]);
        let edge_m = |c: usize, i: usize| {
            let k = tess.nv[c] as usize;
            let (a, b) = (local(tess.verts[c][i]), local(tess.verts[c][(i + 1) % k]));
            ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt()
        };
        for c in 0..n_cells {
            let k = tess.nv[c] as usize;
            for i in 0..k {
                let d = tess.nbr[c][i];
                if d == NONE || (d as usize) < c {
                    continue;
                }
                let j = match (0..tess.nv[d as usize] as usize)
                    .find(|&j| tess.nbr[d as usize][j] == c as u32)
                {
                    Some(j) => j,
                    None => continue,
                };
                for a in tess.nodes_of(c as u32) {
                    for b in tess.nodes_of(d) {
                        let ia = edge_intervals(&intervals[a as usize], i);
                        let ib = edge_intervals(&intervals[b as usize], j);
                        let common = overlap(&ia, &ib);
                        if common > 1e-7 {
                            pairs.push((a, b, (common * edge_m(c, i)) as f32));
                        }
                    }
                }
            }
        }
        pairs.extend(super::refine::sibling_edges(tess));
        let mut deg = vec![0u32; n_nodes + 1];
        for &(a, b, _) in &pairs {
            deg[a as usize] += 1;
            deg[b as usize] += 1;
        }
        let mut xadj = vec![0u32; n_nodes + 1];
        for v in 0..n_nodes {
            xadj[v + 1] = xadj[v] + deg[v];
        }
        let mut fill = xadj.clone();
        let mut adj_len = vec![(0u32, 0f32); xadj[n_nodes] as usize];
        for &(a, b, l) in &pairs {
            adj_len[fill[a as usize] as usize] = (b, l);
            fill[a as usize] += 1;
            adj_len[fill[b as usize] as usize] = (a, l);
            fill[b as usize] += 1;
        }
        for v in 0..n_nodes {
            adj_len[xadj[v] as usize..xadj[v + 1] as usize].sort_unstable_by_key(|e| e.0);
        }
        let (adj, shared): (Vec<u32>, Vec<f32>) = adj_len.into_iter().unzip();
        let perim: Vec<f64> = (0..n_nodes)
            .map(|v| match &tess.pieces[v] {
                Some(p) => std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| {
                        r.0.windows(2)
                            .map(|w| {
                                let (a, b) = (tess.frame.to_local(w[0]), tess.frame.to_local(w[1]));
                                ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt()
                            })
                            .sum::<f64>()
                    })
                    .sum(),
                None => {
                    let c = tess.nodes[v].cell as usize;
                    (0..tess.nv[c] as usize).map(|i| edge_m(c, i)).sum()
                }
            })
            .collect();
        let mut cost = vec![1.0f32; adj.len()];
        if !barriers.is_empty() {
            let deg_c: Vec<Coord<f64>> = tess
                .nodes
                .iter()
                .map(|n| tess.frame.to_degrees(n.centroid))
                .collect();
            // Each undirected edge once; the reverse entry is found by binary
            // search in u's sorted neighbour list.
            for v in 0..n_nodes {
                for e in xadj[v] as usize..xadj[v + 1] as usize {
                    let u = adj[e] as usize;
                    if u > v && barriers.crosses(deg_c[v], deg_c[u]) {
                        cost[e] = barrier_cost as f32;
                        let row = xadj[u] as usize..xadj[u + 1] as usize;
                        let back = adj[row.clone()]
                            .binary_search(&(v as u32))
                            .expect("adjacency is symmetric");
                        cost[row.start + back] = barrier_cost as f32;
                    }
                }
            }
        }
        let mut ring = vec![[NONE; 6]; n_nodes];
        for c in 0..n_cells {
            if tess.clipped[c] || tess.nv[c] != 6 {
                continue;
            }
            let mut r = [NONE; 6];
            let mut ok = true;
            for (slot, &d) in r.iter_mut().zip(&tess.nbr[c]) {
                if d == NONE || tess.clipped[d as usize] {
                    ok = false;
                    break;
                }
                *slot = tess.first_node[d as usize];
            }
            if ok {
                ring[tess.first_node[c] as usize] = r;
            }
        }
        Graph {
            xadj,
            adj,
            cost,
            shared,
            perim,
            ring,
        }
    }
}

fn edge_intervals(iv: &Option<EdgeIntervals>, edge: usize) -> Vec<(f64, f64)> {
    match iv {
        None => vec![(0.0, 1.0)],
        Some(v) => v[edge].clone(),
    }
}

/// Total length (as a fraction of the edge) two interval lists share;
/// overlaps of 1e-7 or less (a touch at a point) count as none.
fn overlap(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    a.iter()
        .flat_map(|&(a0, a1)| b.iter().map(move |&(b0, b1)| a1.min(b1) - a0.max(b0)))
        .filter(|&d| d > 1e-7)
        .sum()
}

/// For each edge of the cell, the parameter intervals (0 = lower vertex id,
/// 1 = higher) along which the piece's outline runs on that edge.
fn piece_intervals(
    tess: &Tessellation,
    cell: u32,
    p: &geo_types::Polygon<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let c = cell as usize;
    let k = tess.nv[c] as usize;
    let mut out = vec![Vec::new(); k];
    let edges: Vec<(Coord<f64>, Coord<f64>, f64)> = (0..k)
        .map(|i| {
            let (va, vb) = (tess.verts[c][i], tess.verts[c][(i + 1) % k]);
            let (lo, hi) = if va < vb { (va, vb) } else { (vb, va) };
            let a = tess.vcoord[lo as usize];
            let b = tess.vcoord[hi as usize];
            let l2 = (b.x - a.x).powi(2) + (b.y - a.y).powi(2);
            (a, b, l2)
        })
        .collect();
    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
        for w in ring.0.windows(2) {
            let (s, t) = (w[0], w[1]);
            for (i, &(a, b, l2)) in edges.iter().enumerate() {
                let l = l2.sqrt();
                // Outline points on a cell edge are either cell vertices or
                // overlay intersections, both on the area's grid: a few grid
                // steps is the right tolerance (a looser one would call a
                // piece that only touches the edge at a point adjacent).
                let tol = 4.0 * tess.snap.unit();
                let ds = orient(a, b, s) / l;
                let dt = orient(a, b, t) / l;
                if ds.abs() > tol || dt.abs() > tol {
                    continue;
                }
                let us = ((s.x - a.x) * (b.x - a.x) + (s.y - a.y) * (b.y - a.y)) / l2;
                let ut = ((t.x - a.x) * (b.x - a.x) + (t.y - a.y) * (b.y - a.y)) / l2;
                let (u0, u1) = (us.min(ut).max(0.0), us.max(ut).min(1.0));
                if u1 - u0 > 1e-9 {
                    out[i].push((u0, u1));
                }
            }
        }
    }
    out
}

/// Barrier length (metres) inside each region: barrier points farther than
/// [`ON_EDGE_M`] from the region's outline. Points in clipped pieces at the
/// area boundary are left out, as are the outline's smoothed corners (a few
/// metres at most). A barrier the outline follows, cut cells included, counts
/// as none.
pub(crate) fn barrier_length_per_region(
    tess: &Tessellation,
    part: &[u32],
    k: usize,
    barriers: &BarrierIndex,
    splits: &Splits,
) -> Vec<f64> {
    let mut out = vec![0.0; k];
    if barriers.is_empty() || tess.nodes.is_empty() {
        return out;
    }
    let (mut min, mut max) = (
        Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        },
        Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        },
    );
    for &v in &tess.vcoord {
        min.x = min.x.min(v.x);
        min.y = min.y.min(v.y);
        max.x = max.x.max(v.x);
        max.y = max.y.max(v.y);
    }
    let f = &tess.frame;
    let near = |p: Coord<f64>, a: Coord<f64>, b: Coord<f64>| {
        segment_distance(f.to_local(p), f.to_local(a), f.to_local(b)) <= ON_EDGE_M
    };
    let step = tess.res.edge_length_m() / 3.0;
    for (a, b) in barriers.segments_in(min, max) {
        // Only the part inside the cells' box (roads can be tens of km long).
        let Some((a, b)) = clip_segment(a, b, min, max) else {
            continue;
        };
        let (la, lb) = (f.to_local(a), f.to_local(b));
        let len = ((lb.x - la.x).powi(2) + (lb.y - la.y).powi(2)).sqrt();
        let n = (len / step).ceil().max(1.0) as usize;
        let piece = len / n as f64;
        for s in 0..n {
            let t = (s as f64 + 0.5) / n as f64;
            let p = Coord {
                x: a.x + (b.x - a.x) * t,
                y: a.y + (b.y - a.y) * t,
            };
            let Some(node) = tess.node_at(p) else {
                continue;
            };
            let c = tess.nodes[node as usize].cell;
            if splits.is_split(c) {
                // The regions of the pieces at (or within the margin of) p.
                let mut at: Vec<u32> = splits
                    .pieces(c)
                    .iter()
                    .filter(|(poly, _)| {
                        poly.intersects(&p)
                            || poly.exterior().0.windows(2).any(|w| near(p, w[0], w[1]))
                    })
                    .map(|x| x.1)
                    .collect();
                at.sort_unstable();
                at.dedup();
                if let [r] = at[..] {
                    out[r as usize] += piece;
                }
                continue;
            }
            if tess.pieces[node as usize].is_some() {
                continue;
            }
            let r = part[node as usize];
            let ci = c as usize;
            let kk = tess.nv[ci] as usize;
            let foreign = |d: u32| {
                d == NONE
                    || tess.nodes_of(d).len() != 1
                    || part[tess.first_node[d as usize] as usize] != r
                    || splits.pieces(d).iter().any(|x| x.1 != r)
            };
            let on_edge = (0..kk).any(|i| {
                foreign(tess.nbr[ci][i])
                    && near(
                        p,
                        tess.vcoord[tess.verts[ci][i] as usize],
                        tess.vcoord[tess.verts[ci][(i + 1) % kk] as usize],
                    )
            });
            if !on_edge {
                out[r as usize] += piece;
            }
        }
    }
    out
}

/// Distance (metres) within which a barrier point counts as on a grid edge.
const ON_EDGE_M: f64 = 1.0;

fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (e, w) = (b - a, p - a);
    let l2 = e.x * e.x + e.y * e.y;
    let t = if l2 > 0.0 {
        ((w.x * e.x + w.y * e.y) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (w.x - e.x * t).hypot(w.y - e.y * t)
}

/// Liang–Barsky clip of segment a–b to the box [min, max] (closed); `None`
/// when they do not meet.
pub(super) fn clip_segment(
    a: Coord<f64>,
    b: Coord<f64>,
    min: Coord<f64>,
    max: Coord<f64>,
) -> Option<(Coord<f64>, Coord<f64>)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.x - min.x),
        (dx, max.x - a.x),
        (-dy, a.y - min.y),
        (dy, max.y - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    Some((
        Coord {
            x: a.x + dx * t0,
            y: a.y + dy * t0,
        },
        Coord {
            x: a.x + dx * t1,
            y: a.y + dy * t1,
        },
    ))
}
