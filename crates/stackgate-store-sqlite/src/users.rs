//! The `users` table.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use stackgate_store::{StoreResult, User, UserStore};
use stackgate_store_sql::{user_from_row, USER_COLS};

use crate::error::{db_err, expect_affected};
use crate::tx::SqliteTx;

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

#[async_trait]
impl UserStore for SqliteTx {
    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<User>> {
        let conn = self.conn();
        user_where(conn, "u.login = ?", login).await
    }

    async fn user_by_id(&mut self, id: &str) -> StoreResult<Option<User>> {
        let conn = self.conn();
        user_where(conn, "u.id = ?", id).await
    }

    async fn any_user(&mut self) -> StoreResult<bool> {
        let conn = self.conn();
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users LIMIT 1")
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        let conn = self.conn();
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

    async fn set_site_admin(&mut self, user_id: &str, site_admin: bool) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("UPDATE users SET site_admin = ? WHERE id = ?")
            .bind(site_admin)
            .bind(user_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "user", user_id)
    }

    async fn list_users(&mut self) -> StoreResult<Vec<User>> {
        let conn = self.conn();
        let sql = format!("SELECT {USER_COLS} FROM users u ORDER BY u.login");
        sqlx::query(&sql)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(user_from_row)
            .collect()
    }
}
