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
use super::ogc::{load_set, split_id};
use super::{base_url, query_pairs, AppState};
use cut::{TileId, FULL_ZOOM, MAX_ZOOM};

/// The only tile matrix set offered.
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// The media type of a tile.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Changes whenever the cutting rules change, so cached tiles are refetched.
const RULES_VERSION: u32 = 2;
/// The response header counting the features of a tile's area that
/// thinning left out (absent when none were).
pub const THINNED_HEADER: &str = "Wangge-Thinned";

fn check_tms(tms: &str) -> Result<(), ServiceError> {
    if tms == WEB_MERCATOR_QUAD {
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!(
            "no tile matrix set {tms:?}: this service offers {WEB_MERCATOR_QUAD}"
        )))
    }
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
    let doc = json!({
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles")},
            {"rel": "collection", "type": "application/json", "href": format!("{base}/collections/{id}")},
        ],
        "tilesets": [{
            "title": format!("{id} vector tiles"),
            "tileMatrixSetId": WEB_MERCATOR_QUAD,
            "tileMatrixSetURI": TMS_URI,
            "dataType": "vector",
            "crs": EPSG_3857,
            "links": [
                {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles/{WEB_MERCATOR_QUAD}")},
                {"rel": TILING_SCHEME, "href": TMS_URI},
            ],
        }],
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
           ("tileMatrixSetId" = String, Path, description = "the tiling scheme", pattern = "^WebMercatorQuad$"),
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
    check_tms(&tms)?;
    let set = load_set(&state, dataset, layer).await?;
    let s = set.clone();
    // The fields come from the projected index (built here if no tile was
    // asked for yet): off the HTTP workers.
    let fields = web::block(move || s.tile_index().fields.clone()).await?;
    let base = base_url(&req, &state);
    let template = format!("{base}/collections/{id}/tiles/{WEB_MERCATOR_QUAD}/{{z}}/{{y}}/{{x}}");
    let bounds = set
        .meta
        .extent
        .unwrap_or([-180.0, -85.051_128_8, 180.0, 85.051_128_8]);
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
        "tileMatrixSetId": WEB_MERCATOR_QUAD,
        "tileMatrixSetURI": TMS_URI,
        "dataType": "vector",
        "crs": EPSG_3857,
        "layers": [{"id": layer, "dataType": "vector", "minTileMatrix": "0", "maxTileMatrix": FULL_ZOOM.to_string()}],
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}/tiles/{WEB_MERCATOR_QUAD}")},
            {"rel": "item", "type": MVT, "templated": true, "href": template},
            {"rel": TILING_SCHEME, "href": TMS_URI},
            {"rel": "collection", "type": "application/json", "href": format!("{base}/collections/{id}")},
        ],
    });
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
           ("tileMatrixSetId" = String, Path, description = "the tiling scheme", pattern = "^WebMercatorQuad$"),
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
    check_tms(&tms)?;
    let t = parse_tile(&z, &y, &x)?;
    let set = load_set(&state, dataset, layer).await?;
    let mut validators = Validators::for_layer(&set.meta, "");
    validators.etag = format!(
        "{}-t{RULES_VERSION}-{}-{}-{}",
        validators.etag, t.z, t.x, t.y
    );
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }
    let layer = layer.to_string();
    let started = std::time::Instant::now();
    let (tile, cut_here) = web::block(move || set.tile_cache().get_or_cut(&set, &layer, t)).await?;
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
