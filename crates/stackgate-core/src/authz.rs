//! The one place that decides who may do what.
//!
//! [`check`] is a pure function of an [`Action`] and the [`Facts`] a service loaded from the
//! store (the actor's standing in the target org, the org's policy flags, the actor's team
//! role and stack grants). No handler, SQL query or service compares roles itself: they
//! load facts, call `check`, and act on the verdict. `tests/authz_table/` writes the whole
//! table out by hand and checks every actor kind × action against it.
//!
//! # The model
//! - **Actors.** A user acts with their org role (admin, member, billing-manager) and team
//!   memberships. A member-scope org token acts as a member of its one org who is in no
//!   team; an admin-scope org token as an admin of its org, except that it can never create
//!   or delete org tokens. A team token acts with its team's stack grants. Org and team
//!   tokens see nothing of another org (404).
//! - **Org roles.** Admin: everything in the org. Member: read the org (members, teams),
//!   create stacks and teams when the org's `membersCanCreateStacks` / `membersCanCreateTeams`
//!   allow it; as a team's team admin, change that team's members and tokens. Billing
//!   manager: read the org only.
//! - **Stack level** (effective level on one stack): the highest of the org's default
//!   member permission, the grants of the actor's teams (a team token: its team's), and
//!   admin for the stack's creator; org admins and admin org tokens have admin on every
//!   stack of their org. Levels are ordered through [`StackPermission::rank`], never by
//!   their wire codes. Read (101): see the stack, its teams and state (export, history,
//!   update events), encrypt and decrypt its secrets, preview. Write (102): tags, updates,
//!   refresh, destroy, import, cancel. Admin (103, and 104 = creator): delete, rename, transfer (members also need
//!   `membersCanTransferStacks`), grant team access on the stack-centric endpoint.
//! - **Org-wide actions** on members, team stack grants, org tokens, settings and the audit
//!   log need the admin role or an admin-scope org token; personal tokens are a user's own.
//!
//! # Verdicts
//! [`Denied::NotFound`] means the actor may not even learn that the target exists (another
//! org, a stack below read): answered 404, not audited in the target org.
//! [`Denied::Forbidden`] means it can see the target but lacks the permission: answered 403
//! and recorded as an auth-failure event in the org that owns the target, with
//! [`Failure::StackPermission`] for a missing stack level and [`Failure::OrgRole`] for a
//! missing role, token scope or org policy flag.

use stackgate_store::{OrgRole, OrgSettings, StackPermission, TeamRole};

/// Everything an authenticated principal may try. Closed: tests iterate over [`Action::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Get the org, list members and teams, get a team, a member's teams.
    ReadOrg,
    UpdateOrgSettings,
    /// Add or remove members, change their role.
    ManageMembers,
    CreateTeam,
    /// Change a team's name/description or membership.
    UpdateTeam,
    DeleteTeam,
    /// Grant, change or remove a team's access to stacks (team-centric endpoint).
    ManageTeamStacks,
    /// List, create and delete a team's tokens.
    ManageTeamTokens,
    ListOrgTokens,
    /// Create and delete org tokens.
    ManageOrgTokens,
    /// Read or export the audit log, list its event types.
    ReadAuditLog,
    /// Create, list and delete one's own personal tokens.
    ManagePersonalTokens,
    CreateStack,
    /// Get a stack, list it, list its teams.
    ReadStack,
    /// Set or delete tags.
    WriteStack,
    DeleteStack,
    /// Rename a stack within its org (new project and/or stack name).
    RenameStack,
    /// Move a stack out of its org (checked on the source).
    TransferStack,
    /// Receive a transferred stack (checked on the destination).
    ReceiveStack,
    /// Grant or revoke a team's access through the stack-centric endpoint.
    ManageStackTeams,
    /// Read a stack's state: export a version, list its updates, read an update's status
    /// and engine events (also what a StackReference to it needs).
    ReadStackState,
    /// Encrypt and decrypt through the stack's secrets provider.
    UseStackSecrets,
    /// Run a preview (and its start, events and completion).
    PreviewStack,
    /// Run an update, refresh or destroy (also the preview pass of `pulumi up`), import a
    /// state, cancel an update.
    UpdateStack,
}

impl Action {
    pub const ALL: [Action; 24] = [
        Action::ReadOrg,
        Action::UpdateOrgSettings,
        Action::ManageMembers,
        Action::CreateTeam,
        Action::UpdateTeam,
        Action::DeleteTeam,
        Action::ManageTeamStacks,
        Action::ManageTeamTokens,
        Action::ListOrgTokens,
        Action::ManageOrgTokens,
        Action::ReadAuditLog,
        Action::ManagePersonalTokens,
        Action::CreateStack,
        Action::ReadStack,
        Action::WriteStack,
        Action::DeleteStack,
        Action::RenameStack,
        Action::TransferStack,
        Action::ReceiveStack,
        Action::ManageStackTeams,
        Action::ReadStackState,
        Action::UseStackSecrets,
        Action::PreviewStack,
        Action::UpdateStack,
    ];

