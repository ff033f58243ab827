//! The planner's web page: `GET /` for a browser (content negotiation: a
//! request that asks for `text/html` before JSON), its scripts, styles and
//! icons under `/ui/`, and `GET /ui/session` (who the presented token is).
//!
//! Everything the page needs is compiled into the binary from `assets/`
//! (MapLibre GL JS vendored under `assets/vendor/`), so the page works with no
//! network but the server's own origin; its `Content-Security-Policy` forbids
//! the browser anything else. The page and its assets hold no data and are
//! public; every data request it makes carries the signed-in token and is
//! checked by the API like any other client's.
//!
//! An operator may give the page a base map ([`Basemap`], `wangge serve
//! --basemap-url`): raster tiles from another origin, which the policy then
//! admits (that origin only, for images and fetches), named to a signed-in
//! page by `/ui/session`. A GCJ-02 base map (AMap, Tencent) makes the page
//! draw every layer moved into GCJ-02: GeoJSON layers fetched with
//! `crs={base}/crs/GCJ02`, tiles from the `GCJ02WebMercatorQuad` tile matrix
//! set, and map clicks taken back to WGS84 before they are sent.

use std::hash::{Hash, Hasher};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::access::Scope;
use super::auth::Caller;
use super::conditional::Validators;
use super::error::ServiceError;
use super::AppState;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The files served under `/ui/`, by their path below `assets/`.
const ASSETS: &[Asset] = &[
    asset!("page/index.html", "text/html; charset=utf-8"),
    asset!("page/app.css", "text/css; charset=utf-8"),
    asset!("page/icon.svg", "image/svg+xml"),
    asset!("page/js/main.js", JS),
    asset!("page/js/api.js", JS),
    asset!("page/js/ui.js", JS),
    asset!("page/js/data.js", JS),
    asset!("page/js/upload.js", JS),
    asset!("page/js/jobs.js", JS),
    asset!("page/js/map.js", JS),
    asset!("page/js/geo.js", JS),
    asset!("page/js/review.js", JS),
    asset!("page/js/adjust.js", JS),
    asset!("vendor/maplibre-gl/maplibre-gl.mjs", JS),
    asset!("vendor/maplibre-gl/maplibre-gl-worker.mjs", JS),
    asset!(
        "vendor/maplibre-gl/maplibre-gl.css",
        "text/css; charset=utf-8"
    ),
    asset!(
        "vendor/maplibre-gl/LICENSE.txt",
        "text/plain; charset=utf-8"
    ),
];

/// What the page may load: its own origin only (MapLibre starts its workers
/// from a `blob:` URL and draws images through `blob:`/`data:` URLs), plus
/// the base map's origins when one is configured (MapLibre fetches raster
/// tiles, then draws them as images).
fn csp(basemap: Option<&Basemap>) -> String {
    let extra: String = basemap
        .map(|b| b.origins.iter().map(|o| format!(" {o}")).collect())
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; worker-src 'self' blob:; \
child-src 'self' blob:; img-src 'self' data: blob:{extra}; style-src 'self' 'unsafe-inline'; \
connect-src 'self'{extra}; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'"
    )
}

/// A raster base map for the planner page, set by the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Basemap {
    /// Tile URL templates with `{z}`, `{x}` and `{y}` (MapLibre's; one per
    /// subdomain, as MapLibre has no `{s}`).
    pub tiles: Vec<String>,
    /// True when the tiles are GCJ-02 (AMap, Tencent); false for WGS84 or
    /// CGCS2000 ones (Tianditu), drawn as stored.
    pub gcj02: bool,
    /// Shown in the map's corner (the tile provider's terms usually ask).
    pub attribution: String,
    /// `scheme://host[:port]` of every template, for the CSP.
    origins: Vec<String>,
}

