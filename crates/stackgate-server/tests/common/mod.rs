//! The in-process test harness shared by the HTTP test binaries.
//!
//! [`TestApp`] owns a fresh SQLite file in a temp dir, a [`Service`] over it and the
//! router; requests go through `router.oneshot`, so no port, no process and no sleeps.
//! [`TestApp::start`] bootstraps two orgs the way an operator and an admin would (the
//! operator functions `init_org` / `create_user` / `issue_user_token`, then the API) and
//! hands out one typed actor per kind of principal in `permissions.md` ([`Who`]).
//!
//! Fixture (org `acme` unless said otherwise):
//! - `alice` admin (and site admin), `bob` member, `carol` billing-manager,
//!   `dave` member and team admin of `devs`, `erin` member of `globex` only,
//!   `gina` admin of `globex`;
//! - stack `acme/proj/dev` (created by alice, tag `env=dev`), team `devs` with a write
//!   grant on it (level configurable with [`Builder::team_grant`]);
//! - org tokens `ci-member` (member scope) and `ci-admin` (admin scope), team token
//!   `devs-ci`, and `globex-ci` (admin scope, org `globex`).

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]

use stackgate_store_testkit::pg;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stackgate_core::Service;
use stackgate_store::Store;
use stackgate_store_postgres::PostgresStore;
use stackgate_store_sqlite::SqliteStore;
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

/// Options of the fixture.
pub struct Builder {
    team_grant: i64,
}

impl Builder {
    /// The level of team `devs` on `acme/proj/dev` (101, 102 or 103).
    pub fn team_grant(mut self, code: i64) -> Builder {
        self.team_grant = code;
        self
    }

    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let (store, schema) = test_store(&dir).await;
        let service = Service::new(store);
        let router = stackgate_server::router(service.clone());

        // Operator bootstrap.
        let admin = service
            .init_org(ORG, "alice", "alice@example.com", "127.0.0.1")
            .await
            .expect("init org acme");
        let other = service
            .init_org(OTHER_ORG, "gina", "gina@example.com", "127.0.0.1")
            .await
            .expect("init org globex");
        let user_actor = |login: &str, c: &stackgate_core::service::CreatedToken| UserActor {
            login: login.to_string(),
            token: c.value.expose().to_string(),
            token_id: c.token.id.clone(),
        };
        let admin = user_actor("alice", &admin);
        let other_admin = user_actor("gina", &other);

        let mut app = TestApp {
            _dir: dir,
            _schema: schema,
            service,
            router,
            actors: None,
        };
        let member = app.new_user("bob").await;
        let billing = app.new_user("carol").await;
        let team_admin = app.new_user("dave").await;
        let outsider = app.new_user("erin").await;

        // Through the API, as the admins would.
        let a = Who::from(&admin);
        app.add_member_as(&a, ORG, "bob", "member").await;
        app.add_member_as(&a, ORG, "carol", "billing-manager").await;
        app.add_member_as(&a, ORG, "dave", "member").await;
        app.add_member_as(&Who::from(&other_admin), OTHER_ORG, "erin", "member")
            .await;

        app.create_team_as(&a, TEAM).await;
        app.team_member_as(&a, TEAM, "add", "dave").await;
        app.team_member_as(&a, TEAM, "promote", "dave").await;
        let (st, body) = app
            .post(
                &format!("/api/stacks/{ORG}/{PROJECT}"),
                a.clone(),
                json!({"stackName": STACK, "tags": {"env": "dev"}}),
            )
            .await;
        assert_ok(st, &body, "fixture: create stack");
        app.grant_as(&a, TEAM, PROJECT, STACK, self.team_grant)
            .await;

        let org_member_token = app.org_token_as(&a, ORG, "ci-member", false, 0).await;
        let org_admin_token = app.org_token_as(&a, ORG, "ci-admin", true, 0).await;
        let team_token = app.team_token_as(&a, TEAM, "devs-ci", 0).await;
        let other_org_token = app
            .org_token_as(&Who::from(&other_admin), OTHER_ORG, "globex-ci", true, 0)
            .await;

