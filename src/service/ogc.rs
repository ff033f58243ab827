//! OGC API – Features, Part 1 (core, GeoJSON, OpenAPI 3.0): landing page,
//! conformance, collections (`{dataset}.{layer}`), items with `bbox`, `limit`,
//! `offset` and `next` links, and single features; with Part 2's `crs` and
//! `bbox-crs` ([`super::ogc_crs`]).
//!
//! Items are served from the in-memory collections ([`super::features`]): a
//! bbox query walks an R-tree and keeps the features whose geometry meets the
//! box, paging slices the ordered matches, and the page is the features' stored
//! GeoJSON text, streamed ([`super::stream`]). Every response carries a strong
//! ETag and answers `If-None-Match` with 304 ([`super::conditional`]).

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::Caller;
use super::conditional::{self, Validators};
use super::error::ServiceError;
use super::features::FeatureSet;
use super::ogc_crs::{self, OgcCrs, Region};
use super::openapi::types::{FormatQuery, ItemQuery as ItemParams, ItemsQuery as ItemsParams};
use super::stream::{FeatureBody, Picks};
use super::{base_url, query_pairs, AppState};
use crate::store::LayerMeta;

pub const CONFORMANCE: [&str; 4] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    ogc_crs::CONFORMANCE,
];
const CRS84: &str = ogc_crs::CRS84;
const GEOJSON: &str = "application/geo+json";

/// The `f` parameter: only JSON encodings are offered.
fn check_format(v: &str) -> Result<(), ServiceError> {
    match v {
        "json" | "geojson" | "application/json" | "application/geo+json" => Ok(()),
        _ => Err(ServiceError::BadRequest(format!(
            "unsupported format f={v:?}: this service offers json"
        ))),
    }
}

/// Parameters an endpoint takes only `f`.
fn only_f(req: &HttpRequest) -> Result<(), ServiceError> {
    for (k, v) in query_pairs(req)? {
        match k.as_str() {
            "f" => check_format(&v)?,
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    Ok(())
}

/// Splits a collection id `{dataset}.{layer}`.
pub(crate) fn split_id(id: &str) -> Result<(&str, &str), ServiceError> {
    id.split_once('.')
        .filter(|(d, l)| !d.is_empty() && !l.is_empty())
        .ok_or_else(|| ServiceError::NotFound(format!("no collection {id:?}")))
}

/// The in-memory collection, loading it from the store when needed.
pub async fn load_set(
    state: &web::Data<AppState>,
    dataset: &str,
    layer: &str,
) -> Result<Arc<FeatureSet>, ServiceError> {
    let found = match state.cache.peek(dataset, layer) {
        // Another process may have rewritten the layer: `replicas` checks.
        Some(s) if !state.store.shared() => Some(s),
        cached => {
            let st = state.clone();
            let (d, l) = (dataset.to_string(), layer.to_string());
            web::block(move || super::replicas::current(&st.cache, &*st.store, &d, &l, cached))
                .await??
        }
    };
    found.ok_or_else(|| ServiceError::NotFound(format!("no collection \"{dataset}.{layer}\"")))
}

/// Landing page.
#[utoipa::path(get, path = "/", tag = "Capabilities", operation_id = "landing",
    security(()), params(FormatQuery),
    responses(
        (status = 200, description = "links to the API; a browser asking for text/html (Accept) gets the planner page",
         content(("application/json" = Landing), ("text/html; charset=utf-8" = String))),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format")))]
pub async fn landing(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req)?;
    let base = base_url(&req, &state);
    let doc = json!({
        "title": "wangge",
        "description": "Service grids (网格) and camera coverage for grid-based governance: uploaded layers and computed grids, coverage, gaps and proposals as OGC API – Features collections.",
        "links": [
            {"rel": "self", "type": "application/json", "title": "this document", "href": format!("{base}/")},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "the API definition", "href": format!("{base}/api")},
            {"rel": "conformance", "type": "application/json", "title": "conformance classes", "href": format!("{base}/conformance")},
            {"rel": "data", "type": "application/json", "title": "collections", "href": format!("{base}/collections")},
        ]
    });
    Ok(conditional::json(&req, &doc, None))
}

/// Conformance classes.
#[utoipa::path(get, path = "/conformance", tag = "Capabilities", operation_id = "conformance",
    security(()), params(FormatQuery),
    responses(
        (status = 200, description = "the conformance classes", body = Conformance),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format")))]
pub async fn conformance(req: HttpRequest) -> Result<HttpResponse, ServiceError> {
    only_f(&req)?;
    Ok(conditional::json(
        &req,
        &json!({ "conformsTo": CONFORMANCE }),
        None,
    ))
}

fn describe(layer: &str) -> &'static str {
    match layer {
        "grids" => "proposed service grids (网格); issues_text repeats the issues array as text",
        "coverage" => "areas with camera coverage statistics",
        "gaps" => "blind spots: ground no online camera sees",
        "proposals" => "proposed new camera sites, ranked",
        "coverage_households" => "households with the cameras that see them (planners only); cameras_text repeats the cameras array as text",
        "coverage_sites" => "key sites with the cameras that see them; cameras_text repeats the cameras array as text",
        "areas" => "villages and communities",
        "households" => "household locations (planners only)",
        "cameras" => "cameras",
        "buildings" => "buildings (occluders)",
        "barriers" => "roads, rivers and railways",
        "sites" => "key sites that must be watched",
        "candidates" => "candidate camera sites",
        _ => "layer",
    }
}

/// A collection; `crs` is the list of CRSs (Part 2), or `["#/crs"]` in
/// `/collections`, which lists them once.
fn collection_json(base: &str, m: &LayerMeta, crs: Value) -> Value {
    let id = format!("{}.{}", m.dataset, m.layer);
    let mut c = json!({
        "id": id,
        "title": format!("{} {}", m.dataset, m.layer),
        "description": describe(&m.layer),
        "itemType": "feature",
        "crs": crs,
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/collections/{id}")},
            {"rel": "items", "type": GEOJSON, "href": format!("{base}/collections/{id}/items")},
        ]
    });
    if let Some(e) = m.extent {
        c["extent"] = json!({"spatial": {"bbox": [e], "crs": CRS84}});
    }
    c
}

