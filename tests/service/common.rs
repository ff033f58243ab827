//! Shared helpers for the service tests: temporary data directories, small
//! layers, a hand-rolled gzip encoder (stored blocks: no extra dependency), a
//! minimal HTTP/1.1 client and a guard for the real binary serving, and the
//! in-process service with the built-in engines, on either store
//! ([`StoreKind`]: SQLite, or PostgreSQL on the throwaway cluster of [`pg`]).

#![allow(dead_code)]

#[path = "pg.rs"]
pub mod pg;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use wangge::service::{self, engines::Builtin, AppState, Config, Role, Tokens};
use wangge::store::{SqliteStore, Store};

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wangge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The input layers of the demo district in `data/demo`, in upload order.
pub const DEMO_LAYERS: [&str; 7] = [
    "areas",
    "households",
    "cameras",
    "buildings",
    "barriers",
    "sites",
    "candidates",
];

/// `n` × `n` square areas of 0.01° from (118.30, 32.30), codes 3411020010NN.
pub fn areas(n: usize) -> String {
    let mut feats = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (118.30 + i as f64 * 0.01, 32.30 + j as f64 * 0.01);
            feats.push(format!(
                r#"{{"type":"Feature","properties":{{"code":"341102001{:03}","name":"村{}","kind":"rural"}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]]}}}}"#,
                i * n + j,
                i * n + j,
                x + 0.01,
                x + 0.01,
                y + 0.01,
                y + 0.01
            ));
        }
    }
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

/// `n` household points on a diagonal inside the first area.
pub fn households(n: usize) -> String {
    let feats: Vec<String> = (0..n)
        .map(|i| {
            let t = (i as f64 + 0.5) / n as f64 * 0.0099;
            format!(
                r#"{{"type":"Feature","properties":{{"id":"h{i}","households":2,"persons":5}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#,
                118.30 + t,
                32.30 + t
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        feats.join(",")
    )
}

/// A few cameras.
pub fn cameras() -> String {
    r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"id":"34110200001320000001","type":"dome","range_m":40},"geometry":{"type":"Point","coordinates":[118.301,32.301]}},
      {"type":"Feature","properties":{"id":"34110200001320000002","type":"bullet","azimuth_deg":90,"fov_deg":60,"range_m":50,"online":false},"geometry":{"type":"Point","coordinates":[118.305,32.305]}}
    ]}"#
    .to_string()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// gzip (RFC 1952) with stored deflate blocks.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A response from [`http`].
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(addr: &str, method: &str, path: &str, body: Option<&[u8]>) -> std::io::Result<Resp> {
    http_as(addr, method, path, None, body)
}

/// [`http`] with an `Authorization` header (e.g. `Bearer TOKEN`).
pub fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    let auth: Vec<(&str, &str)> = authorization
        .map(|a| ("Authorization", a))
        .into_iter()
        .collect();
    request(addr, method, path, &auth, body)
}

/// [`http`] with extra request headers; the body comes back undecoded (but
/// de-chunked), so a test sees what went over the wire.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.unwrap_or(&[]);
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Type: application/geo+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// A raw HTTP/1.1 response split into status, headers and (de-chunked) body.
fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `wangge` binary under test (`WANGGE_BIN` overrides).
pub fn binary() -> PathBuf {
    std::env::var_os("WANGGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wangge")))
}

