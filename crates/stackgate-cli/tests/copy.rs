//! `stackgate copy`: an installation built through the API on SQLite is copied to a fresh
//! PostgreSQL schema (when `STACKGATE_TEST_POSTGRES_URL` is set) and to another SQLite
//! file; the copy reports equal counts and verified chains, tokens keep working against
//! the destination, password hashes come along, and a non-empty destination is refused.

mod common;

use std::time::Duration;

use common::pg::TestSchema;
use common::{create_user, init, run, Server};
use serde_json::{json, Value};

#[track_caller]
fn ok(st: u16, body: &Value, what: &str) {
    assert!((200..300).contains(&st), "{what}: {st} {body}");
}

/// A SQLite installation with members, a team with a grant, stacks, live and deleted
/// tokens, audit events, and a password hash. Returns (url, alice's token).
/// The source database, alice's token, the value of a token that was revoked there, and
/// a ciphertext of stack `proj/dev` (whose state holds one resource).
fn source(dir: &std::path::Path) -> (String, String, String, String) {
    let url = format!("sqlite://{}", dir.join("source.db").display());
    let alice = init(&url);
    create_user(&url, "bob");
    let s = Server::start(&url, &[]);
    s.wait_ready(Duration::from_secs(20));
    let calls: Vec<(&str, &str, Value)> = vec![
        (
            "POST",
            "/api/orgs/acme/members/bob",
            json!({"role": "member"}),
        ),
        (
            "POST",
            "/api/orgs/acme/teams/pulumi",
            json!({"name": "devs", "displayName": "Devs", "description": "d"}),
        ),
        (
            "PATCH",
            "/api/orgs/acme/teams/devs",
            json!({"memberAction": "add", "member": "bob"}),
        ),
        (
            "POST",
            "/api/stacks/acme/proj",
            json!({"stackName": "dev", "tags": {"env": "dev"}}),
        ),
        (
            "POST",
            "/api/stacks/acme/proj",
            json!({"stackName": "prod"}),
        ),
        (
            "PATCH",
            "/api/orgs/acme/teams/devs",
            json!({"addStackPermission": {"projectName": "proj", "stackName": "dev", "permission": 102}}),
        ),
        (
            "POST",
            "/api/orgs/acme/tokens",
            json!({"name": "ci", "description": "", "admin": false, "expires": 0}),
        ),
        (
            "POST",
            "/api/orgs/acme/teams/devs/tokens",
            json!({"name": "devs-ci", "description": "", "expires": 0}),
        ),
    ];
    let deployment = json!({"version": 3, "deployment": {
        "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
        "resources": [{"urn": "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev",
                       "type": "pulumi:pulumi:Stack", "custom": false}]}});
    let mut last = Value::Null;
    for (method, path, body) in calls {
        let (st, resp) = s.call(method, path, Some(&alice), Some(&body));
        ok(st, &resp, &format!("{method} {path}"));
        last = resp;
    }
    let (st, resp) = s.post("/api/stacks/acme/proj/dev/import", &alice, &deployment);
    ok(st, &resp, "import a state");
    // "hunter2", base64.
    let (st, resp) = s.post(
        "/api/stacks/acme/proj/dev/encrypt",
        &alice,
        &json!({"plaintext": "aHVudGVyMg=="}),
    );
    ok(st, &resp, "encrypt");
    let ciphertext = resp["ciphertext"].as_str().expect("ciphertext").to_string();
    let team_token_id = last["id"].as_str().expect("id").to_string();
    let revoked = last["tokenValue"].as_str().expect("tokenValue").to_string();
    let (st, resp) = s.delete(
        &format!("/api/orgs/acme/teams/devs/tokens/{team_token_id}"),
        &alice,
    );
    ok(st, &resp, "delete a token");
    drop(s);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open source");
        sqlx::query("UPDATE users SET password_hash = '$argon2id$test' WHERE login = 'bob'")
            .execute(&pool)
            .await
            .expect("set a password hash");
        pool.close().await;
    });
    (url, alice, revoked, ciphertext)
}