    /// A stable dotted name, used in logs and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Action::ReadOrg => "org.read",
            Action::UpdateOrgSettings => "org.settings.update",
            Action::ManageMembers => "org.members.manage",
            Action::CreateTeam => "team.create",
            Action::UpdateTeam => "team.update",
            Action::DeleteTeam => "team.delete",
            Action::ManageTeamStacks => "team.stacks.manage",
            Action::ManageTeamTokens => "team.tokens.manage",
            Action::ListOrgTokens => "org.tokens.list",
            Action::ManageOrgTokens => "org.tokens.manage",
            Action::ReadAuditLog => "org.auditlog.read",
            Action::ManagePersonalTokens => "user.tokens.manage",
            Action::CreateStack => "stack.create",
            Action::ReadStack => "stack.read",
            Action::WriteStack => "stack.write",
            Action::DeleteStack => "stack.delete",
            Action::RenameStack => "stack.rename",
            Action::TransferStack => "stack.transfer",
            Action::ReceiveStack => "stack.receive",
            Action::ManageStackTeams => "stack.teams.manage",
            Action::ReadStackState => "stack.state.read",
            Action::UseStackSecrets => "stack.secrets.use",
            Action::PreviewStack => "stack.preview",
            Action::UpdateStack => "stack.update",
        }
    }

    /// Whether the action is about one stack (its facts must carry [`StackFacts`]).
    pub fn is_stack_action(self) -> bool {
        matches!(
            self,
            Action::ReadStack
                | Action::WriteStack
                | Action::DeleteStack
                | Action::RenameStack
                | Action::TransferStack
                | Action::ManageStackTeams
                | Action::ReadStackState
                | Action::UseStackSecrets
                | Action::PreviewStack
                | Action::UpdateStack
        )
    }
}

/// Who is acting, relative to the org that owns the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A user; `role` is `None` when they are not a member of the target org.
    User { role: Option<OrgRole> },
    /// An org token; `own_org` is false when the target belongs to another org.
    OrgToken { admin: bool, own_org: bool },
    /// A team token; `own_org` is false when the target belongs to another org.
    TeamToken { own_org: bool },
}

impl Actor {
    fn in_org(self) -> bool {
        match self {
            Actor::User { role } => role.is_some(),
            Actor::OrgToken { own_org, .. } | Actor::TeamToken { own_org } => own_org,
        }
    }

    /// Org admin users and admin-scope org tokens of the org.
    fn is_org_admin(self) -> bool {
        matches!(
            self,
            Actor::User {
                role: Some(OrgRole::Admin)
            } | Actor::OrgToken {
                admin: true,
                own_org: true
            }
        )
    }
}

/// The org policy flags the decision depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgPolicy {
    pub default_stack_permission: StackPermission,
    pub members_can_create_stacks: bool,
    pub members_can_create_teams: bool,
    pub members_can_delete_stacks: bool,
    pub members_can_transfer_stacks: bool,
}

impl From<&OrgSettings> for OrgPolicy {
    fn from(s: &OrgSettings) -> Self {
        OrgPolicy {
            default_stack_permission: s.default_stack_permission,
            members_can_create_stacks: s.members_can_create_stacks,
            members_can_create_teams: s.members_can_create_teams,
            members_can_delete_stacks: s.members_can_delete_stacks,
            members_can_transfer_stacks: s.members_can_transfer_stacks,
        }
    }
}

impl Default for OrgPolicy {
    fn default() -> Self {
        OrgPolicy::from(&OrgSettings::default())
    }
}

/// What the actor holds on one stack besides its org role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackFacts {
    /// Grants of the teams the actor belongs to (a team token: its own team).
    pub team_grants: Vec<StackPermission>,
    /// The actor created the stack.
    pub creator: bool,
}

/// The facts one decision needs, loaded by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub actor: Actor,
    pub policy: OrgPolicy,
    /// The actor's role in the team the action targets, if any.
    pub team_role: Option<TeamRole>,
    /// For stack actions.
    pub stack: Option<StackFacts>,
    /// For [`Action::ReceiveStack`] by an org token of another org: the destination lists
    /// the source org in `acceptStackTransfersFrom`.
    pub transfer_source_accepted: bool,
}

impl Facts {
    pub fn new(actor: Actor, policy: OrgPolicy) -> Facts {
        Facts {
            actor,
            policy,
            team_role: None,
            stack: None,
            transfer_source_accepted: false,
        }
    }

    pub fn with_team_role(mut self, role: Option<TeamRole>) -> Facts {
        self.team_role = role;
        self
    }

    pub fn with_stack(mut self, stack: StackFacts) -> Facts {
        self.stack = Some(stack);
        self
    }
}

/// Why a check refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The actor may not learn that the target exists: 404.
    NotFound,
    /// The actor sees the target but lacks the permission: 403.
    Forbidden(Failure),
}

/// Which kind of permission was missing, for the auth-failure audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    OrgRole,
    StackPermission,
}

