//! Change propagation between replicas: `LISTEN` / `NOTIFY` on [`CHANGES_CHANNEL`].
//!
//! A committing writer sends one notification from inside its transaction
//! ([`stackgate_store::Tx::announce_change`]), so it is delivered only if the change
//! commits. Each replica's watcher holds one connection of its own (outside the request
//! pool, so a small pool cannot be starved by it) that `LISTEN`s on the channel and
//! calls the callback for every notification. Notifications sent while the watcher is
//! disconnected are lost, so the callback is also called every time the watcher
//! (re)connects — the cache then reloads everything it needs. Until a lost connection is
//! noticed, the token cache's entry age bounds how long a change can go unseen.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

/// The channel every replica listens on.
pub const CHANGES_CHANNEL: &str = "stackgate_changes";

/// Pause between attempts to reconnect a lost listener.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Runs the watcher until the process ends.
pub(crate) async fn watch(options: PgConnectOptions, on_change: Arc<dyn Fn() + Send + Sync>) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    let mut connected_before = false;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "change listener cannot connect; retrying");
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANGES_CHANNEL).await {
            tracing::warn!(error = %e, "change listener cannot LISTEN; retrying");
            tokio::time::sleep(RECONNECT_DELAY).await;
            continue;
        }
        // Whatever was announced while not listening is unknown: treat it as a change.
        on_change();
        if connected_before {
            tracing::info!("change listener reconnected; token cache invalidated");
        } else {
            tracing::debug!("change listener connected");
        }
        connected_before = true;
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => on_change(),
                Ok(None) => {
                    tracing::warn!("change listener lost its connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change listener failed; reconnecting");
                    break;
                }
            }
        }
        on_change();
        drop(listener);
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
