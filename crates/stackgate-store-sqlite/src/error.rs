//! Driver errors → [`StoreError`], in one place.
//!
//! A unique-constraint violation becomes `Conflict` naming the constraint; anything else
//! is `Backend`, whose text goes to the log and never to a client. (A write that touched
//! no row where the caller addressed an existing one becomes `NotFound`: see
//! `SqliteTx::execute_one`.) The `Conflict` text is SQLite's own and differs from
//! PostgreSQL's, so this mapping stays per backend.

use stackgate_store::StoreError;

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
