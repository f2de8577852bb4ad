//! Helpers for tests that run real `stackgate` processes on one PostgreSQL database:
//! a throw-away schema per test (the PostgreSQL crate's `TestSchema`), `serve` processes
//! on ephemeral ports that are ready when `/readyz` says so (never a fixed sleep), and a
//! tiny blocking HTTP/1.1 client with JSON bodies.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

pub mod pulumi;

#[allow(unused_imports, reason = "only the PostgreSQL tests use it")]
pub use stackgate_store_testkit::pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_stackgate");

/// Runs a one-shot command; returns (exit code, stdout).
pub fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run stackgate");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `stackgate init` on `db`: returns alice's token (org `acme`).
pub fn init(db: &str) -> String {
    let (code, out) = run(&[
        "init",
        "--org",
        "acme",
        "--admin",
        "alice",
        "--database",
        db,
    ]);
    assert_eq!(code, 0, "init: {out}");
    token_in(&out)
}

/// `stackgate user create LOGIN` on `db`: returns the user's token.
pub fn create_user(db: &str, login: &str) -> String {
    let (code, out) = run(&["user", "create", login, "--database", db]);
    assert_eq!(code, 0, "user create: {out}");
    token_in(&out)
}

fn token_in(out: &str) -> String {
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("pul-") && l.len() == 44)
        .unwrap_or_else(|| panic!("no token printed: {out}"))
        .to_string()
}

/// A fresh SQLite installation (org `acme`, admin `alice`) in a temporary directory, and a
/// ready server on it started with `extra` arguments: (directory, database URL, alice's
/// token, server). The directory lives as long as the returned `TempDir`.
pub fn fresh(name: &str, extra: &[&str]) -> (tempfile::TempDir, String, String, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!(
        "sqlite://{}",
        dir.path().join(format!("{name}.db")).display()
    );
    let alice = init(&db);
    let server = Server::start(&db, extra);
    server.wait_ready(Duration::from_secs(30));
    (dir, db, alice, server)
}

/// A `serve` process on an ephemeral port, killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    /// Every log line so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `serve --database db` plus `extra` arguments and waits until it listens.
    /// Call [`Server::wait_ready`] before using it.
    pub fn start(db: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
            .args(extra)
            .env("STACKGATE_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let addr = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => panic!(
                    "serve exited before listening: {:?}",
                    log.lock().expect("log")
                ),
            };
            log.lock().expect("log").push(line.clone());
            if let Some(rest) = line.split("address=").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            // `--log-format json`: {"fields":{"address":"127.0.0.1:1234",...}}
            if let Some(rest) = line.split("\"address\":\"").nth(1) {
                break rest.split('"').next().unwrap_or_default().to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        Server { child, addr, log }
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Creates the stack `acme/{project}/{stack}` as `token` (must succeed).
    pub fn create_stack(&self, token: &str, project: &str, stack: &str) {
        let body = serde_json::json!({ "stackName": stack });
        let (st, resp) = self.post(&format!("/api/stacks/acme/{project}"), token, &body);
        assert_eq!(st, 200, "create stack {project}/{stack}: {resp}");
    }

    /// Polls `/readyz` until it answers 200.
    pub fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.call("GET", "/readyz", None, None).0 != 200 {
            assert!(Instant::now() < deadline, "server not ready in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(body))
    }

    pub fn patch(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call("PATCH", path, Some(token), Some(body))
    }

    pub fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("DELETE", path, Some(token), None)
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        http(&self.addr, method, path, token, body)
    }

    /// Whether any log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.contains(needle))
    }
}

/// A minimal HTTP/1.1 request with `Connection: close`; returns (status, JSON body or
/// `Null`). Status 0 when the server cannot be reached.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("token {t}"));
    http_as(addr, method, path, auth.as_deref(), body)
}

/// A GET with extra request headers; returns (status, response head, body).
pub fn get_with_headers(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new(), String::new());
    };
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new(), String::new());
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (status, head.to_string(), body.to_string())
}

/// [`http`] with any `Authorization` value (e.g. `update-token <lease>`).
pub fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, Value::Null);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let payload = body.map(Value::to_string).unwrap_or_default();
    let content = if body.is_some() {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        )
    } else {
        String::new()
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{content}Connection: close\r\n\r\n{payload}"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, Value::Null);
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp);
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, raw) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let text = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(raw)
    } else {
        raw.to_string()
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn dechunk(mut raw: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        raw = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `probe` every 20 ms until it returns true; returns how long that took, or
/// `None` if it did not happen within `within`.
pub fn time_until(within: Duration, mut probe: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if probe() {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
