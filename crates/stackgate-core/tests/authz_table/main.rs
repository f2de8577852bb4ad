//! The permission table (the model is stated in `stackgate_core::authz`), written out by hand, checked
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

mod levels;
mod table;

use stackgate_core::authz::{check, stack_level, Action, Actor, Facts, OrgPolicy, StackFacts};
use stackgate_store::{OrgRole, OrgSettings};
use std::collections::HashSet;

use table::*;

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
        "{} disagreement(s) with the permission table:\n{}",
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
