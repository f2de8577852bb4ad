//! Every mutating route of the table writes its audit event (but the few of [`NO_EVENT`],
//! which write none on purpose and are still called); reads write nothing, except exports:
//! the audit log's write `audit-log-exported`, a stack's (`GET S/export[/{version}]`)
//! `stack-exported`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{header, Request};
use serde_json::{json, Value};

use crate::common::{
    assert_covers, assert_ok, concrete, delta_request, events_named, matches, routes, send_raw,
    update_request, Started, TestApp, Who, ONE_RESOURCE, ORG, OTHER_ORG, STACK_PATH, TEAM,
};

const THIRD_ORG: &str = "initech";
const TRANSFERRED: &str = "stack-transferred-to-organization";

fn is_mutating(method: &str) -> bool {
    method != "GET" && method != "HEAD"
}

/// Mutating routes that write no audit event, on purpose, with the reason. Each still has
/// a case in [`mutating_cases`] that must succeed and add no event at all; every other
/// mutating route must name the event it writes. The list is exact: a route listed here
/// that writes an event, or a case of another route that names none, fails the test.
const NO_EVENT: &[(&str, &str, &str)] = &[
    // Creating an update only records the request; nothing happens until it starts, and
    // the start writes `stack-update-started` (its own case).
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/update",
        "created, not started",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/preview",
        "created, not started",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/refresh",
        "created, not started",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/destroy",
        "created, not started",
    ),
    // Calls under an update's lease, many per update ("not one event per checkpoint"):
    // the update is audited when it starts, completes, fails or is cancelled.
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/renew_lease",
        "lease call",
    ),
    (
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
        "lease call",
    ),
    (
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointverbatim",
        "lease call",
    ),
    (
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointdelta",
        "lease call",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events/batch",
        "lease call",
    ),
    // Encryption and decryption happen on every CLI command that touches secrets; the one
    // that shows plaintext to a person is `log-decryption`, which writes `secret-decrypted`.
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/encrypt",
        "secrets provider call",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt",
        "secrets provider call",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
        "secrets provider call",
    ),
    (
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-decrypt",
        "secrets provider call",
    ),
];

fn writes_no_event(method: &str, template: &str) -> bool {
    NO_EVENT
        .iter()
        .any(|(m, t, _)| *m == method && *t == template)
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
    /// An update of `acme/proj/st-start`, created, to be started.
    to_start: String,
    /// Running updates, one per case: to cancel, and for each lease call.
    to_cancel: Started,
    renewing: Started,
    checkpointing: Started,
    verbatim: Started,
    /// Running, with a checkpoint saved, for a delta to it.
    delta: Started,
    eventing: Started,
    completing: Started,
    /// A ciphertext of the fixture's stack.
    ciphertext: String,
}

