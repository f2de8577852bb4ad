//! Route handlers, one module per API area, and the route [`table()`] that mounts them.
//! Handlers are thin: they parse the request, call one service operation and shape its
//! result; no permission logic lives here.

pub mod audit;
pub mod orgs;
mod pulumi_team;
pub mod stacks;
pub mod state;
pub mod table;
pub mod tokens;
pub mod user;

pub use table::{route_list, table, Route};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Path parameters by how many the route has (`/{org}`, `/{org}/{team}`, ...); each
/// handler names them where it destructures the tuple.
pub type Path1 = axum::extract::Path<String>;
pub type Path2 = axum::extract::Path<(String, String)>;
pub type Path3 = axum::extract::Path<(String, String, String)>;
pub type Path4 = axum::extract::Path<(String, String, String, String)>;

/// Awaits a change whose success the API answers with `204 No Content`.
pub(crate) async fn no_content(
    change: impl std::future::Future<Output = Result<(), stackgate_core::CoreError>>,
) -> ApiResult<StatusCode> {
    change.await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Liveness: 200 while the process serves requests (it asks nothing of the database, so a
/// database outage does not get the process restarted).
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: 200 when the database answers, 503 (saying so) when it does not, so a load
/// balancer sends requests only to replicas that can serve them.
pub async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    s.service.store().ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    })?;
    Ok(Json(json!({"status": "ready", "database": "reachable"})))
}

/// Checkpoints of at least this many bytes are sent as deltas to the previous one.
pub const DELTA_CUTOFF_BYTES: u64 = 32 * 1024;

/// What the Pulumi CLI may use beyond the base protocol: batch encryption (one call per
/// many secrets instead of one each) and delta checkpoints (`checkpointverbatim`, then
/// `checkpointdelta` with edits to the previous checkpoint, for states of at least
/// [`DELTA_CUTOFF_BYTES`]).
pub async fn capabilities() -> Json<Value> {
    Json(json!({"capabilities": [
        {"capability": "batch-encrypt", "version": 1},
        {"capability": "delta-checkpoint-uploads-v2", "version": 2,
         "configuration": {"checkpointCutoffSizeBytes": DELTA_CUTOFF_BYTES}},
    ]}))
}
