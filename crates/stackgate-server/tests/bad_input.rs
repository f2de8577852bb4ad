//! Bad input is refused with a 4xx in the error shape, and a refused write changes
//! nothing: not the listings, not the audit log. Explicit `null`s, which the official
//! client sends for every unset optional field, mean "absent".

mod common;

use serde_json::{json, Value};

use common::{assert_error, assert_ok, TestApp, Who, ORG, STACK_PATH, TEAM};

/// A write that must be refused with `want`.
struct Bad {
    method: &'static str,
    path: String,
    body: Vec<u8>,
    want: u16,
}

fn raw(method: &'static str, path: impl Into<String>, body: &str, want: u16) -> Bad {
    Bad {
        method,
        path: path.into(),
        body: body.as_bytes().to_vec(),
        want,
    }
}

fn bad(method: &'static str, path: impl Into<String>, body: Value) -> Bad {
    Bad {
        method,
        path: path.into(),
        body: serde_json::to_vec(&body).expect("serialize"),
        want: 400,
    }
}

/// Sends each refused write as alice (the org admin, who may do all of them) and checks
/// the status, the error shape, and that no state and no audit event changed.
async fn assert_refused_without_effect(app: &TestApp, cases: Vec<Bad>) {
    let before = app.snapshot().await;
    for c in cases {
        let what = format!(
            "{} {} {}",
            c.method,
            c.path,
            String::from_utf8_lossy(&c.body[..c.body.len().min(120)])
        );
        let (st, body) = app
            .call_raw(c.method, &c.path, Who::Admin, Some(c.body))
            .await;
        assert_error(st, &body, c.want, &what);
        assert_eq!(app.snapshot().await, before, "{what} changed state");
    }
}

fn org(suffix: &str) -> String {
    format!("/api/orgs/{ORG}{suffix}")
}

#[tokio::test]
async fn malformed_json_is_refused_without_effect() {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    let targets: Vec<(&'static str, String)> = vec![
        ("POST", org("/members/frank")),
        ("PATCH", org("/members/bob")),
        ("POST", org("/tokens")),
        ("POST", org(&format!("/teams/{TEAM}/tokens"))),
        ("POST", org("/teams/pulumi")),
        ("PATCH", org(&format!("/teams/{TEAM}"))),
        ("PATCH", org("")),
        ("POST", "/api/stacks/acme/proj".into()),
        ("PATCH", format!("{STACK_PATH}/tags")),
        ("POST", format!("{STACK_PATH}/tags")),
        ("POST", format!("{STACK_PATH}/transfer")),
        (
            "PATCH",
            format!("/api/console/stacks/acme/proj/dev/teams/{TEAM}"),
        ),
        ("POST", "/api/user/tokens".into()),
    ];
    let mut cases = Vec::new();
    for (method, path) in targets {
        for body in [
            "{\"role\": \"member\"",
            "not json",
            "",
            "{\"a\":1}}",
            "\u{0}",
        ] {
            cases.push(raw(method, path.clone(), body, 400));
        }
    }
    assert_refused_without_effect(&app, cases).await;
}

