//! The planner's page in a real browser: `wangge serve` with the demo data
//! and two tokens, driven by `tests/page/planner_page.mjs` (playwright-core
//! with Debian's Chromium, both installed by `.ci/provision`). The script
//! signs in, uploads layers through the file input, runs a partition job to
//! the end, checks the grids drawn on the map and a clicked grid's panel,
//! runs proposals on the demo, downloads a layer, then checks a viewer's page
//! offers no planner control and no private layer; every request the browser
//! makes must stay on the server's origin. It saves `docs/planner.png`.

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
    common::write_private(&tokens, "page-planner-token planner\npage-viewer-token viewer\n");
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
    let shot = repo().join("docs/planner.png");
    let out = Command::new(node)
        .arg(repo().join("tests/page/planner_page.mjs"))
        .env("WANGGE_ADDR", &server.addr)
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
    assert!(grids > 1 && figures["gridsRendered"].as_u64() == Some(grids), "{figures}");
    assert!(figures["proposals"].as_u64().unwrap() > 0, "{figures}");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000, "{}", shot.display());
    let _ = std::fs::remove_dir_all(&work);
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
