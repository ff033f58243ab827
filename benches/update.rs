//! Census-update benchmark at city scale: 1M households, ~2,500 grids.
//!
//! `cargo bench --bench update` generates a seeded city (256 communities of
//! ~3,900 households in a 16 × 16 block), partitions it (the adopted grids),
//! round-trips the grids through GeoJSON as `--previous` would, applies a census
//! update (2 % of households moved, 2 % removed, 2 % added: a third scattered,
//! two thirds as new estates), then times `update` and, on the same data, a
//! partition from scratch, and prints the churn of both side by side.
//!
//! Environment: `WANGGE_UPDATE_HH` overrides the number of households.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::Instant;

use geo_types::{Coord, MultiPolygon, Point};
use support::{area, m_lon, rect_m, Rng, M_LAT};
use wangge::layers::outputs::write_grids;
use wangge::layers::previous::read_previous_grids;
use wangge::model::{Area, AreaKind, Household};
use wangge::partition::{partition, update, GridChange, PartitionOptions, UpdateOptions};
use wangge::NoProgress;

const LON: f64 = 118.20;
const LAT: f64 = 32.20;
const SIDE: usize = 16;
const BLOCK_M: f64 = 1500.0;

fn hh_at(p: Coord<f64>, rng: &mut Rng) -> Household {
    Household {
        location: Point(p),
        households: 1,
        persons: Some(1 + (rng.next_u64() % 5) as u32),
        id: None,
        feature: 0,
        properties: None,
    }
}

/// A point of block (i, j) at fractional position (fx, fy) inside it.
fn at(i: usize, j: usize, fx: f64, fy: f64) -> Coord<f64> {
    Coord {
        x: LON + (i as f64 + fx) * BLOCK_M * m_lon(LAT),
        y: LAT + (j as f64 + fy) * BLOCK_M * M_LAT,
    }
}

/// Households of one block: 10 % scattered, the rest around four cores.
fn block_households(rng: &mut Rng, i: usize, j: usize, n: usize, out: &mut Vec<Household>) {
    let cores: Vec<(f64, f64)> = (0..4)
        .map(|_| (rng.range(0.15, 0.85), rng.range(0.15, 0.85)))
        .collect();
    for k in 0..n {
        let (fx, fy) = if k % 10 == 0 {
            (rng.range(0.0, 1.0), rng.range(0.0, 1.0))
        } else {
            let c = cores[(rng.next_u64() % 4) as usize];
            (
                (c.0 + rng.normal() * 0.12).clamp(0.001, 0.999),
                (c.1 + rng.normal() * 0.12).clamp(0.001, 0.999),
            )
        };
        out.push(hh_at(at(i, j, fx, fy), rng));
    }
}

fn city(total: usize) -> (Vec<Area>, Vec<Household>) {
    let mut rng = Rng::new(2026);
    let per = total / (SIDE * SIDE);
    let mut areas = Vec::new();
    let mut hh = Vec::with_capacity(total);
    for j in 0..SIDE {
        for i in 0..SIDE {
            let c = at(i, j, 0.0, 0.0);
            areas.push(area(
                &format!("341102{:03}{:03}", j + 1, i + 1),
                AreaKind::Urban,
                MultiPolygon(vec![rect_m(c.x, c.y, BLOCK_M, BLOCK_M)]),
            ));
            block_households(&mut rng, i, j, per, &mut hh);
        }
    }
    (areas, hh)
}

fn census(hh: &mut Vec<Household>) {
    let mut rng = Rng::new(7);
    let k = hh.len() / 50;
    for _ in 0..k {
        let i = (rng.next_u64() % hh.len() as u64) as usize;
        let (bi, bj) = (
            (rng.next_u64() % SIDE as u64) as usize,
            (rng.next_u64() % SIDE as u64) as usize,
        );
        hh[i].location = Point(at(bi, bj, rng.range(0.0, 1.0), rng.range(0.0, 1.0)));
    }
    for _ in 0..k {
        let i = (rng.next_u64() % hh.len() as u64) as usize;
        hh.swap_remove(i);
    }
    for _ in 0..k / 3 {
        let (bi, bj) = (
            (rng.next_u64() % SIDE as u64) as usize,
            (rng.next_u64() % SIDE as u64) as usize,
        );
        let p = at(bi, bj, rng.range(0.0, 1.0), rng.range(0.0, 1.0));
        hh.push(hh_at(p, &mut rng));
    }
    // New estates of 150 households, 100 m across.
    let estates = (2 * k / 3) / 150;
    for _ in 0..estates {
        let (bi, bj) = (
            (rng.next_u64() % SIDE as u64) as usize,
            (rng.next_u64() % SIDE as u64) as usize,
        );
        let (fx, fy) = (rng.range(0.1, 0.9), rng.range(0.1, 0.9));
        for _ in 0..150 {
            let p = at(
                bi,
                bj,
                fx + rng.range(0.0, 100.0 / BLOCK_M),
                fy + rng.range(0.0, 100.0 / BLOCK_M),
            );
            hh.push(hh_at(p, &mut rng));
        }
    }
}

