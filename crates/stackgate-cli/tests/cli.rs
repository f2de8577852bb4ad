//! The real `stackgate` binary: operator commands print a usable token, `serve` starts on
//! an ephemeral port (readiness by polling, never a fixed sleep), the CLI works while the
//! server runs on the same database, SIGTERM shuts it down, and `audit verify` finds an
//! edit made directly in the database.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_stackgate");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run stackgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or_default().trim()
}

fn is_token(v: &str) -> bool {
    v.len() == 44
        && v.starts_with("pul-")
        && v[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A `serve` process on an ephemeral port, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &str) -> Server {
    serve_with(db, &[])
}

fn serve_with(db: &str, extra: &[&str]) -> Server {
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
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .expect("read log");
        if let Some(rest) = line.split("address=").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let server = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&server.addr, "/readyz", None).0 != 200 {
        assert!(Instant::now() < deadline, "server not ready in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// A minimal HTTP/1.1 GET; returns (status, body).
fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let auth = token
        .map(|t| format!("Authorization: token {t}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("cli.db").display())
}

#[test]
fn operator_commands_print_a_working_token_while_serve_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url(dir.path());
    let server = serve(&db);

    let (code, out) = run(&[
        "init",
        "--org",
        "acme",
        "--admin",
        "alice",
        "--database",
        &db,
    ]);
    assert_eq!(code, 0, "{out}");
    let alice = last_line(&out).to_string();
    assert!(is_token(&alice), "last line is the token: {out}");

    let (status, body) = get(&server.addr, "/api/user", Some(&alice));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"githubLogin\":\"alice\""), "{body}");
    assert!(body.contains("\"name\":\"acme\""), "{body}");

    // A second org for the same admin prints a fresh token.
    let (code, out) = run(&[
        "init",
        "--org",
        "globex",
        "--admin",
        "alice",
        "--database",
        &db,
    ]);
    assert_eq!(code, 0);
    let second = last_line(&out);
    assert!(is_token(second) && second != alice);

    let (code, out) = run(&[
        "user",
        "create",
        "bob",
        "--email",
        "bob@example.com",
        "--database",
        &db,
    ]);
    assert_eq!(code, 0, "{out}");
    let bob = last_line(&out);
    let (status, body) = get(&server.addr, "/api/user", Some(bob));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"organizations\":[]"), "{body}");

    // A console password set by the operator is recorded in each of the user's orgs,
    // without the password; a new user with a too-short password is not created at all.
    let with_stdin = |args: &[&str], input: &str| {
        use std::io::Write as _;
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run stackgate");
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{input}").expect("write the password");
        }
        child.wait_with_output().expect("wait")
    };
    let out = with_stdin(
        &["user", "set-password", "alice", "--database", &db],
        "correct horse battery",
    );
    assert!(out.status.success(), "{out:?}");
    for org in ["acme", "globex"] {
        let (status, body) = get(
            &server.addr,
            &format!("/api/orgs/{org}/auditlogs/v2"),
            Some(&alice),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"user-password-set\""), "{org}: {body}");
        assert!(
            !body.contains("correct horse"),
            "{org}: the password is in the log"
        );
    }
    let out = with_stdin(
        &[
            "user",
            "create",
            "carol",
            "--password-stdin",
            "--database",
            &db,
        ],
        "short",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least"),
        "{out:?}"
    );
    let (code, out) = run(&["user", "create", "carol", "--database", &db]);
    assert_eq!(
        code, 0,
        "carol was not half-created by the refused attempt: {out}"
    );

    // Creating the same user twice is refused with a clear error and no token.
    let out = Command::new(BIN)
        .args(["user", "create", "bob", "--database", &db])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("pul-"));
}

#[test]
fn sigterm_shuts_the_server_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = serve(&db_url(dir.path()));
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "graceful exit: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_stuck_request_cannot_hold_a_shutdown_past_the_grace_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = serve_with(&db_url(dir.path()), &["--shutdown-grace", "1"]);
    // A client that announces a body and never sends it keeps its request in flight
    // (the sign-in form handler reads the whole body first).
    let mut stuck = TcpStream::connect(&server.addr).expect("connect");
    let head = format!(
        "POST /console/login HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nlogin=",
        server.addr
    );
    stuck.write_all(head.as_bytes()).expect("send head");
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    let sent = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "exit after the grace period: {status}");
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "the stuck request held the shutdown past the 1 s grace"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "in-flight requests get the grace period ({:?})",
        sent.elapsed()
    );
    drop(stuck);
}

#[tokio::test]
async fn audit_verify_reports_an_edited_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url(dir.path());
    let (code, _) = run(&[
        "init",
        "--org",
        "acme",
        "--admin",
        "alice",
        "--database",
        &db,
    ]);
    assert_eq!(code, 0);
    let (code, out) = run(&["audit", "verify", "--org", "acme", "--database", &db]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok:"), "{out}");

    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .expect("connect");
    sqlx::query("UPDATE audit_events SET source_ip = '203.0.113.66' WHERE seq = 1")
        .execute(&mut conn)
        .await
        .expect("tamper");
    let (code, out) = run(&["audit", "verify", "--org", "acme", "--database", &db]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN") && out.contains("#1"), "{out}");
}
