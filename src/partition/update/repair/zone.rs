//! Stage 2 of a repair: the repair zone (the broken grids and the fewest
//! neighbours that let its totals be divided within the rules), and the
//! households each of its cells holds.

use geo_types::Coord;

use super::super::super::regions;
use super::super::super::tessellate::NONE;
use super::super::rules::rule_issues;
use super::ZoneRepair;
use crate::model::Rules;

/// Most grids a zone grows by, one per connected part and round.
const GROW_ROUNDS: usize = 12;

/// The previous grids being re-balanced.
pub(super) struct Zone {
    /// Whether each previous grid (local index) is in the zone.
    pub in_zone: Vec<bool>,
    /// The zone's grids, in order.
    pub grids: Vec<usize>,
}

/// Households as the zone's cells hold them.
pub(super) struct ZoneWeights {
    /// Location and node of each of the area's households.
    pub hh_node: Vec<(Coord<f64>, u32)>,
    /// Households and persons of the zone each node holds (0 outside it).
    pub node_hh: Vec<u64>,
    pub node_pp: Vec<u64>,
}

impl ZoneRepair<'_> {
    /// Grows the zone from the `broken` grids until each of its connected
    /// parts can be divided within the rules, each round adding to every part
    /// that cannot the neighbour that brings it within them with the mean
    /// grid closest to the target.
    pub(super) fn grow_zone(&self, broken: &[usize]) -> Zone {
        let (rules, has_persons) = (&self.view.rules, self.view.has_persons);
        let (cnt_h, cnt_p) = (&self.recount.cnt_h, &self.recount.cnt_p);
        let gadj = &self.cells.gadj;
        let m = self.old_grids.len();
        let mut in_zone = vec![false; m];
        for &j in broken {
            in_zone[j] = true;
        }
        let target = rules.target() as f64;
        for _round in 0..GROW_ROUNDS {
            let comps = components(&in_zone, gadj);
            let mut grew = false;
            for comp in comps {
                let (h, p, a) = totals(&comp, cnt_h, cnt_p, &self.area_of);
                if zone_feasible(rules, has_persons, h, p, a).1 {
                    continue;
                }
                let mut cands: Vec<usize> = comp
                    .iter()
                    .flat_map(|&j| gadj[j].iter().copied())
                    .filter(|&c| !in_zone[c])
                    .collect();
                cands.sort_unstable();
                cands.dedup();
                let best = cands
                    .into_iter()
                    .map(|c| {
                        let (h2, p2, a2) = (h + cnt_h[c], p + cnt_p[c], a + self.area_of[c]);
                        let (k, ok) = zone_feasible(rules, has_persons, h2, p2, a2);
                        let dev = (h2 as f64 / k.max(1) as f64 - target).abs();
                        (!ok, dev, c)
                    })
                    .min_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2)));
                if let Some((_, _, c)) = best {
                    in_zone[c] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let grids = (0..m).filter(|&j| in_zone[j]).collect();
        Zone { in_zone, grids }
    }

    /// Zone grids breaking the rules now.
    pub(super) fn breaking_before(&self, zone: &Zone) -> usize {
        let (rules, has_persons) = (&self.view.rules, self.view.has_persons);
        let (cnt_h, cnt_p) = (&self.recount.cnt_h, &self.recount.cnt_p);
        zone.grids
            .iter()
            .filter(|&&j| {
                !rule_issues(rules, has_persons, cnt_h[j], cnt_p[j], self.area_of[j]).is_empty()
            })
            .count()
    }

    /// The node of every household, and the zone's households per node. Zone
    /// weights count exactly the households the zone's polygons hold (the
    /// previous grids decided by point-in-polygon), not every household of a
    /// zone cell: a cell corner may belong to an unchanged neighbour, and a
    /// corner of the zone may lie in a cell outside it (its households go to
    /// a neighbouring zone cell, whose grid will take that corner).
    pub(super) fn zone_weights(&self, zone: &Zone) -> ZoneWeights {
        let (tess, g, node_old) = (&self.cells.tess, &self.cells.g, &self.cells.node_old);
        let households = self.ctx.households;
        let n = tess.nodes.len();
        let hh_node: Vec<(Coord<f64>, u32)> = self
            .view
            .hh
            .iter()
            .map(|&i| {
                let p = households[i as usize].location.0;
                (p, tess.locate(p))
            })
            .collect();
        let zone_node = |v: u32| {
            let o = node_old[v as usize];
            o != NONE && zone.in_zone[o as usize]
        };
        let mut node_hh = vec![0u64; n];
        let mut node_pp = vec![0u64; n];
        let pairs = self.view.hh.iter().zip(&self.recount.hh_old).zip(&hh_node);
        for ((&i, &j), &(_, v)) in pairs {
            if !zone.in_zone[j as usize] {
                continue;
            }
            let target = if zone_node(v) {
                Some(v)
            } else {
                g.neighbours(v).iter().copied().find(|&u| zone_node(u))
            };
            if let Some(t) = target {
                let h = &households[i as usize];
                node_hh[t as usize] += u64::from(h.households);
                node_pp[t as usize] += u64::from(h.persons.unwrap_or(0));
            }
        }
        ZoneWeights {
            hh_node,
            node_hh,
            node_pp,
        }
    }
}

/// Number of grids for a zone's totals, and whether they can be divided
/// within the rules.
pub(super) fn zone_feasible(
    rules: &Rules,
    has_persons: bool,
    h: u64,
    p: u64,
    a: f64,
) -> (usize, bool) {
    regions::choose_k(rules, has_persons, h, p, a)
}

/// Feasible range of grid counts for totals (lo > hi when none is).
pub(super) fn k_range(rules: &Rules, has_persons: bool, t: u64, p: u64, a: f64) -> (usize, usize) {
    let mut lo = 1u64.max(t.div_ceil(rules.max_households.max(1)));
    if has_persons {
        if let Some(mp) = rules.max_persons {
            lo = lo.max(p.div_ceil(mp.max(1)));
        }
    }
    if let Some(ma) = rules.max_area_m2 {
        lo = lo.max((a / ma).ceil() as u64);
    }
    let hi = t.checked_div(rules.min_households).unwrap_or(u64::MAX);
    (lo as usize, hi.min(usize::MAX as u64) as usize)
}

/// Households, persons and area (m²) of some grids.
pub(super) fn totals(comp: &[usize], h: &[u64], p: &[u64], a: &[f64]) -> (u64, u64, f64) {
    comp.iter().fold((0, 0, 0.0), |acc, &j| {
        (acc.0 + h[j], acc.1 + p[j], acc.2 + a[j])
    })
}

/// Connected groups (sorted) of the grids marked in `mark`.
pub(super) fn components(mark: &[bool], adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mark.len()];
    let mut out = Vec::new();
    for s in 0..mark.len() {
        if !mark[s] || seen[s] {
            continue;
        }
        let mut stack = vec![s];
        seen[s] = true;
        let mut c = Vec::new();
        while let Some(v) = stack.pop() {
            c.push(v);
            for &u in &adj[v] {
                if mark[u] && !seen[u] {
                    seen[u] = true;
                    stack.push(u);
                }
            }
        }
        c.sort_unstable();
        out.push(c);
    }
    out
}
