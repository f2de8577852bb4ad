//! The Pulumi update protocol: create an update, start it (which hands out a lease), save
//! checkpoints and engine events under the lease, complete or cancel it.
//!
//! Calls made with an access token (`create`, `start`, `cancel`, status) are authorized
//! like any other operation. Calls made with the update's lease (`renew_lease`,
//! `checkpoint`, `events/batch`, `complete`) are authorized twice: the lease must be the
//! live lease of that update of that stack, *and* the token that started the update must
//! still be valid and still hold the permission the update needs. If either is lost mid-
//! update, the call is refused and the update ends as failed, so a revoked CI token
//! cannot keep writing state through a lease it obtained earlier.

use sha2::{Digest, Sha256};
use stackgate_store::{
    Checkpoint, Org, Stack, StackId, StackUpdate, Tags, Timestamp, TokenKind, UpdateActor,
    UpdateEvent, UpdateId, UpdateKind, UpdateStatus,
};
use std::sync::Arc;

use super::{new_id, Cache, Op, Service};
use crate::auth;
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity, Principal};
use crate::state_body::{self, DeploymentState};

/// How long a lease lives when an update starts; the CLI renews it every few minutes.
pub const LEASE_SECONDS: i64 = 300;
/// The longest lease a renewal may ask for.
pub const MAX_LEASE_SECONDS: i64 = 3600;
/// The most engine events one `GET .../events` page returns.
pub const EVENTS_PAGE: u32 = 500;

/// The stack an update call addresses: `org/project/stack` and the update id.
#[derive(Clone, Debug)]
pub struct UpdateRef {
    pub org: String,
    pub project: String,
    pub stack: String,
    pub update_id: UpdateId,
}

impl UpdateRef {
    fn stack_name(&self) -> String {
        format!("{}/{}/{}", self.org, self.project, self.stack)
    }
}

/// What `POST U` (start) answers.
pub struct StartedUpdate {
    pub version: i64,
    pub lease: String,
    pub lease_expires: Timestamp,
}

/// A call authorized by an update's lease (`Authorization: update-token <lease>`).
pub struct LeaseCall {
    pub update: UpdateRef,
    pub lease: String,
    pub source_ip: String,
}

fn lease_hash(lease: &str) -> String {
    hex::encode(Sha256::digest(lease.as_bytes()))
}

fn new_lease() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The permission an update of `kind` needs, at start and on every lease call.
fn action_for(kind: UpdateKind) -> Action {
    if kind == UpdateKind::Preview {
        Action::PreviewStack
    } else {
        Action::UpdateStack
    }
}

/// Who the principal is, as an update records it.
pub(crate) fn update_actor(ctx: &Ctx) -> UpdateActor {
    let p = &ctx.principal;
    let token_id = p.token.as_ref().map(|t| t.id.clone());
    let token_name = p.token.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    match &p.identity {
        Identity::User(u) => UpdateActor {
            user_id: Some(u.id.clone()),
            token_id,
            login: u.login.clone(),
            name: if u.name.is_empty() {
                u.login.clone()
            } else {
                u.name.clone()
            },
        },
        Identity::OrgToken { org_name, .. } => UpdateActor {
            user_id: None,
            token_id,
            login: crate::principal::machine_login("org", org_name),
            name: format!("organization token '{token_name}'"),
        },
        Identity::TeamToken { team_name, .. } => UpdateActor {
            user_id: None,
            token_id,
            login: crate::principal::machine_login("team", team_name),
            name: format!("team token '{token_name}' of team {team_name}"),
        },
    }
}

/// `"update"`, `"preview"`, ... with the stack, for audit descriptions.
fn describe(update: &StackUpdate, stack: &str) -> String {
    if update.kind.writes_state() {
        format!(
            "{} {} of stack '{stack}' (version {})",
            update.kind.as_str(),
            update.id,
            update.version
        )
    } else {
        format!("{} {} of stack '{stack}'", update.kind.as_str(), update.id)
    }
}

