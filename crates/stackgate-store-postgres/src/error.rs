//! Driver errors → [`StoreError`], in one place.
//!
//! A unique-constraint violation becomes `Conflict` naming the constraint (PostgreSQL's
//! name for it, e.g. `users_login_key` or `tokens_org_name`); a write that touched no row
//! where the caller addressed an existing one becomes `NotFound`; anything else
//! (foreign keys, a write in a read-only snapshot, a lost connection) is `Backend`, whose
//! text goes to the log and never to a client.

use sqlx::postgres::PgQueryResult;
use stackgate_store::{StoreError, StoreResult};

/// Maps every sqlx error this crate sees.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            let what = db.constraint().unwrap_or_else(|| db.message());
            return StoreError::Conflict(what.to_owned());
        }
    }
    StoreError::Backend(e.to_string())
}

/// `NotFound` when a write that addresses one existing row changed nothing.
pub(crate) fn expect_affected(done: PgQueryResult, what: &str, key: &str) -> StoreResult<()> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound(format!("{what} {key}")))
    } else {
        Ok(())
    }
}
