//! stackgate's HTTP layer: the Pulumi Cloud compatible API.
//!
//! [`router`] builds the axum router over a [`Service`]; [`serve`] runs it with graceful
//! shutdown. Errors become `{"code", "message"}` in [`error`]; authentication and body
//! parsing happen in [`extract`]; response shapes live in [`wire`].

#![forbid(unsafe_code)]

pub mod error;
pub mod export;
pub mod extract;
mod features;
pub mod routes;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, head, patch, post};
use axum::Router;
use ipnet::IpNet;
use stackgate_core::Service;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use routes::{audit, orgs, stacks, tokens, user};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub config: Arc<ServerConfig>,
}

/// Settings of the HTTP layer.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<IpNet>,
}

/// Every API route with its method. The HTTP permission sweep iterates over this list,
/// so a route added here and not covered there fails that test.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/api/capabilities"),
    ("GET", "/api/user"),
    ("GET", "/api/user/organizations/default"),
    ("GET", "/api/user/tokens"),
    ("POST", "/api/user/tokens"),
    ("DELETE", "/api/user/tokens/{tokenId}"),
    ("GET", "/api/user/stacks"),
    ("GET", "/api/orgs/{org}"),
    ("PATCH", "/api/orgs/{org}"),
    ("GET", "/api/orgs/{org}/members"),
    ("POST", "/api/orgs/{org}/members/{login}"),
    ("PATCH", "/api/orgs/{org}/members/{login}"),
    ("DELETE", "/api/orgs/{org}/members/{login}"),
    ("GET", "/api/orgs/{org}/members/{login}/teams"),
    ("GET", "/api/orgs/{org}/teams"),
    ("POST", "/api/orgs/{org}/teams/pulumi"),
    ("GET", "/api/orgs/{org}/teams/{team}"),
    ("PATCH", "/api/orgs/{org}/teams/{team}"),
    ("DELETE", "/api/orgs/{org}/teams/{team}"),
    ("GET", "/api/orgs/{org}/teams/{team}/tokens"),
    ("POST", "/api/orgs/{org}/teams/{team}/tokens"),
    ("DELETE", "/api/orgs/{org}/teams/{team}/tokens/{tokenId}"),
    ("GET", "/api/orgs/{org}/tokens"),
    ("POST", "/api/orgs/{org}/tokens"),
    ("DELETE", "/api/orgs/{org}/tokens/{tokenId}"),
    ("GET", "/api/orgs/{org}/auditlogs"),
    ("GET", "/api/orgs/{org}/auditlogs/v2"),
    ("GET", "/api/orgs/{org}/auditlogs/event-types"),
    ("GET", "/api/orgs/{org}/auditlogs/export"),
    ("GET", "/api/orgs/{org}/auditlogs/v2/export"),
    ("GET", "/api/orgs/{org}/auditlogs/verify"),
    ("POST", "/api/orgs/{org}/bulk-transfer/stacks"),
    ("POST", "/api/stacks/{org}/{project}"),
    ("HEAD", "/api/stacks/{org}/{project}"),
    ("GET", "/api/stacks/{org}/{project}/{stack}"),
    ("DELETE", "/api/stacks/{org}/{project}/{stack}"),
    ("POST", "/api/stacks/{org}/{project}/{stack}/transfer"),
    ("PATCH", "/api/stacks/{org}/{project}/{stack}/tags"),
    ("POST", "/api/stacks/{org}/{project}/{stack}/tags"),
    ("DELETE", "/api/stacks/{org}/{project}/{stack}/tags/{tag}"),
    ("GET", "/api/stacks/{org}/{project}/{stack}/teams"),
    (
        "PATCH",
        "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
    ),
    (
        "GET",
        "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
    ),
];

/// The API router with default settings.
pub fn router(service: Service) -> Router {
    router_with(service, ServerConfig::default())
}

