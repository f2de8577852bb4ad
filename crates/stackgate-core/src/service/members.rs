//! Organization members: listing, adding, role changes, removal.

use stackgate_store::{Member, OrgRole};

use super::{record, Service};
use crate::authz::Action;
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{now, Ctx};

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
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ReadOrg,
                    &format!("organization '{org_name}'"),
                )
                .await?;
            let members = tx.list_members(&org.id, after, page_size).await?;
            let continuation = (members.len() == page_size as usize)
                .then(|| members.last().map(|m| m.user.login.clone()))
                .flatten();
            let mut out = Vec::with_capacity(members.len());
            for member in members {
                let teams = tx.user_teams(&org.id, &member.user.id).await?;
                out.push((member, teams.into_iter().map(|(t, _)| t.name).collect()));
            }
            Ok(MemberPage {
                members: out,
                continuation,
            })
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn add_member(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
        role: OrgRole,
    ) -> CoreResult<(Member, Vec<String>)> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ManageMembers,
                    &format!("members of organization '{org_name}'"),
                )
                .await?;
            let user = tx
                .user_by_login(login)
                .await?
                .ok_or_else(|| CoreError::not_found(format!("user '{login}' not found")))?;
            let created = now();
            tx.insert_membership(&org.id, &user.id, role, created)
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
            record(&mut *tx, ctx, &org.id, EventType::MemberAdded, desc).await?;
            self.commit(tx).await?;
            Ok((
                Member {
                    user,
                    role,
                    created,
                },
                Vec::new(),
            ))
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn set_member_role(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
        role: OrgRole,
    ) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ManageMembers,
                    &format!("members of organization '{org_name}'"),
                )
                .await?;
            let (user, current) = self.member(&mut *tx, &org.id, org_name, login).await?;
            if current == role {
                return Ok(());
            }
            if current == OrgRole::Admin && tx.count_admins(&org.id).await? <= 1 {
                return Err(CoreError::bad_request(format!(
                    "'{login}' is the last admin of '{org_name}'"
                )));
            }
            tx.set_member_role(&org.id, &user.id, role).await?;
            let desc = format!(
                "{login}'s role in '{org_name}' changed from {} to {}",
                current.as_str(),
                role.as_str()
            );
            record(&mut *tx, ctx, &org.id, EventType::MemberRoleChanged, desc).await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn remove_member(&self, ctx: &Ctx, org_name: &str, login: &str) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ManageMembers,
                    &format!("members of organization '{org_name}'"),
                )
                .await?;
            let (user, current) = self.member(&mut *tx, &org.id, org_name, login).await?;
            if current == OrgRole::Admin && tx.count_admins(&org.id).await? <= 1 {
                return Err(CoreError::bad_request(format!(
                    "'{login}' is the last admin of '{org_name}'"
                )));
            }
            tx.delete_membership(&org.id, &user.id).await?;
            let desc =
                format!("{login} removed from organization '{org_name}' (and from its teams)");
            record(&mut *tx, ctx, &org.id, EventType::MemberRemoved, desc).await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }

    /// Names of the teams of `org_name` that `login` belongs to.
    pub async fn member_teams(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
    ) -> CoreResult<Vec<String>> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::ReadOrg,
                    &format!("organization '{org_name}'"),
                )
                .await?;
            let (user, _) = self.member(&mut *tx, &org.id, org_name, login).await?;
            let teams = tx.user_teams(&org.id, &user.id).await?;
            Ok(teams.into_iter().map(|(t, _)| t.name).collect())
        }
        .await;
        self.finish(ctx, r).await
    }

    /// A member of the org by login, or 404.
    pub(super) async fn member(
        &self,
        tx: &mut dyn stackgate_store::Tx,
        org_id: &str,
        org_name: &str,
        login: &str,
    ) -> CoreResult<(stackgate_store::User, OrgRole)> {
        let missing = || CoreError::not_found(format!("'{login}' is not a member of '{org_name}'"));
        let user = tx.user_by_login(login).await?.ok_or_else(missing)?;
        let role = tx.membership(org_id, &user.id).await?.ok_or_else(missing)?;
        Ok((user, role))
    }
}
