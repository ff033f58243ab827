//! The fixture of the access tests: callers, a small HTTP client, and the
//! server with its datasets, started and filled once for all tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

use crate::common::{self, Resp};
use wangge::service::{self, engines::Builtin, AppState, Config, Tokens};
use wangge::store::{LayerSource, SqliteStore, Store, StoredFeature};

/// The class of every layer name, written out here apart from the service's
/// own table so a change there shows up as a failure here.
pub const PERSONAL: [&str; 2] = ["households", "coverage_households"];
pub const SENSITIVE: [&str; 4] = ["cameras", "buildings", "candidates", "coverage_cameras"];
pub const PUBLIC: [&str; 9] = [
    "areas",
    "barriers",
    "sites",
    "grids",
    "grid_changes",
    "coverage",
    "gaps",
    "coverage_sites",
    "proposals",
];
/// A layer a newer engine might write: stored, but classed by nobody.
pub const UNCLASSED: &str = "household_heatmap";

/// The two datasets the tests compare (others are scratch space for writes).
pub const LANGYA: &str = "langya";
pub const NANQIAO: &str = "nanqiao";

/// The tokens file, as a county office would write it.
const TOKENS_FILE: &str = "\
# county planning office
planner-7Hq2 planner
# public-security bureau: reads aggregates everywhere
viewer-p9Xw viewer
# Langya township: its own dataset only
langya-v3Rt viewer langya
# Nanqiao township planners: their dataset and a scratch one
nanqiao-k8Zm planner nanqiao,nanqiao-tmp   # renewed 2026-11
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cred {
    Anonymous,
    WrongBearer,
    WrongBasic,
    Planner,
    PlannerBasic,
    Viewer,
    ViewerBasic,
    /// Viewer scoped to langya, over Basic.
    LangyaViewer,
    /// Planner scoped to nanqiao (and nanqiao-tmp).
    NanqiaoPlanner,
}

pub const ALL_CREDS: [Cred; 9] = [
    Cred::Anonymous,
    Cred::WrongBearer,
    Cred::WrongBasic,
    Cred::Planner,
    Cred::PlannerBasic,
    Cred::Viewer,
    Cred::ViewerBasic,
    Cred::LangyaViewer,
    Cred::NanqiaoPlanner,
];

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

impl Cred {
    pub fn authorization(self) -> Option<String> {
        match self {
            Cred::Anonymous => None,
            Cred::WrongBearer => Some("Bearer planner-7Hq3".into()),
            Cred::WrongBasic => Some(basic("planner", "viewer-p9Xx")),
            Cred::Planner => Some("Bearer planner-7Hq2".into()),
            Cred::PlannerBasic => Some(basic("qgis", "planner-7Hq2")),
            Cred::Viewer => Some("bearer viewer-p9Xw".into()),
            Cred::ViewerBasic => Some(basic("", "viewer-p9Xw")),
            Cred::LangyaViewer => Some(basic("langya", "langya-v3Rt")),
            Cred::NanqiaoPlanner => Some(basic("nanqiao", "nanqiao-k8Zm")),
        }
    }

    pub fn authenticated(self) -> bool {
        !matches!(self, Cred::Anonymous | Cred::WrongBearer | Cred::WrongBasic)
    }

    pub fn planner(self) -> bool {
        matches!(
            self,
            Cred::Planner | Cred::PlannerBasic | Cred::NanqiaoPlanner
        )
    }

    pub fn sees(self, dataset: &str) -> bool {
        match self {
            Cred::LangyaViewer => dataset == LANGYA,
            Cred::NanqiaoPlanner => dataset == NANQIAO || dataset == "nanqiao-tmp",
            other => other.authenticated(),
        }
    }

    /// The policy: planners read everything in their datasets, viewers only
    /// public layers.
    pub fn may_read(self, dataset: &str, layer: &str) -> bool {
        self.sees(dataset) && (self.planner() || PUBLIC.contains(&layer))
    }

    /// The status a read of an existing layer must get.
    pub fn read_status(self, dataset: &str, layer: &str) -> u16 {
        if !self.authenticated() {
            401
        } else if self.may_read(dataset, layer) {
            200
        } else {
            403
        }
    }

    /// The status of a write the caller may not make (`None`: allowed).
    pub fn write_refusal(self, dataset: &str) -> Option<u16> {
        if !self.authenticated() {
            Some(401)
        } else if !self.planner() || !self.sees(dataset) {
            Some(403)
        } else {
            None
        }
    }
}

/// One request to the fixture's server as `cred`.
pub fn send(method: &str, path: &str, cred: Cred, body: Option<&[u8]>) -> Resp {
    let auth = cred.authorization();
    common::http_as(&server().0, method, path, auth.as_deref(), body).unwrap()
}

pub fn get(path: &str, cred: Cred) -> Resp {
    send("GET", path, cred, None)
}

/// Asserts the status, and for a refusal a problem document (a 401 with the
/// challenge naming both schemes); returns the problem's detail.
pub fn expect(r: &Resp, want: u16, what: &str) -> String {
    assert_eq!(
        r.status,
        want,
        "{what}: {}",
        String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
    );
    if want < 400 {
        return String::new();
    }
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    if want == 401 {
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Basic ") && challenge.contains("Bearer"),
            "{what}: WWW-Authenticate {challenge:?}"
        );
    }
    r.json()["detail"].as_str().unwrap().to_string()
}