#[tokio::test]
async fn wrong_json_types_are_refused_without_effect() {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    let tok = org("/tokens");
    let team = org(&format!("/teams/{TEAM}"));
    let cases = vec![
        bad("POST", org("/members/frank"), json!({"role": 5})),
        bad("PATCH", org("/members/bob"), json!({"role": true})),
        bad("POST", tok.clone(), json!({"name": "x", "admin": "yes"})),
        bad("POST", tok.clone(), json!({"name": 123})),
        bad("POST", tok.clone(), json!({"name": "x", "expires": "soon"})),
        bad("POST", tok.clone(), json!({"name": "x", "expires": 1.5})),
        bad("POST", tok.clone(), json!({"name": "x", "roleID": 7})),
        bad("POST", tok.clone(), json!({"description": "no name"})),
        bad("POST", org("/teams/pulumi"), json!({"name": ["ops"]})),
        bad(
            "POST",
            org("/teams/pulumi"),
            json!({"displayName": "no name"}),
        ),
        bad("PATCH", org(""), json!({"setMembersCanCreateTeams": "no"})),
        bad(
            "PATCH",
            org(""),
            json!({"setDefaultStackPermission": "read"}),
        ),
        bad(
            "PATCH",
            org(""),
            json!({"setMaxAccessTokenExpiryDays": "30"}),
        ),
        bad(
            "PATCH",
            org(""),
            json!({"setAcceptStackTransfersFrom": "globex"}),
        ),
        bad("PATCH", org(""), json!({"setNeoEnabled": true})),
        bad(
            "PATCH",
            team.clone(),
            json!({"addStackPermission": {"projectName": "proj"}}),
        ),
        bad(
            "PATCH",
            team.clone(),
            json!({"addStackPermission": {"projectName": "proj", "stackName": "dev"}}),
        ),
        bad("PATCH", team.clone(), json!({"memberAction": "add"})),
        bad("PATCH", team.clone(), json!({"member": "bob"})),
        bad("PATCH", team.clone(), json!({"newDescription": 3})),
        bad("PATCH", team.clone(), json!({})),
        bad("PATCH", format!("{STACK_PATH}/tags"), json!(["a", "b"])),
        bad("PATCH", format!("{STACK_PATH}/tags"), json!({"a": 1})),
        bad(
            "POST",
            format!("{STACK_PATH}/tags"),
            json!({"value": "no name"}),
        ),
        bad(
            "POST",
            format!("{STACK_PATH}/transfer"),
            json!({"toOrg": 5}),
        ),
        bad("POST", format!("{STACK_PATH}/transfer"), json!({})),
        bad(
            "POST",
            "/api/stacks/acme/proj",
            json!({"stackName": "s", "tags": ["a"]}),
        ),
        bad("POST", "/api/stacks/acme/proj", json!({"tags": {}})),
        bad("POST", "/api/user/tokens", json!({"expires": "never"})),
    ];
    assert_refused_without_effect(&app, cases).await;
}

/// serde's derived `Deserialize` also accepts a struct as a JSON array of its fields in
/// declaration order, so `["member"]` is read as `{"role": "member"}`.
#[tokio::test]
async fn json_arrays_are_not_accepted_as_objects() {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    let cases = vec![
        // Without `ApiJson`'s object check, each of these would be answered 2xx and the
        // change made.
        bad("POST", org("/members/frank"), json!(["member"])),
        bad("PATCH", org("/members/bob"), json!(["admin"])),
        bad("POST", org("/teams/pulumi"), json!(["ops", "Ops", ""])),
        bad("POST", format!("{STACK_PATH}/tags"), json!(["k", "v"])),
        bad("POST", "/api/user/tokens", json!(["d", 0])),
    ];
    assert_refused_without_effect(&app, cases).await;
}

#[tokio::test]
async fn unknown_enum_values_are_refused_without_effect() {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    let team = org(&format!("/teams/{TEAM}"));
    let console = format!("/api/console/stacks/acme/proj/dev/teams/{TEAM}");
    let grant = |key: &str, perm: i64| json!({key: {"projectName": "proj", "stackName": "dev", "permission": perm}});
    let cases = vec![
        bad("POST", org("/members/frank"), json!({"role": "owner"})),
        bad("POST", org("/members/frank"), json!({"role": "ADMIN"})),
        bad("PATCH", org("/members/bob"), json!({"role": "owner"})),
        bad("PATCH", org("/members/bob"), json!({"role": null})),
        bad(
            "PATCH",
            team.clone(),
            json!({"memberAction": "kick", "member": "bob"}),
        ),
        bad("PATCH", team.clone(), grant("editStackPermission", 105)),
        bad("PATCH", team.clone(), grant("editStackPermission", 0)),
        bad("PATCH", team.clone(), grant("editStackPermission", -1)),
        bad("PATCH", console.clone(), json!({"permissions": 105})),
        bad("PATCH", console.clone(), json!({"permissions": "admin"})),
        bad("PATCH", org(""), json!({"setDefaultStackPermission": 105})),
        // 104 (creator) is a level, not a default.
        bad("PATCH", org(""), json!({"setDefaultStackPermission": 104})),
        bad(
            "PATCH",
            org(""),
            json!({"setMaxAccessTokenExpiryDays": 3651}),
        ),
        bad("PATCH", org(""), json!({"setMaxAccessTokenExpiryDays": -1})),
        bad(
            "POST",
            org(&format!("/teams/{TEAM}/tokens")),
            json!({"name": "t", "admin": true}),
        ),
    ];
    assert_refused_without_effect(&app, cases).await;
}

