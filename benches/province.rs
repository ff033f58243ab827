//! A province recomputed on PostgreSQL by 1, 2 and 3 `wangge worker`
//! processes, against the command line's single process: 25 counties of 500
//! areas (`tests/support/province.rs`), 400 household points an area, one
//! household each (5,000,000 households), plus 1 point in 200 outside the
//! areas.
//!
//! - **Upload**: the households layer PUT into `wangge serve --store
//!   postgresql://…` (parse, validate, binary COPY into PostGIS, GiST index,
//!   swap), against `ogr2ogr -f PostgreSQL` (GDAL's COPY path with a GiST
//!   index) loading the same GeoJSON file, in features per second.
//! - **Reads**: items pages and grid tiles of the result from 32 connections
//!   on replica A alone, then on A and B.
//! - **Partition**: the job queued on replica A, cut into one shard per
//!   county and run by N workers, polled on replica B until it succeeds: wall
//!   time from the POST to success, the workers' peak resident memory (each
//!   process's `VmHWM`), and whether the grids layer has byte for byte the
//!   features of `wangge partition` (timed whole-process with `/usr/bin/time
//!   -v`) over the same inputs.
//! - **Coverage**: `WANGGE_BENCH_CAMERAS` cameras (50,000) over the
//!   province, the coverage job (H3 area coverage and gaps of every area)
//!   cut into county shards and run by 1 and 2 workers, against `wangge
//!   coverage`: wall, peak memory, and whether the covered-households layer
//!   has byte for byte the features of the command line's `households.geojson`.
//! - **Census update**: the province after a census (tests/support/province.rs,
//!   `Census`), the update of the command line's grids cut into county shards
//!   and run by N workers, against `wangge partition --previous`: wall, peak
//!   memory, and whether the grids and the change layer are the command
//!   line's, byte for byte.
//!
//! The machine has 2 cores: more workers share them, so the ratios show what
//! a worker costs or gives on one machine; the per-county cost is what a
//! country-wide run on more machines is estimated from (README).
//!
//! Run: `cargo bench --bench province` (needs what the PostgreSQL tests need:
//! Debian's `postgresql`, `postgis` and `gdal-bin`, installed by
//! `.ci/provision`). `WANGGE_BENCH_COUNTIES`, `WANGGE_BENCH_AREAS`,
//! `WANGGE_BENCH_POINTS` (per area) and `WANGGE_BENCH_WORKERS` (the most
//! workers) change the shape. Writes `benches/PROVINCE_RESULTS.md`.

#[path = "support/http.rs"]
mod http;
#[path = "../tests/service/pg.rs"]
mod pg;
#[path = "../tests/support/province.rs"]
mod province;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::{binary, env_num, free_addr, loadavg, request, Rng, Server};
use province::{features_part, Province};
use serde_json::Value;

