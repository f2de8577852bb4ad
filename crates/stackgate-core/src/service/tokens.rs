//! Org and team access tokens, and the one function that mints any token.

use stackgate_store::{
    Org, OrgId, TeamId, Timestamp, Token, TokenId, TokenKind, TokenOwner, Tx, UserId,
};

use super::users::describe_expiry;
use super::{Cache, Op, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity};
use crate::token::TokenValue;
use crate::validate;

/// A token just created: its row, and its value, shown to the creator once.
pub struct CreatedToken {
    pub token: Token,
    pub value: TokenValue,
}

/// What a new token is: its kind, owner, scope and expiry. The owner fields that do not
/// apply to the kind are `None` (a personal token has a user, an org token an org, a team
/// token an org and a team).
pub(super) struct NewToken<'a> {
    pub kind: TokenKind,
    /// Empty for personal tokens.
    pub name: &'a str,
    pub description: &'a str,
    pub user_id: Option<&'a UserId>,
    pub org_id: Option<&'a OrgId>,
    pub team_id: Option<&'a TeamId>,
    /// Admin scope (org tokens only).
    pub admin: bool,
    /// Shown as `createdBy`.
    pub created_by: &'a str,
    /// 0 = never.
    pub expires: Timestamp,
}

/// Creates a token row at `now`; the value exists only in the returned struct.
pub(super) async fn mint(
    tx: &mut dyn Tx,
    now: Timestamp,
    new: NewToken<'_>,
) -> CoreResult<CreatedToken> {
    let value = TokenValue::generate();
    let token = Token {
        id: TokenId::new(uuid::Uuid::new_v4().to_string()),
        kind: new.kind,
        hash: value.hash().0,
        name: new.name.to_string(),
        description: new.description.to_string(),
        user_id: new.user_id.cloned(),
        org_id: new.org_id.cloned(),
        team_id: new.team_id.cloned(),
        admin: new.admin,
        created_by: new.created_by.to_string(),
        created: now,
        expires: new.expires,
        last_used: 0,
        deleted_at: None,
    };
    tx.insert_token(&token).await.map_err(|e| {
        CoreError::from_store(e, || {
            format!("a token named '{}' already exists in this organization (names of deleted tokens stay taken)", new.name)
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

impl Op<'_> {
    /// Checks a new org or team token's name, description and expiry against the org's
    /// maximum lifetime.
    fn check_new_token(
        &self,
        org: &Org,
        name: &str,
        description: &str,
        expires: i64,
    ) -> CoreResult<()> {
        validate::token_name(name)?;
        validate::multiline_text("description", description, 1000)?;
        validate::expires(
            expires,
            self.now(),
            org.settings.max_access_token_expiry_days,
        )
    }

    /// A live token of `kind` whose owner passes `owned`, or 404, then marks it deleted.
    pub(super) async fn revoke(
        &mut self,
        token_id: &str,
        kind: TokenKind,
        owned: impl Fn(&Token) -> bool,
    ) -> CoreResult<Token> {
        let token = self
            .token_by_id(&TokenId::from(token_id))
            .await?
            .filter(|t| t.kind == kind && owned(t) && t.deleted_at.is_none())
            .ok_or_else(|| CoreError::not_found(format!("token '{token_id}' not found")))?;
        let now = self.now();
        self.mark_token_deleted(&token.id, now).await?;
        Ok(token)
    }
}

impl Service {
    pub async fn list_org_tokens(&self, ctx: &Ctx, org_name: &str) -> CoreResult<Vec<Token>> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ListOrgTokens).await?;
        Ok(op.list_tokens(&TokenOwner::Org(org.id.clone())).await?)
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
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, _) = op.guard(org_name, Action::ManageOrgTokens).await?;
        op.check_new_token(&org, name, description, expires)?;
        let new = NewToken {
            kind: TokenKind::Organization,
            name,
            description,
            user_id: None,
            org_id: Some(&org.id),
            team_id: None,
            admin,
            created_by: &creator(ctx),
            expires,
        };
        let now = op.now();
        let created = mint(op.tx(), now, new).await?;
        let scope = if admin { "admin" } else { "member" };
        let desc = format!(
            "organization token '{name}' ({}) created with {scope} scope, expires {}",
            created.token.id,
            describe_expiry(expires)
        );
        op.record(&org.id, EventType::OrganizationTokenCreated, desc)
            .await?;
        op.commit().await?;
        Ok(created)
    }

    pub async fn delete_org_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        token_id: &str,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let (org, _) = op.guard(org_name, Action::ManageOrgTokens).await?;
        let token = op
            .revoke(token_id, TokenKind::Organization, |t| {
                t.org_id.as_ref() == Some(&org.id)
            })
            .await?;
        let desc = format!("organization token '{}' ({}) deleted", token.name, token.id);
        op.record(&org.id, EventType::OrganizationTokenDeleted, desc)
            .await?;
        op.commit().await
    }

    pub async fn list_team_tokens(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<Vec<Token>> {
        let mut op = self.read(ctx).await?;
        let (_, team, _) = op
            .team_guard(org_name, team_name, Action::ManageTeamTokens)
            .await?;
        Ok(op.list_tokens(&TokenOwner::Team(team.id.clone())).await?)
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
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, team, _) = op
            .team_guard(org_name, team_name, Action::ManageTeamTokens)
            .await?;
        op.check_new_token(&org, name, description, expires)?;
        let new = NewToken {
            kind: TokenKind::Team,
            name,
            description,
            user_id: None,
            org_id: Some(&org.id),
            team_id: Some(&team.id),
            admin: false,
            created_by: &creator(ctx),
            expires,
        };
        let now = op.now();
        let created = mint(op.tx(), now, new).await?;
        let desc = format!(
            "team token '{name}' ({}) created for team '{team_name}', expires {}",
            created.token.id,
            describe_expiry(expires)
        );
        op.record(&org.id, EventType::TeamTokenCreated, desc)
            .await?;
        op.commit().await?;
        Ok(created)
    }

    pub async fn delete_team_token(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
        token_id: &str,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let (org, team, _) = op
            .team_guard(org_name, team_name, Action::ManageTeamTokens)
            .await?;
        let token = op
            .revoke(token_id, TokenKind::Team, |t| {
                t.team_id.as_ref() == Some(&team.id)
            })
            .await?;
        let desc = format!(
            "team token '{}' ({}) of team '{team_name}' deleted",
            token.name, token.id
        );
        op.record(&org.id, EventType::TeamTokenDeleted, desc)
            .await?;
        op.commit().await
    }
}