/// Writes a file only its owner may read, as a tokens file must be.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Waits until `GET /health` at `addr` answers 200 (a minute at most).
pub fn wait_healthy(addr: &str) {
    let t0 = Instant::now();
    while http(addr, "GET", "/health", None).map(|r| r.status).ok() != Some(200) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls the job at `path` over HTTP (as `authorization`) until it succeeds;
/// fails the test when it fails, is cancelled, or is not done by `deadline`.
pub fn job_succeeds(addr: &str, path: &str, authorization: Option<&str>, deadline: Instant) {
    loop {
        let j = http_as(addr, "GET", path, authorization, None)
            .unwrap()
            .json();
        match j["state"].as_str().unwrap() {
            "succeeded" => return,
            "failed" | "cancelled" => panic!("{path}: {j}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "{path} too slow: {j}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `wangge serve` process on a free loopback port, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// `wangge serve --listen ADDR ARGS` with `envs`, logging warnings only;
    /// returns once it answers `/health`.
    pub fn start<A: AsRef<OsStr>>(args: &[A], envs: &[(&str, &str)]) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = spawn(&["serve", "--listen", &addr], args, envs);
        let server = Server { child, addr };
        wait_healthy(&server.addr);
        server
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Ends the process, if it still runs.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on a real server, which must answer 200.
pub fn get_ok(s: &Server, path: &str) -> Resp {
    let r = http(&s.addr, "GET", path, None).unwrap();
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r
}

/// Uploads `body` as layer `layer` of dataset `d` on a real server.
pub fn put_layer(s: &Server, layer: &str, body: &str) {
    let r = http(
        &s.addr,
        "PUT",
        &format!("/api/v1/datasets/d/layers/{layer}"),
        Some(body.as_bytes()),
    )
    .unwrap();
    assert!(
        r.status == 200 || r.status == 201,
        "{layer}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
}

/// Polls the job document at `path` on `s` until `done` holds for it
/// (`limit_s` seconds at most); answers other than 200 (the database away)
/// are waited out.
pub fn poll_job(
    s: &Server,
    path: &str,
    limit_s: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    let mut last = serde_json::Value::Null;
    loop {
        if let Ok(r) = http(&s.addr, "GET", path, None) {
            if r.status == 200 {
                last = r.json();
                if done(&last) {
                    return last;
                }
            }
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(limit_s),
            "{path} after {limit_s} s: {last}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Restarts the PostgreSQL server under the job at `path` (every
/// connection cut) and polls the job on `s` until it is final: it must
/// succeed, or fail with a reason, within `limit_s` seconds, never hang.
pub fn job_after_database_restart(
    cluster: &pg::PgCluster,
    s: &Server,
    path: &str,
    limit_s: u64,
) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    cluster.restart();
    // `s` answers 503 while the database is away.
    let j = poll_job(s, path, limit_s, |j| {
        matches!(j["state"].as_str(), Some("succeeded" | "failed"))
    });
    eprintln!(
        "after the database restart the job {path} {} ({}) {:?} after the restart began",
        j["state"],
        j["reason"].as_str().unwrap_or("-"),
        t0.elapsed()
    );
    if j["state"] == "failed" {
        assert!(!j["reason"].as_str().unwrap_or("").is_empty(), "{j}");
    }
    j
}

/// A `wangge worker` process (jobs from a PostgreSQL store's queue, no
/// HTTP), killed when dropped.
pub struct Worker {
    child: Child,
}

impl Worker {
    /// `wangge worker --store URL ARGS` with `envs`, logging warnings only.
    pub fn start<A: AsRef<OsStr>>(url: &str, args: &[A], envs: &[(&str, &str)]) -> Worker {
        Worker {
            child: spawn(&["worker", "--store", url], args, envs),
        }
    }

    /// SIGKILL: no chance to release its jobs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wangge COMMAND… ARGS` with `envs`, logging warnings only.
fn spawn<A: AsRef<OsStr>>(command: &[&str], args: &[A], envs: &[(&str, &str)]) -> Child {
    Command::new(binary())
        .args(command)
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn wangge {command:?}: {e}"))
}

/// The path of a URL the service writes (it names itself `localhost:8080`
/// when no public URL is configured), for a request to the test harness.
pub fn local_path(url: &str) -> String {
    url.trim_start_matches("http://localhost:8080").to_string()
}

/// Tokens where `p` is a planner.
pub fn planner_tokens() -> Tokens {
    let mut tokens = Tokens::default();
    tokens.insert("p", Role::Planner);
    tokens
}

/// Tokens where `p` is a planner and `v` a viewer.
pub fn planner_and_viewer_tokens() -> Tokens {
    let mut tokens = planner_tokens();
    tokens.insert("v", Role::Viewer);
    tokens
}

/// The service with the built-in engines over a SQLite store in `dir` (its
/// data directory too), with [`planner_tokens`]; `config` sets the rest.
pub fn planner_service(dir: &Path, config: Config) -> (web::Data<AppState>, Arc<dyn Store>) {
    service_over(
        dir,
        Config {
            tokens: planner_tokens(),
            ..config
        },
    )
}

/// Which store a test runs the service over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite in the test's directory.
    Sqlite,
    /// A fresh database on this process's throwaway PostgreSQL cluster.
    Postgres,
}

impl StoreKind {
    /// The store for a test: SQLite in `dir`, or a fresh PostgreSQL database
    /// named after `dir`'s last component.
    pub fn open(self, dir: &Path) -> Arc<dyn Store> {
        match self {
            StoreKind::Sqlite => Arc::new(SqliteStore::open(dir).unwrap()),
            StoreKind::Postgres => {
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                let url = pg::PgCluster::shared().fresh_database(&name);
                Arc::new(wangge::store::postgres::PgStore::open(&url).unwrap())
            }
        }
    }
}

/// Runs each `async fn NAME(kind: StoreKind)` named as two tests,
/// `sqlite::NAME` and `postgres::NAME`: the same test code on both stores.
#[allow(unused_macros)]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::common::StoreKind::Sqlite).await
            })*
        }
        mod postgres {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::common::StoreKind::Postgres).await
            })*
        }
    };
}

