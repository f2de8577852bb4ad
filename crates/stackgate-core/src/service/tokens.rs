//! Org and team access tokens, and the one function that mints any token.

use stackgate_store::{Token, TokenKind, TokenOwner, Tx};

use super::users::describe_expiry;
use super::{record, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{now, Ctx, Identity};
use crate::token::TokenValue;
use crate::validate;

/// A token just created: its row, and its value, shown to the creator once.
pub struct CreatedToken {
    pub token: Token,
    pub value: TokenValue,
}

/// Creates a token row; the value exists only in the returned struct.
#[allow(clippy::too_many_arguments)]
pub(super) async fn mint(
    tx: &mut dyn Tx,
    kind: TokenKind,
    name: &str,
    description: &str,
    user_id: Option<&str>,
    org_id: Option<&str>,
    team_id: Option<&str>,
    admin: bool,
    created_by: &str,
    expires: i64,
) -> CoreResult<CreatedToken> {
    let value = TokenValue::generate();
    let token = Token {
        id: uuid::Uuid::new_v4().to_string(),
        kind,
        hash: value.hash().0,
        name: name.to_string(),
        description: description.to_string(),
        user_id: user_id.map(str::to_string),
        org_id: org_id.map(str::to_string),
        team_id: team_id.map(str::to_string),
        admin,
        created_by: created_by.to_string(),
        created: now(),
        expires,
        last_used: 0,
        deleted_at: None,
    };
    tx.insert_token(&token).await.map_err(|e| {
        CoreError::from_store(e, || {
            format!("a token named '{name}' already exists in this organization (names of deleted tokens stay taken)")
        })
    })?;
    Ok(CreatedToken { token, value })
}

/// Who created something, as shown in `createdBy`.
fn creator(ctx: &Ctx) -> String {
    match &ctx.principal.identity {
        Identity::User(u) => u.login.clone(),
        Identity::OrgToken { org_name, .. } => org_name.clone(),
        Identity::TeamToken { team_name, .. } => team_name.clone(),
    }
}

impl Service {
    pub async fn list_org_tokens(&self, ctx: &Ctx, org_name: &str) -> CoreResult<Vec<Token>> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ListOrgTokens,
                    &format!("tokens of organization '{org_name}'"),
                )
                .await?;
            Ok(tx.list_tokens(&TokenOwner::Org(org.id.clone())).await?)
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn create_org_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        name: &str,
        description: &str,
        admin: bool,
        expires: i64,
    ) -> CoreResult<CreatedToken> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ManageOrgTokens,
                    &format!("tokens of organization '{org_name}'"),
                )
                .await?;
            validate::token_name(name)?;
            validate::text("description", description, 1000)?;
            validate::expires(expires, now(), org.settings.max_access_token_expiry_days)?;
            let created = mint(
                &mut *tx,
                TokenKind::Organization,
                name,
                description,
                None,
                Some(&org.id),
                None,
                admin,
                &creator(ctx),
                expires,
            )
            .await?;
            let scope = if admin { "admin" } else { "member" };
            let desc = format!(
                "organization token '{name}' ({}) created with {scope} scope, expires {}",
                created.token.id,
                describe_expiry(expires)
            );
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::OrganizationTokenCreated,
                desc,
            )
            .await?;
            self.commit_keeping_cache(tx).await?;
            Ok(created)
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn delete_org_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        token_id: &str,
    ) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ManageOrgTokens,
                    &format!("tokens of organization '{org_name}'"),
                )
                .await?;
            let token = tx
                .token_by_id(token_id)
                .await?
                .filter(|t| {
                    t.kind == TokenKind::Organization
                        && t.org_id.as_deref() == Some(org.id.as_str())
                        && t.deleted_at.is_none()
                })
                .ok_or_else(|| CoreError::not_found(format!("token '{token_id}' not found")))?;
            tx.mark_token_deleted(&token.id, now()).await?;
            let desc = format!("organization token '{}' ({}) deleted", token.name, token.id);
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::OrganizationTokenDeleted,
                desc,
            )
            .await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn list_team_tokens(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<Vec<Token>> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, team, facts) = self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            self.authorize(
                ctx,
                &org,
                Action::ManageTeamTokens,
                &facts,
                &format!("team '{team_name}'"),
            )?;
            Ok(tx.list_tokens(&TokenOwner::Team(team.id.clone())).await?)
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn create_team_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
        name: &str,
        description: &str,
        expires: i64,
    ) -> CoreResult<CreatedToken> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, team, facts) = self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            self.authorize(
                ctx,
                &org,
                Action::ManageTeamTokens,
                &facts,
                &format!("team '{team_name}'"),
            )?;
            validate::token_name(name)?;
            validate::text("description", description, 1000)?;
            validate::expires(expires, now(), org.settings.max_access_token_expiry_days)?;
            let created = mint(
                &mut *tx,
                TokenKind::Team,
                name,
                description,
                None,
                Some(&org.id),
                Some(&team.id),
                false,
                &creator(ctx),
                expires,
            )
            .await?;
            let desc = format!(
                "team token '{name}' ({}) created for team '{team_name}', expires {}",
                created.token.id,
                describe_expiry(expires)
            );
            record(&mut *tx, ctx, &org.id, EventType::TeamTokenCreated, desc).await?;
            self.commit_keeping_cache(tx).await?;
            Ok(created)
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn delete_team_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
        token_id: &str,
    ) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, team, facts) = self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            self.authorize(
                ctx,
                &org,
                Action::ManageTeamTokens,
                &facts,
                &format!("team '{team_name}'"),
            )?;
            let token = tx
                .token_by_id(token_id)
                .await?
                .filter(|t| {
                    t.kind == TokenKind::Team
                        && t.team_id.as_deref() == Some(team.id.as_str())
                        && t.deleted_at.is_none()
                })
                .ok_or_else(|| CoreError::not_found(format!("token '{token_id}' not found")))?;
            tx.mark_token_deleted(&token.id, now()).await?;
            let desc = format!(
                "team token '{}' ({}) of team '{team_name}' deleted",
                token.name, token.id
            );
            record(&mut *tx, ctx, &org.id, EventType::TeamTokenDeleted, desc).await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }
}
