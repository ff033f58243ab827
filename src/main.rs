//! The `wangge` command line: a thin layer over the library.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Reading and writing big layers makes millions of small allocations, which
/// mimalloc serves faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};

mod cli;
use cli::coverage::{coverage, propose, CoverageArgs, ProposeArgs};
use cli::serve::{serve, ServeArgs};
use cli::worker::{worker, WorkerArgs};

use wangge::crs::Crs;
use wangge::layers::lineage::{lineage_path, write_lineage, Lineage};
use wangge::layers::{self, FeatureWriter, FieldNames, LayerKind, ReadOptions};

#[derive(Parser)]
#[command(
    name = "wangge",
    version,
    about = "Service grids (网格) and camera coverage for grid-based governance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate, reproject to WGS84 and normalise one layer.
    Convert(ConvertArgs),
    /// Propose service grids for every area.
    Partition(PartitionArgs),
    /// Compute what the cameras see: households, areas, gaps, sites.
    Coverage(CoverageArgs),
    /// Choose new camera sites from candidates.
    Propose(ProposeArgs),
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Run jobs from a PostgreSQL store's queue, without HTTP.
    Worker(WorkerArgs),
}

/// Options for reading input layers.
#[derive(Args, Clone)]
struct InputArgs {
    /// CRS of the inputs: EPSG:n, CRS84, GCJ02, BD09 or a CGCS2000 Gauss-Krüger
    /// zone by name (CGCS2000-GK-CM-117E) (overrides a crs member in the file).
    #[arg(long)]
    crs: Option<String>,
    /// Fail if any feature is rejected, instead of keeping the good ones.
    #[arg(long)]
    strict: bool,
    /// Property holding the area code.
    #[arg(long, default_value = "code")]
    code_field: String,
    /// Property holding the area name.
    #[arg(long, default_value = "name")]
    name_field: String,
    /// Property holding the area kind (urban or rural).
    #[arg(long, default_value = "kind")]
    kind_field: String,
    /// Property holding the household count of a point.
    #[arg(long, default_value = "households")]
    households_field: String,
    /// Property holding the resident count of a point.
    #[arg(long, default_value = "persons")]
    persons_field: String,
    /// Property holding a feature's id.
    #[arg(long, default_value = "id")]
    id_field: String,
    #[command(flatten)]
    source: cli::formats::SourceArgs,
}

