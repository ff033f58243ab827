//! A deployment as a county office runs it, for the real-client tests (GDAL,
//! QGIS): the real `wangge serve` binary with a tokens file (a planner and a
//! viewer), the demo district (data/demo: 琅琊区 with its real community
//! codes) uploaded over HTTP and run through partition (under rules some grids
//! break, so `issues` are not all empty), coverage and propose; and beside it
//! the command line's own output for the same inputs, which every client must
//! read back feature for feature.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

pub const PLANNER_TOKEN: &str = "planner-c1Qz8";
pub const VIEWER_TOKEN: &str = "viewer-m4Kd2";
pub const DATASET: &str = "langya";

/// The rules of the partition: the presets' household band, and an area cap
/// that the large rural grids cannot meet, so their `issues` say why.
const RULES: &str = r#"{"min_households": 300, "max_households": 500, "max_persons": 2500, "max_area_m2": 2000000}"#;

/// The input layers, uploaded as they are and normalised by `wangge convert`.
pub const INPUTS: [&str; 7] = common::DEMO_LAYERS;

/// Every collection of the dataset, with the command line's file for it and
/// whether a viewer may read it (written out here, apart from the service's
/// policy, so a change there shows up as a failure).
pub const COLLECTIONS: [(&str, &str, bool); 14] = [
    ("areas", "areas.geojson", true),
    ("households", "households.geojson", false),
    ("cameras", "cameras.geojson", false),
    ("buildings", "buildings.geojson", false),
    ("barriers", "barriers.geojson", true),
    ("sites", "sites.geojson", true),
    ("candidates", "candidates.geojson", false),
    ("grids", "grids.geojson", true),
    ("coverage", "coverage/areas.geojson", true),
    ("gaps", "coverage/gaps.geojson", true),
    ("coverage_households", "coverage/households.geojson", false),
    ("coverage_cameras", "coverage/cameras.geojson", false),
    ("coverage_sites", "coverage/sites.geojson", true),
    ("proposals", "proposals.geojson", true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Planner,
    Viewer,
}

impl Role {
    pub fn token(self) -> &'static str {
        match self {
            Role::Planner => PLANNER_TOKEN,
            Role::Viewer => VIEWER_TOKEN,
        }
    }

    /// The layers this role must see, and only these.
    pub fn readable(self) -> Vec<&'static str> {
        COLLECTIONS
            .iter()
            .filter(|(_, _, public)| self == Role::Planner || *public)
            .map(|(l, _, _)| *l)
            .collect()
    }

    /// The layers this role must not see.
    pub fn private(self) -> Vec<&'static str> {
        COLLECTIONS
            .iter()
            .filter(|(_, _, public)| self == Role::Viewer && !*public)
            .map(|(l, _, _)| *l)
            .collect()
    }
}

/// A tool the test needs from the machine; fails with what to install.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: this test needs Debian's {package} \
         (`apt-get install {package}`, or `make test`, which installs it when run as root)"
    );
}

