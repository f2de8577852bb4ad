//! `--metrics-listen`: Prometheus metrics on a listen address of their own, so they can be
//! kept off the public interface.
//!
//! What is measured (labels never carry a secret, a token id, or a concrete path):
//! - `stackgate_http_requests_total` and `stackgate_http_request_duration_seconds`
//!   (histogram) by method, route template and status;
//! - `stackgate_token_cache_lookups_total` by result (hit, miss);
//! - `stackgate_db_transaction_wait_seconds` (histogram) by kind (read, write): the time
//!   to get a transaction, i.e. waiting for a pooled connection (and, on SQLite, for the
//!   single writer);
//! - `stackgate_updates_running`: Pulumi updates running in the whole installation (read
//!   from the database at each scrape, so it is right with several replicas);
//! - `stackgate_audit_events_total` by event type (counted as appended, before commit).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use stackgate_core::Service;

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process-wide recorder and serves `GET /metrics` on `addr`.
pub async fn serve(addr: SocketAddr, service: Service) -> Result<()> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .context("metric buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics address {addr}"))?;
    tracing::info!(metrics_at = %listener.local_addr()?, "metrics listening");
    let app = Router::new()
        .route("/metrics", get(render))
        .with_state((handle, service));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

async fn render(State((handle, service)): State<(PrometheusHandle, Service)>) -> String {
    match service.running_updates().await {
        Ok(n) => metrics::gauge!("stackgate_updates_running").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count running updates"),
    }
    handle.render()
}
