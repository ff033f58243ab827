//! `wangge coverage` and `wangge propose`: what the cameras see, and where
//! new ones would see most.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use wangge::layers;

use crate::cli::formats::{finish, OutputArgs};
use crate::{both, create, BudgetArgs, InputArgs, Inputs, Status};

#[derive(Args)]
pub(crate) struct CoverageArgs {
    #[arg(long)]
    cameras: PathBuf,
    #[arg(long)]
    households: PathBuf,
    #[arg(long)]
    areas: Option<PathBuf>,
    #[arg(long)]
    buildings: Option<PathBuf>,
    #[arg(long)]
    sites: Option<PathBuf>,
    /// Output directory (households, areas, gaps, sites, summary).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    budget: BudgetArgs,
    #[command(flatten)]
    read: InputArgs,
    #[command(flatten)]
    write: OutputArgs,
}

#[derive(Args)]
pub(crate) struct ProposeArgs {
    #[arg(long)]
    cameras: PathBuf,
    #[arg(long)]
    households: PathBuf,
    #[arg(long)]
    candidates: PathBuf,
    /// Number of new sites to choose.
    #[arg(long)]
    count: Option<usize>,
    /// Choose the fewest sites that reach this household coverage (0–1).
    #[arg(long)]
    target_coverage: Option<f64>,
    /// Range of a new camera, metres.
    #[arg(long, default_value_t = 50.0)]
    range_m: f64,
    /// Field of view of a new camera, degrees (360 for a dome).
    #[arg(long, default_value_t = 360.0)]
    fov_deg: f64,
    /// View axis of a new camera narrower than 360°, compass degrees clockwise
    /// from north (with --orientations, the first of the axes tried).
    #[arg(long, default_value_t = 0.0)]
    azimuth_deg: f64,
    /// Also choose which way each new camera faces: try this many evenly spaced
    /// view axes at every candidate (azimuth + k·360°/N) and pick the best
    /// (site, axis) pairs; a site may get two cameras facing different ways.
    /// 1 keeps every camera on --azimuth-deg; ignored for 360° cameras.
    #[arg(long, default_value_t = 1, value_name = "N")]
    orientations: u32,
    #[arg(long)]
    buildings: Option<PathBuf>,
    /// The proposals layer: .geojson, .gpkg, .shp or .zip.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    budget: BudgetArgs,
    #[command(flatten)]
    read: InputArgs,
    #[command(flatten)]
    write: OutputArgs,
}

pub(crate) fn coverage(a: CoverageArgs) -> Result<(), String> {
    use wangge::coverage::{self, CoverageInput, CoverageOptions};
    let status = Status::new();
    let inputs = Inputs::new(&a.read, &status)?;
    let ((cameras, households), ((areas, buildings), sites)) = both(
        || inputs.cameras_and_households(&a.cameras, &a.households),
        || {
            both(
                || {
                    both(
                        || inputs.maybe(&a.areas, layers::read_areas),
                        || inputs.maybe(&a.buildings, layers::read_buildings),
                    )
                },
                || inputs.maybe(&a.sites, layers::read_sites),
            )
        },
    );
    let (cameras, households, areas, buildings, sites) =
        (cameras?, households?, areas?, buildings?, sites?);
    let ranges: Vec<f64> = cameras.iter().map(|c| c.range_m).collect();
    a.budget.check(wangge::bounds::coverage(
        &wangge::bounds::area_boxes_m2(&areas),
        Some(12),
        &ranges,
        wangge::bounds::Spread::of(&households),
    ))?;
    let input = CoverageInput {
        cameras: &cameras,
        households: &households,
        areas: &areas,
        buildings: &buildings,
        sites: &sites,
    };
    let result = coverage::coverage(&input, &CoverageOptions::default(), &status)
        .map_err(|e| e.to_string())?;

    std::fs::create_dir_all(&a.out)
        .map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
    let file = |name: &str| a.out.join(name);
    let fail = |name: &str, e: std::io::Error| format!("writing {}: {e}", file(name).display());
    status.stage(&format!("writing {}", a.out.display()));
    // The layers are written at the same time, like the inputs are read.
    let households_and_cameras = || -> Result<(), String> {
        let written = layers::outputs::write_covered_households(
            a.write.layer(&file("households.geojson"))?,
            &households,
            &cameras,
            &result.households,
        );
        finish(&file("households.geojson"), written)?;
        let written = layers::outputs::write_camera_use(
            a.write.layer(&file("cameras.geojson"))?,
            &cameras,
            &result.households,
        );
        finish(&file("cameras.geojson"), written)?;
        Ok(())
    };
    let areas_gaps_and_sites = || -> Result<(), String> {
        if !areas.is_empty() {
            let written = layers::outputs::write_area_coverage(
                a.write.layer(&file("areas.geojson"))?,
                &areas,
                &result.areas,
            );
            finish(&file("areas.geojson"), written)?;
            let written = layers::outputs::write_gaps(
                a.write.layer(&file("gaps.geojson"))?,
                &areas,
                &result.gaps,
            );
            finish(&file("gaps.geojson"), written)?;
        }
        if a.sites.is_some() {
            let written = layers::outputs::write_covered_sites(
                a.write.layer(&file("sites.geojson"))?,
                &sites,
                &cameras,
                &result.sites,
            );
            finish(&file("sites.geojson"), written)?;
        }
        Ok(())
    };
    let (first, second) = both(households_and_cameras, areas_gaps_and_sites);
    first.and(second)?;
    let summary = serde_json::json!({ "summary": result.summary, "inputs": inputs.reports() });
    let mut f = create(&file("summary.json"))?;
    serde_json::to_writer_pretty(&mut f, &summary).map_err(|e| e.to_string())?;
    f.flush().map_err(|e| fail("summary.json", e))?;
    status.done();
    inputs.print_reports();
    let s = &result.summary;
    println!(
        "coverage: {} of {} households seen ({}), {} of {} cameras online, {} gaps; written to {}",
        s.covered_households,
        s.households,
        percent(s.household_coverage),
        s.cameras_online,
        s.cameras,
        s.gaps,
        a.out.display()
    );
    Ok(())
}