/// The collections this caller may read.
#[utoipa::path(get, path = "/collections", tag = "Data", operation_id = "collections",
    params(FormatQuery),
    responses(
        (status = 200, description = "the collections this caller may read", body = Collections),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token")))]
pub async fn collections(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req)?;
    let base = base_url(&req, &state);
    let st = state.clone();
    let metas = web::block(move || st.store.layers(None)).await??;
    let cols: Vec<Value> = metas
        .iter()
        .filter(|m| caller.can_read(&m.dataset, &m.layer))
        .map(|m| collection_json(&base, m, json!(["#/crs"])))
        .collect();
    let doc = json!({
        "links": [{"rel": "self", "type": "application/json", "href": format!("{base}/collections")}],
        "crs": ogc_crs::offered_uris(&base),
        "collections": cols,
    });
    Ok(conditional::json(&req, &doc, None))
}

/// One collection.
#[utoipa::path(get, path = "/collections/{collectionId}", tag = "Data", operation_id = "collection",
    params(("collectionId" = CollectionId, Path, description = "the collection, `{dataset}.{layer}`"), FormatQuery),
    responses(
        (status = 200, description = "the collection", body = Collection),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such collection")))]
pub async fn collection(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    only_f(&req)?;
    let id = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let base = base_url(&req, &state);
    let cached = state.cache.peek(dataset, layer);
    let meta = match cached.filter(|_| !state.store.shared()) {
        Some(s) => Some(s.meta.clone()),
        None => {
            let st = state.clone();
            let (d, l) = (dataset.to_string(), layer.to_string());
            web::block(move || st.store.layer(&d, &l)).await??
        }
    };
    let meta = meta.ok_or_else(|| ServiceError::NotFound(format!("no collection {id:?}")))?;
    let modified = crate::store::parse_rfc3339(&meta.updated);
    Ok(conditional::json(
        &req,
        &collection_json(&base, &meta, json!(ogc_crs::offered_uris(&base))),
        modified,
    ))
}

/// Parsed items parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    /// Features on the page, at least 1 and at most the server's page maximum.
    pub limit: usize,
    pub offset: usize,
    /// West, south, east, north in CRS84, finite and within range, when the
    /// bbox is such a box (given in CRS84, EPSG:4326, 4490 or 3857).
    pub bbox: Option<[f64; 4]>,
    /// Raw bbox text, echoed in links.
    pub bbox_text: Option<String>,
    /// Where the bbox selects, whatever its CRS.
    pub region: Option<Region>,
    /// The CRS of the served coordinates (`crs`), and its raw text.
    pub crs: OgcCrs,
    pub crs_text: Option<String>,
    /// The CRS of the bbox (`bbox-crs`), and its raw text.
    pub bbox_crs: OgcCrs,
    pub bbox_crs_text: Option<String>,
}

