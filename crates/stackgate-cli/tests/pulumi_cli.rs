//! The real Pulumi CLI against a real `stackgate serve`: what works before the state
//! backend lands — `pulumi login` and `whoami` with every kind of token, and the stack
//! commands that need no state (`stack init`, `ls`, `select`, `tag`, `rename`, `rm`), with their
//! refusals decided by the same permission function as the API.
//!
//! The CLI is the real one (`tools/pulumi-cli/build.sh` builds pinned versions from the Go
//! module proxy); these tests run only when `STACKGATE_TEST_PULUMI_BIN` names the
//! directory holding `pulumi` and `pulumi-language-yaml` (`.ci/run` sets it), and say so
//! when they skip.

mod common;

use common::pulumi::{pulumi_bin, Cli, Installation};
use serde_json::json;

#[test]
fn whoami_names_the_principal_of_every_kind_of_token() {
    let Some(bin) = pulumi_bin("whoami_names_the_principal_of_every_kind_of_token") else {
        return;
    };
    let sg = Installation::start();
    let cases = [
        ("personal", sg.alice.clone(), "alice", None),
        (
            "org member",
            sg.org_token("ci", false),
            "acme",
            Some(("name", "ci")),
        ),
        (
            "org admin",
            sg.org_token("deploy", true),
            "acme",
            Some(("name", "deploy")),
        ),
        (
            "team",
            sg.team_token("platform-ci"),
            "platform",
            Some(("team", "platform")),
        ),
    ];
    for (kind, token, user, info) in cases {
        let cli = Cli::login(&bin, &sg.server, &token);
        let who = cli.json(&["whoami", "--json"]);
        assert_eq!(who["user"], user, "{kind}: {who}");
        assert_eq!(who["organizations"], json!(["acme"]), "{kind}: {who}");
        match info {
            None => assert!(who.get("tokenInformation").is_none(), "{kind}: {who}"),
            Some((field, value)) => {
                assert_eq!(who["tokenInformation"][field], value, "{kind}: {who}");
                assert_eq!(who["tokenInformation"]["organization"], "acme", "{kind}");
            }
        }
    }
}

#[test]
fn stack_commands_that_need_no_state_work_and_are_audited() {
    let Some(bin) = pulumi_bin("stack_commands_that_need_no_state_work_and_are_audited") else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login(&bin, &sg.server, &sg.alice);

    alice.ok(&["stack", "init", "acme/web/dev", "--non-interactive"]);
    let again = alice.refused(&["stack", "init", "acme/web/dev", "--non-interactive"]);
    assert!(again.contains("already exists"), "{again}");
    alice.ok(&["stack", "init", "acme/web/prod", "--non-interactive"]);

    let listed = alice.json(&["stack", "ls", "--json"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["dev", "prod"], "{listed}");

    alice.ok(&["stack", "select", "acme/web/dev"]);
    alice.ok(&["stack", "tag", "set", "env", "development"]);
    assert_eq!(
        alice.ok(&["stack", "tag", "get", "env"]).trim(),
        "development"
    );
    alice.ok(&["stack", "tag", "rm", "env"]);
    let tags = alice.json(&["stack", "tag", "ls", "--json"]);
    assert!(tags.get("env").is_none(), "{tags}");
    // The API sees what the CLI did.
    let (st, stack) = sg.server.get("/api/stacks/acme/web/dev", &sg.alice);
    assert_eq!(st, 200, "{stack}");
    assert!(stack["tags"].get("env").is_none(), "{stack}");

    // Rename keeps the stack (its id, tags); the CLI selects it under its new name.
    alice.ok(&["stack", "tag", "set", "owner", "alice"]);
    alice.ok(&["stack", "rename", "acme/web/development"]);
    let (st, renamed) = sg.server.get("/api/stacks/acme/web/development", &sg.alice);
    assert_eq!(st, 200, "{renamed}");
    assert_eq!(renamed["tags"]["owner"], "alice", "{renamed}");
    let (st, _) = sg.server.get("/api/stacks/acme/web/dev", &sg.alice);
    assert_eq!(st, 404, "the old name is gone");
    assert_eq!(alice.ok(&["stack", "tag", "get", "owner"]).trim(), "alice");

    alice.ok(&["stack", "rm", "acme/web/prod", "--yes"]);
    let (st, _) = sg.server.get("/api/stacks/acme/web/prod", &sg.alice);
    assert_eq!(st, 404, "a removed stack is gone");

    let events = sg.events();
    let by_alice = |event: &str| {
        events
            .iter()
            .filter(|e| e["event"] == event && e["user"]["githubLogin"] == "alice")
            .count()
    };
    assert_eq!(by_alice("stack-created"), 2, "{events:?}");
    assert_eq!(by_alice("stack-deleted"), 1, "{events:?}");
    assert_eq!(by_alice("stack-renamed"), 1, "{events:?}");
    assert!(by_alice("stack-tags-changed") >= 2, "{events:?}");
}

#[test]
fn the_cli_is_refused_what_the_permission_table_refuses() {
    let Some(bin) = pulumi_bin("the_cli_is_refused_what_the_permission_table_refuses") else {
        return;
    };
    let sg = Installation::start();
    let alice = Cli::login(&bin, &sg.server, &sg.alice);
    alice.ok(&["stack", "init", "acme/web/dev", "--non-interactive"]);

    // A team token may not create stacks (403, recorded); an org token may.
    let team = Cli::login(&bin, &sg.server, &sg.team_token("platform-ci"));
    let out = team.refused(&["stack", "init", "acme/web/team", "--non-interactive"]);
    assert!(out.contains("403") || out.contains("forbidden"), "{out}");
    let member = Cli::login(&bin, &sg.server, &sg.org_token("ci", false));
    member.ok(&["stack", "init", "acme/web/ci", "--non-interactive"]);

    // The team sees the org default (read) on dev: it may list it but not tag it.
    let listed = team.json(&["stack", "ls", "--json", "--all"]);
    assert!(
        listed
            .as_array()
            .expect("a list")
            .iter()
            .any(|s| s["name"] == "acme/web/dev" || s["name"] == "dev"),
        "{listed}"
    );
    team.ok(&["stack", "select", "acme/web/dev"]);
    let out = team.refused(&["stack", "tag", "set", "owner", "platform"]);
    assert!(out.contains("403") || out.contains("forbidden"), "{out}");

    // A user who is not in acme sees nothing of it (404, not 403).
    let outsider = common::create_user(&sg.db, "mallory");
    let mallory = Cli::login(&bin, &sg.server, &outsider);
    let out = mallory.refused(&["stack", "init", "acme/web/mal", "--non-interactive"]);
    assert!(out.contains("not found") || out.contains("404"), "{out}");

    let refusals = sg
        .events()
        .iter()
        .filter(|e| e["event"] == "auth-failure-organization-role")
        .count();
    assert!(refusals >= 1, "the team token's refused init is audited");
}
