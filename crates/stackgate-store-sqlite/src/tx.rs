//! [`SqliteTx`]: one transaction on a pooled SQLite connection. The area traits
//! (`UserStore`, `TeamStore`, ...) are implemented on it in their table modules; this
//! file holds the struct and [`Tx`] itself.
//!
//! Dropping a `SqliteTx` without `commit` drops the inner `sqlx::Transaction`, which rolls
//! back before its connection returns to the pool.

use async_trait::async_trait;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use stackgate_store::{StoreResult, Tx};

use crate::error::db_err;

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
