//! A stack's state (PostgreSQL): `stack_updates`, `stack_update_events`, `stack_checkpoints`,
//! `stack_keys`, and the state columns of `stacks`.

use async_trait::async_trait;
use stackgate_store::{
    Checkpoint, StackId, StackKey, StackStateStore, StackUpdate, StoreResult, Timestamp,
    UpdateEvent, UpdateId,
};
use stackgate_store_sql::{
    checkpoint_from_row, get, get_count, key_from_row, update_event_from_row, update_from_row,
    CHECKPOINT_COLS, KEY_COLS, UPDATE_COLS,
};

use crate::tx::PgTx;

#[async_trait]
impl StackStateStore for PgTx {
    async fn insert_update(&mut self, u: &StackUpdate) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO stack_updates ({UPDATE_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        let q = sqlx::query(&sql).bind(&u.id).bind(&u.stack_id);
        let q = q
            .bind(u.kind.as_str())
            .bind(u.status.as_str())
            .bind(u.version);
        let q = q.bind(u.created).bind(u.started).bind(u.ended);
        let q = q.bind(&u.actor.user_id).bind(&u.actor.token_id);
        let q = q.bind(&u.actor.login).bind(&u.actor.name).bind(&u.request);
        let q = q.bind(&u.lease_hash).bind(u.lease_expires);
        self.execute(q.bind(&u.resource_changes)).await
    }

    async fn stack_update(
        &mut self,
        stack_id: &StackId,
        id: &UpdateId,
    ) -> StoreResult<Option<StackUpdate>> {
        let sql =
            format!("SELECT {UPDATE_COLS} FROM stack_updates WHERE id = $1 AND stack_id = $2");
        let q = sqlx::query(&sql).bind(id).bind(stack_id);
        self.fetch_optional(q, update_from_row).await
    }

    async fn save_update(&mut self, u: &StackUpdate) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE stack_updates SET status = $1, version = $2, started = $3, ended = $4, \
             lease_hash = $5, lease_expires = $6, resource_changes = $7 WHERE id = $8",
        );
        let q = q.bind(u.status.as_str()).bind(u.version).bind(u.started);
        let q = q.bind(u.ended).bind(&u.lease_hash).bind(u.lease_expires);
        let q = q.bind(&u.resource_changes).bind(&u.id);
        self.execute_one(q, "update", &u.id).await
    }

    async fn active_update(&mut self, stack_id: &StackId) -> StoreResult<Option<StackUpdate>> {
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM stack_updates \
             WHERE stack_id = $1 AND status = 'running' AND kind <> 'preview'"
        );
        self.fetch_optional(sqlx::query(&sql).bind(stack_id), update_from_row)
            .await
    }

    async fn running_updates(&mut self) -> StoreResult<u64> {
        let q =
            sqlx::query("SELECT COUNT(*) AS running FROM stack_updates WHERE status = 'running'");
        self.fetch_one(q, |row| get_count(row, "running")).await
    }

    async fn list_updates(
        &mut self,
        stack_id: &StackId,
        include_previews: bool,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<StackUpdate>> {
        let kinds = if include_previews {
            ""
        } else {
            " AND kind <> 'preview'"
        };
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM stack_updates WHERE stack_id = $1{kinds} \
             ORDER BY created DESC, version DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let q = sqlx::query(&sql).bind(stack_id).bind(i64::from(limit));
        self.fetch_all(q.bind(i64::from(offset)), update_from_row)
            .await
    }

    async fn update_by_version(
        &mut self,
        stack_id: &StackId,
        version: i64,
    ) -> StoreResult<Option<StackUpdate>> {
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM stack_updates \
             WHERE stack_id = $1 AND version = $2 AND kind <> 'preview' AND status <> 'not started'"
        );
        let q = sqlx::query(&sql).bind(stack_id).bind(version);
        self.fetch_optional(q, update_from_row).await
    }

    async fn append_update_events(
        &mut self,
        update_id: &UpdateId,
        events: &[UpdateEvent],
    ) -> StoreResult<()> {
        for e in events {
            let q = sqlx::query(
                "INSERT INTO stack_update_events (update_id, sequence, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (update_id, sequence) DO NOTHING",
            );
            self.execute(q.bind(update_id).bind(e.sequence).bind(&e.body))
                .await?;
        }
        Ok(())
    }

    async fn update_events(
        &mut self,
        update_id: &UpdateId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<UpdateEvent>> {
        let q = sqlx::query(
            "SELECT sequence, body FROM stack_update_events \
             WHERE update_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
        );
        let q = q.bind(update_id).bind(after).bind(i64::from(limit));
        self.fetch_all(q, update_event_from_row).await
    }

    async fn save_checkpoint(&mut self, c: &Checkpoint) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO stack_checkpoints ({CHECKPOINT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (stack_id, version) DO UPDATE SET update_id = excluded.update_id, \
             schema_version = excluded.schema_version, features = excluded.features, \
             deployment = excluded.deployment, resource_count = excluded.resource_count, \
             saved = excluded.saved"
        );
        let q = sqlx::query(&sql).bind(&c.stack_id).bind(c.version);
        let q = q
            .bind(&c.update_id)
            .bind(c.schema_version)
            .bind(&c.features);
        let q = q.bind(&c.deployment).bind(c.resource_count);
        self.execute(q.bind(c.saved)).await
    }

    async fn checkpoint(
        &mut self,
        stack_id: &StackId,
        version: Option<i64>,
    ) -> StoreResult<Option<Checkpoint>> {
        let sql = match version {
            Some(_) => format!(
                "SELECT {CHECKPOINT_COLS} FROM stack_checkpoints WHERE stack_id = $1 AND version = $2"
            ),
            None => format!(
                "SELECT {CHECKPOINT_COLS} FROM stack_checkpoints WHERE stack_id = $1 \
                 ORDER BY version DESC LIMIT 1"
            ),
        };
        let q = sqlx::query(&sql).bind(stack_id);
        let q = match version {
            Some(v) => q.bind(v),
            None => q,
        };
        self.fetch_optional(q, checkpoint_from_row).await
    }

    async fn resource_counts(
        &mut self,
        stack_id: &StackId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        let q = sqlx::query(
            "SELECT version, resource_count FROM stack_checkpoints \
             WHERE stack_id = $1 AND version BETWEEN $2 AND $3 ORDER BY version",
        );
        let q = q.bind(stack_id).bind(from).bind(to);
        self.fetch_all(q, |row| {
            Ok((get(row, "version")?, get(row, "resource_count")?))
        })
        .await
    }

    async fn prune_checkpoints(&mut self, stack_id: &StackId, keep: u32) -> StoreResult<u64> {
        let q = sqlx::query(
            "DELETE FROM stack_checkpoints WHERE stack_id = $1 AND version NOT IN \
             (SELECT version FROM stack_checkpoints WHERE stack_id = $2 \
              ORDER BY version DESC LIMIT $3)",
        );
        let q = q.bind(stack_id).bind(stack_id).bind(i64::from(keep));
        self.execute_counted(q).await
    }

    async fn set_stack_state(
        &mut self,
        stack_id: &StackId,
        version: i64,
        last_update: Timestamp,
        resource_count: i64,
    ) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE stacks SET version = $1, last_update = $2, resource_count = $3 WHERE id = $4",
        );
        let q = q.bind(version).bind(last_update).bind(resource_count);
        self.execute_one(q.bind(stack_id), "stack", stack_id).await
    }

    async fn stack_key(&mut self, stack_id: &StackId) -> StoreResult<Option<StackKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM stack_keys WHERE stack_id = $1");
        self.fetch_optional(sqlx::query(&sql).bind(stack_id), key_from_row)
            .await
    }

    async fn insert_stack_key(&mut self, k: &StackKey) -> StoreResult<()> {
        let sql = format!("INSERT INTO stack_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4)");
        let q = sqlx::query(&sql).bind(&k.stack_id).bind(&k.wrapped);
        self.execute(q.bind(&k.master_key_id).bind(k.created)).await
    }

    async fn all_stack_keys(&mut self) -> StoreResult<Vec<StackKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM stack_keys ORDER BY stack_id");
        self.fetch_all(sqlx::query(&sql), key_from_row).await
    }

    async fn replace_stack_key(&mut self, k: &StackKey) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE stack_keys SET wrapped = $1, master_key_id = $2 WHERE stack_id = $3",
        );
        let q = q.bind(&k.wrapped).bind(&k.master_key_id).bind(&k.stack_id);
        self.execute_one(q, "stack key", &k.stack_id).await
    }
}
