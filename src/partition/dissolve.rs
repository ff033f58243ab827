//! Region outlines: merge a region's cells exactly, then clip to the area.
//!
//! Whole cells are merged by walking the cell edges that border another region
//! (or nothing). Because edges use canonical vertex ids, the walk is pure
//! topology: the outline's coordinates are exactly the cells' coordinates, and
//! two neighbouring regions share bit-identical boundaries. Only regions that
//! reach the area boundary go through a polygon clip, and pieces of cells that
//! the area boundary split in several parts are added by a polygon union.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::Intersects;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::tessellate::{Tessellation, NONE};

/// Region of the whole cell c, or NONE when c is split into several pieces (or
/// has none).
fn hex_region(tess: &Tessellation, part: &[u32], c: u32) -> u32 {
    let r = tess.nodes_of(c);
    if r.len() == 1 {
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

pub(crate) fn region_geometry(tess: &Tessellation, part: &[u32], r: u32) -> MultiPolygon<f64> {
    if part.is_empty() {
        return tess.area.clone().orient(Direction::Default);
    }
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut any_clipped = false;
    let mut split_pieces: Vec<Polygon<f64>> = Vec::new();
    let mut reference_sign = 0.0;
    for c in 0..tess.cells.len() as u32 {
        let nodes = tess.nodes_of(c);
        if nodes.len() > 1 {
            for v in nodes {
                if part[v as usize] == r {
                    if let Some(p) = &tess.pieces[v as usize] {
                        split_pieces.push(p.clone());
                    }
                }
            }
            continue;
        }
        if hex_region(tess, part, c) != r {
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
            if d == NONE || hex_region(tess, part, d) != r {
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
            let mut ring = Vec::new();
            let mut cur = s;
            loop {
                used.insert(cur, true);
                ring.push(tess.vcoord[cur as usize]);
                match next.get(&cur) {
                    Some(&nx) if nx != s && !used.contains_key(&nx) => cur = nx,
                    _ => break,
                }
            }
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
    if any_clipped || !split_pieces.is_empty() {
        // One overlay on the area's shared precision grid: (cells ∪ pieces) ∩ area.
        mp.0.extend(split_pieces);
        mp = tess.snap.intersection(&mp, &tess.area);
    }
    mp.orient(Direction::Default)
}
