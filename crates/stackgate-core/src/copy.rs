//! `stackgate copy`: moves a whole installation from one store to another (typically the
//! embedded SQLite file to PostgreSQL), then proves the copy complete.
//!
//! Stacks come with their state (updates and their events, every kept version's
//! deployment, the wrapped secrets key, which stays valid: it is bound to the stack's id).
//! Everything is read through the read-side [`Tx`] methods of one snapshot of the source
//! and written through the insert methods in *one* destination transaction, so a failed
//! copy leaves the destination empty. Audit events keep their chain links (`seq`,
//! `prev_hash`, `hash`) and each org's head keeps its pruned position, so every chain
//! verifies on the destination exactly as it did on the source. Password hashes are
//! copied; console sessions are not (users sign in again).
//!
//! The destination must be empty (no user, no org). Afterwards the per-table counts of
//! both sides are compared and every org's chain is verified on the destination.

use std::sync::Arc;

use stackgate_store::{OrgId, Store, Tx};

use crate::error::{CoreError, CoreResult};
use crate::service::Service;

/// Page size for members and audit events.
const PAGE: u32 = 1000;

/// How many rows of each kind an installation holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: u64,
    pub password_hashes: u64,
    pub orgs: u64,
    pub memberships: u64,
    pub teams: u64,
    pub team_members: u64,
    pub stacks: u64,
    pub team_grants: u64,
    pub tokens: u64,
    pub audit_events: u64,
    pub updates: u64,
    pub update_events: u64,
    pub checkpoints: u64,
    pub stack_keys: u64,
}

/// What `copy` did: the counts (equal on both sides) and the verified chains.
#[derive(Clone, Debug)]
pub struct CopyReport {
    pub counts: Counts,
    /// Per org: name and number of audit events verified on the destination.
    pub verified_chains: Vec<(String, u64)>,
}

/// Counts every kind of row the way [`copy`] reads them.
pub async fn count(store: &dyn Store) -> CoreResult<Counts> {
    let mut tx = store.read().await?;
    let mut c = Counts::default();
    for user in tx.list_users().await? {
        c.users += 1;
        if tx.password_hash(&user.id).await?.is_some() {
            c.password_hashes += 1;
        }
    }
    for org in tx.list_orgs().await? {
        c.orgs += 1;
        c.memberships += all_members(&mut *tx, &org.id).await?.len() as u64;
        for team in tx.list_teams(&org.id).await? {
            c.teams += 1;
            c.team_members += tx.team_members(&team.id).await?.len() as u64;
            c.team_grants += tx.team_stacks(&team.id).await?.len() as u64;
        }
        for stack in tx.org_stacks(&org.id).await? {
            c.stacks += 1;
            let state = stack_state(&mut *tx, &stack).await?;
            c.updates += state.updates.len() as u64;
            c.update_events += state
                .events
                .iter()
                .map(|(_, e)| e.len() as u64)
                .sum::<u64>();
            c.checkpoints += state.checkpoints.len() as u64;
            c.stack_keys += u64::from(state.key.is_some());
        }
        let head = tx.audit_head(&org.id).await?;
        c.audit_events += all_events(&mut *tx, &org.id, head.pruned_seq).await?.len() as u64;
    }
    c.tokens = tx.all_tokens().await?.len() as u64;
    Ok(c)
}