pub struct Fixture {
    /// Dataset → layer → feature count, as a planner sees them.
    pub layers: BTreeMap<String, BTreeMap<String, u64>>,
    /// (dataset, layer) → the id of its first feature.
    pub first_ids: BTreeMap<(String, String), String>,
    /// Job id → dataset.
    pub jobs: BTreeMap<String, String>,
}

pub fn demo(layer: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/demo/{layer}.geojson"));
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (data/demo is part of the repository)", p.display()))
}

/// The server (started once for all tests of this file) and its state.
pub fn server() -> &'static (String, actix_web::web::Data<AppState>) {
    static SERVER: OnceLock<(String, actix_web::web::Data<AppState>)> = OnceLock::new();
    SERVER.get_or_init(start_server)
}

/// The datasets, filled once (the first test to ask waits for it).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(fill)
}

fn start_server() -> (String, actix_web::web::Data<AppState>) {
    let dir = common::temp_dir("access");
    let tokens_file = dir.join("tokens");
    common::write_private(&tokens_file, TOKENS_FILE);
    let tokens = Tokens::load(Some(&tokens_file), None).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("data")).unwrap());
    let state = service::state_with(
        Config {
            tokens,
            data_dir: dir.join("data"),
            ..Config::default()
        },
        store,
        Arc::new(Builtin),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", common::free_port());
    let (st, a) = (state.clone(), addr.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || service::app(st.clone()))
                .workers(2)
                .bind(&a)
                .unwrap()
                .run()
                .await
        })
    });
    common::wait_healthy(&addr);
    (addr, state)
}

/// Starts a job and waits for it to succeed; returns its id.
fn run_job(dataset: &str, kind: &str, query: &str, body: &[u8], cred: Cred) -> String {
    let r = send(
        "POST",
        &format!("/api/v1/datasets/{dataset}/{kind}{query}"),
        cred,
        Some(body),
    );
    expect(&r, 202, &format!("{kind} on {dataset}"));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    let auth = cred.authorization();
    let path = format!("/api/v1/jobs/{id}");
    common::job_succeeds(&server().0, &path, auth.as_deref(), deadline);
    id
}

/// Langya: the demo district through every engine, by the county planner;
/// nanqiao: a small dataset written by its own scoped planner over Basic.
fn fill() -> Fixture {
    let p = Cred::Planner;
    for layer in common::DEMO_LAYERS {
        let r = send(
            "PUT",
            &format!("/api/v1/datasets/{LANGYA}/layers/{layer}"),
            p,
            Some(&demo(layer)),
        );
        expect(&r, 201, layer);
    }
    let mut jobs = BTreeMap::new();
    jobs.insert(run_job(LANGYA, "partition", "", b"", p), LANGYA.to_string());
    // Adopt the grids, then a census update under tighter rules: grid_changes.
    let grids = get(&format!("/api/v1/datasets/{LANGYA}/layers/grids"), p);
    expect(&grids, 200, "grids");
    let r = send(
        "PUT",
        &format!("/api/v1/datasets/{LANGYA}/layers/grids"),
        p,
        Some(&grids.body),
    );
    expect(&r, 200, "adopted grids");
    let rules = br#"{"min_households": 200, "max_households": 350}"#;
    jobs.insert(
        run_job(LANGYA, "partition", "?update=true", rules, p),
        LANGYA.to_string(),
    );
    jobs.insert(
        run_job(LANGYA, "coverage", "", b"{}", p),
        LANGYA.to_string(),
    );
    let propose = br#"{"count": 5, "range_m": 60}"#;
    jobs.insert(
        run_job(LANGYA, "propose", "", propose, p),
        LANGYA.to_string(),
    );

    // A layer kind nobody has classed yet, as a newer engine would store it.
    let features: Vec<StoredFeature> = (0..3)
        .map(|i| {
            let (x, y) = (118.30 + 0.001 * i as f64, 32.30);
            StoredFeature {
                id: format!("cell-{i}").into(),
                bbox: [x, y, x, y],
                json: json!({"type": "Feature", "id": format!("cell-{i}"),
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "properties": {"households": 7 + i}})
                .to_string()
                .into(),
            }
        })
        .collect();
    server()
        .1
        .store
        .put_layer(
            LANGYA,
            UNCLASSED,
            UNCLASSED,
            LayerSource::Job,
            &json!({}),
            &features,
        )
        .unwrap();

    let n = Cred::NanqiaoPlanner;
    for (layer, body) in [
        ("areas", common::areas(2)),
        ("households", common::households(80)),
    ] {
        let r = send(
            "PUT",
            &format!("/api/v1/datasets/{NANQIAO}/layers/{layer}"),
            n,
            Some(body.as_bytes()),
        );
        expect(&r, 201, layer);
    }
    jobs.insert(
        run_job(NANQIAO, "partition", "", b"", n),
        NANQIAO.to_string(),
    );

    let mut layers: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut first_ids = BTreeMap::new();
    let cols = get("/collections", p).json();
    for c in cols["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let (d, l) = id.split_once('.').unwrap();
        let page = get(&format!("/collections/{id}/items?limit=1"), p).json();
        let count = page["numberMatched"].as_u64().unwrap();
        let fid = &page["features"][0]["id"];
        let fid = fid
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| fid.to_string());
        assert!(count > 0 && fid != "null", "{id} is empty");
        layers.entry(d.into()).or_default().insert(l.into(), count);
        first_ids.insert((d.to_string(), l.to_string()), fid);
    }
    Fixture {
        layers,
        first_ids,
        jobs,
    }
}
