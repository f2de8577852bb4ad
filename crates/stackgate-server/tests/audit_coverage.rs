//! Audit coverage: every change leaves an event, and the log can be read, filtered,
//! exported and re-verified offline.
//!
//! - Every mutating route of [`stackgate_server::ROUTES`] (method other than GET/HEAD) is
//!   called once, successfully, by a principal allowed to; the org(s) owning the target
//!   must gain the expected event. The cases live in a map keyed by `(method, template)`
//!   and the test fails when a mutating route has no case (or a case names no route), so
//!   a new mutating route cannot land without an audit event.
//! - Reads write nothing, except exports, which write `audit-log-exported`.
//! - Failed authentication with a revoked or expired token is recorded in the token's
//!   org(s) once a minute; an unknown token is recorded nowhere.
//! - `X-Forwarded-For` is believed only from a trusted proxy.
//! - Listing filters and bounds, paging, the CSV / CEF exports (each CSV row re-hashed
//!   with `stackgate_core::chain::hash`, as an auditor would offline), gzip, `verify` and
//!   the event-type catalogue.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stackgate_core::catalog::EventType;
use stackgate_core::chain;
use stackgate_core::token::TokenValue;
use stackgate_server::export::CSV_HEADER;
use stackgate_server::{ServerConfig, ROUTES};
use stackgate_store::{AuditActor, NewAuditEvent, Token, TokenKind};
use tower::ServiceExt;

use common::{
    assert_error, assert_ok, events_named, forged_token, now, TestApp, Who, ORG, OTHER_ORG,
    STACK_PATH, TEAM,
};

const THIRD_ORG: &str = "initech";
const TRANSFERRED: &str = "stack-transferred-to-organization";

// ---------------------------------------------------------------------------------------
// Helpers

/// A response with its headers and raw body.
struct Raw {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).expect("a JSON body")
        }
    }
}

