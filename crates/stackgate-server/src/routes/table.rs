//! The route table: every API route as (method, path template, handler), once.
//!
//! The router is built from [`table`], and the tests that must cover every route (the
//! permission sweep, audit coverage) iterate over [`route_list`], which is derived from
//! the same entries. A route therefore cannot be served without those tests knowing it.
//! Each entry names one method, so the method a test sees is the method the handler is
//! mounted on; entries that share a path are merged by `Router::route` (which panics on a
//! repeated method and path, so a duplicate entry cannot go unnoticed either).

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use tower_http::compression::CompressionLayer;

use super::{audit, orgs, pulumi_team, stacks, state, tokens, user};
use crate::AppState;

/// One API route: a method on a path template, and the handler mounted there.
pub struct Route {
    pub method: Method,
    /// The path in axum's syntax (`/api/orgs/{org}`), as the router matches it.
    pub path: &'static str,
    pub(crate) endpoint: MethodRouter<AppState>,
}

impl Route {
    fn new(method: Method, path: &'static str, endpoint: MethodRouter<AppState>) -> Route {
        Route {
            method,
            path,
            endpoint,
        }
    }

    /// GET (axum also answers HEAD through a GET handler, without the body).
    fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, h: H) -> Route {
        Route::new(Method::GET, path, routing::get(h))
    }

    fn head<H: Handler<T, AppState>, T: 'static>(path: &'static str, h: H) -> Route {
        Route::new(Method::HEAD, path, routing::head(h))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, h: H) -> Route {
        Route::new(Method::POST, path, routing::post(h))
    }

    fn patch<H: Handler<T, AppState>, T: 'static>(path: &'static str, h: H) -> Route {
        Route::new(Method::PATCH, path, routing::patch(h))
    }

    fn delete<H: Handler<T, AppState>, T: 'static>(path: &'static str, h: H) -> Route {
        Route::new(Method::DELETE, path, routing::delete(h))
    }

    /// PUT-less helper for routes whose request body is read by `StateBody` with its own
    /// limit: lifts the API-wide 1 MiB limit so that the state limit applies.
    fn state_sized(self) -> Route {
        let endpoint = self
            .endpoint
            .layer(axum::extract::DefaultBodyLimit::disable());
        Route { endpoint, ..self }
    }

    /// Gzips the response when the client accepts it (exports can be large; other
    /// responses are small and gain nothing from it).
    fn gzipped(self) -> Route {
        let endpoint = self.endpoint.layer(CompressionLayer::new().gzip(true));
        Route { endpoint, ..self }
    }
}

