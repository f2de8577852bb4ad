//! The `sessions` table: console sign-in sessions, and user password hashes.

use async_trait::async_trait;
use stackgate_store::{Session, SessionStore, StoreResult, Timestamp, UserId};
use stackgate_store_sql::{get, session_from_row};

use crate::tx::SqliteTx;

#[async_trait]
impl SessionStore for SqliteTx {
    async fn password_hash(&mut self, user_id: &UserId) -> StoreResult<Option<String>> {
        let q = sqlx::query("SELECT password_hash FROM users WHERE id = ?").bind(user_id);
        let hash = self
            .fetch_optional(q, |row| get(row, "password_hash"))
            .await?;
        // No such user, or a user without a password: both have no hash.
        Ok(hash.flatten())
    }

    async fn set_password_hash(&mut self, user_id: &UserId, hash: Option<&str>) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?");
        self.execute_one(q.bind(hash).bind(user_id), "user", user_id)
            .await
    }

    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO sessions (hash, user_id, csrf_token, created, last_seen, expires) \
             VALUES (?, ?, ?, ?, ?, ?)",
        );
        let q = q.bind(&s.hash).bind(&s.user_id).bind(&s.csrf_token);
        self.execute(q.bind(s.created).bind(s.last_seen).bind(s.expires))
            .await
    }

    async fn session_by_hash(&mut self, hash: &str) -> StoreResult<Option<Session>> {
        let q = sqlx::query(
            "SELECT hash, user_id, csrf_token, created, last_seen, expires FROM sessions \
             WHERE hash = ?",
        );
        self.fetch_optional(q.bind(hash), session_from_row).await
    }

    async fn touch_session(
        &mut self,
        hash: &str,
        last_seen: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE sessions SET last_seen = ?, expires = ? WHERE hash = ?");
        let q = q.bind(last_seen).bind(expires).bind(hash);
        self.execute_one(q, "session", "").await
    }

    async fn delete_session(&mut self, hash: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM sessions WHERE hash = ?");
        self.execute(q.bind(hash)).await
    }

    async fn delete_user_sessions(&mut self, user_id: &UserId) -> StoreResult<u64> {
        let q = sqlx::query("DELETE FROM sessions WHERE user_id = ?");
        self.execute_counted(q.bind(user_id)).await
    }

    async fn delete_expired_sessions(&mut self, now: Timestamp) -> StoreResult<u64> {
        let q = sqlx::query("DELETE FROM sessions WHERE expires <= ?");
        self.execute_counted(q.bind(now)).await
    }
}