/// A count from the query: any run of digits (a number past the largest
/// count means "as many as there are"), so every integer the API description
/// allows is taken.
pub(crate) fn parse_number(name: &str, v: &str) -> Result<usize, ServiceError> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServiceError::BadRequest(format!(
            "{name} must be a non-negative integer, got {v:?}"
        )));
    }
    Ok(digits.parse::<usize>().unwrap_or(usize::MAX))
}

/// A JSON number's text (RFC 8259 6), which may be past f64's range: then
/// the nearest infinity, which the bbox clamps.
fn json_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if int == 0 || (int > 1 && b[i] == b'0') {
        return None;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return None;
        }
        i += exp;
    }
    (i == b.len()).then(|| s.parse::<f64>().ok()).flatten()
}

/// Parses `bbox`: 4 numbers (lower corner, upper corner) or 6 (with a low
/// and a high height, ignored), in `bbox-crs`'s axis order. What they
/// select is [`ogc_crs::region`]'s: in CRS84, longitudes and latitudes past
/// its ends end there (a box past a pole ends at it), a west edge east of
/// the east edge crosses the antimeridian (OGC API – Features 1, 7.15.3),
/// and a south edge north of the north edge holds no point (the page is
/// empty).
fn parse_bbox(v: &str) -> Result<[f64; 4], ServiceError> {
    let bad = |why: &str| ServiceError::BadRequest(format!("bbox {v:?}: {why}"));
    let nums: Vec<f64> = v
        .split(',')
        .map(|s| json_number(s.trim()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("expected 4 (or 6) comma-separated numbers"))?;
    match nums.len() {
        4 => Ok([nums[0], nums[1], nums[2], nums[3]]),
        6 => Ok([nums[0], nums[1], nums[3], nums[4]]),
        _ => Err(bad("expected 4 (or 6) comma-separated numbers")),
    }
}

fn items_query(req: &HttpRequest, max: usize) -> Result<ItemsQuery, ServiceError> {
    parse_items_query(req.query_string(), max)
}

/// Parses the raw query string of an items request (`limit`, `offset`, `bbox`,
/// `bbox-crs`, `crs`, `f`); `max` caps `limit`. Pure, so the fuzz target
/// `query` can reach it without a server.
pub fn parse_items_query(query: &str, max: usize) -> Result<ItemsQuery, ServiceError> {
    let mut q = ItemsQuery {
        limit: 10,
        offset: 0,
        bbox: None,
        bbox_text: None,
        region: None,
        crs: OgcCrs::Crs84,
        crs_text: None,
        bbox_crs: OgcCrs::Crs84,
        bbox_crs_text: None,
    };
    let mut raw_bbox = None;
    for (k, v) in super::parse_query(query)? {
        match k.as_str() {
            "limit" => {
                let n = parse_number("limit", &v)?;
                if n == 0 {
                    return Err(ServiceError::BadRequest("limit must be at least 1".into()));
                }
                q.limit = n.min(max);
            }
            "offset" => q.offset = parse_number("offset", &v)?,
            "bbox" => {
                raw_bbox = Some(parse_bbox(&v)?);
                q.bbox_text = Some(v);
            }
            "bbox-crs" => {
                q.bbox_crs = OgcCrs::parse(&k, &v)?;
                q.bbox_crs_text = Some(v);
            }
            "crs" => {
                q.crs = OgcCrs::parse(&k, &v)?;
                q.crs_text = Some(v);
            }
            // No feature has a time, so no interval can select among them:
            // refused rather than ignored, so a client never takes an
            // unfiltered page for a filtered one.
            "datetime" => {
                return Err(ServiceError::BadRequest(format!(
                    "datetime={v:?} is not supported: the features of this service carry no time"
                )))
            }
            "f" => check_format(&v)?,
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    if let Some(b) = raw_bbox {
        let region = ogc_crs::region(b, q.bbox_crs)?;
        if let Region::Box(b) = region {
            q.bbox = Some(b);
        }
        q.region = Some(region);
    }
    Ok(q)
}

/// Parses the query of a single feature: `crs` and `f`.
pub fn parse_item_query(query: &str) -> Result<OgcCrs, ServiceError> {
    let mut crs = OgcCrs::Crs84;
    for (k, v) in super::parse_query(query)? {
        match k.as_str() {
            "crs" => crs = OgcCrs::parse(&k, &v)?,
            "f" => check_format(&v)?,
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    Ok(crs)
}

/// Percent-encodes a query value for a link.
pub(crate) fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The features of a page whose geometry meets the bbox (`None`: no bbox,
/// every feature), ascending.
async fn matching(
    set: &Arc<FeatureSet>,
    region: Option<Region>,
) -> Result<Option<Vec<u32>>, ServiceError> {
    let s = set.clone();
    Ok(match region {
        None => None,
        Some(Region::Empty) => Some(Vec::new()),
        // South above north: no point is in the box.
        Some(Region::Box(b)) if b[1] > b[3] => Some(Vec::new()),
        Some(Region::Box(b)) => {
            let boxes = if b[0] <= b[2] {
                vec![b]
            } else {
                // Across the antimeridian.
                vec![[b[0], b[1], 180.0, b[3]], [-180.0, b[1], b[2], b[3]]]
            };
            // Edge features have their geometry read: off the HTTP workers.
            Some(web::block(move || s.intersecting(&boxes)).await?)
        }
        Some(Region::Area(area)) => Some(web::block(move || s.intersecting_area(&area)).await?),
    })
}

/// The end of an items page: counts and links (self, collection, next,
/// prev), each link with the page's `bbox`, `bbox-crs` and `crs`.
fn page_tail(
    base: &str,
    id: &str,
    q: &ItemsQuery,
    start: usize,
    end: usize,
    total: usize,
) -> String {
    let mut params = String::new();
    for (name, v) in [
        ("bbox", &q.bbox_text),
        ("bbox-crs", &q.bbox_crs_text),
        ("crs", &q.crs_text),
    ] {
        if let Some(v) = v {
            let _ = write!(params, "&{name}={}", encode(v));
        }
    }
    let link = |offset: usize| {
        format!(
            "{base}/collections/{id}/items?limit={}&offset={offset}{params}",
            q.limit
        )
    };
    let mut tail = String::with_capacity(1024);
    let _ = write!(
        tail,
        "],\"numberMatched\":{total},\"numberReturned\":{},\"links\":[",
        end - start,
    );
    let _ = write!(
        tail,
        "{{\"rel\":\"self\",\"type\":\"{GEOJSON}\",\"href\":{}}}",
        Value::from(link(start))
    );
    let _ = write!(
        tail,
        ",{{\"rel\":\"collection\",\"type\":\"application/json\",\"href\":{}}}",
        Value::from(format!("{base}/collections/{id}"))
    );
    if end < total {
        let _ = write!(
            tail,
            ",{{\"rel\":\"next\",\"type\":\"{GEOJSON}\",\"href\":{}}}",
            Value::from(link(end))
        );
    }
    if start > 0 {
        let _ = write!(
            tail,
            ",{{\"rel\":\"prev\",\"type\":\"{GEOJSON}\",\"href\":{}}}",
            Value::from(link(start.saturating_sub(q.limit)))
        );
    }
    tail.push_str("]}");
    tail
}

/// The body of an items page or a whole layer: the stored text, streamed;
/// in a CRS other than CRS84, converted before anything is sent (off the
/// HTTP workers), so a feature that cannot be given in that CRS is a 422,
/// not a broken stream.
pub(crate) async fn features_body(
    set: Arc<FeatureSet>,
    picks: Picks,
    one_type: bool,
    head: String,
    sep: &'static str,
    tail: String,
    crs: OgcCrs,
) -> Result<BoxBody, ServiceError> {
    if crs == OgcCrs::Crs84 {
        return Ok(BoxBody::new(FeatureBody::new(
            set, picks, one_type, head, sep, tail,
        )));
    }
    let bytes = web::block(move || -> Result<_, ServiceError> {
        let rp = ogc_crs::Reprojector::new(crs)?.expect("not CRS84");
        super::stream::converted(&set, &picks, one_type, &head, sep, &tail, &rp).map_err(|e| {
            ServiceError::Unprocessable(format!("{e}: it cannot be given in {}", crs.crs()))
        })
    })
    .await??;
    Ok(BoxBody::new(bytes))
}

/// Features of a collection, a page at a time.
#[utoipa::path(get, path = "/collections/{collectionId}/items", tag = "Data", operation_id = "items",
    params(("collectionId" = CollectionId, Path, description = "the collection, `{dataset}.{layer}`"), ItemsParams),
    responses(
        (status = 200, description = "a page of features, with next and prev links", body = FeatureCollection, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "the CRS of the coordinates, as `<URI>` (OGC API – Features Part 2)"))),
        (status = 304, description = "not modified"),
        (status = 400, description = "a bad or unknown parameter, or a CRS this service does not offer"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such collection"),
        (status = 422, description = "a feature lies outside the area the requested CRS (a Gauss-Krüger zone) is defined for, or the bbox does")))]
pub async fn items(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let id = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let q = items_query(&req, state.config.max_items)?;
    let set = load_set(&state, dataset, layer).await?;
    let base = base_url(&req, &state);
    let mut validators = Validators::for_layer(&set.meta, &base);
    validators.etag.push_str(&q.crs.tag());
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }

    let matched = matching(&set, q.region.clone()).await?;
    let total = matched.as_ref().map_or(set.features.len(), Vec::len);
    let start = q.offset.min(total);
    let end = (start + q.limit).min(total);
    let picks = match matched {
        Some(m) if start == 0 && end == m.len() => Picks::List(m),
        Some(m) => Picks::List(m[start..end].to_vec()),
        None => Picks::Range(start..end),
    };
    let tail = page_tail(&base, &id, &q, start, end, total);
    let head = "{\"type\":\"FeatureCollection\",\"features\":[".to_string();
    let body = features_body(set, picks, true, head, ",", tail, q.crs).await?;
    let mut res = HttpResponse::Ok();
    validators.apply(&mut res);
    Ok(res
        .content_type(GEOJSON)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(q.crs.header(&base))
        .body(body))
}

/// One feature.
#[utoipa::path(get, path = "/collections/{collectionId}/items/{featureId}", tag = "Data", operation_id = "item",
    params(("collectionId" = CollectionId, Path, description = "the collection, `{dataset}.{layer}`"), ("featureId" = String, Path, description = "the feature id"), ItemParams),
    responses(
        (status = 200, description = "the feature", body = Feature, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "the CRS of the coordinates, as `<URI>` (OGC API – Features Part 2)"))),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format, or a CRS this service does not offer"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such collection or feature"),
        (status = 422, description = "the feature lies outside the area the requested CRS (a Gauss-Krüger zone) is defined for")))]
