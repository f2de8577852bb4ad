//! Services: the operations of stackgate, one module per area.
//!
//! Every operation follows the same shape: open a transaction, load the target and the
//! facts [`authz::check`] needs, decide, change state, append the audit event, commit —
//! so a change and its event land together or not at all. A refusal answered 403 is
//! recorded as an auth-failure event by [`Service::finish`], in its own transaction after
//! the operation's transaction has rolled back.

mod audit;
mod members;
mod orgs;
mod sessions;
mod stacks;
mod teams;
mod tokens;
mod users;

use std::sync::Arc;

use dashmap::DashMap;
use stackgate_store::{NewAuditEvent, Org, Store, TeamRole, TokenKind, Tx};

pub use audit::{AuditExport, AuditPage, Verification, EXPORT_BATCH};
pub use members::MemberPage;
pub use orgs::{OrgSettingsUpdate, OrgView};
pub use sessions::{check_password, ConsoleSession, SessionId, SessionPolicy, MIN_PASSWORD_LEN};
pub use stacks::{
    CreateStack, MemberStackPermissions, StackListQuery, StackPage, StackTeam, TagChange,
};
pub use teams::{MemberAction, TeamUpdate, TeamView};
pub use tokens::CreatedToken;

use crate::auth::{self, AuthCache, CachedAuth};
use crate::authz::{self, Action, Actor, Denied, Facts, Failure, OrgPolicy};
use crate::catalog::EventType;
use crate::chain;
use crate::error::{CoreError, CoreResult, DenialRecord};
use crate::principal::{now, Ctx, Identity, Principal, TokenRef};
use crate::token::TokenHash;
use crate::validate;

