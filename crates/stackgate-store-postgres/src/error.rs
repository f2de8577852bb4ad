//! Driver errors → [`StoreError`], in one place.
//!
//! A unique-constraint violation becomes `Conflict` naming the constraint (PostgreSQL's
//! name for it, e.g. `users_login_key` or `tokens_org_name`); anything else (foreign
//! keys, a write in a read-only snapshot, a lost connection) is `Backend`, whose text goes
//! to the log and never to a client. (A write that touched no row where the caller
//! addressed an existing one becomes `NotFound`: see `PgTx::execute_one`.) The `Conflict`
//! text is PostgreSQL's constraint name, unlike SQLite's, so this mapping stays per backend.

use stackgate_store::StoreError;

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
