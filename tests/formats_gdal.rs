//! Shapefiles, GeoPackages and Excel lists, checked against GDAL (Debian's
//! `gdal-bin`: `ogr2ogr`) as the independent reader and writer.
//!
//! - A GBK Shapefile in EPSG:4549 that GDAL wrote reads into the features of
//!   GDAL's own GeoJSON of it: positions within 1 mm, every attribute equal.
//! - wangge's GeoPackage and Shapefile outputs, read back by GDAL, equal what
//!   GDAL reads from wangge's GeoJSON output (in WGS84 and in EPSG:4549).
//! - An Excel household list with GCJ-02 positions gives the same households
//!   as the equivalent GeoJSON.
//! - `--out-crs GCJ02` (and BD09) read back with that CRS is within 1 cm.
//!
//! Fails (naming what to install) when `ogr2ogr` is missing; `make test`
//! installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn require_gdal() {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("ogr2ogr").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "ogr2ogr is not installed: this test needs Debian's gdal-bin \
         (`apt-get install gdal-bin`, or `make test`, which installs it when run as root)"
    );
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wangge-formats-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(name)
}

fn ogr2ogr(args: &[&str]) {
    let o = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("run ogr2ogr");
    assert!(
        o.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs wangge; returns its stdout, failing the test on a non-zero exit.
fn wangge(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_wangge"))
        .args(args)
        .output()
        .expect("run wangge");
    assert!(
        o.status.success(),
        "wangge {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn features(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

/// GDAL's GeoJSON of any file it reads, in WGS84 with full precision.
fn gdal_geojson(input: &Path, out: &Path) -> Vec<Value> {
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-t_srs",
        "EPSG:4326",
        "-lco",
        "COORDINATE_PRECISION=15",
        p(out),
        p(input),
    ]);
    features(out)
}

/// Every position of a geometry, as (lon, lat), sorted: the same set of
/// vertices whatever the ring direction or start, or single/multi type.
fn vertices(g: &Value) -> Vec<(f64, f64)> {
    fn walk(v: &Value, out: &mut Vec<(f64, f64)>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a.iter().all(Value::is_number) => {
                out.push((a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&g["coordinates"], &mut out);
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

/// Ground distance in metres between two lon/lat positions (local plane).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let k = 111_320.0;
    let dx = (a.0 - b.0) * k * a.1.to_radians().cos();
    let dy = (a.1 - b.1) * k;
    dx.hypot(dy)
}

/// The largest distance between matching vertices of two geometries.
fn max_shift(a: &Value, b: &Value) -> f64 {
    let (va, vb) = (vertices(a), vertices(b));
    assert_eq!(va.len(), vb.len(), "vertex counts differ: {a} vs {b}");
    va.iter()
        .zip(&vb)
        .map(|(x, y)| metres(*x, *y))
        .fold(0.0, f64::max)
}

/// Two attribute values are equal: numbers by value (5 and 5.0 alike).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Adds attributes of every kind a Shapefile holds, with Chinese text and
/// Chinese field names, to the demo areas.
fn areas_with_attributes(out: &Path) {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(demo("areas.geojson")).unwrap()).unwrap();
    for (i, f) in v["features"].as_array_mut().unwrap().iter_mut().enumerate() {
        let props = f["properties"].as_object_mut().unwrap();
        props.insert("人口".into(), Value::from(1000 + 37 * i as i64));
        props.insert("面积".into(), Value::from(12.5 + i as f64 / 8.0));
        props.insert("备注".into(), Value::from(format!("第{i}网格·琅琊区")));
    }
    std::fs::write(out, v.to_string()).unwrap();
}

#[test]
fn a_gbk_shapefile_in_epsg_4549_reads_like_gdals_own_geojson_of_it() {
    require_gdal();
    let d = dir("gbk");
    let src = d.join("areas.geojson");
    areas_with_attributes(&src);
    let shp = d.join("areas.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4549",
        "-lco",
        "ENCODING=GBK",
        p(&shp),
        p(&src),
    ]);
    // It really is GBK text, and really projected.
    let dbf = std::fs::read(d.join("areas.dbf")).unwrap();
    let gbk = encoding_rs::GBK.encode("花园街社区").0;
    assert!(
        dbf.windows(gbk.len()).any(|w| w == &gbk[..]),
        "the .dbf holds no GBK text"
    );
    assert!(std::fs::read_to_string(d.join("areas.prj"))
        .unwrap()
        .contains("Gauss"));

    let gdal = gdal_geojson(&shp, &d.join("gdal.geojson"));
    let out = d.join("wangge.geojson");
    let stdout = wangge(&[
        "convert",
        "--in",
        p(&shp),
        "--layer",
        "areas",
        "--out",
        p(&out),
    ]);
    assert!(
        stdout.contains("45 accepted, 0 rejected (crs EPSG:4549)"),
        "{stdout}"
    );
    assert!(stdout.contains("GBK text (.cpg)"), "{stdout}");
    let ours = features(&out);
    assert_eq!(ours.len(), gdal.len());
    let mut worst: f64 = 0.0;
    for (i, (w, g)) in ours.iter().zip(&gdal).enumerate() {
        worst = worst.max(max_shift(&w["geometry"], &g["geometry"]));
        let gp = g["properties"].as_object().unwrap();
        assert_eq!(gp.len(), 6, "feature {i}: {gp:?}");
        for (k, v) in gp {
            let mine = &w["properties"][k];
            assert!(
                same_value(mine, v),
                "feature {i}, {k}: wangge {mine}, GDAL {v}"
            );
        }
    }
    assert!(worst < 0.001, "positions differ by up to {worst} m");

    // Without the .cpg, the encoding comes from --encoding; the same features.
    let bare = dir("gbk-bare");
    for ext in ["shp", "shx", "dbf", "prj"] {
        std::fs::copy(
            d.join(format!("areas.{ext}")),
            bare.join(format!("areas.{ext}")),
        )
        .unwrap();
    }
    let out2 = bare.join("wangge.geojson");
    let stdout = wangge(&[
        "convert",
        "--in",
        p(&bare.join("areas.shp")),
        "--layer",
        "areas",
        "--encoding",
        "GB18030",
        "--out",
        p(&out2),
    ]);
    assert!(stdout.contains("gb18030 text (--encoding)"), "{stdout}");
    assert_eq!(features(&out2), ours);

    // And zipped in a folder, as an office mails it (GDAL's files, .cpg included).
    let zip = d.join("areas.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let options = zip::write::SimpleFileOptions::default();
        w.start_file(format!("边界/areas.{ext}"), options).unwrap();
        let bytes = std::fs::read(d.join(format!("areas.{ext}"))).unwrap();
        std::io::Write::write_all(&mut w, &bytes).unwrap();
    }
    w.finish().unwrap();
    let out3 = d.join("zipped.geojson");
    wangge(&[
        "convert",
        "--in",
        p(&zip),
        "--layer",
        "areas",
        "--out",
        p(&out3),
    ]);
    assert_eq!(features(&out3).len(), ours.len());
    for (a, b) in features(&out3).iter().zip(&ours) {
        assert!(max_shift(&a["geometry"], &b["geometry"]) < 0.001);
        assert_eq!(a["properties"]["备注"], b["properties"]["备注"]);
    }
}

/// GDAL's reading of a Shapefile names fields by their first 10 bytes.
fn shapefile_name(key: &str) -> String {
    let mut end = key.len().min(10);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    key[..end].to_string()
}

#[test]
fn geopackage_and_shapefile_outputs_read_back_by_gdal_equal_the_geojson_output() {
    require_gdal();
    let d = dir("outputs");
    for (layer, crs) in [
        ("areas", "CRS84"),
        ("households", "CRS84"),
        ("areas", "EPSG:4549"),
    ] {
        let input = demo(&format!("{layer}.geojson"));
        let geojson = d.join(format!("{layer}.geojson"));
        wangge(&[
            "convert",
            "--in",
            p(&input),
            "--layer",
            layer,
            "--out",
            p(&geojson),
        ]);
        let reference = gdal_geojson(&geojson, &d.join(format!("{layer}.ref.geojson")));
        for ext in ["gpkg", "zip", "shp"] {
            let out = d.join(format!("{layer}-{}.{ext}", crs.replace(':', "")));
            wangge(&[
                "convert",
                "--in",
                p(&input),
                "--layer",
                layer,
                "--out",
                p(&out),
                "--out-crs",
                crs,
            ]);
            let read = if ext == "zip" {
                PathBuf::from(format!("/vsizip/{}", p(&out)))
            } else {
                out.clone()
            };
            let back = gdal_geojson(&read, &d.join(format!("{layer}-{ext}.back.geojson")));
            assert_eq!(back.len(), reference.len(), "{layer} {ext} {crs}");
            let tolerance = if crs == "CRS84" { 1e-6 } else { 0.001 };
            for (i, (b, r)) in back.iter().zip(&reference).enumerate() {
                let shift = max_shift(&b["geometry"], &r["geometry"]);
                assert!(
                    shift < tolerance,
                    "{layer} {ext} {crs} feature {i}: {shift} m"
                );
                for (k, v) in r["properties"].as_object().unwrap() {
                    let key = if ext == "gpkg" {
                        k.clone()
                    } else {
                        shapefile_name(k)
                    };
                    let mine = &b["properties"][&key];
                    assert!(
                        same_value(mine, v),
                        "{layer} {ext} {crs} feature {i}, {k}: read back {mine}, GeoJSON {v}"
                    );
                }
            }
        }
    }
    // The zipped Shapefile says its encoding and CRS.
    let file = std::fs::File::open(d.join("areas-EPSG4549.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut cpg = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("areas-EPSG4549.cpg").unwrap(), &mut cpg)
        .unwrap();
    assert_eq!(cpg, "UTF-8");
    let mut prj = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("areas-EPSG4549.prj").unwrap(), &mut prj)
        .unwrap();
    assert!(prj.contains("CGCS2000_3_Degree_GK_CM_120E"), "{prj}");
}

#[test]
fn an_excel_household_list_in_gcj02_gives_the_households_of_the_equivalent_geojson() {
    require_gdal();
    let d = dir("xlsx");
    let gcj = wangge::crs::Crs::Gcj02.from_wgs84().unwrap();
    let all = features(&demo("households.geojson"));
    let mut csv = String::from("户号,经度,纬度,户数,人数,小区\n");
    let mut geo = Vec::new();
    for f in all.iter().take(400) {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = gcj
            .convert(c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
            .unwrap();
        let props = &f["properties"];
        csv.push_str(&format!(
            "{},{lon},{lat},{},{},{}\n",
            props["id"].as_str().unwrap(),
            props["households"],
            props["persons"],
            props["village"].as_str().unwrap()
        ));
        geo.push(serde_json::json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"户号": props["id"], "户数": props["households"], "人数": props["persons"]}
        }));
    }
    let csv_path = d.join("list.csv");
    std::fs::write(&csv_path, &csv).unwrap();
    let xlsx = d.join("list.xlsx");
    // Typed columns: positions and counts are Excel numbers.
    ogr2ogr(&[
        "-f",
        "XLSX",
        "-oo",
        "AUTODETECT_TYPE=YES",
        p(&xlsx),
        p(&csv_path),
    ]);
    let geojson = d.join("list.geojson");
    std::fs::write(
        &geojson,
        serde_json::json!({"type": "FeatureCollection", "features": geo}).to_string(),
    )
    .unwrap();

    let fields = [
        "--id-field",
        "户号",
        "--households-field",
        "户数",
        "--persons-field",
        "人数",
        "--crs",
        "GCJ02",
    ];
    let read = |input: &Path, out: &Path| {
        let mut args = vec![
            "convert",
            "--in",
            p(input),
            "--layer",
            "households",
            "--out",
            p(out),
        ];
        args.extend(fields);
        wangge(&args)
    };
    let from_xlsx = d.join("from-xlsx.geojson");
    let stdout = read(&xlsx, &from_xlsx);
    assert!(
        stdout.contains("400 features, 400 accepted, 0 rejected (crs GCJ02)"),
        "{stdout}"
    );
    let from_geojson = d.join("from-geojson.geojson");
    read(&geojson, &from_geojson);
    // Also the plain CSV (every cell text).
    let from_csv = d.join("from-csv.geojson");
    read(&csv_path, &from_csv);
    let reference = features(&from_geojson);
    for other in [&from_xlsx, &from_csv] {
        let got = features(other);
        assert_eq!(got.len(), reference.len());
        for (a, b) in got.iter().zip(&reference) {
            assert_eq!(a["id"], b["id"]);
            for k in ["户数", "人数"] {
                assert!(
                    same_value(&a["properties"][k], &b["properties"][k]),
                    "{a} {b}"
                );
            }
            assert!(max_shift(&a["geometry"], &b["geometry"]) < 1e-6, "{a} {b}");
        }
    }
    // And they are the demo's households, back in WGS84.
    for (a, f) in reference.iter().zip(&all) {
        assert_eq!(a["id"], f["properties"]["id"]);
        assert!(max_shift(&a["geometry"], &f["geometry"]) < 0.01);
    }
}

#[test]
fn gcj02_and_bd09_outputs_read_back_in_their_crs_within_a_centimetre() {
    let d = dir("gcj");
    let input = demo("households.geojson");
    let original = features(&input);
    for crs in ["GCJ02", "BD09"] {
        let shifted = d.join(format!("{crs}.geojson"));
        wangge(&[
            "convert",
            "--in",
            p(&input),
            "--layer",
            "households",
            "--out",
            p(&shifted),
            "--out-crs",
            crs,
        ]);
        let text = std::fs::read_to_string(&shifted).unwrap();
        assert!(
            text.contains(&format!("\"name\":\"{crs}\"")),
            "no crs member"
        );
        let moved = features(&shifted);
        let offset = max_shift(&moved[0]["geometry"], &original[0]["geometry"]);
        assert!(offset > 100.0, "{crs} moved only {offset} m");
        let back = d.join(format!("{crs}.back.geojson"));
        wangge(&[
            "convert",
            "--in",
            p(&shifted),
            "--layer",
            "households",
            "--crs",
            crs,
            "--out",
            p(&back),
        ]);
        let back = features(&back);
        assert_eq!(back.len(), original.len());
        let worst = back
            .iter()
            .zip(&original)
            .map(|(a, b)| max_shift(&a["geometry"], &b["geometry"]))
            .fold(0.0, f64::max);
        assert!(worst < 0.01, "{crs}: round trip off by {worst} m");
    }
}

/// The grids of `partition` written as a GeoPackage in GCJ-02, for an AMap
/// base map: GDAL reads the grids of the GeoJSON output, each vertex moved
/// by the GCJ-02 offset (within 1 cm), with the same codes and counts.
#[test]
fn partition_writes_its_grids_as_a_gcj02_geopackage() {
    require_gdal();
    let d = dir("grids");
    let (areas, households) = (demo("areas.geojson"), demo("households.geojson"));
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "partition",
            "--areas",
            p(&areas),
            "--households",
            p(&households),
            "--out",
        ];
        args.push(p(out));
        args.extend(extra);
        wangge(&args);
    };
    let wgs84 = d.join("grids.geojson");
    run(&wgs84, &[]);
    let gpkg = d.join("grids.gpkg");
    run(&gpkg, &["--out-crs", "GCJ02"]);
    let back = gdal_geojson(&gpkg, &d.join("grids.back.geojson"));
    let grids = features(&wgs84);
    assert_eq!(back.len(), grids.len());
    let gcj = wangge::crs::Crs::Gcj02.from_wgs84().unwrap();
    for (b, g) in back.iter().zip(&grids) {
        assert_eq!(b["properties"]["code"], g["properties"]["code"]);
        assert_eq!(b["properties"]["households"], g["properties"]["households"]);
        let mut moved = g["geometry"].clone();
        fn shift(v: &mut Value, gcj: &wangge::crs::FromWgs84) {
            let arr = v.as_array_mut().unwrap();
            if arr.len() >= 2 && arr.iter().all(Value::is_number) {
                let (x, y) = gcj
                    .convert(arr[0].as_f64().unwrap(), arr[1].as_f64().unwrap())
                    .unwrap();
                *v = serde_json::json!([x, y]);
            } else {
                arr.iter_mut().for_each(|x| shift(x, gcj));
            }
        }
        shift(&mut moved["coordinates"], &gcj);
        let off = max_shift(&b["geometry"], &moved);
        assert!(off < 0.01, "grid {}: {off} m", g["properties"]["code"]);
    }
}

