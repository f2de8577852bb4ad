//! The `teams`, `team_members` and `team_stacks` (grants) tables.

use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use stackgate_store::{Stack, StackPermission, StoreResult, Team, TeamRole, User};

use crate::error::{db_err, expect_affected};
use crate::row::{get, permission, team_role};
use crate::stacks::{stack_from_row, STACK_COLS};
use crate::users::{user_from_row, USER_COLS};

/// Team columns under `team_*` aliases, for any query that joins `teams t`.
const TEAM_COLS: &str = "t.id AS team_id, t.org_id AS team_org_id, t.name AS team_name, \
     t.display_name AS team_display_name, t.description AS team_description, \
     t.created AS team_created";

fn team_from_row(row: &PgRow) -> StoreResult<Team> {
    Ok(Team {
        id: get(row, "team_id")?,
        org_id: get(row, "team_org_id")?,
        name: get(row, "team_name")?,
        display_name: get(row, "team_display_name")?,
        description: get(row, "team_description")?,
        created: get(row, "team_created")?,
    })
}

pub(crate) async fn by_name(
    conn: &mut PgConnection,
    org_id: &str,
    name: &str,
) -> StoreResult<Option<Team>> {
    let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = $1 AND t.name = $2");
    sqlx::query(&sql)
        .bind(org_id)
        .bind(name)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| team_from_row(&row))
        .transpose()
}

pub(crate) async fn by_id(conn: &mut PgConnection, team_id: &str) -> StoreResult<Option<Team>> {
    let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.id = $1");
    sqlx::query(&sql)
        .bind(team_id)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| team_from_row(&row))
        .transpose()
}

pub(crate) async fn of_org(conn: &mut PgConnection, org_id: &str) -> StoreResult<Vec<Team>> {
    let sql = format!("SELECT {TEAM_COLS} FROM teams t WHERE t.org_id = $1 ORDER BY t.name");
    sqlx::query(&sql)
        .bind(org_id)
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(team_from_row)
        .collect()
}

pub(crate) async fn insert(conn: &mut PgConnection, team: &Team) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO teams (id, org_id, name, display_name, description, created) \
         VALUES ($1, $2, $3, $4, $5, $6)",
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
pub(crate) async fn update(conn: &mut PgConnection, team: &Team) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE teams SET name = $1, display_name = $2, description = $3 WHERE id = $4",
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
pub(crate) async fn delete(conn: &mut PgConnection, team_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE tokens SET deleted_at = $1 WHERE team_id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(team_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let done = sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(team_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "team", team_id)
}

pub(crate) async fn members(
    conn: &mut PgConnection,
    team_id: &str,
) -> StoreResult<Vec<(User, TeamRole)>> {
    let sql = format!(
        "SELECT {USER_COLS}, tm.role AS member_role FROM team_members tm \
         JOIN users u ON u.id = tm.user_id WHERE tm.team_id = $1 ORDER BY u.login"
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

pub(crate) async fn role(
    conn: &mut PgConnection,
    team_id: &str,
    user_id: &str,
) -> StoreResult<Option<TeamRole>> {
    sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|row| team_role(&row, "role"))
        .transpose()
}

pub(crate) async fn upsert_member(
    conn: &mut PgConnection,
    team_id: &str,
    user_id: &str,
    role: TeamRole,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) \
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

pub(crate) async fn delete_member(
    conn: &mut PgConnection,
    team_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    expect_affected(done, "team member", user_id)
}

pub(crate) async fn of_user(
    conn: &mut PgConnection,
    org_id: &str,
    user_id: &str,
) -> StoreResult<Vec<(Team, TeamRole)>> {
    let sql = format!(
        "SELECT {TEAM_COLS}, tm.role AS member_role FROM team_members tm \
         JOIN teams t ON t.id = tm.team_id WHERE t.org_id = $1 AND tm.user_id = $2 \
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
pub(crate) async fn stacks(
    conn: &mut PgConnection,
    team_id: &str,
) -> StoreResult<Vec<(Stack, StackPermission)>> {
    let sql = format!(
        "SELECT {STACK_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
         JOIN stacks s ON s.id = ts.stack_id JOIN orgs o ON o.id = s.org_id \
         WHERE ts.team_id = $1 ORDER BY o.name, s.project, s.name"
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
pub(crate) async fn of_stack(
    conn: &mut PgConnection,
    stack_id: &str,
) -> StoreResult<Vec<(Team, StackPermission)>> {
    let sql = format!(
        "SELECT {TEAM_COLS}, ts.permission AS grant_permission FROM team_stacks ts \
         JOIN teams t ON t.id = ts.team_id WHERE ts.stack_id = $1 ORDER BY t.name"
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

pub(crate) async fn set_stack(
    conn: &mut PgConnection,
    team_id: &str,
    stack_id: &str,
    perm: StackPermission,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO team_stacks (team_id, stack_id, permission) VALUES ($1, $2, $3) \
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
pub(crate) async fn delete_stack(
    conn: &mut PgConnection,
    team_id: &str,
    stack_id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM team_stacks WHERE team_id = $1 AND stack_id = $2")
        .bind(team_id)
        .bind(stack_id)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