/// `{"create":2,"same":1}` → "2 create, 1 same".
fn describe_changes(changes: Option<&str>) -> String {
    let Some(parsed) = changes
        .and_then(|c| serde_json::from_str::<std::collections::BTreeMap<String, i64>>(c).ok())
    else {
        return String::new();
    };
    let parts: Vec<String> = parsed
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(op, n)| format!("{n} {op}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

impl Op<'_> {
    /// The update `id` of `stack`, 404 when there is none.
    pub(super) async fn load_update(
        &mut self,
        stack: &Stack,
        id: &UpdateId,
    ) -> CoreResult<StackUpdate> {
        self.stack_update(&stack.id, id)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("update '{id}' not found")))
    }

    /// The stack's running update whose lease is live. An update whose lease lapsed was
    /// abandoned (the CLI was killed): it is ended here as cancelled, which frees the stack.
    pub(super) async fn live_active_update(
        &mut self,
        org: &Org,
        stack: &Stack,
    ) -> CoreResult<Option<StackUpdate>> {
        let Some(mut active) = self.active_update(&stack.id).await? else {
            return Ok(None);
        };
        let now = self.now();
        if active.lease_expires > now {
            return Ok(Some(active));
        }
        active.status = UpdateStatus::Cancelled;
        active.ended = now;
        self.save_update(&active).await?;
        let name = format!("{}/{}/{}", org.name, stack.project, stack.name);
        let desc = format!(
            "{} was abandoned: its lease lapsed without a renewal, so it was cancelled",
            describe(&active, &name)
        );
        self.record(&org.id, EventType::StackUpdateCanceled, desc)
            .await?;
        Ok(None)
    }

    /// 409 when an update holds the stack (delete, rename, transfer, import, start).
    pub(super) async fn refuse_if_updating(&mut self, org: &Org, stack: &Stack) -> CoreResult<()> {
        match self.live_active_update(org, stack).await? {
            None => Ok(()),
            Some(u) => Err(CoreError::conflict(format!(
                "Conflict: Another update is currently in progress (update {}).",
                u.id
            ))),
        }
    }
}

impl Service {
    /// `POST S/{update,preview,refresh,destroy}`: records the update, not started. A dry
    /// run (the preview pass of `pulumi up`, `refresh --preview-only`) is kept as a
    /// preview: it never writes state or holds the stack, but asked through a writing
    /// endpoint it still needs write.
    pub async fn create_update(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        kind: UpdateKind,
        request: &serde_json::Value,
    ) -> CoreResult<UpdateId> {
        if !request.is_object() {
            return Err(CoreError::bad_request(
                "invalid request body: expected a JSON object",
            ));
        }
        let dry_run = request
            .pointer("/options/dryRun")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let action = action_for(kind);
        let kind = if dry_run { UpdateKind::Preview } else { kind };
        if let Some(config) = request.get("config") {
            if !config.is_object() && !config.is_null() {
                return Err(CoreError::bad_request("config must be an object"));
            }
        }
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (_, stack, _) = op
            .stack_guard(org_name, project, stack_name, action)
            .await?;
        let update = StackUpdate {
            id: new_id(),
            stack_id: stack.id.clone(),
            kind,
            status: UpdateStatus::NotStarted,
            version: 0,
            created: op.now(),
            started: 0,
            ended: 0,
            actor: update_actor(ctx),
            request: request.to_string(),
            lease_hash: None,
            lease_expires: 0,
            resource_changes: None,
        };
        op.insert_update(&update).await?;
        op.commit().await?;
        Ok(update.id)
    }

