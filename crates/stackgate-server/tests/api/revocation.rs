//! Credentials stop working at once: deleted tokens (right after a cached success),
//! tokens of deleted teams, expired tokens; and a removed member no longer sees the org.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{assert_error, assert_ok, now, TestApp, Who, ORG, STACK_PATH, TEAM};

/// Uses `who` twice (the second time served from the auth cache), runs `revoke`, and
/// expects the very next request to be refused with 401.
async fn assert_revoked_at_once(app: &TestApp, who: Who, what: &str, revoke: (&str, String)) {
    for _ in 0..2 {
        let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who.clone()).await;
        assert_ok(st, &body, &format!("{what} before revocation"));
    }
    let (st, body) = app.call(revoke.0, &revoke.1, Who::Admin, None).await;
    assert_ok(st, &body, &format!("revoke {what}"));
    let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who.clone()).await;
    assert_error(st, &body, 401, &format!("{what} right after revocation"));
    let (st, body) = app.get("/api/user", who).await;
    assert_error(st, &body, 401, &format!("{what} on /api/user"));
}

#[tokio::test]
async fn deleting_a_token_revokes_it_immediately() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    assert_revoked_at_once(
        &app,
        Who::OrgMemberToken,
        "org token",
        (
            "DELETE",
            format!("/api/orgs/{ORG}/tokens/{}", a.org_member_token.id),
        ),
    )
    .await;
    assert_revoked_at_once(
        &app,
        Who::TeamToken,
        "team token",
        (
            "DELETE",
            format!("/api/orgs/{ORG}/teams/{TEAM}/tokens/{}", a.team_token.id),
        ),
    )
    .await;

    // A personal token, deleted by its owner.
    let (value, id) = app
        .personal_token(Who::Member, "laptop", "create personal token")
        .await;
    for _ in 0..2 {
        let (st, body) = app.get("/api/user", Who::Token(value.clone())).await;
        assert_ok(st, &body, "personal token before deletion");
    }
    let (st, body) = app
        .delete(&format!("/api/user/tokens/{id}"), Who::Member)
        .await;
    assert_ok(st, &body, "delete personal token");
    let (st, body) = app.get("/api/user", Who::Token(value)).await;
    assert_error(st, &body, 401, "deleted personal token");
    // Deleting it again: it no longer exists.
    let (st, body) = app
        .delete(&format!("/api/user/tokens/{id}"), Who::Member)
        .await;
    assert_error(st, &body, 404, "delete a deleted token");
    // Someone else's personal token cannot be deleted (nor its existence learned).
    let (st, body) = app
        .delete(
            &format!("/api/user/tokens/{}", a.admin.token_id),
            Who::Member,
        )
        .await;
    assert_error(st, &body, 404, "delete another user's token");
    let (st, body) = app.get("/api/user", Who::Admin).await;
    assert_ok(st, &body, "alice's token survived");
}

#[tokio::test]
async fn deleting_a_team_revokes_its_tokens() {
    let app = TestApp::start().await;
    let second = app.team_token_as(&Who::Admin, TEAM, "devs-ci-2", 0).await;
    for who in [Who::TeamToken, Who::from(&second)] {
        let (st, body) = app.get(STACK_PATH, who).await;
        assert_ok(st, &body, "team token reads its stack");
    }
    let (st, body) = app
        .delete(&format!("/api/orgs/{ORG}/teams/{TEAM}"), Who::Admin)
        .await;
    assert_ok(st, &body, "delete team");
    for who in [Who::TeamToken, Who::from(&second)] {
        let (st, body) = app.get(STACK_PATH, who.clone()).await;
        assert_error(st, &body, 401, "token of a deleted team");
        let (st, body) = app.get("/api/user", who).await;
        assert_error(st, &body, 401, "token of a deleted team on /api/user");
    }
    // The tokens are recorded as revoked too, not merely orphaned: an inventory of the
    // database (`stackgate copy`, an operator's query) must not show them as live.
    let mut tx = app.service.store().read().await.expect("read snapshot");
    for id in [&app.actors().team_token.id, &second.id] {
        let token = tx
            .token_by_id(&id.as_str().into())
            .await
            .expect("token_by_id")
            .expect("the token row is kept");
        assert!(
            token.deleted_at.is_some(),
            "token {id} of a deleted team is not marked deleted"
        );
    }
    drop(tx);
    // A new team of the same name does not revive them.
    app.create_team_as(&Who::Admin, TEAM).await;
    let (st, body) = app.get(STACK_PATH, Who::TeamToken).await;
    assert_error(st, &body, 401, "token of a deleted team after re-creation");
}

#[tokio::test]
async fn removing_a_member_hides_the_org_from_their_token() {
    let app = TestApp::start().await;
    let d = Who::TeamAdmin;
    for path in [format!("/api/orgs/{ORG}"), STACK_PATH.to_string()] {
        let (st, body) = app.get(&path, d.clone()).await;
        assert_ok(st, &body, "dave before removal");
    }
    let (st, body) = app
        .delete(&format!("/api/orgs/{ORG}/members/dave"), Who::OrgAdminToken)
        .await;
    assert_ok(st, &body, "remove dave");
    for path in [
        format!("/api/orgs/{ORG}"),
        format!("/api/orgs/{ORG}/members"),
        format!("/api/orgs/{ORG}/teams/{TEAM}"),
        STACK_PATH.to_string(),
        format!("{STACK_PATH}/teams"),
    ] {
        let (st, body) = app.get(&path, d.clone()).await;
        assert_error(st, &body, 404, &format!("removed member GET {path}"));
    }
    let (st, body) = app
        .post(
            &format!("/api/orgs/{ORG}/teams/{TEAM}/tokens"),
            d.clone(),
            json!({"name": "after-removal", "description": "", "expires": 0}),
        )
        .await;
    assert_error(st, &body, 404, "removed team admin creates a team token");
    // The token itself is still valid, the org just is not visible any more.
    let (st, body) = app.get("/api/user", d.clone()).await;
    assert_ok(st, &body, "dave's /api/user");
    assert_eq!(body["organizations"], json!([]), "{body}");
    // Removal dropped dave from the team: re-adding him does not restore it.
    app.add_member_as(&Who::Admin, ORG, "dave", "member").await;
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/members/dave/teams"), Who::Admin)
        .await;
    assert_ok(st, &body, "dave's teams");
    assert_eq!(body["teams"], json!([]), "{body}");
    let (st, body) = app
        .patch(
            &format!("/api/orgs/{ORG}/teams/{TEAM}"),
            d,
            json!({"memberAction": "add", "member": "bob"}),
        )
        .await;
    assert_error(st, &body, 403, "dave is no longer team admin");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::start().await;
    let expires = now() + 2;
    let tok = app
        .org_token_as(&Who::Admin, ORG, "two-seconds", false, expires)
        .await;
    let who = Who::from(&tok);
    let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who.clone()).await;
    assert_ok(st, &body, "token before expiry");
    // Poll, bounded: the token must start failing within ~4 s, never before `expires`.
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who.clone()).await;
        if st == 401 {
            assert_error(st, &body, 401, "expired token");
            assert!(now() >= expires, "refused before its expiry");
            break;
        }
        assert_ok(st, &body, "token before expiry");
        assert!(
            Instant::now() < deadline,
            "token still accepted 4 s after creation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Still listed, with its expiry, for the admins.
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/tokens"), Who::Admin)
        .await;
    assert_ok(st, &body, "list tokens");
    let listed = body["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["id"] == tok.id.as_str())
        .cloned()
        .expect("the expired token is listed");
    assert_eq!(listed["expires"], expires);
}
