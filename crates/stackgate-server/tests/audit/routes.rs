//! Every mutating route of the table writes its audit event; reads write nothing, except
//! exports, which write `audit-log-exported`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{header, Request};
use serde_json::{json, Value};

use crate::common::{
    assert_covers, assert_ok, concrete, events_named, matches, routes, send_raw, TestApp, Who, ORG,
    OTHER_ORG, TEAM,
};

const THIRD_ORG: &str = "initech";
const TRANSFERRED: &str = "stack-transferred-to-organization";

fn is_mutating(method: &str) -> bool {
    method != "GET" && method != "HEAD"
}

/// Who reads each org's log in [`coverage_fixture`] (an admin of that org).
struct Readers {
    third_admin: Who,
}

impl Readers {
    fn of(&self, org: &str) -> Who {
        match org {
            ORG => Who::Admin,
            OTHER_ORG => Who::OtherAdmin,
            THIRD_ORG => self.third_admin.clone(),
            other => panic!("no reader for org {other}"),
        }
    }
}

struct Case {
    path: String,
    who: Who,
    body: Option<Value>,
    /// `(org, event id)`: each org must gain at least one event with that id.
    expect: Vec<(&'static str, &'static str)>,
}

fn case(
    path: impl Into<String>,
    who: Who,
    body: Option<Value>,
    expect: &[(&'static str, &'static str)],
) -> Case {
    Case {
        path: path.into(),
        who,
        body,
        expect: expect.to_vec(),
    }
}

/// What the cases need beyond the default fixture. Every case has its own target, so
/// the cases do not depend on the order they run in.
struct Extra {
    readers: Readers,
    bob_old_token: String,
    old_team_token: String,
    old_org_token: String,
}

async fn coverage_fixture(app: &TestApp) -> Extra {
    let a = Who::Admin;
    // bob belongs to two orgs: his personal token events go to both.
    app.add_member_as(&Who::OtherAdmin, OTHER_ORG, "bob", "member")
        .await;
    let body = app
        .post_ok(
            "/api/user/tokens",
            Who::Member,
            json!({"description": "old laptop", "expires": 0}),
            "bob's personal token",
        )
        .await;
    let bob_old_token = body["id"].as_str().expect("token id").to_string();

    app.new_user("frank").await; // to be added
    app.new_member("gary", "member").await; // role to change
    app.new_member("hank", "member").await; // to be removed
    app.create_team_as(&a, "qa").await; // to update
    app.create_team_as(&a, "gone").await; // to delete
                                          // Teams named "pulumi": one to update in acme, one to delete in globex (the path
                                          // names no other team, so each case needs its own org).
    app.create_team_as(&a, "pulumi").await;
    app.create_team_in(&Who::OtherAdmin, OTHER_ORG, "pulumi")
        .await;
    let old_team_token = app.team_token_as(&a, TEAM, "devs-old", 0).await.id;
    let old_org_token = app.org_token_as(&a, ORG, "old-ci", false, 0).await.id;
    for stack in ["doomed", "moving", "renaming", "tags-patch", "tags-post"] {
        app.create_stack_as(&a, "proj", stack).await;
    }
    app.post_ok(
        "/api/stacks/acme/proj",
        a.clone(),
        json!({"stackName": "tags-delete", "tags": {"env": "x"}}),
        "stack with a tag to delete",
    )
    .await;
    // globex accepts stacks from acme's admin token.
    app.patch_ok(
        &format!("/api/orgs/{OTHER_ORG}"),
        Who::OtherAdmin,
        json!({"setAcceptStackTransfersFrom": [ORG]}),
        "globex accepts transfers from acme",
    )
    .await;
    // A third org whose admin (also a member of globex) moves all its stacks to globex.
    let ivan = app
        .service
        .init_org(THIRD_ORG, "ivan", "ivan@example.com", "127.0.0.1")
        .await
        .expect("init org initech");
    let ivan = Who::Token(ivan.value.expose().to_string());
    app.create_stack_in(&ivan, THIRD_ORG, "iproj", "one").await;
    app.create_stack_in(&ivan, THIRD_ORG, "iproj", "two").await;
    app.add_member_as(&Who::OtherAdmin, OTHER_ORG, "ivan", "member")
        .await;
    Extra {
        readers: Readers { third_admin: ivan },
        bob_old_token,
        old_team_token,
        old_org_token,
    }
}

