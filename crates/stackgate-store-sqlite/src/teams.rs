//! The `teams`, `team_members` and `team_stacks` (grants) tables.

use async_trait::async_trait;
use stackgate_store::{Stack, StackPermission, StoreResult, Team, TeamRole, TeamStore, User};
use stackgate_store_sql::{
    permission, stack_from_row, team_from_row, team_role, user_from_row, TEAM_COLS, USER_COLS,
};

use crate::error::{db_err, expect_affected};
use crate::stacks::STACK_COLS;
use crate::tx::SqliteTx;

#[async_trait]
impl TeamStore for SqliteTx {
    async fn team_by_name(&mut self, org_id: &str, name: &str) -> StoreResult<Option<Team>> {
        let conn = self.conn();
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = ? AND t.name = ?");
        sqlx::query(&sql)
            .bind(org_id)
            .bind(name)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
            .map(|row| team_from_row(&row))
            .transpose()
    }

    async fn team_by_id(&mut self, team_id: &str) -> StoreResult<Option<Team>> {
        let conn = self.conn();
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.id = ?");
        sqlx::query(&sql)
            .bind(team_id)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
            .map(|row| team_from_row(&row))
            .transpose()
    }

    async fn list_teams(&mut self, org_id: &str) -> StoreResult<Vec<Team>> {
        let conn = self.conn();
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = ? ORDER BY t.name");
        sqlx::query(&sql)
            .bind(org_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(team_from_row)
            .collect()
    }

    async fn insert_team(&mut self, team: &Team) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO teams (id, org_id, name, display_name, description, created) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&team.id)
        .bind(&team.org_id)
        .bind(&team.name)
        .bind(&team.display_name)
        .bind(&team.description)
        .bind(team.created)
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Updates name, display name and description; the org and creation time never change.
    async fn update_team(&mut self, team: &Team) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query(
            "UPDATE teams SET name = ?, display_name = ?, description = ? WHERE id = ?",
        )
        .bind(&team.name)
        .bind(&team.display_name)
        .bind(&team.description)
        .bind(&team.id)
        .execute(conn)
        .await
        .map_err(db_err)?;
        expect_affected(done, "team", &team.id)
    }

    /// Marks the team's live tokens deleted at `now`, then deletes the team: members and
    /// grants cascade, and `tokens.team_id` becomes NULL by its foreign key.
    async fn delete_team(&mut self, team_id: &str, now: i64) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query("UPDATE tokens SET deleted_at = ? WHERE team_id = ? AND deleted_at IS NULL")
            .bind(now)
            .bind(team_id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let done = sqlx::query("DELETE FROM teams WHERE id = ?")
            .bind(team_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "team", team_id)
    }

    async fn team_members(&mut self, team_id: &str) -> StoreResult<Vec<(User, TeamRole)>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {USER_COLS}, tm.role AS member_role FROM team_members tm \
             JOIN users u ON u.id = tm.user_id WHERE tm.team_id = ? ORDER BY u.login"
        );
        sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| Ok((user_from_row(row)?, team_role(row, "member_role")?)))
            .collect()
    }

    async fn team_role(&mut self, team_id: &str, user_id: &str) -> StoreResult<Option<TeamRole>> {
        let conn = self.conn();
        sqlx::query("SELECT role FROM team_members WHERE team_id = ? AND user_id = ?")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
            .map(|row| team_role(&row, "role"))
            .transpose()
    }

    async fn upsert_team_member(
        &mut self,
        team_id: &str,
        user_id: &str,
        role: TeamRole,
    ) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id, role) VALUES (?, ?, ?) \
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(role.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_team_member(&mut self, team_id: &str, user_id: &str) -> StoreResult<()> {
        let conn = self.conn();
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = ? AND user_id = ?")
            .bind(team_id)
            .bind(user_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        expect_affected(done, "team member", user_id)
    }

    async fn user_teams(
        &mut self,
        org_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<(Team, TeamRole)>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {TEAM_COLS}, tm.role AS member_role FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id WHERE t.org_id = ? AND tm.user_id = ? \
             ORDER BY t.name"
        );
        sqlx::query(&sql)
            .bind(org_id)
            .bind(user_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| Ok((team_from_row(row)?, team_role(row, "member_role")?)))
            .collect()
    }

    /// Stacks the team holds a grant on, in listing order.
    async fn team_stacks(&mut self, team_id: &str) -> StoreResult<Vec<(Stack, StackPermission)>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {STACK_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
             JOIN stacks s ON s.id = ts.stack_id JOIN orgs o ON o.id = s.org_id \
             WHERE ts.team_id = ? ORDER BY o.name, s.project, s.name"
        );
        sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| Ok((stack_from_row(row)?, permission(row, "grant_permission")?)))
            .collect()
    }

    /// Teams holding a grant on the stack, by team name.
    async fn stack_teams(&mut self, stack_id: &str) -> StoreResult<Vec<(Team, StackPermission)>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {TEAM_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
             JOIN teams t ON t.id = ts.team_id WHERE ts.stack_id = ? ORDER BY t.name"
        );
        sqlx::query(&sql)
            .bind(stack_id)
            .fetch_all(conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| Ok((team_from_row(row)?, permission(row, "grant_permission")?)))
            .collect()
    }

    async fn set_team_stack(
        &mut self,
        team_id: &str,
        stack_id: &str,
        perm: StackPermission,
    ) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO team_stacks (team_id, stack_id, permission) VALUES (?, ?, ?) \
             ON CONFLICT (team_id, stack_id) DO UPDATE SET permission = excluded.permission",
        )
        .bind(team_id)
        .bind(stack_id)
        .bind(perm.code())
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Revokes a grant; revoking one that is not there is not an error.
    async fn delete_team_stack(&mut self, team_id: &str, stack_id: &str) -> StoreResult<()> {
        let conn = self.conn();
        sqlx::query("DELETE FROM team_stacks WHERE team_id = ? AND stack_id = ?")
            .bind(team_id)
            .bind(stack_id)
            .execute(conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
