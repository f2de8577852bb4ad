//! Users: personal tokens, and the operator's user/org bootstrap.

use std::sync::Arc;

use stackgate_store::{Org, OrgRole, OrgSettings, Token, TokenKind, TokenOwner, Tx, User};

use super::tokens::{mint, CreatedToken};
use super::{lock_chains, record, Service};
use crate::authz::{self, Action, Actor, Facts, OrgPolicy};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{now, Ctx, Identity};
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
        let mut tx = self.store.read().await?;
        Ok(tx.list_tokens(&TokenOwner::User(user.id.clone())).await?)
    }

    /// Creates a personal token; `personal-token-created` is written in every org the
    /// user belongs to.
    pub async fn create_personal_token(
        &self,
        ctx: &Ctx,
        description: &str,
        expires: i64,
    ) -> CoreResult<CreatedToken> {
        let user = self.require_user(ctx)?.clone();
        validate::text("description", description, 1000)?;
        validate::expires(expires, now(), None)?;
        let mut tx = self.store.begin().await?;
        let created = mint(
            &mut *tx,
            TokenKind::Personal,
            "",
            description,
            Some(&user.id),
            None,
            None,
            false,
            &user.login,
            expires,
        )
        .await?;
        for org in user_orgs_locked(&mut *tx, &user.id).await? {
            let desc = format!(
                "personal token {} created by {} (expires {})",
                created.token.id,
                user.login,
                describe_expiry(expires)
            );
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::PersonalTokenCreated,
                desc,
            )
            .await?;
        }
        self.commit_keeping_cache(tx).await?;
        Ok(created)
    }

    pub async fn delete_personal_token(&self, ctx: &Ctx, token_id: &str) -> CoreResult<()> {
        let user = self.require_user(ctx)?.clone();
        let mut tx = self.store.begin().await?;
        let token = tx
            .token_by_id(token_id)
            .await?
            .filter(|t| {
                t.kind == TokenKind::Personal
                    && t.user_id.as_deref() == Some(user.id.as_str())
                    && t.deleted_at.is_none()
            })
            .ok_or_else(|| CoreError::not_found(format!("token '{token_id}' not found")))?;
        tx.mark_token_deleted(&token.id, now()).await?;
        for org in user_orgs_locked(&mut *tx, &user.id).await? {
            let desc = format!("personal token {} of {} deleted", token.id, user.login);
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::PersonalTokenDeleted,
                desc,
            )
            .await?;
        }
        self.commit(tx).await
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
            id: uuid::Uuid::new_v4().to_string(),
            login: login.to_string(),
            name: if name.is_empty() {
                login.to_string()
            } else {
                name.to_string()
            },
            email: email.to_string(),
            site_admin,
            created: now(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user)
            .await
            .map_err(|e| CoreError::from_store(e, || format!("user '{login}' already exists")))?;
        self.commit(tx).await?;
        Ok(user)
    }

    /// Operator bootstrap: ensures `admin_login` exists (as site admin), creates `org_name`
    /// with them as its admin (or makes them admin of an existing org), and returns a new
    /// personal token for them.
    pub async fn init_org(
        &self,
        org_name: &str,
        admin_login: &str,
        email: &str,
        source: &str,
    ) -> CoreResult<CreatedToken> {
        validate::name("organization", org_name)?;
        validate::name("user", admin_login)?;
        let now = now();
        let mut tx = self.store.begin().await?;
        let user = match tx.user_by_login(admin_login).await? {
            Some(user) => {
                if !user.site_admin {
                    tx.set_site_admin(&user.id, true).await?;
                }
                user
            }
            None => {
                let user = User {
                    id: uuid::Uuid::new_v4().to_string(),
                    login: admin_login.to_string(),
                    name: admin_login.to_string(),
                    email: email.to_string(),
                    site_admin: true,
                    created: now,
                };
                tx.insert_user(&user).await?;
                user
            }
        };
        let org = match tx.org_by_name(org_name).await? {
            Some(org) => org,
            None => {
                let org = Org {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: org_name.to_string(),
                    created: now,
                    settings: OrgSettings::default(),
                };
                tx.insert_org(&org).await?;
                org
            }
        };
        let operator = Ctx::new(
            Arc::new(crate::principal::Principal {
                identity: Identity::User(user.clone()),
                token: None,
            }),
            source,
        );
        match tx.membership(&org.id, &user.id).await? {
            None => {
                tx.insert_membership(&org.id, &user.id, OrgRole::Admin, now)
                    .await?;
                record(
                    &mut *tx,
                    &operator,
                    &org.id,
                    EventType::MemberAdded,
                    format!("{admin_login} added to '{org_name}' as admin by the operator"),
                )
                .await?;
            }
            Some(OrgRole::Admin) => {}
            Some(_) => {
                tx.set_member_role(&org.id, &user.id, OrgRole::Admin)
                    .await?;
                record(
                    &mut *tx,
                    &operator,
                    &org.id,
                    EventType::MemberRoleChanged,
                    format!("{admin_login} made admin of '{org_name}' by the operator"),
                )
                .await?;
            }
        }
        let created = mint(
            &mut *tx,
            TokenKind::Personal,
            "",
            &format!("created by stackgate init for {org_name}"),
            Some(&user.id),
            None,
            None,
            false,
            &user.login,
            0,
        )
        .await?;
        record(
            &mut *tx,
            &operator,
            &org.id,
            EventType::PersonalTokenCreated,
            format!(
                "personal token {} created for {admin_login} by the operator",
                created.token.id
            ),
        )
        .await?;
        self.commit(tx).await?;
        Ok(created)
    }

    /// Operator: a new personal token for an existing user.
    pub async fn issue_user_token(
        &self,
        user: &User,
        description: &str,
    ) -> CoreResult<CreatedToken> {
        let mut tx = self.store.begin().await?;
        let created = mint(
            &mut *tx,
            TokenKind::Personal,
            "",
            description,
            Some(&user.id),
            None,
            None,
            false,
            &user.login,
            0,
        )
        .await?;
        self.commit(tx).await?;
        Ok(created)
    }
}

/// The user's orgs with their audit chains locked (in the global order).
pub(super) async fn user_orgs_locked(tx: &mut dyn Tx, user_id: &str) -> CoreResult<Vec<Org>> {
    let orgs: Vec<Org> = tx
        .user_memberships(user_id)
        .await?
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    let ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
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
