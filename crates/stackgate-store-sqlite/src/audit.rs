//! The `audit_events` and `audit_heads` tables: chained appends, filtered keyset-paged
//! reads (newest first), chain-order reads for verification and export, and pruning.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use stackgate_store::{
    AuditActor, AuditEvent, AuditHead, AuditQuery, AuditStore, ChainLink, NewAuditEvent, OrgId,
    StoreError, StoreResult, Timestamp,
};
use stackgate_store_sql::{event_from_row, get, head_from_row, EVENT_COLS};

use crate::error::db_err;
use crate::tx::SqliteTx;

#[async_trait]
impl AuditStore for SqliteTx {
    async fn audit_head(&mut self, org_id: &OrgId) -> StoreResult<AuditHead> {
        // SQLite serialises writers (one write connection, BEGIN IMMEDIATE): no lock needed.
        let q = sqlx::query(
            "SELECT seq, hash, pruned_seq, pruned_hash FROM audit_heads WHERE org_id = ?",
        );
        let head = self.fetch_optional(q.bind(org_id), head_from_row).await?;
        Ok(head.unwrap_or_default())
    }

    async fn insert_audit(&mut self, e: &NewAuditEvent, link: &ChainLink) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO audit_events (org_id, seq, timestamp, event, description, user_login, \
             user_name, user_email, token_id, token_name, source_ip, req_org_admin, \
             req_stack_admin, auth_failure, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        let q = q
            .bind(&e.org_id)
            .bind(link.seq)
            .bind(e.timestamp)
            .bind(&e.event);
        let q = q
            .bind(&e.description)
            .bind(&e.actor.login)
            .bind(&e.actor.name);
        let q = q
            .bind(&e.actor.email)
            .bind(&e.actor.token_id)
            .bind(&e.actor.token_name);
        let q = q
            .bind(&e.source_ip)
            .bind(e.req_org_admin)
            .bind(e.req_stack_admin);
        let q = q
            .bind(e.auth_failure)
            .bind(&link.prev_hash)
            .bind(&link.hash);
        self.execute(q).await?;
        let q = sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES (?, ?, ?) \
             ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        );
        self.execute(q.bind(&e.org_id).bind(link.seq).bind(&link.hash))
            .await
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(PAGE_JSON);
        match query.events.as_slice() {
            [] => push_scan(&mut q, query, None),
            [one] => push_scan(&mut q, query, Some(one)),
            // Several event ids: one index walk per id, merged. A single `event IN (...)`
            // lets the planner fall back to scanning the whole org when ids are rare.
            several => {
                q.push("SELECT * FROM (");
                for (i, event) in several.iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push("SELECT * FROM (");
                    push_scan(&mut q, query, Some(event));
                    q.push(")");
                }
                q.push(") ORDER BY seq DESC LIMIT ")
                    .push_bind(i64::from(query.limit));
            }
        }
        q.push(")");
        let page: Option<String> = q
            .build_query_scalar()
            .fetch_one(self.conn())
            .await
            .map_err(db_err)?;
        let rows: Vec<JsonRow> = serde_json::from_str(page.as_deref().unwrap_or("[]"))
            .map_err(|e| StoreError::Backend(format!("decoding an audit page: {e}")))?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn audit_chain(
        &mut self,
        org_id: &OrgId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM audit_events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        );
        let q = sqlx::query(&sql).bind(org_id).bind(after_seq);
        self.fetch_all(q.bind(i64::from(limit)), event_from_row)
            .await
    }

    async fn prune_audit(
        &mut self,
        org_id: &OrgId,
        through_seq: i64,
        through_hash: &str,
    ) -> StoreResult<u64> {
        let q = sqlx::query("DELETE FROM audit_events WHERE org_id = ? AND seq <= ?");
        let deleted = self
            .execute_counted(q.bind(org_id).bind(through_seq))
            .await?;
        let q =
            sqlx::query("UPDATE audit_heads SET pruned_seq = ?, pruned_hash = ? WHERE org_id = ?");
        let q = q.bind(through_seq).bind(through_hash).bind(org_id);
        self.execute(q).await?;
        Ok(deleted)
    }

    async fn last_audit_seq_before(
        &mut self,
        org_id: &OrgId,
        before: Timestamp,
    ) -> StoreResult<Option<(i64, String)>> {
        let q = sqlx::query(
            "SELECT seq, hash FROM audit_events WHERE org_id = ? AND timestamp < ? \
             ORDER BY seq DESC LIMIT 1",
        );
        let q = q.bind(org_id).bind(before);
        self.fetch_optional(q, |row| Ok((get(row, "seq")?, get(row, "hash")?)))
            .await
    }

    async fn set_audit_head(&mut self, org_id: &OrgId, head: &AuditHead) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash, pruned_seq, pruned_hash) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET \
             seq = excluded.seq, hash = excluded.hash, pruned_seq = excluded.pruned_seq, \
             pruned_hash = excluded.pruned_hash",
        );
        let q = q.bind(org_id).bind(head.seq).bind(&head.hash);
        self.execute(q.bind(head.pruned_seq).bind(&head.pruned_hash))
            .await
    }
}