/// Peak resident memory of a running process, MB (`VmHWM`).
fn peak_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs `wangge ARGS` under `/usr/bin/time -v`: wall seconds and peak MB.
fn timed_wangge(args: &[&str]) -> (f64, f64) {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(binary())
        .args(args)
        .output()
        .expect("run /usr/bin/time (Debian: apt-get install time)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "wangge {args:?}: {err}");
    let field = |name: &str| {
        err.lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.rsplit(": ").next())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let wall = field("Elapsed (wall clock) time");
    let secs = wall.split(':').fold(0.0, |acc, part| {
        acc * 60.0 + part.parse::<f64>().unwrap_or(0.0)
    });
    let kb: f64 = field("Maximum resident set size")
        .parse()
        .unwrap_or(f64::NAN);
    (secs, kb / 1024.0)
}

fn put(server: &Server, dataset: &str, layer: &str, path: &Path) -> f64 {
    let body = std::fs::read(path).unwrap();
    let t = Instant::now();
    let (status, text) = request(
        &server.addr,
        "PUT",
        &format!("/api/v1/datasets/{dataset}/layers/{layer}"),
        &body,
    )
    .expect("upload");
    assert!(
        status == 200 || status == 201,
        "{layer}: {status} {}",
        String::from_utf8_lossy(&text)
    );
    t.elapsed().as_secs_f64()
}

fn ogr2ogr(port: u16, db: &str, file: &Path) -> f64 {
    let pg = format!("PG:host=127.0.0.1 port={port} user=postgres dbname={db}");
    let t = Instant::now();
    let out = Command::new("ogr2ogr")
        .args(["-f", "PostgreSQL", &pg])
        .arg(file)
        .args(["-nln", "ogr_households", "-overwrite"])
        .args(["-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"])
        .args(["--config", "PG_USE_COPY", "YES"])
        .output()
        .expect("run ogr2ogr (Debian: apt-get install gdal-bin)");
    assert!(
        out.status.success(),
        "ogr2ogr failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

/// A `wangge worker`, killed when dropped (also when the bench fails).
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_worker(url: &str) -> Worker {
    let child = Command::new(binary())
        .args(["worker", "--store", url, "--job-lease-s", "30"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start wangge worker");
    Worker(child)
}

/// One job (`partition`, `coverage`, or `partition?update=true`) of
/// `dataset` by `n` workers: wall seconds, the workers' peak MB (the
/// largest, and the sum), and the layer `layer` as downloaded.
fn job_with(
    n: usize,
    dataset: &str,
    kind: &str,
    layer: &str,
    url: &str,
    a: &Server,
    b: &Server,
) -> (f64, f64, f64, Vec<u8>) {
    let workers: Vec<Worker> = (0..n).map(|_| start_worker(url)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let post = format!("/api/v1/datasets/{dataset}/{kind}");
    let (status, body) = request(&a.addr, "POST", &post, b"").expect("submit");
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let job: Value = serde_json::from_slice(&body).unwrap();
    let path = format!("/api/v1/jobs/{}", job["id"].as_str().unwrap());
    let done = loop {
        std::thread::sleep(Duration::from_millis(200));
        let (status, body) = request(&b.addr, "GET", &path, b"").expect("poll");
        assert_eq!(status, 200);
        let j: Value = serde_json::from_slice(&body).unwrap();
        if !matches!(j["state"].as_str(), Some("queued" | "running")) {
            break j;
        }
        assert!(t.elapsed() < Duration::from_secs(3600), "{path}: {j}");
    };
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(done["state"], "succeeded", "{done}");
    let peaks: Vec<f64> = workers.iter().map(|w| peak_mb(w.0.id())).collect();
    drop(workers);
    let features = download(b, dataset, layer);
    println!(
        "{kind}, {n} worker(s): {wall:.1} s, shards {}/{}, peak {:?} MB",
        done["shards_done"], done["shards_total"], peaks
    );
    let max = peaks.iter().copied().fold(0.0, f64::max);
    (wall, max, peaks.iter().sum(), features)
}

/// A layer of a dataset as a client downloads it.
fn download(server: &Server, dataset: &str, layer: &str) -> Vec<u8> {
    let path = format!("/api/v1/datasets/{dataset}/layers/{layer}");
    let (status, features) = request(&server.addr, "GET", &path, b"").expect("download");
    assert_eq!(status, 200, "{path}");
    features
}

/// A row of a jobs table: workers, wall, largest and summed peak MB, and
/// whether the result is the command line's.
type JobRow = (usize, f64, f64, f64, bool);

/// The rows of one job kind against the command line's run, as Markdown.
fn job_table(
    what: &str,
    same_as: &str,
    cli: (f64, f64),
    rows: &[JobRow],
    counties: usize,
) -> String {
    let (cli_s, cli_mb) = cli;
    let mut md = format!(
        "| {what} | wall | vs 1 worker | peak memory (largest process) | peak memory (all workers) | {same_as} = CLI's, byte for byte |\n|---|---|---|---|---|---|\n\
| `wangge {what}`, one process (`/usr/bin/time -v`) | {cli_s:.1} s | — | {cli_mb:.0} MB | — | (the reference) |\n"
    );
    let one = rows[0].1;
    for (n, wall, max_mb, sum_mb, same) in rows {
        md.push_str(&format!(
            "| {n} worker(s), {counties} county shards | {wall:.1} s | {:.2}× | {max_mb:.0} MB | {sum_mb:.0} MB | {} |\n",
            one / wall,
            if *same { "yes" } else { "**no**" }
        ));
    }
    md
}

/// The province's extent, for the random requests of the read load.
static EXTENT: OnceLock<[f64; 4]> = OnceLock::new();

/// A random point of the province.
fn somewhere(rng: &mut Rng) -> (f64, f64) {
    let e = EXTENT.get().expect("the extent is set");
    (
        e[0] + (e[2] - e[0]) * rng.next(),
        e[1] + (e[3] - e[1]) * rng.next(),
    )
}

/// An items page of the grids: 100 of a window of 10 × 10 areas.
fn items_page(rng: &mut Rng) -> String {
    let (x, y) = somewhere(rng);
    let w = 10.0 * province::CELL;
    format!(
        "/collections/p.grids/items?bbox={x},{y},{},{}&limit=100",
        x + w,
        y + w
    )
}

/// A grid tile at zoom 11–15 over the province.
fn grid_tile(rng: &mut Rng) -> String {
    let (lon, lat) = somewhere(rng);
    let z = 11 + (rng.next() * 5.0) as u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let l = lat.to_radians();
    let y = ((1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    format!("/collections/p.grids/tiles/WebMercatorQuad/{z}/{y}/{x}")
}

/// Requests per second, p99 latency (ms) and errors of one load run of
/// `WANGGE_BENCH_SECS` (default 10) seconds.
fn read_load(addrs: &[String], path: fn(&mut Rng) -> String) -> (f64, f64, u64) {
    let secs = env_num("WANGGE_BENCH_SECS", 10);
    let (st, elapsed) = http::load(addrs, 32, secs, path);
    (
        st.latencies_us.len() as f64 / elapsed,
        http::pct(&st.latencies_us, 0.99),
        st.errors,
    )
}

fn main() {
    let load_before = loadavg();
    let shape = Province {
        counties: env_num("WANGGE_BENCH_COUNTIES", 25) as usize,
        areas_per_county: env_num("WANGGE_BENCH_AREAS", 500) as usize,
        points_per_area: env_num("WANGGE_BENCH_POINTS", 400) as usize,
        households_per_point: Some(1),
    };
    let max_workers = env_num("WANGGE_BENCH_WORKERS", 3) as usize;
    let cameras = env_num("WANGGE_BENCH_CAMERAS", 50_000) as usize;
    let dir = std::env::temp_dir().join(format!("wangge-bench-province-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = |name: &str| dir.join(name);
    let s = |name: &str| f(name).to_str().unwrap().to_string();
    std::fs::write(f("areas.in.geojson"), shape.areas()).unwrap();
    let households_text = shape.households();
    let points = households_text.matches("\"Feature\"").count();
    std::fs::write(f("households.in.geojson"), &households_text).unwrap();
    drop(households_text);
    println!(
        "{} counties × {} areas, {points} household points",
        shape.counties, shape.areas_per_county
    );

    // The command line, one process, no store.
    for layer in ["areas", "households"] {
        let (input, output) = (
            s(&format!("{layer}.in.geojson")),
            s(&format!("{layer}.geojson")),
        );
        timed_wangge(&[
            "convert", "--layer", layer, "--in", &input, "--out", &output,
        ]);
    }
    let (cli_s, cli_mb) = timed_wangge(&[
        "partition",
        "--areas",
        &s("areas.geojson"),
        "--households",
        &s("households.geojson"),
        "--out",
        &s("grids.geojson"),
    ]);
    println!("wangge partition (one process): {cli_s:.1} s, {cli_mb:.0} MB");
    let cli_grids = std::fs::read(f("grids.geojson")).unwrap();

    let cluster = pg::PgCluster::start(true);
    let url = cluster.fresh_database("bench_province");
    let db = url.rsplit('/').next().unwrap().to_string();
    let serve = |name: &str| {
        Server::start(
            &f(name),
            &free_addr(),
            "warn",
            // The job budget raised to the command line's: a sharded job is
            // sized by its biggest county, and a province of a few large
            // counties (`WANGGE_BENCH_*`) would pass the default.
            &[
                "--store",
                &url,
                "--no-worker",
                "--max-body-mb",
                "4096",
                "--max-job-cells",
                "1e12",
                "--max-job-pairs",
                "1e15",
            ],
        )
    };
    let (a, b) = (serve("a"), serve("b"));
    put(&a, "p", "areas", &f("areas.in.geojson"));
    let upload_s = put(&a, "p", "households", &f("households.in.geojson"));
    println!("households uploaded into PostGIS: {upload_s:.1} s");
    let ogr_s = ogr2ogr(cluster.port, &db, &f("households.in.geojson"));
    println!("ogr2ogr -f PostgreSQL: {ogr_s:.1} s");

    let mut rows = Vec::new();
    for n in 1..=max_workers {
        let (wall, max_mb, sum_mb, grids) = job_with(n, "p", "partition", "grids", &url, &a, &b);
        let same = features_part(&grids) == features_part(&cli_grids);
        rows.push((n, wall, max_mb, sum_mb, same));
    }
    // Coverage: the cameras uploaded, the command line against 1 and 2
    // workers (the households layer compared).
    std::fs::write(f("cameras.in.geojson"), shape.cameras(cameras)).unwrap();
    timed_wangge(&[
        "convert",
        "--layer",
        "cameras",
        "--in",
        &s("cameras.in.geojson"),
        "--out",
        &s("cameras.geojson"),
    ]);
    let cli_coverage = timed_wangge(&[
        "coverage",
        "--cameras",
        &s("cameras.geojson"),
        "--households",
        &s("households.geojson"),
        "--areas",
        &s("areas.geojson"),
        "--out",
        &s("coverage"),
        "--max-cells",
        "1e12",
        "--max-pairs",
        "1e15",
    ]);
    println!("wangge coverage (one process): {cli_coverage:?}");
    let cli_seen = std::fs::read(f("coverage").join("households.geojson")).unwrap();
    put(&a, "p", "cameras", &f("cameras.in.geojson"));
    let mut coverage_rows = Vec::new();
    for n in 1..=max_workers.min(2) {
        let (wall, max_mb, sum_mb, seen) =
            job_with(n, "p", "coverage", "coverage_households", &url, &a, &b);
        let same = features_part(&seen) == features_part(&cli_seen);
        coverage_rows.push((n, wall, max_mb, sum_mb, same));
    }

    // A census update of the command line's grids: `wangge partition
    // --previous` against 1..N workers, each on a dataset of its own that
    // holds the same grids, areas and households (an update rewrites its
    // dataset's grids and lineage).
    std::fs::write(f("areas2.in.geojson"), shape.areas_after_census()).unwrap();
    std::fs::write(f("households2.in.geojson"), shape.households_after_census()).unwrap();
    for layer in ["areas2", "households2"] {
        let kind = layer.trim_end_matches('2');
        timed_wangge(&[
            "convert",
            "--layer",
            kind,
            "--in",
            &s(&format!("{layer}.in.geojson")),
            "--out",
            &s(&format!("{layer}.geojson")),
        ]);
    }
    let cli_update = timed_wangge(&[
        "partition",
        "--areas",
        &s("areas2.geojson"),
        "--households",
        &s("households2.geojson"),
        "--previous",
        &s("grids.geojson"),
        "--out",
        &s("updated.geojson"),
    ]);
    println!("wangge partition --previous (one process): {cli_update:?}");
    let cli_updated = std::fs::read(f("updated.geojson")).unwrap();
    let cli_changes = std::fs::read(f("updated.changes.geojson")).unwrap();
    let mut update_rows = Vec::new();
    for n in 1..=max_workers {
        let dataset = format!("u{n}");
        put(&a, &dataset, "grids", &f("grids.geojson"));
        put(&a, &dataset, "areas", &f("areas2.in.geojson"));
        put(&a, &dataset, "households", &f("households2.in.geojson"));
        let (wall, max_mb, sum_mb, grids) =
            job_with(n, &dataset, "partition?update=true", "grids", &url, &a, &b);
        let changes = download(&b, &dataset, "grid_changes");
        let same = features_part(&grids) == features_part(&cli_updated)
            && features_part(&changes) == features_part(&cli_changes);
        update_rows.push((n, wall, max_mb, sum_mb, same));
    }

    // Reads of the grids, from replica A alone and from both.
    EXTENT.set(shape.extent()).expect("set once");
    let (one_addr, both) = (vec![a.addr.clone()], vec![a.addr.clone(), b.addr.clone()]);
    let mut reads = Vec::new();
    for (what, path) in [
        ("items pages", items_page as fn(&mut Rng) -> String),
        ("grid tiles z11–15", grid_tile),
    ] {
        let alone = read_load(&one_addr, path);
        let shared = read_load(&both, path);
        println!("{what}: one replica {alone:?}, two {shared:?}");
        reads.push((what, alone, shared));
    }
    let load_after = loadavg();
    drop((a, b));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);

    let one = rows[0].1;
    let mut md = format!(
        "# Province bench\n\nMeasured by `cargo bench --bench province` (benches/province.rs): \
{} counties × {} areas (tests/support/province.rs), {points} household points of one \
household each ({} in areas, the rest outside them), on a throwaway PostgreSQL + PostGIS \
cluster with its durable defaults, two `wangge serve --no-worker` replicas (jobs queued on A, \
polled on B) and N `wangge worker` processes, on this 2-core machine. Load average {load_before} \
before, {load_after} after. One run per row.\n\n",
        shape.counties,
        shape.areas_per_county,
        shape.counties * shape.areas_per_county * shape.points_per_area,
    );
    md.push_str(&format!(
        "| households into PostGIS | wangge (HTTP upload: parse, validate, COPY, index) | ogr2ogr -f PostgreSQL | ratio |\n|---|---|---|---|\n\
| {points} | {upload_s:.1} s ({:.0} features/s) | {ogr_s:.1} s ({:.0} features/s) | {:.2}× |\n\n",
        points as f64 / upload_s,
        points as f64 / ogr_s,
        ogr_s / upload_s
    ));
    md.push_str(&job_table(
        "partition",
        "grids",
        (cli_s, cli_mb),
        &rows,
        shape.counties,
    ));
    md.push_str(&format!(
        "\nPer county (1 worker): {:.2} s for {} households.\n",
        one / shape.counties as f64,
        shape.areas_per_county * shape.points_per_area
    ));
    md.push_str(
        "\n| reads of the grids, 32 connections | one replica | two replicas | ratio |\n|---|---|---|---|\n",
    );
    for (what, (r1, p1, e1), (r2, p2, e2)) in &reads {
        md.push_str(&format!(
            "| {what} | {r1:.0}/s (p99 {p1:.1} ms, {e1} errors) | {r2:.0}/s (p99 {p2:.1} ms, {e2} errors) | {:.2}× |\n",
            r2 / r1
        ));
    }
    md.push_str(&format!(
        "\n{cameras} cameras (domes, bullets and PTZ of up to 900 m, one in eight offline), \
H3 area coverage and gaps of every area:\n\n"
    ));
    md.push_str(&job_table(
        "coverage",
        "covered households",
        cli_coverage,
        &coverage_rows,
        shape.counties,
    ));
    md.push_str(&format!(
        "\nA census update of those grids (households change in {:.0}% of the areas: one in four \
grows by half, one in five loses a quarter; an area shrinks, one is dissolved, a county of \
{} areas is added; {} county shards):\n\n",
        100.0 * (1.0 - 0.75 * 0.8),
        shape.areas_per_county,
        shape.counties + 1
    ));
    md.push_str(&job_table(
        "partition --previous",
        "grids and change layer",
        cli_update,
        &update_rows,
        shape.counties + 1,
    ));
    print!("{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/PROVINCE_RESULTS.md");
    std::fs::write(&out, md).unwrap();
    assert!(
        rows.iter().all(|r| r.4),
        "a sharded run's grids differ from the CLI's"
    );
    assert!(
        coverage_rows.iter().all(|r| r.4),
        "a sharded coverage differs from the CLI's"
    );
    assert!(
        update_rows.iter().all(|r| r.4),
        "a sharded census update differs from the CLI's"
    );
}