impl Basemap {
    /// Checks the templates and the CRS (`GCJ02`, or a name of WGS84 or
    /// CGCS2000: `CRS84`, `EPSG:4326`, `EPSG:4490`).
    pub fn new(tiles: Vec<String>, crs: &str, attribution: String) -> Result<Basemap, String> {
        if tiles.is_empty() {
            return Err("--basemap-url: no tile URL given".into());
        }
        let crs = crate::crs::Crs::parse(crs).map_err(|e| format!("--basemap-crs: {e}"))?;
        let gcj02 = match crs {
            crate::crs::Crs::Gcj02 => true,
            c if c.is_wgs84() => false,
            other => return Err(unusable_basemap_crs(other)),
        };
        let mut origins: Vec<String> = Vec::new();
        for t in &tiles {
            let o = tile_origin(t)?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        Ok(Basemap {
            tiles,
            gcj02,
            attribution,
            origins,
        })
    }
}

fn unusable_basemap_crs(crs: crate::crs::Crs) -> String {
    format!(
        "--basemap-crs {crs}: the page draws GCJ-02 (AMap, Tencent) or WGS84/CGCS2000 \
         (Tianditu) Web Mercator tiles; BD-09 tiles use Baidu's own tiling"
    )
}

/// The origin of a tile URL template, refused unless it is an http(s) URL
/// with `{z}`, `{x}` and `{y}` and a plain host (it goes into the CSP).
fn tile_origin(t: &str) -> Result<String, String> {
    let bad = |why: &str| format!("--basemap-url {t:?}: {why}");
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| bad("not an http(s) URL"))?;
    for p in ["{z}", "{x}", "{y}"] {
        if !t.contains(p) {
            return Err(bad(&format!(
                "no {p} in it (MapLibre's tile URL placeholders)"
            )));
        }
    }
    let host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if host.contains('{') {
        return Err(bad(
            "a placeholder in the host: MapLibre has no {s}; give each subdomain's URL with its own --basemap-url",
        ));
    }
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    {
        return Err(bad("not a plain host name"));
    }
    Ok(format!("{}{host}", &t[..t.len() - rest.len()]))
}

/// Does the request prefer HTML to JSON? A browser navigating asks for
/// `text/html` first; JSON clients ask for JSON, for anything (`*/*`) or
/// send no `Accept`; an `f` parameter always means the JSON document.
pub fn wants_html(req: &HttpRequest) -> bool {
    if !req.query_string().is_empty() {
        return false;
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let quality = |wanted: &[&str]| -> f32 {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let media = parts.next()?.trim().to_ascii_lowercase();
                if !wanted.contains(&media.as_str()) {
                    return None;
                }
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let html = quality(&["text/html", "application/xhtml+xml"]);
    html > 0.0 && html >= quality(&["application/json", "application/geo+json"])
}

/// `GET /`: the page for a browser, the OGC landing document otherwise.
pub async fn root(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ServiceError> {
    if wants_html(&req) {
        let mut res = serve(&req, "page/index.html", state.config.basemap.as_ref())?;
        res.headers_mut()
            .append(header::VARY, header::HeaderValue::from_static("Accept"));
        return Ok(res);
    }
    let mut res = super::ogc::landing(req, state).await?;
    res.headers_mut()
        .append(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(res)
}

/// `GET /ui/{path}`: an embedded file (`/ui/` alone is the page).
#[utoipa::path(get, path = "/ui/{file}", tag = "Capabilities", operation_id = "ui_file",
    security(()),
    params(("file" = String, Path,
        description = "a file of the planner page below /ui/, e.g. page/index.html")),
    responses(
        (status = 200, description = "the file: the page, its scripts, styles and icon, or the vendored map library",
         content(("text/html; charset=utf-8" = String), ("text/javascript; charset=utf-8" = String),
                 ("text/css; charset=utf-8" = String), ("image/svg+xml" = String),
                 ("text/plain; charset=utf-8" = String))),
        (status = 304, description = "not modified"),
        (status = 404, description = "no such file")))]
pub async fn asset(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    let path = path.into_inner();
    let path = if path.is_empty() {
        "page/index.html".to_string()
    } else {
        path
    };
    serve(&req, &path, state.config.basemap.as_ref())
}

/// The tag of a page file: its path, bytes and this build's version.
fn tag_of(path: &str, body: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    path.hash(&mut h);
    body.hash(&mut h);
    format!("ui-{:016x}", h.finish())
}

fn serve(
    req: &HttpRequest,
    path: &str,
    basemap: Option<&Basemap>,
) -> Result<HttpResponse, ServiceError> {
    let a = ASSETS
        .iter()
        .find(|a| a.path == path)
        .ok_or_else(|| ServiceError::NotFound(format!("no page file {path:?}")))?;
    // For work on the page itself: its files read from a checkout, so a
    // change shows on reload without rebuilding the server.
    let body: std::borrow::Cow<'static, [u8]> = match std::env::var_os("WANGGE_UI_DIR") {
        Some(dir) => std::fs::read(std::path::Path::new(&dir).join(a.path))
            .map_err(|e| ServiceError::NotFound(format!("{path}: {e}")))?
            .into(),
        None => a.body.into(),
    };
    let v = Validators {
        etag: tag_of(a.path, &body),
        last_modified: None,
    };
    let vendored = a.path.starts_with("vendor/");
    // The page's own files change with the binary: revalidated on every use
    // (a 304 costs nothing); the vendored library is kept for a day.
    let cache = if vendored {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    if let Some(mut r) = v.not_modified(req) {
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(cache),
        );
        return Ok(r);
    }
    let mut b = HttpResponse::Ok();
    v.apply(&mut b);
    b.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type(a.content_type);
    if a.content_type.starts_with("text/html") {
        b.insert_header((header::CONTENT_SECURITY_POLICY, csp(basemap)))
            .insert_header((header::REFERRER_POLICY, "no-referrer"));
    }
    Ok(b.body(body))
}

/// `GET /ui/session`: whether the server wants a token, and the role and
/// datasets of the one presented, so the page shows a viewer no planner
/// controls (the API refuses them anyway). A missing or unknown token is
/// `signed_in: false` with the reason, not a 401, so the browser never pops
/// up its own login box for the page's probe.
#[utoipa::path(get, path = "/ui/session", tag = "Capabilities", operation_id = "ui_session",
    security(()),
    responses(
        (status = 200, description = "whether the server wants a token (`tokens`), and whether the one presented is valid (`signed_in`) with its `role` and `datasets` (and the operator's `basemap`: tile URL templates, `crs` GCJ02 or CRS84, `attribution`), or the `reason` it is not; never 401",
         body = Object)))]