/// Copies `from` into the empty `to` and checks the destination.
fn copy_and_check(from: &str, to: &str, alice: &str, revoked: &str, ciphertext: &str) {
    let (code, out) = run(&["copy", "--from", from, "--to", to]);
    assert_eq!(code, 0, "copy: {out}");
    assert!(out.contains("2 users (1 with passwords), 1 orgs, 2 memberships, 1 teams, 2 team members, 2 stacks, 1 team grants, 4 tokens"), "{out}");
    assert!(
        out.contains("ok: audit chain of 'acme' verified on the destination"),
        "{out}"
    );

    assert!(
        out.contains("1 updates") && out.contains("1 checkpoints") && out.contains("1 stack keys"),
        "{out}"
    );
    // The destination runs with the source's master key (the key is not in the database).
    let key = format!("{}.secrets-key", from.trim_start_matches("sqlite://"));
    let s = Server::start(to, &["--secrets-key-file", &key]);
    s.wait_ready(Duration::from_secs(20));
    let (st, body) = s.get("/api/stacks/acme/proj/dev/export", alice);
    ok(st, &body, "export the copied state");
    assert_eq!(
        body["deployment"]["resources"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    let (st, body) = s.post(
        "/api/stacks/acme/proj/dev/decrypt",
        alice,
        &json!({"ciphertext": ciphertext}),
    );
    ok(st, &body, "decrypt a secret of the source");
    assert_eq!(body["plaintext"], "aHVudGVyMg==", "{body}");
    let (st, body) = s.get("/api/user", alice);
    ok(st, &body, "alice's token works on the destination");
    let (st, body) = s.get("/api/user", revoked);
    assert_eq!(
        st, 401,
        "a revoked token stays revoked on the destination: {body}"
    );
    let (st, body) = s.get("/api/orgs/acme/auditlogs/verify", alice);
    ok(st, &body, "verify");
    assert_eq!(body["ok"], json!(true), "{body}");
    let (st, body) = s.get("/api/stacks/acme/proj/dev", alice);
    ok(st, &body, "stack copied");
    let (st, body) = s.get("/api/orgs/acme/teams/devs", alice);
    ok(st, &body, "team copied");
    assert!(
        body.to_string().contains("bob"),
        "team member copied: {body}"
    );

    // A second copy into the now non-empty destination is refused.
    let (code, out) = run(&["copy", "--from", from, "--to", to]);
    assert_ne!(code, 0, "copy into a non-empty database: {out}");
    assert!(out.contains("not empty"), "{out}");
}

#[test]
fn copy_sqlite_to_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (from, alice, revoked, ciphertext) = source(dir.path());
    let to = format!("sqlite://{}", dir.path().join("copy.db").display());
    copy_and_check(&from, &to, &alice, &revoked, &ciphertext);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let hash: Option<String> = runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&to).await.expect("open copy");
        sqlx::query_scalar("SELECT password_hash FROM users WHERE login = 'bob'")
            .fetch_one(&pool)
            .await
            .expect("read")
    });
    assert_eq!(
        hash.as_deref(),
        Some("$argon2id$test"),
        "password hash copied"
    );
}

#[test]
fn copy_sqlite_to_postgres() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestSchema::create("copy_sqlite_to_postgres")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (from, alice, revoked, ciphertext) = source(dir.path());
    copy_and_check(&from, &db.url(), &alice, &revoked, &ciphertext);
    let hash: Option<String> = runtime.block_on(async {
        let pool = db.raw().await;
        let hash = sqlx::query_scalar("SELECT password_hash FROM users WHERE login = 'bob'")
            .fetch_one(&pool)
            .await
            .expect("read");
        pool.close().await;
        hash
    });
    assert_eq!(
        hash.as_deref(),
        Some("$argon2id$test"),
        "password hash copied"
    );
}
