//! The org's maximum token lifetime (`setMaxAccessTokenExpiryDays`): new org and team
//! tokens must expire inside the cap (400 otherwise), and any token outliving the cap is
//! answered 403 — naming the org and the cap — when used against that org.

use serde_json::{json, Value};

use crate::common::{assert_error, assert_ok, now, TestApp, Who, DAY, ORG, TEAM};

async fn create(app: &TestApp, who: &Who, path: &str, name: &str, expires: Value) -> (u16, Value) {
    app.post(
        path,
        who.clone(),
        json!({"name": name, "description": "", "admin": false, "expires": expires}),
    )
    .await
}

#[tokio::test]
async fn max_token_expiry_policy() {
    let app = TestApp::start().await;
    // Alice gets a personal token inside the coming cap before setting it: her
    // never-expiring token will be refused against acme once the cap is on.
    let body = app
        .post_ok(
            "/api/user/tokens",
            Who::Admin,
            json!({"description": "short", "expires": now() + DAY}),
            "short-lived personal token",
        )
        .await;
    let short = Who::Token(body["tokenValue"].as_str().expect("value").to_string());

    let body = app
        .patch_ok(
            &format!("/api/orgs/{ORG}"),
            Who::Admin,
            json!({"setMaxAccessTokenExpiryDays": 30}),
            "set the cap",
        )
        .await;
    assert_eq!(body["maxAccessTokenExpiryDays"], 30, "{body}");

    // New org and team tokens must expire within the cap.
    let org_path = format!("/api/orgs/{ORG}/tokens");
    let team_path = format!("/api/orgs/{ORG}/teams/{TEAM}/tokens");
    let audit_before = app.audit_as(&short, ORG).await.len();
    for path in [&org_path, &team_path] {
        for (i, expires) in [json!(0), json!(null), json!(now() + 60 * DAY)]
            .into_iter()
            .enumerate()
        {
            let (st, body) =
                create(&app, &short, path, &format!("nope-{i}"), expires.clone()).await;
            assert_error(st, &body, 400, &format!("{path} expires {expires}"));
        }
    }
    assert_eq!(
        app.audit_as(&short, ORG).await.len(),
        audit_before,
        "refused creations wrote events"
    );
    for (path, name) in [(&org_path, "inside-org"), (&team_path, "inside-team")] {
        let (st, body) = create(&app, &short, path, name, json!(now() + 10 * DAY)).await;
        assert_ok(st, &body, &format!("{path} inside the cap"));
        let value = body["tokenValue"].as_str().expect("value").to_string();
        let (st, body) = app
            .get(&format!("/api/orgs/{ORG}"), Who::Token(value))
            .await;
        assert_ok(st, &body, "a token inside the cap is accepted");
    }

    // Tokens outliving the cap are refused against acme, naming the org and the cap.
    for (who, what) in [
        (Who::Admin, "admin's never-expiring personal token"),
        (Who::Member, "member's never-expiring personal token"),
        (Who::OrgAdminToken, "never-expiring org token"),
        (Who::TeamToken, "never-expiring team token"),
    ] {
        let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who).await;
        assert_error(st, &body, 403, what);
        let msg = body["message"].as_str().unwrap_or("");
        assert!(msg.contains("acme") && msg.contains("30"), "{what}: {msg}");
    }
    // ... and that refusal is on the record.
    let events = app.audit_as(&short, ORG).await;
    let newest = &events[0];
    assert_eq!(
        newest["event"], "auth-failure-organization-role",
        "{newest}"
    );
    assert_eq!(newest["authFailure"], true, "{newest}");

    // The cap concerns acme only.
    let (st, body) = app.get("/api/orgs/globex", Who::Outsider).await;
    assert_ok(st, &body, "erin in globex");
    let (st, body) = app.get("/api/user", Who::Admin).await;
    assert_ok(st, &body, "alice's /api/user");

    // Clearing the cap restores the never-expiring tokens.
    let body = app
        .patch_ok(
            &format!("/api/orgs/{ORG}"),
            short,
            json!({"setMaxAccessTokenExpiryDays": 0}),
            "clear the cap",
        )
        .await;
    assert!(body.get("maxAccessTokenExpiryDays").is_none(), "{body}");
    let (st, body) = app.get(&format!("/api/orgs/{ORG}"), Who::Admin).await;
    assert_ok(st, &body, "alice after clearing the cap");
}

#[tokio::test]
async fn the_cap_also_applies_to_the_cross_org_stack_listing() {
    let app = TestApp::start().await;
    app.patch_ok(
        &format!("/api/orgs/{ORG}"),
        Who::Admin,
        json!({"setMaxAccessTokenExpiryDays": 30}),
        "set the cap",
    )
    .await;
    for who in [Who::Member, Who::OrgAdminToken, Who::TeamToken] {
        // The stack itself is refused ...
        let (st, body) = app.get(crate::common::STACK_PATH, who.clone()).await;
        assert_error(st, &body, 403, &format!("{who:?} GET stack"));
        // ... so listing the org's stacks must be refused too, naming org and cap.
        let (st, body) = app
            .get("/api/user/stacks?organization=acme", who.clone())
            .await;
        assert_error(st, &body, 403, &format!("{who:?} lists acme's stacks"));
        let msg = body["message"].as_str().unwrap_or("");
        assert!(msg.contains("acme") && msg.contains("30"), "{msg}");
    }
}
