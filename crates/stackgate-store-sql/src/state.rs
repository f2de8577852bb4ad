//! Decoders and column lists of a stack's state (`stack_updates`, `stack_update_events`,
//! `stack_checkpoints`, `stack_keys`): the same SQL on both backends.

use stackgate_store::{
    Checkpoint, StackKey, StackUpdate, StoreResult, UpdateActor, UpdateEvent, UpdateKind,
    UpdateStatus,
};

use crate::row::{bad_data, get, SqlRow};

/// `stack_updates` columns, in table order.
pub const UPDATE_COLS: &str = "id, stack_id, kind, status, version, created, started, ended, \
     actor_user_id, actor_token_id, actor_login, actor_name, request, lease_hash, \
     lease_expires, resource_changes";

pub const CHECKPOINT_COLS: &str = "stack_id, version, update_id, schema_version, features, \
     deployment, resource_count, saved";

pub const KEY_COLS: &str = "stack_id, wrapped, master_key_id, created";

pub fn update_from_row<R: SqlRow>(row: &R) -> StoreResult<StackUpdate> {
    let kind: String = get(row, "kind")?;
    let status: String = get(row, "status")?;
    Ok(StackUpdate {
        id: get(row, "id")?,
        stack_id: get(row, "stack_id")?,
        kind: UpdateKind::parse(&kind).ok_or_else(|| bad_data("update kind", &kind))?,
        status: UpdateStatus::parse(&status).ok_or_else(|| bad_data("update status", &status))?,
        version: get(row, "version")?,
        created: get(row, "created")?,
        started: get(row, "started")?,
        ended: get(row, "ended")?,
        actor: UpdateActor {
            user_id: get(row, "actor_user_id")?,
            token_id: get(row, "actor_token_id")?,
            login: get(row, "actor_login")?,
            name: get(row, "actor_name")?,
        },
        request: get(row, "request")?,
        lease_hash: get(row, "lease_hash")?,
        lease_expires: get(row, "lease_expires")?,
        resource_changes: get(row, "resource_changes")?,
    })
}

pub fn update_event_from_row<R: SqlRow>(row: &R) -> StoreResult<UpdateEvent> {
    Ok(UpdateEvent {
        sequence: get(row, "sequence")?,
        body: get(row, "body")?,
    })
}

pub fn checkpoint_from_row<R: SqlRow>(row: &R) -> StoreResult<Checkpoint> {
    Ok(Checkpoint {
        stack_id: get(row, "stack_id")?,
        version: get(row, "version")?,
        update_id: get(row, "update_id")?,
        schema_version: get(row, "schema_version")?,
        features: get(row, "features")?,
        deployment: get(row, "deployment")?,
        resource_count: get(row, "resource_count")?,
        saved: get(row, "saved")?,
    })
}

pub fn key_from_row<R: SqlRow>(row: &R) -> StoreResult<StackKey> {
    Ok(StackKey {
        stack_id: get(row, "stack_id")?,
        wrapped: get(row, "wrapped")?,
        master_key_id: get(row, "master_key_id")?,
        created: get(row, "created")?,
    })
}
