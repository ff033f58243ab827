//! An OpenAPI-driven fuzzer against a tokened server, as a planner:
//! schemathesis (pinned, installed by `.ci/provision` into
//! `.tools/schemathesis`) reads `/api` and runs every phase (the document's
//! examples, boundary and negative values, random requests, and stateful
//! sequences that follow the document's links: upload layers into a dataset,
//! start a job, read its result) with every check: no server error, only
//! documented statuses, content types and headers, bodies that match their
//! schemas, schema-valid requests accepted and schema-invalid ones refused,
//! 401 without the token, 405 with `Allow` for methods a path lacks.
//! Bounded in time; fails with schemathesis's report if any check fails.
//! Settings: `tests/service/schemathesis.toml`.
//!
//! Fails, naming what to install, when schemathesis is missing; never skips.

#[path = "service/common.rs"]
mod common;

use std::path::Path;
use std::process::Command;

/// Seconds schemathesis may spend (`WANGGE_FUZZ_SECONDS` overrides).
const SECONDS: u32 = 150;

#[test]
fn schemathesis_finds_no_failure_of_any_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let st = root.join(".tools/schemathesis/bin/st");
    let version = Command::new(&st).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "{} is missing: run .ci/provision (make test does), which installs schemathesis from PyPI into .tools/schemathesis (needs python3 with venv and pip)",
        st.display()
    );
    let dir = common::temp_dir("schemathesis");
    let server = common::Server::start(
        &[
            std::ffi::OsStr::new("--data-dir"),
            dir.join("data").as_os_str(),
        ],
        &[("WANGGE_TOKENS", "fuzz-token:planner")],
    );
    let seconds = std::env::var("WANGGE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(SECONDS);
    let run = || {
        Command::new(&st)
            .arg("--config-file")
            .arg(root.join("tests/service/schemathesis.toml"))
            .arg("--no-color")
            .arg("run")
            .arg(format!("http://{}/api", server.addr))
            .args(["--header", "Authorization: Bearer fuzz-token"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-time", &seconds.to_string()])
            .args(["--workers", "2", "--request-timeout", "30"])
            .args(["--report", "har", "--report-har-path"])
            .arg(dir.join("requests.har"))
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let mut out = run();
    if !out.status.success() && only_tool_errors(&String::from_utf8_lossy(&out.stdout)) {
        // schemathesis itself crashed while generating a case (a Python
        // error inside Hypothesis), with no check failed: that says nothing
        // of the API, so it runs once more, with a new seed; a second crash,
        // or any failed check, fails the test.
        println!(
            "schemathesis stopped on an error of its own, with no check failed; running it again:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        out = run();
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The summary, for the log (and the README's figures).
    let summary = stdout.find("SUMMARY").map_or(&stdout[..], |i| &stdout[i..]);
    println!("{summary}");
    // Every request sent, from the HTTP archive schemathesis writes.
    let har: serde_json::Value = std::fs::read(dir.join("requests.har"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let requests = har["log"]["entries"].as_array().map_or(0, Vec::len);
    println!("requests sent: {requests}");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Stateful") && !stdout.contains("No operations"),
        "the stateful phase did not run:\n{stdout}"
    );
    assert!(requests > 1000, "only {requests} requests were sent");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether a schemathesis report holds errors of the tool's own ("Runtime
/// Error": an exception while generating or running a case) and no failed
/// check.
fn only_tool_errors(report: &str) -> bool {
    report.contains("Runtime Error")
        && !report.contains("FAILURES")
        && !report.contains("Failures:")
}
