//! The `memberships` table: who belongs to which org, with which role.

use async_trait::async_trait;
use stackgate_store::{Member, MembershipStore, Org, OrgRole, StoreResult};
use stackgate_store_sql::{get, get_count, org_from_row, org_role, user_from_row, USER_COLS};

use crate::error::{db_err, expect_affected};
use crate::orgs::ORG_COLS;
use crate::tx::PgTx;

#[async_trait]
impl MembershipStore for PgTx {
    async fn membership(&mut self, org_id: &str, user_id: &str) -> StoreResult<Option<OrgRole>> {
        let conn = self.conn();
        sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
            .map(|row| org_role(&row, "role"))
            .transpose()
    }

    async fn user_memberships(&mut self, user_id: &str) -> StoreResult<Vec<(Org, OrgRole)>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {ORG_COLS}, m.role AS member_role FROM memberships m \
             JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name"
        );
        sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| Ok((org_from_row(row)?, org_role(row, "member_role")?)))
            .collect()
    }

    async fn list_members(
        &mut self,
        org_id: &str,
        after_login: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {USER_COLS}, m.role AS member_role, m.created AS member_created \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND ($2 IS NULL OR u.login > $2) \
             ORDER BY u.login LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(org_id)
            .bind(after_login)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(Member {
                    user: user_from_row(row)?,
                    role: org_role(row, "member_role")?,
                    created: get(row, "member_created")?,
                })
            })
            .collect()
    }

    async fn insert_membership(
        &mut self,
        org_id: &str,
        user_id: &str,
        role: OrgRole,
        created: i64,
    ) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(created)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn set_member_role(
        &mut self,
        org_id: &str,
        user_id: &str,
        role: OrgRole,
    ) -> StoreResult<()> {
        let conn = self.conn();
        let done =
            sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(role.as_str())
                .bind(org_id)
                .bind(user_id)
                .execute(conn)
                .await
                .map_err(db_err)?;
        expect_affected(done, "membership of user", user_id)
    }

    /// Removes the membership, then the user's seats in every team of that org.
    async fn delete_membership(&mut self, org_id: &str, user_id: &str) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "membership of user", user_id)?;
        sqlx::query(
            "DELETE FROM team_members WHERE user_id = $1 \
             AND team_id IN (SELECT id FROM teams WHERE org_id = $2)",
        )
        .bind(user_id)
        .bind(org_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn count_admins(&mut self, org_id: &str) -> StoreResult<u64> {
        let conn = self.conn();
        let row = sqlx::query(
            "SELECT COUNT(*) AS admins FROM memberships WHERE org_id = $1 AND role = $2",
        )
        .bind(org_id)
        .bind(OrgRole::Admin.as_str())
        .fetch_one(conn)
        .await
        .map_err(db_err)?;
        get_count(&row, "admins")
    }
}
