//! The audit log records every change with its event id and the token that acted, and
//! every 403 as an auth-failure event (but nothing in the target org for a 404); paging
//! of members, stacks and audit events returns every item once; `lastUsed` is kept.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{assert_error, assert_ok, now, TestApp, Who, ORG, STACK_PATH, TEAM};

/// Runs one request that must succeed, then checks the single event it added to acme.
async fn expect_event(
    app: &TestApp,
    (method, path, body): (&str, String, Option<Value>),
    who: &Who,
    event: &str,
    token: (&str, &str),
    login: &str,
) {
    let before = app.audit().await.len();
    let (st, resp) = app.call(method, &path, who.clone(), body).await;
    assert_ok(st, &resp, &format!("{method} {path}"));
    let events = app.audit().await;
    let new = &events[..events.len() - before];
    assert_eq!(new.len(), 1, "{method} {path}: {new:?}");
    let e = &new[0];
    assert_eq!(e["event"], event, "{method} {path}: {e}");
    assert_eq!(e["tokenID"], token.0, "{event}: {e}");
    assert_eq!(e["tokenName"], token.1, "{event}: {e}");
    assert_eq!(e["user"]["githubLogin"], login, "{event}: {e}");
    assert_eq!(e["authFailure"], false, "{event}: {e}");
    assert!(
        e["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{event}: {e}"
    );
    assert!(
        e["timestamp"].as_i64().is_some_and(|t| t > 0),
        "{event}: {e}"
    );
}

#[tokio::test]
async fn every_change_is_recorded_with_the_token_that_made_it() {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    let a = app.actors().clone();
    let t = Who::OrgAdminToken;
    let by_token = (a.org_admin_token.id.as_str(), "ci-admin");
    let by_alice = (a.admin.token_id.as_str(), "");
    let team = format!("/api/orgs/{ORG}/teams");
    let steps: Vec<(&str, String, Option<Value>, &str)> = vec![
        (
            "POST",
            format!("/api/orgs/{ORG}/members/frank"),
            Some(json!({"role": "member"})),
            "member-added",
        ),
        (
            "PATCH",
            format!("/api/orgs/{ORG}/members/frank"),
            Some(json!({"role": "billing-manager"})),
            "member-role-changed",
        ),
        (
            "DELETE",
            format!("/api/orgs/{ORG}/members/frank"),
            None,
            "member-removed",
        ),
        (
            "POST",
            format!("{team}/pulumi"),
            Some(json!({"name": "ops", "displayName": "Ops", "description": ""})),
            "team-created",
        ),
        (
            "PATCH",
            format!("{team}/ops"),
            Some(json!({"memberAction": "add", "member": "bob"})),
            "team-updated",
        ),
        (
            "PATCH",
            format!("{team}/ops"),
            Some(
                json!({"addStackPermission": {"projectName": "proj", "stackName": "dev", "permission": 101}}),
            ),
            "team-updated",
        ),
        (
            "PATCH",
            format!("/api/orgs/{ORG}"),
            Some(json!({"setMembersCanCreateTeams": false})),
            "organization-settings-changed",
        ),
        (
            "POST",
            "/api/stacks/acme/proj".to_string(),
            Some(json!({"stackName": "audited"})),
            "stack-created",
        ),
        (
            "PATCH",
            "/api/stacks/acme/proj/audited/tags".to_string(),
            Some(json!({"a": "1"})),
            "stack-tags-changed",
        ),
        (
            "POST",
            "/api/stacks/acme/proj/audited/tags".to_string(),
            Some(json!({"name": "b", "value": "2"})),
            "stack-tags-changed",
        ),
        (
            "DELETE",
            "/api/stacks/acme/proj/audited/tags/a".to_string(),
            None,
            "stack-tags-changed",
        ),
        (
            "PATCH",
            "/api/console/stacks/acme/proj/audited/teams/ops".to_string(),
            Some(json!({"permissions": 102})),
            "stack-team-permission-changed",
        ),
        (
            "DELETE",
            "/api/stacks/acme/proj/audited".to_string(),
            None,
            "stack-deleted",
        ),
    ];
    // An org token's events carry the org's machine identity, `org:<org>`.
    let org_actor = format!("org:{ORG}");
    for (method, path, body, event) in steps {
        expect_event(&app, (method, path, body), &t, event, by_token, &org_actor).await;
    }

    // Team tokens and team deletion, by the admin token.
    let before = app.audit().await.len();
    let tok = app.team_token_as(&t, "ops", "ops-ci", 0).await;
    let events = app.audit().await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(events[0]["event"], "team-token-created");
    assert_eq!(events[0]["tokenID"], by_token.0);
    expect_event(
        &app,
        ("DELETE", format!("{team}/ops/tokens/{}", tok.id), None),
        &t,
        "team-token-deleted",
        by_token,
        &org_actor,
    )
    .await;
    expect_event(
        &app,
        ("DELETE", format!("{team}/ops"), None),
        &t,
        "team-deleted",
        by_token,
        &org_actor,
    )
    .await;

    // Org tokens, by alice's personal token: tokenID set, tokenName empty.
    let before = app.audit().await.len();
    let org_tok = app
        .org_token_as(&Who::Admin, ORG, "audited", false, 0)
        .await;
    let events = app.audit().await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(events[0]["event"], "organization-token-created");
    assert_eq!(events[0]["tokenID"], by_alice.0);
    assert_eq!(events[0]["tokenName"], "");
    assert_eq!(events[0]["user"]["githubLogin"], "alice");
    expect_event(
        &app,
        (
            "DELETE",
            format!("/api/orgs/{ORG}/tokens/{}", org_tok.id),
            None,
        ),
        &Who::Admin,
        "organization-token-deleted",
        by_alice,
        "alice",
    )
    .await;
    // A team token acting: its team's identity and its own name.
    expect_event(
        &app,
        (
            "PATCH",
            format!("{STACK_PATH}/tags"),
            Some(json!({"by": "team"})),
        ),
        &Who::TeamToken,
        "stack-tags-changed",
        (a.team_token.id.as_str(), "devs-ci"),
        &format!("team:{TEAM}"),
    )
    .await;
}

#[tokio::test]
async fn refusals_are_recorded_as_auth_failures_and_hidden_targets_are_not() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    // 403 for a missing org role.
    let before = app.audit().await.len();
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/auditlogs"), Who::Member)
        .await;
    assert_error(st, &body, 403, "member reads the audit log");
    // 403 for a missing stack level (org default 101 = read).
    let (st, body) = app
        .patch(
            &format!("{STACK_PATH}/tags"),
            Who::OrgMemberToken,
            json!({"x": "y"}),
        )
        .await;
    assert_error(st, &body, 403, "reader writes tags");
    let events = app.audit().await;
    assert_eq!(events.len(), before + 2, "{events:?}");
    let (stack_fail, role_fail) = (&events[0], &events[1]);
    assert_eq!(role_fail["event"], "auth-failure-organization-role");
    assert_eq!(role_fail["authFailure"], true);
    assert_eq!(role_fail["user"]["githubLogin"], "bob");
    assert_eq!(role_fail["tokenID"], a.member.token_id.as_str());
    assert_eq!(stack_fail["event"], "auth-failure-stack-permission");
    assert_eq!(stack_fail["authFailure"], true);
    assert_eq!(stack_fail["tokenID"], a.org_member_token.id.as_str());
    assert_eq!(stack_fail["tokenName"], "ci-member");
    assert!(
        stack_fail["description"]
            .as_str()
            .is_some_and(|d| d.contains("acme/proj/dev")),
        "{stack_fail}"
    );

    // 404s: principals who may not see the target leave no trace in acme's log.
    app.patch_ok(
        "/api/orgs/acme",
        Who::Admin,
        json!({"setDefaultStackPermission": 0}),
        "default 0",
    )
    .await;
    let before = app.audit().await;
    for (who, method, path, body) in [
        (Who::Outsider, "GET", format!("/api/orgs/{ORG}"), None),
        (
            Who::Outsider,
            "GET",
            format!("/api/orgs/{ORG}/auditlogs"),
            None,
        ),
        (
            Who::OtherOrgToken,
            "DELETE",
            format!("/api/orgs/{ORG}/members/bob"),
            None,
        ),
        (Who::OtherOrgToken, "GET", STACK_PATH.to_string(), None),
        (Who::Member, "GET", STACK_PATH.to_string(), None),
        (
            Who::Member,
            "PATCH",
            format!("{STACK_PATH}/tags"),
            Some(json!({"x": "y"})),
        ),
        (Who::Billing, "DELETE", STACK_PATH.to_string(), None),
    ] {
        let (st, resp) = app.call(method, &path, who.clone(), body).await;
        assert_error(st, &resp, 404, &format!("{who:?} {method} {path}"));
    }
    assert_eq!(app.audit().await, before, "a 404 was written to acme's log");
    // Nor did the outsider's own org record anything about acme.
    let globex = app.audit_as(&Who::OtherAdmin, "globex").await;
    assert!(
        !globex.iter().any(|e| e["authFailure"] == true),
        "{globex:?}"
    );
}