#[tokio::test]
async fn names_breaking_the_rules_are_refused_without_effect() {
    let app = TestApp::start().await;
    let long = "a".repeat(101);
    let mut cases = Vec::new();
    for name in ["a b", "..", ".", "", "ü", "a\tb", long.as_str()] {
        cases.push(bad(
            "POST",
            org("/teams/pulumi"),
            json!({"name": name, "displayName": "", "description": ""}),
        ));
        cases.push(bad(
            "POST",
            "/api/stacks/acme/proj",
            json!({"stackName": name}),
        ));
        cases.push(bad(
            "PATCH",
            org(""),
            json!({"setAcceptStackTransfersFrom": ["globex", name]}),
        ));
    }
    // Project names come from the path.
    for project in ["a%20b", "%2E%2E", long.as_str()] {
        cases.push(bad(
            "POST",
            format!("/api/stacks/acme/{project}"),
            json!({"stackName": "ok"}),
        ));
    }
    for name in ["ci.token", "a b", "", "ü", &"t".repeat(41)] {
        for path in [org("/tokens"), org(&format!("/teams/{TEAM}/tokens"))] {
            cases.push(bad("POST", path, json!({"name": name, "expires": 0})));
        }
    }
    // Free text with a cap, and bad expiries.
    let now = common::now();
    for path in [org("/tokens"), org(&format!("/teams/{TEAM}/tokens"))] {
        cases.push(bad(
            "POST",
            path.clone(),
            json!({"name": "ok", "description": "d".repeat(1001)}),
        ));
        for expires in [-1, now - 10, now + 731 * common::DAY] {
            cases.push(bad(
                "POST",
                path.clone(),
                json!({"name": "ok", "expires": expires}),
            ));
        }
    }
    cases.push(bad(
        "PATCH",
        format!("{STACK_PATH}/tags"),
        json!({"x".repeat(256): "too long a name"}),
    ));
    cases.push(bad(
        "PATCH",
        format!("{STACK_PATH}/tags"),
        json!({"": "empty name"}),
    ));
    cases.push(bad(
        "POST",
        "/api/user/tokens",
        json!({"expires": now - 10}),
    ));
    assert_refused_without_effect(&app, cases).await;
    // The names at the limits are accepted.
    app.create_team_as(&Who::Admin, &"t".repeat(100)).await;
    app.org_token_as(&Who::Admin, ORG, &"n".repeat(40), false, 0)
        .await;
}

#[tokio::test]
async fn bodies_over_one_mib_are_refused_with_413() {
    let app = TestApp::start().await;
    let huge = "x".repeat(1024 * 1024 + 1);
    let cases = vec![
        Bad {
            want: 413,
            ..bad(
                "POST",
                org("/tokens"),
                json!({"name": "big", "description": huge}),
            )
        },
        Bad {
            want: 413,
            ..bad("PATCH", format!("{STACK_PATH}/tags"), json!({"big": huge}))
        },
        Bad {
            want: 413,
            ..bad("POST", "/api/user/tokens", json!({"description": huge}))
        },
    ];
    assert_refused_without_effect(&app, cases).await;
}

