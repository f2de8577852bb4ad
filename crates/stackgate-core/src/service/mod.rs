//! Services: the operations of stackgate, one module per area.
//!
//! Every operation runs in the frame of `op::Op`: open a transaction, load the target
//! and the facts [`authz::check`](crate::authz::check) needs, decide, change state, append
//! the audit event, commit — so a change and its event land together or not at all, and a
//! refusal answered 403 is recorded as an auth-failure event in a transaction of its own.

mod audit;
mod delta;
mod members;
mod op;
mod orgs;
mod secrets;
mod sessions;
mod stacks;
mod state;
mod teams;
mod tokens;
mod transfer;
mod updates;
mod users;

use std::sync::Arc;

use dashmap::DashMap;
use stackgate_store::{NewAuditEvent, OrgId, Store, Timestamp, TokenId, Tx};

pub use audit::{AuditExport, AuditPage, Verification, EXPORT_BATCH};
pub use members::MemberPage;
pub use orgs::{OrgSettingsUpdate, OrgView};
pub use secrets::{SecretsKey, MAX_BATCH};
pub use sessions::{check_password, ConsoleSession, SessionId, SessionPolicy, MIN_PASSWORD_LEN};
pub use stacks::{
    CreateStack, MemberStackPermissions, StackListQuery, StackPage, StackTeam, TagChange,
};
pub use state::{Export, HistoryEntry, StackView, StateSettings};
pub use teams::{MemberAction, TeamUpdate, TeamView};
pub use tokens::CreatedToken;
pub use updates::{LeaseCall, StartedUpdate, UpdateRef, EVENTS_PAGE, LEASE_SECONDS};

pub(crate) use op::{Cache, Op};

use crate::auth::{self, AuthCache, CachedAuth};
use crate::catalog::EventType;
use crate::chain;
use crate::clock::{Clock, SystemClock};
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity, Principal};
use crate::token::TokenHash;

/// The entry point for all domain operations. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    cache: Arc<AuthCache>,
    /// When a failed use of each known token was last recorded.
    failed_auth_recorded: Arc<DashMap<TokenId, i64>>,
    clock: Arc<dyn Clock>,
    secrets: SecretsKey,
    state_settings: StateSettings,
}

impl Service {
    pub fn new(store: Arc<dyn Store>) -> Service {
        Service::with_clock(store, Arc::new(SystemClock))
    }

    /// A service that reads the time from `clock` (tests move a `ManualClock`).
    pub fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Service {
        Service {
            store,
            cache: Arc::new(AuthCache::default()),
            failed_auth_recorded: Arc::new(DashMap::new()),
            clock,
            secrets: SecretsKey::default(),
            state_settings: StateSettings::default(),
        }
    }

    /// The service with these state-keeping settings.
    pub fn with_state_settings(mut self, settings: StateSettings) -> Service {
        self.state_settings = settings;
        self
    }

    /// The current time, from the service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The token cache, for replicas that learn of changes made elsewhere.
    pub fn auth_cache(&self) -> &Arc<AuthCache> {
        &self.cache
    }

