//! Organizations: reading one and changing its settings.

use stackgate_store::{Org, OrgCounts, OrgRole, StackPermission};

use super::{Cache, Service};
use crate::authz::{Action, Actor};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;
use crate::validate;

/// An org as its members see it.
pub struct OrgView {
    pub org: Org,
    pub counts: OrgCounts,
    /// The caller's role, as Pulumi reports it for `userRole`.
    pub user_role: &'static str,
}

/// A settings change; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct OrgSettingsUpdate {
    pub default_stack_permission: Option<StackPermission>,
    pub members_can_create_stacks: Option<bool>,
    pub members_can_create_teams: Option<bool>,
    pub members_can_delete_stacks: Option<bool>,
    pub members_can_transfer_stacks: Option<bool>,
    /// `Some(0)` clears the cap.
    pub max_access_token_expiry_days: Option<i64>,
    pub accept_stack_transfers_from: Option<Vec<String>>,
    /// `Some(0)` keeps events forever.
    pub audit_log_retention_days: Option<i64>,
}

fn role_name(actor: Actor) -> &'static str {
    match actor {
        Actor::User { role: Some(role) } => role.as_str(),
        Actor::OrgToken { admin: true, .. } => OrgRole::Admin.as_str(),
        Actor::OrgToken { admin: false, .. } | Actor::TeamToken { .. } => OrgRole::Member.as_str(),
        Actor::User { role: None } => "none",
    }
}

impl Service {
    pub async fn get_org(&self, ctx: &Ctx, org_name: &str) -> CoreResult<OrgView> {
        let mut op = self.read(ctx).await?;
        let (org, facts) = op.guard(org_name, Action::ReadOrg).await?;
        let counts = op.org_counts(&org.id).await?;
        Ok(OrgView {
            org,
            counts,
            user_role: role_name(facts.actor),
        })
    }

    pub async fn update_org_settings(
        &self,
        ctx: &Ctx,
        org_name: &str,
        update: OrgSettingsUpdate,
    ) -> CoreResult<OrgView> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (mut org, facts) = op.guard(org_name, Action::UpdateOrgSettings).await?;
        let s = &mut org.settings;
        let mut changes = Vec::new();
        if let Some(p) = update.default_stack_permission {
            if p == StackPermission::Creator {
                return Err(CoreError::bad_request(
                    "defaultStackPermission cannot be 104 (creator)",
                ));
            }
            if s.default_stack_permission != p {
                s.default_stack_permission = p;
                changes.push(format!("defaultStackPermission={}", p.code()));
            }
        }
        let flags = [
            (
                update.members_can_create_stacks,
                &mut s.members_can_create_stacks,
                "membersCanCreateStacks",
            ),
            (
                update.members_can_create_teams,
                &mut s.members_can_create_teams,
                "membersCanCreateTeams",
            ),
            (
                update.members_can_delete_stacks,
                &mut s.members_can_delete_stacks,
                "membersCanDeleteStacks",
            ),
            (
                update.members_can_transfer_stacks,
                &mut s.members_can_transfer_stacks,
                "membersCanTransferStacks",
            ),
        ];
        for (new, current, name) in flags {
            if let Some(v) = new {
                if *current != v {
                    *current = v;
                    changes.push(format!("{name}={v}"));
                }
            }
        }
        if let Some(days) = update.max_access_token_expiry_days {
            let cap =
                validate::optional_days("maxAccessTokenExpiryDays", days, 3650, "to clear it")?;
            if s.max_access_token_expiry_days != cap {
                s.max_access_token_expiry_days = cap;
                changes.push(format!("maxAccessTokenExpiryDays={days}"));
            }
        }
        if let Some(orgs) = update.accept_stack_transfers_from {
            for name in &orgs {
                validate::name("organization", name)?;
            }
            let mut orgs = orgs;
            orgs.sort();
            orgs.dedup();
            if s.accept_stack_transfers_from != orgs {
                changes.push(format!("acceptStackTransfersFrom=[{}]", orgs.join(",")));
                s.accept_stack_transfers_from = orgs;
            }
        }
        if let Some(days) = update.audit_log_retention_days {
            let keep = validate::optional_days(
                "auditLogRetentionDays",
                days,
                36500,
                "to keep events forever",
            )?;
            if s.audit_log_retention_days != keep {
                s.audit_log_retention_days = keep;
                changes.push(format!("auditLogRetentionDays={days}"));
            }
        }
        if !changes.is_empty() {
            op.update_org_settings(&org.id, &org.settings).await?;
            let desc = format!("settings of '{org_name}' changed: {}", changes.join(", "));
            op.record(&org.id, EventType::OrganizationSettingsChanged, desc)
                .await?;
        }
        let counts = op.org_counts(&org.id).await?;
        op.commit().await?;
        Ok(OrgView {
            org,
            counts,
            user_role: role_name(facts.actor),
        })
    }
}
