//! Stack moves: a rename within its organization, and transfers between organizations
//! (one stack, or every stack of an org, all or nothing). A stack keeps its id through
//! either, so what is keyed by it (tags, grants, its state and secrets key) moves with
//! it; the secrets provider named in its saved deployments follows the new name. Both sides of a transfer record it; the two orgs' audit chains are locked in the
//! global order first, so transfers in opposite directions queue, not deadlock.

use stackgate_store::{Org, Stack};

use super::{Cache, Op, Service};
use crate::authz::{self, Action, StackFacts};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;
use crate::state_body::{self, StackName};
use crate::validate;

impl Service {
    /// Renames a stack within its org (`new_project` `None` or empty keeps the project).
    /// Checks, in order: stack visible (404), stack admin (403), names valid (400), the
    /// new name free (409). Renaming to the same name changes and records nothing.
    pub async fn rename_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        new_project: Option<&str>,
        new_name: &str,
    ) -> CoreResult<Stack> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, mut stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::RenameStack)
            .await?;
        let new_project = new_project.filter(|p| !p.is_empty()).unwrap_or(project);
        validate::name("newProject", new_project)?;
        validate::name("newName", new_name)?;
        if new_project == stack.project && new_name == stack.name {
            return Ok(stack);
        }
        op.refuse_if_updating(&org, &stack).await?;
        op.rehome_secrets(
            &stack,
            (org_name, project, stack_name),
            (org_name, new_project, new_name),
        )
        .await?;
        op.rename_stack(&stack.id, new_project, new_name)
            .await
            .map_err(|e| {
                CoreError::from_store(e, || {
                    format!("stack '{org_name}/{new_project}/{new_name}' already exists")
                })
            })?;
        let desc = format!(
            "stack '{org_name}/{project}/{stack_name}' renamed to '{org_name}/{new_project}/{new_name}'"
        );
        op.record(&org.id, EventType::StackRenamed, desc).await?;
        op.commit().await?;
        stack.project = new_project.to_string();
        stack.name = new_name.to_string();
        Ok(stack)
    }

    /// Moves a stack to another org. Checks, in order: source visible (404), transfer
    /// allowed (403), destination open to the principal (404), name free there (409).
    pub async fn transfer_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        to_org: &str,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::TransferStack)
            .await?;
        let dest = op.transfer_destination(&org, to_org).await?;
        op.lock_chains(&[&org.id, &dest.id]).await?;
        op.move_one(&org, &dest, &stack).await?;
        op.commit().await
    }

    /// Moves every stack of `from_org` to `to_org`, all or nothing.
    pub async fn transfer_all_stacks(
        &self,
        ctx: &Ctx,
        org_name: &str,
        from_org: &str,
        to_org: &str,
    ) -> CoreResult<usize> {
        if from_org != org_name {
            return Err(CoreError::bad_request(
                "fromOrg must be the organization in the path",
            ));
        }
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, facts) = op.guard(org_name, Action::ReadOrg).await?;
        let stacks = op.org_stacks(&org.id).await?;
        // Every stack must be transferable by the caller; a stack it may not even see
        // refuses the whole request without being named (its existence stays hidden).
        // An empty org still asks the question, for a stack with no grants.
        let all = format!("every stack of '{org_name}'");
        let mut each = Vec::with_capacity(stacks.len().max(1));
        if stacks.is_empty() {
            each.push((facts.clone().with_stack(StackFacts::default()), all.clone()));
        }
        for stack in &stacks {
            let sf = op.stack_facts(&org, stack).await?;
            let facts = facts.clone().with_stack(sf);
            let target = if authz::check(Action::ReadStack, &facts).is_ok() {
                format!("stack '{org_name}/{}/{}'", stack.project, stack.name)
            } else {
                all.clone()
            };
            each.push((facts, target));
        }
        op.authorize_transfer_of_all(&org, &each, &all).await?;
        let dest = op.transfer_destination(&org, to_org).await?;
        op.lock_chains(&[&org.id, &dest.id]).await?;
        for stack in &stacks {
            op.move_one(&org, &dest, stack).await?;
        }
        op.commit().await?;
        Ok(stacks.len())
    }
}

impl Op<'_> {
    /// The org a stack moves to: hidden (404) unless the principal may receive stacks
    /// there from `source`.
    async fn transfer_destination(&mut self, source: &Org, to_org: &str) -> CoreResult<Org> {
        let hidden = || CoreError::not_found(format!("organization '{to_org}' not found"));
        let dest = self.org_by_name(to_org).await?.ok_or_else(hidden)?;
        if dest.id == source.id {
            return Err(CoreError::bad_request(
                "the stack is already in that organization",
            ));
        }
        let mut facts = self.facts(&dest).await?;
        facts.transfer_source_accepted = dest
            .settings
            .accept_stack_transfers_from
            .contains(&source.name);
        authz::check(Action::ReceiveStack, &facts).map_err(|_| hidden())?;
        Ok(dest)
    }

    /// Moves one stack and records the move in both orgs' logs.
    async fn move_one(&mut self, from: &Org, to: &Org, stack: &Stack) -> CoreResult<()> {
        let path = format!("{}/{}", stack.project, stack.name);
        self.refuse_if_updating(from, stack).await?;
        if self
            .stack(&to.id, &stack.project, &stack.name)
            .await?
            .is_some()
        {
            return Err(CoreError::conflict(format!(
                "stack '{}/{path}' already exists",
                to.name
            )));
        }
        self.move_stack(&stack.id, &to.id).await?;
        self.rehome_secrets(
            stack,
            (&from.name, &stack.project, &stack.name),
            (&to.name, &stack.project, &stack.name),
        )
        .await?;
        let desc = format!(
            "stack '{path}' transferred from '{}' to '{}'",
            from.name, to.name
        );
        let event = EventType::StackTransferredToOrganization;
        self.record(&from.id, event, desc.clone()).await?;
        self.record(&to.id, event, desc).await
    }
}

impl Op<'_> {
    /// Keeps a renamed or transferred stack's secrets usable by the CLI, which decrypts
    /// through the stack its deployment's "service" secrets provider names: every kept
    /// version that names the stack's old name is rewritten to name the new one. (The
    /// data key is bound to the stack's id, so the ciphertexts themselves stay valid.)
    async fn rehome_secrets(
        &mut self,
        stack: &Stack,
        old: StackName<'_>,
        new: StackName<'_>,
    ) -> CoreResult<()> {
        for version in (1..=stack.version).rev() {
            let Some(mut checkpoint) = self.checkpoint(&stack.id, Some(version)).await? else {
                continue;
            };
            if let Some(renamed) =
                state_body::rename_secrets_provider(&checkpoint.deployment, old, new)?
            {
                checkpoint.deployment = renamed;
                self.save_checkpoint(&checkpoint).await?;
            }
        }
        Ok(())
    }
}
