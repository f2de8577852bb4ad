//! Organization members: listing, adding, role changes, removal.

use stackgate_store::{Member, Org, OrgRole, User};

use super::{Cache, Op, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;

/// One page of members and, for each, the names of their teams in the org.
pub struct MemberPage {
    pub members: Vec<(Member, Vec<String>)>,
    /// The login to continue after, when more may follow.
    pub continuation: Option<String>,
}

impl Service {
    pub async fn list_members(
        &self,
        ctx: &Ctx,
        org_name: &str,
        after: Option<&str>,
        page_size: u32,
    ) -> CoreResult<MemberPage> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadOrg).await?;
        let members = op.list_members(&org.id, after, page_size).await?;
        let continuation = (members.len() == page_size as usize)
            .then(|| members.last().map(|m| m.user.login.clone()))
            .flatten();
        let mut out = Vec::with_capacity(members.len());
        for member in members {
            let teams = op.user_teams(&org.id, &member.user.id).await?;
            out.push((member, teams.into_iter().map(|(t, _)| t.name).collect()));
        }
        Ok(MemberPage {
            members: out,
            continuation,
        })
    }

    pub async fn add_member(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
        role: OrgRole,
    ) -> CoreResult<(Member, Vec<String>)> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let (org, _) = op.guard(org_name, Action::ManageMembers).await?;
        let user = op
            .user_by_login(login)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("user '{login}' not found")))?;
        let created = op.now();
        op.insert_membership(&org.id, &user.id, role, created)
            .await
            .map_err(|e| {
                CoreError::from_store(e, || {
                    format!("'{login}' is already a member of '{org_name}'")
                })
            })?;
        let desc = format!(
            "{login} added to organization '{org_name}' as {}",
            role.as_str()
        );
        op.record(&org.id, EventType::MemberAdded, desc).await?;
        op.commit().await?;
        let member = Member {
            user,
            role,
            created,
        };
        Ok((member, Vec::new()))
    }

    pub async fn set_member_role(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
        role: OrgRole,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        op.serialize_member_changes(org_name).await?;
        let (org, _) = op.guard(org_name, Action::ManageMembers).await?;
        let (user, current) = op.member(&org, login).await?;
        if current == role {
            return Ok(());
        }
        op.keep_an_admin(&org, login, current).await?;
        op.set_member_role(&org.id, &user.id, role).await?;
        let desc = format!(
            "{login}'s role in '{org_name}' changed from {} to {}",
            current.as_str(),
            role.as_str()
        );
        op.record(&org.id, EventType::MemberRoleChanged, desc)
            .await?;
        op.commit().await
    }

    pub async fn remove_member(&self, ctx: &Ctx, org_name: &str, login: &str) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        op.serialize_member_changes(org_name).await?;
        let (org, _) = op.guard(org_name, Action::ManageMembers).await?;
        let (user, current) = op.member(&org, login).await?;
        op.keep_an_admin(&org, login, current).await?;
        op.delete_membership(&org.id, &user.id).await?;
        let desc = format!("{login} removed from organization '{org_name}' (and from its teams)");
        op.record(&org.id, EventType::MemberRemoved, desc).await?;
        op.commit().await
    }

    /// Names of the teams of `org_name` that `login` belongs to.
    pub async fn member_teams(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
    ) -> CoreResult<Vec<String>> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadOrg).await?;
        let (user, _) = op.member(&org, login).await?;
        let teams = op.user_teams(&org.id, &user.id).await?;
        Ok(teams.into_iter().map(|(t, _)| t.name).collect())
    }
}

impl Op<'_> {
    /// A member of the org by login, or 404.
    pub(super) async fn member(&mut self, org: &Org, login: &str) -> CoreResult<(User, OrgRole)> {
        let missing =
            || CoreError::not_found(format!("'{login}' is not a member of '{}'", org.name));
        let user = self.user_by_login(login).await?.ok_or_else(missing)?;
        let role = self
            .membership(&org.id, &user.id)
            .await?
            .ok_or_else(missing)?;
        Ok((user, role))
    }

    /// Takes the org's audit-chain lock before anything is read, so that two changes of
    /// roles in one org run one after the other. Under PostgreSQL's READ COMMITTED two
    /// admins demoting each other at once would otherwise both count two admins and
    /// leave none; after the lock, every read (the caller's own role included) sees the
    /// other change committed. (On SQLite writers are serialized anyway.)
    async fn serialize_member_changes(&mut self, org_name: &str) -> CoreResult<()> {
        if let Some(org) = self.org_by_name(org_name).await? {
            self.lock_chains(&[&org.id]).await?;
        }
        Ok(())
    }

    /// Refuses to demote or remove the org's last admin.
    async fn keep_an_admin(&mut self, org: &Org, login: &str, current: OrgRole) -> CoreResult<()> {
        if current == OrgRole::Admin && self.count_admins(&org.id).await? <= 1 {
            return Err(CoreError::bad_request(format!(
                "'{login}' is the last admin of '{}'",
                org.name
            )));
        }
        Ok(())
    }
}
