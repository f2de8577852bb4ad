//! `stackgate backup`: a consistent copy of a SQLite database taken while `serve` runs and
//! writes, with the secrets key beside it; a server started on the copy has everything
//! the backup saw (tokens, stack state, secrets, verifying audit chains).

mod common;

use std::time::Duration;

use common::{fresh, run, Server};
use serde_json::json;

#[test]
fn a_backup_taken_while_serving_restores_to_a_working_installation() {
    let (dir, db, alice, server) = fresh("live", &[]);
    server.create_stack(&alice, "proj", "dev");
    let state = json!({"version": 3, "deployment": {
        "manifest": {"time": "t", "magic": "", "version": ""},
        "resources": [{"urn": "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev",
                       "type": "pulumi:pulumi:Stack"}]}});
    let (st, body) = server.post("/api/stacks/acme/proj/dev/import", &alice, &state);
    assert_eq!(st, 200, "{body}");
    let (st, sealed) = server.post(
        "/api/stacks/acme/proj/dev/encrypt",
        &alice,
        &json!({"plaintext": "aHVudGVyMg=="}),
    );
    assert_eq!(st, 200, "{sealed}");

    // Writes keep coming while the backup is taken.
    let addr = server.addr.clone();
    let writer_token = alice.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            let body = json!({"name": format!("t{i}"), "value": "x"});
            common::http(
                &addr,
                "POST",
                "/api/stacks/acme/proj/dev/tags",
                Some(&writer_token),
                Some(&body),
            );
        }
    });
    let copy = dir.path().join("copy.db");
    let copy_str = copy.to_str().expect("utf-8");
    let (code, out) = run(&["backup", "--to", copy_str, "--database", &db]);
    writer.join().expect("writer");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 stacks") && out.contains("1 checkpoints"),
        "{out}"
    );
    assert!(
        out.contains("ok: audit chain of 'acme' verified in the backup"),
        "{out}"
    );
    assert!(!out.contains("aHVudGVy"), "{out}");
    let key_copy = dir.path().join("copy.db.secrets-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_copy)
            .expect("key copy")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second backup to the same file is refused, the first one untouched.
    let (code, out) = run(&["backup", "--to", copy_str, "--database", &db]);
    assert_ne!(code, 0, "{out}");
    drop(server);

    // Restored: the copy's own key file sits where a server on it looks for it.
    let restored = format!("sqlite://{copy_str}");
    let server = Server::start(&restored, &[]);
    server.wait_ready(Duration::from_secs(30));
    let (st, body) = server.get("/api/user", &alice);
    assert_eq!(st, 200, "{body}");
    let (st, body) = server.get("/api/stacks/acme/proj/dev/export", &alice);
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["deployment"]["resources"].as_array().map(Vec::len),
        Some(1)
    );
    let (st, body) = server.post(
        "/api/stacks/acme/proj/dev/decrypt",
        &alice,
        &json!({"ciphertext": sealed["ciphertext"]}),
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["plaintext"], "aHVudGVyMg==");
    let (st, body) = server.get("/api/orgs/acme/auditlogs/verify", &alice);
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");

    // PostgreSQL is not copied this way.
    let (code, out) = run(&[
        "backup",
        "--to",
        "/tmp/x.db",
        "--database",
        "postgres://u@127.0.0.1:1/db",
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("pg_dump"), "{out}");
}
