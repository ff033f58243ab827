//! OGC API – Tiles over the demo district: tiles are decoded by GDAL's MVT
//! driver (`ogr2ogr`, an independent decoder) and compared with the layers'
//! items: every household in exactly one tile at full zoom and where it is
//! (within the tile's precision), thinning as documented below it, polygons
//! and lines clipped without losing area or length, properties as the items
//! carry them; access as for items, 204 for empty tiles, ETags and 304,
//! compression, and the tileset document MapLibre reads.

#[path = "service/common.rs"]
mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use geo::{Area, Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use wangge::service::{AppState, Config};

use common::{app, call, json_of, put};

const TMS: &str = "WebMercatorQuad";

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: this test decodes tiles with Debian's {package} \
         (`apt-get install {package}`, or `make test`, which installs it when run as root)"
    );
}

/// A service with a planner `p` and a viewer `v`, over a fresh store.
fn state(name: &str) -> (actix_web::web::Data<AppState>, PathBuf) {
    let dir = common::temp_dir(name);
    let (state, _) = common::service_over(
        &dir.join("data"),
        Config {
            tokens: common::planner_and_viewer_tokens(),
            ..Config::default()
        },
    );
    (state, dir)
}

fn get(path: &str, who: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("authorization", format!("Bearer {who}")))
}

/// The tile (column, row) holding a lon/lat at zoom `z` (Web Mercator).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let l = lat.to_radians();
    let y = (1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x.floor() as u32, y.floor() as u32)
}

/// One tile unit at zoom `z`, in degrees of longitude (latitude units are
/// smaller away from the equator).
fn unit_deg(z: u8) -> f64 {
    360.0 / f64::from(1u32 << z) / 4096.0
}