    /// `POST U`: starts the update and hands out its lease. An update that writes state
    /// takes the stack (409 while another holds it) and its next version; the tags the
    /// CLI sends are applied to the stack.
    pub async fn start_update(
        &self,
        ctx: &Ctx,
        target: &UpdateRef,
        tags: Tags,
    ) -> CoreResult<StartedUpdate> {
        super::stacks::validate_tags(&tags)?;
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                Action::ReadStack,
            )
            .await?;
        let mut update = op.load_update(&stack, &target.update_id).await?;
        let (org, stack, _) = op
            .stack_guard(
                &org.name,
                &stack.project,
                &stack.name,
                action_for(update.kind),
            )
            .await?;
        if update.status != UpdateStatus::NotStarted {
            return Err(CoreError::conflict(format!(
                "update '{}' was already started (status {})",
                update.id,
                update.status.as_str()
            )));
        }
        let now = op.now();
        if update.kind.writes_state() {
            op.refuse_if_updating(&org, &stack).await?;
            update.version = stack.version + 1;
            op.set_stack_state(
                &stack.id,
                update.version,
                now,
                stack.resource_count.unwrap_or(0),
            )
            .await?;
            let mut merged = stack.tags.clone();
            merged.extend(tags);
            if merged != stack.tags {
                super::stacks::validate_tags(&merged)?;
                op.set_stack_tags(&stack.id, &merged).await?;
                let desc = super::stacks::tags_changed(&target.stack_name(), &merged);
                op.record(&org.id, EventType::StackTagsChanged, desc)
                    .await?;
            }
        } else {
            update.version = stack.version;
        }
        let lease = new_lease();
        update.status = UpdateStatus::Running;
        update.started = now;
        update.lease_hash = Some(lease_hash(&lease));
        update.lease_expires = now + LEASE_SECONDS;
        op.save_update(&update).await.map_err(|e| {
            CoreError::from_store(e, || {
                "Conflict: Another update is currently in progress.".to_string()
            })
        })?;
        let desc = format!("{} started", describe(&update, &target.stack_name()));
        op.record(&org.id, EventType::StackUpdateStarted, desc)
            .await?;
        op.commit().await?;
        Ok(StartedUpdate {
            version: update.version,
            lease,
            lease_expires: update.lease_expires,
        })
    }

    /// `GET U`: the update, for its status.
    pub async fn get_update(&self, ctx: &Ctx, target: &UpdateRef) -> CoreResult<StackUpdate> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                Action::ReadStackState,
            )
            .await?;
        op.load_update(&stack, &target.update_id).await
    }

    /// `GET U/events`: engine events after sequence `after`, one page, and the update.
    pub async fn update_engine_events(
        &self,
        ctx: &Ctx,
        target: &UpdateRef,
        after: i64,
    ) -> CoreResult<(StackUpdate, Vec<UpdateEvent>)> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                Action::ReadStackState,
            )
            .await?;
        let update = op.load_update(&stack, &target.update_id).await?;
        let events = op.update_events(&update.id, after, EVENTS_PAGE).await?;
        Ok((update, events))
    }

    /// `POST U/cancel`: ends a running update as cancelled; its lease stops working at
    /// once and the stack is free. The last checkpoint stays the stack's state.
    pub async fn cancel_update(&self, ctx: &Ctx, target: &UpdateRef) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                Action::UpdateStack,
            )
            .await?;
        let mut update = op.load_update(&stack, &target.update_id).await?;
        if update.status.is_final() {
            return Err(CoreError::conflict(format!(
                "update '{}' is not in progress (status {})",
                update.id,
                update.status.as_str()
            )));
        }
        update.status = UpdateStatus::Cancelled;
        update.ended = op.now();
        op.save_update(&update).await?;
        let desc = format!("{} canceled", describe(&update, &target.stack_name()));
        op.record(&org.id, EventType::StackUpdateCanceled, desc)
            .await?;
        op.commit().await
    }

    /// Checks a lease call and rebuilds the principal of the token that started the
    /// update. A lease that is not the live lease of that update is 401 and changes
    /// nothing. A valid lease whose starting token was revoked, expired or lost its owner
    /// ends the update as failed, then answers 401.
    pub(super) async fn lease_ctx(&self, call: &LeaseCall) -> CoreResult<Ctx> {
        let target = &call.update;
        let mut tx = self.store.read().await?;
        let unknown = || CoreError::Unauthenticated("invalid or expired update lease".into());
        let org = tx.org_by_name(&target.org).await?.ok_or_else(unknown)?;
        let stack = tx
            .stack(&org.id, &target.project, &target.stack)
            .await?
            .ok_or_else(unknown)?;
        let update = tx
            .stack_update(&stack.id, &target.update_id)
            .await?
            .ok_or_else(unknown)?;
        let live = update.lease_hash.as_deref() == Some(lease_hash(&call.lease).as_str());
        if !live {
            return Err(unknown());
        }
        // The lease of an update that has ended (completed, cancelled, failed) is known but
        // dead: every call with it is refused.
        if update.status.is_final() {
            return Err(CoreError::conflict(format!(
                "update '{}' has ended (status {})",
                update.id,
                update.status.as_str()
            )));
        }
        let now = self.now();
        if update.lease_expires <= now {
            return Err(CoreError::Unauthenticated(
                "the update's lease expired".into(),
            ));
        }
        let token = match &update.actor.token_id {
            Some(id) => tx.token_by_id(id).await?,
            None => None,
        };
        let identity = match &token {
            Some(t) => auth::token_identity(&mut *tx, t).await?,
            None => None,
        };
        drop(tx);
        let (Some(token), Some((identity, _))) = (token, identity) else {
            let reason = "the access token that started it no longer exists";
            self.fail_update(
                &Ctx::operator(&call.source_ip),
                &org,
                &stack,
                &update,
                reason,
            )
            .await?;
            return Err(CoreError::Unauthenticated(format!(
                "the update has failed: {reason}"
            )));
        };
        let ctx = Ctx::new(
            Arc::new(Principal::of_token(identity, &token)),
            call.source_ip.clone(),
        );
        let revoked = token.deleted_at.is_some();
        let expired = token.expires != 0 && token.expires <= now;
        if revoked || expired || (token.kind == TokenKind::Personal && token.user_id.is_none()) {
            let reason = if revoked {
                "the access token that started it was revoked"
            } else {
                "the access token that started it expired"
            };
            self.fail_update(&ctx, &org, &stack, &update, reason)
                .await?;
            return Err(CoreError::Unauthenticated(format!(
                "the update has failed: {reason}"
            )));
        }
        Ok(ctx)
    }

    /// Ends a running update as failed, in a transaction of its own.
    async fn fail_update(
        &self,
        ctx: &Ctx,
        org: &Org,
        stack: &Stack,
        update: &StackUpdate,
        reason: &str,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let Some(mut current) = op.stack_update(&stack.id, &update.id).await? else {
            return Ok(());
        };
        if current.status.is_final() {
            return Ok(());
        }
        current.status = UpdateStatus::Failed;
        current.ended = op.now();
        op.save_update(&current).await?;
        let name = format!("{}/{}/{}", org.name, stack.project, stack.name);
        let desc = format!("{} failed: {reason}", describe(&current, &name));
        op.record(&org.id, EventType::StackUpdateCompleted, desc)
            .await?;
        op.commit().await
    }

    /// Opens the write operation of a lease call: the lease's principal must still hold
    /// the update's permission on the stack (else the update fails), and the update must
    /// still be running under this lease.
    pub(super) async fn lease_op<'s>(
        &'s self,
        ctx: &'s Ctx,
        call: &LeaseCall,
    ) -> CoreResult<(Op<'s>, Org, Stack, StackUpdate)> {
        let target = &call.update;
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                Action::ReadStack,
            )
            .await?;
        let update = op.load_update(&stack, &target.update_id).await?;
        let granted = op
            .stack_guard(
                &target.org,
                &target.project,
                &target.stack,
                action_for(update.kind),
            )
            .await;
        if let Err(e) = granted {
            drop(op);
            let reason = "the access token that started it lost its permission on the stack";
            self.fail_update(ctx, &org, &stack, &update, reason).await?;
            return Err(e);
        }
        if update.status != UpdateStatus::Running
            || update.lease_hash.as_deref() != Some(lease_hash(&call.lease).as_str())
        {
            return Err(CoreError::conflict(format!(
                "update '{}' is not in progress (status {})",
                update.id,
                update.status.as_str()
            )));
        }
        Ok((op, org, stack, update))
    }

    /// `POST U/renew_lease`: extends the lease to `duration` seconds from now (at most
    /// [`MAX_LEASE_SECONDS`]); the lease value itself stays the same.
    pub async fn renew_lease(&self, call: &LeaseCall, duration: i64) -> CoreResult<Timestamp> {
        if duration <= 0 {
            return Err(CoreError::bad_request("duration must be positive"));
        }
        let ctx = self.lease_ctx(call).await?;
        let (mut op, _, _, mut update) = self.lease_op(&ctx, call).await?;
        update.lease_expires = op.now() + duration.min(MAX_LEASE_SECONDS);
        op.save_update(&update).await?;
        op.commit().await?;
        Ok(update.lease_expires)
    }

    /// `PATCH U/checkpoint` (and `checkpointverbatim`): saves the deployment as the
    /// update's version of the stack. Idempotent: a retry saves the same bytes again.
    pub async fn save_checkpoint(&self, call: &LeaseCall, body: &[u8]) -> CoreResult<()> {
        // The lease first: a caller without one learns nothing from the body's verdict.
        let ctx = self.lease_ctx(call).await?;
        let state = state_body::deployment_state(body)?;
        let (mut op, _, stack, update) = self.lease_op(&ctx, call).await?;
        if !update.kind.writes_state() {
            return Err(CoreError::bad_request("a preview saves no checkpoint"));
        }
        op.store_version(&stack.id, update.version, Some(&update.id), state)
            .await?;
        op.commit().await
    }

    /// `POST U/events/batch`: stores engine events (a retried batch is not duplicated)
    /// and keeps the engine's summary of resource changes on the update.
    pub async fn append_engine_events(&self, call: &LeaseCall, body: &[u8]) -> CoreResult<()> {
        let ctx = self.lease_ctx(call).await?;
        let events = state_body::engine_events(body)?;
        let (mut op, _, _, mut update) = self.lease_op(&ctx, call).await?;
        let mut stored = Vec::with_capacity(events.len());
        for e in events {
            if e.resource_changes.is_some() {
                update.resource_changes = e.resource_changes;
            }
            stored.push(UpdateEvent {
                sequence: e.sequence,
                body: e.body,
            });
        }
        op.append_update_events(&update.id, &stored).await?;
        op.save_update(&update).await?;
        op.commit().await
    }

    /// `POST U/complete`: ends the update with the CLI's result and frees the stack.
    /// A repeated completion with the same result is accepted (the CLI retries).
    pub async fn complete_update(&self, call: &LeaseCall, status: UpdateStatus) -> CoreResult<()> {
        if !status.is_final() {
            return Err(CoreError::bad_request(
                "status must be succeeded, failed or cancelled",
            ));
        }
        {
            // A retry of a completion that already landed: same result, nothing to do.
            let mut tx = self.store.read().await?;
            if let Some(org) = tx.org_by_name(&call.update.org).await? {
                if let Some(stack) = tx
                    .stack(&org.id, &call.update.project, &call.update.stack)
                    .await?
                {
                    if let Some(u) = tx.stack_update(&stack.id, &call.update.update_id).await? {
                        let same_lease =
                            u.lease_hash.as_deref() == Some(lease_hash(&call.lease).as_str());
                        if same_lease && u.status == status {
                            return Ok(());
                        }
                    }
                }
            }
        }
        let ctx = self.lease_ctx(call).await?;
        let (mut op, org, stack, mut update) = self.lease_op(&ctx, call).await?;
        update.status = status;
        update.ended = op.now();
        op.save_update(&update).await?;
        if update.kind.writes_state() {
            if let Some(keep) = self.state_settings.keep_versions {
                op.prune_checkpoints(&stack.id, keep).await?;
            }
        }
        let desc = format!(
            "{} {}{}",
            describe(&update, &call.update.stack_name()),
            status.as_str(),
            describe_changes(update.resource_changes.as_deref())
        );
        op.record(&org.id, EventType::StackUpdateCompleted, desc)
            .await?;
        op.commit().await
    }
}

impl Op<'_> {
    /// Saves `state` as `version` of the stack and records it as the stack's newest.
    /// Takes the state by value: a deployment can be hundreds of megabytes, and it is
    /// moved into the stored record, not copied.
    pub(super) async fn store_version(
        &mut self,
        stack_id: &StackId,
        version: i64,
        update_id: Option<&UpdateId>,
        state: DeploymentState,
    ) -> CoreResult<()> {
        let now = self.now();
        let resource_count = state.resource_count;
        let checkpoint = Checkpoint {
            stack_id: stack_id.clone(),
            version,
            update_id: update_id.cloned(),
            schema_version: state.schema_version,
            features: state.features,
            deployment: state.deployment,
            resource_count,
            saved: now,
        };
        self.save_checkpoint(&checkpoint).await?;
        self.set_stack_state(stack_id, version, now, resource_count)
            .await?;
        Ok(())
    }
}
