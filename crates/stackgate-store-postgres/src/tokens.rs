//! The `tokens` table. Only the SHA-256 hex of a token value is stored. Deleted tokens
//! stay as rows (`deleted_at` set) so their names stay taken and lookups can tell a
//! revoked token from an unknown one.

use async_trait::async_trait;
use sqlx::PgConnection;
use stackgate_store::{StoreResult, Token, TokenKind, TokenOwner, TokenStore};
use stackgate_store_sql::{token_from_row, TOKEN_COLS};

use crate::error::{db_err, expect_affected};
use crate::tx::PgTx;

#[async_trait]
impl TokenStore for PgTx {
    async fn insert_token(&mut self, token: &Token) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO tokens (id, kind, hash, name, description, user_id, org_id, team_id, \
             admin, created_by, created, expires, last_used, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&token.id)
        .bind(token.kind.as_str())
        .bind(&token.hash)
        .bind(&token.name)
        .bind(&token.description)
        .bind(&token.user_id)
        .bind(&token.org_id)
        .bind(&token.team_id)
        .bind(token.admin)
        .bind(&token.created_by)
        .bind(token.created)
        .bind(token.expires)
        .bind(token.last_used)
        .bind(token.deleted_at)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Deleted tokens included: the caller checks `deleted_at`.
    async fn token_by_hash(&mut self, hash: &str) -> StoreResult<Option<Token>> {
        let conn = self.conn();
        token_where(conn, "hash", hash).await
    }

    /// Deleted tokens included: the caller checks `deleted_at`.
    async fn token_by_id(&mut self, id: &str) -> StoreResult<Option<Token>> {
        let conn = self.conn();
        token_where(conn, "id", id).await
    }

    /// Live tokens of one owner, newest first.
    async fn list_tokens(&mut self, owner: &TokenOwner) -> StoreResult<Vec<Token>> {
        let conn = self.conn();
        let (kind, column, id) = match owner {
            TokenOwner::User(id) => (TokenKind::Personal, "user_id", id),
            TokenOwner::Org(id) => (TokenKind::Organization, "org_id", id),
            TokenOwner::Team(id) => (TokenKind::Team, "team_id", id),
        };
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM tokens WHERE kind = $1 AND {column} = $2 \
             AND deleted_at IS NULL ORDER BY created DESC, id DESC"
        );
        sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(token_from_row)
            .collect()
    }

    /// Marks a live token deleted. A token that is unknown or already deleted is
    /// `NotFound`, and keeps its first deletion time.
    async fn mark_token_deleted(&mut self, token_id: &str, now: i64) -> StoreResult<()> {
        let conn = self.conn();
        let done =
            sqlx::query("UPDATE tokens SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(token_id)
                .execute(conn)
                .await
                .map_err(db_err)?;
        expect_affected(done, "token", token_id)
    }

    /// Records use; a token gone meanwhile is not an error (this is bookkeeping only).
    async fn touch_token(&mut self, token_id: &str, last_used: i64) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query("UPDATE tokens SET last_used = $1 WHERE id = $2")
            .bind(last_used)
            .bind(token_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn all_tokens(&mut self) -> StoreResult<Vec<Token>> {
        let conn = self.conn();
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens ORDER BY created, id");
        sqlx::query(&sql)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(token_from_row)
            .collect()
    }
}

async fn token_where(
    conn: &mut PgConnection,
    column: &str,
    value: &str,
) -> StoreResult<Option<Token>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE {column} = $1");
    sqlx::query(&sql)
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| token_from_row(&row))
        .transpose()
}
