//! The audit log: listing, export, chain verification and retention.

use std::sync::Arc;

use stackgate_store::{AuditEvent, AuditQuery, Org, Store};

use super::{Cache, Op, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::chain::{BrokenLink, Verifier};
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;

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
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadAuditLog).await?;
        query.org_id = org.id.clone();
        if let Some(c) = continuation {
            let id = c
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| CoreError::bad_request("invalid continuationToken"))?;
            query.before_seq = Some(id);
        }
        op.check_query(&org, &query).await?;
        let events = op.list_audit(&query).await?;
        let continuation = (events.len() == query.limit as usize)
            .then(|| events.last().map(|e| e.link.seq.to_string()))
            .flatten();
        Ok(AuditPage {
            events,
            continuation,
        })
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
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, _) = op.guard(org_name, Action::ReadAuditLog).await?;
        op.check_query(&org, &query).await?;
        let desc = format!("audit log of '{org_name}' exported as {format}");
        op.record(&org.id, EventType::AuditLogExported, desc)
            .await?;
        op.commit().await?;
        query.org_id = org.id;
        query.limit = EXPORT_BATCH;
        Ok(AuditExport {
            store: self.store.clone(),
            query,
            done: false,
        })
    }

    /// Walks the org's chain over the API (org admins and admin tokens).
    pub async fn verify_audit(&self, ctx: &Ctx, org_name: &str) -> CoreResult<Verification> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadAuditLog).await?;
        drop(op);
        self.verify_org_chain(&org).await
    }

    /// Operator: walks the chain of an org by name, without a principal.
    pub async fn verify_audit_as_operator(&self, org_name: &str) -> CoreResult<Verification> {
        let operator = Ctx::operator("cli");
        let org = self.read(&operator).await?.org(org_name).await?;
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

    /// The names of every org of the installation (for operator commands).
    pub async fn org_names(&self) -> CoreResult<Vec<String>> {
        let orgs = self.store.read().await?.list_orgs().await?;
        Ok(orgs.into_iter().map(|o| o.name).collect())
    }

    /// Applies every org's retention setting: deletes events older than it, keeps the
    /// chain checkable, and records `audit-log-pruned`. Returns events removed per org.
    pub async fn prune_audit_logs(&self, source: &str) -> CoreResult<Vec<(String, u64)>> {
        let orgs = self.store.read().await?.list_orgs().await?;
        let operator = Ctx::operator(source);
        let mut pruned = Vec::new();
        for org in orgs {
            let Some(days) = org.settings.audit_log_retention_days else {
                continue;
            };
            let mut op = self.write(&operator, Cache::Keep).await?;
            // Lock the chain head before choosing what to prune: two replicas pruning at
            // once would otherwise both pick a point, and the later commit could move
            // the recorded pruned point backwards (verification would then report a gap).
            op.lock_chains(&[&org.id]).await?;
            let cutoff = op.now() - i64::from(days) * DAY;
            let Some((seq, hash)) = op.last_audit_seq_before(&org.id, cutoff).await? else {
                continue;
            };
            let removed = op.prune_audit(&org.id, seq, &hash).await?;
            let desc = format!("retention of {days} days removed {removed} events through #{seq}; last removed hash {hash}");
            op.record(&org.id, EventType::AuditLogPruned, desc).await?;
            op.commit().await?;
            pruned.push((org.name, removed));
        }
        Ok(pruned)
    }

    /// Authorizes reading the audit log of an org (for endpoints that read no events,
    /// such as the event-type catalogue).
    pub async fn authorize_audit_read(&self, ctx: &Ctx, org_name: &str) -> CoreResult<()> {
        let mut op = self.read(ctx).await?;
        op.guard(org_name, Action::ReadAuditLog).await.map(drop)
    }
}

impl Op<'_> {
    /// The filters of a listing or export: every `eventFilter` entry must be a known event
    /// type (400), and `userFilter` must name an actor of *this* org (404 otherwise): a
    /// member, anyone who appears in its log, or one of its machine identities
    /// (`org:<org>`, `team:<team>`). Whether a user or org exists elsewhere in the
    /// installation is never revealed.
    async fn check_query(&mut self, org: &Org, query: &AuditQuery) -> CoreResult<()> {
        if let Some(unknown) = query
            .events
            .iter()
            .find(|e| EventType::from_id(e).is_none())
        {
            return Err(CoreError::bad_request(format!(
                "unknown event type '{unknown}'"
            )));
        }
        if let Some(login) = &query.user_login {
            let known = match login.split_once(':') {
                Some(("org", name)) => name == org.name,
                Some(("team", name)) => self.team_by_name(&org.id, name).await?.is_some(),
                _ => match self.user_by_login(login).await? {
                    Some(user) => self.membership(&org.id, &user.id).await?.is_some(),
                    None => false,
                },
            };
            let in_log = known || {
                let probe = AuditQuery {
                    org_id: org.id.clone(),
                    before_seq: None,
                    start_time: None,
                    end_time: None,
                    events: Vec::new(),
                    user_login: Some(login.clone()),
                    token_id: None,
                    limit: 1,
                };
                !self.list_audit(&probe).await?.is_empty()
            };
            if !in_log {
                return Err(CoreError::not_found(format!(
                    "no actor '{login}' in this organization"
                )));
            }
        }
        Ok(())
    }
}