#[test]
fn out_crs_takes_the_cgcs2000_zones_by_name() {
    require_gdal();
    let d = dir("zone-names");
    let input = demo("areas.geojson");
    let geojson = d.join("areas.geojson");
    wangge(&[
        "convert",
        "--in",
        p(&input),
        "--layer",
        "areas",
        "--out",
        p(&geojson),
    ]);
    let reference = gdal_geojson(&geojson, &d.join("areas.ref.geojson"));
    for (name, code) in [
        ("CGCS2000-GK-CM-117E", 4548),
        ("CGCS2000 / 3-degree Gauss-Kruger CM 117E", 4548),
        ("CGCS2000 / Gauss-Krüger CM 117E", 4509),
        ("CGCS2000 / 3-degree Gauss-Kruger zone 39", 4527),
    ] {
        let out = d.join(format!("areas-{code}.gpkg"));
        let _ = std::fs::remove_file(&out);
        wangge(&[
            "convert",
            "--in",
            p(&input),
            "--layer",
            "areas",
            "--out",
            p(&out),
            "--out-crs",
            name,
        ]);
        // GDAL reads the GeoPackage's SRS as that EPSG code…
        let info = Command::new("ogrinfo")
            .args(["-so", "-al", p(&out)])
            .output()
            .expect("run ogrinfo");
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.contains(&format!("ID[\"EPSG\",{code}]")),
            "{name}: {info}"
        );
        // …and its features back in WGS84 where they were.
        let back = gdal_geojson(&out, &d.join(format!("areas-{code}.back.geojson")));
        assert_eq!(back.len(), reference.len());
        for (b, r) in back.iter().zip(&reference) {
            let shift = max_shift(&b["geometry"], &r["geometry"]);
            assert!(shift < 0.001, "{name}: {shift} m");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}
