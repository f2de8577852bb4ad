//! `GET /api/user` for every principal kind, field for field, and after a change to the
//! facts it shows (its body is rendered once per cache entry).

use serde_json::{json, Value};

use crate::common::{assert_ok, TestApp, Who, ORG, OTHER_ORG, TEAM};

/// The body without `id` (a generated UUID), after checking that `id` is present.
async fn current_user(app: &TestApp, who: Who) -> Value {
    let (st, mut body) = app.get("/api/user", who).await;
    assert_ok(st, &body, "GET /api/user");
    let id = body
        .as_object_mut()
        .and_then(|o| o.remove("id"))
        .unwrap_or(Value::Null);
    assert!(
        id.as_str().is_some_and(|s| !s.is_empty()),
        "id missing: {body}"
    );
    body
}

fn org(name: &str, role: &str) -> Value {
    json!({"name": name, "githubLogin": name, "avatarUrl": "", "role": role})
}

fn fixed() -> Value {
    json!({"avatarUrl": "", "identities": [], "hasMFA": false, "isOrgManaged": false,
           "isManagedByMultiOrg": false})
}

fn with_fixed(mut v: Value) -> Value {
    if let (Some(o), Value::Object(f)) = (v.as_object_mut(), fixed()) {
        o.extend(f);
    }
    v
}

#[tokio::test]
async fn every_principal_kind_gets_its_documented_body() {
    let app = TestApp::start().await;
    let a = app.actors();
    let cases = [
        (
            Who::Admin,
            json!({"githubLogin": "alice", "name": "alice", "email": "alice@example.com",
                   "siteAdmin": true, "organizations": [org(ORG, "admin")]}),
        ),
        (
            Who::Member,
            json!({"githubLogin": "bob", "name": "bob", "email": "bob@example.com",
                   "siteAdmin": false, "organizations": [org(ORG, "member")]}),
        ),
        (
            Who::OrgMemberToken,
            json!({"githubLogin": ORG, "name": a.org_member_token.name, "email": "",
                   "organizations": [org(ORG, "member")],
                   "tokenInfo": {"name": a.org_member_token.name, "organization": ORG, "team": ""}}),
        ),
        (
            Who::OrgAdminToken,
            json!({"githubLogin": ORG, "name": a.org_admin_token.name, "email": "",
                   "organizations": [org(ORG, "admin")],
                   "tokenInfo": {"name": a.org_admin_token.name, "organization": ORG, "team": ""}}),
        ),
        (
            Who::TeamToken,
            json!({"githubLogin": TEAM, "name": a.team_token.name, "email": "",
                   "organizations": [org(ORG, "member")],
                   "tokenInfo": {"name": a.team_token.name, "organization": ORG, "team": TEAM}}),
        ),
    ];
    for (who, want) in cases {
        // Twice: the second answer comes from the rendered body of the cache entry.
        for _ in 0..2 {
            assert_eq!(
                current_user(&app, who.clone()).await,
                with_fixed(want.clone()),
                "{who:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_body_follows_membership_and_role_changes() {
    let app = TestApp::start().await;
    let before = current_user(&app, Who::Member).await;
    assert_eq!(before["organizations"], json!([org(ORG, "member")]));

    app.add_member_as(&Who::OtherAdmin, OTHER_ORG, "bob", "member")
        .await;
    app.patch_ok(
        &format!("/api/orgs/{ORG}/members/bob"),
        Who::Admin,
        json!({"role": "admin"}),
        "make bob an admin",
    )
    .await;

    let after = current_user(&app, Who::Member).await;
    let mut orgs = after["organizations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    orgs.sort_by_key(|o| o["name"].as_str().map(str::to_owned));
    assert_eq!(orgs, vec![org(ORG, "admin"), org(OTHER_ORG, "member")]);
}