        app.actors = Some(Actors {
            admin,
            member,
            billing,
            team_admin,
            outsider,
            other_admin,
            org_member_token,
            org_admin_token,
            team_token,
            other_org_token,
        });
        app
    }
}

/// One isolated stackgate: its own database file, service and router.
pub struct TestApp {
    _dir: TempDir,
    pub service: Service,
    router: Router,
    actors: Option<Actors>,
    /// The PostgreSQL schema of this app, dropped with it (last, after the store).
    _schema: Option<pg::TestSchema>,
}

/// The backend the API tests run on: a fresh SQLite file, or — with
/// `STACKGATE_TEST_BACKEND=postgres` and `STACKGATE_TEST_POSTGRES_URL` set — a fresh
/// PostgreSQL schema of its own (dropped at the end), so tests still run in parallel.
async fn test_store(dir: &TempDir) -> (Arc<dyn Store>, Option<pg::TestSchema>) {
    if std::env::var("STACKGATE_TEST_BACKEND").as_deref() == Ok("postgres") {
        if let Some(schema) = pg::TestSchema::create("TestApp on PostgreSQL").await {
            let store = PostgresStore::connect(&schema.url())
                .await
                .expect("open the PostgreSQL test schema");
            return (Arc::new(store), Some(schema));
        }
    }
    let url = format!("sqlite://{}", dir.path().join("stackgate.db").display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("open the SQLite test database");
    (Arc::new(store), None)
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder { team_grant: 102 }
    }

    /// The default fixture.
    pub async fn start() -> TestApp {
        TestApp::builder().build().await
    }

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
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .expect("read the response body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body)
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

    // ---- bootstrap helpers (operator functions)

    /// A new user with a personal token, member of no org.
    pub async fn new_user(&self, login: &str) -> UserActor {
        let user = self
            .service
            .create_user(login, "", &format!("{login}@example.com"), false)
            .await
            .expect("create user");
        let created = self
            .service
            .issue_user_token(&user, "test token")
            .await
            .expect("issue a personal token");
        UserActor {
            login: login.to_string(),
            token: created.value.expose().to_string(),
            token_id: created.token.id.clone(),
        }
    }

    // ---- bootstrap helpers (through the API; each asserts success)

    pub async fn add_member_as(&self, who: &Who, org: &str, login: &str, role: &str) {
        let (st, body) = self
            .post(
                &format!("/api/orgs/{org}/members/{login}"),
                who.clone(),
                json!({"role": role}),
            )
            .await;
        assert_ok(st, &body, &format!("add {login} to {org}"));
    }

    /// A new user who is a member of `acme` with `role`.
    pub async fn new_member(&self, login: &str, role: &str) -> UserActor {
        let user = self.new_user(login).await;
        self.add_member_as(&Who::Admin, ORG, login, role).await;
        user
    }

    pub async fn create_team_as(&self, who: &Who, team: &str) {
        let (st, body) = self
            .post(
                &format!("/api/orgs/{ORG}/teams/pulumi"),
                who.clone(),
                json!({"name": team, "displayName": team, "description": ""}),
            )
            .await;
        assert_ok(st, &body, &format!("create team {team}"));
    }

    pub async fn team_member_as(&self, who: &Who, team: &str, action: &str, login: &str) {
        let (st, body) = self
            .patch(
                &format!("/api/orgs/{ORG}/teams/{team}"),
                who.clone(),
                json!({"memberAction": action, "member": login}),
            )
            .await;
        assert_ok(st, &body, &format!("{action} {login} in team {team}"));
    }

    pub async fn create_stack_as(&self, who: &Who, project: &str, stack: &str) {
        self.create_stack_in(who, ORG, project, stack).await;
    }

    pub async fn create_stack_in(&self, who: &Who, org: &str, project: &str, stack: &str) {
        let (st, body) = self
            .post(
                &format!("/api/stacks/{org}/{project}"),
                who.clone(),
                json!({"stackName": stack}),
            )
            .await;
        assert_ok(st, &body, &format!("create stack {org}/{project}/{stack}"));
    }

    pub async fn grant_as(&self, who: &Who, team: &str, project: &str, stack: &str, perm: i64) {
        let (st, body) = self
            .patch(
                &format!("/api/orgs/{ORG}/teams/{team}"),
                who.clone(),
                json!({"addStackPermission": {"projectName": project, "stackName": stack, "permission": perm}}),
            )
            .await;
        assert_ok(
            st,
            &body,
            &format!("grant {team} {perm} on {project}/{stack}"),
        );
    }

    pub async fn org_token_as(
        &self,
        who: &Who,
        org: &str,
        name: &str,
        admin: bool,
        expires: i64,
    ) -> TokenActor {
        let (st, body) = self
            .post(
                &format!("/api/orgs/{org}/tokens"),
                who.clone(),
                json!({"name": name, "description": "", "admin": admin, "expires": expires}),
            )
            .await;
        assert_ok(st, &body, &format!("create org token {name}"));
        token_actor(name, &body)
    }

    pub async fn team_token_as(
        &self,
        who: &Who,
        team: &str,
        name: &str,
        expires: i64,
    ) -> TokenActor {
        let (st, body) = self
            .post(
                &format!("/api/orgs/{ORG}/teams/{team}/tokens"),
                who.clone(),
                json!({"name": name, "description": "", "expires": expires}),
            )
            .await;
        assert_ok(st, &body, &format!("create team token {name}"));
        token_actor(name, &body)
    }

    // ---- readers

    /// Every audit event of `org`, newest first, read by `who` page by page.
    pub async fn audit_as(&self, who: &Who, org: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        for _ in 0..1000 {
            let mut path = format!("/api/orgs/{org}/auditlogs/v2?pageSize=1000");
            if let Some(c) = &cont {
                path.push_str(&format!("&continuationToken={c}"));
            }
            let (st, body) = self.get(&path, who.clone()).await;
            assert_ok(st, &body, "read the audit log");
            out.extend(
                body["auditLogEvents"]
                    .as_array()
                    .expect("auditLogEvents is a list")
                    .iter()
                    .cloned(),
            );
            match body["continuationToken"].as_str() {
                Some(c) => cont = Some(c.to_string()),
                None => return out,
            }
        }
        panic!("audit paging did not end");
    }

    /// Every audit event of `acme`, read by its admin.
    pub async fn audit(&self) -> Vec<Value> {
        self.audit_as(&Who::Admin, ORG).await
    }

    /// Everything a refused write could have changed in `acme`, with volatile fields
    /// (`lastUsed`) removed: members, teams (with members and grants), org and team
    /// tokens, the admin's personal tokens, the fixture stack, the org's settings, and the
    /// number of audit events.
    pub async fn snapshot(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (key, path) in [
            ("org", format!("/api/orgs/{ORG}")),
            ("members", format!("/api/orgs/{ORG}/members?pageSize=1000")),
            ("teams", format!("/api/orgs/{ORG}/teams")),
            ("team", format!("/api/orgs/{ORG}/teams/{TEAM}")),
            ("orgTokens", format!("/api/orgs/{ORG}/tokens")),
            ("teamTokens", format!("/api/orgs/{ORG}/teams/{TEAM}/tokens")),
            ("stack", STACK_PATH.to_string()),
            ("stackTeams", format!("{STACK_PATH}/teams")),
            ("stacks", "/api/user/stacks?maxResults=1000".to_string()),
            ("userTokens", "/api/user/tokens".to_string()),
        ] {
            let (st, mut body) = self.get(&path, Who::Admin).await;
            assert_ok(st, &body, &format!("snapshot {key}"));
            if let Some(tokens) = body.get_mut("tokens").and_then(Value::as_array_mut) {
                for t in tokens {
                    if let Some(t) = t.as_object_mut() {
                        t.remove("lastUsed");
                    }
                }
            }
            out.insert(key.to_string(), body);
        }
        out.insert("auditEvents".into(), json!(self.audit().await.len()));
        Value::Object(out)
    }
}

fn token_actor(name: &str, body: &Value) -> TokenActor {
    TokenActor {
        name: name.to_string(),
        id: body["id"].as_str().expect("token id").to_string(),
        token: body["tokenValue"]
            .as_str()
            .expect("token value")
            .to_string(),
    }
}

/// Events of `events` (newest first) with the given id.
pub fn events_named<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == id).collect()
}
