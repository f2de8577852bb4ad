//! The audit log: listing, export, chain verification and retention.

use std::sync::Arc;

use stackgate_store::{AuditEvent, AuditQuery, Org, Store};

use super::{lock_chains, record, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::chain::{BrokenLink, Verifier};
use crate::error::{CoreError, CoreResult};
use crate::principal::{now, Ctx};

/// Events read per store round-trip by export and verification.
pub const EXPORT_BATCH: u32 = 10_000;
const DAY: i64 = 86_400;

/// The outcome of walking an org's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub org: String,
    /// Events whose links were checked.
    pub checked: u64,
    pub head_seq: i64,
    pub pruned_seq: i64,
    /// `None`: the chain is intact.
    pub broken: Option<BrokenLink>,
}

/// An export in progress: pages of events, newest first, read on demand so memory stays
/// flat however long the log is.
pub struct AuditExport {
    store: Arc<dyn Store>,
    query: AuditQuery,
    done: bool,
}

impl AuditExport {
    /// The next page, or `None` at the end.
    pub async fn next_page(&mut self) -> CoreResult<Option<Vec<AuditEvent>>> {
        if self.done {
            return Ok(None);
        }
        let mut tx = self.store.read().await?;
        let events = tx.list_audit(&self.query).await?;
        drop(tx);
        if events.len() < self.query.limit as usize {
            self.done = true;
        }
        match events.last() {
            Some(last) => {
                self.query.before_seq = Some(last.link.seq);
                Ok(Some(events))
            }
            None => Ok(None),
        }
    }
}

pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass back as `continuationToken` for the next (older) page.
    pub continuation: Option<String>,
}

impl Service {
    /// Events of one org, newest first. `query.org_id` is filled in here.
    pub async fn list_audit(
        &self,
        ctx: &Ctx,
        org_name: &str,
        continuation: Option<&str>,
        mut query: AuditQuery,
    ) -> CoreResult<AuditPage> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ReadAuditLog,
                    &format!("audit log of organization '{org_name}'"),
                )
                .await?;
            query.org_id = org.id.clone();
            if let Some(c) = continuation {
                let id = c
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| CoreError::bad_request("invalid continuationToken"))?;
                query.before_seq = Some(id);
            }
            self.check_user_filter(&mut *tx, &org.id, &query).await?;
            let events = tx.list_audit(&query).await?;
            let continuation = (events.len() == query.limit as usize)
                .then(|| events.last().map(|e| e.link.seq.to_string()))
                .flatten();
            Ok(AuditPage {
                events,
                continuation,
            })
        }
        .await;
        self.finish(ctx, r).await
    }
}

