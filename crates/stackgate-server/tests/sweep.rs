//! The HTTP permission sweep: every route of [`stackgate_server::ROUTES`] is called by a
//! principal that lacks the permission it needs, and must answer the exact status of
//! `permissions.md` (401 / 403 / 404) in the error shape. A 403 about an org must add
//! exactly one auth-failure event to that org's audit log; a 401 or 404 must add none.
//!
//! The cases live in a map keyed by `(method, template)`; the test fails when a route has
//! no case or a case names a route that does not exist.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use stackgate_server::ROUTES;

use common::{assert_error, forged_token, TestApp, Who, ORG};

const ROLE: Option<&str> = Some("auth-failure-organization-role");
const STACK_PERM: Option<&str> = Some("auth-failure-stack-permission");

struct Case {
    path: String,
    who: Who,
    body: Option<Value>,
    want: u16,
    /// For 403s about an org: the auth-failure event expected in `acme`'s log.
    event: Option<&'static str>,
}

fn case(path: impl Into<String>, who: Who, body: Option<Value>, want: u16) -> Case {
    Case {
        path: path.into(),
        who,
        body,
        want,
        event: None,
    }
}

fn refused(
    path: impl Into<String>,
    who: Who,
    body: Option<Value>,
    event: Option<&'static str>,
) -> Case {
    Case {
        event,
        ..case(path, who, body, 403)
    }
}