fn percent(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1} %", r * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

pub(crate) fn propose(a: ProposeArgs) -> Result<(), String> {
    use wangge::coverage::{self, Goal, ProposeInput, ProposeOptions};
    let goal = match (a.count, a.target_coverage) {
        (Some(n), None) => Goal::Count(n),
        (None, Some(t)) if (0.0..=1.0).contains(&t) => Goal::TargetCoverage(t),
        (None, Some(t)) => {
            return Err(format!(
                "--target-coverage must be between 0 and 1, got {t}"
            ))
        }
        _ => return Err("give exactly one of --count N or --target-coverage F".into()),
    };
    if !(a.fov_deg > 0.0 && a.fov_deg <= 360.0) {
        return Err(format!("--fov-deg must be in (0, 360], got {}", a.fov_deg));
    }
    if !(a.range_m > 0.0 && a.range_m <= wangge::bounds::MAX_RANGE_M) {
        return Err(format!(
            "--range-m must be in (0, {}] metres, got {}",
            wangge::bounds::MAX_RANGE_M,
            a.range_m
        ));
    }
    if a.count
        .is_some_and(|n| !(1..=wangge::bounds::MAX_COUNT).contains(&n))
    {
        return Err(format!(
            "--count must be between 1 and {}",
            wangge::bounds::MAX_COUNT
        ));
    }
    if !a.azimuth_deg.is_finite() {
        return Err(format!(
            "--azimuth-deg must be finite, got {}",
            a.azimuth_deg
        ));
    }
    if !(1..=360).contains(&a.orientations) {
        return Err(format!(
            "--orientations must be between 1 and 360, got {}",
            a.orientations
        ));
    }
    let status = Status::new();
    let inputs = Inputs::new(&a.read, &status)?;
    let ((cameras, households), (candidates, buildings)) = both(
        || inputs.cameras_and_households(&a.cameras, &a.households),
        || {
            both(
                || inputs.read(&a.candidates, layers::read_candidates),
                || inputs.maybe(&a.buildings, layers::read_buildings),
            )
        },
    );
    let (cameras, households, candidates, buildings) =
        (cameras?, households?, candidates?, buildings?);
    let ranges: Vec<f64> = cameras.iter().map(|c| c.range_m).collect();
    let axes = if a.fov_deg >= 360.0 {
        1
    } else {
        a.orientations
    };
    a.budget.check(wangge::bounds::propose(
        &ranges,
        candidates.len() as u64,
        axes,
        a.range_m,
        wangge::bounds::Spread::of(&households),
    ))?;
    let input = ProposeInput {
        cameras: &cameras,
        households: &households,
        candidates: &candidates,
        buildings: &buildings,
        sites: &[],
    };
    let options = ProposeOptions {
        range_m: a.range_m,
        fov_deg: a.fov_deg,
        azimuth_deg: a.azimuth_deg,
        goal,
        ..Default::default()
    };
    let result = coverage::propose_oriented(&input, &options, a.orientations, &status)
        .map_err(|e| e.to_string())?;
    let written = layers::outputs::write_proposals(a.write.layer(&a.out)?, &candidates, &result);
    finish(&a.out, written)?;
    status.done();
    inputs.print_reports();
    let axes = if a.orientations > 1 && a.fov_deg < 360.0 {
        format!(" (each facing the best of {} axes)", a.orientations)
    } else {
        String::new()
    };
    println!(
        "proposals: {} sites{axes} raise covered households from {} to {} of {}",
        result.picks.len(),
        result.covered_before,
        result.covered_after,
        result.households
    );
    Ok(())
}