/// Sends a request through `router` and keeps headers and body bytes.
async fn send_raw(router: &Router, req: Request<Body>) -> Raw {
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("read the response body")
        .to_bytes()
        .to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

/// A GET as `who`, with extra headers.
fn get_req(app: &TestApp, path: &str, who: &Who, extra: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::builder().method("GET").uri(path);
    if let Some(h) = app.header(who) {
        req = req.header(header::AUTHORIZATION, h);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).expect("a valid request")
}

/// Whether a concrete path (query string aside) is an instance of a route template.
fn matches(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

fn is_mutating(method: &str) -> bool {
    method != "GET" && method != "HEAD"
}

/// Events of `list` (a JSON listing) as a vector.
fn listed(body: &Value) -> Vec<Value> {
    body["auditLogEvents"]
        .as_array()
        .expect("auditLogEvents is a list")
        .clone()
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

// ---------------------------------------------------------------------------------------
// Every mutating route writes its event

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
    let (st, body) = app
        .post(
            "/api/user/tokens",
            Who::Member,
            json!({"description": "old laptop", "expires": 0}),
        )
        .await;
    assert_ok(st, &body, "bob's personal token");
    let bob_old_token = body["id"].as_str().expect("token id").to_string();

    app.new_user("frank").await; // to be added
    app.new_member("gary", "member").await; // role to change
    app.new_member("hank", "member").await; // to be removed
    app.create_team_as(&a, "qa").await; // to update
    app.create_team_as(&a, "gone").await; // to delete
    let old_team_token = app.team_token_as(&a, TEAM, "devs-old", 0).await.id;
    let old_org_token = app.org_token_as(&a, ORG, "old-ci", false, 0).await.id;
    for stack in ["doomed", "moving", "tags-patch", "tags-post"] {
        app.create_stack_as(&a, "proj", stack).await;
    }
    let (st, body) = app
        .post(
            "/api/stacks/acme/proj",
            a.clone(),
            json!({"stackName": "tags-delete", "tags": {"env": "x"}}),
        )
        .await;
    assert_ok(st, &body, "stack with a tag to delete");
    // globex accepts stacks from acme's admin token.
    let (st, body) = app
        .patch(
            &format!("/api/orgs/{OTHER_ORG}"),
            Who::OtherAdmin,
            json!({"setAcceptStackTransfersFrom": [ORG]}),
        )
        .await;
    assert_ok(st, &body, "globex accepts transfers from acme");
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

#[test]
fn template_matching_is_strict() {
    assert!(matches("/api/orgs/{org}", "/api/orgs/acme"));
    assert!(!matches("/api/orgs/{org}", "/api/orgs/acme/teams"));
    assert!(!matches(
        "/api/orgs/{org}/teams/pulumi",
        "/api/orgs/acme/teams/devs"
    ));
    assert!(matches("/api/orgs/{org}/x", "/api/orgs/acme/x?a=b"));
}

#[tokio::test]
async fn every_mutating_route_writes_its_audit_event() {
    let app = TestApp::start().await;
    let x = coverage_fixture(&app).await;
    let cases = mutating_cases(&x);

    // Coverage, both ways.
    let mutating: BTreeSet<(&str, &str)> = ROUTES
        .iter()
        .copied()
        .filter(|(m, _)| is_mutating(m))
        .collect();
    let covered: BTreeSet<(&str, &str)> = cases.keys().copied().collect();
    let missing: Vec<_> = mutating.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&mutating).collect();
    assert!(
        missing.is_empty(),
        "mutating routes without an audit case (each change must write an event): {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "audit cases for routes that are not mutating routes of ROUTES: {unknown:?}"
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
    let router = stackgate_server::router(app.service.clone());
    let mut checked = 0;
    for (method, template) in ROUTES.iter().filter(|(m, _)| !is_mutating(m)) {
        let path = template
            .replace("{org}", ORG)
            .replace("{project}", "proj")
            .replace("{stack}", "dev")
            .replace("{team}", TEAM)
            .replace("{login}", "bob");
        assert!(!path.contains('{'), "{template}: unfilled parameter");
        let what = format!("{method} {path}");
        let before = app.audit().await;
        let mut req = Request::builder().method(*method).uri(&path);
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
    assert_eq!(
        checked,
        ROUTES.iter().filter(|(m, _)| !is_mutating(m)).count()
    );
}

// ---------------------------------------------------------------------------------------
// Failed authentication

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
        id: id.clone(),
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
    let (st, body) = app
        .post(
            "/api/user/tokens",
            Who::Member,
            json!({"description": "lost", "expires": 0}),
        )
        .await;
    assert_ok(st, &body, "bob's token");
    let bob_value = body["tokenValue"].as_str().expect("value").to_string();
    let bob_id = body["id"].as_str().expect("id").to_string();
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

// ---------------------------------------------------------------------------------------
// Source addresses

/// Changes a tag of the fixture stack through `router` with `X-Forwarded-For: xff`;
/// returns the `sourceIP` of the event it wrote.
async fn tag_change_source_ip(app: &TestApp, router: &Router, value: &str, xff: &str) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(format!("{STACK_PATH}/tags"))
        .header(
            header::AUTHORIZATION,
            app.header(&Who::Admin).expect("admin header"),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", xff)
        .body(Body::from(
            json!({"name": "xff", "value": value}).to_string(),
        ))
        .expect("request");
    let resp = send_raw(router, req).await;
    assert_ok(resp.status, &resp.json(), "tag change");
    let events = app.audit().await;
    assert_eq!(events[0]["event"], "stack-tags-changed", "{:?}", events[0]);
    assert!(
        events[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("xff={value}"))),
        "{:?}",
        events[0]
    );
    events[0]["sourceIP"].clone()
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let app = TestApp::start().await;
    let untrusted = stackgate_server::router_with(
        app.service.clone(),
        ServerConfig {
            trusted_proxies: Vec::new(),
        },
    );
    // In-process requests have no ConnectInfo: the peer counts as 127.0.0.1.
    let trusted = stackgate_server::router_with(
        app.service.clone(),
        ServerConfig {
            trusted_proxies: vec!["127.0.0.1/32".parse().expect("a network")],
        },
    );
    assert_eq!(
        tag_change_source_ip(&app, &untrusted, "1", "203.0.113.7").await,
        "127.0.0.1",
        "X-Forwarded-For believed without a trusted proxy"
    );
    assert_eq!(
        tag_change_source_ip(&app, &trusted, "2", "203.0.113.7").await,
        "203.0.113.7",
        "X-Forwarded-For ignored from a trusted proxy"
    );
    // The right-most untrusted hop is the client: a spoofed left-most entry is not.
    assert_eq!(
        tag_change_source_ip(&app, &trusted, "3", "6.6.6.6, 198.51.100.4").await,
        "198.51.100.4"
    );
}

// ---------------------------------------------------------------------------------------
// Listing

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let (st, body) = app.get(path, Who::Admin).await;
    assert_ok(st, &body, path);
    assert!(
        body.get("continuationToken").is_none(),
        "{path}: more than one page"
    );
    listed(&body)
}

#[tokio::test]
async fn listing_filters_select_exactly_the_matching_events() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    // Events by bob, by the admin token, and a refusal by bob.
    app.create_stack_as(&Who::Member, "bobs", "s1").await;
    let (st, body) = app
        .patch(
            &format!("{STACK_PATH}/tags"),
            Who::OrgAdminToken,
            json!({"by": "token"}),
        )
        .await;
    assert_ok(st, &body, "tags by the admin token");
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/auditlogs"), Who::Member)
        .await;
    assert_error(st, &body, 403, "bob reads the log");

    let all = app.audit().await;
    let base = "/api/orgs/acme/auditlogs/v2?pageSize=1000";

    // eventFilter with two ids.
    let two = list(
        &app,
        &format!("{base}&eventFilter=member-added,team-created"),
    )
    .await;
    let want: Vec<Value> = all
        .iter()
        .filter(|e| e["event"] == "member-added" || e["event"] == "team-created")
        .cloned()
        .collect();
    assert_eq!(two, want);
    assert!(!events_named(&two, "member-added").is_empty());
    assert!(!events_named(&two, "team-created").is_empty());
    let (st, body) = app
        .get(
            &format!("{base}&eventFilter=member-added,no-such-event"),
            Who::Admin,
        )
        .await;
    assert_error(st, &body, 400, "unknown event id");

    // userFilter: a user, an org-token identity, and an unknown user (404).
    let bobs = list(&app, &format!("{base}&userFilter=bob")).await;
    let want: Vec<Value> = all
        .iter()
        .filter(|e| e["user"]["githubLogin"] == "bob")
        .cloned()
        .collect();
    assert_eq!(bobs, want);
    assert!(!events_named(&bobs, "stack-created").is_empty(), "{bobs:?}");
    assert!(
        !events_named(&bobs, "auth-failure-organization-role").is_empty(),
        "{bobs:?}"
    );
    let tokens = list(&app, &format!("{base}&userFilter={ORG}")).await;
    assert!(!tokens.is_empty());
    assert!(tokens.iter().all(|e| e["user"]["githubLogin"] == ORG));
    let (st, body) = app
        .get(&format!("{base}&userFilter=nobody-at-all"), Who::Admin)
        .await;
    assert_error(st, &body, 404, "unknown userFilter");

    // tokenFilter.
    let id = a.org_admin_token.id.as_str();
    let by_token = list(&app, &format!("{base}&tokenFilter={id}")).await;
    let want: Vec<Value> = all.iter().filter(|e| e["tokenID"] == id).cloned().collect();
    assert_eq!(by_token, want);
    assert!(
        !events_named(&by_token, "stack-tags-changed").is_empty(),
        "{by_token:?}"
    );

    // Filters combine.
    let combined = list(
        &app,
        &format!("{base}&userFilter=bob&eventFilter=stack-created"),
    )
    .await;
    assert_eq!(combined.len(), 1, "{combined:?}");

    // Paging a filtered listing returns each event once, in order.
    let filter = "eventFilter=member-added,team-created,stack-created";
    let whole = list(&app, &format!("{base}&{filter}")).await;
    assert!(whole.len() >= 6, "{whole:?}");
    let mut paged = Vec::new();
    let mut path = format!("/api/orgs/acme/auditlogs/v2?pageSize=2&{filter}");
    for _ in 0..100 {
        let (st, body) = app.get(&path, Who::Admin).await;
        assert_ok(st, &body, &path);
        let page = listed(&body);
        assert!(page.len() <= 2, "{page:?}");
        paged.extend(page);
        match body["continuationToken"].as_str() {
            Some(c) => {
                path =
                    format!("/api/orgs/acme/auditlogs/v2?pageSize=2&{filter}&continuationToken={c}")
            }
            None => break,
        }
    }
    assert_eq!(paged, whole, "paging lost or repeated events");
    let (st, body) = app
        .get(&format!("{base}&continuationToken=nope"), Who::Admin)
        .await;
    assert_error(st, &body, 400, "garbled continuationToken");
}

/// Appends synthetic events to `org`'s chain with the given timestamps.
async fn append_at(app: &TestApp, org: &str, timestamps: &[i64]) {
    let store = app.service.store();
    let mut tx = store.begin().await.expect("begin");
    let org = tx
        .org_by_name(org)
        .await
        .expect("read org")
        .expect("org exists");
    for t in timestamps {
        let e = NewAuditEvent {
            org_id: org.id.clone(),
            timestamp: *t,
            event: "stack-created".into(),
            description: format!("synthetic event at {t}"),
            actor: AuditActor {
                login: "alice".into(),
                name: "alice".into(),
                email: "alice@example.com".into(),
                token_id: None,
                token_name: None,
            },
            source_ip: "192.0.2.1".into(),
            req_org_admin: false,
            req_stack_admin: false,
            auth_failure: false,
        };
        let head = tx.audit_head(&org.id).await.expect("head");
        let link = chain::next_link(&head, &e);
        tx.insert_audit(&e, &link).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

fn timestamps(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["timestamp"].as_i64().expect("timestamp"))
        .collect()
}

#[tokio::test]
async fn v1_start_time_is_an_upper_bound_and_v2_bounds_are_inclusive() {
    let app = TestApp::start().await;
    append_at(&app, ORG, &[1_000, 2_000, 3_000]).await;
    let v2 = "/api/orgs/acme/auditlogs/v2?pageSize=1000";
    let v1 = "/api/orgs/acme/auditlogs?pageSize=1000";

    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&startTime=1500&endTime=2500")).await),
        [2_000]
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&startTime=2000&endTime=3000")).await),
        [3_000, 2_000],
        "v2 bounds are inclusive"
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&endTime=2500")).await),
        [2_000, 1_000]
    );
    let from = timestamps(&list(&app, &format!("{v2}&startTime=2500")).await);
    assert!(
        from.contains(&3_000) && from.iter().all(|t| *t >= 2_500),
        "{from:?}"
    );
    assert!(
        from.len() > 5,
        "the fixture's own events are recent: {from:?}"
    );

    // v1: startTime means "before".
    assert_eq!(
        timestamps(&list(&app, &format!("{v1}&startTime=2500")).await),
        [2_000, 1_000]
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v1}&startTime=1000")).await),
        [1_000]
    );
    let all_v1 = list(&app, v1).await;
    assert_eq!(
        all_v1,
        app.audit().await,
        "v1 without bounds lists everything"
    );

    // The synthetic events were appended through the chain: it still verifies.
    let (st, body) = app.get("/api/orgs/acme/auditlogs/verify", Who::Admin).await;
    assert_ok(st, &body, "verify");
    assert_eq!(body["ok"], true, "{body}");
}