impl Service {
    /// Starts an export of the events `query` selects (its `limit` is ignored), after
    /// recording `audit-log-exported`.
    pub async fn export_audit(
        &self,
        ctx: &Ctx,
        org_name: &str,
        mut query: AuditQuery,
        format: &str,
    ) -> CoreResult<AuditExport> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ReadAuditLog,
                    &format!("audit log of organization '{org_name}'"),
                )
                .await?;
            self.check_user_filter(&mut *tx, &org.id, &query).await?;
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::AuditLogExported,
                format!("audit log of '{org_name}' exported as {format}"),
            )
            .await?;
            self.commit_keeping_cache(tx).await?;
            query.org_id = org.id;
            query.limit = EXPORT_BATCH;
            Ok(AuditExport {
                store: self.store.clone(),
                query,
                done: false,
            })
        }
        .await;
        self.finish(ctx, r).await
    }

    /// Walks the org's chain over the API (org admins and admin tokens).
    pub async fn verify_audit(&self, ctx: &Ctx, org_name: &str) -> CoreResult<Verification> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ReadAuditLog,
                    &format!("audit log of organization '{org_name}'"),
                )
                .await?;
            drop(tx);
            self.verify_org_chain(&org).await
        }
        .await;
        self.finish(ctx, r).await
    }

    /// Operator: walks the chain of an org by name, without a principal.
    pub async fn verify_audit_as_operator(&self, org_name: &str) -> CoreResult<Verification> {
        let mut tx = self.store.read().await?;
        let org = self.org(&mut *tx, org_name).await?;
        drop(tx);
        self.verify_org_chain(&org).await
    }

    async fn verify_org_chain(&self, org: &Org) -> CoreResult<Verification> {
        // One snapshot, so that events appended meanwhile do not look like a broken head.
        let mut tx = self.store.read().await?;
        let head = tx.audit_head(&org.id).await?;
        let mut verifier = Verifier::new(head.pruned_seq, &head.pruned_hash);
        let mut after = head.pruned_seq;
        let mut broken = None;
        'walk: loop {
            let page = tx.audit_chain(&org.id, after, EXPORT_BATCH).await?;
            for e in &page {
                if e.link.seq > head.seq {
                    break 'walk;
                }
                if let Err(b) = verifier.check(e) {
                    broken = Some(b);
                    break 'walk;
                }
                after = e.link.seq;
            }
            if page.len() < EXPORT_BATCH as usize {
                break;
            }
        }
        if broken.is_none() {
            broken = verifier.finish(&head).err();
        }
        Ok(Verification {
            org: org.name.clone(),
            checked: verifier.checked,
            head_seq: head.seq,
            pruned_seq: head.pruned_seq,
            broken,
        })
    }

    /// Applies every org's retention setting: deletes events older than it, keeps the
    /// chain checkable, and records `audit-log-pruned`. Returns events removed per org.
    pub async fn prune_audit_logs(&self, source: &str) -> CoreResult<Vec<(String, u64)>> {
        let orgs = self.store.read().await?.list_orgs().await?;
        let mut pruned = Vec::new();
        for org in orgs {
            let Some(days) = org.settings.audit_log_retention_days else {
                continue;
            };
            let mut tx = self.store.begin().await?;
            // Lock the chain head before choosing what to prune: two replicas pruning at
            // once would otherwise both pick a point, and the later commit could move
            // the recorded pruned point backwards (verification would then report a gap).
            lock_chains(&mut *tx, &[&org.id]).await?;
            let cutoff = now() - i64::from(days) * DAY;
            let Some((seq, hash)) = tx.last_audit_seq_before(&org.id, cutoff).await? else {
                continue;
            };
            let removed = tx.prune_audit(&org.id, seq, &hash).await?;
            let operator = Ctx::new(Arc::new(crate::principal::Principal::operator()), source);
            let desc = format!("retention of {days} days removed {removed} events through #{seq}; last removed hash {hash}");
            record(
                &mut *tx,
                &operator,
                &org.id,
                EventType::AuditLogPruned,
                desc,
            )
            .await?;
            self.commit_keeping_cache(tx).await?;
            pruned.push((org.name, removed));
        }
        Ok(pruned)
    }

    /// `userFilter` must name a known user, or the org's or one of its teams' token
    /// identity: 404 otherwise.
    async fn check_user_filter(
        &self,
        tx: &mut dyn stackgate_store::Tx,
        org_id: &str,
        query: &AuditQuery,
    ) -> CoreResult<()> {
        if let Some(login) = &query.user_login {
            let known = tx.user_by_login(login).await?.is_some()
                || tx.org_by_name(login).await?.is_some()
                || tx.team_by_name(org_id, login).await?.is_some();
            if !known {
                return Err(CoreError::not_found(format!("user '{login}' not found")));
            }
        }
        Ok(())
    }

    /// Authorizes reading the audit log of an org (for endpoints that read no events,
    /// such as the event-type catalogue).
    pub async fn authorize_audit_read(&self, ctx: &Ctx, org_name: &str) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            self.org_guard(
                &mut *tx,
                ctx,
                org_name,
                Action::ReadAuditLog,
                &format!("audit log of organization '{org_name}'"),
            )
            .await
            .map(drop)
        }
        .await;
        self.finish(ctx, r).await
    }
}
