//! Adaptive resolution: a cell that holds household locations heavier
//! together than the rules can absorb is cut into pieces, one group of
//! locations each, so the region step can put them in different grids.
//!
//! The resolution is chosen for the area as a whole, so in a district of
//! towers (100–480 households a building) two or three buildings often share
//! one cell: a node of 960 households that no grid of 300–500 can hold, or a
//! 480 + 100 pair that forces a grid over its maximum. Such a node is cut
//! recursively, like an H3 cell into its children, but along straight lines
//! between its locations: each cut is perpendicular to the locations' widest
//! spread, halfway between the two locations on either side of the weighted
//! median, and is applied to the node's own polygon. The pieces therefore tile
//! the cell exactly (both halves of a cut share the same two line ends, and
//! the overlay runs on the area's precision grid, see [`super::snap`]), their
//! outlines run along the cell's edges where they meet neighbouring cells (so
//! [`super::graph`] finds those adjacencies as for clipped pieces), and the
//! pieces of one cell are adjacent to each other along the cut lines
//! ([`sibling_edges`]).
//!
//! Cutting stops when a piece holds at most the limit, a single location, or
//! locations closer than [`MIN_GAP_M`] along every direction (one building).

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;

use super::tessellate::{polygon_area_centroid, Node, Tessellation};

/// Locations closer than this (metres) along every cut direction are one
/// building: they are never separated.
pub(crate) const MIN_GAP_M: f64 = 1.0;

/// Directions a cut may be perpendicular to: the axes and the diagonals.
const DIRECTIONS: [(f64, f64); 4] = [
    (1.0, 0.0),
    (0.0, 1.0),
    (
        std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::FRAC_1_SQRT_2,
    ),
    (
        std::f64::consts::FRAC_1_SQRT_2,
        -std::f64::consts::FRAC_1_SQRT_2,
    ),
];

/// A household location in a node: position in the area's local frame
/// (metres) and households there.
#[derive(Clone, Copy)]
struct Load {
    at: Coord<f64>,
    weight: u64,
}

/// Cuts every node whose distinct locations hold more than `limit`
/// households together. `locations` are (position in degrees, households).
/// Returns the number of cells refined.
pub(crate) fn refine(
    tess: &mut Tessellation,
    locations: &[(Coord<f64>, u64)],
    limit: u64,
) -> usize {
    let n = tess.nodes.len();
    let mut per_node: Vec<Vec<Load>> = vec![Vec::new(); n];
    for &(p, w) in locations {
        if w == 0 {
            continue;
        }
        let v = tess.locate(p) as usize;
        per_node[v].push(Load {
            at: tess.frame.to_local(p),
            weight: w,
        });
    }
    let heavy: Vec<u32> = (0..n as u32)
        .filter(|&v| {
            let loads = &per_node[v as usize];
            loads.len() > 1 && loads.iter().map(|l| l.weight).sum::<u64>() > limit
        })
        .collect();
    if heavy.is_empty() {
        return 0;
    }
    let cut: Vec<(u32, Vec<Polygon<f64>>)> = heavy
        .par_iter()
        .map(|&v| {
            let poly = match &tess.pieces[v as usize] {
                Some(p) => p.clone(),
                None => tess.hex_polygon(tess.nodes[v as usize].cell),
            };
            let mut out = Vec::new();
            cut_node(tess, poly, per_node[v as usize].clone(), limit, &mut out);
            (v, out)
        })
        .collect();
    let mut replaced: Vec<Option<Vec<Polygon<f64>>>> = vec![None; n];
    let mut refined_cells = 0;
    for (v, pieces) in cut {
        if pieces.len() > 1 {
            let c = tess.nodes[v as usize].cell as usize;
            if !tess.refined[c] {
                refined_cells += 1;
            }
            tess.refined[c] = true;
            tess.clipped[c] = true;
            replaced[v as usize] = Some(pieces);
        }
    }
    rebuild_nodes(tess, replaced);
    refined_cells
}