/// The actor's effective level on a stack: the highest of the org default, its teams'
/// grants and its creator grant; org admins (users and admin tokens) hold admin everywhere
/// in their org; billing managers see no stacks.
pub fn stack_level(actor: Actor, policy: &OrgPolicy, stack: &StackFacts) -> StackPermission {
    if actor.is_org_admin() {
        return StackPermission::Admin;
    }
    let base = match actor {
        Actor::User {
            role: Some(OrgRole::Member),
        }
        | Actor::OrgToken {
            admin: false,
            own_org: true,
        }
        | Actor::TeamToken { own_org: true } => policy.default_stack_permission,
        _ => return StackPermission::None,
    };
    let from_teams = stack
        .team_grants
        .iter()
        .fold(base, |level, grant| level.max(*grant));
    if stack.creator {
        from_teams.max(StackPermission::Creator)
    } else {
        from_teams
    }
}

/// Decides whether the actor described by `facts` may perform `action`.
pub fn check(action: Action, facts: &Facts) -> Result<(), Denied> {
    let actor = facts.actor;
    let policy = &facts.policy;
    let forbid = Err(Denied::Forbidden(Failure::OrgRole));

    // Not tied to any org.
    if action == Action::ManagePersonalTokens {
        return match actor {
            Actor::User { .. } => Ok(()),
            _ => forbid,
        };
    }
    // The destination of a transfer is hidden unless it is open to the actor.
    if action == Action::ReceiveStack {
        let open = match actor {
            Actor::User {
                role: Some(OrgRole::Admin),
            } => true,
            Actor::User {
                role: Some(OrgRole::Member),
            } => policy.members_can_create_stacks,
            Actor::OrgToken {
                admin: true,
                own_org,
            } => own_org || facts.transfer_source_accepted,
            _ => false,
        };
        return if open { Ok(()) } else { Err(Denied::NotFound) };
    }
    if !actor.in_org() {
        return Err(Denied::NotFound);
    }
    if action.is_stack_action() {
        return check_stack(action, facts);
    }

    let is_admin = actor.is_org_admin();
    let member_user = actor
        == Actor::User {
            role: Some(OrgRole::Member),
        };
    let member_token = actor
        == Actor::OrgToken {
            admin: false,
            own_org: true,
        };
    let team_admin = member_user && facts.team_role == Some(TeamRole::Admin);
    let allowed = match action {
        Action::ReadOrg => true,
        Action::UpdateOrgSettings
        | Action::ManageMembers
        | Action::ManageTeamStacks
        | Action::ListOrgTokens
        | Action::ReadAuditLog => is_admin,
        Action::ManageOrgTokens => {
            actor
                == Actor::User {
                    role: Some(OrgRole::Admin),
                }
        }
        Action::CreateTeam => {
            is_admin || ((member_user || member_token) && policy.members_can_create_teams)
        }
        Action::DeleteTeam => {
            is_admin || team_admin || (member_token && policy.members_can_create_teams)
        }
        Action::UpdateTeam | Action::ManageTeamTokens => is_admin || team_admin,
        Action::CreateStack => {
            is_admin || ((member_user || member_token) && policy.members_can_create_stacks)
        }
        // Handled above; listed so the match stays exhaustive without a wildcard.
        Action::ManagePersonalTokens
        | Action::ReceiveStack
        | Action::ReadStack
        | Action::WriteStack
        | Action::DeleteStack
        | Action::RenameStack
        | Action::TransferStack
        | Action::ManageStackTeams
        | Action::ReadStackState
        | Action::UseStackSecrets
        | Action::PreviewStack
        | Action::UpdateStack => false,
    };
    if allowed {
        Ok(())
    } else {
        forbid
    }
}

fn check_stack(action: Action, facts: &Facts) -> Result<(), Denied> {
    let actor = facts.actor;
    let empty = StackFacts::default();
    let stack = facts.stack.as_ref().unwrap_or(&empty);
    let level = stack_level(actor, &facts.policy, stack);
    if !level.allows(StackPermission::Read) {
        return Err(Denied::NotFound);
    }
    let need = |needed: StackPermission| {
        if level.allows(needed) {
            Ok(())
        } else {
            Err(Denied::Forbidden(Failure::StackPermission))
        }
    };
    let is_admin = actor.is_org_admin();
    match action {
        Action::ReadStack
        | Action::ReadStackState
        | Action::UseStackSecrets
        | Action::PreviewStack => Ok(()),
        Action::WriteStack | Action::UpdateStack => need(StackPermission::Write),
        Action::ManageStackTeams | Action::RenameStack => need(StackPermission::Admin),
        Action::DeleteStack => {
            need(StackPermission::Admin)?;
            if is_admin || facts.policy.members_can_delete_stacks {
                Ok(())
            } else {
                Err(Denied::Forbidden(Failure::OrgRole))
            }
        }
        Action::TransferStack => {
            if is_admin {
                return Ok(());
            }
            match actor {
                Actor::User {
                    role: Some(OrgRole::Member),
                } => {
                    need(StackPermission::Admin)?;
                    if facts.policy.members_can_transfer_stacks {
                        Ok(())
                    } else {
                        Err(Denied::Forbidden(Failure::OrgRole))
                    }
                }
                _ => Err(Denied::Forbidden(Failure::OrgRole)),
            }
        }
        _ => Err(Denied::Forbidden(Failure::OrgRole)),
    }
}
