//! The `sessions` table: console sign-in sessions, and user password hashes.

use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use stackgate_store::{Session, StoreResult, Timestamp};

use crate::error::{db_err, expect_affected};
use crate::row::get;

fn session_from_row(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        hash: get(row, "hash")?,
        user_id: get(row, "user_id")?,
        csrf_token: get(row, "csrf_token")?,
        created: get(row, "created")?,
        last_seen: get(row, "last_seen")?,
        expires: get(row, "expires")?,
    })
}

pub(crate) async fn insert(conn: &mut PgConnection, s: &Session) -> StoreResult<()> {
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

pub(crate) async fn by_hash(conn: &mut PgConnection, hash: &str) -> StoreResult<Option<Session>> {
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

pub(crate) async fn touch(
    conn: &mut PgConnection,
    hash: &str,
    last_seen: Timestamp,
    expires: Timestamp,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE sessions SET last_seen = $1, expires = $2 WHERE hash = $3")
        .bind(last_seen)
        .bind(expires)
        .bind(hash)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "session", "")
}

pub(crate) async fn delete(conn: &mut PgConnection, hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE hash = $1")
        .bind(hash)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn delete_for_user(conn: &mut PgConnection, user_id: &str) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .map_err(db_err)?
        .rows_affected())
}

pub(crate) async fn delete_expired(conn: &mut PgConnection, now: Timestamp) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires <= $1")
        .bind(now)
        .execute(conn)
        .await
        .map_err(db_err)?
        .rows_affected())
}

pub(crate) async fn password_hash(
    conn: &mut PgConnection,
    user_id: &str,
) -> StoreResult<Option<String>> {
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

pub(crate) async fn set_password_hash(
    conn: &mut PgConnection,
    user_id: &str,
    hash: Option<&str>,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "user", user_id)
}