/// Decodes a tile with GDAL's MVT driver into lon/lat GeoJSON features
/// (clipped to the tile itself, as GDAL does by default).
fn decode(dir: &Path, bytes: &[u8], z: u8, x: u32, y: u32) -> Vec<Value> {
    let tile = dir.join(format!("tile-{z}-{x}-{y}.mvt"));
    let out = dir.join(format!("tile-{z}-{x}-{y}.geojson"));
    std::fs::write(&tile, bytes).unwrap();
    let _ = std::fs::remove_file(&out);
    let run = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "-t_srs", "EPSG:4326"])
        .arg(&out)
        .arg(&tile)
        .args([
            "-oo",
            &format!("X={x}"),
            "-oo",
            &format!("Y={y}"),
            "-oo",
            &format!("Z={z}"),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "ogr2ogr on tile {z}/{x}/{y}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    doc["features"].as_array().cloned().unwrap_or_default()
}

fn upload(layer: &str) -> TestRequest {
    let text = std::fs::read(demo().join(format!("{layer}.geojson"))).unwrap();
    put(&format!("/api/v1/datasets/demo/layers/{layer}"), text)
        .insert_header(("authorization", "Bearer p"))
}

/// Every item of a collection, by id.
macro_rules! items {
    ($app:expr, $cid:expr) => {{
        let (s, _, b) = call!(
            $app,
            get(&format!("/collections/{}/items?limit=10000", $cid), "p")
        );
        assert_eq!(s, StatusCode::OK);
        let page = json_of(&b);
        let feats = page["features"].as_array().unwrap().clone();
        assert_eq!(
            page["numberMatched"].as_u64().unwrap() as usize,
            feats.len()
        );
        feats
    }};
}

/// Fetches tile z/x/y: `None` for 204, else the bytes.
macro_rules! tile {
    ($app:expr, $cid:expr, $z:expr, $x:expr, $y:expr) => {{
        let (s, h, b) = call!(
            $app,
            get(
                &format!("/collections/{}/tiles/{TMS}/{}/{}/{}", $cid, $z, $y, $x),
                "p"
            )
        );
        match s {
            StatusCode::NO_CONTENT => None,
            StatusCode::OK => {
                assert_eq!(
                    h.get("content-type").unwrap(),
                    "application/vnd.mapbox-vector-tile"
                );
                assert!(
                    b.len() <= 500_000,
                    "tile {}/{}/{} has {} bytes",
                    $z,
                    $x,
                    $y,
                    b.len()
                );
                Some(b)
            }
            s => panic!(
                "tile {}/{}/{}: {s} {}",
                $z,
                $x,
                $y,
                String::from_utf8_lossy(&b)
            ),
        }
    }};
}

fn lon_lat(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"];
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

/// The tiles covering a box at zoom `z`: (x range, y range).
fn tiles_over(
    b: [f64; 4],
    z: u8,
) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
    let (x0, y1) = tile_of(b[0], b[1], z);
    let (x1, y0) = tile_of(b[2], b[3], z);
    (x0..=x1, y0..=y1)
}

fn extent(feats: &[Value]) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    fn visit(c: &Value, b: &mut [f64; 4]) {
        match c.as_array() {
            Some(a) if a.first().is_some_and(Value::is_number) => {
                let (x, y) = (a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
                b[0] = b[0].min(x);
                b[1] = b[1].min(y);
                b[2] = b[2].max(x);
                b[3] = b[3].max(y);
            }
            Some(a) => a.iter().for_each(|c| visit(c, b)),
            None => {}
        }
    }
    for f in feats {
        visit(&f["geometry"]["coordinates"], &mut b);
    }
    b
}

#[actix_web::test]
async fn households_each_in_one_tile_where_they_are_and_thinned_as_documented() {
    require("ogr2ogr", "gdal-bin");
    let (state, dir) = state("tiles-households");
    let app = app!(state);
    let (s, _, b) = call!(app, upload("households"));
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let items = items!(app, "demo.households");
    let by_id: HashMap<String, &Value> = items
        .iter()
        .map(|f| (f["properties"]["id"].as_str().unwrap().to_string(), f))
        .collect();
    assert_eq!(by_id.len(), items.len());

    // Full zoom: every household exactly once, at its position.
    let z = 16;
    let (xs, ys) = tiles_over(extent(&items), z);
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    let mut empty = 0;
    for x in xs.clone() {
        for y in ys.clone() {
            let Some(bytes) = tile!(app, "demo.households", z, x, y) else {
                empty += 1;
                continue;
            };
            for f in decode(&dir, &bytes, z, x, y) {
                let id = f["properties"]["id"].as_str().unwrap().to_string();
                let item = by_id
                    .get(&id)
                    .unwrap_or_else(|| panic!("tile {z}/{x}/{y}: unknown {id}"));
                let (lon, lat) = lon_lat(&f);
                let (ilon, ilat) = lon_lat(item);
                assert!(
                    (lon - ilon).abs() <= unit_deg(z) && (lat - ilat).abs() <= unit_deg(z),
                    "{id}: tile {z}/{x}/{y} puts it at {lon},{lat}, the item is at {ilon},{ilat}"
                );
                assert_eq!(tile_of(ilon, ilat, z), (x, y), "{id} is in the wrong tile");
                for key in ["households", "persons", "village"] {
                    assert_eq!(f["properties"][key], item["properties"][key], "{id} {key}");
                }
                if let Some(prev) = seen.insert(id.clone(), (x, y)) {
                    panic!("{id} is in tiles {prev:?} and {:?}", (x, y));
                }
            }
        }
    }
    assert_eq!(
        seen.len(),
        items.len(),
        "households missing from the z{z} tiles"
    );
    assert!(
        empty > 0,
        "the district's box has empty tiles, answered 204"
    );

    // Below full zoom: real households, no two in one 16-unit bin.
    let z = 12;
    let (xs, ys) = tiles_over(extent(&items), z);
    let mut kept = 0;
    for x in xs {
        for y in ys.clone() {
            let Some(bytes) = tile!(app, "demo.households", z, x, y) else {
                continue;
            };
            let mut bins = HashSet::new();
            for f in decode(&dir, &bytes, z, x, y) {
                let id = f["properties"]["id"].as_str().unwrap();
                let (lon, lat) = lon_lat(&f);
                let (ilon, ilat) = lon_lat(by_id[id]);
                assert!((lon - ilon).abs() <= unit_deg(z) && (lat - ilat).abs() <= unit_deg(z));
                // The bin of 16 units, from the tile position at 4096 × 2^z.
                let (bx, by) = tile_of(ilon, ilat, z + 8);
                assert!(bins.insert((bx, by)), "{id} shares a thinning bin at z{z}");
                kept += 1;
            }
        }
    }
    assert!(
        kept > 0 && kept < items.len(),
        "z12 keeps {kept} of {}",
        items.len()
    );
}

/// A dense estate: 80,000 households in one z12 tile, more than a thinned
/// tile keeps. The tile says how many it left out, keeps no more than
/// `MAX_TILE_FEATURES`, no two in one bin of the doubled size (32 units),
/// and every feature it keeps is a household where it is, with its
/// properties; the tile is cut once and served again from the cache.
#[actix_web::test]
async fn a_dense_low_zoom_tile_is_thinned_to_a_subset_and_says_so() {
    use wangge::service::tiles::cut::MAX_TILE_FEATURES;
    require("ogr2ogr", "gdal-bin");
    let (state, dir) = state("tiles-dense");
    let app = app!(state);
    let z = 12;
    let (x, y) = tile_of(118.35, 32.32, z);
    let n = f64::from(1u32 << z);
    let lon0 = (f64::from(x) + 0.5) / n * 360.0 - 180.0;
    let lat0 = (std::f64::consts::PI * (1.0 - 2.0 * (f64::from(y) + 0.5) / n))
        .sinh()
        .atan()
        .to_degrees();
    let count = 80_000;
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut at: HashMap<String, (f64, f64, u64)> = HashMap::new();
    let mut text = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..count {
        let lon = ((lon0 + (rnd() - 0.5) * 0.06) * 1e6).round() / 1e6;
        let lat = ((lat0 + (rnd() - 0.5) * 0.05) * 1e6).round() / 1e6;
        let persons = 1 + i as u64 % 5;
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"id\":\"d{i}\",\"households\":1,\"persons\":{persons}}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{lon},{lat}]}}}}"
        ));
        assert_eq!(tile_of(lon, lat, z), (x, y));
        at.insert(format!("d{i}"), (lon, lat, persons));
    }
    text.push_str("]}");
    let (s, _, b) = call!(
        app,
        put(
            "/api/v1/datasets/dense/layers/households",
            text.into_bytes()
        )
        .insert_header(("authorization", "Bearer p"))
    );
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));

    let path = format!("/collections/dense.households/tiles/{TMS}/{z}/{y}/{x}");
    let (s, h, bytes) = call!(app, get(&path, "p"));
    assert_eq!(s, StatusCode::OK);
    let thinned: usize = h
        .get("wangge-thinned")
        .expect("a thinned tile says how many features it left out")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let feats = decode(&dir, &bytes, z, x, y);
    assert!(
        !feats.is_empty() && feats.len() <= MAX_TILE_FEATURES,
        "{} features",
        feats.len()
    );
    assert_eq!(
        feats.len() + thinned,
        count,
        "kept + thinned = the tile's households"
    );
    let mut bins = HashSet::new();
    let mut ids = HashSet::new();
    for f in &feats {
        let id = f["properties"]["id"].as_str().unwrap();
        let &(ilon, ilat, persons) = at.get(id).unwrap_or_else(|| panic!("unknown {id}"));
        assert!(ids.insert(id.to_string()), "{id} twice");
        let (lon, lat) = lon_lat(f);
        assert!(
            (lon - ilon).abs() <= unit_deg(z) && (lat - ilat).abs() <= unit_deg(z),
            "{id} drawn at {lon},{lat}, it is at {ilon},{ilat}"
        );
        assert_eq!(f["properties"]["persons"].as_u64(), Some(persons), "{id}");
        assert_eq!(f["properties"]["households"].as_u64(), Some(1), "{id}");
        // Bins of 32 units: the tile position at 4096 × 2^z / 32.
        assert!(
            bins.insert(tile_of(ilon, ilat, z + 7)),
            "{id} shares a 32-unit bin"
        );
    }
    // Served again from the cache: the same tile and count.
    let (s, h2, again) = call!(app, get(&path, "p"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, bytes);
    assert_eq!(h2.get("wangge-thinned"), h.get("wangge-thinned"));
    // Full zoom thins nothing and says nothing.
    let (dlon, dlat, _) = at["d0"];
    let (fx, fy) = tile_of(dlon, dlat, 16);
    let (s, h, _) = call!(
        app,
        get(
            &format!("/collections/dense.households/tiles/{TMS}/16/{fy}/{fx}"),
            "p"
        )
    );
    assert_eq!(s, StatusCode::OK);
    assert!(h.get("wangge-thinned").is_none());
}