/// One page of events as a single JSON value: decoding one text column is several times
/// cheaper through sqlx than decoding 17 columns per row, which dominates large exports.
/// The aggregate takes the rows in the order the inner `ORDER BY seq DESC LIMIT n` yields
/// them (SQLite does not flatten a LIMIT subquery into an aggregate, and an `ORDER BY`
/// inside `json_group_array` would sort every page a second time); the storage story
/// checks the order.
const PAGE_JSON: &str = "SELECT json_group_array(json_array(id, org_id, seq, timestamp, \
     event, description, user_login, user_name, user_email, token_id, token_name, source_ip, \
     req_org_admin, req_stack_admin, auth_failure, prev_hash, hash)) AS page FROM (";

/// A row of [`PAGE_JSON`], in column order.
#[derive(serde::Deserialize)]
struct JsonRow(
    i64,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
    String,
);

impl From<JsonRow> for AuditEvent {
    fn from(r: JsonRow) -> AuditEvent {
        AuditEvent {
            id: r.0,
            event: NewAuditEvent {
                org_id: r.1.into(),
                timestamp: r.3,
                event: r.4,
                description: r.5,
                actor: AuditActor {
                    login: r.6,
                    name: r.7,
                    email: r.8,
                    token_id: r.9,
                    token_name: r.10,
                },
                source_ip: r.11,
                req_org_admin: r.12 != 0,
                req_stack_admin: r.13 != 0,
                auth_failure: r.14 != 0,
            },
            link: ChainLink {
                seq: r.2,
                prev_hash: r.15,
                hash: r.16,
            },
        }
    }
}

/// Appends one filtered, newest-first, limited scan. `event` narrows it to one event id
/// (so that SQLite walks the `(org_id, event, seq)` index).
fn push_scan(q: &mut QueryBuilder<'_, Sqlite>, query: &AuditQuery, event: Option<&str>) {
    q.push(format!(
        "SELECT {EVENT_COLS} FROM audit_events WHERE org_id = "
    ));
    q.push_bind(query.org_id.clone());
    if let Some(event) = event {
        q.push(" AND event = ").push_bind(event.to_owned());
    }
    if let Some(before) = query.before_seq {
        q.push(" AND seq < ").push_bind(before);
    }
    if let Some(start) = query.start_time {
        q.push(" AND timestamp >= ").push_bind(start);
    }
    if let Some(end) = query.end_time {
        q.push(" AND timestamp <= ").push_bind(end);
    }
    if let Some(login) = &query.user_login {
        q.push(" AND user_login = ").push_bind(login.clone());
    }
    if let Some(token_id) = &query.token_id {
        q.push(" AND token_id = ").push_bind(token_id.clone());
    }
    q.push(" ORDER BY seq DESC LIMIT ")
        .push_bind(i64::from(query.limit));
}
