//! A real desktop client nobody here wrote: Debian's QGIS (python3-qgis,
//! qgis-providers), headless (`QT_QPA_PLATFORM=offscreen`), opens every
//! collection of a tokened deployment with its OGC API – Features provider and
//! a Basic authentication configuration, as planner and as viewer, and
//! compares counts, keys, properties, geometries and bbox filters with the
//! HTTP items (tests/service/qgis_client.py does the QGIS side); it checks the
//! text twins (`issues_text`, `cameras_text`) show what QGIS 3.22 drops, and
//! renders the grids to a PNG.
//!
//! The deployment is the western part of the demo district (8 communities,
//! 1,365 household locations, 1,083 buildings): QGIS's provider caches every
//! feature it downloads, at a few hundred features a second on a busy 2-core
//! machine, and the whole district would take minutes.
//!
//! Fails (with what to install) when QGIS is missing; `make test` installs it.
//! `WANGGE_QGIS_SCREENSHOT=docs/qgis-grids.png` copies the planner's render
//! there (the README's screenshot).

#[path = "service/common.rs"]
mod common;
#[path = "clients/deploy.rs"]
mod deploy;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

use deploy::{Deployment, Role, DATASET};

/// Debian's interpreter, where python3-qgis installs `qgis` (not a venv's).
const PYTHON: &str = "/usr/bin/python3";
/// The western communities of the demo district (lon/lat min, max).
const WEST: [f64; 4] = [118.0, 32.0, 118.24, 33.0];

fn require_qgis() {
    let ok = Command::new(PYTHON)
        .args(["-c", "import qgis.core"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{PYTHON} cannot import qgis.core: this test needs Debian's python3-qgis and \
         qgis-providers (`apt-get install python3-qgis qgis-providers`, or `make test`, \
         which installs them when run as root)"
    );
}

#[test]
fn qgis_reads_every_collection_with_basic_authentication() {
    require_qgis();
    let d = Deployment::start("client-qgis", Some(WEST));
    let images = common::temp_dir("client-qgis-images");
    let roles: serde_json::Map<String, Value> = [Role::Planner, Role::Viewer]
        .into_iter()
        .map(|r| {
            let name = format!("{r:?}").to_lowercase();
            let cfg = json!({"token": r.token(), "readable": r.readable(), "private": r.private()});
            (name, cfg)
        })
        .collect();
    let config = d.dir.join("qgis.json");
    let cfg = json!({
        "url": format!("http://{}", d.addr),
        "dataset": DATASET,
        "out": images,
        "roles": roles,
    });
    std::fs::write(&config, cfg.to_string()).unwrap();
    // A home, runtime directory and authentication database of its own, so
    // nothing of the machine's QGIS profile is read or written.
    let home = d.dir.join("qgis-home");
    let runtime = home.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service/qgis_client.py");
    let t0 = Instant::now();
    let out = Command::new(PYTHON)
        .arg(&script)
        .arg(&config)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("QGIS_AUTH_DB_DIR_PATH", &home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "QGIS client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no summary from the QGIS client ({e}):\n{stdout}"));
    assert_eq!(summary["failures"], 0, "{summary}");
    for (role, readable) in [
        ("planner", Role::Planner.readable().len()),
        ("viewer", Role::Viewer.readable().len()),
    ] {
        let r = &summary["roles"][role];
        assert_eq!(
            r["collections"].as_u64(),
            Some(readable as u64),
            "{summary}"
        );
        assert!(r["features"].as_u64().unwrap() > 0, "{summary}");
        let png = std::fs::read(r["image"]["png"].as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{role}'s render");
    }
    eprintln!(
        "QGIS read and rendered in {:.1} s; images in {}",
        t0.elapsed().as_secs_f64(),
        images.display()
    );
    if let Some(dest) = std::env::var_os("WANGGE_QGIS_SCREENSHOT") {
        std::fs::copy(images.join("grids-planner.png"), &dest).unwrap();
    }
}
