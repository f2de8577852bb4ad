//! The `tokens` table. Only the SHA-256 hex of a token value is stored. Deleted tokens
//! stay as rows (`deleted_at` set) so their names stay taken and lookups can tell a
//! revoked token from an unknown one.

use async_trait::async_trait;
use stackgate_store::{StoreResult, Token, TokenId, TokenKind, TokenOwner, TokenStore};
use stackgate_store_sql::{token_from_row, TOKEN_COLS};

use crate::tx::{PgTx, Table};

/// The `tokens` table for [`PgTx::lookup`].
const TOKENS: Table = (TOKEN_COLS, "tokens");

#[async_trait]
impl TokenStore for PgTx {
    async fn insert_token(&mut self, token: &Token) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO tokens (id, kind, hash, name, description, user_id, org_id, team_id, \
             admin, created_by, created, expires, last_used, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        );
        let q = q
            .bind(&token.id)
            .bind(token.kind.as_str())
            .bind(&token.hash);
        let q = q
            .bind(&token.name)
            .bind(&token.description)
            .bind(&token.user_id);
        let q = q.bind(&token.org_id).bind(&token.team_id).bind(token.admin);
        let q = q
            .bind(&token.created_by)
            .bind(token.created)
            .bind(token.expires);
        self.execute(q.bind(token.last_used).bind(token.deleted_at))
            .await
    }

    /// Deleted tokens included: the caller checks `deleted_at`.
    async fn token_by_hash(&mut self, hash: &str) -> StoreResult<Option<Token>> {
        self.lookup(TOKENS, "hash", hash, token_from_row).await
    }

    /// Deleted tokens included: the caller checks `deleted_at`.
    async fn token_by_id(&mut self, id: &TokenId) -> StoreResult<Option<Token>> {
        self.lookup(TOKENS, "id", id, token_from_row).await
    }

    /// Live tokens of one owner, newest first.
    async fn list_tokens(&mut self, owner: &TokenOwner) -> StoreResult<Vec<Token>> {
        let (kind, column, id) = match owner {
            TokenOwner::User(id) => (TokenKind::Personal, "user_id", id.as_str()),
            TokenOwner::Org(id) => (TokenKind::Organization, "org_id", id.as_str()),
            TokenOwner::Team(id) => (TokenKind::Team, "team_id", id.as_str()),
        };
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM tokens WHERE kind = $1 AND {column} = $2 \
             AND deleted_at IS NULL ORDER BY created DESC, id DESC"
        );
        let q = sqlx::query(&sql).bind(kind.as_str()).bind(id);
        self.fetch_all(q, token_from_row).await
    }

    /// Marks a live token deleted. A token that is unknown or already deleted is
    /// `NotFound`, and keeps its first deletion time.
    async fn mark_token_deleted(&mut self, token_id: &TokenId, now: i64) -> StoreResult<()> {
        let q =
            sqlx::query("UPDATE tokens SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL");
        self.execute_one(q.bind(now).bind(token_id), "token", token_id)
            .await
    }

    /// Records use; a token gone meanwhile is not an error (this is bookkeeping only).
    async fn touch_token(&mut self, token_id: &TokenId, last_used: i64) -> StoreResult<()> {
        let q = sqlx::query("UPDATE tokens SET last_used = $1 WHERE id = $2");
        self.execute(q.bind(last_used).bind(token_id)).await
    }

    async fn all_tokens(&mut self) -> StoreResult<Vec<Token>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens ORDER BY created, id");
        self.fetch_all(sqlx::query(&sql), token_from_row).await
    }
}