/// `/api/stacks/acme/proj/{name}`.
fn stack_path(name: &str) -> String {
    format!("/api/stacks/{ORG}/proj/{name}")
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

    // The state backend: a stack per update, so that the cases stay independent.
    for stack in [
        "st-start",
        "st-cancel",
        "st-renew",
        "st-checkpoint",
        "st-verbatim",
        "st-delta",
        "st-events",
        "st-complete",
        "st-import",
    ] {
        app.create_stack_as(&a, "proj", stack).await;
    }
    let to_start = app
        .create_update_as(&a, &stack_path("st-start"), "update")
        .await;
    let mut running = Vec::new();
    for stack in [
        "st-cancel",
        "st-renew",
        "st-checkpoint",
        "st-verbatim",
        "st-delta",
        "st-events",
        "st-complete",
    ] {
        running.push(app.begin_update_as(&a, &stack_path(stack), "update").await);
    }
    let [to_cancel, renewing, checkpointing, verbatim, delta, eventing, completing]: [Started; 7] =
        running.try_into().expect("seven running updates");
    app.checkpoint_ok(&delta, ONE_RESOURCE).await;
    let body = app
        .post_ok(
            &format!("{STACK_PATH}/encrypt"),
            a.clone(),
            json!({"plaintext": "aHVudGVyMg=="}),
            "a ciphertext to decrypt",
        )
        .await;
    let ciphertext = body["ciphertext"].as_str().expect("ciphertext").to_string();
    Extra {
        readers: Readers { third_admin: ivan },
        bob_old_token,
        old_team_token,
        old_org_token,
        to_start,
        to_cancel,
        renewing,
        checkpointing,
        verbatim,
        delta,
        eventing,
        completing,
        ciphertext,
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
    // The state backend.
    let create = |kind: &str| {
        case(
            stack_path(&format!("st-start/{kind}")),
            Who::Admin,
            Some(update_request(false)),
            &[],
        )
    };
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/update",
        create("update"),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/preview",
        create("preview"),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/refresh",
        create("refresh"),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/destroy",
        create("destroy"),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
        case(
            stack_path(&format!("st-start/update/{}", x.to_start)),
            Who::OrgAdminToken,
            Some(json!({"tags": {}})),
            &[(ORG, "stack-update-started")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/cancel",
        case(
            format!("{}/cancel", x.to_cancel.path),
            Who::Admin,
            None,
            &[(ORG, "stack-update-canceled")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/renew_lease",
        case(
            format!("{}/renew_lease", x.renewing.path),
            x.renewing.who(),
            Some(json!({"duration": 600})),
            &[],
        ),
    );
    let deployment: Value = serde_json::from_str(ONE_RESOURCE).expect("the deployment is JSON");
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
        case(
            format!("{}/checkpoint", x.checkpointing.path),
            x.checkpointing.who(),
            Some(json!({"isInvalid": false, "version": 3, "deployment": deployment})),
            &[],
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointverbatim",
        case(
            format!("{}/checkpointverbatim", x.verbatim.path),
            x.verbatim.who(),
            Some(json!({
                "version": 3,
                "sequenceNumber": 1,
                "untypedDeployment": {"version": 3, "deployment": deployment},
            })),
            &[],
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointdelta",
        case(
            format!("{}/checkpointdelta", x.delta.path),
            x.delta.who(),
            Some(delta_request(ONE_RESOURCE, "[]", 2)),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events/batch",
        case(
            format!("{}/events/batch", x.eventing.path),
            x.eventing.who(),
            Some(json!({"events": [
                {"sequence": 1, "timestamp": 1, "stdoutEvent": {"message": "hi", "color": "never"}},
                {"sequence": 2, "timestamp": 2, "summaryEvent": {"resourceChanges": {"create": 1}}},
            ]})),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/complete",
        case(
            format!("{}/complete", x.completing.path),
            x.completing.who(),
            Some(json!({"status": "succeeded"})),
            &[(ORG, "stack-update-completed")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/import",
        case(
            stack_path("st-import/import"),
            Who::OrgAdminToken,
            Some(json!({"version": 3, "deployment": deployment})),
            &[(ORG, "stack-imported")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/encrypt",
        case(
            format!("{STACK_PATH}/encrypt"),
            Who::Member,
            Some(json!({"plaintext": "c2VjcmV0"})),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt",
        case(
            format!("{STACK_PATH}/decrypt"),
            Who::Member,
            Some(json!({"ciphertext": x.ciphertext})),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
        case(
            format!("{STACK_PATH}/batch-encrypt"),
            Who::TeamToken,
            Some(json!({"plaintexts": ["c2VjcmV0", ""]})),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-decrypt",
        case(
            format!("{STACK_PATH}/batch-decrypt"),
            Who::OrgMemberToken,
            Some(json!({"ciphertexts": [x.ciphertext]})),
            &[],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt/log-decryption",
        case(
            format!("{STACK_PATH}/decrypt/log-decryption"),
            Who::Member,
            Some(json!({"commandName": "pulumi stack output --show-secrets"})),
            &[(ORG, "secret-decrypted")],
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt/log-batch-decryption",
        case(
            format!("{STACK_PATH}/decrypt/log-batch-decryption"),
            Who::TeamToken,
            Some(json!({"commandName": "pulumi stack export --show-secrets"})),
            &[(ORG, "secret-decrypted")],
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

    for (method, template, why) in NO_EVENT {
        assert!(
            cases.contains_key(&(*method, *template)),
            "{method} {template} is exempt ({why}) but has no case: it must still be called"
        );
    }

    for ((method, template), c) in &cases {
        let what = format!("{method} {template} ({}) as {:?}", c.path, c.who);
        assert!(
            matches(template, &c.path),
            "{what}: path does not fit the template"
        );
        if writes_no_event(method, template) {
            assert!(
                c.expect.is_empty(),
                "{what}: exempt, yet expects {:?}",
                c.expect
            );
            let before = app.audit().await.len();
            let (status, body) = app
                .call(method, &c.path, c.who.clone(), c.body.clone())
                .await;
            assert_ok(status, &body, &what);
            let events = app.audit().await;
            let new = &events[..events.len() - before];
            assert!(
                new.is_empty(),
                "{what}: writes no event by design, wrote {new:?}"
            );
            continue;
        }
        assert!(
            !c.expect.is_empty(),
            "{what}: names no event (add it to NO_EVENT, with the reason, if that is by design)"
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
async fn reads_write_nothing_and_exports_write_their_event() {
    let app = TestApp::start().await;
    // `GET /api/orgs/{org}/teams/pulumi` reads a team of that name.
    app.create_team_as(&Who::Admin, "pulumi").await;
    // Version 1 of the fixture's stack, written by a finished update, for the state reads.
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    app.complete_ok(&update, "succeeded").await;
    let router = stackgate_server::router(app.service.clone());
    let reads: Vec<_> = routes()
        .into_iter()
        .filter(|(m, _)| !is_mutating(m))
        .collect();
    let mut checked = 0;
    for (method, template) in &reads {
        let path = concrete(&template.replace("{updateId}", &update.id));
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
        if template.starts_with("/api/stacks/") && template.contains("/export") {
            // A stack's state leaving the server (`pulumi stack export`).
            assert_eq!(new.len(), 1, "{what}: {new:?}");
            assert_eq!(new[0]["event"], "stack-exported", "{what}");
            assert_eq!(new[0]["user"]["githubLogin"], "alice", "{what}");
            assert_eq!(new[0]["authFailure"], false, "{what}");
        } else if template.ends_with("/export") {
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
