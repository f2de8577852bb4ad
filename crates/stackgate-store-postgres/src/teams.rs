//! The `teams`, `team_members` and `team_stacks` (grants) tables.

use async_trait::async_trait;
use stackgate_store::{
    OrgId, Stack, StackId, StackPermission, StoreResult, Team, TeamId, TeamRole, TeamStore, User,
    UserId,
};
use stackgate_store_sql::{
    stack_grant_from_row, team_from_row, team_grant_from_row, team_member_from_row, team_role,
    user_team_from_row, TEAM_COLS, USER_COLS,
};

use crate::stacks::STACK_COLS;
use crate::tx::{PgTx, Table};

/// The `teams` table for [`PgTx::lookup`].
const TEAMS: Table = (TEAM_COLS, "teams t");

#[async_trait]
impl TeamStore for PgTx {
    async fn team_by_name(&mut self, org_id: &OrgId, name: &str) -> StoreResult<Option<Team>> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = $1 AND t.name = $2");
        let q = sqlx::query(&sql).bind(org_id).bind(name);
        self.fetch_optional(q, team_from_row).await
    }

    async fn team_by_id(&mut self, team_id: &TeamId) -> StoreResult<Option<Team>> {
        self.lookup(TEAMS, "t.id", team_id, team_from_row).await
    }

    async fn list_teams(&mut self, org_id: &OrgId) -> StoreResult<Vec<Team>> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = $1 ORDER BY t.name");
        self.list_by(&sql, org_id, team_from_row).await
    }

    async fn insert_team(&mut self, team: &Team) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO teams (id, org_id, name, display_name, description, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        );
        self.execute(
            q.bind(&team.id)
                .bind(&team.org_id)
                .bind(&team.name)
                .bind(&team.display_name)
                .bind(&team.description)
                .bind(team.created),
        )
        .await
    }

    /// Updates name, display name and description; the org and creation time never change.
    async fn update_team(&mut self, team: &Team) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE teams SET name = $1, display_name = $2, description = $3 WHERE id = $4",
        );
        let q = q.bind(&team.name).bind(&team.display_name);
        let q = q.bind(&team.description).bind(&team.id);
        self.execute_one(q, "team", &team.id).await
    }

    /// Marks the team's live tokens deleted at `now`, then deletes the team: members and
    /// grants cascade, and `tokens.team_id` becomes NULL by its foreign key.
    async fn delete_team(&mut self, team_id: &TeamId, now: i64) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE tokens SET deleted_at = $1 WHERE team_id = $2 AND deleted_at IS NULL",
        );
        self.execute(q.bind(now).bind(team_id)).await?;
        let q = sqlx::query("DELETE FROM teams WHERE id = $1").bind(team_id);
        self.execute_one(q, "team", team_id).await
    }

    async fn team_members(&mut self, team_id: &TeamId) -> StoreResult<Vec<(User, TeamRole)>> {
        let sql = format!(
            "SELECT {USER_COLS}, tm.role AS member_role FROM team_members tm \
             JOIN users u ON u.id = tm.user_id WHERE tm.team_id = $1 ORDER BY u.login"
        );
        self.list_by(&sql, team_id, team_member_from_row).await
    }

    async fn team_role(
        &mut self,
        team_id: &TeamId,
        user_id: &UserId,
    ) -> StoreResult<Option<TeamRole>> {
        let q = sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2");
        let q = q.bind(team_id).bind(user_id);
        self.fetch_optional(q, |row| team_role(row, "role")).await
    }

    async fn upsert_team_member(
        &mut self,
        team_id: &TeamId,
        user_id: &UserId,
        role: TeamRole,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
        );
        self.execute(q.bind(team_id).bind(user_id).bind(role.as_str()))
            .await
    }

    async fn delete_team_member(&mut self, team_id: &TeamId, user_id: &UserId) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2");
        let q = q.bind(team_id).bind(user_id);
        self.execute_one(q, "team member", user_id).await
    }

    async fn user_teams(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> StoreResult<Vec<(Team, TeamRole)>> {
        let sql = format!(
            "SELECT {TEAM_COLS}, tm.role AS member_role FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id WHERE t.org_id = $1 AND tm.user_id = $2 \
             ORDER BY t.name"
        );
        let q = sqlx::query(&sql).bind(org_id).bind(user_id);
        self.fetch_all(q, user_team_from_row).await
    }

    /// Stacks the team holds a grant on, in listing order.
    async fn team_stacks(
        &mut self,
        team_id: &TeamId,
    ) -> StoreResult<Vec<(Stack, StackPermission)>> {
        let sql = format!(
            "SELECT {STACK_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
             JOIN stacks s ON s.id = ts.stack_id JOIN orgs o ON o.id = s.org_id \
             WHERE ts.team_id = $1 ORDER BY o.name, s.project, s.name"
        );
        self.list_by(&sql, team_id, stack_grant_from_row).await
    }

    /// Teams holding a grant on the stack, by team name.
    async fn stack_teams(
        &mut self,
        stack_id: &StackId,
    ) -> StoreResult<Vec<(Team, StackPermission)>> {
        let sql = format!(
            "SELECT {TEAM_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
             JOIN teams t ON t.id = ts.team_id WHERE ts.stack_id = $1 ORDER BY t.name"
        );
        self.list_by(&sql, stack_id, team_grant_from_row).await
    }

    async fn set_team_stack(
        &mut self,
        team_id: &TeamId,
        stack_id: &StackId,
        perm: StackPermission,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO team_stacks (team_id, stack_id, permission) VALUES ($1, $2, $3) \
             ON CONFLICT (team_id, stack_id) DO UPDATE SET permission = excluded.permission",
        );
        self.execute(q.bind(team_id).bind(stack_id).bind(perm.code()))
            .await
    }

    /// Revokes a grant; revoking one that is not there is not an error.
    async fn delete_team_stack(&mut self, team_id: &TeamId, stack_id: &StackId) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM team_stacks WHERE team_id = $1 AND stack_id = $2");
        self.execute(q.bind(team_id).bind(stack_id)).await
    }
}
