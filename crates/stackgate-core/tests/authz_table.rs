//! The permission table of `shared/design/permissions.md`, written out by hand, checked
//! against `stackgate_core::authz::check` for every principal kind × every action.
//!
//! The expected verdicts are NOT computed by re-implementing the decision: they are the
//! cells of [`TABLE`] (rows = actions, columns = principal kinds, see [`PRINCIPALS`]) and,
//! for stack actions, the explicit effective levels of [`STACK_CASES`]. The only rules the
//! test applies on its own are the spec's generic ones: 404 when the principal cannot see
//! the target (a stack below read), 403 when it can see it but lacks the permission, and
//! the transfer order (cannot see → 404, may not transfer → 403).
//!
//! Convention for the kind of 403: a missing stack level is `Failure::StackPermission`;
//! a missing org role, token scope or org policy flag is `Failure::OrgRole`.

use std::collections::{HashMap, HashSet};

use stackgate_core::authz::{
    check, stack_level, Action, Actor, Denied, Facts, Failure, OrgPolicy, StackFacts,
};
use stackgate_store::{OrgRole, OrgSettings, StackPermission, TeamRole};

// ---------------------------------------------------------------------------------------
// Principal kinds (the columns of the table)
// ---------------------------------------------------------------------------------------

struct Principal {
    name: &'static str,
    actor: Actor,
    /// The principal's role in the team the action targets.
    team_role: Option<TeamRole>,
}

const fn user(role: Option<OrgRole>, team_role: Option<TeamRole>, name: &'static str) -> Principal {
    Principal {
        name,
        actor: Actor::User { role },
        team_role,
    }
}

const NCOLS: usize = 12;

/// Column order of [`TABLE`] and of the stack-level columns.
const PRINCIPALS: [Principal; NCOLS] = [
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
enum Cond {
    CreateStacks,
    CreateTeams,
    DeleteStacks,
    TransferStacks,
    SourceAccepted,
}

/// A test-local, spec-given order of stack levels ("creator counts as admin").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lvl {
    None,
    Read,
    Write,
    Admin,
}

