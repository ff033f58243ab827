//! Stage 5 of a repair: the zone's households placed in the new outlines (so
//! the counts are what a point-in-polygon recount of the output gives), and
//! the area's grids: unchanged grids verbatim, then the zone's new grids in
//! reading order, each with the code it inherits or a new one.

use geo::{BoundingRect, Distance, Euclidean};
use geo_types::{Coord, MultiPolygon, Point, Rect};

use super::super::super::codes::reading_order;
use super::super::super::graph::barrier_length_per_region;
use super::super::super::metrics;
use super::super::super::pip::BandedRings;
use super::super::super::split::Splits;
use super::super::area::{AreaGrids, OutGrid};
use super::super::codes::CodeSource;
use super::super::rules::{keep_grid, rule_issues};
use super::super::GridChange;
use super::rebalance::ZoneRegions;
use super::zone::Zone;
use super::{Repaired, ZoneRepair};
use crate::model::Grid;

/// The area's households in the repaired grids.
pub(super) struct Placed {
    /// Local grid of each of the area's households: the previous grid's
    /// index outside the zone, `m + r` in new region r.
    assign_local: Vec<u32>,
    /// Households and persons of each new region.
    new_h: Vec<u64>,
    new_p: Vec<u64>,
}

impl ZoneRepair<'_> {
    /// Households of the zone → new grids, by the output polygons (the
    /// nearest grid for a location on none).
    pub(super) fn place_households(&self, zone: &Zone, geoms: &[MultiPolygon<f64>]) -> Placed {
        let m = self.old_grids.len();
        let k_new = geoms.len();
        let zone_rings: Vec<BandedRings> = geoms.iter().map(BandedRings::new).collect();
        let zone_boxes: Vec<Option<Rect<f64>>> = geoms.iter().map(|g| g.bounding_rect()).collect();
        let mut placed = Placed {
            assign_local: Vec::with_capacity(self.view.hh.len()),
            new_h: vec![0u64; k_new],
            new_p: vec![0u64; k_new],
        };
        for (&i, &j) in self.view.hh.iter().zip(&self.recount.hh_old) {
            if !zone.in_zone[j as usize] {
                placed.assign_local.push(j);
                continue;
            }
            let h = &self.ctx.households[i as usize];
            let p = h.location.0;
            let r = (0..k_new)
                .find(|&r| {
                    zone_boxes[r].is_some_and(|b| {
                        p.x >= b.min().x && p.x <= b.max().x && p.y >= b.min().y && p.y <= b.max().y
                    }) && zone_rings[r].covers(p)
                })
                .unwrap_or_else(|| {
                    (0..k_new)
                        .map(|r| (Euclidean.distance(&geoms[r], &Point(p)), r))
                        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                        .map_or(0, |x| x.1)
                });
            placed.new_h[r] += u64::from(h.households);
            placed.new_p[r] += u64::from(h.persons.unwrap_or(0));
            placed.assign_local.push(m as u32 + r as u32);
        }
        placed
    }

    /// New grids that would break the rules.
    pub(super) fn breaking_after(&self, geoms: &[MultiPolygon<f64>], placed: &Placed) -> usize {
        let (rules, has_persons) = (&self.view.rules, self.view.has_persons);
        (0..geoms.len())
            .filter(|&r| {
                let (a, _) = metrics::area_perimeter_m(&geoms[r], &self.view.frame);
                !rule_issues(rules, has_persons, placed.new_h[r], placed.new_p[r], a).is_empty()
            })
            .count()
    }

    /// The repaired area: grids outside the zone unchanged, the zone's new
    /// grids in reading order (adjusted, keeping the code of the zone grid
    /// they overlap most, or new), the zone grids that passed on no code
    /// retired, and the households' grids.
    pub(super) fn output(
        &self,
        broken: &[usize],
        zone: &Zone,
        regions: ZoneRegions,
        geoms: Vec<MultiPolygon<f64>>,
        widened: &[(usize, MultiPolygon<f64>)],
        placed: &Placed,
    ) -> Repaired {
        let view = self.view;
        let (m, k_new) = (self.old_grids.len(), geoms.len());
        let (code_of, taken) = self.inherited_codes(&regions);
        let barrier_len = barrier_length_per_region(
            &self.cells.tess,
            &regions.part,
            regions.next_id as usize,
            self.ctx.barriers,
            &Splits::default(),
        );
        let old_codes: Vec<&str> = self.old_grids.iter().map(|g| g.code.as_str()).collect();
        let mut source = CodeSource::new(&view.area.code, &old_codes, self.ctx.retired_codes);
        let mut out: Vec<OutGrid> = Vec::with_capacity(m + k_new);
        // Local index of each output grid: old j for kept grids, m + r for regions.
        let mut slot = vec![u32::MAX; m + k_new];
        for (j, &old) in self.old_grids.iter().enumerate() {
            if zone.in_zone[j] {
                continue;
            }
            slot[j] = out.len() as u32;
            let mut grid = keep_grid(
                old,
                self.recount.cnt_h[j],
                self.recount.cnt_p[j],
                &view.rules,
                view.has_persons,
            );
            let (change, why) = match widened.iter().find(|w| w.0 == j) {
                Some((_, geom)) => {
                    let (a_m2, perim) = metrics::area_perimeter_m(geom, &view.frame);
                    grid.area_m2 = a_m2;
                    grid.compactness = metrics::polsby_popper(a_m2, perim);
                    grid.geometry = geom.clone();
                    (
                        GridChange::Adjusted,
                        "took a corner that the re-balanced grids beside it left cut off"
                            .to_string(),
                    )
                }
                None => (GridChange::Unchanged, String::new()),
            };
            out.push((grid, change, Some(view.prev[j]), why));
        }
        let broken_codes: Vec<&str> = broken.iter().map(|&j| old_codes[j]).collect();
        let reason = format!(
            "re-balanced with {} because {} broke the rules",
            zone.grids
                .iter()
                .map(|&j| old_codes[j])
                .collect::<Vec<_>>()
                .join(", "),
            broken_codes.join(", ")
        );
        for r in self.reading_order(&geoms) {
            let mut grid = self.new_grid(geoms[r].clone(), placed.new_h[r], placed.new_p[r]);
            grid.barrier_length_m = barrier_len[regions.ids[r] as usize];
            let (kind, prev_idx) = match code_of[r] {
                Some(j) => {
                    grid.code = old_codes[j].to_string();
                    (GridChange::Adjusted, Some(view.prev[j]))
                }
                None => {
                    grid.code = source.take(&view.area.code);
                    (GridChange::New, None)
                }
            };
            slot[m + r] = out.len() as u32;
            out.push((grid, kind, prev_idx, reason.clone()));
        }
        let retired: Vec<(usize, String)> = zone
            .grids
            .iter()
            .filter(|&&j| !taken[j])
            .map(|&j| (view.prev[j], reason.clone()))
            .collect();
        let assignment = view
            .hh
            .iter()
            .zip(&placed.assign_local)
            .map(|(&i, &l)| (i, slot[l as usize]))
            .collect();
        let mut notes = regions.notes;
        notes.insert(
            0,
            format!(
                "{} grid(s) broke the rules; {} grid(s) re-balanced into {k_new}",
                broken.len(),
                zone.grids.len()
            ),
        );
        Repaired {
            grids: AreaGrids {
                grids: out,
                assignment,
                retired,
            },
            notes,
            res: u8::from(self.cells.res),
            nodes: self.cells.tess.nodes.len(),
        }
    }

    /// The order new grids get their codes in: reading order of their
    /// centroids, in rows about one grid high.
    fn reading_order(&self, geoms: &[MultiPolygon<f64>]) -> Vec<usize> {
        let frame = &self.view.frame;
        let centroids: Vec<Coord<f64>> = geoms
            .iter()
            .map(|gm| metrics::centroid_local(gm, frame))
            .collect();
        let m = self.old_grids.len();
        reading_order(
            &centroids,
            self.view.area_m2 / (m + geoms.len()).max(1) as f64,
        )
    }

    /// A new grid of the zone with its measures and rule checks (code and
    /// barrier length are the caller's).
    fn new_grid(&self, geom: MultiPolygon<f64>, households: u64, persons: u64) -> Grid {
        let (rules, has_persons) = (&self.view.rules, self.view.has_persons);
        let (a_m2, perim) = metrics::area_perimeter_m(&geom, &self.view.frame);
        let mut issues = rule_issues(rules, has_persons, households, persons, a_m2);
        if geom.0.len() > 1 {
            issues.push(format!(
                "grid is in {} parts: the area's boundary pinches it (the parts touch only along a slit or at a point)",
                geom.0.len()
            ));
        }
        Grid {
            code: String::new(),
            parent_code: self.view.area.code.clone(),
            within_rules: issues.iter().all(|s| s.starts_with("grid is in")),
            compactness: metrics::polsby_popper(a_m2, perim),
            area_m2: a_m2,
            households,
            persons,
            barrier_length_m: 0.0,
            issues,
            geometry: geom,
        }
    }
}
