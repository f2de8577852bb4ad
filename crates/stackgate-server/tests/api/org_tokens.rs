//! The admin-scope list of the announcement: an admin-scope org token may transfer a
//! stack, manage members and their roles, team membership, team stack grants and team
//! tokens, and read the audit log; a member-scope org token gets 403 on each; and even
//! the admin scope can never create or delete org tokens.

use serde_json::{json, Value};

use crate::common::{assert_error, assert_ok, TestApp, Who, ORG, STACK_PATH, TEAM};

/// Names of the members of team `devs`, with their team role.
async fn team_members(app: &TestApp) -> Vec<(String, String)> {
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/teams/{TEAM}"), Who::Admin)
        .await;
    assert_ok(st, &body, "get team");
    body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["githubLogin"].as_str().unwrap_or("").to_string(),
                m["role"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn member_role(app: &TestApp, login: &str) -> Option<String> {
    let (st, body) = app
        .get(
            &format!("/api/orgs/{ORG}/members?pageSize=1000"),
            Who::Admin,
        )
        .await;
    assert_ok(st, &body, "list members");
    body["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["githubLogin"] == login)
        .map(|m| m["role"].as_str().unwrap_or("").to_string())
}

async fn team_grants(app: &TestApp) -> Vec<(String, i64)> {
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/teams/{TEAM}"), Who::Admin)
        .await;
    assert_ok(st, &body, "get team");
    body["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            (
                format!(
                    "{}/{}",
                    s["projectName"].as_str().unwrap_or(""),
                    s["stackName"].as_str().unwrap_or("")
                ),
                s["permission"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// `(path suffix, method, body)` of each admin action, in an order that works when each
/// one succeeds (frank is added first, removed last).
fn admin_actions(team_token_id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let team = format!("/api/orgs/{ORG}/teams/{TEAM}");
    let member = |action: &str| Some(json!({"memberAction": action, "member": "frank"}));
    vec![
        (
            "POST",
            format!("/api/orgs/{ORG}/members/frank"),
            Some(json!({"role": "member"})),
        ),
        (
            "PATCH",
            format!("/api/orgs/{ORG}/members/frank"),
            Some(json!({"role": "admin"})),
        ),
        (
            "PATCH",
            format!("/api/orgs/{ORG}/members/frank"),
            Some(json!({"role": "member"})),
        ),
        ("PATCH", team.clone(), member("add")),
        ("PATCH", team.clone(), member("promote")),
        ("PATCH", team.clone(), member("demote")),
        ("PATCH", team.clone(), member("remove")),
        (
            "PATCH",
            team.clone(),
            Some(
                json!({"addStackPermission": {"projectName": "proj", "stackName": "other", "permission": 101}}),
            ),
        ),
        (
            "PATCH",
            team.clone(),
            Some(
                json!({"editStackPermission": {"projectName": "proj", "stackName": "other", "permission": 103}}),
            ),
        ),
        (
            "PATCH",
            team.clone(),
            Some(json!({"removeStack": {"projectName": "proj", "stackName": "other"}})),
        ),
        (
            "POST",
            format!("{team}/tokens"),
            Some(json!({"name": "made-by-token", "description": "", "expires": 0})),
        ),
        ("DELETE", format!("{team}/tokens/{team_token_id}"), None),
        ("GET", format!("/api/orgs/{ORG}/auditlogs"), None),
        ("GET", format!("/api/orgs/{ORG}/auditlogs/v2"), None),
        (
            "POST",
            "/api/stacks/acme/proj/other/transfer".to_string(),
            Some(json!({"toOrg": "globex"})),
        ),
        ("DELETE", format!("/api/orgs/{ORG}/members/frank"), None),
    ]
}

/// Both scopes face the same setup: user frank exists, stack `proj/other` exists, and
/// `globex` accepts transfers from `acme`.
async fn setup() -> TestApp {
    let app = TestApp::start().await;
    app.new_user("frank").await;
    app.create_stack_as(&Who::Admin, "proj", "other").await;
    app.patch_ok(
        "/api/orgs/globex",
        Who::OtherAdmin,
        json!({"setAcceptStackTransfersFrom": ["acme"]}),
        "globex accepts transfers from acme",
    )
    .await;
    app
}

#[tokio::test]
async fn admin_scope_org_token_performs_every_org_admin_action() {
    let app = setup().await;
    let t = Who::OrgAdminToken;
    let team_token_id = app.actors().team_token.id.clone();
    let team_token = Who::TeamToken;
    for (i, (method, path, body)) in admin_actions(&team_token_id).into_iter().enumerate() {
        let (st, resp) = app.call(method, &path, t.clone(), body.clone()).await;
        assert_ok(st, &resp, &format!("#{i} {method} {path} {body:?}"));
        // The effect is visible to the org's admin.
        match i {
            0 => assert_eq!(member_role(&app, "frank").await.as_deref(), Some("member")),
            1 => assert_eq!(member_role(&app, "frank").await.as_deref(), Some("admin")),
            2 => assert_eq!(member_role(&app, "frank").await.as_deref(), Some("member")),
            3 => assert!(team_members(&app)
                .await
                .contains(&("frank".into(), "member".into()))),
            4 => assert!(team_members(&app)
                .await
                .contains(&("frank".into(), "admin".into()))),
            5 => assert!(team_members(&app)
                .await
                .contains(&("frank".into(), "member".into()))),
            6 => assert!(!team_members(&app).await.iter().any(|(l, _)| l == "frank")),
            7 => assert!(team_grants(&app)
                .await
                .contains(&("proj/other".into(), 101))),
            8 => assert!(team_grants(&app)
                .await
                .contains(&("proj/other".into(), 103))),
            9 => assert!(!team_grants(&app)
                .await
                .iter()
                .any(|(s, _)| s == "proj/other")),
            10 => assert!(resp["tokenValue"]
                .as_str()
                .is_some_and(|v| v.starts_with("pul-"))),
            11 => {
                let (st, body) = app.get(STACK_PATH, team_token.clone()).await;
                assert_error(st, &body, 401, "the deleted team token");
            }
            12 | 13 => assert!(
                resp["auditLogEvents"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                "{resp}"
            ),
            14 => {
                let (st, body) = app
                    .get("/api/stacks/globex/proj/other", Who::OtherAdmin)
                    .await;
                assert_ok(st, &body, "the stack arrived in globex");
            }
            15 => assert_eq!(member_role(&app, "frank").await, None),
            _ => unreachable!("one check per action"),
        }
    }
    // Listing org tokens is part of the admin scope too.
    let (st, body) = app.get(&format!("/api/orgs/{ORG}/tokens"), t).await;
    assert_ok(st, &body, "list org tokens");
}

#[tokio::test]
async fn member_scope_org_token_is_refused_every_org_admin_action() {
    let app = setup().await;
    let t = Who::OrgMemberToken;
    let team_token_id = app.actors().team_token.id.clone();
    let before = app.snapshot().await;
    let audit_before = app.audit().await.len();
    let actions = admin_actions(&team_token_id);
    for (method, path, body) in &actions {
        let (st, resp) = app.call(method, path, t.clone(), body.clone()).await;
        assert_error(
            st,
            &resp,
            403,
            &format!("member token: {method} {path} {body:?}"),
        );
    }
    // Nothing changed; each refusal is one auth-failure event.
    let mut after = app.snapshot().await;
    let events = app.audit().await;
    let new = &events[..events.len() - audit_before];
    assert_eq!(new.len(), actions.len(), "{new:?}");
    for e in new {
        assert_eq!(e["authFailure"], true, "{e}");
        assert_eq!(e["tokenName"], "ci-member", "{e}");
    }
    let mut before = before;
    for s in [&mut before, &mut after] {
        s.as_object_mut().map(|o| o.remove("auditEvents"));
    }
    assert_eq!(before, after);
    // The token itself still works for what a member may do.
    let (st, body) = app.get(&format!("/api/orgs/{ORG}/members"), t).await;
    assert_ok(st, &body, "member token lists members");
}

#[tokio::test]
async fn admin_scope_org_token_cannot_create_or_delete_org_tokens() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    let t = Who::OrgAdminToken;
    for (name, admin) in [("from-admin", true), ("from-admin-2", false)] {
        let (st, body) = app
            .post(
                &format!("/api/orgs/{ORG}/tokens"),
                t.clone(),
                json!({"name": name, "description": "", "admin": admin, "expires": 0}),
            )
            .await;
        assert_error(st, &body, 403, "admin token creates an org token");
    }
    for id in [&a.org_member_token.id, &a.org_admin_token.id] {
        let (st, body) = app
            .delete(&format!("/api/orgs/{ORG}/tokens/{id}"), t.clone())
            .await;
        assert_error(st, &body, 403, "admin token deletes an org token");
    }
    // Both targets still work, and an admin user can do what the token could not.
    for who in [Who::OrgMemberToken, Who::OrgAdminToken] {
        let (st, body) = app.get(&format!("/api/orgs/{ORG}"), who).await;
        assert_ok(st, &body, "token still valid");
    }
    let made = app
        .org_token_as(&Who::Admin, ORG, "from-admin", true, 0)
        .await;
    let (st, body) = app
        .delete(&format!("/api/orgs/{ORG}/tokens/{}", made.id), Who::Admin)
        .await;
    assert_ok(st, &body, "admin user deletes an org token");
}

#[tokio::test]
async fn team_admin_manages_their_team_but_not_its_grants() {
    let app = TestApp::start().await;
    let d = Who::TeamAdmin;
    app.team_member_as(&d, TEAM, "add", "bob").await;
    let tok = app.team_token_as(&d, TEAM, "dave-made", 0).await;
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/teams/{TEAM}/tokens"), d.clone())
        .await;
    assert_ok(st, &body, "team admin lists team tokens");
    let (st, body) = app
        .delete(
            &format!("/api/orgs/{ORG}/teams/{TEAM}/tokens/{}", tok.id),
            d.clone(),
        )
        .await;
    assert_ok(st, &body, "team admin deletes a team token");
    let (st, body) = app
        .patch(
            &format!("/api/orgs/{ORG}/teams/{TEAM}"),
            d.clone(),
            json!({"editStackPermission": {"projectName": "proj", "stackName": "dev", "permission": 103}}),
        )
        .await;
    assert_error(st, &body, 403, "team admin changes a grant");
    // Another team: dave is no admin there.
    app.create_team_as(&Who::Admin, "ops").await;
    let (st, body) = app
        .patch(
            &format!("/api/orgs/{ORG}/teams/ops"),
            d.clone(),
            json!({"memberAction": "add", "member": "dave"}),
        )
        .await;
    assert_error(st, &body, 403, "team admin of devs updates ops");
    // A plain team member (bob) cannot manage the team.
    let (st, body) = app
        .post(
            &format!("/api/orgs/{ORG}/teams/{TEAM}/tokens"),
            Who::Member,
            json!({"name": "bob-made", "description": "", "expires": 0}),
        )
        .await;
    assert_error(st, &body, 403, "plain team member creates a team token");
}

#[tokio::test]
async fn token_names_are_unique_across_org_and_team_tokens_deleted_included() {
    let app = TestApp::start().await;
    for (path, name) in [
        (format!("/api/orgs/{ORG}/tokens"), "devs-ci"),
        (format!("/api/orgs/{ORG}/teams/{TEAM}/tokens"), "ci-member"),
    ] {
        let (st, body) = app
            .post(
                &path,
                Who::Admin,
                json!({"name": name, "description": "", "expires": 0}),
            )
            .await;
        assert_error(st, &body, 409, &format!("reuse {name}"));
    }
    let t = app
        .org_token_as(&Who::Admin, ORG, "short-lived", false, 0)
        .await;
    let (st, body) = app
        .delete(&format!("/api/orgs/{ORG}/tokens/{}", t.id), Who::Admin)
        .await;
    assert_ok(st, &body, "delete");
    let (st, body) = app
        .post(
            &format!("/api/orgs/{ORG}/tokens"),
            Who::Admin,
            json!({"name": "short-lived", "description": "", "expires": 0}),
        )
        .await;
    assert_error(st, &body, 409, "reuse a deleted token's name");
    // Another org may use the same name.
    app.org_token_as(&Who::OtherAdmin, "globex", "short-lived", false, 0)
        .await;
}
