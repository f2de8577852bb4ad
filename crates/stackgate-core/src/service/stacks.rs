//! Stacks: creation, reads, tags, team access, deletion and transfer.

use std::collections::HashMap;

use stackgate_store::{
    Org, OrgRole, Stack, StackFilter, StackId, StackPermission, Tags, Team, TeamId, Tx, User,
};

use super::{new_id, Cache, Op, Service};
use crate::authz::{self, Action, Facts, StackFacts};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity};
use crate::validate;

/// `POST /api/stacks/{org}/{project}`.
#[derive(Clone, Debug, Default)]
pub struct CreateStack {
    pub name: String,
    pub tags: Tags,
    /// Teams that get write access to the new stack.
    pub teams: Vec<String>,
    /// The CLI's initial state (`{version, deployment}`, JSON): a deployment without
    /// resources that records the secrets provider chosen at `stack init`. Kept as
    /// version 0, which the first update supersedes.
    pub initial_state: Option<Vec<u8>>,
}

/// A change to a stack's tags.
#[derive(Clone, Debug)]
pub enum TagChange {
    /// The complete new tag map.
    Replace(Tags),
    /// Set one tag.
    Set(String, String),
    /// Delete one tag (404 when absent).
    Remove(String),
}

/// `GET /api/user/stacks` filters.
#[derive(Clone, Debug, Default)]
pub struct StackListQuery {
    pub organization: Option<String>,
    pub project: Option<String>,
    pub tag_name: Option<String>,
    pub tag_value: Option<String>,
    pub continuation: Option<String>,
    pub max_results: u32,
}

pub struct StackPage {
    pub stacks: Vec<Stack>,
    pub continuation: Option<String>,
}

/// A team's access to one stack, as `GET .../teams` lists it.
pub struct StackTeam {
    pub team: Team,
    pub permission: StackPermission,
    pub is_member: bool,
}

/// Where one member's level on one stack comes from (the console's permission view).
pub struct MemberStackPermissions {
    pub user: User,
    pub role: OrgRole,
    pub org_default: StackPermission,
    /// The member's teams that hold a grant on the stack.
    pub teams: Vec<(Team, StackPermission)>,
    /// 104 (creator) when the member created the stack, else 0.
    pub explicit: StackPermission,
}

/// How many stacks a listing examines per store round-trip while filtering by visibility.
const LIST_BATCH: u32 = 200;

pub(super) fn validate_tags(tags: &Tags) -> CoreResult<()> {
    for (name, value) in tags {
        if name.is_empty()
            || name.chars().count() > 255
            || name.chars().any(|c| validate::forbidden_char(c, false))
        {
            return Err(CoreError::bad_request(
                "tag names must be 1-255 printable characters",
            ));
        }
        if value.chars().count() > 1024 || value.chars().any(|c| validate::forbidden_char(c, false))
        {
            return Err(CoreError::bad_request(format!(
                "tag '{name}': values must be at most 1024 printable characters"
            )));
        }
    }
    Ok(())
}

/// The description of a `stack-tags-changed` event: the stack and its tags now.
pub(super) fn tags_changed(stack: &str, tags: &Tags) -> String {
    let listed: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("tags of stack '{stack}' set to {{{}}}", listed.join(", "))
}

/// The principal created the stack (a user by id, an org token by token id).
fn is_creator(ctx: &Ctx, stack: &Stack) -> bool {
    match &ctx.principal.identity {
        Identity::User(user) => stack.creator_user_id.as_ref() == Some(&user.id),
        Identity::OrgToken { .. } => {
            let token_id = ctx.principal.token.as_ref().map(|t| &t.id);
            token_id.is_some() && stack.creator_token_id.as_ref() == token_id
        }
        Identity::TeamToken { .. } => false,
    }
}

/// The teams of `org` whose stack grants the principal holds: a user's teams, a team
/// token's own team, none for an org token.
async fn my_team_ids(tx: &mut dyn Tx, ctx: &Ctx, org: &Org) -> CoreResult<Vec<TeamId>> {
    Ok(match &ctx.principal.identity {
        Identity::User(user) => tx
            .user_teams(&org.id, &user.id)
            .await?
            .into_iter()
            .map(|(t, _)| t.id)
            .collect(),
        Identity::TeamToken { team_id, .. } => vec![team_id.clone()],
        Identity::OrgToken { .. } => Vec::new(),
    })
}

