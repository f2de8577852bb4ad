//! The `users` table.

use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;
use stackgate_store::{StoreResult, User};

use crate::error::{db_err, expect_affected};
use crate::row::get;

/// User columns under `user_*` aliases, for any query that joins `users u`.
pub(crate) const USER_COLS: &str = "u.id AS user_id, u.login AS user_login, \
     u.name AS user_name, u.email AS user_email, u.site_admin AS user_site_admin, \
     u.created AS user_created";

pub(crate) fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: get(row, "user_id")?,
        login: get(row, "user_login")?,
        name: get(row, "user_name")?,
        email: get(row, "user_email")?,
        site_admin: get(row, "user_site_admin")?,
        created: get(row, "user_created")?,
    })
}

async fn user_where(
    conn: &mut SqliteConnection,
    condition: &str,
    value: &str,
) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users u WHERE {condition}");
    sqlx::query(&sql)
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| user_from_row(&row))
        .transpose()
}

pub(crate) async fn by_login(
    conn: &mut SqliteConnection,
    login: &str,
) -> StoreResult<Option<User>> {
    user_where(conn, "u.login = ?", login).await
}

pub(crate) async fn by_id(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<User>> {
    user_where(conn, "u.id = ?", id).await
}

pub(crate) async fn all(conn: &mut SqliteConnection) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users u ORDER BY u.login");
    sqlx::query(&sql)
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(user_from_row)
        .collect()
}

pub(crate) async fn any(conn: &mut SqliteConnection) -> StoreResult<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users LIMIT 1")
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

pub(crate) async fn insert(conn: &mut SqliteConnection, user: &User) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, login, name, email, site_admin, created) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&user.id)
    .bind(&user.login)
    .bind(&user.name)
    .bind(&user.email)
    .bind(user.site_admin)
    .bind(user.created)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn set_site_admin(
    conn: &mut SqliteConnection,
    user_id: &str,
    site_admin: bool,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE users SET site_admin = ? WHERE id = ?")
        .bind(site_admin)
        .bind(user_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "user", user_id)
}