/// One unauthorized case per route.
fn cases(app: &TestApp) -> BTreeMap<(&'static str, &'static str), Case> {
    let a = app.actors();
    let stack = "/api/stacks/acme/proj/dev";
    let bad = forged_token("0123456789abcdef0123456789abcdef");
    let mut m = BTreeMap::new();
    let mut add = |method: &'static str, template: &'static str, c: Case| {
        assert!(
            m.insert((method, template), c).is_none(),
            "two cases for {method} {template}"
        );
    };

    // Public.
    add("GET", "/healthz", case("/healthz", Who::Nobody, None, 200));
    add(
        "GET",
        "/api/capabilities",
        case("/api/capabilities", Who::Nobody, None, 200),
    );

    // Open to every authenticated principal: the one who lacks the permission has no
    // (valid) credentials.
    add(
        "GET",
        "/api/user",
        case("/api/user", Who::Nobody, None, 401),
    );
    add(
        "GET",
        "/api/user/organizations/default",
        case(
            "/api/user/organizations/default",
            Who::Token(bad.clone()),
            None,
            401,
        ),
    );
    add(
        "GET",
        "/api/user/stacks",
        case(
            "/api/user/stacks",
            Who::Header("token pul-not-a-token".into()),
            None,
            401,
        ),
    );

    // Personal tokens: users only (403, about no org, so not audited).
    add(
        "GET",
        "/api/user/tokens",
        case("/api/user/tokens", Who::OrgMemberToken, None, 403),
    );
    add(
        "POST",
        "/api/user/tokens",
        case(
            "/api/user/tokens",
            Who::TeamToken,
            Some(json!({"description": "x", "expires": 0})),
            403,
        ),
    );
    add(
        "DELETE",
        "/api/user/tokens/{tokenId}",
        case(
            format!("/api/user/tokens/{}", a.admin.token_id),
            Who::OrgAdminToken,
            None,
            403,
        ),
    );

    // The org.
    add(
        "GET",
        "/api/orgs/{org}",
        case("/api/orgs/acme", Who::Outsider, None, 404),
    );
    add(
        "PATCH",
        "/api/orgs/{org}",
        refused(
            "/api/orgs/acme",
            Who::Member,
            Some(json!({"setMembersCanCreateTeams": false})),
            ROLE,
        ),
    );

    // Members.
    add(
        "GET",
        "/api/orgs/{org}/members",
        case("/api/orgs/acme/members", Who::OtherOrgToken, None, 404),
    );
    add(
        "POST",
        "/api/orgs/{org}/members/{login}",
        refused(
            "/api/orgs/acme/members/erin",
            Who::OrgMemberToken,
            Some(json!({"role": "member"})),
            ROLE,
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/members/{login}",
        refused(
            "/api/orgs/acme/members/bob",
            Who::TeamAdmin,
            Some(json!({"role": "admin"})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/members/{login}",
        refused("/api/orgs/acme/members/bob", Who::Billing, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/members/{login}/teams",
        case(
            "/api/orgs/acme/members/dave/teams",
            Who::Outsider,
            None,
            404,
        ),
    );

    // Teams.
    add(
        "GET",
        "/api/orgs/{org}/teams",
        case("/api/orgs/acme/teams", Who::OtherOrgToken, None, 404),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/pulumi",
        refused(
            "/api/orgs/acme/teams/pulumi",
            Who::TeamToken,
            Some(json!({"name": "ops", "displayName": "Ops", "description": ""})),
            ROLE,
        ),
    );
    add(
        "GET",
        "/api/orgs/{org}/teams/{team}",
        case("/api/orgs/acme/teams/devs", Who::Outsider, None, 404),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/teams/{team}",
        refused(
            "/api/orgs/acme/teams/devs",
            Who::Member,
            Some(json!({"memberAction": "add", "member": "carol"})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}",
        refused("/api/orgs/acme/teams/devs", Who::TeamToken, None, ROLE),
    );

    // Team tokens.
    add(
        "GET",
        "/api/orgs/{org}/teams/{team}/tokens",
        refused(
            "/api/orgs/acme/teams/devs/tokens",
            Who::OrgMemberToken,
            None,
            ROLE,
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/{team}/tokens",
        refused(
            "/api/orgs/acme/teams/devs/tokens",
            Who::Member,
            Some(json!({"name": "sneaky", "description": "", "expires": 0})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}/tokens/{tokenId}",
        refused(
            format!("/api/orgs/acme/teams/devs/tokens/{}", a.team_token.id),
            Who::Billing,
            None,
            ROLE,
        ),
    );

    // Org tokens: an admin-scope org token may list them but never create or delete.
    add(
        "GET",
        "/api/orgs/{org}/tokens",
        refused("/api/orgs/acme/tokens", Who::Member, None, ROLE),
    );
    add(
        "POST",
        "/api/orgs/{org}/tokens",
        refused(
            "/api/orgs/acme/tokens",
            Who::OrgAdminToken,
            Some(json!({"name": "escalate", "description": "", "admin": true, "expires": 0})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/tokens/{tokenId}",
        refused(
            format!("/api/orgs/acme/tokens/{}", a.org_member_token.id),
            Who::OrgAdminToken,
            None,
            ROLE,
        ),
    );

    // Audit log.
    add(
        "GET",
        "/api/orgs/{org}/auditlogs",
        refused("/api/orgs/acme/auditlogs", Who::Member, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/v2",
        refused("/api/orgs/acme/auditlogs/v2", Who::TeamToken, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/event-types",
        refused(
            "/api/orgs/acme/auditlogs/event-types",
            Who::Billing,
            None,
            ROLE,
        ),
    );

    add(
        "GET",
        "/api/orgs/{org}/auditlogs/export",
        refused(
            "/api/orgs/acme/auditlogs/export?format=csv",
            Who::Member,
            None,
            ROLE,
        ),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/v2/export",
        refused(
            "/api/orgs/acme/auditlogs/v2/export?format=cef",
            Who::OrgMemberToken,
            None,
            ROLE,
        ),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/verify",
        refused(
            "/api/orgs/acme/auditlogs/verify",
            Who::TeamToken,
            None,
            ROLE,
        ),
    );

    // Stacks.
    add(
        "POST",
        "/api/orgs/{org}/bulk-transfer/stacks",
        refused(
            "/api/orgs/acme/bulk-transfer/stacks",
            Who::OrgMemberToken,
            Some(json!({"fromOrg": "acme", "toOrg": "globex"})),
            ROLE,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}",
        refused(
            "/api/stacks/acme/proj",
            Who::TeamToken,
            Some(json!({"stackName": "new"})),
            ROLE,
        ),
    );
    add(
        "HEAD",
        "/api/stacks/{org}/{project}",
        case("/api/stacks/acme/proj", Who::Outsider, None, 404),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}",
        case(stack, Who::OtherOrgToken, None, 404),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}",
        // The team holds write, delete needs admin.
        refused(stack, Who::TeamToken, None, STACK_PERM),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/transfer",
        // bob reads the stack (org default 101) but holds no admin on it.
        refused(
            format!("{stack}/transfer"),
            Who::Member,
            Some(json!({"toOrg": "globex"})),
            STACK_PERM,
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/tags",
        // Billing managers see no stacks.
        case(
            format!("{stack}/tags"),
            Who::Billing,
            Some(json!({"env": "prod"})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/tags",
        refused(
            format!("{stack}/tags"),
            Who::OrgMemberToken,
            Some(json!({"name": "owner", "value": "ci"})),
            STACK_PERM,
        ),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
        refused(format!("{stack}/tags/env"), Who::Member, None, STACK_PERM),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/teams",
        case(format!("{stack}/teams"), Who::Billing, None, 404),
    );
    add(
        "PATCH",
        "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
        // dave: team admin of devs, which holds write on the stack; needs stack admin.
        refused(
            "/api/console/stacks/acme/proj/dev/teams/devs",
            Who::TeamAdmin,
            Some(json!({"permissions": 103})),
            STACK_PERM,
        ),
    );
    add(
        "GET",
        "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
        // bob reads the stack (org default) but asking about another member takes stack admin.
        refused(
            "/api/console/orgs/acme/members/dave/stacks/proj/dev",
            Who::Member,
            None,
            STACK_PERM,
        ),
    );
    m
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
    let cases = cases(&app);

    // Coverage, both ways.
    let routes: BTreeSet<(&str, &str)> = ROUTES.iter().copied().collect();
    assert_eq!(routes.len(), ROUTES.len(), "ROUTES lists a route twice");
    let covered: BTreeSet<(&str, &str)> = cases.keys().copied().collect();
    let missing: Vec<_> = routes.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes without a sweep case: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "sweep cases for unknown routes: {unknown:?}"
    );

    let before = app.snapshot().await;
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
}

/// The concrete path used for a template in the authentication sweep.
fn concrete(template: &str) -> String {
    template
        .replace("{org}", ORG)
        .replace("{project}", "proj")
        .replace("{stack}", "dev")
        .replace("{team}", "devs")
        .replace("{login}", "bob")
        .replace("{tokenId}", "0b5e4d0c-0000-4000-8000-000000000000")
        .replace("{tag}", "env")
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
    let public = [("GET", "/healthz"), ("GET", "/api/capabilities")];
    let mut checked = 0;
    for (method, template) in ROUTES.iter().filter(|r| !public.contains(r)) {
        let path = concrete(template);
        let body =
            (*method != "GET" && *method != "HEAD" && *method != "DELETE").then(|| json!({}));
        for (label, who) in &credentials {
            let what = format!("{method} {path} with {label}");
            let (status, resp) = app.call(method, &path, who.clone(), body.clone()).await;
            if *method == "HEAD" {
                assert_eq!(status, 401, "{what}");
            } else {
                assert_error(status, &resp, 401, &what);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, (ROUTES.len() - public.len()) * credentials.len());
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
