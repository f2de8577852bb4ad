//! The table itself: principal kinds (columns), cells, the rows (one per action),
//! the explicit stack levels, and the expected verdict of a cell in a scenario.

use stackgate_core::authz::{Action, Actor, Denied, Failure, OrgPolicy};
use stackgate_store::{OrgRole, StackPermission, TeamRole};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------
// Principal kinds (the columns of the table)
// ---------------------------------------------------------------------------------------

pub struct Principal {
    pub name: &'static str,
    pub actor: Actor,
    /// The principal's role in the team the action targets.
    pub team_role: Option<TeamRole>,
}

pub const fn user(
    role: Option<OrgRole>,
    team_role: Option<TeamRole>,
    name: &'static str,
) -> Principal {
    Principal {
        name,
        actor: Actor::User { role },
        team_role,
    }
}

pub const NCOLS: usize = 12;

/// Column order of [`TABLE`] and of the stack-level columns.
pub const PRINCIPALS: [Principal; NCOLS] = [
    /* 0 */ user(Some(OrgRole::Admin), None, "admin user"),
    /* 1 */ user(Some(OrgRole::Member), None, "member user"),
    /* 2 */
    user(
        Some(OrgRole::Member),
        Some(TeamRole::Admin),
        "member user, team admin of the target team",
    ),
    /* 3 */
    user(
        Some(OrgRole::Member),
        Some(TeamRole::Member),
        "member user, plain member of the target team",
    ),
    /* 4 */ user(Some(OrgRole::BillingManager), None, "billing-manager user"),
    /* 5 */ user(None, None, "non-member user"),
    /* 6 */
    Principal {
        name: "org token, member scope",
        actor: Actor::OrgToken {
            admin: false,
            own_org: true,
        },
        team_role: None,
    },
    /* 7 */
    Principal {
        name: "org token, admin scope",
        actor: Actor::OrgToken {
            admin: true,
            own_org: true,
        },
        team_role: None,
    },
    /* 8 */
    Principal {
        name: "team token",
        actor: Actor::TeamToken { own_org: true },
        team_role: None,
    },
    /* 9 */
    Principal {
        name: "org token (member scope) of another org",
        actor: Actor::OrgToken {
            admin: false,
            own_org: false,
        },
        team_role: None,
    },
    /* 10 */
    Principal {
        name: "org token (admin scope) of another org",
        actor: Actor::OrgToken {
            admin: true,
            own_org: false,
        },
        team_role: None,
    },
    /* 11 */
    Principal {
        name: "team token of another org",
        actor: Actor::TeamToken { own_org: false },
        team_role: None,
    },
];

// ---------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------

/// A condition a cell depends on: an org policy flag of the target org, or (for
/// `ReceiveStack`) whether the destination accepts transfers from the source org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    CreateStacks,
    CreateTeams,
    DeleteStacks,
    TransferStacks,
    SourceAccepted,
}

/// A test-local, spec-given order of stack levels ("creator counts as admin").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lvl {
    None,
    Read,
    Write,
    Admin,
}

