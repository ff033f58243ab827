//! Step 1: which previous grid holds each household, by the same closed
//! point-in-polygon test the engine assigns households with.

use geo::BoundingRect;
use geo_types::Coord;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::super::pip::BandedRings;
use crate::model::Grid;

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Finds the previous grid holding a point: the first in input order whose
/// closed polygon holds it, as the engine assigns points on shared edges.
pub(super) struct GridLocator {
    tree: RTree<Entry>,
    rings: Vec<BandedRings>,
}

impl GridLocator {
    pub(super) fn new(grids: &[Grid]) -> Self {
        let rings: Vec<BandedRings> = grids
            .par_iter()
            .map(|g| BandedRings::new(&g.geometry))
            .collect();
        let entries = grids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                g.geometry.bounding_rect().map(|r| {
                    GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i as u32,
                    )
                })
            })
            .collect();
        GridLocator {
            tree: RTree::bulk_load(entries),
            rings,
        }
    }

    pub(super) fn locate(&self, p: Coord<f64>) -> Option<u32> {
        let mut best: Option<u32> = None;
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.x, p.y]))
        {
            let i = e.data;
            if best.is_some_and(|b| b < i) {
                continue;
            }
            if self.rings[i as usize].covers(p) {
                best = Some(i);
            }
        }
        best
    }
}
