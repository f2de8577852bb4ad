//! The in-process test harness shared by the HTTP test binaries.
//!
//! [`TestApp`] owns a fresh SQLite file in a temp dir, a [`Service`] over it and the
//! router; requests go through `router.oneshot`, so no port, no process and no sleeps.
//! [`TestApp::start`] bootstraps two orgs the way an operator and an admin would (the
//! operator functions `init_org` / `create_user` / `issue_user_token`, then the API) and
//! hands out one typed actor per kind of principal of the permission model ([`Who`]).
//!
//! The harness is split by concern: `fixture` builds the app and its actors (and holds
//! the bootstrap helpers that assert success), `readers` reads the audit log and
//! snapshots state, `routes` relates the route table to the cases of the coverage tests,
//! `state` drives the state backend (updates and their leases) as the Pulumi CLI does.
//!
//! Fixture (org `acme` unless said otherwise):
//! - `alice` admin (and site admin), `bob` member, `carol` billing-manager,
//!   `dave` member and team admin of `devs`, `erin` member of `globex` only,
//!   `gina` admin of `globex`;
//! - stack `acme/proj/dev` (created by alice, tag `env=dev`), team `devs` with a write
//!   grant on it (level configurable with [`Builder::team_grant`]);
//! - org tokens `ci-member` (member scope) and `ci-admin` (admin scope), team token
//!   `devs-ci`, and `globex-ci` (admin scope, org `globex`);
//! - a generated secrets master key ([`Builder::without_secrets_key`] for none) and the
//!   system clock ([`Builder::manual_clock`] for a [`ManualClock`] in [`TestApp::clock`]).

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset of the harness"
)]

use stackgate_store_testkit::pg;

mod fixture;
mod readers;
mod routes;
mod state;

pub use fixture::Builder;
pub use readers::events_named;
pub use routes::{assert_covers, concrete, matches, routes};
pub use state::{
    checkpoint_body, delta_request, export_of, lease, update_request, Started, ONE_RESOURCE,
};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stackgate_core::clock::ManualClock;
use stackgate_core::Service;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

pub const ORG: &str = "acme";
pub const OTHER_ORG: &str = "globex";
pub const TEAM: &str = "devs";
pub const PROJECT: &str = "proj";
pub const STACK: &str = "dev";
/// `/api/stacks/acme/proj/dev`.
pub const STACK_PATH: &str = "/api/stacks/acme/proj/dev";

/// A user with a personal token.
#[derive(Clone, Debug)]
pub struct UserActor {
    pub login: String,
    pub token: String,
    pub token_id: String,
}

/// An org or team access token.
#[derive(Clone, Debug)]
pub struct TokenActor {
    pub name: String,
    pub id: String,
    pub token: String,
}

/// Every principal kind of the permission table, ready to use.
#[derive(Clone, Debug)]
pub struct Actors {
    pub admin: UserActor,
    pub member: UserActor,
    pub billing: UserActor,
    pub team_admin: UserActor,
    /// Member of `globex` only.
    pub outsider: UserActor,
    /// Admin of `globex`.
    pub other_admin: UserActor,
    pub org_member_token: TokenActor,
    pub org_admin_token: TokenActor,
    pub team_token: TokenActor,
    /// Admin-scope org token of `globex`.
    pub other_org_token: TokenActor,
}

/// Who sends a request: a fixture actor, any token value, a raw header, or nobody.
#[derive(Clone, Debug)]
pub enum Who {
    Nobody,
    /// A token value, sent as `Authorization: token <value>`.
    Token(String),
    /// The `Authorization` header verbatim.
    Header(String),
    Admin,
    Member,
    Billing,
    TeamAdmin,
    Outsider,
    OtherAdmin,
    OrgMemberToken,
    OrgAdminToken,
    TeamToken,
    OtherOrgToken,
}

impl From<&UserActor> for Who {
    fn from(u: &UserActor) -> Who {
        Who::Token(u.token.clone())
    }
}

impl From<&TokenActor> for Who {
    fn from(t: &TokenActor) -> Who {
        Who::Token(t.token.clone())
    }
}

/// A syntactically valid token (`pul-` + 32 hex + CRC-32 of them) that no one issued.
pub fn forged_token(random_hex32: &str) -> String {
    assert_eq!(
        random_hex32.len(),
        32,
        "the random part is 32 hex characters"
    );
    let check = crc32fast::hash(random_hex32.as_bytes());
    format!("pul-{random_hex32}{check:08x}")
}

/// Asserts the API error shape: `{"code": status, "message": "<non-empty>"}`, nothing else.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want: u16, what: &str) {
    assert_eq!(status, want, "{what}: status (body {body})");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: error body is not an object: {body}"));
    assert_eq!(
        obj.get("code"),
        Some(&json!(want)),
        "{what}: code in {body}"
    );
    let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
    assert!(
        !message.trim().is_empty(),
        "{what}: empty message in {body}"
    );
    assert_eq!(obj.len(), 2, "{what}: unexpected fields in {body}");
}

/// Asserts a success status, showing the body when it is not.
#[track_caller]
pub fn assert_ok(status: u16, body: &Value, what: &str) {
    assert!(
        (200..300).contains(&status),
        "{what}: expected success, got {status} {body}"
    );
}

