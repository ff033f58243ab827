//! A real OGC API – Features client: OWSLib, installed from PyPI into a local
//! virtual environment by this test, lists the collections of a running
//! `wangge serve`, reads layers page by page and with a bbox, and checks it gets
//! exactly the features `wangge convert` writes for the same input; and
//! openapi-spec-validator checks the OpenAPI document at `/api`.
//!
//! Fails, saying what to install, when Python with venv and pip or PyPI is
//! not available; it never skips.

#[path = "service/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A venv with OWSLib, created once and reused.
fn owslib_python() -> Result<PathBuf, String> {
    let venv = std::env::temp_dir().join("wangge-owslib-venv");
    let py = venv.join("bin").join("python");
    let ok = |py: &Path| {
        Command::new(py)
            .args([
                "-c",
                "import owslib.ogcapi.features, openapi_spec_validator",
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok(&py) {
        return Ok(py);
    }
    let st = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 not available: {e}"))?;
    if !st.success() {
        return Err("python3 -m venv failed".into());
    }
    let st = Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "OWSLib>=0.30",
            // The version .ci/provision pins for tests/service_openapi.rs.
            "openapi-spec-validator==0.9.0",
        ])
        .status()
        .map_err(|e| format!("pip not available: {e}"))?;
    if !st.success() || !ok(&py) {
        return Err("pip install OWSLib failed (no network?)".into());
    }
    Ok(py)
}

#[test]
fn owslib_reads_what_the_cli_writes() {
    let py = owslib_python().unwrap_or_else(|e| {
        panic!("this test needs python3 with venv and pip, and PyPI to install OWSLib: {e}")
    });
    let dir = common::temp_dir("owslib");
    let (inputs, cli) = (dir.join("in"), dir.join("cli"));
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&cli).unwrap();
    std::fs::write(inputs.join("areas.geojson"), common::areas(6)).unwrap();
    std::fs::write(inputs.join("households.geojson"), common::households(2500)).unwrap();
    for layer in ["areas", "households"] {
        let st = Command::new(common::binary())
            .args(["convert", "--layer", layer, "--in"])
            .arg(inputs.join(format!("{layer}.geojson")))
            .arg("--out")
            .arg(cli.join(format!("{layer}.geojson")))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "wangge convert {layer} failed");
    }

    let addr = format!("127.0.0.1:{}", common::free_port());
    let mut server = Command::new(common::binary())
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while common::http(&addr, "GET", "/health", None)
        .map(|r| r.status)
        .ok()
        != Some(200)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for layer in ["areas", "households"] {
        let body = std::fs::read(inputs.join(format!("{layer}.geojson"))).unwrap();
        let r = common::http(
            &addr,
            "PUT",
            &format!("/api/v1/datasets/t/layers/{layer}"),
            Some(&body),
        )
        .unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service/owslib_client.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(&cli)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "OWSLib client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
