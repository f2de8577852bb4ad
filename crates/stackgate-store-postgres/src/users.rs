//! The `users` table.

use async_trait::async_trait;
use stackgate_store::{StoreResult, User, UserId, UserStore};
use stackgate_store_sql::{get, user_from_row, USER_COLS};

use crate::tx::{PgTx, Table};

/// The `users` table for [`PgTx::lookup`].
const USERS: Table = (USER_COLS, "users u");

#[async_trait]
impl UserStore for PgTx {
    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<User>> {
        self.lookup(USERS, "u.login", login, user_from_row).await
    }

    async fn user_by_id(&mut self, id: &UserId) -> StoreResult<Option<User>> {
        self.lookup(USERS, "u.id", id, user_from_row).await
    }

    async fn any_user(&mut self) -> StoreResult<bool> {
        let q = sqlx::query("SELECT EXISTS (SELECT 1 FROM users) AS found");
        self.fetch_one(q, |row| get(row, "found")).await
    }

    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO users (id, login, name, email, site_admin, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        );
        let q = q.bind(&user.id).bind(&user.login).bind(&user.name);
        let q = q.bind(&user.email).bind(user.site_admin).bind(user.created);
        self.execute(q).await
    }

    async fn set_site_admin(&mut self, user_id: &UserId, site_admin: bool) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET site_admin = $1 WHERE id = $2");
        let q = q.bind(site_admin).bind(user_id);
        self.execute_one(q, "user", user_id).await
    }

    async fn list_users(&mut self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users u ORDER BY u.login");
        self.fetch_all(sqlx::query(&sql), user_from_row).await
    }
}