/// Replaces the nodes that were cut by their pieces, keeping cell order.
fn rebuild_nodes(tess: &mut Tessellation, mut replaced: Vec<Option<Vec<Polygon<f64>>>>) {
    let frame = tess.frame;
    let old_nodes = std::mem::take(&mut tess.nodes);
    let mut old_pieces = std::mem::take(&mut tess.pieces);
    let mut first_node = Vec::with_capacity(tess.cells.len() + 1);
    let mut nodes = Vec::with_capacity(old_nodes.len());
    let mut pieces = Vec::with_capacity(old_nodes.len());
    for c in 0..tess.cells.len() {
        first_node.push(nodes.len() as u32);
        let range = tess.first_node[c] as usize..tess.first_node[c + 1] as usize;
        for v in range {
            match replaced[v].take() {
                Some(cut) => {
                    for p in cut {
                        nodes.push(Node::of_piece(c as u32, &p, &frame));
                        pieces.push(Some(p));
                    }
                }
                None => {
                    nodes.push(old_nodes[v].clone());
                    let piece = old_pieces[v].take().or_else(|| {
                        // A whole cell of a refined cell keeps its polygon so
                        // every node of the cell has one.
                        tess.refined[c].then(|| tess.hex_polygon(c as u32))
                    });
                    pieces.push(piece);
                }
            }
        }
    }
    first_node.push(nodes.len() as u32);
    tess.first_node = first_node;
    tess.nodes = nodes;
    tess.pieces = pieces;
}

/// Cuts one node's polygon until every piece holds at most `limit`, one
/// location, or inseparable locations; pushes the pieces to `out`.
fn cut_node(
    tess: &Tessellation,
    poly: Polygon<f64>,
    loads: Vec<Load>,
    limit: u64,
    out: &mut Vec<Polygon<f64>>,
) {
    let total: u64 = loads.iter().map(|l| l.weight).sum();
    if total <= limit || loads.len() < 2 {
        out.push(poly);
        return;
    }
    let Some((dir, at)) = best_cut(&loads) else {
        out.push(poly);
        return;
    };
    let (low, high) = half_planes(tess, &poly, dir, at);
    let sides = [
        tess.snap
            .intersection(&MultiPolygon(vec![poly.clone()]), &low),
        tess.snap
            .intersection(&MultiPolygon(vec![poly.clone()]), &high),
    ];
    if sides.iter().any(|s| s.0.is_empty()) {
        // The line missed the polygon (cannot happen for locations inside it,
        // but a location a rounding error outside a clipped piece could).
        out.push(poly);
        return;
    }
    for (side, mp) in sides.into_iter().enumerate() {
        let mine: Vec<Load> = loads
            .iter()
            .copied()
            .filter(|l| (project(l.at, dir) < at) == (side == 0))
            .collect();
        if mp.0.len() == 1 {
            let p = mp.0.into_iter().next().expect("one polygon");
            cut_node(tess, p, mine, limit, out);
            continue;
        }
        // A non-convex piece can fall into several parts: each keeps the
        // locations nearest to it.
        let parts: Vec<Polygon<f64>> = mp.0;
        let centres: Vec<Coord<f64>> = parts
            .iter()
            .map(|p| polygon_area_centroid(p, &tess.frame).1)
            .collect();
        let mut groups: Vec<Vec<Load>> = vec![Vec::new(); parts.len()];
        for l in mine {
            let j = nearest(&centres, l.at);
            groups[j].push(l);
        }
        for (p, g) in parts.into_iter().zip(groups) {
            cut_node(tess, p, g, limit, out);
        }
    }
}

fn project(p: Coord<f64>, d: (f64, f64)) -> f64 {
    p.x * d.0 + p.y * d.1
}

fn nearest(centres: &[Coord<f64>], p: Coord<f64>) -> usize {
    let d2 = |c: &Coord<f64>| (c.x - p.x).powi(2) + (c.y - p.y).powi(2);
    (0..centres.len())
        .min_by(|&a, &b| d2(&centres[a]).total_cmp(&d2(&centres[b])))
        .unwrap_or(0)
}

