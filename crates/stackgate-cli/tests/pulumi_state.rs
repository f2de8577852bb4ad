//! The real Pulumi CLI using stackgate as its state backend, against a real
//! `stackgate serve`: `up`, `preview`, `refresh`, `destroy`, secrets (`config set
//! --secret`, `stack output --show-secrets`), `stack history`, `stack export` / `import`,
//! `cancel`, StackReference, and the permission matrix — on SQLite, and the lifecycle
//! again on PostgreSQL.
//!
//! Runs only when `STACKGATE_TEST_PULUMI_BIN` names the directory of the CLI built by
//! `tools/pulumi-cli/build.sh` (`.ci/run` sets it); each test says when it is skipped. The
//! PostgreSQL test also needs `STACKGATE_TEST_POSTGRES_URL`.

mod common;

use common::pg::TestSchema;
use common::pulumi::{pulumi_bin, Cli, Installation};
use serde_json::{json, Value};

/// A program with a secret config value and a plain and a secret output.
const PROGRAM: &str = "name: web
runtime: yaml
config:
  dbPassword:
    type: string
outputs:
  greeting: hello
  password:
    fn::secret: ${dbPassword}
";

/// A test master key (bytes 0..31), for the PostgreSQL server that has no default key.
const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const SECRET: &str = "correct-horse-battery";

fn version(sg: &Installation, stack: &str) -> i64 {
    let (st, body) = sg.server.get(&format!("/api/stacks/{stack}"), &sg.alice);
    assert_eq!(st, 200, "{body}");
    body["version"].as_i64().expect("version")
}

fn count(events: &[Value], event: &str) -> usize {
    events.iter().filter(|e| e["event"] == event).count()
}

