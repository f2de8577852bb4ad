//! Teams: creation, membership, stack grants, deletion.

use stackgate_store::{Org, Stack, StackPermission, Team, TeamRole, Tx, User};

use super::{new_id, Cache, Op, Service};
use crate::authz::{Action, Facts};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;
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

impl Op<'_> {
    /// Loads org and team with the principal's facts (team role included); 404 for
    /// outsiders and unknown teams alike.
    pub(super) async fn team_facts(
        &mut self,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<(Org, Team, Facts)> {
        let (org, facts) = self.guard(org_name, Action::ReadOrg).await?;
        let team = self
            .team_by_name(&org.id, team_name)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(format!("team '{team_name}' not found in '{org_name}'"))
            })?;
        let role = self.my_team_role(&team.id).await?;
        Ok((org, team, facts.with_team_role(role)))
    }

    /// Loads the team as [`Op::team_facts`] does and authorizes `action` on it.
    pub(super) async fn team_guard(
        &mut self,
        org_name: &str,
        team_name: &str,
        action: Action,
    ) -> CoreResult<(Org, Team, Facts)> {
        let (org, team, facts) = self.team_facts(org_name, team_name).await?;
        let target = format!("team '{team_name}'");
        self.authorize(&org, action, &facts, &target).await?;
        Ok((org, team, facts))
    }

    /// A stack of the org by project and name, or 404.
    pub(super) async fn org_stack(
        &mut self,
        org: &Org,
        project: &str,
        stack: &str,
    ) -> CoreResult<Stack> {
        self.stack(&org.id, project, stack).await?.ok_or_else(|| {
            CoreError::not_found(format!("stack '{}/{project}/{stack}' not found", org.name))
        })
    }

    /// The team's grant on a stack of the org: the stack and the level, if any.
    async fn team_grant(
        &mut self,
        org: &Org,
        team: &Team,
        project: &str,
        stack: &str,
    ) -> CoreResult<(Stack, Option<StackPermission>)> {
        let s = self.org_stack(org, project, stack).await?;
        let grant = self
            .team_stacks(&team.id)
            .await?
            .into_iter()
            .find(|(t, _)| t.id == s.id)
            .map(|(_, p)| p);
        Ok((s, grant))
    }
}