    /// Verifies the `Authorization` header of a request.
    ///
    /// A well-formed value of a revoked or expired token is recorded as
    /// `user-login-failed` in the org(s) it belonged to (at most once a minute per token,
    /// so that a client retrying in a loop cannot flood the log); an unknown value belongs
    /// to no org and is only logged, by hash prefix.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        source_ip: &str,
    ) -> CoreResult<Arc<CachedAuth>> {
        let value = auth::parse_authorization(header)?;
        let result = auth::authenticate(self.store.as_ref(), &self.cache, &value, self.now()).await;
        if let Err(CoreError::Unauthenticated(reason)) = &result {
            self.record_failed_authentication(&value.hash(), reason, source_ip)
                .await?;
        }
        result
    }

    async fn record_failed_authentication(
        &self,
        hash: &TokenHash,
        reason: &str,
        source_ip: &str,
    ) -> CoreResult<()> {
        // Anyone can forge a value that passes the offline check, so an unknown value must
        // stay cheap: a read snapshot, never the (single) write connection.
        let known = self.store.read().await?.token_by_hash(&hash.0).await?;
        let Some(token) = known else {
            tracing::debug!(
                token_hash_prefix = &hash.0[..8],
                source_ip,
                "unknown access token presented"
            );
            return Ok(());
        };
        let now = self.now();
        let last = self.failed_auth_recorded.get(&token.id).map(|t| *t);
        if last.is_some_and(|t| now - t < auth::LAST_USED_GRANULARITY) {
            return Ok(());
        }
        self.failed_auth_recorded.insert(token.id.clone(), now);
        let mut tx = self.store.begin().await?;
        let (identity, org_ids) = match auth::token_identity(&mut *tx, &token).await? {
            Some((Identity::User(user), memberships)) => {
                let orgs = memberships.into_iter().map(|(o, _)| o.id).collect();
                (Identity::User(user), orgs)
            }
            Some((identity @ (Identity::OrgToken { .. } | Identity::TeamToken { .. }), _)) => {
                let org_id = identity.machine_org_id().cloned().unwrap_or_default();
                (identity, vec![org_id])
            }
            // The owner is gone (a deleted team's token): the attempt is still the org's
            // business, recorded under the org's identity; without an org, only logged.
            None => {
                let Some(org_id) = &token.org_id else {
                    return Ok(());
                };
                let Some(org) = tx.org_by_id(org_id).await? else {
                    return Ok(());
                };
                let identity = Identity::OrgToken {
                    org_id: org.id.clone(),
                    org_name: org.name,
                    admin: false,
                };
                (identity, vec![org.id])
            }
        };
        let ctx = Ctx::new(Arc::new(Principal::of_token(identity, &token)), source_ip);
        let ids: Vec<&OrgId> = org_ids.iter().collect();
        lock_chains(&mut *tx, &ids).await?;
        for org_id in org_ids {
            let desc = format!(
                "authentication with {} token {} failed: {reason}",
                token.kind.as_str(),
                token.id
            );
            self.record(&mut *tx, &ctx, &org_id, EventType::UserLoginFailed, desc)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends an audit event for `ctx`'s principal inside `tx`, stamped by the clock.
    pub(crate) async fn record(
        &self,
        tx: &mut dyn Tx,
        ctx: &Ctx,
        org_id: &OrgId,
        event: EventType,
        description: String,
    ) -> CoreResult<()> {
        let id = event.id();
        let event = audit_event(ctx, self.now(), org_id, event, description);
        append(tx, &event).await?;
        metrics::counter!("stackgate_audit_events_total", "event" => id).increment(1);
        Ok(())
    }
}

/// Builds an audit event for the request's principal.
fn audit_event(
    ctx: &Ctx,
    now: Timestamp,
    org_id: &OrgId,
    event: EventType,
    description: String,
) -> NewAuditEvent {
    let info = event.info();
    NewAuditEvent {
        org_id: org_id.clone(),
        timestamp: now,
        event: info.id.to_string(),
        description,
        actor: ctx.principal.audit_actor(),
        source_ip: ctx.source_ip.clone(),
        req_org_admin: info.requires_org_admin,
        req_stack_admin: info.requires_stack_admin,
        auth_failure: info.authentication_failure,
    }
}

/// A fresh random id (UUID v4) of any id type.
fn new_id<T: From<String>>() -> T {
    uuid::Uuid::new_v4().to_string().into()
}

/// Locks the audit chains of several orgs up front, always in org-id order, so that two
/// transactions that write to the same orgs (a transfer each way, a personal token of a
/// user in both) queue instead of deadlocking.
async fn lock_chains(tx: &mut dyn Tx, org_ids: &[&OrgId]) -> CoreResult<()> {
    let mut ids = org_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        tx.audit_head(id).await?;
    }
    Ok(())
}

/// Appends an event at the head of its org's hash chain.
async fn append(tx: &mut dyn Tx, event: &NewAuditEvent) -> CoreResult<()> {
    let head = tx.audit_head(&event.org_id).await?;
    let link = chain::next_link(&head, event);
    tx.insert_audit(event, &link).await?;
    Ok(())
}