// ---------------------------------------------------------------------------------------
// Export and verification

/// Re-hashes a CSV row the way an offline auditor would.
fn rehash(row: &BTreeMap<&str, String>) -> String {
    let ts = time::OffsetDateTime::parse(
        &row["Timestamp"],
        &time::format_description::well_known::Rfc3339,
    )
    .expect("Timestamp is RFC 3339")
    .unix_timestamp();
    let flag = |k: &str| match row[k].as_str() {
        "true" => true,
        "false" => false,
        other => panic!("{k}: not a boolean: {other}"),
    };
    let (token_id, token_name) = if row["TokenID"].is_empty() {
        (None, None)
    } else {
        (Some(row["TokenID"].clone()), Some(row["TokenName"].clone()))
    };
    let e = NewAuditEvent {
        // Not hashed: the org is implied by the chain the file belongs to.
        org_id: String::new(),
        timestamp: ts,
        event: row["Event"].clone(),
        description: row["Description"].clone(),
        actor: AuditActor {
            login: row["Login"].clone(),
            name: row["Name"].clone(),
            email: row["Email"].clone(),
            token_id,
            token_name,
        },
        source_ip: row["SourceIP"].clone(),
        req_org_admin: flag("RequireOrgAdmin"),
        req_stack_admin: flag("RequireStackAdmin"),
        auth_failure: flag("AuthenticationFailure"),
    };
    let seq: i64 = row["Sequence"].parse().expect("Sequence is a number");
    chain::hash(seq, &row["PreviousHash"], &e)
}

