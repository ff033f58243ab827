//! OGC API – Tiles (vector tiles) on every collection, in the
//! WebMercatorQuad tile matrix set:
//!
//! - `GET /collections/{id}/tiles`: the tilesets (one, WebMercatorQuad);
//! - `GET /collections/{id}/tiles/WebMercatorQuad`: the tileset, with the
//!   TileJSON 3.0 fields MapLibre reads (`tiles` URL template, `minzoom`,
//!   `maxzoom`, `bounds`, `vector_layers` with the layer's fields);
//! - `GET /collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`: a Mapbox
//!   Vector Tile (`application/vnd.mapbox-vector-tile`) with one layer named
//!   after the collection's layer (`households`, `grids`, …), its features'
//!   scalar properties as tags (arrays left out: their text twins are there),
//!   MVT id = the feature's 1-based position in the layer, and the stored id
//!   as the tag `id` when the properties have none. An empty tile is `204`;
//!   a tile that thinning left features out of says how many in its
//!   `Wangge-Thinned` header.
//!
//! Access is the items' access ([`super::access`] decides, before anything is
//! looked up), so a viewer gets no household tile. A tile's strong ETag is the
//! layer's (version and commit time, [`super::conditional`]) plus the tile's
//! `z/x/y` and the cutting rules' version, so it changes with every write of
//! the layer and `If-None-Match` is answered with 304 before anything is cut.
//!
//! Tiles are cut on request from the in-memory collection: its R-tree finds
//! the candidates and [`index::TileIndex`], built once per layer version on
//! the first tile request and dropped with the collection, holds every
//! feature projected to Web Mercator and its properties encoded as tags.
//! [`cut`] documents clipping, simplification and thinning, [`encode`] the
//! writing, and [`cache`] keeps the cut tiles of the layer version.
//!
//! `GCJ02WebMercatorQuad` is the same tiling of the layer moved into GCJ-02
//! first, for drawing over AMap or Tencent tiles (which are Web Mercator
//! tiles of GCJ-02 coordinates): same matrices and rules, its own projected
//! copy ([`crate::service::features::FeatureSet::tile_index_gcj02`]), and
//! candidates from the R-tree by the tile's box taken back to WGS84
//! ([`gcj02_candidates`]).

pub mod cache;
pub mod cut;
pub mod encode;
pub mod index;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::conditional::{self, Validators};
use super::error::ServiceError;
use super::features::FeatureSet;
use super::ogc::{load_set, split_id};
use super::{base_url, query_pairs, AppState};
use cut::{TileId, FULL_ZOOM, MAX_ZOOM};

/// The tile matrix set of the layers as stored (WGS84).
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";
/// The same tiling over GCJ-02 coordinates (AMap and Tencent base maps).
pub const GCJ02_WEB_MERCATOR_QUAD: &str = "GCJ02WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// The media type of a tile.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Changes whenever the cutting rules change, so cached tiles are refetched.
const RULES_VERSION: u32 = 3;
/// The response header counting the features of a tile's area that
/// thinning left out (absent when none were).
pub const THINNED_HEADER: &str = "Wangge-Thinned";

/// Checks the tile matrix set; true for the GCJ-02 one.
fn check_tms(tms: &str) -> Result<bool, ServiceError> {
    match tms {
        WEB_MERCATOR_QUAD => Ok(false),
        GCJ02_WEB_MERCATOR_QUAD => Ok(true),
        _ => Err(ServiceError::NotFound(format!(
            "no tile matrix set {tms:?}: this service offers {WEB_MERCATOR_QUAD} and {GCJ02_WEB_MERCATOR_QUAD}"
        ))),
    }
}

/// The CRS (and, for the registered one, the URI) of a tile matrix set.
fn tms_crs(base: &str, gcj02: bool) -> (String, Option<&'static str>) {
    if gcj02 {
        (format!("{base}/crs/GCJ02"), None)
    } else {
        (EPSG_3857.to_string(), Some(TMS_URI))
    }
}