/// The API router.
pub fn router_with(service: Service, config: ServerConfig) -> Router {
    let state = AppState {
        service,
        config: Arc::new(config),
    };
    // Exports can be large: gzip them when the client accepts it.
    let exports = Router::new()
        .route("/api/orgs/{org}/auditlogs/export", get(audit::export_v1))
        .route("/api/orgs/{org}/auditlogs/v2/export", get(audit::export_v2))
        .layer(CompressionLayer::new().gzip(true));
    Router::new()
        .merge(exports)
        .route("/healthz", get(routes::healthz))
        .route("/api/capabilities", get(routes::capabilities))
        .route("/api/user", get(user::current_user))
        .route("/api/user/organizations/default", get(user::default_org))
        .route(
            "/api/user/tokens",
            get(user::list_tokens).post(user::create_token),
        )
        .route("/api/user/tokens/{id}", delete(user::delete_token))
        .route("/api/user/stacks", get(user::list_stacks))
        .route(
            "/api/orgs/{org}",
            get(orgs::get_org).patch(orgs::update_org),
        )
        .route("/api/orgs/{org}/members", get(orgs::list_members))
        .route(
            "/api/orgs/{org}/members/{login}",
            post(orgs::add_member)
                .patch(orgs::update_member)
                .delete(orgs::remove_member),
        )
        .route(
            "/api/orgs/{org}/members/{login}/teams",
            get(orgs::member_teams),
        )
        .route("/api/orgs/{org}/teams", get(orgs::list_teams))
        // `pulumi` is the creation path; a team may still be named "pulumi".
        .route(
            "/api/orgs/{org}/teams/pulumi",
            post(orgs::create_team)
                .get(pulumi_team::get)
                .patch(pulumi_team::update)
                .delete(pulumi_team::delete),
        )
        .route(
            "/api/orgs/{org}/teams/{team}",
            get(orgs::get_team)
                .patch(orgs::update_team)
                .delete(orgs::delete_team),
        )
        .route(
            "/api/orgs/{org}/teams/{team}/tokens",
            get(tokens::list_team_tokens).post(tokens::create_team_token),
        )
        .route(
            "/api/orgs/{org}/teams/{team}/tokens/{id}",
            delete(tokens::delete_team_token),
        )
        .route(
            "/api/orgs/{org}/tokens",
            get(tokens::list_org_tokens).post(tokens::create_org_token),
        )
        .route(
            "/api/orgs/{org}/tokens/{id}",
            delete(tokens::delete_org_token),
        )
        .route("/api/orgs/{org}/auditlogs", get(audit::list_v1))
        .route("/api/orgs/{org}/auditlogs/v2", get(audit::list_v2))
        .route(
            "/api/orgs/{org}/auditlogs/event-types",
            get(audit::event_types),
        )
        .route("/api/orgs/{org}/auditlogs/verify", get(audit::verify))
        .route(
            "/api/orgs/{org}/bulk-transfer/stacks",
            post(stacks::transfer_all),
        )
        .route(
            "/api/stacks/{org}/{project}",
            post(stacks::create_stack).merge(head(stacks::project_exists)),
        )
        .route(
            "/api/stacks/{org}/{project}/{stack}",
            get(stacks::get_stack).delete(stacks::delete_stack),
        )
        .route(
            "/api/stacks/{org}/{project}/{stack}/transfer",
            post(stacks::transfer_stack),
        )
        .route(
            "/api/stacks/{org}/{project}/{stack}/tags",
            patch(stacks::replace_tags).post(stacks::set_tag),
        )
        .route(
            "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
            delete(stacks::delete_tag),
        )
        .route(
            "/api/stacks/{org}/{project}/{stack}/teams",
            get(stacks::stack_teams),
        )
        .route(
            "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
            patch(stacks::set_stack_team),
        )
        .route(
            "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
            get(stacks::member_stack_permissions),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Handlers for a team literally named "pulumi", whose path is also the creation path.
mod pulumi_team {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::Json;
    use serde_json::Value;

    use crate::error::ApiResult;
    use crate::extract::{ApiJson, Auth};
    use crate::routes::orgs;
    use crate::AppState;

    pub async fn get(
        s: State<AppState>,
        auth: Auth,
        Path(org): Path<String>,
    ) -> ApiResult<Json<Value>> {
        orgs::get_team(s, auth, Path((org, "pulumi".into()))).await
    }

    pub async fn update(
        s: State<AppState>,
        auth: Auth,
        Path(org): Path<String>,
        body: ApiJson<orgs::UpdateTeam>,
    ) -> ApiResult<StatusCode> {
        orgs::update_team(s, auth, Path((org, "pulumi".into())), body).await
    }

    pub async fn delete(
        s: State<AppState>,
        auth: Auth,
        Path(org): Path<String>,
    ) -> ApiResult<StatusCode> {
        orgs::delete_team(s, auth, Path((org, "pulumi".into()))).await
    }
}

/// Serves `app` (the API router, possibly merged with others such as the console) on
/// `listener` until `shutdown` resolves.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Service,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router_with(service, config), shutdown).await
}