/// Every API route, grouped by area.
pub fn table() -> Vec<Route> {
    vec![
        Route::get("/healthz", super::healthz),
        Route::get("/readyz", super::readyz),
        Route::get("/api/capabilities", super::capabilities),
        // The caller.
        Route::get("/api/user", user::current_user),
        Route::get("/api/user/organizations/default", user::default_org),
        Route::get("/api/user/tokens", user::list_tokens),
        Route::post("/api/user/tokens", user::create_token),
        Route::delete("/api/user/tokens/{tokenId}", user::delete_token),
        Route::get("/api/user/stacks", user::list_stacks),
        // Orgs and members.
        Route::get("/api/orgs/{org}", orgs::get_org),
        Route::patch("/api/orgs/{org}", orgs::update_org),
        Route::get("/api/orgs/{org}/members", orgs::list_members),
        Route::post("/api/orgs/{org}/members/{login}", orgs::add_member),
        Route::patch("/api/orgs/{org}/members/{login}", orgs::update_member),
        Route::delete("/api/orgs/{org}/members/{login}", orgs::remove_member),
        Route::get("/api/orgs/{org}/members/{login}/teams", orgs::member_teams),
        // Teams. `pulumi` is the creation path; a team may still be named "pulumi".
        Route::get("/api/orgs/{org}/teams", orgs::list_teams),
        Route::post("/api/orgs/{org}/teams/pulumi", orgs::create_team),
        Route::get("/api/orgs/{org}/teams/pulumi", pulumi_team::get),
        Route::patch("/api/orgs/{org}/teams/pulumi", pulumi_team::update),
        Route::delete("/api/orgs/{org}/teams/pulumi", pulumi_team::delete),
        Route::get("/api/orgs/{org}/teams/{team}", orgs::get_team),
        Route::patch("/api/orgs/{org}/teams/{team}", orgs::update_team),
        Route::delete("/api/orgs/{org}/teams/{team}", orgs::delete_team),
        // Tokens.
        Route::get(
            "/api/orgs/{org}/teams/{team}/tokens",
            tokens::list_team_tokens,
        ),
        Route::post(
            "/api/orgs/{org}/teams/{team}/tokens",
            tokens::create_team_token,
        ),
        Route::delete(
            "/api/orgs/{org}/teams/{team}/tokens/{tokenId}",
            tokens::delete_team_token,
        ),
        Route::get("/api/orgs/{org}/tokens", tokens::list_org_tokens),
        Route::post("/api/orgs/{org}/tokens", tokens::create_org_token),
        Route::delete("/api/orgs/{org}/tokens/{tokenId}", tokens::delete_org_token),
        // The audit log.
        Route::get("/api/orgs/{org}/auditlogs", audit::list::<audit::V1>),
        Route::get("/api/orgs/{org}/auditlogs/v2", audit::list::<audit::V2>),
        Route::get("/api/orgs/{org}/auditlogs/event-types", audit::event_types),
        Route::get(
            "/api/orgs/{org}/auditlogs/export",
            audit::export::<audit::V1>,
        )
        .gzipped(),
        Route::get(
            "/api/orgs/{org}/auditlogs/v2/export",
            audit::export::<audit::V2>,
        )
        .gzipped(),
        Route::get("/api/orgs/{org}/auditlogs/verify", audit::verify),
        // Stacks.
        Route::post("/api/orgs/{org}/bulk-transfer/stacks", stacks::transfer_all),
        Route::post("/api/stacks/{org}/{project}", stacks::create_stack),
        Route::head("/api/stacks/{org}/{project}", stacks::project_exists),
        Route::get("/api/stacks/{org}/{project}/{stack}", stacks::get_stack),
        Route::delete("/api/stacks/{org}/{project}/{stack}", stacks::delete_stack),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/transfer",
            stacks::transfer_stack,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/rename",
            stacks::rename_stack,
        ),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/tags",
            stacks::replace_tags,
        ),
        Route::post("/api/stacks/{org}/{project}/{stack}/tags", stacks::set_tag),
        Route::delete(
            "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
            stacks::delete_tag,
        ),
        // The state backend (the Pulumi CLI). `U` = S/{kind}/{updateId}.
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/update",
            state::create_update,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/preview",
            state::create_preview,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/refresh",
            state::create_refresh,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/destroy",
            state::create_destroy,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
            state::start_update,
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
            state::get_update,
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events",
            state::update_events,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/cancel",
            state::cancel_update,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/renew_lease",
            state::renew_lease,
        ),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
            state::checkpoint,
        )
        .state_sized(),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointverbatim",
            state::checkpoint,
        )
        .state_sized(),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointdelta",
            state::checkpoint_delta,
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events/batch",
            state::events_batch,
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/complete",
            state::complete_update,
        ),
        Route::get("/api/stacks/{org}/{project}/{stack}/export", state::export).gzipped(),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/export/{version}",
            state::export_version,
        )
        .gzipped(),
        Route::post("/api/stacks/{org}/{project}/{stack}/import", state::import).state_sized(),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/updates",
            state::history,
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/updates/{version}",
            state::update_info,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/encrypt",
            state::encrypt,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt",
            state::decrypt,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
            state::batch_encrypt,
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/batch-decrypt",
            state::batch_decrypt,
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt/log-decryption",
            state::log_decryption,
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt/log-batch-decryption",
            state::log_decryption,
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/teams",
            stacks::stack_teams,
        ),
        Route::patch(
            "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
            stacks::set_stack_team,
        ),
        Route::get(
            "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
            stacks::member_stack_permissions,
        ),
    ]
}

/// `(method, path template)` of every route of [`table`], in table order: what the
/// route-coverage tests iterate over.
pub fn route_list() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}