/// Follows `continuationToken` from `first`; returns the items of every page.
async fn pages(app: &TestApp, who: &Who, first: &str, list_key: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut path = first.to_string();
    let mut count = 0;
    loop {
        count += 1;
        assert!(count < 100, "paging does not end");
        let (st, body) = app.get(&path, who.clone()).await;
        assert_ok(st, &body, &path);
        items.extend(body[list_key].as_array().expect("a list").iter().cloned());
        match body["continuationToken"].as_str() {
            Some(c) if !c.is_empty() => path = format!("{first}&continuationToken={c}"),
            _ => return (items, count),
        }
    }
}

#[tokio::test]
async fn paging_returns_every_item_exactly_once() {
    let app = TestApp::start().await;
    for i in 0..8 {
        app.new_member(&format!("m{i:02}"), "member").await;
        app.create_stack_as(&Who::Admin, &format!("p{}", i % 3), &format!("s{i}"))
            .await;
    }

    // Members: 4 fixture members + 8.
    let (all, _) = pages(
        &app,
        &Who::Member,
        "/api/orgs/acme/members?pageSize=1000",
        "members",
    )
    .await;
    assert_eq!(all.len(), 12);
    let logins = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|m| m["user"]["githubLogin"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (paged, n) = pages(
        &app,
        &Who::Member,
        "/api/orgs/acme/members?pageSize=5",
        "members",
    )
    .await;
    assert!(n >= 3, "5 per page for 12 members: {n} pages");
    assert_eq!(logins(&paged), logins(&all));
    assert_eq!(
        logins(&paged).into_iter().collect::<BTreeSet<_>>().len(),
        12
    );

    // Stacks across orgs, for a user and for an org token.
    for who in [Who::Admin, Who::OrgMemberToken] {
        let (all, _) = pages(&app, &who, "/api/user/stacks?maxResults=1000", "stacks").await;
        assert_eq!(all.len(), 9, "{who:?}: {all:?}");
        let (paged, n) = pages(&app, &who, "/api/user/stacks?maxResults=2", "stacks").await;
        assert!(n >= 5, "{who:?}: 2 per page for 9 stacks: {n} pages");
        assert_eq!(paged, all, "{who:?}");
    }
    // A user in two orgs sees both orgs' stacks in one listing.
    app.add_member_as(&Who::OtherAdmin, "globex", "bob", "member")
        .await;
    app.create_stack_in(&Who::OtherAdmin, "globex", "g", "s")
        .await;
    let (paged, _) = pages(
        &app,
        &Who::Member,
        "/api/user/stacks?maxResults=4",
        "stacks",
    )
    .await;
    let names: Vec<String> = paged
        .iter()
        .map(|s| s["links"]["self"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 10, "{names:?}");
    assert!(
        names.contains(&"/api/stacks/globex/g/s".to_string()),
        "{names:?}"
    );

    // Audit events.
    let (all, _) = pages(
        &app,
        &Who::Admin,
        "/api/orgs/acme/auditlogs/v2?pageSize=1000",
        "auditLogEvents",
    )
    .await;
    assert!(all.len() > 20, "{}", all.len());
    for size in [1, 4, 7] {
        let first = format!("/api/orgs/acme/auditlogs/v2?pageSize={size}");
        let (paged, n) = pages(&app, &Who::Admin, &first, "auditLogEvents").await;
        assert!(n >= all.len() / size, "pageSize {size}: {n} pages");
        assert_eq!(paged, all, "pageSize {size}");
    }
    let (v1, _) = pages(
        &app,
        &Who::Admin,
        "/api/orgs/acme/auditlogs?pageSize=3",
        "auditLogEvents",
    )
    .await;
    assert_eq!(v1, all, "v1 paging");
}

#[tokio::test]
async fn last_used_is_set_when_a_token_is_used() {
    let app = TestApp::start().await;
    let tok = app.org_token_as(&Who::Admin, ORG, "fresh", false, 0).await;
    let last_used = |body: &Value, id: &str| -> i64 {
        body["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .find(|t| t["id"] == id)
            .and_then(|t| t["lastUsed"].as_i64())
            .expect("the token is listed with lastUsed")
    };
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/tokens"), Who::Admin)
        .await;
    assert_ok(st, &body, "list");
    assert_eq!(last_used(&body, &tok.id), 0, "unused token");
    let start = now();
    let (st, body) = app.get(&format!("/api/orgs/{ORG}"), Who::from(&tok)).await;
    assert_ok(st, &body, "use the token");
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/tokens"), Who::Admin)
        .await;
    assert_ok(st, &body, "list");
    let used = last_used(&body, &tok.id);
    assert!(
        used >= start && used <= now(),
        "lastUsed {used}, used at {start}"
    );

    // Personal tokens too (alice's token has been used by the listings above).
    let (st, body) = app.get("/api/user/tokens", Who::Admin).await;
    assert_ok(st, &body, "personal tokens");
    assert!(last_used(&body, &app.actors().admin.token_id) > 0, "{body}");
}
