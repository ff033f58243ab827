//! Moving a cell between neighbouring grids over HTTP, checked by an
//! independent recount: the two grids' households by point-in-polygon over
//! the uploaded points, their union unchanged, every other grid untouched,
//! the dry run writing nothing; refusals for a grid that is not a
//! neighbour, a point in no grid, a viewer and a bad body.

#[path = "service/common.rs"]
mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use geo::{Area, BooleanOps, Centroid, Intersects};
use geo_types::{Coord, MultiPolygon, Point};
use serde_json::{json, Value};

use common::{app, call, json_of, put};

/// The lattice households of the test: (lon, lat) of 10 households each.
fn points() -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for a in 0..2 {
        for b in 0..2 {
            for i in 0..10 {
                for j in 0..10 {
                    out.push((
                        118.30 + a as f64 * 0.01 + (i as f64 + 0.37) * 0.001,
                        32.30 + b as f64 * 0.01 + (j as f64 + 0.61) * 0.001,
                    ));
                }
            }
        }
    }
    out
}

fn households() -> String {
    let feats: Vec<String> = points()
        .iter()
        .map(|(x, y)| format!(
            r#"{{"type":"Feature","properties":{{"households":10,"persons":20}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#
        ))
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

fn geometry(f: &Value) -> MultiPolygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
    match geo_types::Geometry::<f64>::try_from(g.value).unwrap() {
        geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo_types::Geometry::MultiPolygon(m) => m,
        other => panic!("not a grid geometry: {other:?}"),
    }
}

fn code(f: &Value) -> &str {
    f["properties"]["code"].as_str().unwrap()
}

fn post(body: Value, who: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/datasets/t/grids/move")
        .insert_header(("authorization", format!("Bearer {who}")))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_string())
}

