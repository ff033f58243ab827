//! The planner's page in a real browser: `wangge serve` with the demo data
//! and two tokens, driven by `tests/page/planner_page.mjs` (playwright-core
//! with Debian's Chromium, both installed by `.ci/provision`). The script
//! signs in, uploads layers through the file input, runs a partition job to
//! the end, checks the grids drawn on the map and a clicked grid's panel,
//! partitions again with a locked grid and one area's own rules (its grids
//! within them, coloured so), runs proposals on the demo, downloads a layer,
//! draws the grids from vector tiles as a city's are (every grid drawn and
//! filled by its rule state, a click showing the item's properties before the
//! grids' GeoJSON arrives, a moved cell redrawn), then checks a viewer's page
//! offers no planner control and no private layer, and that a server without
//! tokens needs no sign-in; every request the browser makes must stay on the
//! server's origin. It saves `docs/planner.png`. A second test opens the page
//! over a GCJ-02 base map from another origin (`tests/page/basemap.mjs`).

#[path = "service/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Debian's Chromium (`WANGGE_CHROMIUM` overrides).
fn chromium() -> PathBuf {
    let p = std::env::var_os("WANGGE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.exists(),
        "the planner page test needs Chromium at {}: run .ci/provision as root (it installs Debian's chromium), \
         or `sudo apt-get install -y chromium`, or set WANGGE_CHROMIUM",
        p.display()
    );
    p
}

/// The driver library installed by `.ci/provision` into `.tools/page`.
fn playwright_dir() -> PathBuf {
    let dir = repo().join(".tools/page");
    assert!(
        dir.join("node_modules/playwright-core/package.json").exists(),
        "the planner page test needs playwright-core in {}: run .ci/provision (npm ci of tests/page/package-lock.json)",
        dir.display()
    );
    dir
}

