//! Bulk writes into PostGIS: `wangge`'s PostgreSQL store (binary COPY into a
//! staging table, primary key and GiST index, swap; `Store::put_layer`) against
//! `ogr2ogr -f PostgreSQL` (GDAL's COPY path with a GiST index) on the same
//! 1M-household layer as `service_load`, both into one throwaway cluster with
//! PostgreSQL's durable defaults (fsync on). The SQLite store's write of the
//! same features is printed beside them for scale.
//!
//! `WANGGE_BENCH_POINTS` sets the size (1,000,000), `WANGGE_BENCH_RUNS` the runs
//! per side (3; medians reported). Writes `benches/STORE_RESULTS.md`.

#[path = "support/http.rs"]
mod http;
#[path = "../tests/service/pg.rs"]
mod pg;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use http::{env_num, loadavg};
use wangge::layers::LayerKind;
use wangge::service::features::layer_to_stored;
use wangge::store::postgres::PgStore;
use wangge::store::{LayerSource, SqliteStore, Store};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let load_before = loadavg();
    let points = env_num("WANGGE_BENCH_POINTS", 1_000_000) as usize;
    let runs = env_num("WANGGE_BENCH_RUNS", 3).max(1) as usize;
    let text = http::households(points, 42, (118.0, 32.1, 0.6, 0.5));
    let (layer, _) = wangge::layers::read_layer(LayerKind::Households, &text, &Default::default())
        .expect("read the households");
    let features = layer_to_stored(&layer).expect("stored features");
    println!(
        "{points} households, {:.0} MB of GeoJSON",
        text.len() as f64 / 1e6
    );

    let cluster = pg::PgCluster::start(true);
    let url = cluster.fresh_database("bench_store");
    let db = url.rsplit('/').next().unwrap().to_string();
    let store = PgStore::open(&url).expect("open the PostgreSQL store");
    let report = serde_json::Value::Null;
    let mut ours = Vec::new();
    for k in 0..runs {
        let t = Instant::now();
        store
            .put_layer(
                "bench",
                "households",
                "households",
                LayerSource::Upload,
                &report,
                &features,
            )
            .expect("put_layer");
        let s = t.elapsed().as_secs_f64();
        println!("wangge PostgreSQL put_layer {k}: {s:.2} s");
        ours.push(s);
    }
    let t = Instant::now();
    let (_, back) = store.features("bench", "households").unwrap().unwrap();
    let read_s = t.elapsed().as_secs_f64();
    assert_eq!(back.len(), points);
    assert!(back == features, "features read back differ");
    let stored = cluster.psql(
        &db,
        "SELECT count(*) FROM wangge.layers l WHERE l.layer = 'households'",
    );
    assert_eq!(stored.trim(), "1");

    let dir = std::env::temp_dir().join(format!("wangge-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("households.geojson");
    std::fs::write(&file, &text).unwrap();
    let pg = format!(
        "PG:host=127.0.0.1 port={} user=postgres dbname={db}",
        cluster.port
    );
    let mut peer = Vec::new();
    for k in 0..runs {
        let t = Instant::now();
        let out = Command::new("ogr2ogr")
            .args(["-f", "PostgreSQL", &pg])
            .arg(&file)
            .args([
                "-nln",
                "ogr_households",
                "-overwrite",
                "-lco",
                "GEOMETRY_NAME=geom",
            ])
            .args([
                "-lco",
                "SPATIAL_INDEX=GIST",
                "--config",
                "PG_USE_COPY",
                "YES",
            ])
            .output()
            .expect("run ogr2ogr (Debian: apt-get install gdal-bin)");
        let s = t.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "ogr2ogr failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("ogr2ogr -f PostgreSQL {k}: {s:.2} s");
        peer.push(s);
    }
    let n = cluster.psql(&db, "SELECT count(*) FROM ogr_households");
    assert_eq!(n.trim(), points.to_string());

    let sqlite = SqliteStore::open(&dir).unwrap();
    let mut lite = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        sqlite
            .put_layer(
                "bench",
                "households",
                "households",
                LayerSource::Upload,
                &report,
                &features,
            )
            .unwrap();
        lite.push(t.elapsed().as_secs_f64());
    }
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);
    drop(store);
    cluster.stop();

    let (ours, peer, lite) = (median(&mut ours), median(&mut peer), median(&mut lite));
    let rate = |s: f64| points as f64 / s;
    let line = format!(
        "| {points} households into PostGIS | wangge `put_layer` {ours:.2} s ({:.0} features/s) | ogr2ogr {peer:.2} s ({:.0} features/s) | {:.2}× |",
        rate(ours),
        rate(peer),
        peer / ours
    );
    println!("{line}");
    println!(
        "read back by wangge: {read_s:.2} s ({:.0} features/s); SQLite store put_layer {lite:.2} s",
        rate(read_s)
    );
    let load_after = loadavg();
    let md = format!(
        "# Store benchmark\n\n\
Measured by `cargo bench --bench store` (benches/store.rs): {points} household points \
(the layer of `service_load`, {:.0} MB of GeoJSON) written into PostGIS on a throwaway \
PostgreSQL cluster on this machine with its durable defaults (fsync on), median of {runs} runs \
a side. wangge: `Store::put_layer` of the PostgreSQL store (features already validated; \
GeoJSON geometry → EWKB on both cores, binary COPY into a new table, primary key, GiST \
index, swap in one transaction). Peer: `ogr2ogr -f PostgreSQL` from the GeoJSON file \
(`PG_USE_COPY=YES`, `SPATIAL_INDEX=GIST`), which also parses the file.\n\n\
| layer | wangge | peer | ratio (peer time / wangge time) |\n|---|---|---|---|\n{line}\n\n\
Reading the layer back (`Store::features`, what a replica does when it loads a \
collection): {read_s:.2} s ({:.0} features/s), equal to what was written. The SQLite \
store writes the same features in {lite:.2} s. Load average {load_before} before, \
{load_after} after (other builds share the 2-core machine).\n",
        text.len() as f64 / 1e6,
        rate(read_s)
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/STORE_RESULTS.md");
    if let Err(e) = std::fs::write(&out, md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
}
