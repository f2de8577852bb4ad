//! The `audit_events` and `audit_heads` tables: chained appends, filtered keyset-paged
//! reads (newest first), chain-order reads for verification and export, and pruning.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder};
use stackgate_store::{
    AuditEvent, AuditHead, AuditQuery, AuditStore, ChainLink, NewAuditEvent, OrgId, StoreResult,
    Timestamp,
};
use stackgate_store_sql::{event_from_row, get, head_from_row, EVENT_COLS};

use crate::tx::PgTx;

const HEAD: &str = "SELECT seq, hash, pruned_seq, pruned_hash FROM audit_heads WHERE org_id = $1";

impl PgTx {
    /// The org's head as of the snapshot, without locking (read-only transactions).
    async fn head(&mut self, org_id: &OrgId) -> StoreResult<AuditHead> {
        let head = self.fetch_optional(sqlx::query(HEAD).bind(org_id), head_from_row);
        Ok(head.await?.unwrap_or_default())
    }

    /// The org's head, locked (`FOR UPDATE`) until the transaction ends: a writer on any
    /// replica that asks for the same head waits here until this transaction commits or
    /// rolls back, then reads the head as it left it (READ COMMITTED re-reads a row it
    /// waited for). So appends serialise per org and every event gets its own `seq`.
    ///
    /// An org without events has no head row to lock yet: one is inserted at `seq` 0 (which
    /// reads back as [`AuditHead::default`]). Two first writers racing on that insert are
    /// serialised by the primary key: the second waits for the first to finish, does
    /// nothing, and then waits on the row lock like any later writer.
    async fn lock_head(&mut self, org_id: &OrgId) -> StoreResult<AuditHead> {
        let lock = format!("{HEAD} FOR UPDATE");
        let found = sqlx::query(&lock).bind(org_id);
        if let Some(head) = self.fetch_optional(found, head_from_row).await? {
            return Ok(head);
        }
        let q = sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, '') \
             ON CONFLICT (org_id) DO NOTHING",
        );
        self.execute(q.bind(org_id)).await?;
        self.fetch_one(sqlx::query(&lock).bind(org_id), head_from_row)
            .await
    }
}

#[async_trait]
impl AuditStore for PgTx {
    async fn audit_head(&mut self, org_id: &OrgId) -> StoreResult<AuditHead> {
        // A read-only snapshot reads the head without locking it.
        if self.writable {
            self.lock_head(org_id).await
        } else {
            self.head(org_id).await
        }
    }

    async fn insert_audit(&mut self, e: &NewAuditEvent, link: &ChainLink) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO audit_events (org_id, seq, timestamp, event, description, user_login, \
             user_name, user_email, token_id, token_name, source_ip, req_org_admin, \
             req_stack_admin, auth_failure, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
        // The row is normally locked by `lock_head` already; the upsert also covers a caller
        // that appends without asking for the head first.
        let q = sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        );
        self.execute(q.bind(&e.org_id).bind(link.seq).bind(&link.hash))
            .await
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {EVENT_COLS} FROM audit_events WHERE org_id = "
        ));
        q.push_bind(query.org_id.as_str());
        if let Some(before) = query.before_seq {
            q.push(" AND seq < ").push_bind(before);
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
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        self.fetch_all(q.build(), event_from_row).await
    }

    async fn audit_chain(
        &mut self,
        org_id: &OrgId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
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
        let q = sqlx::query("DELETE FROM audit_events WHERE org_id = $1 AND seq <= $2");
        let deleted = self
            .execute_counted(q.bind(org_id).bind(through_seq))
            .await?;
        let q = sqlx::query(
            "UPDATE audit_heads SET pruned_seq = $1, pruned_hash = $2 WHERE org_id = $3",
        );
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
            "SELECT seq, hash FROM audit_events WHERE org_id = $1 AND timestamp < $2 \
             ORDER BY seq DESC LIMIT 1",
        );
        let q = q.bind(org_id).bind(before);
        self.fetch_optional(q, |row| Ok((get(row, "seq")?, get(row, "hash")?)))
            .await
    }

    async fn set_audit_head(&mut self, org_id: &OrgId, head: &AuditHead) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash, pruned_seq, pruned_hash) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET \
             seq = excluded.seq, hash = excluded.hash, pruned_seq = excluded.pruned_seq, \
             pruned_hash = excluded.pruned_hash",
        );
        let q = q.bind(org_id).bind(head.seq).bind(&head.hash);
        self.execute(q.bind(head.pruned_seq).bind(&head.pruned_hash))
            .await
    }
}