/// The spec's mapping of wire levels to effective levels (creator = admin).
fn lvl_of(p: StackPermission) -> Lvl {
    match p {
        StackPermission::None => Lvl::None,
        StackPermission::Read => Lvl::Read,
        StackPermission::Write => Lvl::Write,
        StackPermission::Admin | StackPermission::Creator => Lvl::Admin,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
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
enum StackRule {
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

use Cell::{AllowIf, Stack, VisibleIf, F, N, Y};
use Cond::{CreateStacks, CreateTeams, DeleteStacks, SourceAccepted, TransferStacks};

const ALWAYS: Cell = Stack(StackRule::Always);
const HIDDEN: Cell = Stack(StackRule::Hidden);
const NEVER: Cell = Stack(StackRule::Never);
const READ: Cell = Stack(StackRule::Level(Lvl::Read));
const WRITE: Cell = Stack(StackRule::Level(Lvl::Write));
const ADMIN: Cell = Stack(StackRule::Level(Lvl::Admin));
const ADMIN_AND_DELETE: Cell = Stack(StackRule::LevelAnd(Lvl::Admin, DeleteStacks));
const ADMIN_AND_TRANSFER: Cell = Stack(StackRule::LevelAnd(Lvl::Admin, TransferStacks));
const CS: Cell = AllowIf(CreateStacks);
const CT: Cell = AllowIf(CreateTeams);

// ---------------------------------------------------------------------------------------
// THE TABLE (from permissions.md)
// ---------------------------------------------------------------------------------------

/// Columns:
///  0 admin user | 1 member | 2 member+team admin | 3 member+team member | 4 billing mgr |
///  5 non-member | 6 org tok (member) | 7 org tok (admin) | 8 team tok |
///  9 other-org org tok (member) | 10 other-org org tok (admin) | 11 other-org team tok
#[rustfmt::skip]
const TABLE: &[(Action, [Cell; NCOLS])] = &[
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
    // Stack admin (103): "grant/revoke its team access via the stack-centric endpoint".
    (Action::ManageStackTeams,     [ALWAYS, ADMIN, ADMIN, ADMIN, HIDDEN, HIDDEN, ADMIN, ALWAYS, ADMIN, HIDDEN, HIDDEN, HIDDEN]),
];

// ---------------------------------------------------------------------------------------
// Stack cases: the explicit effective level per principal kind
// ---------------------------------------------------------------------------------------

struct StackCase {
    name: &'static str,
    default: StackPermission,
    team_grants: &'static [StackPermission],
    creator: bool,
    /// Expected effective level for: a member user (any team role), a member-scope org
    /// token, a team token. `None` = not a reachable situation for that principal (an org
    /// token belongs to no team; a team token has one team and cannot create stacks).
    member_user: Option<Lvl>,
    org_token: Option<Lvl>,
    team_token: Option<Lvl>,
}

const fn case(
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

const L0: Option<Lvl> = Some(Lvl::None);
const LR: Option<Lvl> = Some(Lvl::Read);
const LW: Option<Lvl> = Some(Lvl::Write);
const LA: Option<Lvl> = Some(Lvl::Admin);
const NA: Option<Lvl> = None;

use StackPermission as SP;

#[rustfmt::skip]
const STACK_CASES: &[StackCase] = &[
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
fn expected_level(col: usize, case: &StackCase) -> Option<Lvl> {
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
struct Conds {
    create_stacks: bool,
    create_teams: bool,
    delete_stacks: bool,
    transfer_stacks: bool,
    source_accepted: bool,
}

impl Conds {
    fn holds(self, c: Cond) -> bool {
        match c {
            CreateStacks => self.create_stacks,
            CreateTeams => self.create_teams,
            DeleteStacks => self.delete_stacks,
            TransferStacks => self.transfer_stacks,
            SourceAccepted => self.source_accepted,
        }
    }

    /// All 32 combinations.
    fn all() -> Vec<Conds> {
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

    fn policy(self, default: StackPermission) -> OrgPolicy {
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

const ALLOW: Verdict = Ok(());
const NOT_FOUND: Verdict = Err(Denied::NotFound);
const FORBID_ROLE: Verdict = Err(Denied::Forbidden(Failure::OrgRole));
const FORBID_STACK: Verdict = Err(Denied::Forbidden(Failure::StackPermission));

/// The verdict a non-stack cell prescribes under `conds`.
fn org_expected(cell: Cell, conds: Conds) -> Option<Verdict> {
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
fn stack_expected(rule: StackRule, level: Lvl, conds: Conds) -> Verdict {
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

fn table_map() -> HashMap<Action, [Cell; NCOLS]> {
    TABLE.iter().copied().collect()
}

/// Fails to compile when a variant is added to `Action` without a decision here; the
/// returned flag says whether the spec table treats it as a stack action.
fn spec_is_stack_action(action: Action) -> bool {
    match action {
        Action::ReadStack
        | Action::WriteStack
        | Action::DeleteStack
        | Action::TransferStack
        | Action::ManageStackTeams => true,
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

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn table_covers_every_action_exactly_once() {
    let all: HashSet<Action> = Action::ALL.into_iter().collect();
    assert_eq!(all.len(), Action::ALL.len(), "Action::ALL has duplicates");

    let map = table_map();
    assert_eq!(
        map.len(),
        TABLE.len(),
        "the table has duplicate rows for some action"
    );
    for action in Action::ALL {
        assert!(
            map.contains_key(&action),
            "no row in the permission table for {action:?} ({})",
            action.name()
        );
    }
    for (action, _) in TABLE {
        assert!(
            all.contains(action),
            "table row {action:?} is not in Action::ALL"
        );
    }
    assert_eq!(map.len(), Action::ALL.len(), "extra rows in the table");

    // Stack cells appear exactly in the rows of stack actions, and the crate agrees on
    // which actions those are.
    for (action, cells) in TABLE {
        let spec_stack = spec_is_stack_action(*action);
        assert_eq!(
            action.is_stack_action(),
            spec_stack,
            "{action:?}: is_stack_action disagrees with the spec"
        );
        for (col, cell) in cells.iter().enumerate() {
            assert_eq!(
                matches!(cell, Stack(_)),
                spec_stack,
                "{action:?}, column {col} ({}): stack cell in a non-stack row or vice versa",
                PRINCIPALS[col].name
            );
        }
    }
}

#[test]
fn authz_matches_the_spec_table() {
    let map = table_map();
    let mut checked = 0usize;
    let mut failures: Vec<String> = Vec::new();

    for action in Action::ALL {
        let Some(cells) = map.get(&action) else {
            failures.push(format!("{action:?}: no row in the table"));
            continue;
        };
        for (col, principal) in PRINCIPALS.iter().enumerate() {
            let cell = cells[col];
            for conds in Conds::all() {
                match cell {
                    Stack(rule) => {
                        for case in STACK_CASES {
                            let Some(level) = expected_level(col, case) else {
                                continue;
                            };
                            let mut facts = Facts::new(principal.actor, conds.policy(case.default))
                                .with_team_role(principal.team_role)
                                .with_stack(StackFacts {
                                    team_grants: case.team_grants.to_vec(),
                                    creator: case.creator,
                                });
                            facts.transfer_source_accepted = conds.source_accepted;
                            let want = stack_expected(rule, level, conds);
                            let got = check(action, &facts);
                            checked += 1;
                            if got != want {
                                failures.push(format!(
                                    "{} / {} / {} / {conds:?}: spec {want:?}, check() {got:?}",
                                    principal.name,
                                    action.name(),
                                    case.name
                                ));
                            }
                        }
                    }
                    _ => {
                        let Some(want) = org_expected(cell, conds) else {
                            continue;
                        };
                        for default in [SP::None, SP::Read] {
                            let mut facts = Facts::new(principal.actor, conds.policy(default))
                                .with_team_role(principal.team_role);
                            facts.transfer_source_accepted = conds.source_accepted;
                            let got = check(action, &facts);
                            checked += 1;
                            if got != want {
                                failures.push(format!(
                                    "{} / {} / default {default:?} / {conds:?}: spec {want:?}, check() {got:?}",
                                    principal.name,
                                    action.name()
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    println!("authz table: {checked} (principal, action, case) rows checked");
    assert!(checked > 0);
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with permissions.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn stack_level_matches_the_explicit_levels() {
    let mut failures: Vec<String> = Vec::new();
    for (col, principal) in PRINCIPALS.iter().enumerate() {
        for case in STACK_CASES {
            let Some(want) = expected_level(col, case) else {
                continue;
            };
            let policy = OrgPolicy {
                default_stack_permission: case.default,
                ..OrgPolicy::default()
            };
            let stack = StackFacts {
                team_grants: case.team_grants.to_vec(),
                creator: case.creator,
            };
            let got = stack_level(principal.actor, &policy, &stack);
            if lvl_of(got) != want {
                failures.push(format!(
                    "{} / {}: spec {want:?}, stack_level {got:?}",
                    principal.name, case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Spot checks of the headline rules, spelled out one by one.
#[test]
fn headline_rules() {
    let member = Actor::User {
        role: Some(OrgRole::Member),
    };
    let org_tok = Actor::OrgToken {
        admin: false,
        own_org: true,
    };
    let admin_tok = Actor::OrgToken {
        admin: true,
        own_org: true,
    };
    let read_only_team = StackFacts {
        team_grants: vec![SP::Read],
        creator: false,
    };
    let no_default = OrgPolicy {
        default_stack_permission: SP::None,
        ..OrgPolicy::default()
    };

    // A read-only team writing tags: 403 (stack permission).
    let f = Facts::new(Actor::TeamToken { own_org: true }, no_default)
        .with_stack(read_only_team.clone());
    assert_eq!(check(Action::WriteStack, &f), FORBID_STACK);
    // A stack below read is hidden: 404.
    let f = Facts::new(member, no_default).with_stack(StackFacts::default());
    assert_eq!(check(Action::ReadStack, &f), NOT_FOUND);
    // A member reading audit logs: 403.
    assert_eq!(
        check(
            Action::ReadAuditLog,
            &Facts::new(member, OrgPolicy::default())
        ),
        FORBID_ROLE
    );
    // Admin org tokens can never create or delete org tokens, but list them.
    let f = Facts::new(admin_tok, OrgPolicy::default());
    assert_eq!(check(Action::ManageOrgTokens, &f), FORBID_ROLE);
    assert_eq!(check(Action::ListOrgTokens, &f), ALLOW);
    // Transfer is off for members by default, even with stack admin.
    let creator = StackFacts {
        team_grants: Vec::new(),
        creator: true,
    };
    let f = Facts::new(member, OrgPolicy::default()).with_stack(creator.clone());
    assert_eq!(check(Action::TransferStack, &f), FORBID_ROLE);
    // Member org tokens never transfer, even stacks they created.
    let f = Facts::new(
        org_tok,
        OrgPolicy {
            members_can_transfer_stacks: true,
            ..OrgPolicy::default()
        },
    )
    .with_stack(creator);
    assert_eq!(check(Action::TransferStack, &f), FORBID_ROLE);
    // ...and get 404 for a stack they cannot see.
    let f = Facts::new(org_tok, no_default).with_stack(StackFacts::default());
    assert_eq!(check(Action::TransferStack, &f), NOT_FOUND);
    // Destination: an admin token of another org only when the source org is accepted.
    let foreign_admin_tok = Actor::OrgToken {
        admin: true,
        own_org: false,
    };
    let mut f = Facts::new(foreign_admin_tok, OrgPolicy::default());
    assert_eq!(check(Action::ReceiveStack, &f), NOT_FOUND);
    f.transfer_source_accepted = true;
    assert_eq!(check(Action::ReceiveStack, &f), ALLOW);
    // The accept list opens the destination to admin org tokens only.
    for actor in [
        Actor::User { role: None },
        Actor::OrgToken {
            admin: false,
            own_org: false,
        },
        Actor::TeamToken { own_org: false },
    ] {
        let mut f = Facts::new(actor, OrgPolicy::default());
        f.transfer_source_accepted = true;
        assert_eq!(check(Action::ReceiveStack, &f), NOT_FOUND, "{actor:?}");
    }
}

#[test]
fn org_policy_defaults_follow_the_spec() {
    let p = OrgPolicy::default();
    assert_eq!(p.default_stack_permission, SP::Read, "default 101 read");
    assert!(
        p.members_can_create_stacks,
        "membersCanCreateStacks default true"
    );
    assert!(
        p.members_can_create_teams,
        "membersCanCreateTeams default true"
    );
    assert!(
        !p.members_can_transfer_stacks,
        "membersCanTransferStacks default off"
    );
    assert_eq!(OrgPolicy::from(&OrgSettings::default()), p);
}

// ---------------------------------------------------------------------------------------
// StackPermission helpers (model.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn stack_permission_codes() {
    #[rustfmt::skip]
    let codes: [(SP, i64); 5] = [
        (SP::None, 0), (SP::Read, 101), (SP::Write, 102), (SP::Admin, 103), (SP::Creator, 104),
    ];
    for (p, code) in codes {
        assert_eq!(p.code(), code);
        assert_eq!(SP::from_code(code), Some(p));
        assert_eq!(i64::from(p), code);
        assert_eq!(SP::try_from(code), Ok(p));
        match serde_json::to_string(&p) {
            Ok(s) => assert_eq!(s, code.to_string()),
            Err(e) => panic!("serialize {p:?}: {e}"),
        }
        match serde_json::from_str::<SP>(&code.to_string()) {
            Ok(back) => assert_eq!(back, p),
            Err(e) => panic!("deserialize {code}: {e}"),
        }
    }
    for bad in [-1, 1, 100, 105, 200] {
        assert_eq!(SP::from_code(bad), None, "code {bad}");
        assert!(SP::try_from(bad).is_err(), "code {bad}");
        assert!(serde_json::from_str::<SP>(&bad.to_string()).is_err());
    }
}

#[test]
fn stack_permission_allows_table() {
    // Row `have`, column `needed`: None, Read, Write, Admin, Creator.
    // Creator counts as admin: creator allows admin, and admin allows creator.
    #[rustfmt::skip]
    let table: [(SP, [bool; 5]); 5] = [
        //              None   Read   Write  Admin  Creator
        (SP::None,    [true,  false, false, false, false]),
        (SP::Read,    [true,  true,  false, false, false]),
        (SP::Write,   [true,  true,  true,  false, false]),
        (SP::Admin,   [true,  true,  true,  true,  true ]),
        (SP::Creator, [true,  true,  true,  true,  true ]),
    ];
    for (have, row) in table {
        for (needed, want) in SP::ALL.into_iter().zip(row) {
            assert_eq!(have.allows(needed), want, "{have:?}.allows({needed:?})");
        }
    }
}

#[test]
fn stack_permission_rank_and_max() {
    // rank: explicit order, creator with admin.
    assert_eq!(SP::Admin.rank(), SP::Creator.rank());
    assert!(SP::None.rank() < SP::Read.rank());
    assert!(SP::Read.rank() < SP::Write.rank());
    assert!(SP::Write.rank() < SP::Admin.rank());

    // max, as effective levels (ties between admin and creator may return either).
    #[rustfmt::skip]
    let table: [(SP, [Lvl; 5]); 5] = [
        //              None        Read        Write       Admin       Creator
        (SP::None,    [Lvl::None,  Lvl::Read,  Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Read,    [Lvl::Read,  Lvl::Read,  Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Write,   [Lvl::Write, Lvl::Write, Lvl::Write, Lvl::Admin, Lvl::Admin]),
        (SP::Admin,   [Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin]),
        (SP::Creator, [Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin, Lvl::Admin]),
    ];
    for (a, row) in table {
        for (b, want) in SP::ALL.into_iter().zip(row) {
            assert_eq!(lvl_of(a.max(b)), want, "{a:?}.max({b:?})");
            assert_eq!(lvl_of(b.max(a)), want, "{b:?}.max({a:?}) (symmetry)");
        }
    }
    // max never invents a level: it returns one of its arguments.
    for a in SP::ALL {
        for b in SP::ALL {
            let m = a.max(b);
            assert!(m == a || m == b, "{a:?}.max({b:?}) = {m:?}");
        }
    }
}