/// Parses a CSV export into its header and rows keyed by column name.
fn parse_csv(body: &[u8]) -> (Vec<String>, Vec<BTreeMap<&'static str, String>>) {
    let mut r = csv::Reader::from_reader(body);
    let header: Vec<String> = r
        .headers()
        .expect("a header line")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("a well-formed CSV record");
            assert_eq!(rec.len(), CSV_HEADER.len(), "{rec:?}");
            CSV_HEADER
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (*k, v.to_string()))
                .collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test]
async fn the_csv_export_can_be_verified_offline() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    // An actor whose name needs CSV quoting, acting through a token.
    let user = app
        .service
        .create_user("quinn", "Quinn \"Q\", Jr.", "quinn@example.com", false)
        .await
        .expect("create quinn");
    let quinn = app
        .service
        .issue_user_token(&user, "t")
        .await
        .expect("quinn's token");
    app.add_member_as(&Who::Admin, ORG, "quinn", "member").await;
    let quinn = Who::Token(quinn.value.expose().to_string());
    let (st, body) = app
        .post(
            "/api/stacks/acme/proj",
            quinn,
            json!({"stackName": "quoted", "tags": {"note": "a, \"b\"; c=d"}}),
        )
        .await;
    assert_ok(st, &body, "quinn creates a stack");

    let resp = send_raw(
        &router,
        get_req(
            &app,
            "/api/orgs/acme/auditlogs/v2/export?format=csv",
            &Who::Admin,
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.headers.get(header::CONTENT_ENCODING).is_none());
    assert!(resp
        .headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("auditlogs-acme.csv")));
    let (head, rows) = parse_csv(&resp.body);
    let want: Vec<&str> = [
        "Timestamp",
        "Name",
        "Login",
        "Event",
        "Description",
        "SourceIP",
        "RequireOrgAdmin",
        "RequireStackAdmin",
        "AuthenticationFailure",
        "TokenID",
        "TokenName",
        "Email",
        "Sequence",
        "PreviousHash",
        "Hash",
    ]
    .to_vec();
    assert_eq!(head, want, "Pulumi's nine columns, then the chain columns");

    // One row per event, newest first, the export's own event included.
    let listed = app.audit().await;
    assert_eq!(rows.len(), listed.len());
    assert_eq!(rows[0]["Event"], "audit-log-exported");
    assert!(rows.iter().any(|r| r["Name"] == "Quinn \"Q\", Jr."));
    for (row, e) in rows.iter().zip(&listed) {
        assert_eq!(row["Event"], e["event"].as_str().expect("event"));
        assert_eq!(row["Description"], e["description"].as_str().expect("desc"));
        assert_eq!(row["TokenID"], e["tokenID"].as_str().unwrap_or(""));
    }
    assert!(
        rows.iter().any(|r| r["TokenID"].is_empty()),
        "operator events"
    );
    assert!(rows
        .iter()
        .any(|r| !r["TokenID"].is_empty() && r["TokenName"].is_empty()));

    // Every row re-hashes to its Hash, and links to the row below it.
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(rehash(row), row["Hash"], "row {i}: {row:?}");
        match rows.get(i + 1) {
            Some(older) => {
                assert_eq!(row["PreviousHash"], older["Hash"], "row {i}");
                let (s, o): (i64, i64) = (
                    row["Sequence"].parse().expect("seq"),
                    older["Sequence"].parse().expect("seq"),
                );
                assert_eq!(s, o + 1, "row {i}");
            }
            None => {
                assert_eq!(row["Sequence"], "1");
                assert_eq!(row["PreviousHash"], "");
            }
        }
    }
    // ...and an edited row does not.
    let mut forged = rows[rows.len() / 2].clone();
    forged.insert("Description", "nothing to see here".into());
    assert_ne!(rehash(&forged), forged["Hash"]);
    let mut forged = rows[1].clone();
    forged.insert("SourceIP", "10.9.9.9".into());
    assert_ne!(rehash(&forged), forged["Hash"]);

    // The server agrees.
    let (st, body) = app.get("/api/orgs/acme/auditlogs/verify", Who::Admin).await;
    assert_ok(st, &body, "verify");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["organization"], ORG);
    assert_eq!(body["checkedEvents"], json!(rows.len()), "{body}");
    assert_eq!(body["headSequence"], json!(rows.len()), "{body}");
    assert_eq!(body["prunedThroughSequence"], 0, "{body}");
    assert!(body.get("firstBrokenSequence").is_none(), "{body}");
}

