//! Failed authentication: a revoked or expired token is recorded in its org(s) once a
//! minute; an unknown token is recorded in no org.

use serde_json::Value;
use stackgate_core::token::TokenValue;
use stackgate_store::{Token, TokenKind};

use crate::common::{
    assert_error, assert_ok, forged_token, now, TestApp, Who, ORG, OTHER_ORG, TEAM,
};

/// `user-login-failed` events of `org` naming `token_id`.
async fn login_failures(app: &TestApp, reader: &Who, org: &str, token_id: &str) -> usize {
    app.audit_as(reader, org)
        .await
        .iter()
        .filter(|e| e["event"] == "user-login-failed" && e["tokenID"] == token_id)
        .count()
}

/// Inserts an org token of `org` that expired ten seconds ago; returns (value, id).
async fn expired_org_token(app: &TestApp, org: &str) -> (String, String) {
    let value = TokenValue::generate();
    let store = app.service.store();
    let mut tx = store.begin().await.expect("begin");
    let org = tx
        .org_by_name(org)
        .await
        .expect("read org")
        .expect("org exists");
    let id = "00000000-0000-4000-8000-0000000e0001".to_string();
    let t = now();
    tx.insert_token(&Token {
        id: id.clone().into(),
        kind: TokenKind::Organization,
        hash: value.hash().0,
        name: "expired-ci".into(),
        description: String::new(),
        user_id: None,
        org_id: Some(org.id),
        team_id: None,
        admin: false,
        created_by: "alice".into(),
        created: t - 100,
        expires: t - 10,
        last_used: 0,
        deleted_at: None,
    })
    .await
    .expect("insert an expired token");
    tx.commit().await.expect("commit");
    (value.expose().to_string(), id)
}

#[tokio::test]
async fn revoked_or_expired_tokens_record_one_login_failure_a_minute() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    app.add_member_as(&Who::OtherAdmin, OTHER_ORG, "bob", "member")
        .await;

    // A revoked org token (its org: acme).
    let org_tok = app
        .org_token_as(&Who::Admin, ORG, "short-lived", false, 0)
        .await;
    let (st, body) = app
        .delete(
            &format!("/api/orgs/{ORG}/tokens/{}", org_tok.id),
            Who::Admin,
        )
        .await;
    assert_ok(st, &body, "revoke the org token");
    // A revoked team token (acme).
    let (st, body) = app
        .delete(
            &format!("/api/orgs/{ORG}/teams/{TEAM}/tokens/{}", a.team_token.id),
            Who::Admin,
        )
        .await;
    assert_ok(st, &body, "revoke the team token");
    // A revoked personal token of bob (his orgs: acme and globex).
    let (bob_value, bob_id) = app.personal_token(Who::Member, "lost", "bob's token").await;
    let (st, body) = app
        .delete(&format!("/api/user/tokens/{bob_id}"), Who::Member)
        .await;
    assert_ok(st, &body, "revoke bob's token");
    // An expired org token (acme).
    let (expired_value, expired_id) = expired_org_token(&app, ORG).await;

    let cases: Vec<(&str, String, String, Vec<&str>)> = vec![
        (
            "revoked org token",
            org_tok.token.clone(),
            org_tok.id.clone(),
            vec![ORG],
        ),
        (
            "revoked team token",
            a.team_token.token.clone(),
            a.team_token.id.clone(),
            vec![ORG],
        ),
        (
            "revoked personal token",
            bob_value,
            bob_id,
            vec![ORG, OTHER_ORG],
        ),
        ("expired org token", expired_value, expired_id, vec![ORG]),
    ];
    for (what, value, id, orgs) in cases {
        let reader = |org: &str| {
            if org == ORG {
                Who::Admin
            } else {
                Who::OtherAdmin
            }
        };
        for org in &orgs {
            assert_eq!(
                login_failures(&app, &reader(org), org, &id).await,
                0,
                "{what}"
            );
        }
        // Two failed requests within a minute: one event per org.
        for path in [format!("/api/orgs/{ORG}"), "/api/user".to_string()] {
            let (st, body) = app.get(&path, Who::Token(value.clone())).await;
            assert_error(st, &body, 401, &format!("{what}: {path}"));
        }
        for org in &orgs {
            let events = app.audit_as(&reader(org), org).await;
            let failures: Vec<&Value> = events
                .iter()
                .filter(|e| e["event"] == "user-login-failed" && e["tokenID"] == id.as_str())
                .collect();
            assert_eq!(failures.len(), 1, "{what} in {org}: {failures:?}");
            let e = failures[0];
            assert_eq!(e["sourceIP"], "127.0.0.1", "{what}: {e}");
            assert!(
                e["description"].as_str().is_some_and(|d| d.contains(&id)),
                "{what}: {e}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_token_is_recorded_in_no_org() {
    let app = TestApp::start().await;
    let acme = app.audit().await;
    let globex = app.audit_as(&Who::OtherAdmin, OTHER_ORG).await;
    let unknown = forged_token("fedcba9876543210fedcba9876543210");
    for path in [format!("/api/orgs/{ORG}"), format!("/api/orgs/{OTHER_ORG}")] {
        let (st, body) = app.get(&path, Who::Token(unknown.clone())).await;
        assert_error(st, &body, 401, "unknown token");
    }
    assert_eq!(app.audit().await, acme, "acme's log changed");
    assert_eq!(
        app.audit_as(&Who::OtherAdmin, OTHER_ORG).await,
        globex,
        "globex's log changed"
    );
}