/// The features that may lie in GCJ-02 tile `t` (ascending): the R-tree's
/// for the tile's box taken back to WGS84 (corners and edge midpoints,
/// grown by a fifth of a percent of its size, far more than the GCJ-02
/// offset bends within a box).
pub fn gcj02_candidates(set: &FeatureSet, t: TileId) -> Vec<u32> {
    use crate::crs::chinese::gcj02_to_wgs84;
    let b = t.lon_lat_box(cut::BUFFER);
    let (mx, my) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let mut w = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for x in [b[0], mx, b[2]] {
        for y in [b[1], my, b[3]] {
            let (lon, lat) = gcj02_to_wgs84(x, y);
            w = [w[0].min(lon), w[1].min(lat), w[2].max(lon), w[3].max(lat)];
        }
    }
    let pad = 0.002 * (b[2] - b[0]).max(b[3] - b[1]) + 1e-6;
    set.matching(&[[w[0] - pad, w[1] - pad, w[2] + pad, w[3] + pad]])
}

/// Only `f` is taken, with the values this resource is offered in.
fn only_f(req: &HttpRequest, offered: &[&str]) -> Result<(), ServiceError> {
    for (k, v) in query_pairs(req)? {
        match k.as_str() {
            "f" if offered.contains(&v.as_str()) => {}
            "f" => {
                return Err(ServiceError::BadRequest(format!(
                    "unsupported format f={v:?}: this resource is offered as {}",
                    offered.join(", ")
                )))
            }
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    Ok(())
}

const JSON_F: [&str; 2] = ["json", "application/json"];

/// `GET /collections/{id}/tiles`
#[utoipa::path(get, path = "/collections/{collectionId}/tiles", tag = "Tiles", operation_id = "tilesets",
    params(("collectionId" = CollectionId, Path, description = "the collection"),
           ("f" = Option<String>, Query, description = "json", pattern = "^(json|application/json)$")),
    responses(
        (status = 200, description = "the collection's vector tilesets (OGC API – Tiles)", body = Object),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the collection is not readable by this caller"),
        (status = 404, description = "no such collection")))]
pub async fn tilesets(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req, &JSON_F)?;
    let id = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let set = load_set(&state, dataset, layer).await?;
    let base = base_url(&req, &state);
    let tilesets: Vec<Value> = [(WEB_MERCATOR_QUAD, false), (GCJ02_WEB_MERCATOR_QUAD, true)]
        .into_iter()
        .map(|(tms, gcj02)| {
            let (crs, uri) = tms_crs(&base, gcj02);
            let title = if gcj02 { format!("{id} vector tiles in GCJ-02 (AMap, Tencent base maps)") } else { format!("{id} vector tiles") };
            let mut t = json!({
                "title": title,
                "tileMatrixSetId": tms,
                "dataType": "vector",
                "crs": crs,
                "links": [
                    {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles/{tms}")},
                ],
            });
            if let Some(uri) = uri {
                t["tileMatrixSetURI"] = json!(uri);
                t["links"].as_array_mut().expect("array").push(json!({"rel": TILING_SCHEME, "href": uri}));
            }
            t
        })
        .collect();
    let doc = json!({
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles")},
            {"rel": "collection", "type": "application/json", "href": format!("{base}/collections/{id}")},
        ],
        "tilesets": tilesets,
    });
    Ok(conditional::json(
        &req,
        &doc,
        crate::store::parse_rfc3339(&set.meta.updated),
    ))
}