/// The spec's mapping of wire levels to effective levels (creator = admin).
pub fn lvl_of(p: StackPermission) -> Lvl {
    match p {
        StackPermission::None => Lvl::None,
        StackPermission::Read => Lvl::Read,
        StackPermission::Write => Lvl::Write,
        StackPermission::Admin | StackPermission::Creator => Lvl::Admin,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Always allowed.
    Y,
    /// Seen but refused: 403 (org role).
    F,
    /// Hidden: 404.
    N,
    /// Allowed when the condition holds, else 403 (org role) — the spec's `yes*`.
    AllowIf(Cond),
    /// Allowed when the condition holds, else 404 (the destination is hidden).
    VisibleIf(Cond),
    /// A stack action: "by stack level" and friends.
    Stack(StackRule),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackRule {
    /// Org admin users and admin org tokens: admin on every stack of their org.
    Always,
    /// Sees no stack at all (billing managers, non-members, other orgs): 404.
    Hidden,
    /// 404 below read; allowed at or above the level; 403 (stack permission) between.
    Level(Lvl),
    /// As `Level`, then the condition must hold, else 403 (org role).
    LevelAnd(Lvl, Cond),
    /// 404 below read; otherwise always 403 (org role).
    Never,
}

pub use Cell::{AllowIf, Stack, VisibleIf, F, N, Y};
pub use Cond::{CreateStacks, CreateTeams, DeleteStacks, SourceAccepted, TransferStacks};

pub const ALWAYS: Cell = Stack(StackRule::Always);
pub const HIDDEN: Cell = Stack(StackRule::Hidden);
pub const NEVER: Cell = Stack(StackRule::Never);
pub const READ: Cell = Stack(StackRule::Level(Lvl::Read));
pub const WRITE: Cell = Stack(StackRule::Level(Lvl::Write));
pub const ADMIN: Cell = Stack(StackRule::Level(Lvl::Admin));
pub const ADMIN_AND_DELETE: Cell = Stack(StackRule::LevelAnd(Lvl::Admin, DeleteStacks));
pub const ADMIN_AND_TRANSFER: Cell = Stack(StackRule::LevelAnd(Lvl::Admin, TransferStacks));
pub const CS: Cell = AllowIf(CreateStacks);
pub const CT: Cell = AllowIf(CreateTeams);

// ---------------------------------------------------------------------------------------
// THE TABLE (one row per action, one column per principal kind)
// ---------------------------------------------------------------------------------------

/// Columns:
///  0 admin user | 1 member | 2 member+team admin | 3 member+team member | 4 billing mgr |
///  5 non-member | 6 org tok (member) | 7 org tok (admin) | 8 team tok |
///  9 other-org org tok (member) | 10 other-org org tok (admin) | 11 other-org team tok
#[rustfmt::skip]
pub const TABLE: &[(Action, [Cell; NCOLS])] = &[
    //                          adm    mbr    m+TA   m+TM   bill   non    O      A      T      xO  xA                    xT
    // "list members, list teams, get team": everyone in the org, billing managers included.
    (Action::ReadOrg,              [Y,     Y,     Y,     Y,     Y,     N,     Y,     Y,     Y,     N,  N,                    N]),
    // "change org settings": A and admins only.
    (Action::UpdateOrgSettings,    [Y,     F,     F,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "add / remove member, change member role".
    (Action::ManageMembers,        [Y,     F,     F,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "create team": P yes*, O yes*, T no; `*` = membersCanCreateTeams.
    (Action::CreateTeam,           [Y,     CT,    CT,    CT,    F,     N,     CT,    Y,     F,     N,  N,                    N]),
    // "update team membership": P team admin only.
    (Action::UpdateTeam,           [Y,     F,     Y,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "delete team": P team admin (no `*`), O yes*.
    (Action::DeleteTeam,           [Y,     F,     Y,     F,     F,     N,     CT,    Y,     F,     N,  N,                    N]),
    // "grant / change / remove a team's stack access" (team-centric endpoint).
    (Action::ManageTeamStacks,     [Y,     F,     F,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "list / create / delete team tokens": P team admin.
    (Action::ManageTeamTokens,     [Y,     F,     Y,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "list org tokens".
    (Action::ListOrgTokens,        [Y,     F,     F,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "create / delete org tokens": A **no** (the "except" rule).
    (Action::ManageOrgTokens,      [Y,     F,     F,     F,     F,     N,     F,     F,     F,     N,  N,                    N]),
    // "read / export audit log, list event types".
    (Action::ReadAuditLog,         [Y,     F,     F,     F,     F,     N,     F,     Y,     F,     N,  N,                    N]),
    // "create / list / delete own personal tokens": users yes (not tied to an org), every
    // token kind "no (403)".
    (Action::ManagePersonalTokens, [Y,     Y,     Y,     Y,     Y,     Y,     F,     F,     F,     F,  F,                    F]),
    // "create stack": P yes*, O yes*, A yes, T no; billing managers: no stacks.
    (Action::CreateStack,          [Y,     CS,    CS,    CS,    F,     N,     CS,    Y,     F,     N,  N,                    N]),
    // Transfer step 3 (destination): a user must be a member who may create stacks there;
    // an org token has rights only in its own org; an admin org token of another org only
    // when the destination accepts the source org. Member tokens / team tokens never.
    (Action::ReceiveStack,         [Y,     VisibleIf(CreateStacks), VisibleIf(CreateStacks), VisibleIf(CreateStacks),
                                                                   N,     N,     N,     Y,     N,     N,  VisibleIf(SourceAccepted), N]),
    // "list / get stacks, get stack state": by stack level; A and admins yes.
    (Action::ReadStack,            [ALWAYS, READ,  READ,  READ,  HIDDEN, HIDDEN, READ,  ALWAYS, READ,  HIDDEN, HIDDEN, HIDDEN]),
    // "set / delete stack tags": write.
    (Action::WriteStack,           [ALWAYS, WRITE, WRITE, WRITE, HIDDEN, HIDDEN, WRITE, ALWAYS, WRITE, HIDDEN, HIDDEN, HIDDEN]),
    // "delete stack": admin (and membersCanDeleteStacks for non-admins).
    (Action::DeleteStack,          [ALWAYS, ADMIN_AND_DELETE, ADMIN_AND_DELETE, ADMIN_AND_DELETE, HIDDEN, HIDDEN,
                                                                                ADMIN_AND_DELETE, ALWAYS, ADMIN_AND_DELETE, HIDDEN, HIDDEN, HIDDEN]),
    // "transfer stack": P stack admin and membersCanTransferStacks; O no; A yes; T no.
    (Action::TransferStack,        [ALWAYS, ADMIN_AND_TRANSFER, ADMIN_AND_TRANSFER, ADMIN_AND_TRANSFER, HIDDEN, HIDDEN,
                                                                                NEVER, ALWAYS, NEVER, HIDDEN, HIDDEN, HIDDEN]),
    // "rename, delete, transfer: admin" — rename needs no org policy flag.
    (Action::RenameStack,          [ALWAYS, ADMIN, ADMIN, ADMIN, HIDDEN, HIDDEN, ADMIN, ALWAYS, ADMIN, HIDDEN, HIDDEN, HIDDEN]),
    // Stack admin (103): "grant/revoke its team access via the stack-centric endpoint".
    (Action::ManageStackTeams,     [ALWAYS, ADMIN, ADMIN, ADMIN, HIDDEN, HIDDEN, ADMIN, ALWAYS, ADMIN, HIDDEN, HIDDEN, HIDDEN]),
    // State backend, "read": export, history, update status/events (and StackReference).
    (Action::ReadStackState,       [ALWAYS, READ,  READ,  READ,  HIDDEN, HIDDEN, READ,  ALWAYS, READ,  HIDDEN, HIDDEN, HIDDEN]),
    // "read": encrypt, batch-encrypt, decrypt, batch-decrypt, log-decryption.
    (Action::UseStackSecrets,      [ALWAYS, READ,  READ,  READ,  HIDDEN, HIDDEN, READ,  ALWAYS, READ,  HIDDEN, HIDDEN, HIDDEN]),
    // "read": `POST S/preview` and its start/events/complete.
    (Action::PreviewStack,         [ALWAYS, READ,  READ,  READ,  HIDDEN, HIDDEN, READ,  ALWAYS, READ,  HIDDEN, HIDDEN, HIDDEN]),
    // "write": update (also its dry-run pass), refresh, destroy, import, cancel.
    (Action::UpdateStack,          [ALWAYS, WRITE, WRITE, WRITE, HIDDEN, HIDDEN, WRITE, ALWAYS, WRITE, HIDDEN, HIDDEN, HIDDEN]),
];

// ---------------------------------------------------------------------------------------
// Stack cases: the explicit effective level per principal kind
// ---------------------------------------------------------------------------------------

pub struct StackCase {
    pub name: &'static str,
    pub default: StackPermission,
    pub team_grants: &'static [StackPermission],
    pub creator: bool,
    /// Expected effective level for: a member user (any team role), a member-scope org
    /// token, a team token. `None` = not a reachable situation for that principal (an org
    /// token belongs to no team; a team token has one team and cannot create stacks).
    pub member_user: Option<Lvl>,
    pub org_token: Option<Lvl>,
    pub team_token: Option<Lvl>,
}

pub const fn case(
    name: &'static str,
    default: StackPermission,
    team_grants: &'static [StackPermission],
    creator: bool,
    levels: [Option<Lvl>; 3],
) -> StackCase {
    StackCase {
        name,
        default,
        team_grants,
        creator,
        member_user: levels[0],
        org_token: levels[1],
        team_token: levels[2],
    }
}

pub const L0: Option<Lvl> = Some(Lvl::None);
pub const LR: Option<Lvl> = Some(Lvl::Read);
pub const LW: Option<Lvl> = Some(Lvl::Write);
pub const LA: Option<Lvl> = Some(Lvl::Admin);
pub const NA: Option<Lvl> = None;

pub use stackgate_store::StackPermission as SP;

#[rustfmt::skip]
pub const STACK_CASES: &[StackCase] = &[
    //    name                                     org default  team grants            creator  member  org-tok team-tok
    case("no grant, default 0 none",              SP::None,    &[],                   false,   [L0,     L0,     L0]),
    case("no grant, default 101 read",            SP::Read,    &[],                   false,   [LR,     LR,     LR]),
    case("no grant, default 102 write",           SP::Write,   &[],                   false,   [LW,     LW,     LW]),
    case("no grant, default 103 admin",           SP::Admin,   &[],                   false,   [LA,     LA,     LA]),
    case("team grant 0 none, default read",       SP::Read,    &[SP::None],           false,   [LR,     NA,     LR]),
    case("team grant read, default none",         SP::None,    &[SP::Read],           false,   [LR,     NA,     LR]),
    case("team grant write, default none",        SP::None,    &[SP::Write],          false,   [LW,     NA,     LW]),
    case("team grant admin, default none",        SP::None,    &[SP::Admin],          false,   [LA,     NA,     LA]),
    case("team grant read, default read",         SP::Read,    &[SP::Read],           false,   [LR,     NA,     LR]),
    case("team grant write, default read",        SP::Read,    &[SP::Write],          false,   [LW,     NA,     LW]),
    case("team grant admin, default read",        SP::Read,    &[SP::Admin],          false,   [LA,     NA,     LA]),
    case("team grant read, default write",        SP::Write,   &[SP::Read],           false,   [LW,     NA,     LW]),
    case("two teams admin+read, default none",    SP::None,    &[SP::Admin, SP::Read], false,  [LA,     NA,     NA]),
    case("two teams read+write, default none",    SP::None,    &[SP::Read, SP::Write], false,  [LW,     NA,     NA]),
    case("creator, default none",                 SP::None,    &[],                   true,    [LA,     LA,     NA]),
    case("creator, default read",                 SP::Read,    &[],                   true,    [LA,     LA,     NA]),
    case("creator + team read, default none",     SP::None,    &[SP::Read],           true,    [LA,     NA,     NA]),
];

/// Expected effective level of column `col` in `case`; `None` = not applicable.
pub fn expected_level(col: usize, case: &StackCase) -> Option<Lvl> {
    match col {
        // Org admin users and admin org tokens: admin on every stack of their org.
        0 | 7 => Some(Lvl::Admin),
        1..=3 => case.member_user,
        6 => case.org_token,
        8 => case.team_token,
        // Billing managers, non-members, principals of another org: no stacks.
        4 | 5 | 9..=11 => Some(Lvl::None),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub struct Conds {
    pub create_stacks: bool,
    pub create_teams: bool,
    pub delete_stacks: bool,
    pub transfer_stacks: bool,
    pub source_accepted: bool,
}

impl Conds {
    pub fn holds(self, c: Cond) -> bool {
        match c {
            CreateStacks => self.create_stacks,
            CreateTeams => self.create_teams,
            DeleteStacks => self.delete_stacks,
            TransferStacks => self.transfer_stacks,
            SourceAccepted => self.source_accepted,
        }
    }

    /// All 32 combinations.
    pub fn all() -> Vec<Conds> {
        (0u8..32)
            .map(|bits| Conds {
                create_stacks: bits & 1 != 0,
                create_teams: bits & 2 != 0,
                delete_stacks: bits & 4 != 0,
                transfer_stacks: bits & 8 != 0,
                source_accepted: bits & 16 != 0,
            })
            .collect()
    }

    pub fn policy(self, default: StackPermission) -> OrgPolicy {
        OrgPolicy {
            default_stack_permission: default,
            members_can_create_stacks: self.create_stacks,
            members_can_create_teams: self.create_teams,
            members_can_delete_stacks: self.delete_stacks,
            members_can_transfer_stacks: self.transfer_stacks,
        }
    }
}

type Verdict = Result<(), Denied>;

pub const ALLOW: Verdict = Ok(());
pub const NOT_FOUND: Verdict = Err(Denied::NotFound);
pub const FORBID_ROLE: Verdict = Err(Denied::Forbidden(Failure::OrgRole));
pub const FORBID_STACK: Verdict = Err(Denied::Forbidden(Failure::StackPermission));

/// The verdict a non-stack cell prescribes under `conds`.
pub fn org_expected(cell: Cell, conds: Conds) -> Option<Verdict> {
    match cell {
        Y => Some(ALLOW),
        F => Some(FORBID_ROLE),
        N => Some(NOT_FOUND),
        AllowIf(c) => Some(if conds.holds(c) { ALLOW } else { FORBID_ROLE }),
        VisibleIf(c) => Some(if conds.holds(c) { ALLOW } else { NOT_FOUND }),
        Stack(_) => None,
    }
}

/// The spec's generic stack rule: 404 below read, 403 when seen but insufficient, and
/// for transfers the order "cannot see → 404, may not → 403".
pub fn stack_expected(rule: StackRule, level: Lvl, conds: Conds) -> Verdict {
    let by_level = |need: Lvl| {
        if level < Lvl::Read {
            NOT_FOUND
        } else if level >= need {
            ALLOW
        } else {
            FORBID_STACK
        }
    };
    match rule {
        StackRule::Always => ALLOW,
        StackRule::Hidden => NOT_FOUND,
        StackRule::Level(need) => by_level(need),
        StackRule::LevelAnd(need, c) => match by_level(need) {
            Ok(()) if !conds.holds(c) => FORBID_ROLE,
            other => other,
        },
        StackRule::Never => {
            if level < Lvl::Read {
                NOT_FOUND
            } else {
                FORBID_ROLE
            }
        }
    }
}

pub fn table_map() -> HashMap<Action, [Cell; NCOLS]> {
    TABLE.iter().copied().collect()
}

/// Fails to compile when a variant is added to `Action` without a decision here; the
/// returned flag says whether the spec table treats it as a stack action.
pub fn spec_is_stack_action(action: Action) -> bool {
    match action {
        Action::ReadStack
        | Action::WriteStack
        | Action::DeleteStack
        | Action::RenameStack
        | Action::TransferStack
        | Action::ManageStackTeams
        | Action::ReadStackState
        | Action::UseStackSecrets
        | Action::PreviewStack
        | Action::UpdateStack => true,
        Action::ReadOrg
        | Action::UpdateOrgSettings
        | Action::ManageMembers
        | Action::CreateTeam
        | Action::UpdateTeam
        | Action::DeleteTeam
        | Action::ManageTeamStacks
        | Action::ManageTeamTokens
        | Action::ListOrgTokens
        | Action::ManageOrgTokens
        | Action::ReadAuditLog
        | Action::ManagePersonalTokens
        | Action::CreateStack
        | Action::ReceiveStack => false,
    }
}
