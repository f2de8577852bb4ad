//! [`PgTx`]: one transaction on a pooled PostgreSQL connection. The area traits
//! (`UserStore`, `TeamStore`, ...) are implemented on it in their table modules; this
//! file holds the struct and [`Tx`] itself.
//!
//! Dropping a `PgTx` without `commit` drops the inner `sqlx::Transaction`, which rolls
//! back before its connection returns to the pool.

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, Transaction};
use stackgate_store::{StoreResult, Tx};

use crate::error::db_err;

/// A transaction on one pooled PostgreSQL connection.
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// False for a read-only snapshot: `audit_head` then reads without locking.
    pub(crate) writable: bool,
}

impl PgTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>, writable: bool) -> Self {
        PgTx { tx, writable }
    }

    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }
    async fn announce_change(&mut self) -> StoreResult<()> {
        // Delivered to every listener when (and only if) the transaction commits.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::CHANGES_CHANNEL)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
