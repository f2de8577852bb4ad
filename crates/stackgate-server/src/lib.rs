//! stackgate's HTTP layer: the Pulumi Cloud compatible API.
//!
//! [`router`] builds the axum router over a [`Service`] from the one route table
//! ([`routes::table()`], also the list the route-coverage tests walk: [`route_list`]);
//! [`serve`] runs it with graceful shutdown. Errors become `{"code", "message"}` in
//! [`error`]; authentication and body parsing happen in [`extract`]; response shapes
//! live in [`wire`]. The client address and the audit export body come from
//! `stackgate-http`, which the console shares.

#![forbid(unsafe_code)]

pub mod error;
pub mod extract;
mod features;
pub mod openapi;
pub mod routes;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use ipnet::IpNet;
use stackgate_core::Service;

pub use routes::{route_list, Route};

/// Largest accepted request body (state-bearing bodies have their own limit,
/// [`ServerConfig::max_state_bytes`]).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The default of [`ServerConfig::max_state_bytes`]: 512 MiB.
pub const DEFAULT_MAX_STATE_BYTES: usize = 512 * 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub config: Arc<ServerConfig>,
}

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<IpNet>,
    /// Largest state-bearing body (checkpoint, import, batch encrypt/decrypt, engine
    /// events) after gzip decompression; larger is 413.
    pub max_state_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: Vec::new(),
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
        }
    }
}

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
    let api = routes::table()
        .into_iter()
        .fold(Router::new(), |api, r| api.route(r.path, r.endpoint));
    let api = api
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(error::refuse_undecodable_paths));
    stackgate_http::observe::observed(api).with_state(state)
}

/// How long in-flight requests may run on after a shutdown signal, by default.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves `app` (the API router, possibly merged with others such as the console) on
/// `listener` until `shutdown` resolves. Then no new connection is accepted, requests in
/// flight may finish for at most `grace`, and whatever still runs after it is cut off:
/// a stuck client cannot hold a restart (a deploy, a supervisor's stop) forever.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> std::io::Result<()> {
    let (signalled, mut on_signal) = tokio::sync::watch::channel(false);
    let drain = async move {
        shutdown.await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: draining requests in flight"
        );
        let _ = signalled.send(true);
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(drain);
    let deadline = async move {
        while !*on_signal.borrow() {
            if on_signal.changed().await.is_err() {
                // The server ended before any signal.
                return std::future::pending::<()>().await;
            }
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the shutdown grace period were cut off");
            Ok(())
        }
    }
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Service,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(
        listener,
        router_with(service, config),
        shutdown,
        DEFAULT_SHUTDOWN_GRACE,
    )
    .await
}