/// Planar area in degrees², of a GeoJSON Polygon or MultiPolygon.
fn area_of(g: &Value) -> f64 {
    let ring = |r: &Value| -> LineString<f64> {
        r.as_array()
            .unwrap()
            .iter()
            .map(|c| Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            })
            .collect()
    };
    let poly = |p: &Value| -> Polygon<f64> {
        let rings = p.as_array().unwrap();
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    let mp = match g["type"].as_str().unwrap() {
        "Polygon" => MultiPolygon(vec![poly(&g["coordinates"])]),
        "MultiPolygon" => MultiPolygon(
            g["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .map(poly)
                .collect(),
        ),
        t => panic!("not polygonal: {t}"),
    };
    mp.unsigned_area()
}

fn length_of(g: &Value) -> f64 {
    let line = |l: &Value| -> f64 {
        let pts: Vec<(f64, f64)> = l
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        pts.windows(2)
            .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
            .sum()
    };
    match g["type"].as_str().unwrap() {
        "LineString" => line(&g["coordinates"]),
        "MultiLineString" => g["coordinates"].as_array().unwrap().iter().map(line).sum(),
        t => panic!("not linear: {t}"),
    }
}

#[actix_web::test]
async fn polygons_and_lines_keep_their_area_length_and_properties_across_tiles() {
    require("ogr2ogr", "gdal-bin");
    let (state, dir) = state("tiles-polygons");
    let app = app!(state);
    for layer in ["areas", "barriers"] {
        let (s, _, b) = call!(app, upload(layer));
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }
    // Areas at z13 and z14 (simplified by one unit): the pieces GDAL
    // clips to each tile add up to the area's area.
    let areas = items!(app, "demo.areas");
    let by_code: HashMap<&str, &Value> = areas
        .iter()
        .map(|f| (f["properties"]["code"].as_str().unwrap(), f))
        .collect();
    for z in [13u8, 14] {
        let (xs, ys) = tiles_over(extent(&areas), z);
        let mut total: HashMap<String, f64> = HashMap::new();
        for x in xs {
            for y in ys.clone() {
                let Some(bytes) = tile!(app, "demo.areas", z, x, y) else {
                    continue;
                };
                for f in decode(&dir, &bytes, z, x, y) {
                    let code = f["properties"]["code"].as_str().unwrap().to_string();
                    let item = by_code[code.as_str()];
                    for key in ["name", "kind"] {
                        assert_eq!(
                            f["properties"][key], item["properties"][key],
                            "{code} {key}"
                        );
                    }
                    *total.entry(code).or_default() += area_of(&f["geometry"]);
                }
            }
        }
        assert_eq!(total.len(), areas.len(), "areas missing at z{z}");
        for (code, a) in &total {
            let want = area_of(&by_code[code.as_str()]["geometry"]);
            let err = (a - want).abs() / want;
            assert!(
                err < 0.005,
                "z{z} {code}: tiles hold {a}, the area is {want} ({err:.4})"
            );
        }
    }
    // Barriers: lengths add up across tiles.
    let barriers = items!(app, "demo.barriers");
    let z = 15;
    let (xs, ys) = tiles_over(extent(&barriers), z);
    let mut total: HashMap<String, f64> = HashMap::new();
    for x in xs {
        for y in ys.clone() {
            let Some(bytes) = tile!(app, "demo.barriers", z, x, y) else {
                continue;
            };
            for f in decode(&dir, &bytes, z, x, y) {
                let id = f["properties"]["id"].as_str().unwrap().to_string();
                *total.entry(id).or_default() += length_of(&f["geometry"]);
            }
        }
    }
    assert_eq!(total.len(), barriers.len());
    for b in &barriers {
        let id = match &b["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let want = length_of(&b["geometry"]);
        let err = (total[&id] - want).abs() / want;
        assert!(err < 0.005, "barrier {id}: {} vs {want}", total[&id]);
    }
}

#[actix_web::test]
async fn tiles_follow_access_etags_compression_and_the_tileset_document() {
    let (state, _dir) = state("tiles-http");
    let app = app!(state);
    for layer in ["areas", "households"] {
        let (s, _, _) = call!(app, upload(layer));
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _, b) = call!(app, get("/collections/demo.households", "p"));
    assert_eq!(s, StatusCode::OK);
    let ext: Vec<f64> =
        serde_json::from_value(json_of(&b)["extent"]["spatial"]["bbox"][0].clone()).unwrap();
    let (x, y) = tile_of((ext[0] + ext[2]) / 2.0, (ext[1] + ext[3]) / 2.0, 14);
    let path = format!("/collections/demo.households/tiles/{TMS}/14/{y}/{x}");

    // Viewers: no household tile, tileset or tileset list; areas are public.
    for p in [
        path.clone(),
        format!("/collections/demo.households/tiles/{TMS}"),
        "/collections/demo.households/tiles".to_string(),
    ] {
        let (s, _, _) = call!(app, get(&p, "v"));
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let (s, _, _) = call!(
        app,
        get(
            &format!("/collections/demo.areas/tiles/{TMS}/14/{y}/{x}"),
            "v"
        )
    );
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call!(app, TestRequest::get().uri(&path));
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // ETag, 304, and a new tag after the layer is written again.
    let (s, h, body) = call!(app, get(&path, "p"));
    assert_eq!(s, StatusCode::OK);
    let tag = h.get("etag").unwrap().to_str().unwrap().to_string();
    assert!(
        tag.starts_with('"') && tag.contains(&format!("-14-{x}-{y}")),
        "{tag}"
    );
    let (s, _, b) = call!(
        app,
        get(&path, "p").insert_header(("if-none-match", tag.as_str()))
    );
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert!(b.is_empty());
    let (s, h, gz) = call!(
        app,
        get(&path, "p").insert_header(("accept-encoding", "gzip"))
    );
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get("content-encoding").unwrap(), "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    assert_eq!(plain, body, "the gzip body is the tile");
    let (s, _, _) = call!(app, upload("households"));
    assert_eq!(s, StatusCode::OK);
    let (s, h, _) = call!(
        app,
        get(&path, "p").insert_header(("if-none-match", tag.as_str()))
    );
    assert_eq!(s, StatusCode::OK, "a rewritten layer has new tiles");
    assert_ne!(h.get("etag").unwrap().to_str().unwrap(), tag);

    // Empty tiles, and tiles that do not exist.
    let (s, h, b) = call!(
        app,
        get(
            &format!("/collections/demo.households/tiles/{TMS}/14/0/0"),
            "p"
        )
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(b.is_empty() && h.get("etag").is_some());
    for (p, want) in [
        (
            format!("/collections/demo.households/tiles/{TMS}/3/8/0"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/collections/demo.households/tiles/{TMS}/25/0/0"),
            StatusCode::NOT_FOUND,
        ),
        (
            // Not a number: no such tile (as a link template taken literally).
            format!("/collections/demo.households/tiles/{TMS}/{{z}}/0/0"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/collections/demo.households/tiles/WorldCRS84Quad/0/0/0".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/collections/demo.nothing/tiles/WebMercatorQuad/0/0/0".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/collections/demo.households/tiles/{TMS}/0/0/0?colour=red"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, h, b) = call!(app, get(&p, "p"));
        assert_eq!(s, want, "{p}: {}", String::from_utf8_lossy(&b));
        assert_eq!(
            h.get("content-type").unwrap(),
            "application/problem+json",
            "{p}"
        );
    }

    // The tileset: OGC and TileJSON fields, an absolute template, the fields.
    let (s, _, b) = call!(app, get("/collections/demo.households/tiles", "p"));
    assert_eq!(s, StatusCode::OK);
    let sets = json_of(&b);
    assert_eq!(sets["tilesets"][0]["tileMatrixSetId"], TMS);
    let (s, _, b) = call!(
        app,
        get(&format!("/collections/demo.households/tiles/{TMS}"), "p")
    );
    assert_eq!(s, StatusCode::OK);
    let ts = json_of(&b);
    assert_eq!(ts["tilejson"], "3.0.0");
    let template = ts["tiles"][0].as_str().unwrap();
    assert!(
        template.starts_with("http")
            && template.ends_with("/collections/demo.households/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        "{template}"
    );
    assert_eq!(ts["minzoom"], 0);
    assert_eq!(ts["maxzoom"], 16);
    let bounds: Vec<f64> = serde_json::from_value(ts["bounds"].clone()).unwrap();
    assert_eq!(bounds, ext);
    let layer = &ts["vector_layers"][0];
    assert_eq!(layer["id"], "households");
    assert_eq!(layer["fields"]["households"], "Number");
    assert_eq!(layer["fields"]["village"], "String");
}
