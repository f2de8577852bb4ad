//! Driver errors → [`StoreError`], in one place.
//!
//! A unique-constraint violation becomes `Conflict` naming the constraint; a write that
//! touched no row where the caller addressed an existing one becomes `NotFound`; anything
//! else is `Backend`, whose text goes to the log and never to a client.

use sqlx::sqlite::SqliteQueryResult;
use stackgate_store::{StoreError, StoreResult};

/// Maps every sqlx error this crate sees.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.is_unique_violation() {
            // SQLite names the columns, e.g. "UNIQUE constraint failed: tokens.org_id,
            // tokens.name"; the column list is what tells the caller which rule refused.
            let message = db.message();
            let what = message
                .strip_prefix("UNIQUE constraint failed: ")
                .unwrap_or(message);
            return StoreError::Conflict(what.to_owned());
        }
    }
    StoreError::Backend(e.to_string())
}

/// `NotFound` when a write that addresses one existing row changed nothing.
pub(crate) fn expect_affected(done: SqliteQueryResult, what: &str, key: &str) -> StoreResult<()> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound(format!("{what} {key}")))
    } else {
        Ok(())
    }
}