#[tokio::test]
async fn the_cef_export_has_one_line_per_event() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    for path in [
        "/api/orgs/acme/auditlogs/export?format=cef",
        "/api/orgs/acme/auditlogs/v2/export?format=cef",
    ] {
        let resp = send_raw(&router, get_req(&app, path, &Who::Admin, &[])).await;
        assert_eq!(resp.status, 200, "{path}");
        let text = resp.text();
        let events = app.audit().await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), events.len(), "{path}");
        let mut seqs = BTreeSet::new();
        for (line, e) in lines.iter().zip(&events) {
            assert!(line.starts_with("CEF:0|stackgate|stackgate|"), "{line}");
            let id = e["event"].as_str().expect("event");
            assert!(line.contains(&format!("|{id}|")), "{line} / {e}");
            let seq = line
                .split("cn1=")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .and_then(|s| s.parse::<i64>().ok())
                .expect("cn1=<sequence>");
            seqs.insert(seq);
        }
        let n = i64::try_from(events.len()).expect("count");
        assert_eq!(seqs, (1..=n).collect::<BTreeSet<i64>>(), "{path}");
    }
    let (st, body) = app
        .get("/api/orgs/acme/auditlogs/v2/export?format=xml", Who::Admin)
        .await;
    assert_error(st, &body, 400, "unknown export format");
}

