//! Rows → records. The two backends select the same columns under the same aliases, so
//! one decoder per record serves both; the column lists that are the same SQL on both are
//! here too (the ones that differ, such as a stack's tag aggregate, stay in the backend).

use stackgate_store::{
    AuditActor, AuditEvent, AuditHead, ChainLink, Member, NewAuditEvent, Org, OrgRole, Session,
    Stack, StackPermission, StoreError, StoreResult, Team, TeamRole, Token, User,
};

use crate::row::{get, org_role, permission, tags, team_role, token_kind, SqlRow};

/// User columns under `user_*` aliases, for any query that joins `users u`.
pub const USER_COLS: &str = "u.id AS user_id, u.login AS user_login, \
     u.name AS user_name, u.email AS user_email, u.site_admin AS user_site_admin, \
     u.created AS user_created";

/// Team columns under `team_*` aliases, for any query that joins `teams t`.
pub const TEAM_COLS: &str = "t.id AS team_id, t.org_id AS team_org_id, t.name AS team_name, \
     t.display_name AS team_display_name, t.description AS team_description, \
     t.created AS team_created";

pub const TOKEN_COLS: &str = "id, kind, hash, name, description, user_id, org_id, team_id, \
     admin, created_by, created, expires, last_used, deleted_at";

/// Audit event columns (`audit_events`), in the order of its table.
pub const EVENT_COLS: &str =
    "id, org_id, seq, timestamp, event, description, user_login, user_name, \
     user_email, token_id, token_name, source_ip, req_org_admin, req_stack_admin, \
     auth_failure, prev_hash, hash";

pub fn user_from_row<R: SqlRow>(row: &R) -> StoreResult<User> {
    Ok(User {
        id: get(row, "user_id")?,
        login: get(row, "user_login")?,
        name: get(row, "user_name")?,
        email: get(row, "user_email")?,
        site_admin: get(row, "user_site_admin")?,
        created: get(row, "user_created")?,
    })
}

pub fn org_from_row<R: SqlRow>(row: &R) -> StoreResult<Org> {
    let settings: String = get(row, "org_settings")?;
    let settings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Backend(format!("unreadable org settings: {e}")))?;
    Ok(Org {
        id: get(row, "org_id")?,
        name: get(row, "org_name")?,
        created: get(row, "org_created")?,
        settings,
    })
}

pub fn team_from_row<R: SqlRow>(row: &R) -> StoreResult<Team> {
    Ok(Team {
        id: get(row, "team_id")?,
        org_id: get(row, "team_org_id")?,
        name: get(row, "team_name")?,
        display_name: get(row, "team_display_name")?,
        description: get(row, "team_description")?,
        created: get(row, "team_created")?,
    })
}

pub fn stack_from_row<R: SqlRow>(row: &R) -> StoreResult<Stack> {
    Ok(Stack {
        id: get(row, "stack_id")?,
        org_id: get(row, "stack_org_id")?,
        org_name: get(row, "stack_org_name")?,
        project: get(row, "stack_project")?,
        name: get(row, "stack_name")?,
        tags: tags(row, "stack_tags")?,
        creator_user_id: get(row, "stack_creator_user_id")?,
        creator_token_id: get(row, "stack_creator_token_id")?,
        created: get(row, "stack_created")?,
        version: get(row, "stack_version")?,
        last_update: get(row, "stack_last_update")?,
        resource_count: get(row, "stack_resource_count")?,
    })
}

pub fn token_from_row<R: SqlRow>(row: &R) -> StoreResult<Token> {
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

pub fn session_from_row<R: SqlRow>(row: &R) -> StoreResult<Session> {
    Ok(Session {
        hash: get(row, "hash")?,
        user_id: get(row, "user_id")?,
        csrf_token: get(row, "csrf_token")?,
        created: get(row, "created")?,
        last_seen: get(row, "last_seen")?,
        expires: get(row, "expires")?,
    })
}

pub fn event_from_row<R: SqlRow>(row: &R) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: get(row, "id")?,
        event: NewAuditEvent {
            org_id: get(row, "org_id")?,
            timestamp: get(row, "timestamp")?,
            event: get(row, "event")?,
            description: get(row, "description")?,
            actor: AuditActor {
                login: get(row, "user_login")?,
                name: get(row, "user_name")?,
                email: get(row, "user_email")?,
                token_id: get(row, "token_id")?,
                token_name: get(row, "token_name")?,
            },
            source_ip: get(row, "source_ip")?,
            req_org_admin: get(row, "req_org_admin")?,
            req_stack_admin: get(row, "req_stack_admin")?,
            auth_failure: get(row, "auth_failure")?,
        },
        link: ChainLink {
            seq: get(row, "seq")?,
            prev_hash: get(row, "prev_hash")?,
            hash: get(row, "hash")?,
        },
    })
}

/// An org's chain head (`audit_heads`).
pub fn head_from_row<R: SqlRow>(row: &R) -> StoreResult<AuditHead> {
    Ok(AuditHead {
        seq: get(row, "seq")?,
        hash: get(row, "hash")?,
        pruned_seq: get(row, "pruned_seq")?,
        pruned_hash: get(row, "pruned_hash")?,
    })
}

// Records paired with the role or grant of the row that joined them. Both backends alias
// the role of a membership row `member_role` and the permission of a grant row
// `grant_permission`, so one decoder per pair serves both.

/// A member of an org: user columns, `member_role` and `member_created`.
pub fn member_from_row<R: SqlRow>(row: &R) -> StoreResult<Member> {
    Ok(Member {
        user: user_from_row(row)?,
        role: org_role(row, "member_role")?,
        created: get(row, "member_created")?,
    })
}

/// An org the user belongs to: org columns and `member_role`.
pub fn org_membership_from_row<R: SqlRow>(row: &R) -> StoreResult<(Org, OrgRole)> {
    Ok((org_from_row(row)?, org_role(row, "member_role")?))
}

/// A member of a team: user columns and `member_role`.
pub fn team_member_from_row<R: SqlRow>(row: &R) -> StoreResult<(User, TeamRole)> {
    Ok((user_from_row(row)?, team_role(row, "member_role")?))
}

/// A team the user sits in: team columns and `member_role`.
pub fn user_team_from_row<R: SqlRow>(row: &R) -> StoreResult<(Team, TeamRole)> {
    Ok((team_from_row(row)?, team_role(row, "member_role")?))
}

/// A stack a team holds a grant on: stack columns and `grant_permission`.
pub fn stack_grant_from_row<R: SqlRow>(row: &R) -> StoreResult<(Stack, StackPermission)> {
    Ok((stack_from_row(row)?, permission(row, "grant_permission")?))
}

/// A team holding a grant on a stack: team columns and `grant_permission`.
pub fn team_grant_from_row<R: SqlRow>(row: &R) -> StoreResult<(Team, StackPermission)> {
    Ok((team_from_row(row)?, permission(row, "grant_permission")?))
}
