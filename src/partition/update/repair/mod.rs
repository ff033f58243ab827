//! Repair of an area whose previous grids still tile it but some break a rule
//! (steps 4–6 of the [update module docs](super)), in stages:
//!
//! 1. [`cells`]: the area's cells at the resolution the previous grids were
//!    built from ([`resolution`]), and the previous grid of every cell.
//! 2. [`zone`]: the repair zone, grown from the broken grids by the
//!    neighbours that help most until its totals can be divided within the
//!    rules, and the households its cells hold.
//! 3. [`rebalance`]: new regions for each connected part of the zone, by
//!    moving boundary cells ([`transfer`]) or by the engine's region step;
//!    each takes the code of the zone grid it overlaps most.
//! 4. [`outlines`]: the regions' outlines, tiling the zone exactly.
//! 5. [`output`]: households placed in the new outlines, and the area's grids
//!    when the repair leaves fewer grids breaking the rules than before.

mod cells;
mod outlines;
mod output;
mod rebalance;
mod resolution;
mod transfer;
mod zone;

use super::area::{AreaGrids, AreaView, Ctx, Recount};
use super::UpdateError;
use crate::model::Grid;
use cells::ZoneCells;

/// A repair that improved the area.
pub(super) struct Repaired {
    pub grids: AreaGrids,
    pub notes: Vec<String>,
    /// Resolution and number of nodes of the cells the zone was repaired with.
    pub res: u8,
    pub nodes: usize,
}

/// What the repair of an area came to.
pub(super) enum Repair {
    Done(Repaired),
    /// Nothing better was found: keep every grid (note, resolution, nodes).
    NoGain(String, u8, usize),
}

/// What the stages of one area's repair share.
struct ZoneRepair<'r> {
    ctx: &'r Ctx<'r>,
    view: &'r AreaView<'r>,
    recount: &'r Recount,
    /// The area's previous grids, by local index.
    old_grids: Vec<&'r Grid>,
    /// Area (m²) of each previous grid.
    area_of: Vec<f64>,
    cells: ZoneCells,
}

/// Repairs an area whose previous grids `broken` (local indices) break a
/// rule, re-balancing them with the fewest neighbours; see the module docs.
pub(super) fn repair(
    ctx: &Ctx<'_>,
    view: &AreaView<'_>,
    recount: &Recount,
    broken: &[usize],
) -> Result<Repair, UpdateError> {
    let old_grids: Vec<&Grid> = view.prev.iter().map(|&p| &ctx.previous[p]).collect();
    let cells = ZoneCells::new(ctx, view, &old_grids, &recount.cnt_h)?;
    let area_of: Vec<f64> = old_grids.iter().map(|g| g.area_m2).collect();
    let rp = ZoneRepair {
        ctx,
        view,
        recount,
        old_grids,
        area_of,
        cells,
    };
    let zone = rp.grow_zone(broken);
    let before_bad = rp.breaking_before(&zone);
    let weights = rp.zone_weights(&zone);
    let regions = rp.rebalance(&zone, &weights);
    let outlined = rp.outlines(&zone, &regions, &weights.hh_node);
    let geoms = outlined.geoms;
    let placed = rp.place_households(&zone, &geoms);
    let after_bad = rp.breaking_after(&geoms, &placed);
    if after_bad >= before_bad || regions.nodes.is_empty() {
        return Ok(Repair::NoGain(
            format!(
                "{} grid(s) break the rules but re-balancing {} grid(s) would leave {after_bad} breaking: kept as they are",
                broken.len(),
                zone.grids.len()
            ),
            u8::from(rp.cells.res),
            rp.cells.tess.nodes.len(),
        ));
    }
    Ok(Repair::Done(rp.output(
        broken,
        &zone,
        regions,
        geoms,
        &outlined.widened,
        &placed,
    )))
}
