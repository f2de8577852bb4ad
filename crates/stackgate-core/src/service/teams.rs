//! Teams: creation, membership, stack grants, deletion.

use stackgate_store::{Org, Stack, StackPermission, Team, TeamRole, Tx, User};

use super::{record, Service};
use crate::authz::{Action, Facts};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{now, Ctx};
use crate::validate;

/// A team with its members and stack grants.
pub struct TeamView {
    pub team: Team,
    pub members: Vec<(User, TeamRole)>,
    pub stacks: Vec<(Stack, StackPermission)>,
    /// The caller's role in the team, if any.
    pub user_role: Option<TeamRole>,
}

/// Membership operations of `UpdateTeamRequest.memberAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberAction {
    Add,
    Remove,
    Promote,
    Demote,
}

impl MemberAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "add" => Some(MemberAction::Add),
            "remove" => Some(MemberAction::Remove),
            "promote" => Some(MemberAction::Promote),
            "demote" => Some(MemberAction::Demote),
            _ => None,
        }
    }
}

/// One `PATCH /api/orgs/{org}/teams/{team}` request; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct TeamUpdate {
    pub new_display_name: Option<String>,
    pub new_description: Option<String>,
    pub member: Option<(MemberAction, String)>,
    pub add_stack: Option<(String, String, StackPermission)>,
    pub edit_stack: Option<(String, String, StackPermission)>,
    pub remove_stack: Option<(String, String)>,
}