impl InputArgs {
    fn options(&self) -> Result<ReadOptions, String> {
        let crs = self
            .crs
            .as_deref()
            .map(Crs::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(ReadOptions {
            crs,
            strict: self.strict,
            fields: FieldNames {
                code: self.code_field.clone(),
                name: self.name_field.clone(),
                kind: self.kind_field.clone(),
                households: self.households_field.clone(),
                persons: self.persons_field.clone(),
                id: self.id_field.clone(),
            },
            ..Default::default()
        })
    }
}

use cli::formats::{finish, OutputArgs};

/// The largest job the command runs (see the README's parameter ranges).
#[derive(Args, Clone)]
struct BudgetArgs {
    /// Refuse a job estimated to build or walk more H3 cells than this.
    #[arg(long, default_value_t = wangge::bounds::Budget::CLI.cells)]
    max_cells: f64,
    /// Refuse a job estimated to test more camera × household pairs than this.
    #[arg(long, default_value_t = wangge::bounds::Budget::CLI.pairs)]
    max_pairs: f64,
}

impl BudgetArgs {
    fn check(&self, estimate: wangge::bounds::Estimate) -> Result<(), String> {
        let budget = wangge::bounds::Budget {
            cells: self.max_cells,
            pairs: self.max_pairs,
        };
        budget
            .check(&estimate)
            .map_err(|e| format!("{e} (raise --max-{} to run it anyway)", e.measure))
    }
}

#[derive(Args)]
struct ConvertArgs {
    #[arg(long = "in")]
    input: PathBuf,
    /// areas, households, cameras, buildings, barriers, sites or candidates.
    #[arg(long)]
    layer: String,
    /// The output layer: .geojson, .gpkg, .shp or .zip (a zipped Shapefile).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    read: InputArgs,
    #[command(flatten)]
    write: OutputArgs,
    /// Also write the full report (every rejection) as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Args)]
struct PartitionArgs {
    #[arg(long)]
    areas: PathBuf,
    #[arg(long)]
    households: PathBuf,
    #[arg(long)]
    barriers: Option<PathBuf>,
    /// Rules JSON: {"min_households":…, "max_households":…, "max_persons":…, "max_area_m2":…}.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Rules of their own for some areas: a JSON object of area code → rules
    /// document, e.g. {"341102001002": {"min_households": 150, "max_households": 250}}.
    /// An area's own rules replace --rules (or its kind's preset) there.
    #[arg(long, value_name = "FILE")]
    area_rules: Option<PathBuf>,
    #[arg(long)]
    min_households: Option<u64>,
    #[arg(long)]
    max_households: Option<u64>,
    /// Previously adopted grids, to change as little as possible.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// Codes of grids of --previous to keep exactly as they are (geometry,
    /// code, households), comma-separated: the rest of their areas is
    /// partitioned afresh around them, and the kept grids are written with
    /// "locked": true.
    #[arg(long, value_delimiter = ',', requires = "previous")]
    locked: Vec<String>,
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    budget: BudgetArgs,
    #[command(flatten)]
    read: InputArgs,
    #[command(flatten)]
    write: OutputArgs,
}

fn main() -> ExitCode {
    // A panic is a bug; still, end with one line, not a backtrace wall.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("wangge: internal error (please report): {info}");
    }));
    let cli = Cli::parse();
    // The engines time their phases in `tracing` spans; a command prints
    // them only when asked (e.g. RUST_LOG=wangge::partition=debug).
    if std::env::var_os("RUST_LOG").is_some()
        && !matches!(cli.command, Command::Serve(_) | Command::Worker(_))
    {
        wangge::service::init_logging();
    }
    let result = match cli.command {
        Command::Convert(a) => convert(a),
        Command::Partition(a) => partition(a),
        Command::Coverage(a) => coverage(a),
        Command::Propose(a) => propose(a),
        Command::Serve(a) => serve(a),
        Command::Worker(a) => worker(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("wangge: error: {}", reason.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Prints stage lines to stderr when it is a terminal.
struct Status {
    tty: bool,
    start: Instant,
}

impl Status {
    fn new() -> Self {
        Status {
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }
    fn stage(&self, what: &str) {
        if self.tty {
            eprint!(
                "\r\x1b[2K[{:6.1}s] {what}",
                self.start.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    }
    fn done(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

impl wangge::Progress for Status {
    fn report(&self, stage: &str, fraction: f64) {
        self.stage(&format!("{stage} {:3.0}%", fraction * 100.0));
    }
}

fn read_file(path: &Path, status: &Status) -> Result<layers::LayerText, String> {
    status.stage(&format!("reading {}", path.display()));
    layers::LayerText::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn create(path: &Path) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn convert(a: ConvertArgs) -> Result<(), String> {
    let status = Status::new();
    let kind: LayerKind = a
        .layer
        .parse()
        .map_err(|e: layers::LayerError| e.to_string())?;
    let mut opts = a.read.options()?;
    let text = a.read.source.open(&a.input, &opts.fields.id, &status)?;
    opts.origin = text.origin.clone();
    status.stage("parsing and validating");
    let (layer, report) = layers::read_layer(kind, &text, &opts)
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    drop(text);
    status.stage(&format!("writing {}", a.out.display()));
    let name = a
        .out
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_owned);
    let written = FeatureWriter::new(a.write.layer(&a.out)?, name.as_deref())
        .and_then(|mut w| layers::outputs::write_layer(&mut w, &layer).and_then(|_| w.finish()));
    finish(&a.out, written)?;
    status.done();
    println!("{}", report.summary());
    for r in report.rejections.iter().take(20) {
        println!("  rejected {r}");
    }
    if report.rejections.len() > 20 {
        println!("  … and {} more rejections", report.rejections.len() - 20);
    }
    if let Some(path) = a.report {
        let mut f = create(&path)?;
        serde_json::to_writer_pretty(&mut f, &report).map_err(|e| e.to_string())?;
        f.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn partition(a: PartitionArgs) -> Result<(), String> {
    use wangge::model::Rules;
    use wangge::partition::{self, PartitionOptions};
    let status = Status::new();
    let mut rules: Option<Rules> = match &a.rules {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| format!("{}: not a rules document: {e}", path.display()))?,
            )
        }
        None => None,
    };
    if a.min_households.is_some() || a.max_households.is_some() {
        let base = rules.unwrap_or(Rules::URBAN);
        rules = Some(Rules {
            min_households: a.min_households.unwrap_or(base.min_households),
            max_households: a.max_households.unwrap_or(base.max_households),
            target_households: None,
            ..base
        });
    }
    if let Some(r) = &rules {
        r.validate().map_err(|e| format!("rules: {e}"))?;
    }
    let area_rules = match &a.area_rules {
        Some(path) => read_area_rules(path)?,
        None => Default::default(),
    };
    let inputs = Inputs::new(&a.read, &status)?;
    let ((areas, households), barriers) = both(
        || {
            both(
                || inputs.read(&a.areas, layers::read_areas),
                || inputs.read(&a.households, layers::read_households),
            )
        },
        || inputs.maybe(&a.barriers, layers::read_barriers),
    );
    let (areas, households, barriers) = (areas?, households?, barriers?);
    let unknown = area_rules.unknown_codes(areas.iter().map(|a| a.code.as_str()));
    if let (Some(path), false) = (&a.area_rules, unknown.is_empty()) {
        return Err(format!(
            "--area-rules {}: no area in {} has the code(s) {}",
            path.display(),
            a.areas.display(),
            wangge::model::list_codes(&unknown, 20)
        ));
    }
    a.budget.check(wangge::bounds::partition(
        &wangge::bounds::area_boxes_m2(&areas),
        households.len() as u64,
    ))?;
    let options = PartitionOptions {
        rules,
        area_rules,
        ..Default::default()
    };
    let name = a
        .out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("grids")
        .to_string();
    // A fresh partition starts a lineage; an update carries its lineage on.
    let mut lineage = Lineage::default();
    let mut locked_marks = Vec::new();
    let (result, update) = match &a.previous {
        Some(path) if !a.locked.is_empty() => {
            let text = read_file(path, &status)?;
            let previous = layers::previous::read_previous_grids(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let locked = partition::select_locked(&previous, &a.locked)
                .map_err(|e| format!("--locked: {e} in {}", path.display()))?;
            let run = partition::partition_around(
                &areas,
                &households,
                &barriers,
                &locked,
                &options,
                &status,
            )
            .map_err(|e| e.to_string())?;
            locked_marks = run.locked;
            (run.partition, None)
        }
        None => {
            let result = partition::partition(&areas, &households, &barriers, &options, &status)
                .map_err(|e| e.to_string())?;
            (result, None)
        }
        Some(path) => {
            let text = read_file(path, &status)?;
            let previous = layers::previous::read_previous_grids(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let earlier = read_lineage_beside(path)?;
            let update = partition::update(
                &areas,
                &households,
                &barriers,
                &previous,
                &partition::UpdateOptions {
                    partition: options,
                    retired_codes: earlier.retired_codes.clone(),
                },
                &status,
            )
            .map_err(|e| e.to_string())?;
            lineage = Lineage {
                retired_codes: update.changes.retired_codes(&earlier.retired_codes),
            };
            // The change report beside the grids: JSON, and the changed grids as a layer.
            let json_path = a.out.with_file_name(format!("{name}.changes.json"));
            let ext = a
                .out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("geojson");
            let layer_path = a.out.with_file_name(format!("{name}.changes.{ext}"));
            let mut f = create(&json_path)?;
            serde_json::to_writer_pretty(&mut f, &update.changes).map_err(|e| e.to_string())?;
            f.flush()
                .map_err(|e| format!("writing {}: {e}", json_path.display()))?;
            let written = layers::previous::write_changes(
                a.write.layer(&layer_path)?,
                &format!("{name}.changes"),
                &update,
                &previous,
            );
            finish(&layer_path, written)?;
            let t = &update.changes.totals;
            let summary = format!(
                "update: {} unchanged, {} adjusted, {} new, {} retired grids; {} households moved between grids; report in {} and {}",
                t.unchanged, t.adjusted, t.new, t.retired, t.households_moved, json_path.display(), layer_path.display()
            );
            (update.partition, Some(summary))
        }
    };
    status.stage(&format!("writing {}", a.out.display()));
    let written = layers::outputs::write_grids_marked(
        a.write.layer(&a.out)?,
        &name,
        &result.grids,
        &locked_marks,
    );
    finish(&a.out, written)?;
    let lineage_out = lineage_path(&a.out);
    write_lineage(create(&lineage_out)?, &lineage)
        .map_err(|e| format!("writing {}: {e}", lineage_out.display()))?;
    status.done();
    inputs.print_reports();
    let within = result.grids.iter().filter(|g| g.within_rules).count();
    println!(
        "grids: {} for {} areas, {} within the rules, {} households outside every area",
        result.grids.len(),
        areas.len(),
        within,
        result.outside.households
    );
    for g in result.grids.iter().filter(|g| !g.within_rules).take(20) {
        println!(
            "  {} ({} households): {}",
            g.code,
            g.households,
            g.issues.join("; ")
        );
    }
    if let Some(summary) = update {
        println!("{summary}");
    }
    println!(
        "lineage: {} retired codes never to be handed out again, in {}",
        lineage.retired_codes.len(),
        lineage_out.display()
    );
    Ok(())
}

/// The `--area-rules` file: area code → rules document, each checked as
/// `--rules` is, naming the area of a bad one.
fn read_area_rules(path: &Path) -> Result<wangge::model::AreaRules, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rules: wangge::model::AreaRules = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not an area rules document (a JSON object of area code → rules): {e}",
            path.display()
        )
    })?;
    rules
        .validate()
        .map_err(|e| format!("--area-rules {}: {e}", path.display()))?;
    Ok(rules)
}

/// The lineage kept beside adopted grids; grids without one (adopted before
/// wangge kept lineages, or made elsewhere) start one, and the command says so.
fn read_lineage_beside(grids: &Path) -> Result<Lineage, String> {
    let found = layers::lineage::read_beside(grids)?;
    if found.is_none() {
        eprintln!(
            "wangge: note: no {} beside {}: no codes are known to have been retired before this update",
            lineage_path(grids).display(),
            grids.display()
        );
    }
    Ok(found.unwrap_or_default())
}

/// A layer reader: `layers::read_areas`, `layers::read_households`, ….
type ReadFn<T> =
    fn(&str, &ReadOptions) -> Result<(Vec<T>, layers::LayerReport), layers::LayerError>;

/// Reads a command's input layers with one set of options, keeping every
/// layer's report for the summary. Layers may be read at the same time (see
/// [`both`]), so one layer's sequential steps (reading the file, finding its
/// features) overlap another's parallel parsing.
struct Inputs<'s> {
    opts: ReadOptions,
    source: cli::formats::SourceArgs,
    status: &'s Status,
    reports: std::sync::Mutex<Vec<layers::LayerReport>>,
}

impl<'s> Inputs<'s> {
    fn new(args: &InputArgs, status: &'s Status) -> Result<Self, String> {
        Ok(Inputs {
            opts: args.options()?,
            source: args.source.clone(),
            status,
            reports: Default::default(),
        })
    }

    fn read<T>(&self, path: &Path, read: ReadFn<T>) -> Result<Vec<T>, String> {
        let text = self.source.open(path, &self.opts.fields.id, self.status)?;
        self.status.stage(&format!("validating {}", path.display()));
        let opts = ReadOptions {
            origin: text.origin.clone(),
            ..self.opts.clone()
        };
        let (items, report) = read(&text, &opts).map_err(|e| format!("{}: {e}", path.display()))?;
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(report);
        Ok(items)
    }

    /// An optional layer: empty when the option was not given.
    fn maybe<T>(&self, path: &Option<PathBuf>, read: ReadFn<T>) -> Result<Vec<T>, String> {
        path.as_ref().map_or(Ok(Vec::new()), |p| self.read(p, read))
    }

    /// The camera and household layers every coverage command needs, read at
    /// the same time.
    fn cameras_and_households(
        &self,
        cameras: &Path,
        households: &Path,
    ) -> (
        Result<Vec<wangge::model::Camera>, String>,
        Result<Vec<wangge::model::Household>, String>,
    ) {
        both(
            || self.read(cameras, layers::read_cameras),
            || self.read(households, layers::read_households),
        )
    }

    /// The layers' reports, in the contract's order of layer kinds.
    fn reports(&self) -> Vec<layers::LayerReport> {
        let mut reports = self
            .reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        reports.sort_by_key(|r| LayerKind::ALL.iter().position(|k| k.as_str() == r.layer));
        reports
    }

    fn print_reports(&self) {
        for r in self.reports() {
            println!("{}", r.summary());
        }
    }
}

/// Runs two steps (reads or writes of layers) at the same time.
fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    rayon::join(a, b)
}
