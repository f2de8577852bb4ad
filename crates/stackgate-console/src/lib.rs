//! stackgate's web console: server-rendered HTML pages for org admins, served by the same
//! binary as the API.
//!
//! Every page calls the same [`Service`] methods as the API with a [`stackgate_core::Ctx`]
//! whose principal is the signed-in user (no token), so authorization and audit are the
//! API's. The console never decides permissions itself: it asks
//! [`Service::permitted_actions`] (computed by `authz::check`) only to hide controls.
//!
//! - [`session`]: sign-in, the session cookie, CSRF checks, the failed-sign-in limit.
//! - `pages`: one module per area; `layout` holds the page frame and shared widgets.
//! - `assets`: the CSS and JS, compiled in and served under a versioned path.

#![forbid(unsafe_code)]

mod assets;
mod error;
mod layout;
mod pages;
mod session;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use ipnet::IpNet;
use stackgate_core::service::SessionPolicy;
use stackgate_core::Service;

pub use session::{RateLimit, LOGIN_CSRF_COOKIE, SESSION_COOKIE};

/// Settings of the console.
#[derive(Clone, Debug, Default)]
pub struct ConsoleConfig {
    /// Always mark the session cookie `Secure` (set this when TLS terminates in front of
    /// stackgate and the proxy is not in `trusted_proxies`).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    pub session: SessionPolicy,
    pub rate_limit: RateLimit,
    /// Password checks (argon2id, ~19 MiB each) that may run at once; 0 means the
    /// default, [`DEFAULT_CONCURRENT_SIGN_INS`].
    pub max_concurrent_sign_ins: usize,
}

/// Default bound on concurrent password checks: 2 × 19 MiB.
pub const DEFAULT_CONCURRENT_SIGN_INS: usize = 2;

/// Shared state of the console's handlers.
#[derive(Clone)]
pub(crate) struct Console {
    pub service: Service,
    pub config: Arc<ConsoleConfig>,
    pub limiter: Arc<session::Limiter>,
    /// Permits for concurrent password checks.
    pub hashing: Arc<tokio::sync::Semaphore>,
}

/// The console's routes, all under `/console`, plus `/` redirecting there.
pub fn router(service: Service, config: ConsoleConfig) -> Router {
    let state = Console {
        service,
        limiter: Arc::new(session::Limiter::new(config.rate_limit)),
        hashing: Arc::new(tokio::sync::Semaphore::new(
            match config.max_concurrent_sign_ins {
                0 => DEFAULT_CONCURRENT_SIGN_INS,
                n => n,
            },
        )),
        config: Arc::new(config),
    };
    use pages::{audit, members, org, settings, stacks, teams, tokens, updates};
    let console = Router::new()
        .route("/console", get(org::home))
        .route("/console/", get(org::home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route(
            "/console/tokens",
            get(tokens::personal).post(tokens::create_personal),
        )
        .route(
            "/console/tokens/{id}/revoke",
            get(tokens::confirm_revoke_personal).post(tokens::revoke_personal),
        )
        .route("/console/orgs/{org}", get(org::overview))
        .route("/console/orgs/{org}/members", get(members::list))
        .route("/console/orgs/{org}/members/add", post(members::add))
        .route(
            "/console/orgs/{org}/members/{login}/role",
            post(members::set_role),
        )
        .route(
            "/console/orgs/{org}/members/{login}/remove",
            get(members::confirm_remove).post(members::remove),
        )
        .route(
            "/console/orgs/{org}/teams",
            get(teams::list).post(teams::create),
        )
        .route("/console/orgs/{org}/teams/{team}", get(teams::show))
        .route("/console/orgs/{org}/teams/{team}/edit", post(teams::edit))
        .route(
            "/console/orgs/{org}/teams/{team}/members",
            post(teams::members),
        )
        .route(
            "/console/orgs/{org}/teams/{team}/stacks",
            post(teams::stacks),
        )
        .route(
            "/console/orgs/{org}/teams/{team}/delete",
            get(teams::confirm_delete).post(teams::delete),
        )
        .route(
            "/console/orgs/{org}/teams/{team}/tokens",
            post(tokens::create_team),
        )
        .route(
            "/console/orgs/{org}/teams/{team}/tokens/{id}/revoke",
            get(tokens::confirm_revoke_team).post(tokens::revoke_team),
        )
        .route("/console/orgs/{org}/stacks", get(stacks::list))
        .route(
            "/console/orgs/{org}/stacks/{project}/{stack}",
            get(stacks::show),
        )
        .route(
            "/console/orgs/{org}/stacks/{project}/{stack}/updates/{id}",
            get(updates::show),
        )
        .route(
            "/console/orgs/{org}/stacks/{project}/{stack}/transfer",
            post(stacks::transfer),
        )
        .route(
            "/console/orgs/{org}/stacks/{project}/{stack}/delete",
            get(stacks::confirm_delete).post(stacks::delete),
        )
        .route(
            "/console/orgs/{org}/tokens",
            get(tokens::org).post(tokens::create_org),
        )
        .route(
            "/console/orgs/{org}/tokens/{id}/revoke",
            get(tokens::confirm_revoke_org).post(tokens::revoke_org),
        )
        .route("/console/orgs/{org}/audit", get(audit::list))
        .route("/console/orgs/{org}/audit/export", get(audit::export))
        .route(
            "/console/orgs/{org}/settings",
            get(settings::show).post(settings::update),
        )
        .route(
            "/console/{*rest}",
            get(error::not_found).post(error::not_found),
        )
        .layer(middleware::from_fn(security_headers))
        .with_state(state);
    let site = Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .merge(console);
    stackgate_http::observe::observed(site)
}

/// Headers every console page carries. Pages are `no-store`: some show a token value once,
/// and none should be served from a cache after sign-out.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