/// Guards a bug these tests found: tower-http's compression (tokio-util's `StreamReader`)
/// polls the body again after its end, and an unfused `export::body_stream` then panicked
/// ("Unfold must not be polled after it returned `Poll::Ready(None)`"): the gzip export
/// failed after its last page. The stream is now fused.
#[tokio::test]
async fn exports_are_gzipped_when_the_client_accepts_it() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    // A filter that leaves out the exports' own events, so both bodies are comparable.
    let path =
        "/api/orgs/acme/auditlogs/v2/export?format=csv&eventFilter=member-added,stack-created";
    let plain = send_raw(&router, get_req(&app, path, &Who::Admin, &[])).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let gz = send_raw(
        &router,
        get_req(&app, path, &Who::Admin, &[("accept-encoding", "gzip")]),
    )
    .await;
    assert_eq!(gz.status, 200);
    assert_eq!(
        gz.headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    assert_ne!(gz.body, plain.body, "the body is compressed");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut unzipped)
        .expect("a valid gzip stream");
    assert_eq!(unzipped, plain.body);
    let (_, rows) = parse_csv(&unzipped);
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r["Event"] == "member-added" || r["Event"] == "stack-created"));
    // Both exports were recorded.
    let events = app.audit().await;
    assert_eq!(events_named(&events, "audit-log-exported").len(), 2);
}

/// Undoes HTTP/1.1 chunked transfer coding; `None` when the final chunk never came.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_line = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// The same bug as a real client saw it: the connection closed without the final chunk
/// (for a small log, before any byte of the response).
#[tokio::test]
async fn a_gzipped_export_over_a_real_connection_is_complete() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stackgate_server::serve(
        listener,
        app.service.clone(),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = app.header(&Who::Admin).expect("admin header");
    let req = format!(
        "GET /api/orgs/acme/auditlogs/v2/export?format=csv HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: {auth}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.expect("send");
    let mut resp = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut resp),
    )
    .await
    .expect("the response ends")
    .expect("read the response");
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&resp[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let gz = dechunk(&resp[split + 4..]).expect("the body ends with its final chunk");
    let mut csv_bytes = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut csv_bytes)
        .expect("a complete gzip stream");
    let (_, rows) = parse_csv(&csv_bytes);
    assert_eq!(rows.len(), app.audit().await.len());
    let _ = stop.send(());
    server
        .await
        .expect("the server task")
        .expect("the server stops cleanly");
}

#[tokio::test]
async fn the_event_type_catalogue_lists_every_event_with_its_flags() {
    let app = TestApp::start().await;
    let (st, body) = app
        .get("/api/orgs/acme/auditlogs/event-types", Who::Admin)
        .await;
    assert_ok(st, &body, "event types");
    let listed: BTreeMap<String, Value> = body["eventTypes"]
        .as_array()
        .expect("eventTypes is a list")
        .iter()
        .map(|t| (t["event"].as_str().expect("event").to_string(), t.clone()))
        .collect();
    assert_eq!(listed.len(), EventType::ALL.len(), "{body}");
    for e in EventType::ALL {
        let i = e.info();
        let t = listed
            .get(i.id)
            .unwrap_or_else(|| panic!("{} is not listed", i.id));
        assert_eq!(t["displayName"], i.display_name, "{t}");
        assert_eq!(t["description"], i.description, "{t}");
        assert_eq!(t["requiresOrgAdmin"], i.requires_org_admin, "{t}");
        assert_eq!(t["requiresStackAdmin"], i.requires_stack_admin, "{t}");
        assert_eq!(t["authenticationFailure"], i.authentication_failure, "{t}");
        assert_eq!(t["deprecated"], false, "{t}");
    }
}