/// init → secret config → up → up (no changes) → outputs → preview → refresh → history
/// → export (also of a version) → import into another stack → destroy → rm.
fn lifecycle(sg: &Installation, bin: &std::path::Path) {
    let alice = Cli::login_with(bin, &sg.server, &sg.alice, PROGRAM);
    alice.ok(&["stack", "init", "acme/web/dev", "--non-interactive"]);
    alice.ok(&["config", "set", "--secret", "dbPassword", SECRET]);
    let config = std::fs::read_to_string(alice.project.path().join("Pulumi.dev.yaml"))
        .expect("stack config");
    assert!(config.contains("secure:"), "{config}");
    assert!(
        !config.contains(SECRET),
        "plaintext in the stack config: {config}"
    );

    let up = alice.ok(&["up", "--yes", "--non-interactive"]);
    assert!(up.contains("1 created"), "{up}");
    assert_eq!(version(sg, "acme/web/dev"), 1);
    // The update set the CLI's stack tags.
    let (_, stack) = sg.server.get("/api/stacks/acme/web/dev", &sg.alice);
    assert_eq!(stack["tags"]["pulumi:project"], "web", "{stack}");
    let again = alice.ok(&["up", "--yes", "--non-interactive"]);
    assert!(again.contains("1 unchanged"), "{again}");
    assert_eq!(version(sg, "acme/web/dev"), 2);

    let outputs = alice.json(&["stack", "output", "--json"]);
    assert_eq!(outputs["greeting"], "hello", "{outputs}");
    assert_eq!(outputs["password"], "[secret]", "{outputs}");
    let shown = alice.json(&["stack", "output", "--json", "--show-secrets"]);
    assert_eq!(shown["password"], SECRET, "{shown}");

    let preview = alice.ok(&["preview", "--non-interactive"]);
    assert!(preview.contains("1 unchanged"), "{preview}");
    assert_eq!(
        version(sg, "acme/web/dev"),
        2,
        "a preview writes no version"
    );
    alice.ok(&["refresh", "--yes", "--non-interactive"]);
    assert_eq!(version(sg, "acme/web/dev"), 3);

    let history = alice.json(&["stack", "history", "--json"]);
    let kinds: Vec<&str> = history
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|u| u["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["refresh", "update", "update"], "{history}");
    let second = alice.json(&[
        "stack",
        "history",
        "--json",
        "--page-size",
        "1",
        "--page",
        "2",
    ]);
    assert_eq!(second.as_array().map(Vec::len), Some(1), "{second}");
    assert_eq!(
        second[0]["version"], 2,
        "page 2 of 1: the second newest: {second}"
    );
    assert!(
        history
            .as_array()
            .expect("a list")
            .iter()
            .all(|u| u["result"] == "succeeded"),
        "{history}"
    );

    // Export, also of an old version; an unknown version is refused.
    let exported = alice.json(&["stack", "export"]);
    assert_eq!(exported["version"], 3, "{exported}");
    let resources = exported["deployment"]["resources"].as_array().map(Vec::len);
    assert_eq!(resources, Some(1), "{exported}");
    let exported_text = serde_json::to_string(&exported).expect("json");
    assert!(!exported_text.contains(SECRET), "plaintext in the export");
    let urns = |d: &Value| -> Vec<Value> {
        let list = d["deployment"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.iter().map(|r| r["urn"].clone()).collect()
    };
    // (Secret outputs are encrypted again by each update, so only the URNs compare.)
    let first = alice.json(&["stack", "export", "--version", "1"]);
    assert_eq!(urns(&first), urns(&exported), "{first}");
    assert_ne!(
        first["deployment"], exported["deployment"],
        "version 1 is not the newest"
    );
    let missing = alice.refused(&["stack", "export", "--version", "42"]);
    assert!(missing.contains("404"), "{missing}");

    // Import into another stack: same resources, the secret still decrypts.
    let file = alice.project.path().join("dev.json");
    std::fs::write(&file, &exported_text).expect("write export");
    alice.ok(&["stack", "init", "acme/web/copy", "--non-interactive"]);
    let file = file.to_str().expect("utf-8 path");
    alice.ok(&["stack", "import", "--force", "--file", file]);
    let copied = alice.json(&["stack", "export"]);
    assert_eq!(urns(&copied), urns(&exported), "{copied}");
    // The CLI re-encrypted the secrets for the copy: they now belong to it.
    let provider = &copied["deployment"]["secrets_providers"]["state"];
    assert_eq!(provider["stack"], "copy", "{copied}");
    let shown = alice.json(&["stack", "output", "--json", "--show-secrets"]);
    assert_eq!(shown["password"], SECRET, "{shown}");
    let history = alice.json(&["stack", "history", "--json"]);
    assert_eq!(history[0]["kind"], "import", "{history}");

    // A stack with resources is not removed without --force; destroy empties it.
    alice.ok(&["stack", "select", "acme/web/dev"]);
    let refused = alice.refused(&["stack", "rm", "--yes", "--non-interactive"]);
    assert!(refused.contains("--force"), "{refused}");
    let destroyed = alice.ok(&["destroy", "--yes", "--non-interactive"]);
    assert!(destroyed.contains("1 deleted"), "{destroyed}");
    alice.ok(&["stack", "rm", "--yes", "--non-interactive"]);
    let (st, _) = sg.server.get("/api/stacks/acme/web/dev", &sg.alice);
    assert_eq!(st, 404, "the removed stack is gone");
    // The copy still has its resource, so it needs --force.
    alice.ok(&[
        "stack",
        "rm",
        "acme/web/copy",
        "--yes",
        "--force",
        "--non-interactive",
    ]);

    let events = sg.events();
    // 2 ups + refresh + destroy, each with its preview pass, plus the preview.
    assert!(count(&events, "stack-update-started") >= 8, "{events:?}");
    let completed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "stack-update-completed")
        .collect();
    assert!(completed.len() >= 8, "{completed:?}");
    assert!(
        completed.iter().all(|e| e["description"]
            .as_str()
            .unwrap_or("")
            .contains("succeeded")),
        "{completed:?}"
    );
    assert!(count(&events, "stack-exported") >= 2, "{events:?}");
    assert_eq!(count(&events, "stack-imported"), 1, "{events:?}");
    assert!(count(&events, "secret-decrypted") >= 2, "{events:?}");
    let all = serde_json::to_string(&events).expect("json");
    assert!(!all.contains(SECRET), "plaintext in the audit log");
}

#[test]
fn update_lifecycle_on_sqlite() {
    let Some(bin) = pulumi_bin("update_lifecycle_on_sqlite") else {
        return;
    };
    let sg = Installation::start();
    lifecycle(&sg, &bin);
    // No plaintext secret reaches the database (the file and its write-ahead log).
    let path = sg.db.trim_start_matches("sqlite://").to_string();
    for file in [path.clone(), format!("{path}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(!found, "plaintext secret in {file}");
        }
    }
    // The generated master key sits next to the database, readable by its owner only.
    let key = format!("{path}.secrets-key");
    let meta = std::fs::metadata(&key).expect("generated secrets key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{key}");
    }
    assert!(
        sg.server.logged("BACK THIS FILE UP"),
        "the key's creation is announced"
    );
}