impl Service {
    /// Loads org and team with the principal's facts (team role included); 404 for
    /// outsiders and unknown teams alike.
    pub(super) async fn team_facts(
        &self,
        tx: &mut dyn Tx,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<(Org, Team, Facts)> {
        let (org, facts) = self
            .org_guard(
                tx,
                ctx,
                org_name,
                Action::ReadOrg,
                &format!("organization '{org_name}'"),
            )
            .await?;
        let team = tx.team_by_name(&org.id, team_name).await?.ok_or_else(|| {
            CoreError::not_found(format!("team '{team_name}' not found in '{org_name}'"))
        })?;
        let role = self.team_role(tx, ctx, &team.id).await?;
        Ok((org, team, facts.with_team_role(role)))
    }

    pub async fn list_teams(
        &self,
        ctx: &Ctx,
        org_name: &str,
    ) -> CoreResult<Vec<(Team, Option<TeamRole>)>> {
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
            let mine = match ctx.principal.user() {
                Some(user) => tx.user_teams(&org.id, &user.id).await?,
                None => Vec::new(),
            };
            let teams = tx.list_teams(&org.id).await?;
            Ok(teams
                .into_iter()
                .map(|t| {
                    let role = mine.iter().find(|(m, _)| m.id == t.id).map(|(_, r)| *r);
                    (t, role)
                })
                .collect())
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn create_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        name: &str,
        display_name: &str,
        description: &str,
    ) -> CoreResult<TeamView> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, _) = self
                .org_guard(
                    &mut *tx,
                    ctx,
                    org_name,
                    Action::CreateTeam,
                    &format!("teams of organization '{org_name}'"),
                )
                .await?;
            validate::name("team", name)?;
            validate::text("displayName", display_name, 200)?;
            validate::text("description", description, 1000)?;
            let team = Team {
                id: uuid::Uuid::new_v4().to_string(),
                org_id: org.id.clone(),
                name: name.to_string(),
                display_name: if display_name.is_empty() {
                    name.to_string()
                } else {
                    display_name.to_string()
                },
                description: description.to_string(),
                created: now(),
            };
            tx.insert_team(&team).await.map_err(|e| {
                CoreError::from_store(e, || {
                    format!("team '{name}' already exists in '{org_name}'")
                })
            })?;
            let mut members = Vec::new();
            // A user who creates a team becomes its team admin.
            if let Some(user) = ctx.principal.user() {
                tx.upsert_team_member(&team.id, &user.id, TeamRole::Admin)
                    .await?;
                members.push((user.clone(), TeamRole::Admin));
            }
            record(
                &mut *tx,
                ctx,
                &org.id,
                EventType::TeamCreated,
                format!("team '{name}' created in '{org_name}'"),
            )
            .await?;
            self.commit_keeping_cache(tx).await?;
            let user_role = members.first().map(|(_, r)| *r);
            Ok(TeamView {
                team,
                members,
                stacks: Vec::new(),
                user_role,
            })
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn get_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<TeamView> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let (_, team, facts) = self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            let members = tx.team_members(&team.id).await?;
            let stacks = tx.team_stacks(&team.id).await?;
            Ok(TeamView {
                team,
                members,
                stacks,
                user_role: facts.team_role,
            })
        }
        .await;
        self.finish(ctx, r).await
    }

    pub async fn update_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
        update: TeamUpdate,
    ) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, mut team, facts) =
                self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            let target = format!("team '{team_name}'");
            let touches_details = update.new_display_name.is_some()
                || update.new_description.is_some()
                || update.member.is_some();
            let touches_stacks = update.add_stack.is_some()
                || update.edit_stack.is_some()
                || update.remove_stack.is_some();
            if touches_details {
                self.authorize(ctx, &org, Action::UpdateTeam, &facts, &target)?;
            }
            if touches_stacks {
                self.authorize(ctx, &org, Action::ManageTeamStacks, &facts, &target)?;
            }
            if !touches_details && !touches_stacks {
                return Err(CoreError::bad_request("the request changes nothing"));
            }
            let mut changes = Vec::new();
            if update.new_display_name.is_some() || update.new_description.is_some() {
                if let Some(d) = update.new_display_name {
                    validate::text("newDisplayName", &d, 200)?;
                    changes.push(format!("display name set to '{d}'"));
                    team.display_name = d;
                }
                if let Some(d) = update.new_description {
                    validate::text("newDescription", &d, 1000)?;
                    changes.push("description changed".to_string());
                    team.description = d;
                }
                tx.update_team(&team).await?;
            }
            if let Some((action, login)) = update.member {
                changes.push(
                    self.apply_member_action(&mut *tx, &org, &team, action, &login)
                        .await?,
                );
            }
            if let Some((project, stack, perm)) = update.add_stack {
                let s = self.org_stack(&mut *tx, &org, &project, &stack).await?;
                if tx
                    .team_stacks(&team.id)
                    .await?
                    .iter()
                    .any(|(t, _)| t.id == s.id)
                {
                    return Err(CoreError::conflict(format!(
                        "team '{team_name}' already has access to {project}/{stack}"
                    )));
                }
                grantable(perm)?;
                tx.set_team_stack(&team.id, &s.id, perm).await?;
                changes.push(format!(
                    "stack {project}/{stack} added with permission {}",
                    perm.code()
                ));
            }
            if let Some((project, stack, perm)) = update.edit_stack {
                let s = self.org_stack(&mut *tx, &org, &project, &stack).await?;
                if !tx
                    .team_stacks(&team.id)
                    .await?
                    .iter()
                    .any(|(t, _)| t.id == s.id)
                {
                    return Err(CoreError::not_found(format!(
                        "team '{team_name}' has no access to {project}/{stack}"
                    )));
                }
                grantable(perm)?;
                tx.set_team_stack(&team.id, &s.id, perm).await?;
                changes.push(format!(
                    "stack {project}/{stack} permission changed to {}",
                    perm.code()
                ));
            }
            if let Some((project, stack)) = update.remove_stack {
                let s = self.org_stack(&mut *tx, &org, &project, &stack).await?;
                if !tx
                    .team_stacks(&team.id)
                    .await?
                    .iter()
                    .any(|(t, _)| t.id == s.id)
                {
                    return Err(CoreError::not_found(format!(
                        "team '{team_name}' has no access to {project}/{stack}"
                    )));
                }
                tx.delete_team_stack(&team.id, &s.id).await?;
                changes.push(format!("stack {project}/{stack} removed"));
            }
            let desc = format!("team '{team_name}' updated: {}", changes.join("; "));
            record(&mut *tx, ctx, &org.id, EventType::TeamUpdated, desc).await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }

    async fn apply_member_action(
        &self,
        tx: &mut dyn Tx,
        org: &Org,
        team: &Team,
        action: MemberAction,
        login: &str,
    ) -> CoreResult<String> {
        let user = tx
            .user_by_login(login)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("user '{login}' not found")))?;
        if tx.membership(&org.id, &user.id).await?.is_none() {
            return Err(CoreError::bad_request(format!(
                "'{login}' is not a member of '{}'",
                org.name
            )));
        }
        let current = tx.team_role(&team.id, &user.id).await?;
        let not_in_team =
            || CoreError::bad_request(format!("'{login}' is not a member of team '{}'", team.name));
        Ok(match action {
            MemberAction::Add => {
                if current.is_some() {
                    return Err(CoreError::conflict(format!(
                        "'{login}' is already a member of team '{}'",
                        team.name
                    )));
                }
                tx.upsert_team_member(&team.id, &user.id, TeamRole::Member)
                    .await?;
                format!("member {login} added")
            }
            MemberAction::Remove => {
                current.ok_or_else(not_in_team)?;
                tx.delete_team_member(&team.id, &user.id).await?;
                format!("member {login} removed")
            }
            MemberAction::Promote => {
                current.ok_or_else(not_in_team)?;
                tx.upsert_team_member(&team.id, &user.id, TeamRole::Admin)
                    .await?;
                format!("member {login} promoted to team admin")
            }
            MemberAction::Demote => {
                current.ok_or_else(not_in_team)?;
                tx.upsert_team_member(&team.id, &user.id, TeamRole::Member)
                    .await?;
                format!("member {login} demoted to team member")
            }
        })
    }

    /// A stack of the org by project and name, or 404.
    pub(super) async fn org_stack(
        &self,
        tx: &mut dyn Tx,
        org: &Org,
        project: &str,
        stack: &str,
    ) -> CoreResult<Stack> {
        tx.stack(&org.id, project, stack).await?.ok_or_else(|| {
            CoreError::not_found(format!("stack '{}/{project}/{stack}' not found", org.name))
        })
    }

    pub async fn delete_team(&self, ctx: &Ctx, org_name: &str, team_name: &str) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.begin().await?;
            let (org, team, facts) = self.team_facts(&mut *tx, ctx, org_name, team_name).await?;
            self.authorize(
                ctx,
                &org,
                Action::DeleteTeam,
                &facts,
                &format!("team '{team_name}'"),
            )?;
            tx.delete_team(&team.id, now()).await?;
            let desc =
                format!("team '{team_name}' deleted from '{org_name}' (its tokens were revoked)");
            record(&mut *tx, ctx, &org.id, EventType::TeamDeleted, desc).await?;
            self.commit(tx).await
        }
        .await;
        self.finish(ctx, r).await
    }
}

/// Levels a team can be granted on a stack (none is expressed by removing the grant).
pub(super) fn grantable(perm: StackPermission) -> CoreResult<()> {
    if perm == StackPermission::None {
        Err(CoreError::bad_request(
            "permission 0 cannot be granted; remove the stack instead",
        ))
    } else {
        Ok(())
    }
}