pub async fn session(
    state: web::Data<AppState>,
    caller: Result<Caller, ServiceError>,
) -> HttpResponse {
    let tokens = !state.tokens.is_empty();
    let body = match caller {
        Ok(c) => {
            let datasets = match &c.scope {
                Scope::All => json!("*"),
                Scope::Datasets(list) => json!(list.as_ref()),
            };
            let mut body =
                json!({"tokens": tokens, "signed_in": true, "role": c.role, "datasets": datasets});
            // Only to a signed-in page: a tile URL may carry the provider's key.
            if let Some(b) = &state.config.basemap {
                body["basemap"] = json!({
                    "tiles": b.tiles,
                    "crs": if b.gcj02 { "GCJ02" } else { "CRS84" },
                    "attribution": b.attribution,
                });
            }
            body
        }
        Err(e) => json!({"tokens": tokens, "signed_in": false, "reason": e.to_string()}),
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn html(accept: Option<&str>, uri: &str) -> bool {
        let mut r = TestRequest::get().uri(uri);
        if let Some(a) = accept {
            r = r.insert_header((header::ACCEPT, a));
        }
        wants_html(&r.to_http_request())
    }

    #[test]
    fn browsers_get_the_page_and_json_clients_the_landing_document() {
        let chrome =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(html(Some(chrome), "/"));
        assert!(!html(Some(chrome), "/?f=json"));
        assert!(!html(None, "/"));
        assert!(!html(Some("*/*"), "/"));
        assert!(!html(Some("application/json"), "/"));
        assert!(!html(Some("application/json, text/html;q=0.5"), "/"));
        assert!(!html(Some("text/html;q=0"), "/"));
    }

    #[test]
    fn base_maps_are_checked_and_admitted_by_origin_only() {
        let amap = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&style=8&x={x}&y={y}&z={z}";
        let b = Basemap::new(
            vec![amap.into(), amap.replace("01", "02")],
            "GCJ02",
            "© AMap".into(),
        )
        .unwrap();
        assert!(b.gcj02);
        assert_eq!(
            b.origins,
            [
                "https://webrd01.is.autonavi.com",
                "https://webrd02.is.autonavi.com"
            ]
        );
        let policy = csp(Some(&b));
        assert!(policy.contains("img-src 'self' data: blob: https://webrd01.is.autonavi.com https://webrd02.is.autonavi.com;"), "{policy}");
        assert!(policy.contains("connect-src 'self' https://webrd01.is.autonavi.com https://webrd02.is.autonavi.com;"), "{policy}");
        assert!(!csp(None).contains("http"));
        let tdt = Basemap::new(
            vec!["http://127.0.0.1:9000/t/{z}/{x}/{y}.png".into()],
            "EPSG:4490",
            String::new(),
        )
        .unwrap();
        assert!(!tdt.gcj02);
        assert_eq!(tdt.origins, ["http://127.0.0.1:9000"]);
        for (url, crs) in [
            ("ftp://x/{z}/{x}/{y}", "GCJ02"),
            ("https://x/{z}/{x}", "GCJ02"),
            ("https://webrd0{s}.is.autonavi.com/{z}/{x}/{y}", "GCJ02"),
            ("https://a b;script-src *@x/{z}/{x}/{y}", "GCJ02"),
            ("https://x/{z}/{x}/{y}", "BD09"),
            ("https://x/{z}/{x}/{y}", "EPSG:4549"),
        ] {
            assert!(
                Basemap::new(vec![url.into()], crs, String::new()).is_err(),
                "{url} {crs}"
            );
        }
    }

    #[test]
    fn every_asset_is_embedded_and_typed() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
        }
        let mut paths: Vec<_> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
    }
}