pub struct Deployment {
    pub addr: String,
    /// The test's own directory (removed when the deployment is dropped).
    pub dir: PathBuf,
    /// The command line's output for the same inputs.
    pub cli: PathBuf,
    server: common::Server,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.server.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn demo(layer: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/demo/{layer}.geojson"))
}

/// The first position of a GeoJSON geometry.
fn first_position(g: &Value) -> (f64, f64) {
    let mut c = &g["coordinates"];
    while c[0].is_array() {
        c = &c[0];
    }
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

/// The demo layer, or the part of it whose features start inside `window`
/// (lon/lat min, max); barriers are kept whole, as lines cross windows.
fn input_layer(layer: &str, window: Option<[f64; 4]>) -> Vec<u8> {
    let text = std::fs::read(demo(layer))
        .unwrap_or_else(|e| panic!("data/demo/{layer}.geojson: {e} (part of the repository)"));
    let Some(w) = window.filter(|_| layer != "barriers") else {
        return text;
    };
    let mut v: Value = serde_json::from_slice(&text).unwrap();
    v["features"].as_array_mut().unwrap().retain(|f| {
        let (x, y) = first_position(&f["geometry"]);
        w[0] <= x && x <= w[2] && w[1] <= y && y <= w[3]
    });
    serde_json::to_vec(&v).unwrap()
}

/// Runs `wangge ARGS`, failing the test with its output when it fails.
fn wangge(args: &[&str]) {
    let out = Command::new(common::binary()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "wangge {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command line's output: inputs normalised by `convert` (as an upload is),
/// then partition, coverage and propose on them.
fn run_cli(inputs: &Path, cli: &Path, rules: &Path) {
    std::fs::create_dir_all(cli).unwrap();
    let f = |name: &str| cli.join(name).to_str().unwrap().to_string();
    for layer in INPUTS {
        let input = inputs.join(format!("{layer}.geojson"));
        let input = input.to_str().unwrap();
        wangge(&[
            "convert",
            "--layer",
            layer,
            "--in",
            input,
            "--out",
            &f(&format!("{layer}.geojson")),
        ]);
    }
    let layer = |l: &str| f(&format!("{l}.geojson"));
    wangge(&[
        "partition",
        "--areas",
        &layer("areas"),
        "--households",
        &layer("households"),
        "--barriers",
        &layer("barriers"),
        "--rules",
        rules.to_str().unwrap(),
        "--out",
        &layer("grids"),
    ]);
    wangge(&[
        "coverage",
        "--cameras",
        &layer("cameras"),
        "--households",
        &layer("households"),
        "--areas",
        &layer("areas"),
        "--buildings",
        &layer("buildings"),
        "--sites",
        &layer("sites"),
        "--out",
        &f("coverage"),
    ]);
    wangge(&[
        "propose",
        "--cameras",
        &layer("cameras"),
        "--households",
        &layer("households"),
        "--candidates",
        &layer("candidates"),
        "--buildings",
        &layer("buildings"),
        "--count",
        "5",
        "--range-m",
        "60",
        "--out",
        &layer("proposals"),
    ]);
}

impl Deployment {
    /// Starts the server, fills the dataset with the demo district (or the
    /// part of it inside `window`) and writes the command line's output; the
    /// test named `name` owns the directory.
    pub fn start(name: &str, window: Option<[f64; 4]>) -> Deployment {
        let t0 = Instant::now();
        let dir = common::temp_dir(name);
        let inputs = dir.join("input");
        std::fs::create_dir_all(&inputs).unwrap();
        for layer in INPUTS {
            let path = inputs.join(format!("{layer}.geojson"));
            std::fs::write(path, input_layer(layer, window)).unwrap();
        }
        let tokens = dir.join("tokens");
        let text = format!("{PLANNER_TOKEN} planner\n{VIEWER_TOKEN} viewer\n");
        common::write_private(&tokens, &text);
        let data = dir.join("data");
        let server = common::Server::start(
            &[
                OsStr::new("--tokens"),
                tokens.as_os_str(),
                OsStr::new("--data-dir"),
                data.as_os_str(),
            ],
            &[],
        );
        let d = Deployment {
            addr: server.addr.clone(),
            cli: dir.join("cli"),
            dir,
            server,
        };
        let rules = d.dir.join("rules.json");
        std::fs::write(&rules, RULES).unwrap();
        d.fill(&inputs);
        run_cli(&inputs, &d.cli, &rules);
        eprintln!("deployment ready in {:.1} s", t0.elapsed().as_secs_f64());
        d
    }

    /// A request as `role`, with the token as the Bearer.
    pub fn request(
        &self,
        role: Role,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> common::Resp {
        let auth = format!("Bearer {}", role.token());
        common::http_as(&self.addr, method, path, Some(&auth), body).unwrap()
    }

    /// A JSON document as `role`, which must answer 200.
    pub fn get_json(&self, role: Role, path: &str) -> Value {
        let r = self.request(role, "GET", path, None);
        assert_eq!(
            r.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
        );
        r.json()
    }

    /// Uploads the demo layers and runs the three jobs, as the planner.
    fn fill(&self, inputs: &Path) {
        for layer in INPUTS {
            let body = std::fs::read(inputs.join(format!("{layer}.geojson"))).unwrap();
            let path = format!("/api/v1/datasets/{DATASET}/layers/{layer}");
            let r = self.request(Role::Planner, "PUT", &path, Some(&body));
            assert_eq!(
                r.status,
                201,
                "{path}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        let jobs = [
            ("partition", RULES),
            ("coverage", "{}"),
            ("propose", r#"{"count": 5, "range_m": 60}"#),
        ];
        let mut urls = Vec::new();
        for (kind, body) in jobs {
            let path = format!("/api/v1/datasets/{DATASET}/{kind}");
            let r = self.request(Role::Planner, "POST", &path, Some(body.as_bytes()));
            assert_eq!(
                r.status,
                202,
                "{path}: {}",
                String::from_utf8_lossy(&r.body)
            );
            urls.push(format!("/api/v1/jobs/{}", r.json()["id"].as_str().unwrap()));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        let auth = format!("Bearer {PLANNER_TOKEN}");
        for url in urls {
            common::job_succeeds(&self.addr, &url, Some(&auth), deadline);
        }
    }

    /// The command line's FeatureCollection for a layer.
    pub fn cli_output(&self, layer: &str) -> Value {
        let (_, file, _) = COLLECTIONS
            .iter()
            .find(|(l, _, _)| *l == layer)
            .unwrap_or_else(|| panic!("no layer {layer}"));
        let p = self.cli.join(file);
        serde_json::from_slice(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Every feature of a collection over HTTP in one page, as `role`.
    pub fn items(&self, role: Role, layer: &str) -> Vec<Value> {
        let v = self.get_json(
            role,
            &format!("/collections/{DATASET}.{layer}/items?limit=10000"),
        );
        let features = v["features"].as_array().unwrap().clone();
        assert_eq!(v["numberMatched"].as_u64(), Some(features.len() as u64));
        features
    }
}

/// A JSON value with every number as f64 and null members dropped: GDAL
/// writes an integral double as an integer and omits unset fields.
pub fn normalised(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::from(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(normalised).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalised(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
