//! Building a [`TestApp`]: the store it runs on, the two orgs and one actor per kind of
//! principal, and the bootstrap helpers tests use to set up more (each asserts success).

use std::sync::Arc;

use serde_json::{json, Value};
use stackgate_core::clock::{Clock, ManualClock, SystemClock};
use stackgate_core::service::SecretsKey;
use stackgate_core::Service;
use stackgate_secrets::MasterKey;
use stackgate_store::Store;
use stackgate_store_postgres::PostgresStore;
use stackgate_store_sqlite::SqliteStore;
use tempfile::TempDir;

use super::{
    assert_ok, pg, Actors, TestApp, TokenActor, UserActor, Who, ORG, OTHER_ORG, PROJECT, STACK,
    TEAM,
};

/// Options of the fixture.
pub struct Builder {
    team_grant: i64,
    manual_clock: bool,
    secrets_key: bool,
}

impl Builder {
    /// The level of team `devs` on `acme/proj/dev` (101, 102 or 103).
    pub fn team_grant(mut self, code: i64) -> Builder {
        self.team_grant = code;
        self
    }

    /// The service reads the time from a [`ManualClock`] (set to the system time, standing
    /// still until the test moves it through [`TestApp::clock`]).
    pub fn manual_clock(mut self) -> Builder {
        self.manual_clock = true;
        self
    }

    /// No secrets master key (the secrets routes answer 503); by default the service has
    /// a freshly generated one.
    pub fn without_secrets_key(mut self) -> Builder {
        self.secrets_key = false;
        self
    }

    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let (store, schema) = test_store(&dir).await;
        let manual = self
            .manual_clock
            .then(|| Arc::new(ManualClock::at_system_time()));
        let clock: Arc<dyn Clock> = match &manual {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        let secrets = if self.secrets_key {
            SecretsKey::Ready(Arc::new(MasterKey::generate()))
        } else {
            SecretsKey::default()
        };
        let service = Service::with_clock(store, clock).with_secrets_key(secrets);
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
            token_id: c.token.id.to_string(),
        };
        let admin = user_actor("alice", &admin);
        let other_admin = user_actor("gina", &other);

        let mut app = TestApp {
            _dir: dir,
            _schema: schema,
            service,
            router,
            actors: None,
            clock: manual,
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
        app.post_ok(
            &format!("/api/stacks/{ORG}/{PROJECT}"),
            a.clone(),
            json!({"stackName": STACK, "tags": {"env": "dev"}}),
            "fixture: create stack",
        )
        .await;
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
        Builder {
            team_grant: 102,
            manual_clock: false,
            secrets_key: true,
        }
    }

    /// The default fixture.
    pub async fn start() -> TestApp {
        TestApp::builder().build().await
    }

    // ---- bootstrap helpers (operator functions)

    /// A new user with a personal token, member of no org.
    pub async fn new_user(&self, login: &str) -> UserActor {
        self.new_user_named(login, "").await
    }

    /// [`TestApp::new_user`] with a display name.
    pub async fn new_user_named(&self, login: &str, name: &str) -> UserActor {
        let user = self
            .service
            .create_user(login, name, &format!("{login}@example.com"), false)
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
            token_id: created.token.id.to_string(),
        }
    }

    // ---- bootstrap helpers (through the API; each asserts success)

    pub async fn add_member_as(&self, who: &Who, org: &str, login: &str, role: &str) {
        self.post_ok(
            &format!("/api/orgs/{org}/members/{login}"),
            who.clone(),
            json!({"role": role}),
            &format!("add {login} to {org}"),
        )
        .await;
    }

    /// A new user who is a member of `acme` with `role`.
    pub async fn new_member(&self, login: &str, role: &str) -> UserActor {
        let user = self.new_user(login).await;
        self.add_member_as(&Who::Admin, ORG, login, role).await;
        user
    }

    pub async fn create_team_as(&self, who: &Who, team: &str) {
        self.create_team_in(who, ORG, team).await;
    }

    pub async fn create_team_in(&self, who: &Who, org: &str, team: &str) {
        self.post_ok(
            &format!("/api/orgs/{org}/teams/pulumi"),
            who.clone(),
            json!({"name": team, "displayName": team, "description": ""}),
            &format!("create team {team} in {org}"),
        )
        .await;
    }

    pub async fn team_member_as(&self, who: &Who, team: &str, action: &str, login: &str) {
        self.patch_ok(
            &format!("/api/orgs/{ORG}/teams/{team}"),
            who.clone(),
            json!({"memberAction": action, "member": login}),
            &format!("{action} {login} in team {team}"),
        )
        .await;
    }

    pub async fn create_stack_as(&self, who: &Who, project: &str, stack: &str) {
        self.create_stack_in(who, ORG, project, stack).await;
    }

    pub async fn create_stack_in(&self, who: &Who, org: &str, project: &str, stack: &str) {
        self.post_ok(
            &format!("/api/stacks/{org}/{project}"),
            who.clone(),
            json!({"stackName": stack}),
            &format!("create stack {org}/{project}/{stack}"),
        )
        .await;
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
        let body = self
            .post_ok(
                &format!("/api/orgs/{org}/tokens"),
                who.clone(),
                json!({"name": name, "description": "", "admin": admin, "expires": expires}),
                &format!("create org token {name}"),
            )
            .await;
        token_actor(name, &body)
    }

    pub async fn team_token_as(
        &self,
        who: &Who,
        team: &str,
        name: &str,
        expires: i64,
    ) -> TokenActor {
        let body = self
            .post_ok(
                &format!("/api/orgs/{ORG}/teams/{team}/tokens"),
                who.clone(),
                json!({"name": name, "description": "", "expires": expires}),
                &format!("create team token {name}"),
            )
            .await;
        token_actor(name, &body)
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
