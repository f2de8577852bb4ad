//! [`SqliteTx`]: one transaction on a pooled SQLite connection. The area traits
//! (`UserStore`, `TeamStore`, ...) are implemented on it in their table modules; this
//! file holds the struct, [`Tx`] itself, and the few ways a table module runs a query on
//! the transaction (so each storage method is its SQL, its binds and its decoder).
//!
//! Dropping a `SqliteTx` without `commit` drops the inner `sqlx::Transaction`, which rolls
//! back before its connection returns to the pool.

use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, SqliteConnection, Transaction};
use stackgate_store::{StoreResult, Tx};
use stackgate_store_sql::{decode_all, decode_optional, expect_affected};

use crate::error::db_err;

/// A statement with its values bound, as `sqlx::query(..).bind(..)` builds it.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// A table as a lookup reads it: its column list and its `FROM` item (with the alias the
/// column list uses), e.g. `(USER_COLS, "users u")`.
pub(crate) type Table = (&'static str, &'static str);

/// A transaction on one pooled SQLite connection.
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

impl SqliteTx {
    pub(crate) fn new(tx: Transaction<'static, Sqlite>) -> Self {
        SqliteTx { tx }
    }

    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Runs a statement for its effect.
    pub(crate) async fn execute(&mut self, q: Query<'_>) -> StoreResult<()> {
        self.execute_counted(q).await.map(drop)
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) async fn execute_counted(&mut self, q: Query<'_>) -> StoreResult<u64> {
        let done = q.execute(self.conn()).await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    /// Runs a write that addresses one existing row: `NotFound` ("{what} {key}") when it
    /// changed nothing.
    pub(crate) async fn execute_one(
        &mut self,
        q: Query<'_>,
        what: &str,
        key: &(impl AsRef<str> + Sync + ?Sized),
    ) -> StoreResult<()> {
        expect_affected(self.execute_counted(q).await?, what, key.as_ref())
    }

    /// The one row the query returns, decoded.
    pub(crate) async fn fetch_one<T>(
        &mut self,
        q: Query<'_>,
        decode: impl FnOnce(&SqliteRow) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        decode(&q.fetch_one(self.conn()).await.map_err(db_err)?)
    }

    /// The row the query returns, if any, decoded.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        q: Query<'_>,
        decode: impl FnOnce(&SqliteRow) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        decode_optional(q.fetch_optional(self.conn()).await.map_err(db_err)?, decode)
    }

    /// The row whose `key` equals `value` (a unique key), decoded: the lookup every table
    /// has. `(cols, from)` is the table's [`Table`].
    pub(crate) async fn lookup<T>(
        &mut self,
        (cols, from): Table,
        key: &str,
        value: &(impl AsRef<str> + Sync + ?Sized),
        decode: impl FnOnce(&SqliteRow) -> StoreResult<T> + Send,
    ) -> StoreResult<Option<T>> {
        let sql = format!("SELECT {cols} FROM {from} WHERE {key} = ?");
        self.fetch_optional(sqlx::query(&sql).bind(value.as_ref()), decode)
            .await
    }

    /// Every row `sql` returns with its one parameter bound to `value`, decoded, in order.
    pub(crate) async fn list_by<T>(
        &mut self,
        sql: &str,
        value: &(impl AsRef<str> + Sync + ?Sized),
        decode: impl Fn(&SqliteRow) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        self.fetch_all(sqlx::query(sql).bind(value.as_ref()), decode)
            .await
    }

    /// Every row the query returns, decoded, in order.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        q: Query<'_>,
        decode: impl Fn(&SqliteRow) -> StoreResult<T> + Send,
    ) -> StoreResult<Vec<T>> {
        decode_all(&q.fetch_all(self.conn()).await.map_err(db_err)?, decode)
    }
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }
    async fn announce_change(&mut self) -> StoreResult<()> {
        // One process writes a SQLite file; it invalidates its own cache on commit.
        Ok(())
    }
}