/// Now in unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub const DAY: i64 = 86_400;

/// A response with its headers and raw body.
pub struct Raw {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).expect("a JSON body")
        }
    }
}

/// Sends a request through `router` and keeps headers and body bytes.
pub async fn send_raw(router: &Router, req: Request<Body>) -> Raw {
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

/// One isolated stackgate: its own database file, service and router.
pub struct TestApp {
    _dir: TempDir,
    pub service: Service,
    router: Router,
    actors: Option<Actors>,
    /// The service's clock, when built with [`Builder::manual_clock`].
    pub clock: Option<Arc<ManualClock>>,
    /// The PostgreSQL schema of this app, dropped with it (last, after the store).
    _schema: Option<pg::TestSchema>,
}

impl TestApp {
    pub fn actors(&self) -> &Actors {
        self.actors.as_ref().expect("the fixture is built")
    }

    /// The `Authorization` header for a principal.
    pub fn header(&self, who: &Who) -> Option<String> {
        let token = |t: &str| Some(format!("token {t}"));
        let a = self.actors.as_ref();
        let a = || a.expect("fixture actors are only used after build");
        match who {
            Who::Nobody => None,
            Who::Token(t) => token(t),
            Who::Header(h) => Some(h.clone()),
            Who::Admin => token(&a().admin.token),
            Who::Member => token(&a().member.token),
            Who::Billing => token(&a().billing.token),
            Who::TeamAdmin => token(&a().team_admin.token),
            Who::Outsider => token(&a().outsider.token),
            Who::OtherAdmin => token(&a().other_admin.token),
            Who::OrgMemberToken => token(&a().org_member_token.token),
            Who::OrgAdminToken => token(&a().org_admin_token.token),
            Who::TeamToken => token(&a().team_token.token),
            Who::OtherOrgToken => token(&a().other_org_token.token),
        }
    }

    /// Sends a request through the router; returns the status and the JSON body
    /// (`Null` when empty, a string when not JSON).
    pub async fn send(&self, req: Request<Body>) -> (u16, Value) {
        let resp = send_raw(&self.router, req).await;
        let bytes = resp.body;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (resp.status, body)
    }

    /// Sends a request through the router and keeps headers and body bytes.
    pub async fn send_raw(&self, req: Request<Body>) -> Raw {
        send_raw(&self.router, req).await
    }

    /// A GET whose response is kept as bytes (bodies that must be compared exactly).
    pub async fn get_raw(&self, path: &str, who: impl Into<Who>) -> Raw {
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(h) = self.header(&who.into()) {
            req = req.header(header::AUTHORIZATION, h);
        }
        self.send_raw(req.body(Body::empty()).expect("a valid request"))
            .await
    }

    /// A request with an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        who: impl Into<Who>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| serde_json::to_vec(&b).expect("serialize the request body"));
        self.call_raw(method, path, who, body).await
    }

    /// A request whose body bytes are sent as they are, with a JSON content type.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        who: impl Into<Who>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let method = Method::from_bytes(method.as_bytes()).expect("a valid method");
        let mut req = Request::builder().method(method).uri(path);
        if let Some(h) = self.header(&who.into()) {
            req = req.header(header::AUTHORIZATION, h);
        }
        let req = match body {
            Some(bytes) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(bytes)),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("a valid request")).await
    }

    pub async fn get(&self, path: &str, who: impl Into<Who>) -> (u16, Value) {
        self.call("GET", path, who, None).await
    }

    pub async fn post(&self, path: &str, who: impl Into<Who>, body: Value) -> (u16, Value) {
        self.call("POST", path, who, Some(body)).await
    }

    pub async fn patch(&self, path: &str, who: impl Into<Who>, body: Value) -> (u16, Value) {
        self.call("PATCH", path, who, Some(body)).await
    }

    pub async fn delete(&self, path: &str, who: impl Into<Who>) -> (u16, Value) {
        self.call("DELETE", path, who, None).await
    }

    /// A POST that must succeed (asserted with `what`); returns the body.
    pub async fn post_ok(&self, path: &str, who: impl Into<Who>, body: Value, what: &str) -> Value {
        let (st, body) = self.post(path, who, body).await;
        assert_ok(st, &body, what);
        body
    }

    /// A PATCH that must succeed (asserted with `what`); returns the body.
    pub async fn patch_ok(
        &self,
        path: &str,
        who: impl Into<Who>,
        body: Value,
        what: &str,
    ) -> Value {
        let (st, body) = self.patch(path, who, body).await;
        assert_ok(st, &body, what);
        body
    }

    /// Creates a personal token for `who` (asserted with `what`): its value and id.
    pub async fn personal_token(
        &self,
        who: Who,
        description: &str,
        what: &str,
    ) -> (String, String) {
        let body = self
            .post_ok(
                "/api/user/tokens",
                who,
                json!({"description": description, "expires": 0}),
                what,
            )
            .await;
        let value = body["tokenValue"].as_str().expect("value").to_string();
        let id = body["id"].as_str().expect("id").to_string();
        (value, id)
    }
}
