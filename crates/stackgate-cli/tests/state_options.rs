//! The state backend's operator options on a real `stackgate serve`: `--keep-versions`,
//! `--max-state-size`, `--secrets-key-file`, and `stackgate secrets rotate-master-key`.

mod common;

use std::time::Duration;

use common::{fresh, init, run, Server};
use serde_json::{json, Value};

fn deployment(resources: usize) -> Value {
    let stack_urn = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev";
    let mut list = vec![json!({"urn": stack_urn, "type": "pulumi:pulumi:Stack"})];
    for i in 0..resources {
        list.push(
            json!({"urn": format!("urn:pulumi:dev::proj::my:index:T::t{i}"),
                         "type": "my:index:T", "parent": stack_urn}),
        );
    }
    json!({"version": 3, "deployment": {"manifest": {"time": "t", "magic": "", "version": ""},
                                         "resources": list}})
}

#[test]
fn keep_versions_prunes_old_deployments_and_max_state_size_bounds_a_body() {
    let (_dir, _db, alice, server) =
        fresh("opts", &["--keep-versions", "2", "--max-state-size", "1"]);
    server.create_stack(&alice, "proj", "dev");
    for n in 1..=3 {
        let (st, body) = server.post("/api/stacks/acme/proj/dev/import", &alice, &deployment(n));
        assert_eq!(st, 200, "import {n}: {body}");
    }
    let (st, body) = server.get("/api/stacks/acme/proj/dev/export/1", &alice);
    assert_eq!(st, 404, "version 1 was pruned: {body}");
    for (version, resources) in [(2, 3), (3, 4)] {
        let (st, body) = server.get(
            &format!("/api/stacks/acme/proj/dev/export/{version}"),
            &alice,
        );
        assert_eq!(st, 200, "{body}");
        let n = body["deployment"]["resources"].as_array().map(Vec::len);
        assert_eq!(n, Some(resources), "version {version}");
    }
    let (st, history) = server.get("/api/stacks/acme/proj/dev/updates", &alice);
    assert_eq!(st, 200, "{history}");
    assert_eq!(
        history["updates"].as_array().map(Vec::len),
        Some(3),
        "the history keeps every update: {history}"
    );
    // 1 MiB: a state of ~2 MiB is refused with 413, and nothing changes.
    let (st, body) = server.post(
        "/api/stacks/acme/proj/dev/import",
        &alice,
        &deployment(20_000),
    );
    assert_eq!(st, 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("--max-state-size"),
        "{body}"
    );
    let (_, stack) = server.get("/api/stacks/acme/proj/dev", &alice);
    assert_eq!(stack["version"], 3, "{stack}");
}

#[test]
fn rotating_the_master_key_keeps_every_secret_and_the_old_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("keys.db").display());
    let old_key = dir.path().join("old.key");
    let new_key = dir.path().join("new.key");
    // The key of the old server: 32 bytes, base64.
    std::fs::write(&old_key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").expect("key");
    let old = old_key.to_str().expect("utf-8");
    let new = new_key.to_str().expect("utf-8");
    let alice = init(&db);
    let server = Server::start(&db, &["--secrets-key-file", old]);
    server.wait_ready(Duration::from_secs(30));
    server.create_stack(&alice, "proj", "dev");
    // "hunter2"
    let plain = json!({"plaintext": "aHVudGVyMg=="});
    let (st, sealed) = server.post("/api/stacks/acme/proj/dev/encrypt", &alice, &plain);
    assert_eq!(st, 200, "{sealed}");
    drop(server);

    let (code, out) = run(&[
        "secrets",
        "rotate-master-key",
        "--new-key-file",
        new,
        "--secrets-key-file",
        old,
        "--database",
        &db,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 stack keys re-wrapped"), "{out}");
    assert!(
        !out.contains("AAECAwQF"),
        "no key material in the output: {out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&new_key)
            .expect("new key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let server = Server::start(&db, &["--secrets-key-file", new]);
    server.wait_ready(Duration::from_secs(30));
    let cipher = json!({"ciphertext": sealed["ciphertext"]});
    let (st, body) = server.post("/api/stacks/acme/proj/dev/decrypt", &alice, &cipher);
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["plaintext"], "aHVudGVyMg==");
    let (st, log) = server.get(
        "/api/orgs/acme/auditlogs/v2?eventFilter=secrets-master-key-rotated",
        &alice,
    );
    assert_eq!(st, 200, "{log}");
    assert_eq!(
        log["auditLogEvents"].as_array().map(Vec::len),
        Some(1),
        "the rotation is in the org's log: {log}"
    );
    drop(server);

    // The old key no longer opens the stack's key: 503, naming the problem.
    let server = Server::start(&db, &["--secrets-key-file", old]);
    server.wait_ready(Duration::from_secs(30));
    let (st, body) = server.post("/api/stacks/acme/proj/dev/decrypt", &alice, &cipher);
    assert_eq!(st, 503, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("master key"),
        "{body}"
    );
}