/// `GET /collections/{id}/tiles/{tms}`: the tileset, also a TileJSON 3.0
/// document.
#[utoipa::path(get, path = "/collections/{collectionId}/tiles/{tileMatrixSetId}", tag = "Tiles", operation_id = "tileset",
    params(("collectionId" = CollectionId, Path, description = "the collection"),
           ("tileMatrixSetId" = String, Path, description = "the tiling scheme: WebMercatorQuad, or GCJ02WebMercatorQuad (the layer moved into GCJ-02, for AMap and Tencent base maps)", pattern = "^(WebMercatorQuad|GCJ02WebMercatorQuad)$"),
           ("f" = Option<String>, Query, description = "json", pattern = "^(json|application/json)$")),
    responses(
        (status = 200, description = "the tileset, also a TileJSON 3.0 document (tiles template, zooms, bounds, vector_layers)", body = Object),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the collection is not readable by this caller"),
        (status = 404, description = "no such collection or tiling scheme")))]
pub async fn tileset(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req, &JSON_F)?;
    let (id, tms) = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let gcj02 = check_tms(&tms)?;
    let set = load_set(&state, dataset, layer).await?;
    let s = set.clone();
    // The fields come from the projected index (built here if no tile was
    // asked for yet): off the HTTP workers.
    let fields = web::block(move || {
        let index = if gcj02 {
            s.tile_index_gcj02()
        } else {
            s.tile_index()
        };
        index.fields.clone()
    })
    .await?;
    let base = base_url(&req, &state);
    let template = format!("{base}/collections/{id}/tiles/{tms}/{{z}}/{{y}}/{{x}}");
    let mut bounds = set
        .meta
        .extent
        .unwrap_or([-180.0, -85.051_128_8, 180.0, 85.051_128_8]);
    if gcj02 {
        // The extent's corners moved too (the offset is smooth: enough for
        // a client to know where to ask).
        let (w, s) = crate::crs::chinese::wgs84_to_gcj02(bounds[0], bounds[1]);
        let (e, n) = crate::crs::chinese::wgs84_to_gcj02(bounds[2], bounds[3]);
        bounds = [w, s, e, n];
    }
    let (crs, tms_uri) = tms_crs(&base, gcj02);
    let fields: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|(k, t)| (k, Value::from(t)))
        .collect();
    let doc = json!({
        "title": format!("{id} vector tiles"),
        "tilejson": "3.0.0",
        "name": id,
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": FULL_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 12],
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": 0, "maxzoom": FULL_ZOOM}],
        "tileMatrixSetId": tms,
        "dataType": "vector",
        "crs": crs,
        "layers": [{"id": layer, "dataType": "vector", "minTileMatrix": "0", "maxTileMatrix": FULL_ZOOM.to_string()}],
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles/{tms}")},
            {"rel": "item", "type": MVT, "templated": true, "href": template},
            {"rel": "collection", "type": "application/json", "href": format!("{base}/collections/{id}")},
        ],
    });
    let mut doc = doc;
    if let Some(uri) = tms_uri {
        doc["tileMatrixSetURI"] = json!(uri);
        doc["links"]
            .as_array_mut()
            .expect("array")
            .push(json!({"rel": TILING_SCHEME, "href": uri}));
    }
    Ok(conditional::json(
        &req,
        &doc,
        crate::store::parse_rfc3339(&set.meta.updated),
    ))
}

/// Parses a tile's `z`, `y`, `x`: a tile outside the tile matrix, or a
/// segment that is not a number at all (a client that took the `{z}/{y}/{x}`
/// template literally), names no tile: 404, naming why.
pub fn parse_tile(z: &str, y: &str, x: &str) -> Result<TileId, ServiceError> {
    let num = |name: &str, v: &str| {
        v.parse::<u32>().map_err(|_| {
            ServiceError::NotFound(format!(
                "tile {name} must be a non-negative integer, got {v:?}"
            ))
        })
    };
    let (zn, yn, xn) = (num("z", z)?, num("y", y)?, num("x", x)?);
    if zn > u32::from(MAX_ZOOM) {
        return Err(ServiceError::NotFound(format!(
            "no tile matrix {zn}: zoom levels are 0 to {MAX_ZOOM}"
        )));
    }
    let n = 1u64 << zn;
    if u64::from(xn) >= n || u64::from(yn) >= n {
        return Err(ServiceError::NotFound(format!(
            "no tile {zn}/{yn}/{xn}: rows and columns at zoom {zn} are 0 to {}",
            n - 1
        )));
    }
    Ok(TileId {
        z: zn as u8,
        x: xn,
        y: yn,
    })
}