#[tokio::test]
async fn bad_paging_values_are_refused() {
    let app = TestApp::start().await;
    let paths = [
        "/api/orgs/acme/members?pageSize=0",
        "/api/orgs/acme/members?pageSize=1001",
        "/api/orgs/acme/members?pageSize=-1",
        "/api/orgs/acme/members?pageSize=abc",
        "/api/user/stacks?maxResults=0",
        "/api/user/stacks?maxResults=1001",
        "/api/user/stacks?maxResults=abc",
        "/api/user/stacks?continuationToken=garbage",
        "/api/orgs/acme/auditlogs/v2?pageSize=0",
        "/api/orgs/acme/auditlogs/v2?pageSize=1001",
        "/api/orgs/acme/auditlogs/v2?pageSize=2.5",
        "/api/orgs/acme/auditlogs/v2?continuationToken=garbage",
        "/api/orgs/acme/auditlogs/v2?continuationToken=0",
        "/api/orgs/acme/auditlogs/v2?continuationToken=-5",
        "/api/orgs/acme/auditlogs/v2?startTime=yesterday",
        "/api/orgs/acme/auditlogs/v2?eventFilter=no-such-event",
        "/api/orgs/acme/auditlogs?pageSize=0",
        "/api/orgs/acme/auditlogs?continuationToken=garbage",
    ];
    let before = app.audit().await.len();
    for path in paths {
        let (st, body) = app.get(path, Who::Admin).await;
        assert_error(st, &body, 400, path);
    }
    assert_eq!(app.audit().await.len(), before);
    // The limits themselves are fine.
    for path in [
        "/api/orgs/acme/members?pageSize=1",
        "/api/orgs/acme/members?pageSize=1000",
        "/api/user/stacks?maxResults=1000",
        "/api/orgs/acme/auditlogs/v2?pageSize=1000",
    ] {
        let (st, body) = app.get(path, Who::Admin).await;
        assert_ok(st, &body, path);
    }
}