impl Op<'_> {
    /// What the principal holds on one stack besides its org role.
    pub(super) async fn stack_facts(&mut self, org: &Org, stack: &Stack) -> CoreResult<StackFacts> {
        let ctx = self.ctx();
        let mine = my_team_ids(self.tx(), ctx, org).await?;
        let team_grants = if mine.is_empty() {
            Vec::new()
        } else {
            self.stack_teams(&stack.id)
                .await?
                .into_iter()
                .filter(|(t, _)| mine.contains(&t.id))
                .map(|(_, p)| p)
                .collect()
        };
        Ok(StackFacts {
            team_grants,
            creator: is_creator(ctx, stack),
        })
    }

    /// Every grant the principal's teams hold in one org, by stack id: what a listing
    /// needs to decide visibility of many stacks with one query per team instead of two
    /// per stack.
    async fn grants_by_stack(
        &mut self,
        org: &Org,
    ) -> CoreResult<HashMap<StackId, Vec<StackPermission>>> {
        let ctx = self.ctx();
        let team_ids = my_team_ids(self.tx(), ctx, org).await?;
        let mut grants: HashMap<StackId, Vec<StackPermission>> = HashMap::new();
        for team_id in team_ids {
            for (stack, permission) in self.team_stacks(&team_id).await? {
                grants.entry(stack.id).or_default().push(permission);
            }
        }
        Ok(grants)
    }

    /// Loads org and stack and authorizes `action` on it; 404 when the stack is hidden.
    pub(super) async fn stack_guard(
        &mut self,
        org_name: &str,
        project: &str,
        stack_name: &str,
        action: Action,
    ) -> CoreResult<(Org, Stack, Facts)> {
        let org = self.org(org_name).await?;
        let facts = self.facts(&org).await?;
        let target = format!("stack '{org_name}/{project}/{stack_name}'");
        if authz::check(Action::ReadOrg, &facts).is_err() {
            return Err(CoreError::not_found(format!("{target} not found")));
        }
        let stack = self
            .stack(&org.id, project, stack_name)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("{target} not found")))?;
        let facts = facts.with_stack(self.stack_facts(&org, &stack).await?);
        self.authorize(&org, action, &facts, &target).await?;
        Ok((org, stack, facts))
    }
}

