//! [`Op`]: the frame every service operation runs in.
//!
//! An operation starts with [`Service::write`] or [`Service::read`], loads the target and
//! the facts the decision needs, asks [`Op::authorize`], changes state, appends its audit
//! event with [`Op::record`] and ends with [`Op::commit`]. A service method states only
//! what is its own (its facts, action, change and event); the frame owns what every
//! operation shares:
//!
//! - **the transaction**: an `Op` dereferences to the store transaction, and dropping it
//!   without `commit` rolls the transaction back, so a change and its audit event land
//!   together or not at all;
//! - **the cache effect of the commit**, declared when a write starts ([`Cache`]);
//! - **refusals**: a 403 that must be recorded rolls the operation's transaction back and
//!   appends its auth-failure event in a transaction of its own *before* the error is
//!   returned ([`Op::refuse`]); if that event cannot be written the client gets a 500,
//!   never a silent gap in the log;
//! - **policy that is not a table lookup** and so lives beside `authz::check` rather than
//!   in it: the org's maximum token lifetime ([`Op::authorize`]), "a creator who is in the
//!   team needs no `ManageTeamStacks`" ([`Op::authorize_team_grant`]) and the all-or-nothing
//!   refusal that names no hidden stack ([`Op::authorize_transfer_of_all`]).

use std::ops::{Deref, DerefMut};

use stackgate_store::{Org, OrgId, TeamId, TeamRole, Timestamp, Tx};

use super::{lock_chains, Service};
use crate::authz::{self, Action, Actor, Denied, Facts, Failure, OrgPolicy};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult, DenialRecord};
use crate::principal::{Ctx, Identity};
use crate::validate;

/// What committing a write does to the token-verification cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cache {
    /// The change cannot alter what the cache holds — a token row, its owner, a user's
    /// org memberships and roles, a team token's team: creating tokens, stacks, tags,
    /// grants, settings; audit-only writes. Every cache (here and on other replicas) stays
    /// valid, so a busy writer does not turn every read into a cache miss.
    Keep,
    /// The change may alter cached facts (deleting a token or a team, adding or removing
    /// a member, changing a role, renaming a team): other replicas are told through the
    /// store (`announce_change`) and this process's cache is emptied after the commit.
    /// When in doubt, this one.
    Invalidate,
}

/// Why the transaction of an `Op` is gone: a refusal ends the operation.
const REFUSED: &str = "an operation is not used after it was refused";

/// One operation in progress: the request's context and its transaction.
pub(crate) struct Op<'s> {
    service: &'s Service,
    ctx: &'s Ctx,
    /// `None` only after [`Op::refuse`] rolled it back, which ends the operation.
    tx: Option<Box<dyn Tx>>,
    cache: Cache,
}

impl Service {
    /// Starts an operation that may write (the backend's write transaction).
    pub(crate) async fn write<'s>(&'s self, ctx: &'s Ctx, cache: Cache) -> CoreResult<Op<'s>> {
        let waited = std::time::Instant::now();
        let tx = self.store.begin().await?;
        metrics::histogram!("stackgate_db_transaction_wait_seconds", "kind" => "write")
            .record(waited.elapsed().as_secs_f64());
        Ok(Op {
            service: self,
            ctx,
            tx: Some(tx),
            cache,
        })
    }

    /// Starts a read-only operation on a snapshot.
    pub(crate) async fn read<'s>(&'s self, ctx: &'s Ctx) -> CoreResult<Op<'s>> {
        let waited = std::time::Instant::now();
        let tx = self.store.read().await?;
        metrics::histogram!("stackgate_db_transaction_wait_seconds", "kind" => "read")
            .record(waited.elapsed().as_secs_f64());
        Ok(Op {
            service: self,
            ctx,
            tx: Some(tx),
            cache: Cache::Keep,
        })
    }
}

impl Deref for Op<'_> {
    type Target = dyn Tx;

    fn deref(&self) -> &Self::Target {
        self.tx.as_deref().expect(REFUSED)
    }
}

