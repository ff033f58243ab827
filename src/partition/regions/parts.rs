//! Step 1: the connected parts of the area. A part with too few households to
//! make a grid (an islet, a corner cut off by the boundary) is a *satellite*:
//! its households are lent to the nearest node of a big part (its *anchor*)
//! while regions are formed, and it joins the anchor's grid at the end.

use geo_types::Coord;

use super::super::graph::Graph;
use super::super::tessellate::{Tessellation, NONE};
use crate::model::Rules;

/// Connected components of the node graph and which of them are big enough to
/// be divided into grids (the *mainland*).
pub(super) struct Parts {
    /// Nodes of each component, sorted.
    pub members: Vec<Vec<u32>>,
    /// Component of each node.
    pub of_node: Vec<u32>,
    /// Area of each component (m²).
    pub area: Vec<f64>,
    /// Whether each component is divided into grids (else it is a satellite).
    pub mainland: Vec<bool>,
}

impl Parts {
    /// The components; those holding at least the minimum of households are
    /// mainland, and when none does, the heaviest (then largest) one is.
    pub fn find(g: &Graph, tess: &Tessellation, node_hh: &[u64], rules: &Rules) -> Self {
        let (of_node, members) = components(g);
        let households: Vec<u64> = members
            .iter()
            .map(|m| m.iter().map(|&v| node_hh[v as usize]).sum())
            .collect();
        let area: Vec<f64> = members
            .iter()
            .map(|m| m.iter().map(|&v| tess.nodes[v as usize].area).sum())
            .collect();
        let mut mainland: Vec<bool> = households
            .iter()
            .map(|&w| w >= rules.min_households.max(1))
            .collect();
        if !mainland.iter().any(|&m| m) {
            let best = (0..members.len())
                .max_by(|&a, &b| {
                    households[a]
                        .cmp(&households[b])
                        .then(area[a].total_cmp(&area[b]))
                        .then(b.cmp(&a))
                })
                .expect("at least one component");
            mainland[best] = true;
        }
        Parts {
            members,
            of_node,
            area,
            mainland,
        }
    }

    fn is_mainland(&self, v: u32) -> bool {
        self.mainland[self.of_node[v as usize] as usize]
    }

    /// Mainland nodes a satellite may anchor to: those on the area boundary
    /// (clipped cells), or every mainland node when there are none.
    fn anchor_candidates(&self, tess: &Tessellation) -> Vec<u32> {
        let n = self.of_node.len() as u32;
        let c: Vec<u32> = (0..n)
            .filter(|&v| self.is_mainland(v) && tess.pieces[v as usize].is_some())
            .collect();
        if c.is_empty() {
            (0..n).filter(|&v| self.is_mainland(v)).collect()
        } else {
            c
        }
    }
}

/// Connected components: the component of each node, and each component's
/// nodes (sorted), numbered in order of their lowest node.
fn components(g: &Graph) -> (Vec<u32>, Vec<Vec<u32>>) {
    let n = g.len();
    let mut comp = vec![NONE; n];
    let mut comps: Vec<Vec<u32>> = Vec::new();
    for s in 0..n as u32 {
        if comp[s as usize] != NONE {
            continue;
        }
        let id = comps.len() as u32;
        let mut stack = vec![s];
        comp[s as usize] = id;
        let mut members = Vec::new();
        while let Some(v) = stack.pop() {
            members.push(v);
            for &u in g.neighbours(v) {
                if comp[u as usize] == NONE {
                    comp[u as usize] = id;
                    stack.push(u);
                }
            }
        }
        members.sort_unstable();
        comps.push(members);
    }
    (comp, comps)
}

/// Node weights the regions are formed with: a satellite's households and
/// persons sit on its anchor, its own nodes weigh nothing.
pub(super) struct NodeWeights {
    pub households: Vec<u64>,
    pub persons: Vec<u64>,
    /// The mainland node each satellite node follows (`NONE` on the mainland).
    pub anchor: Vec<u32>,
    /// Number of satellites.
    pub satellites: usize,
}

impl NodeWeights {
    /// Anchors every satellite to the candidate node nearest its
    /// area-weighted centroid.
    pub fn with_satellites_anchored(
        parts: &Parts,
        tess: &Tessellation,
        node_hh: &[u64],
        node_pp: &[u64],
    ) -> Self {
        let mut nw = NodeWeights {
            households: node_hh.to_vec(),
            persons: node_pp.to_vec(),
            anchor: vec![NONE; node_hh.len()],
            satellites: 0,
        };
        let candidates = parts.anchor_candidates(tess);
        for (ci, members) in parts.members.iter().enumerate() {
            if parts.mainland[ci] {
                continue;
            }
            nw.satellites += 1;
            let anchor = nearest(tess, &candidates, centroid(tess, members));
            for &v in members {
                nw.anchor[v as usize] = anchor;
                nw.households[anchor as usize] += node_hh[v as usize];
                nw.persons[anchor as usize] += node_pp[v as usize];
                nw.households[v as usize] = 0;
                nw.persons[v as usize] = 0;
            }
        }
        nw
    }
}

/// Area-weighted centroid of some nodes (the first node's when they have no
/// area).
fn centroid(tess: &Tessellation, members: &[u32]) -> Coord<f64> {
    let (mut sx, mut sy, mut sa) = (0.0, 0.0, 0.0);
    for &v in members {
        let nd = &tess.nodes[v as usize];
        sx += nd.centroid.x * nd.area;
        sy += nd.centroid.y * nd.area;
        sa += nd.area;
    }
    if sa > 0.0 {
        Coord {
            x: sx / sa,
            y: sy / sa,
        }
    } else {
        tess.nodes[members[0] as usize].centroid
    }
}

/// The candidate whose centroid is nearest `c` (the first of equals;
/// `NONE` when there is none).
fn nearest(tess: &Tessellation, candidates: &[u32], c: Coord<f64>) -> u32 {
    let mut best = (f64::INFINITY, NONE);
    for &u in candidates {
        let q = tess.nodes[u as usize].centroid;
        let d = (q.x - c.x).powi(2) + (q.y - c.y).powi(2);
        if d < best.0 {
            best = (d, u);
        }
    }
    best.1
}