fn main() {
    let total: usize = std::env::var("WANGGE_UPDATE_HH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let opts = PartitionOptions::default();
    let t = Instant::now();
    let (areas, mut hh) = city(total);
    println!(
        "generated {} areas, {} households in {:.2} s",
        areas.len(),
        hh.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let adopted = partition(&areas, &hh, &[], &opts, &NoProgress).expect("partition");
    println!(
        "adopted partition: {} grids in {:.2} s",
        adopted.grids.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let text =
        String::from_utf8(write_grids(Vec::new(), "grids", &adopted.grids).unwrap()).unwrap();
    let previous = read_previous_grids(&text).expect("read previous");
    println!(
        "grids GeoJSON written and read back ({:.1} MB) in {:.2} s",
        text.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    drop(text);
    drop(adopted);
    census(&mut hh);

    let t = Instant::now();
    let u = update(
        &areas,
        &hh,
        &[],
        &previous,
        &UpdateOptions::from(opts.clone()),
        &NoProgress,
    )
    .expect("update");
    let t_update = t.elapsed().as_secs_f64();
    let c = &u.changes.totals;
    let within = u.partition.grids.iter().filter(|g| g.within_rules).count();
    let multi = u
        .partition
        .grids
        .iter()
        .filter(|g| g.geometry.0.len() > 1)
        .count();
    let changed: Vec<f64> = u
        .changes
        .grids
        .iter()
        .filter(|r| matches!(r.change, GridChange::Adjusted | GridChange::New))
        .filter_map(|r| r.grid)
        .map(|g| u.partition.grids[g].compactness)
        .collect();
    for (i, g) in u.partition.grids.iter().enumerate() {
        if g.geometry.0.len() > 1 {
            let parts: Vec<f64> = g
                .geometry
                .0
                .iter()
                .map(|p| geo::Area::unsigned_area(p) / (m_lon(LAT) * M_LAT))
                .collect();
            let rec = u.changes.grids.iter().find(|r| r.grid == Some(i)).unwrap();
            println!(
                "grid {} ({:?}) is in {} parts of {:?} m²: {:?}",
                g.code,
                rec.change,
                parts.len(),
                parts,
                g.issues
            );
        }
    }
    let pp_mean = changed.iter().sum::<f64>() / changed.len().max(1) as f64;
    let pp_min = changed.iter().copied().fold(f64::INFINITY, f64::min);

    let t = Instant::now();
    let s = partition(&areas, &hh, &[], &opts, &NoProgress).expect("scratch");
    let t_scratch = t.elapsed().as_secs_f64();
    // From-scratch churn: scratch grids matched one to one to previous codes by
    // shared households, largest first; a household moved when its previous
    // grid's code is not the code its scratch grid stands for.
    let mut ov: HashMap<(u32, u32), u64> = HashMap::new();
    for (i, h) in hh.iter().enumerate() {
        if let (Some(o), Some(g)) = (u.household_previous[i], s.household_grid[i]) {
            *ov.entry((g, o)).or_default() += u64::from(h.households);
        }
    }
    let mut pairs: Vec<((u32, u32), u64)> = ov.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut stands_for = vec![u32::MAX; s.grids.len()];
    let mut used = vec![false; previous.len()];
    for ((g, o), _) in pairs {
        if stands_for[g as usize] == u32::MAX && !used[o as usize] {
            stands_for[g as usize] = o;
            used[o as usize] = true;
        }
    }
    let mut scratch_moved = 0u64;
    for (i, h) in hh.iter().enumerate() {
        if let (Some(o), Some(g)) = (u.household_previous[i], s.household_grid[i]) {
            if stands_for[g as usize] != o {
                scratch_moved += u64::from(h.households);
            }
        }
    }
    let scratch_kept = stands_for.iter().filter(|&&o| o != u32::MAX).count();
    let total_hh: u64 = hh.iter().map(|h| u64::from(h.households)).sum();

    println!();
    println!("| run | time | grids | grids changed | households moved |");
    println!("|---|---|---|---|---|");
    println!(
        "| update | {:.2} s | {} → {} ({} within rules) | {} ({} adjusted, {} new, {} retired) | {} ({:.2} %) |",
        t_update,
        c.grids_before,
        c.grids_after,
        within,
        c.adjusted + c.new + c.retired,
        c.adjusted,
        c.new,
        c.retired,
        c.households_moved,
        100.0 * c.households_moved as f64 / total_hh as f64
    );
    println!(
        "| from scratch | {:.2} s | {} | {} of {} previous codes unmatched | {} ({:.2} %) |",
        t_scratch,
        s.grids.len(),
        previous.len() - scratch_kept,
        previous.len(),
        scratch_moved,
        100.0 * scratch_moved as f64 / total_hh as f64
    );
    let modes = u
        .changes
        .areas
        .iter()
        .fold(HashMap::new(), |mut m: HashMap<String, usize>, a| {
            *m.entry(format!("{:?}", a.mode)).or_default() += 1;
            m
        });
    let mut modes: Vec<_> = modes.into_iter().collect();
    modes.sort();
    println!();
    println!("areas by update mode: {modes:?}");
    println!(
        "adjusted and new grids: Polsby–Popper mean {pp_mean:.3}, min {pp_min:.3}; grids in several parts: {multi}"
    );
}
