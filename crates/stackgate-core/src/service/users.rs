//! Users: personal tokens, and the operator's user/org bootstrap.

use std::sync::Arc;

use stackgate_store::{
    Org, OrgId, OrgRole, OrgSettings, Token, TokenKind, TokenOwner, Tx, User, UserId,
};

use super::tokens::{mint, CreatedToken, NewToken};
use super::{lock_chains, new_id, Cache, Op, Service};
use crate::authz::{self, Action, Actor, Facts, OrgPolicy};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity};
use crate::validate;

impl Service {
    fn require_user<'c>(&self, ctx: &'c Ctx) -> CoreResult<&'c User> {
        // authz decides; the user record comes with the same answer (only a user
        // principal is allowed), so there is one refusal.
        let allowed = authz::check(
            Action::ManagePersonalTokens,
            &Facts::new(actor_kind(ctx), OrgPolicy::default()),
        );
        match (allowed, ctx.principal.user()) {
            (Ok(()), Some(user)) => Ok(user),
            _ => Err(CoreError::forbidden(
                "personal access tokens can only be managed by a user",
            )),
        }
    }

    pub async fn list_personal_tokens(&self, ctx: &Ctx) -> CoreResult<Vec<Token>> {
        let user = self.require_user(ctx)?;
        let mut op = self.read(ctx).await?;
        Ok(op.list_tokens(&TokenOwner::User(user.id.clone())).await?)
    }

    /// Creates a personal token; `personal-token-created` is written in every org the
    /// user belongs to.
    pub async fn create_personal_token(
        &self,
        ctx: &Ctx,
        description: &str,
        expires: i64,
    ) -> CoreResult<CreatedToken> {
        let user = self.require_user(ctx)?;
        validate::multiline_text("description", description, 1000)?;
        validate::expires(expires, self.now(), None)?;
        let mut op = self.write(ctx, Cache::Keep).await?;
        let created = mint(
            op.tx(),
            self.now(),
            personal_token(user, description, expires),
        )
        .await?;
        let desc = format!(
            "personal token {} created by {} (expires {})",
            created.token.id,
            user.login,
            describe_expiry(expires)
        );
        op.record_in_user_orgs(user, EventType::PersonalTokenCreated, &desc)
            .await?;
        op.commit().await?;
        Ok(created)
    }

    pub async fn delete_personal_token(&self, ctx: &Ctx, token_id: &str) -> CoreResult<()> {
        let user = self.require_user(ctx)?;
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let token = op
            .revoke(token_id, TokenKind::Personal, |t| {
                t.user_id.as_ref() == Some(&user.id)
            })
            .await?;
        let desc = format!("personal token {} of {} deleted", token.id, user.login);
        op.record_in_user_orgs(user, EventType::PersonalTokenDeleted, &desc)
            .await?;
        op.commit().await
    }

    // ---- operator commands (the CLI runs these with local database access)

    /// Creates a user. `site_admin` users may administer the installation.
    pub async fn create_user(
        &self,
        login: &str,
        name: &str,
        email: &str,
        site_admin: bool,
    ) -> CoreResult<User> {
        validate::name("user", login)?;
        validate::text("name", name, 200)?;
        validate::text("email", email, 320)?;
        let user = User {
            id: new_id(),
            login: login.to_string(),
            name: if name.is_empty() {
                login.to_string()
            } else {
                name.to_string()
            },
            email: email.to_string(),
            site_admin,
            created: self.now(),
        };
        let operator = Ctx::operator("cli");
        let mut op = self.write(&operator, Cache::Invalidate).await?;
        op.insert_user(&user)
            .await
            .map_err(|e| CoreError::from_store(e, || format!("user '{login}' already exists")))?;
        op.commit().await?;
        Ok(user)
    }

    /// Operator bootstrap: ensures `admin_login` exists (as site admin), creates `org_name`
    /// with them as its admin (or makes them admin of an existing org), and returns a new
    /// personal token for them. The events name the admin, from `source`.
    pub async fn init_org(
        &self,
        org_name: &str,
        admin_login: &str,
        email: &str,
        source: &str,
    ) -> CoreResult<CreatedToken> {
        validate::name("organization", org_name)?;
        validate::name("user", admin_login)?;
        let now = self.now();
        let system = Ctx::operator(source);
        let mut op = self.write(&system, Cache::Invalidate).await?;
        let user = match op.user_by_login(admin_login).await? {
            Some(user) => {
                if !user.site_admin {
                    op.set_site_admin(&user.id, true).await?;
                }
                user
            }
            None => {
                let user = User {
                    id: new_id(),
                    login: admin_login.to_string(),
                    name: admin_login.to_string(),
                    email: email.to_string(),
                    site_admin: true,
                    created: now,
                };
                op.insert_user(&user).await?;
                user
            }
        };
        let org = match op.org_by_name(org_name).await? {
            Some(org) => org,
            None => {
                let org = Org {
                    id: new_id(),
                    name: org_name.to_string(),
                    created: now,
                    settings: OrgSettings::default(),
                };
                op.insert_org(&org).await?;
                org
            }
        };
        let admin = Ctx::new(
            Arc::new(crate::principal::Principal {
                identity: Identity::User(user.clone()),
                token: None,
            }),
            source,
        );
        match op.membership(&org.id, &user.id).await? {
            None => {
                op.insert_membership(&org.id, &user.id, OrgRole::Admin, now)
                    .await?;
                let desc = format!("{admin_login} added to '{org_name}' as admin by the operator");
                op.record_as(&admin, &org.id, EventType::MemberAdded, desc)
                    .await?;
            }
            Some(OrgRole::Admin) => {}
            Some(_) => {
                op.set_member_role(&org.id, &user.id, OrgRole::Admin)
                    .await?;
                let desc = format!("{admin_login} made admin of '{org_name}' by the operator");
                op.record_as(&admin, &org.id, EventType::MemberRoleChanged, desc)
                    .await?;
            }
        }
        let description = format!("created by stackgate init for {org_name}");
        let created = mint(op.tx(), now, personal_token(&user, &description, 0)).await?;
        let desc = format!(
            "personal token {} created for {admin_login} by the operator",
            created.token.id
        );
        op.record_as(&admin, &org.id, EventType::PersonalTokenCreated, desc)
            .await?;
        op.commit().await?;
        Ok(created)
    }

    /// Operator: a new personal token for an existing user.
    pub async fn issue_user_token(
        &self,
        user: &User,
        description: &str,
    ) -> CoreResult<CreatedToken> {
        let operator = Ctx::operator("cli");
        let mut op = self.write(&operator, Cache::Invalidate).await?;
        let created = mint(op.tx(), self.now(), personal_token(user, description, 0)).await?;
        op.commit().await?;
        Ok(created)
    }
}

