//! What the service benches share: the real `wangge serve` binary started on a
//! loopback port, a minimal HTTP/1.1 client over `TcpStream` (so the load
//! generator adds no framework of its own to the figures), and a repeatable
//! random generator.

#![allow(dead_code)] // each bench uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A whole-number setting from the environment, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary under test: `WANGGE_BIN`, else the one cargo built beside the bench.
pub fn binary() -> PathBuf {
    if let Some(b) = std::env::var_os("WANGGE_BIN") {
        return b.into();
    }
    PathBuf::from(env!("CARGO_BIN_EXE_wangge"))
}

/// A free loopback address.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("local address")
        .port();
    format!("127.0.0.1:{port}")
}

/// A running `wangge serve`; killed (SIGKILL) and reaped when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `wangge serve` on `addr` over `data_dir` with `RUST_LOG=log` and
    /// waits until `/health` answers 200 (one minute at most).
    pub fn start(data_dir: &Path, addr: &str, log: &str, extra: &[&str]) -> Server {
        let child = Command::new(binary())
            .args(["serve", "--listen", addr, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", log)
            .stdout(Stdio::null())
            .stderr(if log == "warn" {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start wangge serve (build it with cargo build --release)");
        let server = Server {
            child,
            addr: addr.to_string(),
        };
        let t0 = Instant::now();
        while !server.healthy() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Whether `/health` answers 200 now.
    pub fn healthy(&self) -> bool {
        matches!(request(&self.addr, "GET", "/health", &[]), Ok((200, _)))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in MB, from /proc.
    pub fn rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one response on a keep-alive connection; returns (status, body).
pub fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
    let mut len = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok((status, body))
}

/// One request on a fresh connection (`Connection: close`); (status, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    read_response(&mut BufReader::new(s))
}

/// Small deterministic generator (xorshift) so runs are repeatable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` household points (1 household, 3 persons each) spread over `[x0, x0+w] ×
/// [y0, y0+h]`, ids `h0…`, as a GeoJSON FeatureCollection.
pub fn households(n: usize, seed: u64, (x0, y0, w, h): (f64, f64, f64, f64)) -> String {
    let mut s = String::with_capacity(n * 110 + 64);
    s.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut rng = Rng(seed);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let x = x0 + rng.next() * w;
        let y = y0 + rng.next() * h;
        s.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"id\":\"h{i}\",\"households\":1,\"persons\":3}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}}}}"
        ));
    }
    s.push_str("]}");
    s
}

/// Percentile `p` (0–1) of sorted microseconds, in milliseconds.
pub fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// The first figure of /proc/loadavg.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// What a load run saw: the latency of each answered request, the requests
/// that failed, and the bytes of the answers.
pub struct Stats {
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub bytes: u64,
}

/// `conns` keep-alive connections, spread over `addrs` in turn, each asking
/// `GET path(rng)` as fast as answers come for `secs` seconds; 200 and 204
/// (an empty tile) count as answers. Returns the stats (latencies sorted) and
/// the elapsed seconds.
pub fn load(
    addrs: &[String],
    conns: usize,
    secs: u64,
    path: fn(&mut Rng) -> String,
) -> (Stats, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addrs[c % addrs.len()].clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut st = Stats {
                    latencies_us: Vec::with_capacity(100_000),
                    errors: 0,
                    bytes: 0,
                };
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1000_0001));
                let stream = TcpStream::connect(&addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::with_capacity(1 << 16, stream);
                while !stop.load(Ordering::Relaxed) {
                    let req = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n", path(&mut rng));
                    let t = Instant::now();
                    if w.write_all(req.as_bytes()).is_err() {
                        st.errors += 1;
                        break;
                    }
                    match read_response(&mut r) {
                        Ok((200 | 204, body)) => {
                            st.latencies_us.push(t.elapsed().as_micros() as u64);
                            st.bytes += body.len() as u64;
                        }
                        _ => st.errors += 1,
                    }
                }
                st
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all = Stats {
        latencies_us: Vec::new(),
        errors: 0,
        bytes: 0,
    };
    for h in handles {
        let s = h.join().unwrap();
        all.latencies_us.extend(s.latencies_us);
        all.errors += s.errors;
        all.bytes += s.bytes;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    (all, elapsed)
}