pub async fn item(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ServiceError> {
    let crs = parse_item_query(req.query_string())?;
    let (id, fid) = path.into_inner();
    let (dataset, layer) = split_id(&id)?;
    caller.require_read(dataset, layer)?;
    let set = load_set(&state, dataset, layer).await?;
    let i = set
        .position(&fid)
        .ok_or_else(|| ServiceError::NotFound(format!("no feature {fid:?} in {id}")))?;
    let base = base_url(&req, &state);
    let mut validators = Validators::for_layer(&set.meta, &base);
    validators.etag.push_str(&crs.tag());
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }
    // The stored text is a complete Feature object (served with the
    // collection's one geometry type): add the links before its end.
    let links = format!(
        ",\"links\":[{{\"rel\":\"self\",\"type\":\"{GEOJSON}\",\"href\":{}}},{{\"rel\":\"collection\",\"type\":\"application/json\",\"href\":{}}}]}}",
        Value::from(format!("{base}/collections/{id}/items/{}", encode(&fid))),
        Value::from(format!("{base}/collections/{id}"))
    );
    let mut served = Vec::new();
    let splice = super::geomtype::find(&set.splices, i);
    super::geomtype::write(&mut served, &set.features[i].json, splice);
    let served = String::from_utf8(served).unwrap_or_default();
    let json = served.strip_suffix('}').unwrap_or(&served).to_string();
    let body = if crs == OgcCrs::Crs84 {
        BoxBody::new(format!("{json}{links}"))
    } else {
        let feature = format!("{json}}}");
        let converted = web::block(move || -> Result<Vec<u8>, ServiceError> {
            let rp = ogc_crs::Reprojector::new(crs)?.expect("not CRS84");
            let mut out = Vec::new();
            rp.feature(&feature, &mut out).map_err(|e| {
                ServiceError::Unprocessable(format!(
                    "feature {fid:?}: {e}: it cannot be given in {}",
                    crs.crs()
                ))
            })?;
            out.pop();
            out.extend_from_slice(links.as_bytes());
            Ok(out)
        })
        .await??;
        BoxBody::new(converted)
    };
    let mut res = HttpResponse::Ok();
    validators.apply(&mut res);
    Ok(res
        .content_type(GEOJSON)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(crs.header(&base))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_query_from_the_raw_string() {
        let q =
            parse_items_query("limit=5000&offset=20&bbox=114.3,30.4,0,114.5,30.6,9", 1000).unwrap();
        assert_eq!(q.limit, 1000, "limit is capped at the page maximum");
        assert_eq!(q.offset, 20);
        assert_eq!(q.bbox, Some([114.3, 30.4, 114.5, 30.6]));
        assert_eq!(q.bbox_text.as_deref(), Some("114.3,30.4,0,114.5,30.6,9"));
        assert_eq!(parse_items_query("", 1000).unwrap().limit, 10);
        // Past the ends of CRS84: clamped; huge counts: as many as there are.
        let q =
            parse_items_query("bbox=-200,-95,1e400,10&offset=99999999999999999999999", 10).unwrap();
        assert_eq!(q.bbox, Some([-180.0, -90.0, 180.0, 10.0]));
        assert_eq!(q.offset, usize::MAX);
        // South above north is a box with no point, not an error.
        assert_eq!(
            parse_items_query("bbox=0,10,1,5", 10).unwrap().bbox,
            Some([0.0, 10.0, 1.0, 5.0])
        );
        for bad in [
            "limit=0",
            "limit=-1",
            "bbox=1,2,3",
            "bbox=0,nan,1,1",
            "bbox=0,inf,1,1",
            "bbox=1,2,3,4,5",
            "datetime=2020-01-01",
            "bbox-crs=EPSG:4326",
            "colour=red",
        ] {
            let e = parse_items_query(bad, 1000).unwrap_err();
            assert!(
                matches!(
                    e,
                    ServiceError::BadRequest(_) | ServiceError::UnknownParameter(_)
                ),
                "{bad}: {e:?}"
            );
        }
    }
}