/// `GET /collections/{id}/tiles/{tms}/{z}/{y}/{x}`
#[utoipa::path(get, path = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    tag = "Tiles", operation_id = "tile",
    params(("collectionId" = CollectionId, Path, description = "the collection"),
           ("tileMatrixSetId" = String, Path, description = "the tiling scheme: WebMercatorQuad, or GCJ02WebMercatorQuad (the layer moved into GCJ-02, for AMap and Tencent base maps)", pattern = "^(WebMercatorQuad|GCJ02WebMercatorQuad)$"),
           ("tileMatrix" = u32, Path, description = "the zoom level", minimum = 0, maximum = 24),
           ("tileRow" = u32, Path, description = "the row, 0 to 2^tileMatrix − 1 (a tile outside the matrix is 404)", minimum = 0, maximum = 16777215),
           ("tileCol" = u32, Path, description = "the column, 0 to 2^tileMatrix − 1 (a tile outside the matrix is 404)", minimum = 0, maximum = 16777215),
           ("f" = Option<String>, Query, description = "mvt", pattern = "^(mvt|application/vnd\\.mapbox-vector-tile)$")),
    responses(
        (status = 200, description = "a Mapbox Vector Tile, one layer named after the collection's layer",
         content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>,
         headers(("Wangge-Thinned" = u64, description = "below zoom 16: how many features of the tile's area thinning left out (absent when none)"))),
        (status = 204, description = "an empty tile"),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the collection is not readable by this caller"),
        (status = 404, description = "no such collection, tiling scheme or tile")))]
pub async fn tile(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req, &["mvt", MVT])?;
    let (id, tms, z, y, x) = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let gcj02 = check_tms(&tms)?;
    let t = parse_tile(&z, &y, &x)?;
    let set = load_set(&state, dataset, layer).await?;
    let mut validators = Validators::for_layer(&set.meta, "");
    validators.etag = format!(
        "{}-t{RULES_VERSION}-{}-{}-{}{}",
        validators.etag,
        t.z,
        t.x,
        t.y,
        if gcj02 { "-gcj02" } else { "" }
    );
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }
    let layer = layer.to_string();
    let started = std::time::Instant::now();
    let (tile, cut_here) = web::block(move || {
        set.tile_cache(gcj02).get_or_cut(t, || {
            if gcj02 {
                let candidates = gcj02_candidates(&set, t);
                cut::cut_among(set.tile_index_gcj02(), &layer, t, candidates)
            } else {
                cut::cut(&set, set.tile_index(), &layer, t)
            }
        })
    })
    .await?;
    tracing::debug!(
        collection = %id,
        z = t.z, x = t.x, y = t.y,
        features = tile.features,
        thinned = tile.thinned,
        bytes = tile.bytes.as_ref().map_or(0, |b| b.len()),
        cut = cut_here,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "tile"
    );
    let mut res = match tile.bytes {
        None => HttpResponse::NoContent(),
        Some(_) => HttpResponse::Ok(),
    };
    validators.apply(&mut res);
    res.insert_header((header::CACHE_CONTROL, "no-cache"));
    if tile.thinned > 0 {
        res.insert_header((THINNED_HEADER, tile.thinned.to_string()));
    }
    Ok(match &tile.bytes {
        None => res.finish(),
        Some(b) => res.content_type(MVT).body(b.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_coordinates_are_checked() {
        assert_eq!(
            parse_tile("3", "2", "7").unwrap(),
            TileId { z: 3, x: 7, y: 2 }
        );
        assert!(matches!(
            parse_tile("3", "8", "0"),
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            parse_tile("25", "0", "0"),
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            parse_tile("a", "0", "0"),
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            parse_tile("1", "-1", "0"),
            Err(ServiceError::NotFound(_))
        ));
    }
}
