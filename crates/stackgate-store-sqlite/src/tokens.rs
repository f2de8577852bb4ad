//! The `tokens` table. Only the SHA-256 hex of a token value is stored. Deleted tokens
//! stay as rows (`deleted_at` set) so their names stay taken and lookups can tell a
//! revoked token from an unknown one.

use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;
use stackgate_store::{StoreResult, Token, TokenKind, TokenOwner};

use crate::error::{db_err, expect_affected};
use crate::row::{get, token_kind};

const TOKEN_COLS: &str = "id, kind, hash, name, description, user_id, org_id, team_id, \
     admin, created_by, created, expires, last_used, deleted_at";

fn token_from_row(row: &SqliteRow) -> StoreResult<Token> {
    Ok(Token {
        id: get(row, "id")?,
        kind: token_kind(row, "kind")?,
        hash: get(row, "hash")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        user_id: get(row, "user_id")?,
        org_id: get(row, "org_id")?,
        team_id: get(row, "team_id")?,
        admin: get(row, "admin")?,
        created_by: get(row, "created_by")?,
        created: get(row, "created")?,
        expires: get(row, "expires")?,
        last_used: get(row, "last_used")?,
        deleted_at: get(row, "deleted_at")?,
    })
}

pub(crate) async fn insert(conn: &mut SqliteConnection, token: &Token) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tokens (id, kind, hash, name, description, user_id, org_id, team_id, \
         admin, created_by, created, expires, last_used, deleted_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

async fn token_where(
    conn: &mut SqliteConnection,
    column: &str,
    value: &str,
) -> StoreResult<Option<Token>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE {column} = ?");
    sqlx::query(&sql)
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| token_from_row(&row))
        .transpose()
}

/// Deleted tokens included: the caller checks `deleted_at`.
pub(crate) async fn by_hash(conn: &mut SqliteConnection, hash: &str) -> StoreResult<Option<Token>> {
    token_where(conn, "hash", hash).await
}

/// Deleted tokens included: the caller checks `deleted_at`.
pub(crate) async fn by_id(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Token>> {
    token_where(conn, "id", id).await
}

/// Live tokens of one owner, newest first.
pub(crate) async fn of_owner(
    conn: &mut SqliteConnection,
    owner: &TokenOwner,
) -> StoreResult<Vec<Token>> {
    let (kind, column, id) = match owner {
        TokenOwner::User(id) => (TokenKind::Personal, "user_id", id),
        TokenOwner::Org(id) => (TokenKind::Organization, "org_id", id),
        TokenOwner::Team(id) => (TokenKind::Team, "team_id", id),
    };
    let sql = format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE kind = ? AND {column} = ? \
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
pub(crate) async fn mark_deleted(
    conn: &mut SqliteConnection,
    token_id: &str,
    now: i64,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE tokens SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
        .bind(now)
        .bind(token_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "token", token_id)
}

/// Records use; a token gone meanwhile is not an error (this is bookkeeping only).
pub(crate) async fn touch(
    conn: &mut SqliteConnection,
    token_id: &str,
    last_used: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE tokens SET last_used = ? WHERE id = ?")
        .bind(last_used)
        .bind(token_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn all(conn: &mut SqliteConnection) -> StoreResult<Vec<Token>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM tokens ORDER BY created, id");
    sqlx::query(&sql)
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(token_from_row)
        .collect()
}
