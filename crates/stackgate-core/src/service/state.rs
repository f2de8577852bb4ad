//! A stack's state as the Pulumi CLI reads and replaces it: the stack with its active
//! update, export (of the newest or any kept version), import, and the update history.

use stackgate_store::{Stack, StackUpdate, UpdateId, UpdateKind, UpdateStatus};

use super::updates::{update_actor, UpdateRef};
use super::{new_id, Cache, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;
use crate::state_body::{self, DeploymentState};

/// Keeping and leasing of stack state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateSettings {
    /// How many versions' deployments each stack keeps (`None`: all). The update records
    /// stay either way; only `stack export --version` of a pruned version answers 404.
    pub keep_versions: Option<u32>,
}

/// `GET S`: the stack and the update that holds it, if any.
pub struct StackView {
    pub stack: Stack,
    pub active_update: Option<UpdateId>,
}

/// An exported deployment, the version it is, and its body in three parts (sent one
/// after the other, so that the stored deployment is not copied into one buffer):
/// `{"version":3,"deployment":` + the stored text + `}`.
pub struct Export {
    pub version: i64,
    pub head: Vec<u8>,
    pub deployment: Vec<u8>,
    pub tail: &'static [u8],
}

impl Export {
    fn of(
        version: i64,
        schema_version: i64,
        features: Option<&str>,
        deployment: Vec<u8>,
    ) -> Export {
        let (head, tail) = state_body::export_frame(schema_version, features);
        Export {
            version,
            head,
            deployment,
            tail,
        }
    }
}

/// One entry of `stack history`.
pub struct HistoryEntry {
    pub update: StackUpdate,
    pub resource_count: Option<i64>,
}

/// A deployment of an empty stack (never updated): what export answers instead of 404.
const EMPTY_DEPLOYMENT: &[u8] =
    br#"{"manifest":{"time":"0001-01-01T00:00:00Z","magic":"","version":""},"resources":[]}"#;

impl Service {
    /// How many updates are running in the whole installation (for metrics).
    pub async fn running_updates(&self) -> CoreResult<u64> {
        Ok(self.store.read().await?.running_updates().await?)
    }