/// The service with the built-in engines over a SQLite store in `dir` (its
/// data directory too), configured by `config`.
pub fn service_over(dir: &Path, config: Config) -> (web::Data<AppState>, Arc<dyn Store>) {
    service_on(StoreKind::Sqlite, dir, config)
}

/// [`service_over`] on either store (`dir` is still the data directory).
pub fn service_on(
    kind: StoreKind,
    dir: &Path,
    config: Config,
) -> (web::Data<AppState>, Arc<dyn Store>) {
    let store = kind.open(dir);
    let state = service::state_with(
        Config {
            data_dir: dir.to_path_buf(),
            ..config
        },
        store.clone(),
        Arc::new(Builtin),
    )
    .unwrap();
    (state, store)
}

/// The test harness's service over the state `$state`.
#[allow(unused_macros)]
macro_rules! app {
    ($state:expr) => {
        actix_web::test::init_service(wangge::service::app($state.clone())).await
    };
}

/// Calls the test harness's service: (status, headers, body).
#[allow(unused_macros)]
macro_rules! call {
    ($app:expr, $req:expr $(,)?) => {{
        let res = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::test::read_body(res).await.to_vec();
        (status, headers, body)
    }};
}

/// A body as JSON, failing the test with the body when it is not.
pub fn json_of(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b)))
}

/// A GeoJSON upload to the test harness.
pub fn put(path: &str, body: impl Into<Vec<u8>>) -> actix_web::test::TestRequest {
    actix_web::test::TestRequest::put()
        .uri(path)
        .insert_header(("content-type", "application/geo+json"))
        .set_payload(body.into())
}

/// Polls the job at `$url` (as the service wrote it) through the test
/// harness's `$app` with the `Authorization` `$auth` until it succeeds or
/// fails, within `$secs` seconds; evaluates to the job's document.
#[allow(unused_macros)]
macro_rules! finished_job {
    ($app:expr, $url:expr, $auth:expr, $secs:expr) => {{
        let path = $crate::common::local_path($url);
        let t0 = std::time::Instant::now();
        loop {
            let req = actix_web::test::TestRequest::get()
                .uri(&path)
                .insert_header(("authorization", $auth))
                .to_request();
            let res = actix_web::test::call_service(&$app, req).await;
            let body = actix_web::test::read_body(res).await;
            let j: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if j["state"] == "succeeded" || j["state"] == "failed" {
                break j;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs($secs),
                "job stuck: {j}"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use {app, call, finished_job, on_both_stores};
