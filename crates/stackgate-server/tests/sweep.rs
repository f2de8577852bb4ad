//! The HTTP permission sweep: every route of the route table
//! ([`stackgate_server::route_list`], the list the router is built from) is called by a
//! principal that lacks the permission it needs, and must answer the exact status the
//! permission model gives (see `stackgate_core::authz`: 401 for bad credentials, 404 for
//! what the principal may not see, 403 for what it sees but may not do) in the error shape. A 403 about an org must add
//! exactly one auth-failure event to that org's audit log; a 401 or 404 must add none.
//!
//! The cases live in `refusals/`, in a map keyed by `(method, template)`; the test fails
//! when a route has no case or a case names a route that does not exist. (The cases sit
//! in a directory of their own because every `tests/*.rs` file is a test binary.)

mod common;
mod refusals;

use serde_json::{json, Value};

use common::{assert_covers, assert_error, concrete, forged_token, matches, routes, TestApp, Who};
use refusals::PULUMI_TEAM;

#[test]
fn template_matching_is_strict() {
    assert!(matches("/api/orgs/{org}", "/api/orgs/acme"));
    assert!(!matches("/api/orgs/{org}", "/api/orgs/acme/teams"));
    assert!(!matches(
        "/api/orgs/{org}/teams/pulumi",
        "/api/orgs/acme/teams/devs"
    ));
    assert!(!matches("/api/orgs/{org}", "/api/orgs/"));
    assert!(matches("/api/orgs/{org}/x", "/api/orgs/acme/x?a=b"));
}

#[tokio::test]
async fn every_route_refuses_a_principal_that_lacks_the_permission() {
    let app = TestApp::start().await;
    app.create_team_as(&Who::Admin, "pulumi").await;
    let update_id = app
        .create_update_as(&Who::Admin, common::STACK_PATH, "update")
        .await;
    let cases = refusals::cases(&app, &update_id);
    assert_covers(&routes(), cases.keys().copied(), "a sweep case");

    let before = app.snapshot().await;
    let pulumi_before = app.get(PULUMI_TEAM, Who::Admin).await;
    let mut audit_len = app.audit().await.len();
    for ((method, template), c) in &cases {
        let what = format!("{method} {template} ({}) as {:?}", c.path, c.who);
        assert!(
            matches(template, &c.path),
            "{what}: path does not fit the template"
        );
        let (status, body) = app
            .call(method, &c.path, c.who.clone(), c.body.clone())
            .await;
        if c.want == 200 {
            assert_eq!(status, 200, "{what}: {body}");
        } else if *method == "HEAD" {
            // HEAD responses carry no body by definition.
            assert_eq!(status, c.want, "{what}");
            assert_eq!(body, Value::Null, "{what}: HEAD with a body");
        } else {
            assert_error(status, &body, c.want, &what);
        }

        // The audit trail of the refusal, in the org that owns the target.
        let events = app.audit().await;
        let new = &events[..events.len() - audit_len];
        match c.event {
            Some(id) => {
                assert_eq!(new.len(), 1, "{what}: one auth-failure event, got {new:?}");
                assert_eq!(new[0]["event"], id, "{what}: {:?}", new[0]);
                assert_eq!(new[0]["authFailure"], true, "{what}: {:?}", new[0]);
            }
            None => assert!(new.is_empty(), "{what}: unexpected events {new:?}"),
        }
        audit_len = events.len();
    }

    // Nothing was changed by any refused request (the audit log aside).
    let mut after = app.snapshot().await;
    let mut before = before;
    for s in [&mut before, &mut after] {
        s.as_object_mut().map(|o| o.remove("auditEvents"));
    }
    assert_eq!(before, after, "a refused request changed state");
    let pulumi_after = app.get(PULUMI_TEAM, Who::Admin).await;
    assert_eq!(pulumi_before.0, 200, "{}", pulumi_before.1);
    assert_eq!(
        pulumi_before, pulumi_after,
        "a refused request changed team pulumi"
    );
}

#[tokio::test]
async fn every_authenticated_route_answers_401_without_valid_credentials() {
    let app = TestApp::start().await;
    let valid = app.actors().admin.token.clone();
    // A value with the right shape whose check part is right, but that no one issued.
    let unknown = forged_token("00112233445566778899aabbccddeeff");
    // A real value with one flipped check digit.
    let mut bad_check = valid.clone();
    let last = if valid.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(valid.len() - 1.., last);
    let credentials: Vec<(&str, Who)> = vec![
        ("no token", Who::Nobody),
        ("unknown well-formed token", Who::Token(unknown)),
        ("wrong check digits", Who::Token(bad_check)),
        ("malformed token", Who::Token("pul-1234".into())),
        ("uppercase token", Who::Token(valid.to_uppercase())),
        (
            "token with a trailing char",
            Who::Token(format!("{valid}0")),
        ),
        ("empty header", Who::Header(String::new())),
        ("scheme only", Who::Header("token".into())),
        ("unknown scheme", Who::Header(format!("Basic {valid}"))),
    ];
    let public = [
        "/healthz",
        "/readyz",
        "/api/capabilities",
        "/api/openapi/pulumi-spec.json",
    ];
    let routes = routes();
    let mut checked = 0;
    for (method, template) in routes.iter().filter(|(_, t)| !public.contains(t)) {
        let path = concrete(template);
        let body = (method != "GET" && method != "HEAD" && method != "DELETE").then(|| json!({}));
        for (label, who) in &credentials {
            let what = format!("{method} {path} with {label}");
            let (status, resp) = app.call(method, &path, who.clone(), body.clone()).await;
            if method == "HEAD" {
                assert_eq!(status, 401, "{what}");
            } else {
                assert_error(status, &resp, 401, &what);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, (routes.len() - public.len()) * credentials.len());
    // The valid token still works: the refusals above were about the credentials.
    let (status, body) = app.get("/api/user", Who::Admin).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_error_shape() {
    let app = TestApp::start().await;
    let (st, body) = app.get("/api/nope", Who::Admin).await;
    assert_error(st, &body, 404, "unknown path");
    let (st, body) = app.call("PUT", "/api/orgs/acme", Who::Admin, None).await;
    assert_error(st, &body, 405, "unsupported method");
}