/// The cut that halves the load most evenly: a direction and the position
/// along it (halfway between the two locations on either side), among cuts
/// that leave at least [`MIN_GAP_M`] to the nearest location.
fn best_cut(loads: &[Load]) -> Option<((f64, f64), f64)> {
    let total: u64 = loads.iter().map(|l| l.weight).sum();
    let mut best: Option<(u64, (f64, f64), f64)> = None;
    for &d in &DIRECTIONS {
        let mut order: Vec<(f64, u64)> =
            loads.iter().map(|l| (project(l.at, d), l.weight)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut below = 0u64;
        for i in 1..order.len() {
            below += order[i - 1].1;
            if order[i].0 - order[i - 1].0 < MIN_GAP_M {
                continue;
            }
            let imbalance = below.abs_diff(total - below);
            if best.map_or(true, |b| imbalance < b.0) {
                best = Some((imbalance, d, 0.5 * (order[i].0 + order[i - 1].0)));
            }
        }
    }
    best.map(|b| (b.1, b.2))
}

/// The two halves of the polygon's (padded) bounding box on either side of
/// the line `project(p, dir) = at`, in degrees. Both share the same two line
/// ends, so the pieces cut with them share identical edges.
fn half_planes(
    tess: &Tessellation,
    poly: &Polygon<f64>,
    dir: (f64, f64),
    at: f64,
) -> (MultiPolygon<f64>, MultiPolygon<f64>) {
    let local: Vec<Coord<f64>> = poly
        .exterior()
        .0
        .iter()
        .map(|&c| tess.frame.to_local(c))
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for c in &local {
        x0 = x0.min(c.x);
        y0 = y0.min(c.y);
        x1 = x1.max(c.x);
        y1 = y1.max(c.y);
    }
    let pad = 0.05 * (x1 - x0).max(y1 - y0) + 1.0;
    let corners = [
        Coord {
            x: x0 - pad,
            y: y0 - pad,
        },
        Coord {
            x: x1 + pad,
            y: y0 - pad,
        },
        Coord {
            x: x1 + pad,
            y: y1 + pad,
        },
        Coord {
            x: x0 - pad,
            y: y1 + pad,
        },
    ];
    // Walk the box; split it where the line crosses its edges.
    let side = |c: Coord<f64>| project(c, dir) - at;
    let mut low: Vec<Coord<f64>> = Vec::new();
    let mut high: Vec<Coord<f64>> = Vec::new();
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        let (sa, sb) = (side(a), side(b));
        if sa < 0.0 {
            low.push(a);
        } else {
            high.push(a);
        }
        if (sa < 0.0) != (sb < 0.0) {
            let t = sa / (sa - sb);
            let x = Coord {
                x: a.x + (b.x - a.x) * t,
                y: a.y + (b.y - a.y) * t,
            };
            // One crossing point, shared by both halves.
            low.push(x);
            high.push(x);
        }
    }
    let ring = |pts: Vec<Coord<f64>>| {
        let mut deg: Vec<Coord<f64>> = pts.into_iter().map(|c| tess.frame.to_degrees(c)).collect();
        deg.push(deg[0]);
        MultiPolygon(vec![Polygon::new(LineString(deg), vec![])])
    };
    (ring(low), ring(high))
}

/// Adjacencies between pieces of the same refined cell: (node, node, shared
/// length in metres), for the pairs whose outlines share a stretch of a cut.
pub(crate) fn sibling_edges(tess: &Tessellation) -> Vec<(u32, u32, f32)> {
    let tol = 4.0 * tess.snap.unit();
    let mut out = Vec::new();
    for c in 0..tess.cells.len() as u32 {
        if !tess.refined[c as usize] {
            continue;
        }
        let nodes: Vec<u32> = tess.nodes_of(c).collect();
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                let (Some(pa), Some(pb)) = (&tess.pieces[a as usize], &tess.pieces[b as usize])
                else {
                    continue;
                };
                let len = shared_length(pa, pb, tol, &tess.frame);
                if len > 1e-3 {
                    out.push((a, b, len as f32));
                }
            }
        }
    }
    out
}

/// Length (metres) of the outline two polygons share: collinear stretches of
/// their edges within `tol` degrees of each other.
fn shared_length(
    a: &Polygon<f64>,
    b: &Polygon<f64>,
    tol: f64,
    frame: &crate::geodesy::LocalFrame,
) -> f64 {
    let mut total = 0.0;
    for s in a.exterior().0.windows(2) {
        let (p, q) = (s[0], s[1]);
        let d = q - p;
        let l2 = d.x * d.x + d.y * d.y;
        if l2 == 0.0 {
            continue;
        }
        let l = l2.sqrt();
        for t in b.exterior().0.windows(2) {
            let (u, v) = (t[0], t[1]);
            let off = |x: Coord<f64>| ((x.x - p.x) * d.y - (x.y - p.y) * d.x).abs() / l;
            if off(u) > tol || off(v) > tol {
                continue;
            }
            let pu = ((u.x - p.x) * d.x + (u.y - p.y) * d.y) / l2;
            let pv = ((v.x - p.x) * d.x + (v.y - p.y) * d.y) / l2;
            let (lo, hi) = (pu.min(pv).max(0.0), pu.max(pv).min(1.0));
            if hi - lo > 1e-9 {
                let (a0, a1) = (
                    frame.to_local(Coord {
                        x: p.x + d.x * lo,
                        y: p.y + d.y * lo,
                    }),
                    frame.to_local(Coord {
                        x: p.x + d.x * hi,
                        y: p.y + d.y * hi,
                    }),
                );
                total += (a1.x - a0.x).hypot(a1.y - a0.y);
            }
        }
    }
    total
}
