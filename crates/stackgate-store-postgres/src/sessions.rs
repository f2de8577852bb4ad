//! The `sessions` table: console sign-in sessions, and user password hashes.

use async_trait::async_trait;
use stackgate_store::{Session, SessionStore, StoreResult, Timestamp};
use stackgate_store_sql::{get, session_from_row};

use crate::error::{db_err, expect_affected};
use crate::tx::PgTx;

#[async_trait]
impl SessionStore for PgTx {
    async fn password_hash(&mut self, user_id: &str) -> StoreResult<Option<String>> {
        let conn = self.conn();
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => get(&row, "password_hash"),
            None => Ok(None),
        }
    }

    async fn set_password_hash(&mut self, user_id: &str, hash: Option<&str>) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "user", user_id)
    }

    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO sessions (hash, user_id, csrf_token, created, last_seen, expires) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.hash)
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.created)
        .bind(s.last_seen)
        .bind(s.expires)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session_by_hash(&mut self, hash: &str) -> StoreResult<Option<Session>> {
        let conn = self.conn();
        sqlx::query(
            "SELECT hash, user_id, csrf_token, created, last_seen, expires FROM sessions \
             WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| session_from_row(&row))
        .transpose()
    }

    async fn touch_session(
        &mut self,
        hash: &str,
        last_seen: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("UPDATE sessions SET last_seen = $1, expires = $2 WHERE hash = $3")
            .bind(last_seen)
            .bind(expires)
            .bind(hash)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "session", "")
    }

    async fn delete_session(&mut self, hash: &str) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(hash)
            .execute(conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_user_sessions(&mut self, user_id: &str) -> StoreResult<u64> {
        let conn = self.conn();
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map_err(db_err)?
            .rows_affected())
    }

    async fn delete_expired_sessions(&mut self, now: Timestamp) -> StoreResult<u64> {
        let conn = self.conn();
        Ok(sqlx::query("DELETE FROM sessions WHERE expires <= $1")
            .bind(now)
            .execute(conn)
            .await
            .map_err(db_err)?
            .rows_affected())
    }
}
