//! What the console's test binaries share: the router over a temporary SQLite store,
//! driven with `oneshot` like a browser would (cookies, CSRF fields, redirects).

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset of the helpers and imports"
)]

pub use std::io::Write;
pub use std::sync::{Arc, Mutex};

pub use axum::body::Body;
pub use axum::http::{header, Request, StatusCode};
pub use axum::Router;
pub use http_body_util::BodyExt;
pub use stackgate_console::{ConsoleConfig, RateLimit};
pub use stackgate_core::service::SessionPolicy;
pub use stackgate_core::Service;
pub use stackgate_store::{AuditEvent, AuditQuery, Store};
pub use stackgate_store_sqlite::SqliteStore;
pub use tempfile::TempDir;
pub use tower::ServiceExt;

pub const ALICE_PW: &str = "alice's long password";
pub const BOB_PW: &str = "bob's long password!";

pub struct App {
    pub _dir: TempDir,
    pub store: Arc<dyn Store>,
    /// The service behind the router, for seeding what the API would (stacks, updates).
    pub service: Service,
    /// The value of alice's personal token (from `init_org`).
    pub alice_token: String,
    pub router: Router,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    /// The value of the first `name="csrf"` field on the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..at + 64].to_string()
    }
}

pub async fn app_with(config: ConsoleConfig) -> App {
    let dir = TempDir::new().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("console.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.expect("open store"));
    let service = Service::new(store.clone());
    let alice_token = service
        .init_org("acme", "alice", "", "test")
        .await
        .expect("init org")
        .value
        .expose()
        .to_string();
    service
        .set_password("alice", ALICE_PW)
        .await
        .expect("password");
    service
        .create_user("bob", "", "", false)
        .await
        .expect("bob");
    service.set_password("bob", BOB_PW).await.expect("password");
    let router = stackgate_console::router(service.clone(), config);
    App {
        _dir: dir,
        store,
        service,
        alice_token,
        router,
    }
}

pub async fn app() -> App {
    app_with(ConsoleConfig::default()).await
}

impl App {
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: &str) -> Resp {
        let req = Request::get(path)
            .header(header::HOST, "console.test")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    pub async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Resp {
        self.post_from(path, cookie, form, Some("http://console.test"))
            .await
    }

    pub async fn post_from(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Resp {
        let body = serde_urlencoded::to_string(form).expect("form");
        let mut req = Request::post(path)
            .header(header::HOST, "console.test")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// Signs in; returns the response of the POST and the session cookie ("" on failure).
    pub async fn sign_in(&self, login: &str, password: &str) -> (Resp, String) {
        let page = self.get("/console/login", "").await;
        let pre = page
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("sg_login_csrf="))
            .expect("pre-session csrf cookie");
        let pre = pre.split(';').next().expect("cookie pair").to_string();
        let csrf = page.csrf();
        let res = self
            .post(
                "/console/login",
                &pre,
                &[("csrf", &csrf), ("login", login), ("password", password)],
            )
            .await;
        let session = res
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("sg_session=") && !c.starts_with("sg_session=;"))
            .map(|c| c.split(';').next().expect("pair").to_string())
            .unwrap_or_default();
        (res, session)
    }

    pub async fn audit(&self) -> Vec<AuditEvent> {
        let mut tx = self.store.read().await.expect("tx");
        let org = tx.org_by_name("acme").await.expect("org").expect("acme");
        tx.list_audit(&AuditQuery {
            org_id: org.id,
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
    }
}
