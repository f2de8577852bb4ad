//! The PostgreSQL backend of stackgate's [`Store`], for running several replicas on one
//! database.
//!
//! One connection pool serves both kinds of transaction:
//! - [`Store::begin`] opens a `READ COMMITTED` transaction. Writers on any replica
//!   serialise where they must through row locks: appending to an org's audit chain
//!   locks that org's `audit_heads` row first (see [`Tx::audit_head`]), so two events can
//!   never take the same place in the chain;
//! - [`Store::read`] opens a `REPEATABLE READ, READ ONLY` transaction: one consistent
//!   snapshot for every query in it (like a SQLite WAL reader), which never waits for
//!   writers and refuses writes.
//!
//! Migrations (`migrations/`, append-only) are embedded and run at connect. sqlx's
//! PostgreSQL migrator holds an advisory lock while it runs, so replicas that start
//! together apply each migration exactly once. Queries are built at run time
//! (`sqlx::query` + `bind`), so building needs no database.
//!
//! Commits that change what a replica may have cached announce themselves with
//! `NOTIFY` ([`Tx::announce_change`]); [`Store::watch_changes`] listens for them on a
//! connection of its own (`listen.rs`).
//!
//! ## Choosing a schema
//!
//! Tables live in the first schema of the connection's `search_path` (normally
//! `public`). To keep several independent databases in one PostgreSQL database — one per
//! test, say — put the schema in the URL with the `options[search_path]` parameter:
//!
//! ```text
//! postgres://user@host:5432/db?options[search_path]=stackgate_a
//! ```
//!
//! ([`PostgresStore::url_with_schema`] builds this URL). The schema must exist;
//! [`PostgresStore::connect_in_schema`] creates it if it is missing, then connects.

#![forbid(unsafe_code)]

mod audit;
mod error;
mod listen;
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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use stackgate_store::{Store, StoreError, StoreResult, Tx};

use crate::error::db_err;
pub use crate::listen::CHANGES_CHANNEL;
pub use crate::tx::PgTx;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The statement that opens a [`Store::begin`] transaction.
const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";
/// The statement that opens a [`Store::read`] snapshot.
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// Sizing of the connection pool.
#[derive(Clone, Debug)]
pub struct PgPoolConfig {
    /// Connections this process may hold open at once.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long a transaction waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PgPoolConfig {
    fn default() -> Self {
        PgPoolConfig {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A PostgreSQL database behind the [`Store`] trait. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Kept for the change listener, which connects outside the pool. Holds the password:
    /// never printed (see the `Debug` impl).
    options: PgConnectOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...` or `postgresql://...`, any parameter sqlx
    /// accepts) with a default pool and migrates the database.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with(url, PgPoolConfig::default()).await
    }

    /// [`PostgresStore::connect`] with a chosen pool size and acquire timeout.
    pub async fn connect_with(url: &str, config: PgPoolConfig) -> StoreResult<PostgresStore> {
        let options = parse_url(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        let store = PostgresStore { pool, options };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects with `schema` as the `search_path`, creating the schema first if it does
    /// not exist. `schema` must be a plain lower-case identifier (`[a-z_][a-z0-9_]*`, at
    /// most 63 bytes), so it needs no quoting anywhere.
    pub async fn connect_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        create_schema(url, schema).await?;
        Self::connect(&Self::url_with_schema(url, schema)?).await
    }

    /// `url` with `schema` as the connection's `search_path`, for [`PostgresStore::connect`]
    /// or for another process (`stackgate serve --database ...`). The schema must exist.
    pub fn url_with_schema(url: &str, schema: &str) -> StoreResult<String> {
        check_schema_name(schema)?;
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{separator}options[search_path]={schema}"))
    }

    /// Closes the pool, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> StoreResult<()> {
        // Without an existing schema in the search_path the migrator would fail with
        // "no schema has been selected to create in"; say which setting is wrong instead.
        let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        if schema.is_none() {
            return Err(StoreError::Backend(
                "no schema of the connection's search_path exists; create it first".into(),
            ));
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }
}

fn parse_url(url: &str) -> StoreResult<PgConnectOptions> {
    if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
        return Err(StoreError::Backend(
            "invalid PostgreSQL url: expected postgres://...".into(),
        ));
    }
    PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL url: {e}")))
}

fn check_schema_name(schema: &str) -> StoreResult<()> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "invalid schema name {schema:?}: expected [a-z_][a-z0-9_]*, at most 63 bytes"
        )))
    }
}

/// `CREATE SCHEMA IF NOT EXISTS` on a connection of its own. Two processes creating the
/// same schema at once can still collide on the catalog's unique index; the loser finds
/// the schema there, which is all it wanted.
async fn create_schema(url: &str, schema: &str) -> StoreResult<()> {
    check_schema_name(schema)?;
    let mut conn = parse_url(url)?.connect().await.map_err(db_err)?;
    // The name was checked above: a plain identifier, safe to splice.
    let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await
        .map_err(db_err);
    let closed = conn.close().await.map_err(db_err);
    match created {
        Ok(_) | Err(StoreError::Conflict(_)) => closed,
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_err)?;
        Ok(Box::new(PgTx::new(tx, true)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin_with(BEGIN_READ).await.map_err(db_err)?;
        Ok(Box::new(PgTx::new(tx, false)))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn watch_changes(&self, on_change: std::sync::Arc<dyn Fn() + Send + Sync>) {
        tokio::spawn(listen::watch(self.options.clone(), on_change));
    }
}