#[test]
fn planner_page_in_headless_chromium() {
    let chromium = chromium();
    let pw = playwright_dir();
    let node = which("node").expect("the planner page test needs Node.js (node) on PATH");
    let work = common::temp_dir("page");
    let tokens = work.join("tokens");
    common::write_private(
        &tokens,
        "page-planner-token planner\npage-viewer-token viewer\n",
    );
    let data = work.join("data");
    let demo = repo().join("data/demo");
    let server = common::Server::start(
        &[
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--load".as_ref(),
            demo.as_os_str(),
            "--tokens".as_ref(),
            tokens.as_os_str(),
        ],
        &[],
    );
    // And one without tokens (empty): its page needs no sign-in.
    let open_data = work.join("open");
    let open = common::Server::start(&["--data-dir".as_ref(), open_data.as_os_str()], &[]);
    let shot = repo().join("docs/planner.png");
    let out = Command::new(node)
        .arg(repo().join("tests/page/planner_page.mjs"))
        .env("WANGGE_ADDR", &server.addr)
        .env("OPEN_ADDR", &open.addr)
        .env("PLAYWRIGHT_DIR", &pw)
        .env("CHROMIUM", &chromium)
        .env("DEMO_DIR", &demo)
        .env("WORK_DIR", &work)
        .env("SCREENSHOT", &shot)
        .env("PLANNER_TOKEN", "page-planner-token")
        .env("VIEWER_TOKEN", "page-viewer-token")
        .output()
        .expect("run node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the page test failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let figures: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no figures ({e}): {stdout}\n{stderr}"));
    eprintln!("planner page: {figures}");
    assert_eq!(figures["offOrigin"], serde_json::json!([]), "{figures}");
    assert!(figures["requests"].as_u64().unwrap() > 20, "{figures}");
    let grids = figures["grids"].as_u64().unwrap();
    assert!(
        grids > 1 && figures["gridsRendered"].as_u64() == Some(grids),
        "{figures}"
    );
    assert!(figures["proposals"].as_u64().unwrap() > 0, "{figures}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{}",
        shot.display()
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// The page over a GCJ-02 base map (`tests/page/basemap.mjs`): the base map's
/// tiles come from a second origin (another `wangge serve`, whose icon stands
/// in for tiles), the policy admits it, and the layers are drawn in GCJ-02.
#[test]
fn planner_page_over_a_gcj02_base_map() {
    let chromium = chromium();
    let pw = playwright_dir();
    let node = which("node").expect("the planner page test needs Node.js (node) on PATH");
    let work = common::temp_dir("page-basemap");
    let tile_server = common::Server::start(
        &["--data-dir".as_ref(), work.join("tiles").as_os_str()],
        &[],
    );
    let template = format!(
        "http://{}/ui/page/icon.svg?z={{z}}&x={{x}}&y={{y}}",
        tile_server.addr
    );
    let server = common::Server::start(
        &[
            "--data-dir".as_ref(),
            work.join("data").as_os_str(),
            "--basemap-url".as_ref(),
            template.as_ref(),
            "--basemap-attribution".as_ref(),
            "test tiles".as_ref(),
        ],
        &[("WANGGE_TOKENS", "basemap-token:planner")],
    );
    for layer in ["areas", "households"] {
        let body = std::fs::read(repo().join(format!("data/demo/{layer}.geojson"))).unwrap();
        let r = common::http_as(
            &server.addr,
            "PUT",
            &format!("/api/v1/datasets/demo/layers/{layer}"),
            Some("Bearer basemap-token"),
            Some(&body),
        )
        .unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    let out = Command::new(node)
        .arg(repo().join("tests/page/basemap.mjs"))
        .env("WANGGE_ADDR", &server.addr)
        .env("TILE_ADDR", &tile_server.addr)
        .env("TOKEN", "basemap-token")
        .env("PLAYWRIGHT_DIR", &pw)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the base map page test failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    eprintln!("planner page over a base map: {}", stdout.trim());
    let _ = std::fs::remove_dir_all(&work);
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The page's routes without a browser: negotiation of `/`, the embedded
/// files with their tags, and the session probe, all without a token.
#[actix_web::test]
async fn page_routes_negotiate_tag_and_probe_the_session() {
    use actix_web::test::TestRequest;
    use common::{app, call, json_of};
    let dir = common::temp_dir("page-routes");
    let (state, _store) = common::planner_service(&dir, Default::default());
    let app = app!(state);
    let h = |m: &actix_web::http::header::HeaderMap, k: &str| {
        m.get(k)
            .unwrap_or_else(|| panic!("no {k}"))
            .to_str()
            .unwrap()
            .to_string()
    };

    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (status, headers, body) = call!(
        app,
        TestRequest::get()
            .uri("/")
            .insert_header(("accept", browser))
    );
    assert_eq!(status, 200);
    assert!(h(&headers, "content-type").starts_with("text/html"));
    let csp = h(&headers, "content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("/ui/vendor/maplibre-gl/maplibre-gl.css") && !html.contains("http"),
        "{html}"
    );

    for accept in [None, Some("application/json"), Some("*/*")] {
        let mut r = TestRequest::get().uri("/");
        if let Some(a) = accept {
            r = r.insert_header(("accept", a));
        }
        let (status, _, body) = call!(app, r);
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(json_of(&body)["title"], "wangge", "{accept:?}");
    }

    let path = "/ui/vendor/maplibre-gl/maplibre-gl.mjs";
    let (status, headers, body) = call!(app, TestRequest::get().uri(path));
    assert_eq!(status, 200);
    assert!(body.starts_with(b"/**\n* MapLibre GL JS"));
    let tag = h(&headers, "etag");
    assert!(h(&headers, "cache-control").contains("max-age"));
    let (status, _, body) = call!(
        app,
        TestRequest::get()
            .uri(path)
            .insert_header(("if-none-match", tag.as_str()))
    );
    assert_eq!((status.as_u16(), body.len()), (304, 0));
    let (status, headers, _) = call!(app, TestRequest::get().uri("/ui/page/js/main.js"));
    assert_eq!(status, 200);
    assert!(h(&headers, "content-type").starts_with("text/javascript"));
    assert_eq!(h(&headers, "cache-control"), "no-cache");
    let (status, headers, _) = call!(app, TestRequest::get().uri("/ui/page/../../Cargo.toml"));
    assert_eq!(status, 404);
    assert!(h(&headers, "content-type").starts_with("application/problem+json"));

    let (status, _, body) = call!(app, TestRequest::get().uri("/ui/session"));
    assert_eq!(status, 200);
    let s = json_of(&body);
    assert_eq!(
        (s["tokens"].as_bool(), s["signed_in"].as_bool()),
        (Some(true), Some(false)),
        "{s}"
    );
    let (_, _, body) = call!(
        app,
        TestRequest::get()
            .uri("/ui/session")
            .insert_header(("authorization", "Bearer nope"))
    );
    assert_eq!(json_of(&body)["signed_in"], false);
    let (_, _, body) = call!(
        app,
        TestRequest::get()
            .uri("/ui/session")
            .insert_header(("authorization", "Bearer p"))
    );
    let s = json_of(&body);
    assert_eq!(
        (s["role"].as_str(), s["datasets"].as_str()),
        (Some("planner"), Some("*")),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
