//! The `audit_events` table: append and filtered, keyset-paged reads (newest first).

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use stackgate_store::{AuditActor, AuditEvent, AuditQuery, NewAuditEvent, StoreResult};

use crate::error::db_err;
use crate::row::get;

pub(crate) async fn insert(conn: &mut SqliteConnection, e: &NewAuditEvent) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (org_id, timestamp, event, description, user_login, \
         user_name, user_email, token_id, token_name, source_ip, req_org_admin, \
         req_stack_admin, auth_failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&e.org_id)
    .bind(e.timestamp)
    .bind(&e.event)
    .bind(&e.description)
    .bind(&e.actor.login)
    .bind(&e.actor.name)
    .bind(&e.actor.email)
    .bind(&e.actor.token_id)
    .bind(&e.actor.token_name)
    .bind(&e.source_ip)
    .bind(e.req_org_admin)
    .bind(e.req_stack_admin)
    .bind(e.auth_failure)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn event_from_row(row: &SqliteRow) -> StoreResult<AuditEvent> {
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
    })
}

pub(crate) async fn list(
    conn: &mut SqliteConnection,
    query: &AuditQuery,
) -> StoreResult<Vec<AuditEvent>> {
    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT id, org_id, timestamp, event, description, user_login, user_name, \
         user_email, token_id, token_name, source_ip, req_org_admin, req_stack_admin, \
         auth_failure FROM audit_events WHERE org_id = ",
    );
    q.push_bind(query.org_id.as_str());
    if let Some(before) = query.before_id {
        q.push(" AND id < ").push_bind(before);
    }
    if let Some(start) = query.start_time {
        q.push(" AND timestamp >= ").push_bind(start);
    }
    if let Some(end) = query.end_time {
        q.push(" AND timestamp <= ").push_bind(end);
    }
    if !query.events.is_empty() {
        q.push(" AND event IN (");
        let mut events = q.separated(", ");
        for event in &query.events {
            events.push_bind(event.as_str());
        }
        q.push(")");
    }
    if let Some(login) = &query.user_login {
        q.push(" AND user_login = ").push_bind(login.as_str());
    }
    if let Some(token_id) = &query.token_id {
        q.push(" AND token_id = ").push_bind(token_id.as_str());
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    q.build()
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(event_from_row)
        .collect()
}