impl DerefMut for Op<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.tx.as_deref_mut().expect(REFUSED)
    }
}

impl<'s> Op<'s> {
    pub(crate) fn ctx(&self) -> &'s Ctx {
        self.ctx
    }

    /// The transaction, for helpers written against `&mut dyn Tx`.
    pub(crate) fn tx(&mut self) -> &mut dyn Tx {
        &mut **self
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.service.now()
    }

    /// Commits, with the cache effect declared when the operation started.
    pub(crate) async fn commit(mut self) -> CoreResult<()> {
        let Some(mut tx) = self.tx.take() else {
            return Err(CoreError::Internal(REFUSED.to_string()));
        };
        match self.cache {
            Cache::Keep => tx.commit().await?,
            Cache::Invalidate => {
                // Other replicas drop their token caches when this commits.
                tx.announce_change().await?;
                tx.commit().await?;
                self.service.cache.invalidate_all();
            }
        }
        Ok(())
    }

    /// Appends an audit event for the request's principal inside the operation.
    pub(crate) async fn record(
        &mut self,
        org_id: &OrgId,
        event: EventType,
        description: String,
    ) -> CoreResult<()> {
        let ctx = self.ctx;
        self.record_as(ctx, org_id, event, description).await
    }

    /// Appends an audit event that names another actor than the operation's (the
    /// operator's commands act for the user they concern).
    pub(crate) async fn record_as(
        &mut self,
        ctx: &Ctx,
        org_id: &OrgId,
        event: EventType,
        description: String,
    ) -> CoreResult<()> {
        let service = self.service;
        service
            .record(self.tx(), ctx, org_id, event, description)
            .await
    }

    /// Locks the audit chains of several orgs up front (see [`lock_chains`]).
    pub(crate) async fn lock_chains(&mut self, org_ids: &[&OrgId]) -> CoreResult<()> {
        lock_chains(self.tx(), org_ids).await
    }

    /// Ends the operation with `error`. A 403 that must be recorded first rolls the
    /// operation's transaction back (on SQLite it holds the one write connection), then
    /// appends the auth-failure event in a transaction of its own.
    pub(crate) async fn refuse<T>(&mut self, error: CoreError) -> CoreResult<T> {
        if let CoreError::Forbidden {
            record: Some(denial),
            ..
        } = &error
        {
            drop(self.tx.take());
            let mut tx = self.service.store.begin().await?;
            self.service
                .record(
                    &mut *tx,
                    self.ctx,
                    &denial.org_id,
                    denial.event,
                    denial.description.clone(),
                )
                .await?;
            tx.commit().await?;
        }
        Err(error)
    }

    /// Loads an org by name, answering 404 when it does not exist.
    pub(crate) async fn org(&mut self, name: &str) -> CoreResult<Org> {
        self.org_by_name(name)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("organization '{name}' not found")))
    }

    /// How the request's principal stands in `org`.
    pub(crate) async fn actor(&mut self, org: &Org) -> CoreResult<Actor> {
        let ctx = self.ctx;
        Ok(match &ctx.principal.identity {
            Identity::User(user) => Actor::User {
                role: self.membership(&org.id, &user.id).await?,
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
    pub(crate) async fn facts(&mut self, org: &Org) -> CoreResult<Facts> {
        let actor = self.actor(org).await?;
        Ok(Facts::new(actor, OrgPolicy::from(&org.settings)))
    }

    /// The opening of most operations: loads the org and the principal's facts in it and
    /// authorizes `action` on the part of the org it concerns.
    pub(crate) async fn guard(
        &mut self,
        org_name: &str,
        action: Action,
    ) -> CoreResult<(Org, Facts)> {
        let org = self.org(org_name).await?;
        let facts = self.facts(&org).await?;
        let target = format!("{}organization '{org_name}'", org_scope(action));
        self.authorize(&org, action, &facts, &target).await?;
        Ok((org, facts))
    }

    /// The principal's role in a team (users only).
    pub(crate) async fn my_team_role(&mut self, team_id: &TeamId) -> CoreResult<Option<TeamRole>> {
        match self.ctx.principal.user() {
            Some(user) => Ok(self.team_role(team_id, &user.id).await?),
            None => Ok(None),
        }
    }

    /// Runs the permission check on `target` (a phrase naming it for messages); a refusal
    /// ends the operation (a 404 for what the principal may not see, a recorded 403
    /// otherwise). The org's maximum token lifetime is enforced on the token used for the
    /// request here too, after the 404 checks so that a hidden target stays hidden.
    pub(crate) async fn authorize(
        &mut self,
        org: &Org,
        action: Action,
        facts: &Facts,
        target: &str,
    ) -> CoreResult<()> {
        match self.verdict(org, action, facts, target) {
            Ok(()) => Ok(()),
            Err(refusal) => self.refuse(refusal).await,
        }
    }

    /// [`Op::authorize`] of a transfer for every stack of a bulk transfer, all or nothing:
    /// a stack the principal may not even see refuses the whole request with a recorded
    /// 403 that names only `all` (the hidden stack's existence stays hidden).
    pub(crate) async fn authorize_transfer_of_all(
        &mut self,
        org: &Org,
        each: &[(Facts, String)],
        all: &str,
    ) -> CoreResult<()> {
        let action = Action::TransferStack;
        for (facts, target) in each {
            match self.verdict(org, action, facts, target) {
                Ok(()) => {}
                Err(CoreError::NotFound(_)) => {
                    let refusal = CoreError::Forbidden {
                        message: format!(
                            "forbidden: insufficient stack permission to transfer {all}"
                        ),
                        record: Some(DenialRecord {
                            org_id: org.id.clone(),
                            event: EventType::AuthFailureStackPermission,
                            description: format!(
                                "denied {} on {all}: a stack is not visible",
                                action.name()
                            ),
                        }),
                    };
                    return self.refuse(refusal).await;
                }
                Err(refusal) => return self.refuse(refusal).await,
            }
        }
        Ok(())
    }

    /// Granting a team access to a stack being created: free when the creator is in the
    /// team (they share what they made with their own team), otherwise a team-stack change
    /// that needs [`Action::ManageTeamStacks`].
    pub(crate) async fn authorize_team_grant(
        &mut self,
        org: &Org,
        facts: &Facts,
        team_id: &TeamId,
        team_name: &str,
    ) -> CoreResult<()> {
        if self.my_team_role(team_id).await?.is_some() {
            return Ok(());
        }
        let target = format!("team '{team_name}'");
        self.authorize(org, Action::ManageTeamStacks, facts, &target)
            .await
    }

    /// The 403 owed when the request's token outlives the org's maximum token lifetime.
    pub(crate) fn token_cap_denial(&self, org: &Org) -> Option<CoreError> {
        let cap = org.settings.max_access_token_expiry_days?;
        let token = self.ctx.principal.token.as_ref()?;
        if !validate::exceeds_cap(token.expires, self.now(), cap) {
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

    /// The decision of [`Op::authorize`] as an error, without recording it.
    fn verdict(&self, org: &Org, action: Action, facts: &Facts, target: &str) -> CoreResult<()> {
        let failure = match authz::check(action, facts) {
            Err(Denied::NotFound) => {
                return Err(CoreError::not_found(format!("{target} not found")))
            }
            Err(Denied::Forbidden(failure)) => Some(failure),
            Ok(()) => None,
        };
        if let Some(denial) = self.token_cap_denial(org) {
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

/// The part of an org an org-level action concerns, as messages name it
/// ("members of organization 'acme'").
fn org_scope(action: Action) -> &'static str {
    match action {
        Action::ManageMembers => "members of ",
        Action::ListOrgTokens | Action::ManageOrgTokens => "tokens of ",
        Action::ReadAuditLog => "audit log of ",
        Action::CreateTeam => "teams of ",
        Action::CreateStack => "stacks of ",
        Action::UpdateOrgSettings => "settings of ",
        _ => "",
    }
}