/// A personal token of `user`.
fn personal_token<'a>(user: &'a User, description: &'a str, expires: i64) -> NewToken<'a> {
    NewToken {
        kind: TokenKind::Personal,
        name: "",
        description,
        user_id: Some(&user.id),
        org_id: None,
        team_id: None,
        admin: false,
        created_by: &user.login,
        expires,
    }
}

impl Op<'_> {
    /// Appends the same event to the log of every org `user` belongs to, chains locked in
    /// the global order.
    async fn record_in_user_orgs(
        &mut self,
        user: &User,
        event: EventType,
        description: &str,
    ) -> CoreResult<()> {
        for org in user_orgs_locked(self.tx(), &user.id).await? {
            self.record(&org.id, event, description.to_string()).await?;
        }
        Ok(())
    }
}

/// The user's orgs with their audit chains locked (in the global order).
pub(super) async fn user_orgs_locked(tx: &mut dyn Tx, user_id: &UserId) -> CoreResult<Vec<Org>> {
    let orgs: Vec<Org> = tx
        .user_memberships(user_id)
        .await?
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    let ids: Vec<&OrgId> = orgs.iter().map(|o| &o.id).collect();
    lock_chains(tx, &ids).await?;
    Ok(orgs)
}

fn actor_kind(ctx: &Ctx) -> Actor {
    match &ctx.principal.identity {
        Identity::User(_) => Actor::User { role: None },
        Identity::OrgToken { admin, .. } => Actor::OrgToken {
            admin: *admin,
            own_org: false,
        },
        Identity::TeamToken { .. } => Actor::TeamToken { own_org: false },
    }
}

/// "never" or the unix time, for audit descriptions.
pub(super) fn describe_expiry(expires: i64) -> String {
    if expires == 0 {
        "never".to_string()
    } else {
        time::OffsetDateTime::from_unix_timestamp(expires)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| expires.to_string())
    }
}

impl Service {
    /// Whether any user exists (the server hints at `stackgate init` when none does).
    pub async fn has_users(&self) -> CoreResult<bool> {
        let mut tx = self.store.read().await?;
        Ok(tx.any_user().await?)
    }
}