impl Service {
    pub async fn list_teams(
        &self,
        ctx: &Ctx,
        org_name: &str,
    ) -> CoreResult<Vec<(Team, Option<TeamRole>)>> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadOrg).await?;
        let mine = match ctx.principal.user() {
            Some(user) => op.user_teams(&org.id, &user.id).await?,
            None => Vec::new(),
        };
        let teams = op.list_teams(&org.id).await?;
        Ok(teams
            .into_iter()
            .map(|t| {
                let role = mine.iter().find(|(m, _)| m.id == t.id).map(|(_, r)| *r);
                (t, role)
            })
            .collect())
    }

    pub async fn create_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        name: &str,
        display_name: &str,
        description: &str,
    ) -> CoreResult<TeamView> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, _) = op.guard(org_name, Action::CreateTeam).await?;
        validate::name("team", name)?;
        validate::text("displayName", display_name, 200)?;
        validate::multiline_text("description", description, 1000)?;
        let team = Team {
            id: new_id(),
            org_id: org.id.clone(),
            name: name.to_string(),
            display_name: if display_name.is_empty() {
                name.to_string()
            } else {
                display_name.to_string()
            },
            description: description.to_string(),
            created: op.now(),
        };
        op.insert_team(&team).await.map_err(|e| {
            CoreError::from_store(e, || {
                format!("team '{name}' already exists in '{org_name}'")
            })
        })?;
        let mut members = Vec::new();
        // A user who creates a team becomes its team admin.
        if let Some(user) = ctx.principal.user() {
            op.upsert_team_member(&team.id, &user.id, TeamRole::Admin)
                .await?;
            members.push((user.clone(), TeamRole::Admin));
        }
        let desc = format!("team '{name}' created in '{org_name}'");
        op.record(&org.id, EventType::TeamCreated, desc).await?;
        op.commit().await?;
        let user_role = members.first().map(|(_, r)| *r);
        Ok(TeamView {
            team,
            members,
            stacks: Vec::new(),
            user_role,
        })
    }

    pub async fn get_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
    ) -> CoreResult<TeamView> {
        let mut op = self.read(ctx).await?;
        let (_, team, facts) = op.team_facts(org_name, team_name).await?;
        let members = op.team_members(&team.id).await?;
        let stacks = op.team_stacks(&team.id).await?;
        Ok(TeamView {
            team,
            members,
            stacks,
            user_role: facts.team_role,
        })
    }

    pub async fn update_team(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team_name: &str,
        update: TeamUpdate,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let (org, mut team, facts) = op.team_facts(org_name, team_name).await?;
        let target = format!("team '{team_name}'");
        let touches_details = update.new_display_name.is_some()
            || update.new_description.is_some()
            || update.member.is_some();
        let touches_stacks = update.add_stack.is_some()
            || update.edit_stack.is_some()
            || update.remove_stack.is_some();
        if touches_details {
            op.authorize(&org, Action::UpdateTeam, &facts, &target)
                .await?;
        }
        if touches_stacks {
            op.authorize(&org, Action::ManageTeamStacks, &facts, &target)
                .await?;
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
                validate::multiline_text("newDescription", &d, 1000)?;
                changes.push("description changed".to_string());
                team.description = d;
            }
            op.update_team(&team).await?;
        }
        if let Some((action, login)) = update.member {
            changes.push(apply_member_action(op.tx(), &org, &team, action, &login).await?);
        }
        let no_access = |project: &str, stack: &str| {
            CoreError::not_found(format!(
                "team '{team_name}' has no access to {project}/{stack}"
            ))
        };
        if let Some((project, stack, perm)) = update.add_stack {
            let (s, grant) = op.team_grant(&org, &team, &project, &stack).await?;
            if grant.is_some() {
                return Err(CoreError::conflict(format!(
                    "team '{team_name}' already has access to {project}/{stack}"
                )));
            }
            grantable(perm)?;
            op.set_team_stack(&team.id, &s.id, perm).await?;
            changes.push(format!(
                "stack {project}/{stack} added with permission {}",
                perm.code()
            ));
        }
        if let Some((project, stack, perm)) = update.edit_stack {
            let (s, grant) = op.team_grant(&org, &team, &project, &stack).await?;
            grant.ok_or_else(|| no_access(&project, &stack))?;
            grantable(perm)?;
            op.set_team_stack(&team.id, &s.id, perm).await?;
            changes.push(format!(
                "stack {project}/{stack} permission changed to {}",
                perm.code()
            ));
        }
        if let Some((project, stack)) = update.remove_stack {
            let (s, grant) = op.team_grant(&org, &team, &project, &stack).await?;
            grant.ok_or_else(|| no_access(&project, &stack))?;
            op.delete_team_stack(&team.id, &s.id).await?;
            changes.push(format!("stack {project}/{stack} removed"));
        }
        let desc = format!("team '{team_name}' updated: {}", changes.join("; "));
        op.record(&org.id, EventType::TeamUpdated, desc).await?;
        op.commit().await
    }

    pub async fn delete_team(&self, ctx: &Ctx, org_name: &str, team_name: &str) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Invalidate).await?;
        let (org, team, _) = op
            .team_guard(org_name, team_name, Action::DeleteTeam)
            .await?;
        let now = op.now();
        op.delete_team(&team.id, now).await?;
        let desc =
            format!("team '{team_name}' deleted from '{org_name}' (its tokens were revoked)");
        op.record(&org.id, EventType::TeamDeleted, desc).await?;
        op.commit().await
    }
}

async fn apply_member_action(
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