#[actix_web::test]
async fn a_cell_moves_to_a_neighbour_and_both_grids_recount() {
    let dir = common::temp_dir("grid-move");
    let mut tokens = wangge::service::Tokens::default();
    tokens.insert("p", wangge::service::Role::Planner);
    tokens.insert("v", wangge::service::Role::Viewer);
    let store: std::sync::Arc<dyn wangge::store::Store> =
        std::sync::Arc::new(wangge::store::SqliteStore::open(&dir).unwrap());
    let state = wangge::service::state_with(
        wangge::service::Config {
            tokens,
            ..Default::default()
        },
        store,
        std::sync::Arc::new(wangge::service::engines::Builtin),
    )
    .unwrap();
    let app = app!(state);
    let auth = ("authorization", "Bearer p");
    for (layer, text) in [("areas", common::areas(2)), ("households", households())] {
        let (s, _, _) = call!(
            app,
            put(&format!("/api/v1/datasets/t/layers/{layer}"), text).insert_header(auth)
        );
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _, b) = call!(
        app,
        post(json!({"lon": 118.305, "lat": 32.305, "to": "x"}), "p")
    );
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "no grids yet: {}",
        String::from_utf8_lossy(&b)
    );
    let (_, _, b) = call!(
        app,
        TestRequest::post()
            .uri("/api/v1/datasets/t/partition")
            .insert_header(auth)
    );
    let job = common::finished_job!(app, json_of(&b)["url"].as_str().unwrap(), "Bearer p", 120);
    assert_eq!(job["state"], "succeeded");
    let get_grids = || {
        TestRequest::get()
            .uri("/api/v1/datasets/t/layers/grids")
            .insert_header(auth)
    };
    let (_, h, b) = call!(app, get_grids());
    let etag = h.get("etag").unwrap().clone();
    let before = json_of(&b)["features"].as_array().unwrap().clone();
    let geoms: Vec<MultiPolygon<f64>> = before.iter().map(geometry).collect();

    // A neighbour pair and a point in the first grid next to the second:
    // vertices the two outlines share, nudged into the first grid.
    let mut found = None;
    'search: for (a, ga) in geoms.iter().enumerate() {
        for (b, gb) in geoms.iter().enumerate() {
            if a == b
                || before[a]["properties"]["parent_code"] != before[b]["properties"]["parent_code"]
            {
                continue;
            }
            let centre = ga.centroid().unwrap();
            for v in ga.0[0].exterior().0.iter() {
                if !gb.intersects(&Point::from(*v)) {
                    continue;
                }
                for t in [0.02, 0.05, 0.1] {
                    let p = Coord {
                        x: v.x + t * (centre.x() - v.x),
                        y: v.y + t * (centre.y() - v.y),
                    };
                    if !ga.intersects(&Point::from(p)) {
                        continue;
                    }
                    let body =
                        json!({"lon": p.x, "lat": p.y, "to": code(&before[b]), "dry_run": true});
                    let (s, _, r) = call!(app, post(body, "p"));
                    if s == StatusCode::OK && json_of(&r)["from"]["contiguous"] == true {
                        found = Some((a, b, p, json_of(&r)));
                        break 'search;
                    }
                }
            }
        }
    }
    let (a, b, p, dry) = found.expect("some cell of a grid can go to a neighbour");
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["from"]["code"], code(&before[a]));
    assert_eq!(dry["to"]["code"], code(&before[b]));
    let (_, h, _) = call!(app, get_grids());
    assert_eq!(h.get("etag").unwrap(), &etag, "a dry run writes nothing");

    // Independent recount of the two grids after the move.
    let pair = dry["grids"]["features"].as_array().unwrap();
    assert_eq!(pair.len(), 2);
    let (nf, nt) = (geometry(&pair[0]), geometry(&pair[1]));
    let pts = points();
    let (mut hf, mut ht) = (0u64, 0u64);
    for &(x, y) in &pts {
        let q = Point::new(x, y);
        if !(geoms[a].intersects(&q) || geoms[b].intersects(&q)) {
            continue;
        }
        if nf.intersects(&q) {
            hf += 10;
        } else {
            assert!(nt.intersects(&q), "household {x},{y} lost by the move");
            ht += 10;
        }
    }
    assert_eq!(dry["from"]["households"].as_u64().unwrap(), hf);
    assert_eq!(dry["to"]["households"].as_u64().unwrap(), ht);
    assert_eq!(pair[0]["properties"]["households"].as_u64().unwrap(), hf);
    let was = before[a]["properties"]["households"].as_u64().unwrap()
        + before[b]["properties"]["households"].as_u64().unwrap();
    assert_eq!(hf + ht, was, "households are conserved");
    let old_union = geoms[a].union(&geoms[b]);
    let new_union = nf.union(&nt);
    let diff = old_union.xor(&new_union).unsigned_area() / old_union.unsigned_area();
    assert!(
        diff < 1e-9,
        "the two grids cover the same ground ({diff:e})"
    );
    assert!(
        nt.unsigned_area() > geoms[b].unsigned_area(),
        "the neighbour grew"
    );
    let overlap = nf.intersection(&nt).unsigned_area() / old_union.unsigned_area();
    assert!(overlap < 1e-9, "the grids overlap by {overlap:e}");

    // Apply it: the layer holds the same pair, every other grid as it was.
    let body = json!({"lon": p.x, "lat": p.y, "to": code(&before[b])});
    let (s, _, r) = call!(app, post(body, "p"));
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&r));
    let applied = json_of(&r);
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["grids"], dry["grids"]);
    let (_, _, bb) = call!(app, get_grids());
    let after = json_of(&bb)["features"].as_array().unwrap().clone();
    assert_eq!(after.len(), before.len());
    for (i, f) in after.iter().enumerate() {
        if i == a {
            assert_eq!(f["geometry"], pair[0]["geometry"]);
        } else if i == b {
            assert_eq!(f["geometry"], pair[1]["geometry"]);
        } else {
            assert_eq!(f, &before[i], "grid {} changed", code(f));
        }
    }
    // The items follow (the collection in memory was replaced).
    let (_, _, ib) = call!(
        app,
        TestRequest::get()
            .uri(&format!("/collections/t.grids/items/{}", code(&before[a])))
            .insert_header(auth)
    );
    assert_eq!(
        json_of(&ib)["properties"]["households"].as_u64().unwrap(),
        hf
    );

    // Refusals.
    let other = (0..before.len())
        .find(|&i| before[i]["properties"]["parent_code"] != before[a]["properties"]["parent_code"])
        .unwrap();
    let c = geoms[a].centroid().unwrap();
    for (body, want) in [
        (
            json!({"lon": c.x(), "lat": c.y(), "to": code(&before[other])}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"lon": 100.0, "lat": 20.0, "to": code(&before[b])}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"lon": c.x(), "lat": c.y(), "to": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"lon": c.x(), "lat": c.y()}), StatusCode::BAD_REQUEST),
        (
            json!({"lon": 200.0, "lat": c.y(), "to": code(&before[b])}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, _, r) = call!(app, post(body.clone(), "p"));
        assert_eq!(s, want, "{body}: {}", String::from_utf8_lossy(&r));
    }
    let (s, _, _) = call!(
        app,
        post(json!({"lon": p.x, "lat": p.y, "to": code(&before[b])}), "v")
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
}