#[test]
fn update_lifecycle_on_postgres() {
    let Some(bin) = pulumi_bin("update_lifecycle_on_postgres") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(schema) = runtime.block_on(TestSchema::create("pulumi_state_pg")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");

    // Without a master key the server serves everything but secrets, and says why.
    {
        let keyless = Installation::on(&schema.url(), &[], tempfile::tempdir().expect("dir"));
        let alice = Cli::login_with(&bin, &keyless.server, &keyless.alice, PROGRAM);
        alice.ok(&["stack", "init", "acme/web/nokey", "--non-interactive"]);
        let out = alice.refused(&["config", "set", "--secret", "dbPassword", SECRET]);
        assert!(
            out.contains("503") && out.contains("--secrets-key-file"),
            "{out}"
        );
        alice.ok(&["stack", "rm", "--yes", "--non-interactive"]);
    }
    let schema2 = runtime
        .block_on(TestSchema::create("pulumi_state_pg_key"))
        .expect("second schema");
    let sg = Installation::on(&schema2.url(), &["--secrets-key", TEST_KEY], dir);
    lifecycle(&sg, &bin);
    drop(schema);
}

#[test]
fn a_stack_initialised_with_another_secrets_provider_keeps_it() {
    let Some(bin) = pulumi_bin("a_stack_initialised_with_another_secrets_provider_keeps_it") else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login_with(&bin, &sg.server, &sg.alice, PROGRAM);
    // `--secrets-provider passphrase` sends an initial state naming that provider.
    let out = alice.run_with_env(
        &[
            "stack",
            "init",
            "acme/web/pp",
            "--secrets-provider",
            "passphrase",
            "--non-interactive",
        ],
        &[("PULUMI_CONFIG_PASSPHRASE", "correct horse")],
    );
    assert!(out.0, "{}", out.1);
    let exported = alice.json(&["stack", "export"]);
    assert_eq!(
        exported["deployment"]["secrets_providers"]["type"], "passphrase",
        "{exported}"
    );
    let (st, stack) = sg.server.get("/api/stacks/acme/web/pp", &sg.alice);
    assert_eq!(st, 200, "{stack}");
    assert_eq!(
        stack["version"], 0,
        "the initial state is not an update: {stack}"
    );
    // Its secrets are the passphrase provider's, not the service's: nothing is sent to
    // stackgate to encrypt, and the first update still works.
    let env = [("PULUMI_CONFIG_PASSPHRASE", "correct horse")];
    let (ok, out) = alice.run_with_env(&["config", "set", "--secret", "dbPassword", SECRET], &env);
    assert!(ok, "{out}");
    let (ok, out) = alice.run_with_env(&["up", "--yes", "--non-interactive"], &env);
    assert!(ok && out.contains("1 created"), "{out}");
    assert_eq!(version(&sg, "acme/web/pp"), 1);
    let (ok, out) = alice.run_with_env(&["stack", "output", "--show-secrets", "--json"], &env);
    assert!(ok && out.contains(SECRET), "{out}");
}

#[test]
fn stack_reference_reads_outputs_with_read_and_is_refused_without() {
    let Some(bin) = pulumi_bin("stack_reference_reads_outputs_with_read_and_is_refused_without")
    else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login_with(&bin, &sg.server, &sg.alice, PROGRAM);
    alice.ok(&["stack", "init", "acme/web/prod", "--non-interactive"]);
    alice.ok(&["config", "set", "--secret", "dbPassword", SECRET]);
    alice.ok(&["up", "--yes", "--non-interactive"]);

    // The consumer stack: alice creates it and gives the team write on it; the team
    // reads acme/web/prod through the org default (read).
    let consumer = "name: app
runtime: yaml
resources:
  prod:
    type: pulumi:pulumi:StackReference
    properties:
      name: acme/web/prod
outputs:
  fromProd: ${prod.outputs[\"greeting\"]}
  prodPassword: ${prod.outputs[\"password\"]}
";
    let owner = Cli::login_with(&bin, &sg.server, &sg.alice, consumer);
    owner.ok(&["stack", "init", "acme/app/dev", "--non-interactive"]);
    let grant = json!({"addStackPermission": {"projectName": "app", "stackName": "dev", "permission": 102}});
    let (st, body) = sg
        .server
        .patch("/api/orgs/acme/teams/platform", &sg.alice, &grant);
    assert_eq!(st, 204, "{body}");
    let team = Cli::login_with(&bin, &sg.server, &sg.team_token("app-ci"), consumer);
    team.ok(&["stack", "select", "acme/app/dev"]);
    team.ok(&["up", "--yes", "--non-interactive"]);
    let outputs = team.json(&["stack", "output", "--json", "--show-secrets"]);
    assert_eq!(outputs["fromProd"], "hello", "{outputs}");
    assert_eq!(outputs["prodPassword"], SECRET, "{outputs}");
    let plain = team.json(&["stack", "output", "--json"]);
    assert_eq!(
        plain["prodPassword"], "[secret]",
        "a referenced secret stays secret"
    );

    // Without read on the referenced stack (org default none), the reference fails.
    let none = json!({"setDefaultStackPermission": 0});
    let (st, body) = sg.server.patch("/api/orgs/acme", &sg.alice, &none);
    assert!(st == 200 || st == 204, "{st} {body}");
    let out = team.refused(&["up", "--yes", "--non-interactive"]);
    assert!(out.contains("acme/web/prod"), "{out}");
}

#[test]
fn cancel_frees_the_stack_and_a_concurrent_update_is_refused() {
    let Some(bin) = pulumi_bin("cancel_frees_the_stack_and_a_concurrent_update_is_refused") else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login(&bin, &sg.server, &sg.alice);
    alice.ok(&["stack", "init", "acme/web/dev", "--non-interactive"]);
    // A refresh of a stack that has no state yet.
    alice.ok(&["refresh", "--yes", "--non-interactive"]);
    alice.ok(&["up", "--yes", "--non-interactive"]);
    // Nothing in progress: `activeUpdate` is empty and the CLI has nothing to cancel.
    let nothing = alice.refused(&["cancel", "--yes", "--non-interactive"]);
    assert!(nothing.contains("never been updated"), "{nothing}");

    // Another client (a CI job, here plain HTTP with alice's token) holds the stack.
    let request = json!({"name": "web", "runtime": "yaml", "main": "", "description": "",
        "options": {"dryRun": false}, "config": {}, "metadata": {"message": "ci", "environment": {}}});
    let (st, created) = sg
        .server
        .post("/api/stacks/acme/web/dev/update", &sg.alice, &request);
    assert_eq!(st, 200, "{created}");
    let id = created["updateID"].as_str().expect("updateID");
    let (st, started) = sg.server.post(
        &format!("/api/stacks/acme/web/dev/update/{id}"),
        &sg.alice,
        &json!({"tags": {}}),
    );
    assert_eq!(st, 200, "{started}");

    let second = alice.refused(&["up", "--yes", "--non-interactive"]);
    assert!(
        second.contains("409") || second.contains("in progress"),
        "{second}"
    );
    alice.ok(&["cancel", "--yes", "--non-interactive"]);
    let (_, stack) = sg.server.get("/api/stacks/acme/web/dev", &sg.alice);
    assert_eq!(stack["activeUpdate"], "", "{stack}");
    let up = alice.ok(&["up", "--yes", "--non-interactive"]);
    assert!(up.contains("1 unchanged"), "{up}");
    assert_eq!(count(&sg.events(), "stack-update-canceled"), 1);
}

#[test]
fn the_permission_matrix_holds_through_the_cli() {
    let Some(bin) = pulumi_bin("the_permission_matrix_holds_through_the_cli") else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login(&bin, &sg.server, &sg.alice);
    alice.ok(&["stack", "init", "acme/web/dev", "--non-interactive"]);
    alice.ok(&["up", "--yes", "--non-interactive"]);

    // Read (org default): preview and export, but no update.
    for (kind, token) in [
        ("member org token", sg.org_token("ci-member", false)),
        ("team token (read)", sg.team_token("reader")),
    ] {
        let cli = Cli::login(&bin, &sg.server, &token);
        cli.ok(&["stack", "select", "acme/web/dev"]);
        let preview = cli.ok(&["preview", "--non-interactive"]);
        assert!(preview.contains("1 unchanged"), "{kind}: {preview}");
        cli.json(&["stack", "export"]);
        let up = cli.refused(&["up", "--yes", "--non-interactive"]);
        assert!(up.contains("403"), "{kind}: {up}");
        let refresh = cli.refused(&["refresh", "--yes", "--non-interactive"]);
        assert!(refresh.contains("403"), "{kind}: {refresh}");
    }

    // Write (a team grant): updates, but not removal (admin).
    let grant = json!({"addStackPermission": {"projectName": "web", "stackName": "dev", "permission": 102}});
    let (st, body) = sg
        .server
        .patch("/api/orgs/acme/teams/platform", &sg.alice, &grant);
    assert_eq!(st, 204, "{body}");
    let writer = Cli::login(&bin, &sg.server, &sg.team_token("writer"));
    writer.ok(&["stack", "select", "acme/web/dev"]);
    writer.ok(&["up", "--yes", "--non-interactive"]);
    writer.ok(&["refresh", "--yes", "--non-interactive"]);
    let rm = writer.refused(&["stack", "rm", "--yes", "--force", "--non-interactive"]);
    assert!(rm.contains("403"), "{rm}");

    // Admin (an admin-scope org token): everything, removal included.
    let admin = Cli::login(&bin, &sg.server, &sg.org_token("deploy", true));
    admin.ok(&["stack", "select", "acme/web/dev"]);
    admin.ok(&["up", "--yes", "--non-interactive"]);
    admin.ok(&["destroy", "--yes", "--non-interactive"]);
    admin.ok(&["stack", "rm", "--yes", "--non-interactive"]);

    // Who is not in the org sees nothing (404).
    alice.ok(&["stack", "init", "acme/web/hidden", "--non-interactive"]);
    let outsider = Cli::login(&bin, &sg.server, &common::create_user(&sg.db, "mallory"));
    let out = outsider.refused(&["stack", "select", "acme/web/hidden"]);
    assert!(
        out.contains("404") || out.contains("no stack named"),
        "{out}"
    );

    let refusals = sg
        .events()
        .iter()
        .filter(|e| e["event"] == "auth-failure-stack-permission")
        .count();
    assert!(
        refusals >= 5,
        "the refused updates and the removal are audited"
    );
}

/// A state of `n` component resources (they need no provider plugin) under the stack.
fn components(stack: &str, n: usize) -> Value {
    let root = format!("urn:pulumi:{stack}::big::pulumi:pulumi:Stack::big-{stack}");
    let mut resources = vec![json!({"urn": root, "custom": false, "type": "pulumi:pulumi:Stack"})];
    for i in 0..n {
        resources.push(json!({
            "urn": format!("urn:pulumi:{stack}::big::big:index:Part::p{i}"),
            "custom": false, "type": "big:index:Part", "parent": root,
            "outputs": {"i": i},
        }));
    }
    json!({"version": 3, "deployment": {
        "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
        "resources": resources}})
}

#[test]
fn an_up_whose_token_is_revoked_midway_fails_and_keeps_its_last_checkpoint() {
    let Some(bin) =
        pulumi_bin("an_up_whose_token_is_revoked_midway_fails_and_keeps_its_last_checkpoint")
    else {
        return;
    };
    let sg = Installation::start();
    let body = json!({"name": "deploy", "description": "", "admin": true, "expires": 0});
    let (st, created) = sg.server.post("/api/orgs/acme/tokens", &sg.alice, &body);
    assert_eq!(st, 200, "{created}");
    let token = created["tokenValue"].as_str().expect("tokenValue");
    let token_id = created["id"].as_str().expect("id");
    let ci = Cli::login_with(&bin, &sg.server, token, "name: big\nruntime: yaml\n");
    ci.ok(&["stack", "init", "acme/big/dev", "--non-interactive"]);
    let total = 1000;
    let file = ci.project.path().join("state.json");
    std::fs::write(&file, components("dev", total).to_string()).expect("write state");
    ci.ok(&[
        "stack",
        "import",
        "--force",
        "--file",
        file.to_str().expect("utf-8"),
    ]);

    // The program declares none of them: `up` deletes them one checkpoint at a time.
    let up = ci.spawn(&["up", "--yes", "--non-interactive", "--skip-preview"]);
    let started = std::time::Instant::now();
    let mut held = false;
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let (_, stack) = sg.server.get("/api/stacks/acme/big/dev", &sg.alice);
        if stack["activeUpdate"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
        {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(held, "the update started");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (st, body) = sg
        .server
        .delete(&format!("/api/orgs/acme/tokens/{token_id}"), &sg.alice);
    assert_eq!(st, 204, "revoke: {body}");
    let (ok, out) = common::pulumi::finish(up, &["up"]);
    assert!(!ok, "the up must fail once its token is revoked: {out}");

    // The stack is free again, the update is recorded as failed, and the state is the
    // last checkpoint that was accepted: valid, with part of the resources deleted.
    let (_, stack) = sg.server.get("/api/stacks/acme/big/dev", &sg.alice);
    assert_eq!(stack["activeUpdate"], "", "{stack}");
    let (st, history) = sg.server.get("/api/stacks/acme/big/dev/updates", &sg.alice);
    assert_eq!(st, 200, "{history}");
    assert_eq!(history["updates"][0]["result"], "failed", "{history}");
    let (st, exported) = sg.server.get("/api/stacks/acme/big/dev/export", &sg.alice);
    assert_eq!(st, 200, "{exported}");
    let left = exported["deployment"]["resources"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        left > 1 && left < total + 1,
        "a partial state was kept ({left} resources of {})",
        total + 1
    );
    let failed = sg.events().into_iter().any(|e| {
        e["event"] == "stack-update-completed"
            && e["description"]
                .as_str()
                .is_some_and(|d| d.contains("revoked"))
    });
    assert!(failed, "the failure names the revocation");
    // The state is usable: alice finishes the job.
    let alice = Cli::login_with(&bin, &sg.server, &sg.alice, "name: big\nruntime: yaml\n");
    alice.ok(&["stack", "select", "acme/big/dev"]);
    let done = alice.ok(&["up", "--yes", "--non-interactive", "--skip-preview"]);
    assert!(done.contains("deleted"), "{done}");
}