/// The entry point for all domain operations. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    cache: Arc<AuthCache>,
    /// When a failed use of each known token was last recorded.
    failed_auth_recorded: Arc<DashMap<String, i64>>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>) -> Service {
        Service {
            store,
            cache: Arc::new(AuthCache::default()),
            failed_auth_recorded: Arc::new(DashMap::new()),
        }
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
        let result = auth::authenticate(self.store.as_ref(), &self.cache, &value).await;
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
        let now = now();
        let last = self.failed_auth_recorded.get(&token.id).map(|t| *t);
        if last.is_some_and(|t| now - t < auth::LAST_USED_GRANULARITY) {
            return Ok(());
        }
        self.failed_auth_recorded.insert(token.id.clone(), now);
        let mut tx = self.store.begin().await?;
        let (identity, org_ids) = match token.kind {
            TokenKind::Personal => {
                let Some(user) = tx
                    .user_by_id(token.user_id.as_deref().unwrap_or_default())
                    .await?
                else {
                    return Ok(());
                };
                let orgs = tx
                    .user_memberships(&user.id)
                    .await?
                    .into_iter()
                    .map(|(o, _)| o.id)
                    .collect();
                (Identity::User(user), orgs)
            }
            TokenKind::Organization | TokenKind::Team => {
                let Some(org) = tx
                    .org_by_id(token.org_id.as_deref().unwrap_or_default())
                    .await?
                else {
                    return Ok(());
                };
                let identity = match (token.kind, token.team_id.as_deref()) {
                    (TokenKind::Team, Some(team_id)) => match tx.team_by_id(team_id).await? {
                        Some(team) => Identity::TeamToken {
                            org_id: org.id.clone(),
                            org_name: org.name.clone(),
                            team_id: team.id,
                            team_name: team.name,
                            team_display_name: team.display_name,
                        },
                        None => Identity::OrgToken {
                            org_id: org.id.clone(),
                            org_name: org.name.clone(),
                            admin: false,
                        },
                    },
                    _ => Identity::OrgToken {
                        org_id: org.id.clone(),
                        org_name: org.name.clone(),
                        admin: token.admin,
                    },
                };
                (identity, vec![org.id])
            }
        };
        let ctx = Ctx::new(
            Arc::new(Principal {
                identity,
                token: Some(TokenRef {
                    id: token.id.clone(),
                    name: token.name.clone(),
                    expires: token.expires,
                }),
            }),
            source_ip,
        );
        let ids: Vec<&str> = org_ids.iter().map(String::as_str).collect();
        lock_chains(&mut *tx, &ids).await?;
        for org_id in org_ids {
            let desc = format!(
                "authentication with {} token {} failed: {reason}",
                token.kind.as_str(),
                token.id
            );
            record(&mut *tx, &ctx, &org_id, EventType::UserLoginFailed, desc).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Commits a change that cannot alter what the token cache holds — a token row, its
    /// owner, a user's org memberships and roles, a team token's team: creating tokens,
    /// stacks, tags, grants, settings. Every cache (here and on other replicas) stays
    /// valid, so a busy writer does not turn every read into a cache miss. When in doubt,
    /// use [`Service::commit`].
    async fn commit_keeping_cache(&self, tx: Box<dyn Tx>) -> CoreResult<()> {
        tx.commit().await?;
        Ok(())
    }

    /// Commits a transaction and makes cached authentication facts stale.
    async fn commit(&self, mut tx: Box<dyn Tx>) -> CoreResult<()> {
        // Other replicas drop their token caches when this commits (PostgreSQL NOTIFY).
        tx.announce_change().await?;
        tx.commit().await?;
        self.cache.invalidate_all();
        Ok(())
    }

    /// Records the auth-failure event of a recorded 403, then passes the result on. If
    /// the event cannot be written the client gets a 500, not a silent gap in the log.
    async fn finish<T>(&self, ctx: &Ctx, result: CoreResult<T>) -> CoreResult<T> {
        if let Err(CoreError::Forbidden {
            record: Some(denial),
            ..
        }) = &result
        {
            let mut tx = self.store.begin().await?;
            record(
                &mut *tx,
                ctx,
                &denial.org_id,
                denial.event,
                denial.description.clone(),
            )
            .await?;
            tx.commit().await?;
        }
        result
    }

    /// Loads an org by name, answering 404 when it does not exist.
    async fn org(&self, tx: &mut dyn Tx, name: &str) -> CoreResult<Org> {
        tx.org_by_name(name)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("organization '{name}' not found")))
    }

    /// Loads an org and the principal's facts in it, and authorizes `action` on `target`
    /// (a phrase naming it for messages): the opening of most operations.
    async fn org_guard(
        &self,
        tx: &mut dyn Tx,
        ctx: &Ctx,
        org_name: &str,
        action: Action,
        target: &str,
    ) -> CoreResult<(Org, Facts)> {
        let org = self.org(tx, org_name).await?;
        let facts = self.facts(tx, ctx, &org).await?;
        self.authorize(ctx, &org, action, &facts, target)?;
        Ok((org, facts))
    }

    /// How the request's principal stands in `org`.
    async fn actor(&self, tx: &mut dyn Tx, ctx: &Ctx, org: &Org) -> CoreResult<Actor> {
        Ok(match &ctx.principal.identity {
            Identity::User(user) => Actor::User {
                role: tx.membership(&org.id, &user.id).await?,
            },
            Identity::OrgToken { org_id, admin, .. } => Actor::OrgToken {
                admin: *admin,
                own_org: *org_id == org.id,
            },
            Identity::TeamToken { org_id, .. } => Actor::TeamToken {
                own_org: *org_id == org.id,
            },
        })
    }

    /// Org-level facts without team or stack details.
    async fn facts(&self, tx: &mut dyn Tx, ctx: &Ctx, org: &Org) -> CoreResult<Facts> {
        let actor = self.actor(tx, ctx, org).await?;
        Ok(Facts::new(actor, OrgPolicy::from(&org.settings)))
    }

    /// The principal's role in a team (users only).
    async fn team_role(
        &self,
        tx: &mut dyn Tx,
        ctx: &Ctx,
        team_id: &str,
    ) -> CoreResult<Option<TeamRole>> {
        match ctx.principal.user() {
            Some(user) => Ok(tx.team_role(team_id, &user.id).await?),
            None => Ok(None),
        }
    }

    /// The 403 owed when the request's token outlives the org's maximum token lifetime.
    fn token_cap_denial(&self, ctx: &Ctx, org: &Org) -> Option<CoreError> {
        let cap = org.settings.max_access_token_expiry_days?;
        let token = ctx.principal.token.as_ref()?;
        if !validate::exceeds_cap(token.expires, now(), cap) {
            return None;
        }
        Some(CoreError::Forbidden {
            message: format!(
                "organization '{}' requires access tokens that expire within {cap} days; this token does not",
                org.name
            ),
            record: Some(DenialRecord {
                org_id: org.id.clone(),
                event: EventType::AuthFailureOrganizationRole,
                description: format!(
                    "token lifetime exceeds the {cap}-day maximum of organization '{}'",
                    org.name
                ),
            }),
        })
    }

    /// Runs the permission check and turns its verdict into the right error. Also
    /// enforces the org's maximum token lifetime on the token used for the request
    /// (after the 404 checks, so a hidden target stays hidden).
    fn authorize(
        &self,
        ctx: &Ctx,
        org: &Org,
        action: Action,
        facts: &Facts,
        target: &str,
    ) -> CoreResult<()> {
        let failure = match authz::check(action, facts) {
            Err(Denied::NotFound) => {
                return Err(CoreError::not_found(format!("{target} not found")))
            }
            Err(Denied::Forbidden(failure)) => Some(failure),
            Ok(()) => None,
        };
        if let Some(denial) = self.token_cap_denial(ctx, org) {
            return Err(denial);
        }
        let Some(failure) = failure else {
            return Ok(());
        };
        let (event, what) = match failure {
            Failure::OrgRole => (EventType::AuthFailureOrganizationRole, "organization role"),
            Failure::StackPermission => (EventType::AuthFailureStackPermission, "stack permission"),
        };
        Err(CoreError::Forbidden {
            message: format!(
                "forbidden: insufficient {what} for {} on {target}",
                action.name()
            ),
            record: Some(DenialRecord {
                org_id: org.id.clone(),
                event,
                description: format!("denied {} on {target}: insufficient {what}", action.name()),
            }),
        })
    }
}

/// Builds an audit event for the request's principal.
fn audit_event(ctx: &Ctx, org_id: &str, event: EventType, description: String) -> NewAuditEvent {
    let info = event.info();
    NewAuditEvent {
        org_id: org_id.to_string(),
        timestamp: now(),
        event: info.id.to_string(),
        description,
        actor: ctx.principal.audit_actor(),
        source_ip: ctx.source_ip.clone(),
        req_org_admin: info.requires_org_admin,
        req_stack_admin: info.requires_stack_admin,
        auth_failure: info.authentication_failure,
    }
}

/// Appends an audit event inside the operation's transaction.
async fn record(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    org_id: &str,
    event: EventType,
    description: String,
) -> CoreResult<()> {
    append(tx, &audit_event(ctx, org_id, event, description)).await
}

/// Locks the audit chains of several orgs up front, always in org-id order, so that two
/// transactions that write to the same orgs (a transfer each way, a personal token of a
/// user in both) queue instead of deadlocking.
async fn lock_chains(tx: &mut dyn Tx, org_ids: &[&str]) -> CoreResult<()> {
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