/// Copies `from` into the empty `to`, then verifies counts and audit chains.
pub async fn copy(from: Arc<dyn Store>, to: Arc<dyn Store>) -> CoreResult<CopyReport> {
    {
        let mut dst = to.read().await?;
        if dst.any_user().await? || !dst.list_orgs().await?.is_empty() {
            return Err(CoreError::Conflict(
                "the destination database is not empty".into(),
            ));
        }
    }
    let mut src = from.read().await?;
    let mut dst = to.begin().await?;

    let users = src.list_users().await?;
    for user in &users {
        dst.insert_user(user).await?;
        if let Some(hash) = src.password_hash(&user.id).await? {
            dst.set_password_hash(&user.id, Some(&hash)).await?;
        }
    }
    let orgs = src.list_orgs().await?;
    for org in &orgs {
        dst.insert_org(org).await?;
        for m in all_members(&mut *src, &org.id).await? {
            dst.insert_membership(&org.id, &m.user.id, m.role, m.created)
                .await?;
        }
        for team in src.list_teams(&org.id).await? {
            dst.insert_team(&team).await?;
            for (user, role) in src.team_members(&team.id).await? {
                dst.upsert_team_member(&team.id, &user.id, role).await?;
            }
        }
    }
    // Tokens before stacks: a stack may name the token that created it.
    for token in src.all_tokens().await? {
        dst.insert_token(&token).await?;
    }
    for org in &orgs {
        for stack in src.org_stacks(&org.id).await? {
            dst.insert_stack(&stack).await?;
            let state = stack_state(&mut *src, &stack).await?;
            for update in &state.updates {
                dst.insert_update(update).await?;
            }
            for (update_id, events) in &state.events {
                dst.append_update_events(update_id, events).await?;
            }
            for checkpoint in &state.checkpoints {
                dst.save_checkpoint(checkpoint).await?;
            }
            if let Some(key) = &state.key {
                dst.insert_stack_key(key).await?;
            }
        }
        for team in src.list_teams(&org.id).await? {
            for (stack, perm) in src.team_stacks(&team.id).await? {
                dst.set_team_stack(&team.id, &stack.id, perm).await?;
            }
        }
        let head = src.audit_head(&org.id).await?;
        let mut after = head.pruned_seq;
        loop {
            let page = src.audit_chain(&org.id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.link.seq;
            for e in &page {
                dst.insert_audit(&e.event, &e.link).await?;
            }
        }
        dst.set_audit_head(&org.id, &head).await?;
    }
    drop(src);
    dst.commit().await?;

    let counts = count(from.as_ref()).await?;
    let copied = count(to.as_ref()).await?;
    if counts != copied {
        return Err(CoreError::Internal(format!(
            "copy incomplete: source {counts:?}, destination {copied:?}"
        )));
    }
    let service = Service::new(to);
    let mut verified_chains = Vec::new();
    for org in &orgs {
        let v = service.verify_audit_as_operator(&org.name).await?;
        if let Some(b) = v.broken {
            return Err(CoreError::Internal(format!(
                "audit chain of '{}' does not verify on the destination at #{}: {}",
                org.name, b.seq, b.reason
            )));
        }
        verified_chains.push((org.name.clone(), v.checked));
    }
    Ok(CopyReport {
        counts,
        verified_chains,
    })
}

async fn all_members(tx: &mut dyn Tx, org_id: &OrgId) -> CoreResult<Vec<stackgate_store::Member>> {
    let mut out: Vec<stackgate_store::Member> = Vec::new();
    loop {
        let after = out.last().map(|m| m.user.login.clone());
        let page = tx.list_members(org_id, after.as_deref(), PAGE).await?;
        let done = page.len() < PAGE as usize;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

async fn all_events(
    tx: &mut dyn Tx,
    org_id: &OrgId,
    pruned_seq: i64,
) -> CoreResult<Vec<stackgate_store::AuditEvent>> {
    let mut out: Vec<stackgate_store::AuditEvent> = Vec::new();
    let mut after = pruned_seq;
    loop {
        let page = tx.audit_chain(org_id, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.link.seq;
        out.extend(page);
    }
}

/// Everything a stack's state holds, read through the store's read methods.
struct StackState {
    updates: Vec<stackgate_store::StackUpdate>,
    events: Vec<(stackgate_store::UpdateId, Vec<stackgate_store::UpdateEvent>)>,
    checkpoints: Vec<stackgate_store::Checkpoint>,
    key: Option<stackgate_store::StackKey>,
}

async fn stack_state(tx: &mut dyn Tx, stack: &stackgate_store::Stack) -> CoreResult<StackState> {
    let mut updates = Vec::new();
    loop {
        let offset = u32::try_from(updates.len()).unwrap_or(u32::MAX);
        let page = tx.list_updates(&stack.id, true, offset, PAGE).await?;
        let done = page.len() < PAGE as usize;
        updates.extend(page);
        if done {
            break;
        }
    }
    // Oldest first, so that the destination's rows are written in the order they were made.
    updates.reverse();
    let mut events = Vec::new();
    for update in &updates {
        let mut all: Vec<stackgate_store::UpdateEvent> = Vec::new();
        loop {
            let after = all.last().map_or(-1, |e| e.sequence);
            let page = tx.update_events(&update.id, after, PAGE).await?;
            let done = page.len() < PAGE as usize;
            all.extend(page);
            if done {
                break;
            }
        }
        if !all.is_empty() {
            events.push((update.id.clone(), all));
        }
    }
    let mut checkpoints = Vec::new();
    for version in 1..=stack.version {
        if let Some(c) = tx.checkpoint(&stack.id, Some(version)).await? {
            checkpoints.push(c);
        }
    }
    let key = tx.stack_key(&stack.id).await?;
    Ok(StackState {
        updates,
        events,
        checkpoints,
        key,
    })
}