    /// `GET S`, with the update in progress.
    pub async fn stack_view(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
    ) -> CoreResult<StackView> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ReadStack)
            .await?;
        let now = op.now();
        let active_update = op
            .active_update(&stack.id)
            .await?
            .filter(|u| u.lease_expires > now)
            .map(|u| u.id);
        Ok(StackView {
            stack,
            active_update,
        })
    }

    /// `GET S/export[/{version}]`. A stack never updated exports an empty deployment. An
    /// export is audited as `stack-exported`, except the one an update of the same token
    /// makes of its own stack (every `pulumi up` reads the state it starts from).
    pub async fn export_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        version: Option<i64>,
    ) -> CoreResult<Export> {
        if version.is_some_and(|v| v < 1) {
            return Err(CoreError::bad_request("version must be 1 or more"));
        }
        let mut op = self.read(ctx).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ReadStackState)
            .await?;
        let export = match op.checkpoint(&stack.id, version).await? {
            Some(c) => Export::of(
                c.version,
                c.schema_version,
                c.features.as_deref(),
                c.deployment,
            ),
            None => match version {
                Some(v) => {
                    return Err(CoreError::not_found(format!(
                        "version {v} of stack '{org_name}/{project}/{stack_name}' not found"
                    )))
                }
                None => Export::of(0, 3, None, EMPTY_DEPLOYMENT.to_vec()),
            },
        };
        let actor = update_actor(ctx);
        let own_update = op
            .list_updates(&stack.id, true, 0, 4)
            .await?
            .iter()
            .any(|u| u.status == UpdateStatus::Running && u.actor.token_id == actor.token_id);
        drop(op);
        if !own_update {
            let mut op = self.write(ctx, Cache::Keep).await?;
            let which = match version {
                Some(v) => format!("version {v}"),
                None => format!("the newest version ({})", export.version),
            };
            let desc = format!("{which} of stack '{org_name}/{project}/{stack_name}' exported");
            op.record(&org.id, EventType::StackExported, desc).await?;
            op.commit().await?;
        }
        Ok(export)
    }

    /// `POST S/import`: replaces the stack's state with a deployment, as a new version
    /// written by a completed update of kind `import`. 409 while an update holds the stack.
    pub async fn import_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        body: &[u8],
    ) -> CoreResult<UpdateId> {
        let state: DeploymentState = state_body::deployment_state(body)?;
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::UpdateStack)
            .await?;
        op.refuse_if_updating(&org, &stack).await?;
        let now = op.now();
        let update = StackUpdate {
            id: new_id(),
            stack_id: stack.id.clone(),
            kind: UpdateKind::Import,
            status: UpdateStatus::Succeeded,
            version: stack.version + 1,
            created: now,
            started: now,
            ended: now,
            actor: update_actor(ctx),
            request: "{}".to_string(),
            lease_hash: None,
            lease_expires: 0,
            resource_changes: None,
        };
        op.insert_update(&update).await?;
        let resources = state.resource_count;
        op.store_version(&stack.id, update.version, Some(&update.id), state)
            .await?;
        if let Some(keep) = self.state_settings.keep_versions {
            op.prune_checkpoints(&stack.id, keep).await?;
        }
        let desc = format!(
            "a state of {resources} resources imported into stack '{org_name}/{project}/{stack_name}' as version {}",
            update.version
        );
        op.record(&org.id, EventType::StackImported, desc).await?;
        op.commit().await?;
        Ok(update.id)
    }

    /// `GET S/updates?page&pageSize`: the stack's updates (previews excluded), newest
    /// first; `page` counts from 1.
    pub async fn stack_history(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        page: u32,
        page_size: u32,
    ) -> CoreResult<Vec<HistoryEntry>> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ReadStackState)
            .await?;
        let offset = page.saturating_sub(1).saturating_mul(page_size);
        let updates = op.list_updates(&stack.id, false, offset, page_size).await?;
        let versions = updates
            .iter()
            .filter(|u| u.kind.writes_state())
            .map(|u| u.version);
        let counts: std::collections::HashMap<i64, i64> =
            match (versions.clone().min(), versions.max()) {
                (Some(from), Some(to)) => op
                    .resource_counts(&stack.id, from, to)
                    .await?
                    .into_iter()
                    .collect(),
                _ => Default::default(),
            };
        let mut out = Vec::with_capacity(updates.len());
        for update in updates {
            if update.status == UpdateStatus::NotStarted {
                continue;
            }
            let resource_count = if update.kind.writes_state() {
                counts.get(&update.version).copied()
            } else {
                None
            };
            out.push(HistoryEntry {
                update,
                resource_count,
            });
        }
        Ok(out)
    }

    /// `GET S/updates/latest` and `GET S/updates/{version}`: one update that wrote the
    /// stack's state; 404 when there is none.
    pub async fn stack_update_info(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        version: Option<i64>,
    ) -> CoreResult<HistoryEntry> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ReadStackState)
            .await?;
        let version = version.unwrap_or(stack.version);
        let update = op
            .update_by_version(&stack.id, version)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("no update of version {version}")))?;
        let resource_count = op
            .resource_counts(&stack.id, version, version)
            .await?
            .first()
            .map(|(_, n)| *n);
        Ok(HistoryEntry {
            update,
            resource_count,
        })
    }

    /// The stack path of an update call, checked like every other name.
    pub fn update_ref(org: &str, project: &str, stack: &str, update_id: &str) -> UpdateRef {
        UpdateRef {
            org: org.to_string(),
            project: project.to_string(),
            stack: stack.to_string(),
            update_id: UpdateId::from(update_id.to_string()),
        }
    }
}