#[tokio::test]
async fn a_json_body_needs_a_json_content_type() {
    let app = TestApp::start().await;
    let before = app.snapshot().await;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/orgs/acme/tokens")
        .header(
            "authorization",
            format!("token {}", app.actors().admin.token),
        )
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(r#"{"name": "plain", "expires": 0}"#))
        .expect("request");
    let (st, body) = app.send(req).await;
    assert_error(st, &body, 400, "text/plain body");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn explicit_nulls_mean_absent() {
    let app = TestApp::start().await;

    // Org token, as the official client sends it.
    let body = app
        .post_ok(&org("/tokens"), Who::Admin, json!({"name": "nulls", "description": null, "expires": null, "admin": null, "roleID": null}), "org token with nulls")
        .await;
    let value = body["tokenValue"].as_str().expect("value").to_string();
    let (st, body) = app.get(&org(""), Who::Token(value)).await;
    assert_ok(st, &body, "the new token works");
    assert_eq!(body["userRole"], "member", "admin: null means member scope");
    app.post_ok(
        &org("/tokens"),
        Who::Admin,
        json!({"name": "with-role", "expires": 0, "admin": false, "roleID": ""}),
        "empty roleID",
    )
    .await;

    // Team token, personal token, team, stack, transfer and team update with nulls.
    app.post_ok(
        &org(&format!("/teams/{TEAM}/tokens")),
        Who::Admin,
        json!({"name": "team-nulls", "description": null, "expires": null, "admin": null}),
        "team token with nulls",
    )
    .await;
    app.post_ok(
        "/api/user/tokens",
        Who::Member,
        json!({"description": null, "expires": null}),
        "personal token with nulls",
    )
    .await;
    let body = app
        .post_ok(
            &org("/teams/pulumi"),
            Who::Admin,
            json!({"name": "nullteam", "displayName": null, "description": null}),
            "team with nulls",
        )
        .await;
    assert_eq!(body["displayName"], "nullteam");
    app.post_ok(
        "/api/stacks/acme/proj",
        Who::Admin,
        json!({"stackName": "nulls", "tags": null, "teams": null, "state": null, "config": null}),
        "stack with nulls",
    )
    .await;
    let (st, body) = app
        .patch(
            &org(&format!("/teams/{TEAM}")),
            Who::Admin,
            json!({
                "newDisplayName": null, "newDescription": null, "memberAction": "add",
                "member": "bob", "addStackPermission": null, "editStackPermission": null,
                "removeStack": null, "addEnvironmentPermission": null,
                "editEnvironmentPermission": null, "removeEnvironment": null,
            }),
        )
        .await;
    assert_ok(st, &body, "team update with nulls");

    // PATCH org: every field null except one.
    let (_, org_before) = app.get(&org(""), Who::Admin).await;
    let mut req = serde_json::Map::new();
    for field in [
        "setDefaultStackPermission",
        "setDefaultEnvironmentPermission",
        "setDefaultAccountPermission",
        "setMembersCanCreateStacks",
        "setMembersCanInviteCollaborators",
        "setMembersCanDeleteStacks",
        "setMembersCanTransferStacks",
        "setMembersCanCreateAccounts",
        "setMembersCanCreateTeams",
        "setAiEnablement",
        "setNeoEnabled",
        "setNeoApprovalMode",
        "setNeoTaskSharingMode",
        "setNeoCLIExplanationsDisabled",
        "setNaturalLanguageSearchDisabled",
        "setNeoAgentDisabled",
        "setPreferredVCS",
        "setDefaultDeploymentRoleId",
        "setDefaultAgentPoolID",
        "setMaxAccessTokenExpiryDays",
        "setAcceptStackTransfersFrom",
    ] {
        req.insert(field.into(), Value::Null);
    }
    req.insert("setMembersCanTransferStacks".into(), json!(true));
    let (st, body) = app.patch(&org(""), Who::Admin, Value::Object(req)).await;
    assert_ok(st, &body, "PATCH org with nulls");
    let mut expected = org_before.clone();
    expected["membersCanTransferStacks"] = json!(true);
    let (_, org_after) = app.get(&org(""), Who::Admin).await;
    assert_eq!(org_after, expected, "only the one setting changed");
    let events = app.audit().await;
    assert_eq!(events[0]["event"], "organization-settings-changed");
    assert!(
        events[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("membersCanTransferStacks")),
        "{}",
        events[0]
    );

    // A transfer with fromOrg: null.
    app.patch_ok(
        "/api/orgs/globex",
        Who::OtherAdmin,
        json!({"setAcceptStackTransfersFrom": ["acme"], "setDefaultStackPermission": null}),
        "globex accepts acme",
    )
    .await;
    app.post_ok(
        "/api/stacks/acme/proj/nulls/transfer",
        Who::OrgAdminToken,
        json!({"toOrg": "globex", "fromOrg": null, "projectName": null, "stackName": null}),
        "transfer with nulls",
    )
    .await;
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused_in_free_text() {
    let app = TestApp::start().await;
    let mut cases = Vec::new();
    for text in [
        "nul\u{0}",
        "vt\u{b}",
        "esc\u{1b}[2J",
        "ls\u{2028}x",
        "\u{202e}fdp.exe",
    ] {
        cases.push(bad(
            "POST",
            org("/teams/pulumi"),
            json!({"name": "ctl", "displayName": text, "description": ""}),
        ));
        cases.push(bad(
            "POST",
            org("/teams/pulumi"),
            json!({"name": "ctl", "displayName": "", "description": text}),
        ));
        cases.push(bad(
            "PATCH",
            org(&format!("/teams/{TEAM}")),
            json!({"newDisplayName": text}),
        ));
        cases.push(bad(
            "POST",
            org("/tokens"),
            json!({"name": "ctl", "description": text, "admin": false, "expires": 0}),
        ));
        cases.push(bad(
            "POST",
            format!("{STACK_PATH}/tags"),
            json!({"name": "owner", "value": text}),
        ));
    }
    assert_refused_without_effect(&app, cases).await;
    // A newline is meaningful in a description and stays accepted there.
    let (st, body) = app
        .post(
            &org("/teams/pulumi"),
            Who::Admin,
            json!({"name": "lines", "displayName": "Lines", "description": "one\ntwo"}),
        )
        .await;
    assert_ok(st, &body, "a two-line description");
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_400_in_the_error_shape() {
    let app = TestApp::start().await;
    for path in [
        "/api/orgs/%FF",
        "/api/stacks/acme/%C3%28/dev",
        "/api/orgs/acme/teams/%80x",
    ] {
        let (st, body) = app.call("GET", path, Who::Admin, None).await;
        assert_error(st, &body, 400, path);
    }
}
