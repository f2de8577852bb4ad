//! A replica survives a PostgreSQL restart without being restarted itself: while the
//! database is down `/readyz` answers 503 (and `/healthz`, liveness, stays 200); once it is back, requests recover, and the
//! change listener has reconnected (a revocation through one replica again reaches the
//! other within a second).
//!
//! This stops the PostgreSQL server that other tests share, so it runs only when
//! `STACKGATE_TEST_PG_RESTART=1` (and `STACKGATE_TEST_POSTGRES_URL`) are set; `.ci/run`
//! runs it on its own after the parallel suites. The server is started again when the
//! test ends, also when it fails ([`StartAgain`]).

mod common;

use std::process::Command;
use std::time::Duration;

use common::pg::TestSchema;
use common::{init, time_until, Server};
use serde_json::json;

const SWITCH: &str = "STACKGATE_TEST_PG_RESTART";

fn pg_ctl(action: &str) -> bool {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .expect("a cluster under /etc/postgresql");
    let mut cmd = Command::new("pg_ctlcluster");
    cmd.args(["--skip-systemctl-redirect", &version, "main", action]);
    if action == "stop" {
        cmd.args(["-m", "fast"]);
    }
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

fn pg_ready() -> bool {
    Command::new("pg_isready")
        .args(["-h", "127.0.0.1", "-q"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Starts PostgreSQL again when dropped, whatever happened in between.
struct StartAgain;

impl Drop for StartAgain {
    fn drop(&mut self) {
        if !pg_ready() && !pg_ctl("start") {
            eprintln!("could not start PostgreSQL again: start it by hand");
        }
        let _ = time_until(Duration::from_secs(30), pg_ready);
    }
}

#[test]
fn a_replica_survives_a_postgresql_restart() {
    if std::env::var(SWITCH).as_deref() != Ok("1") {
        println!("skipped a_replica_survives_a_postgresql_restart: {SWITCH} is not 1");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestSchema::create(
        "a_replica_survives_a_postgresql_restart",
    )) else {
        return;
    };
    drop(runtime);
    let url = db.url();
    let alice = init(&url);
    let opts = ["--db-acquire-timeout", "2"];
    let a = Server::start(&url, &opts);
    let b = Server::start(&url, &opts);
    for s in [&a, &b] {
        s.wait_ready(Duration::from_secs(30));
        let (st, body) = s.get("/api/user", &alice);
        assert_eq!(st, 200, "{body}");
    }

    {
        let _guard = StartAgain;
        assert!(pg_ctl("stop"), "stop PostgreSQL");
        for s in [&a, &b] {
            let took = time_until(Duration::from_secs(15), || {
                s.call("GET", "/readyz", None, None).0 == 503
            })
            .expect("/readyz reports not-ready while the database is down");
            assert_eq!(
                s.call("GET", "/healthz", None, None).0,
                200,
                "liveness does not depend on the database"
            );
            println!("/readyz answered 503 after {took:?}");
        }
        assert!(pg_ctl("start"), "start PostgreSQL");
    }

    // Requests recover without restarting the replicas: reads and writes.
    for s in [&a, &b] {
        let took = time_until(Duration::from_secs(30), || {
            s.call("GET", "/readyz", None, None).0 == 200 && s.get("/api/user", &alice).0 == 200
        })
        .expect("requests recover after PostgreSQL is back");
        println!("requests recovered {took:?} after PostgreSQL was started");
    }
    let (st, body) = a.post(
        "/api/orgs/acme/tokens",
        &alice,
        &json!({"name": "after-restart", "description": "", "admin": false, "expires": 0}),
    );
    assert_eq!(st, 200, "a write after the restart: {body}");
    let token = body["tokenValue"].as_str().expect("value").to_string();
    let id = body["id"].as_str().expect("id").to_string();

    // The change listeners reconnected: revocation through A reaches B within a second.
    time_until(Duration::from_secs(10), || {
        b.logged("change listener reconnected")
    })
    .expect("B's change listener logs its reconnection");
    for _ in 0..2 {
        let (st, body) = b.get("/api/orgs/acme", &token);
        assert_eq!(st, 200, "{body}");
    }
    let (st, body) = a.delete(&format!("/api/orgs/acme/tokens/{id}"), &alice);
    assert!((200..300).contains(&st), "{body}");
    time_until(Duration::from_secs(1), || {
        b.get("/api/orgs/acme", &token).0 == 401
    })
    .expect("revocation reaches B within 1 s after the restart");
}
