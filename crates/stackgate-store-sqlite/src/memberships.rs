//! The `memberships` table: who belongs to which org, with which role.

use async_trait::async_trait;
use stackgate_store::{Member, MembershipStore, Org, OrgId, OrgRole, StoreResult, UserId};
use stackgate_store_sql::{
    get_count, member_from_row, org_membership_from_row, org_role, USER_COLS,
};

use crate::orgs::ORG_COLS;
use crate::tx::SqliteTx;

#[async_trait]
impl MembershipStore for SqliteTx {
    async fn membership(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> StoreResult<Option<OrgRole>> {
        let q = sqlx::query("SELECT role FROM memberships WHERE org_id = ? AND user_id = ?");
        let q = q.bind(org_id).bind(user_id);
        self.fetch_optional(q, |row| org_role(row, "role")).await
    }

    async fn user_memberships(&mut self, user_id: &UserId) -> StoreResult<Vec<(Org, OrgRole)>> {
        let sql = format!(
            "SELECT {ORG_COLS}, m.role AS member_role FROM memberships m \
             JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.name"
        );
        self.list_by(&sql, user_id, org_membership_from_row).await
    }

    async fn list_members(
        &mut self,
        org_id: &OrgId,
        after_login: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        let sql = format!(
            "SELECT {USER_COLS}, m.role AS member_role, m.created AS member_created \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = ?1 AND (?2 IS NULL OR u.login > ?2) \
             ORDER BY u.login LIMIT ?3"
        );
        let q = sqlx::query(&sql).bind(org_id).bind(after_login);
        self.fetch_all(q.bind(i64::from(limit)), member_from_row)
            .await
    }

    async fn insert_membership(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
        role: OrgRole,
        created: i64,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created) VALUES (?, ?, ?, ?)",
        );
        let q = q.bind(org_id).bind(user_id);
        self.execute(q.bind(role.as_str()).bind(created)).await
    }

    async fn set_member_role(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?");
        let q = q.bind(role.as_str()).bind(org_id).bind(user_id);
        self.execute_one(q, "membership of user", user_id).await
    }

    /// Removes the membership, then the user's seats in every team of that org.
    async fn delete_membership(&mut self, org_id: &OrgId, user_id: &UserId) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM memberships WHERE org_id = ? AND user_id = ?");
        let q = q.bind(org_id).bind(user_id);
        self.execute_one(q, "membership of user", user_id).await?;
        let q = sqlx::query(
            "DELETE FROM team_members WHERE user_id = ? \
             AND team_id IN (SELECT id FROM teams WHERE org_id = ?)",
        );
        self.execute(q.bind(user_id).bind(org_id)).await
    }

    async fn count_admins(&mut self, org_id: &OrgId) -> StoreResult<u64> {
        let q =
            sqlx::query("SELECT COUNT(*) AS admins FROM memberships WHERE org_id = ? AND role = ?");
        let q = q.bind(org_id).bind(OrgRole::Admin.as_str());
        self.fetch_one(q, |row| get_count(row, "admins")).await
    }
}
