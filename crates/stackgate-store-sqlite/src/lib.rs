//! The embedded SQLite backend of stackgate's [`Store`].
//!
//! One database file, opened in WAL mode through two pools:
//! - a **write pool of one connection**: every [`Store::begin`] transaction runs there,
//!   so writers inside this process queue on the pool instead of racing for SQLite's
//!   write lock. Transactions start with `BEGIN IMMEDIATE`, so a writer in *another*
//!   process waits on `busy_timeout` at `BEGIN` rather than failing with `SQLITE_BUSY`
//!   when a read lock cannot be upgraded mid-transaction;
//! - a **read pool** of several `query_only` connections for [`Store::read`]: WAL
//!   readers see the last commit and never block the writer, and a write attempted
//!   through a read snapshot fails at once instead of bypassing the writer queue.
//!
//! Migrations (`migrations/`, append-only) are embedded and run at connect. Queries are
//! built at run time (`sqlx::query` + `bind`), so building needs no database.

#![forbid(unsafe_code)]

mod audit;
mod error;
mod memberships;
mod orgs;

mod sessions;
mod stacks;
mod state;
mod teams;
mod tokens;
mod tx;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous, SqliteTransactionManager,
};
use sqlx::{Connection, SqlitePool, TransactionManager};
use stackgate_store::{Store, StoreError, StoreResult, Tx};

use crate::error::db_err;
pub use crate::tx::SqliteTx;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Read connections used by [`SqliteStore::connect`].
pub const DEFAULT_READ_CONNECTIONS: u32 = 4;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite database behind the [`Store`] trait. Cloning shares the pools.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url`: `sqlite:///abs.db`,
    /// `sqlite://relative.db` or `sqlite:relative.db`.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        Self::connect_with(url, DEFAULT_READ_CONNECTIONS).await
    }

    /// [`SqliteStore::connect`] with a chosen size of the read pool (at least 1).
    pub async fn connect_with(url: &str, read_connections: u32) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite url: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);

        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| Box::pin(end_abandoned_transaction(conn)))
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        migrate(&write).await?;
        // Refresh the planner's statistics where they are missing or stale (bounded work):
        // without them a filter on a rare audit event id can walk a whole org's log.
        sqlx::query("PRAGMA optimize=0x10002")
            .execute(&write)
            .await
            .map_err(db_err)?;

        let read = SqlitePoolOptions::new()
            .max_connections(read_connections.max(1))
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(db_err)?;
        Ok(SqliteStore { write, read })
    }

    /// Closes both pools, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Writes a consistent copy of the database at `url` into the new file `dest` (SQLite's
/// `VACUUM INTO`), while servers keep reading and writing the database: the copy is one
/// read snapshot, taken on a connection of its own, and holds no write lock. `dest` must
/// not exist.
pub async fn backup(url: &str, dest: &std::path::Path) -> StoreResult<()> {
    if dest.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists",
            dest.display()
        )));
    }
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid SQLite url: {e}")))?
        .busy_timeout(BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(db_err)?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest)
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    conn.close().await.map_err(db_err)
}

/// Run as the write connection goes back to its pool: rolls back a transaction that
/// nobody owns any more.
///
/// sqlx 0.8's `begin_with("BEGIN IMMEDIATE")` awaits once more *after* the `BEGIN` has run
/// (to check that the connection really is in a transaction). A request cancelled at that
/// point (its client hung up) drops the half-made transaction without queueing a
/// rollback, and every later write on the connection then fails with "attempted to call
/// begin_with at non-zero transaction depth" while the file stays write-locked. A dropped
/// `Transaction` queues its rollback ahead of the ping below, so a depth still above zero
/// after the ping can only be such an orphan. An error here closes the connection (which
/// also ends the transaction) and the pool opens a new one.
async fn end_abandoned_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    conn.ping().await?;
    if SqliteTransactionManager::get_transaction_depth(conn) > 0 {
        tracing::warn!("rolling back a write transaction abandoned while it started");
        SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    // SQLite has no migration lock: two processes starting on a fresh file can both try
    // to apply the same migration, and the loser fails on "table already exists". A
    // second run then sees the migration recorded and has nothing to do; a real fault
    // fails it again and is reported.
    if let Err(first) = MIGRATOR.run(pool).await {
        tracing::warn!(error = %first, "migration failed, retrying once");
        MIGRATOR
            .run(pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(Box::new(SqliteTx::new(tx)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.read.begin().await.map_err(db_err)?;
        Ok(Box::new(SqliteTx::new(tx)))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn watch_changes(&self, _on_change: std::sync::Arc<dyn Fn() + Send + Sync>) {
        // Only one `serve` process runs on a SQLite file, and it sees its own commits; an
        // operator command run beside it is covered by the cache's entry age.
    }
}
