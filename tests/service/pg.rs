//! A throwaway PostgreSQL + PostGIS cluster for the tests and benches: Debian's
//! server binaries (`/usr/lib/postgresql/<version>/bin`, not on PATH) run
//! `initdb` and `postgres` as a non-root user (the `postgres` user when the
//! tests run as root) in a temporary directory, on a free loopback port.
//!
//! One cluster per test process, started on first use; each test gets a fresh
//! database of its own, copied from a template that already has PostGIS. The
//! server runs under a small shell that holds a pipe from this process: when
//! the pipe closes (the cluster is dropped, the process exits, panics or is
//! killed), the shell stops the server and removes the directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What to install when the server is missing.
const INSTALL: &str =
    "apt-get install -y postgresql postgis (make test runs .ci/provision, which does)";

/// A running cluster.
pub struct PgCluster {
    pub port: u16,
    pub bin: PathBuf,
    pub dir: PathBuf,
    /// The shell guarding the server, and the pipe it waits on.
    guard: Mutex<Option<(Child, ChildStdin)>>,
    databases: AtomicU32,
    /// The server's command-line settings (port, socket directory, …), for
    /// [`PgCluster::restart`].
    settings: Vec<String>,
}

/// Debian's newest server binaries and the PostGIS extension for them.
fn server_binaries() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    let Some((version, bin)) = found.pop() else {
        panic!("no PostgreSQL server under /usr/lib/postgresql/*/bin: {INSTALL}");
    };
    let control = format!("/usr/share/postgresql/{version}/extension/postgis.control");
    assert!(
        Path::new(&control).exists(),
        "PostgreSQL {version} has no PostGIS ({control} is missing): {INSTALL}"
    );
    bin
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// `program args` as the server's user: `postgres` when we are root.
fn as_server_user(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--reset-env",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A command as one line of shell, each word quoted.
fn shell_line(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(mut c: Command, what: &str) -> String {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes directories earlier test processes left when they were killed
/// before their guard could (their pid is gone).
fn sweep_leftovers(tmp: &Path) {
    for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("wangge-pg-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl PgCluster {
    /// The cluster of this process, started on first use.
    pub fn shared() -> &'static PgCluster {
        static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
        CLUSTER.get_or_init(|| PgCluster::start(false))
    }

    /// Starts a cluster. `durable` keeps PostgreSQL's default fsync settings
    /// (for benches); otherwise commits are not flushed, which a throwaway
    /// test cluster does not need.
    pub fn start(durable: bool) -> PgCluster {
        static N: AtomicU32 = AtomicU32::new(0);
        let bin = server_binaries();
        let tmp = std::env::temp_dir();
        sweep_leftovers(&tmp);
        let dir = tmp.join(format!(
            "wangge-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&dir);
                    c
                },
                "chown",
            );
        }
        let data = dir.join("data");
        let mut initdb = as_server_user(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(initdb, "initdb");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut settings = vec![
            "-c listen_addresses=127.0.0.1".to_string(),
            format!("-p {port}"),
            format!("-k {}", dir.display()),
            "-c max_connections=200".into(),
            "-c shared_buffers=128MB".into(),
        ];
        if !durable {
            settings.extend([
                "-c fsync=off".into(),
                "-c synchronous_commit=off".into(),
                "-c full_page_writes=off".into(),
            ]);
        }
        let settings_for_restart = settings.clone();
        let server = {
            let mut line = vec![shell_line(&as_server_user(&bin.join("postgres")))];
            line.push(format!("-D '{}'", data.display()));
            line.extend(settings);
            line.join(" ")
        };
        // The guard: start the server, wait for our end of the pipe to close,
        // then stop the server (fast shutdown; after a `restart` the server
        // is pg_ctl's, stopped through pg_ctl) and remove the directory.
        let pg_ctl = shell_line(&as_server_user(&bin.join("pg_ctl")));
        let script = format!(
            "{server} >'{dir}/server.log' 2>&1 & pid=$!\n\
             cat >/dev/null\n\
             kill -INT $pid 2>/dev/null; wait $pid\n\
             {pg_ctl} -D '{data}' stop -m fast >/dev/null 2>&1; rm -rf '{dir}'\n",
            dir = dir.display(),
            data = data.display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sh for the PostgreSQL guard");
        let stdin = child.stdin.take().unwrap();
        let cluster = PgCluster {
            port,
            bin,
            dir,
            guard: Mutex::new(Some((child, stdin))),
            databases: AtomicU32::new(0),
            settings: settings_for_restart,
        };
        cluster.wait_ready();
        cluster.psql("postgres", "CREATE DATABASE wangge_template");
        cluster.psql("wangge_template", "CREATE EXTENSION postgis");
        cluster
    }

    fn wait_ready(&self) {
        let t0 = Instant::now();
        loop {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!("PostgreSQL did not start in a minute; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs SQL through `psql` as the superuser; returns its unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let mut c = Command::new(self.bin.join("psql"));
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-c", sql]);
        run(c, &format!("psql {sql:?}"))
    }

    /// The URL of a database.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database with PostGIS; its URL.
    pub fn fresh_database(&self, name: &str) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let db: String = format!("{name}_{n}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{db}\" TEMPLATE wangge_template"),
        );
        self.url(&db)
    }

    /// Restarts the server on the same port and data (`pg_ctl restart`, fast
    /// shutdown: every connection is cut), as an operator or a crash-restart
    /// would; returns once it accepts connections again.
    pub fn restart(&self) {
        let mut c = as_server_user(&self.bin.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["restart", "-m", "fast", "-w", "-l"])
            // A log of its own: the first one belongs to the guard's shell.
            .arg(self.dir.join("server-restarted.log"))
            .arg("-o")
            .arg(self.settings.join(" "));
        run(c, "pg_ctl restart");
        self.wait_ready();
    }

    /// Stops the server and removes its directory (also what happens when
    /// the process ends).
    pub fn stop(&self) {
        let guard = self.guard.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((mut child, stdin)) = guard {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