/// One successful request per mutating route, with the events it must leave.
fn mutating_cases(x: &Extra) -> BTreeMap<(&'static str, &'static str), Case> {
    let mut m = BTreeMap::new();
    let mut add = |method: &'static str, template: &'static str, c: Case| {
        assert!(
            m.insert((method, template), c).is_none(),
            "two cases for {method} {template}"
        );
    };
    let both = |event| [(ORG, event), (OTHER_ORG, event)];

    add(
        "POST",
        "/api/user/tokens",
        case(
            "/api/user/tokens",
            Who::Member,
            Some(json!({"description": "new laptop", "expires": 0})),
            &both("personal-token-created"),
        ),
    );
    add(
        "DELETE",
        "/api/user/tokens/{tokenId}",
        case(
            format!("/api/user/tokens/{}", x.bob_old_token),
            Who::Member,
            None,
            &both("personal-token-deleted"),
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}",
        case(
            "/api/orgs/acme",
            Who::Admin,
            Some(json!({"setAuditLogRetentionDays": 3650})),
            &[(ORG, "organization-settings-changed")],
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/members/{login}",
        case(
            "/api/orgs/acme/members/frank",
            Who::Admin,
            Some(json!({"role": "member"})),
            &[(ORG, "member-added")],
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/members/{login}",
        case(
            "/api/orgs/acme/members/gary",
            Who::Admin,
            Some(json!({"role": "billing-manager"})),
            &[(ORG, "member-role-changed")],
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/members/{login}",
        case(
            "/api/orgs/acme/members/hank",
            Who::OrgAdminToken,
            None,
            &[(ORG, "member-removed")],
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/pulumi",
        case(
            "/api/orgs/acme/teams/pulumi",
            Who::Admin,
            Some(json!({"name": "ops", "displayName": "Ops", "description": ""})),
            &[(ORG, "team-created")],
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/teams/pulumi",
        case(
            "/api/orgs/acme/teams/pulumi",
            Who::Admin,
            Some(json!({"newDisplayName": "Pulumi"})),
            &[(ORG, "team-updated")],
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/pulumi",
        case(
            format!("/api/orgs/{OTHER_ORG}/teams/pulumi"),
            Who::OtherAdmin,
            None,
            &[(OTHER_ORG, "team-deleted")],
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/teams/{team}",
        case(
            "/api/orgs/acme/teams/qa",
            Who::Admin,
            Some(json!({"newDisplayName": "Quality"})),
            &[(ORG, "team-updated")],
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}",
        case(
            "/api/orgs/acme/teams/gone",
            Who::Admin,
            None,
            &[(ORG, "team-deleted")],
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/{team}/tokens",
        case(
            "/api/orgs/acme/teams/devs/tokens",
            Who::TeamAdmin,
            Some(json!({"name": "devs-new", "description": "", "expires": 0})),
            &[(ORG, "team-token-created")],
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}/tokens/{tokenId}",
        case(
            format!("/api/orgs/acme/teams/devs/tokens/{}", x.old_team_token),
            Who::Admin,
            None,
            &[(ORG, "team-token-deleted")],
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/tokens",
        case(
            "/api/orgs/acme/tokens",
            Who::Admin,
            Some(json!({"name": "new-ci", "description": "", "admin": false, "expires": 0})),
            &[(ORG, "organization-token-created")],
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/tokens/{tokenId}",
        case(
            format!("/api/orgs/acme/tokens/{}", x.old_org_token),
            Who::Admin,
            None,
            &[(ORG, "organization-token-deleted")],
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/bulk-transfer/stacks",
        case(
            format!("/api/orgs/{THIRD_ORG}/bulk-transfer/stacks"),
            x.readers.of(THIRD_ORG),
            Some(json!({"fromOrg": THIRD_ORG, "toOrg": OTHER_ORG})),
            &[(THIRD_ORG, TRANSFERRED), (OTHER_ORG, TRANSFERRED)],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}",
        case(
            "/api/stacks/acme/proj",
            Who::Member,
            Some(json!({"stackName": "fresh"})),
            &[(ORG, "stack-created")],
        ),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}",
        case(
            "/api/stacks/acme/proj/doomed",
            Who::Admin,
            None,
            &[(ORG, "stack-deleted")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/transfer",
        case(
            "/api/stacks/acme/proj/moving/transfer",
            Who::OrgAdminToken,
            Some(json!({"toOrg": OTHER_ORG})),
            &[(ORG, TRANSFERRED), (OTHER_ORG, TRANSFERRED)],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/rename",
        case(
            "/api/stacks/acme/proj/renaming/rename",
            Who::OrgAdminToken,
            Some(json!({"newName": "renamed", "newProject": "proj2"})),
            &[(ORG, "stack-renamed")],
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/tags",
        case(
            "/api/stacks/acme/proj/tags-patch/tags",
            Who::Admin,
            Some(json!({"env": "prod", "tier": "1"})),
            &[(ORG, "stack-tags-changed")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/tags",
        case(
            "/api/stacks/acme/proj/tags-post/tags",
            Who::OrgAdminToken,
            Some(json!({"name": "owner", "value": "ci"})),
            &[(ORG, "stack-tags-changed")],
        ),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
        case(
            "/api/stacks/acme/proj/tags-delete/tags/env",
            Who::Admin,
            None,
            &[(ORG, "stack-tags-changed")],
        ),
    );
    add(
        "PATCH",
        "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
        case(
            "/api/console/stacks/acme/proj/dev/teams/devs",
            Who::Admin,
            Some(json!({"permissions": 103})),
            &[(ORG, "stack-team-permission-changed")],
        ),
    );
    m
}

#[tokio::test]
async fn every_mutating_route_writes_its_audit_event() {
    let app = TestApp::start().await;
    let x = coverage_fixture(&app).await;
    let cases = mutating_cases(&x);

    let mutating = routes()
        .into_iter()
        .filter(|(m, _)| is_mutating(m))
        .collect();
    assert_covers(
        &mutating,
        cases.keys().copied(),
        "an audit case (each change must write an event)",
    );

    for ((method, template), c) in &cases {
        let what = format!("{method} {template} ({}) as {:?}", c.path, c.who);
        assert!(
            matches(template, &c.path),
            "{what}: path does not fit the template"
        );
        let orgs: BTreeSet<&str> = c.expect.iter().map(|(o, _)| *o).collect();
        let mut before = BTreeMap::new();
        for org in &orgs {
            let n = app.audit_as(&x.readers.of(org), org).await.len();
            before.insert(*org, n);
        }
        let (status, body) = app
            .call(method, &c.path, c.who.clone(), c.body.clone())
            .await;
        assert_ok(status, &body, &what);
        for (org, event) in &c.expect {
            let events = app.audit_as(&x.readers.of(org), org).await;
            let new = &events[..events.len() - before[org]];
            assert!(
                !events_named(new, event).is_empty(),
                "{what}: org {org} gained no '{event}' event; new events: {new:?}"
            );
            assert!(
                new.iter().all(|e| e["authFailure"] == false),
                "{what}: a successful request wrote an auth failure in {org}: {new:?}"
            );
        }
    }
}

#[tokio::test]
async fn reads_write_nothing_and_exports_write_audit_log_exported() {
    let app = TestApp::start().await;
    // `GET /api/orgs/{org}/teams/pulumi` reads a team of that name.
    app.create_team_as(&Who::Admin, "pulumi").await;
    let router = stackgate_server::router(app.service.clone());
    let reads: Vec<_> = routes()
        .into_iter()
        .filter(|(m, _)| !is_mutating(m))
        .collect();
    let mut checked = 0;
    for (method, template) in &reads {
        let path = concrete(template);
        assert!(!path.contains('{'), "{template}: unfilled parameter");
        let what = format!("{method} {path}");
        let before = app.audit().await;
        let mut req = Request::builder().method(method.as_str()).uri(&path);
        if let Some(h) = app.header(&Who::Admin) {
            req = req.header(header::AUTHORIZATION, h);
        }
        let resp = send_raw(&router, req.body(Body::empty()).expect("request")).await;
        assert!(
            (200..300).contains(&resp.status),
            "{what}: {} {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
        let after = app.audit().await;
        let new = &after[..after.len() - before.len()];
        if template.ends_with("/export") {
            assert_eq!(new.len(), 1, "{what}: {new:?}");
            assert_eq!(new[0]["event"], "audit-log-exported", "{what}");
            assert_eq!(new[0]["user"]["githubLogin"], "alice", "{what}");
            assert_eq!(new[0]["reqOrgAdmin"], true, "{what}");
        } else {
            assert!(new.is_empty(), "{what}: a read wrote {new:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, reads.len());
}