impl Service {
    pub async fn create_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        req: CreateStack,
    ) -> CoreResult<Stack> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, facts) = op.guard(org_name, Action::CreateStack).await?;
        validate::name("project", project)?;
        validate::name("stack", &req.name)?;
        validate_tags(&req.tags)?;
        let initial = match &req.initial_state {
            Some(body) => Some(crate::state_body::deployment_state(body)?),
            None => None,
        };
        let (creator_user_id, creator_token_id) = match &ctx.principal.identity {
            Identity::User(u) => (Some(u.id.clone()), None),
            _ => (None, ctx.principal.token.as_ref().map(|t| t.id.clone())),
        };
        let stack = Stack {
            id: new_id(),
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            project: project.to_string(),
            name: req.name.clone(),
            tags: req.tags.clone(),
            creator_user_id,
            creator_token_id,
            created: op.now(),
            version: 0,
            last_update: None,
            resource_count: None,
        };
        op.insert_stack(&stack).await.map_err(|e| {
            CoreError::from_store(e, || {
                format!("stack '{org_name}/{project}/{}' already exists", req.name)
            })
        })?;
        if let Some(state) = initial {
            let checkpoint = stackgate_store::Checkpoint {
                stack_id: stack.id.clone(),
                version: 0,
                update_id: None,
                schema_version: state.schema_version,
                features: state.features,
                deployment: state.deployment,
                resource_count: state.resource_count,
                saved: op.now(),
            };
            op.save_checkpoint(&checkpoint).await?;
        }
        let mut granted = Vec::new();
        for team_name in &req.teams {
            let team = op.team_by_name(&org.id, team_name).await?.ok_or_else(|| {
                CoreError::bad_request(format!("team '{team_name}' not found in '{org_name}'"))
            })?;
            op.authorize_team_grant(&org, &facts, &team.id, team_name)
                .await?;
            op.set_team_stack(&team.id, &stack.id, StackPermission::Write)
                .await?;
            granted.push(team_name.as_str());
        }
        let mut desc = format!("stack '{org_name}/{project}/{}' created", req.name);
        if !granted.is_empty() {
            desc.push_str(&format!(
                " with write access for teams {}",
                granted.join(", ")
            ));
        }
        op.record(&org.id, EventType::StackCreated, desc).await?;
        op.commit().await?;
        Ok(stack)
    }

    /// Whether the org has a project of that name that the principal can see a stack of.
    pub async fn project_exists(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
    ) -> CoreResult<bool> {
        let mut op = self.read(ctx).await?;
        let (org, _) = op.guard(org_name, Action::ReadOrg).await?;
        if !op.project_exists(&org.id, project).await? {
            return Ok(false);
        }
        drop(op);
        // The project exists for this principal only if it can see one of its stacks.
        let query = StackListQuery {
            organization: Some(org.name.clone()),
            project: Some(project.to_string()),
            max_results: 1,
            ..StackListQuery::default()
        };
        Ok(!self.list_stacks(ctx, query).await?.stacks.is_empty())
    }

    pub async fn get_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack: &str,
    ) -> CoreResult<Stack> {
        let mut op = self.read(ctx).await?;
        let (_, stack, _) = op
            .stack_guard(org_name, project, stack, Action::ReadStack)
            .await?;
        Ok(stack)
    }

    /// Stacks the principal can read, across its orgs, in (org, project, stack) order.
    pub async fn list_stacks(&self, ctx: &Ctx, q: StackListQuery) -> CoreResult<StackPage> {
        let mut op = self.read(ctx).await?;
        let orgs: Vec<Org> = match &ctx.principal.identity {
            Identity::User(user) => op
                .user_memberships(&user.id)
                .await?
                .into_iter()
                .map(|(o, _)| o)
                .collect(),
            Identity::OrgToken { org_id, .. } | Identity::TeamToken { org_id, .. } => {
                op.org_by_id(org_id).await?.into_iter().collect()
            }
        };
        let orgs: Vec<Org> = match &q.organization {
            Some(name) => orgs.into_iter().filter(|o| &o.name == name).collect(),
            None => orgs,
        };
        // An org whose maximum token lifetime this token exceeds lists nothing; asked for
        // by name, it refuses the request as any other endpoint of that org would.
        let mut open = Vec::with_capacity(orgs.len());
        for org in orgs {
            match op.token_cap_denial(&org) {
                None => open.push(org),
                Some(denial) if q.organization.is_some() => return op.refuse(denial).await,
                Some(_) => {}
            }
        }
        let orgs = open;
        let mut after = match &q.continuation {
            None => None,
            Some(c) => {
                let mut parts = c.splitn(3, '/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(o), Some(p), Some(s)) => {
                        Some((o.to_string(), p.to_string(), s.to_string()))
                    }
                    _ => return Err(CoreError::bad_request("invalid continuationToken")),
                }
            }
        };
        let mut out = Vec::new();
        let mut facts_by_org = Vec::new();
        for org in &orgs {
            let facts = op.facts(org).await?;
            let grants = op.grants_by_stack(org).await?;
            facts_by_org.push((org.id.clone(), facts, grants));
        }
        let mut exhausted = orgs.is_empty();
        while !exhausted && out.len() < q.max_results as usize {
            let filter = StackFilter {
                org_ids: orgs.iter().map(|o| o.id.clone()).collect(),
                project: q.project.clone(),
                tag_name: q.tag_name.clone(),
                tag_value: q.tag_value.clone(),
                after: after.clone(),
                limit: LIST_BATCH,
            };
            let batch = op.list_stacks(&filter).await?;
            exhausted = batch.len() < LIST_BATCH as usize;
            for stack in batch {
                after = Some((
                    stack.org_name.clone(),
                    stack.project.clone(),
                    stack.name.clone(),
                ));
                let Some((_, facts, grants)) =
                    facts_by_org.iter().find(|(id, _, _)| *id == stack.org_id)
                else {
                    continue;
                };
                let sf = StackFacts {
                    team_grants: grants.get(&stack.id).cloned().unwrap_or_default(),
                    creator: is_creator(ctx, &stack),
                };
                let visible =
                    authz::check(Action::ReadStack, &facts.clone().with_stack(sf)).is_ok();
                if visible {
                    out.push(stack);
                    if out.len() == q.max_results as usize {
                        break;
                    }
                }
            }
        }
        let continuation = (out.len() == q.max_results as usize)
            .then(|| {
                out.last()
                    .map(|s| format!("{}/{}/{}", s.org_name, s.project, s.name))
            })
            .flatten();
        Ok(StackPage {
            stacks: out,
            continuation,
        })
    }

    pub async fn delete_stack(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        force: bool,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::DeleteStack)
            .await?;
        op.refuse_if_updating(&org, &stack).await?;
        if !force && stack.resource_count.unwrap_or(0) > 0 {
            // The CLI recognises exactly this message and suggests `--force`.
            return Err(CoreError::bad_request(
                "Bad Request: Stack still contains resources.",
            ));
        }
        // The stack's state (updates, versions, secrets key) goes with it (cascade).
        op.delete_stack(&stack.id).await?;
        op.record(
            &org.id,
            EventType::StackDeleted,
            format!("stack '{org_name}/{project}/{stack_name}' deleted"),
        )
        .await?;
        op.commit().await
    }

    /// Changes a stack's tags.
    pub async fn change_tags(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        change: TagChange,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::WriteStack)
            .await?;
        let mut tags = stack.tags.clone();
        match change {
            TagChange::Replace(all) => tags = all,
            TagChange::Set(name, value) => {
                tags.insert(name, value);
            }
            TagChange::Remove(name) => {
                if tags.remove(&name).is_none() {
                    return Err(CoreError::not_found(format!("tag '{name}' not found")));
                }
            }
        }
        validate_tags(&tags)?;
        if tags == stack.tags {
            return Ok(());
        }
        op.set_stack_tags(&stack.id, &tags).await?;
        let desc = tags_changed(&format!("{org_name}/{project}/{stack_name}"), &tags);
        op.record(&org.id, EventType::StackTagsChanged, desc)
            .await?;
        op.commit().await
    }

    /// The teams that hold a grant on the stack, with their level.
    pub async fn stack_teams(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
    ) -> CoreResult<Vec<StackTeam>> {
        let mut op = self.read(ctx).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ReadStack)
            .await?;
        let grants = op.stack_teams(&stack.id).await?;
        let mine = my_team_ids(op.tx(), ctx, &org).await?;
        Ok(grants
            .into_iter()
            .map(|(team, permission)| {
                let is_member = mine.contains(&team.id);
                StackTeam {
                    team,
                    permission,
                    is_member,
                }
            })
            .collect())
    }

    /// The stack-centric grant endpoint: sets a team's level on the stack (0 removes it).
    pub async fn set_stack_team_permission(
        &self,
        ctx: &Ctx,
        org_name: &str,
        project: &str,
        stack_name: &str,
        team_name: &str,
        perm: StackPermission,
    ) -> CoreResult<()> {
        let mut op = self.write(ctx, Cache::Keep).await?;
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, Action::ManageStackTeams)
            .await?;
        let team = op.team_by_name(&org.id, team_name).await?.ok_or_else(|| {
            CoreError::not_found(format!("team '{team_name}' not found in '{org_name}'"))
        })?;
        let current = op
            .stack_teams(&stack.id)
            .await?
            .into_iter()
            .find(|(t, _)| t.id == team.id)
            .map(|(_, p)| p);
        if perm == StackPermission::None {
            if current.is_none() {
                return Ok(());
            }
            op.delete_team_stack(&team.id, &stack.id).await?;
        } else {
            if current == Some(perm) {
                return Ok(());
            }
            op.set_team_stack(&team.id, &stack.id, perm).await?;
        }
        let desc = format!(
            "team '{team_name}' permission on stack '{org_name}/{project}/{stack_name}' set to {}",
            perm.code()
        );
        op.record(&org.id, EventType::StackTeamPermissionChanged, desc)
            .await?;
        op.commit().await
    }

    /// Why `login` holds the level it holds on a stack. Anyone who can read the stack may
    /// ask about themselves; asking about another member takes stack admin.
    pub async fn member_stack_permissions(
        &self,
        ctx: &Ctx,
        org_name: &str,
        login: &str,
        project: &str,
        stack_name: &str,
    ) -> CoreResult<MemberStackPermissions> {
        let mut op = self.read(ctx).await?;
        let about_self = ctx.principal.user().is_some_and(|u| u.login == login);
        let action = if about_self {
            Action::ReadStack
        } else {
            Action::ManageStackTeams
        };
        let (org, stack, _) = op
            .stack_guard(org_name, project, stack_name, action)
            .await?;
        let (user, role) = op.member(&org, login).await?;
        let mine = op.user_teams(&org.id, &user.id).await?;
        let teams = op
            .stack_teams(&stack.id)
            .await?
            .into_iter()
            .filter(|(t, _)| mine.iter().any(|(m, _)| m.id == t.id))
            .collect();
        let explicit = if stack.creator_user_id.as_ref() == Some(&user.id) {
            StackPermission::Creator
        } else {
            StackPermission::None
        };
        Ok(MemberStackPermissions {
            user,
            role,
            org_default: org.settings.default_stack_permission,
            teams,
            explicit,
        })
    }
}
