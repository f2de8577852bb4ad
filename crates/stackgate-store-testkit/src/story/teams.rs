//! Story chapter: teams, team members, and `delete_membership` dropping team seats.

use stackgate_store::{OrgRole, Store, Team, TeamRole};

use super::{
    assert_conflict, assert_not_found, attempt, begin, read, user, ACME, BOB, CAROL, DAVE, DEV,
    GLOBEX, GLOBEX_OPS, OPS,
};

pub(crate) fn team(id: &str, org_id: &str, name: &str) -> Team {
    Team {
        id: id.into(),
        org_id: org_id.into(),
        name: name.to_owned(),
        display_name: format!("The {name} team"),
        description: format!("{name} of {org_id}"),
        created: 3_500,
    }
}

/// The acme dev team after its rename below.
pub(crate) fn devs() -> Team {
    Team {
        name: "devs".to_owned(),
        display_name: "Developers".to_owned(),
        description: "builds things".to_owned(),
        ..team(DEV.as_str(), ACME.as_str(), "dev")
    }
}

pub(crate) async fn teams_and_members(store: &dyn Store) {
    let ops = team(OPS.as_str(), ACME.as_str(), "ops");
    let mut tx = begin(store).await;
    tx.insert_team(&ops).await.expect("insert ops");
    tx.insert_team(&team(DEV.as_str(), ACME.as_str(), "dev"))
        .await
        .expect("insert dev");
    // Same name in another org is fine.
    tx.insert_team(&team(GLOBEX_OPS.as_str(), GLOBEX.as_str(), "ops"))
        .await
        .expect("insert globex ops");
    tx.commit().await.expect("commit teams");

    let dup = team("t-other", ACME.as_str(), "ops");
    assert_conflict(
        attempt(store, async |tx| tx.insert_team(&dup).await).await,
        "duplicate team name in one org",
    );

    let mut tx = read(store).await;
    assert_eq!(
        tx.team_by_name(&ACME, "ops").await.expect("by name"),
        Some(ops.clone())
    );
    assert_eq!(
        tx.team_by_name(&GLOBEX, "ops").await.expect("by name"),
        Some(team(GLOBEX_OPS.as_str(), GLOBEX.as_str(), "ops"))
    );
    assert_eq!(
        tx.team_by_name(&GLOBEX, "dev").await.expect("by name"),
        None
    );
    assert_eq!(
        tx.team_by_id(&DEV).await.expect("by id"),
        Some(team(DEV.as_str(), ACME.as_str(), "dev"))
    );
    assert_eq!(tx.team_by_id(&"t-nope".into()).await.expect("by id"), None);
    let names: Vec<_> = tx
        .list_teams(&ACME)
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["dev", "ops"], "teams ordered by name");
    drop(tx);

    // Rename dev → devs; org and creation time are not the update's business.
    let mut tx = begin(store).await;
    tx.update_team(&devs()).await.expect("update team");
    tx.commit().await.expect("commit update");
    let mut tx = read(store).await;
    assert_eq!(tx.team_by_id(&DEV).await.expect("by id"), Some(devs()));
    assert_eq!(tx.team_by_name(&ACME, "dev").await.expect("by name"), None);
    drop(tx);
    let clash = Team {
        name: "ops".to_owned(),
        ..devs()
    };
    assert_conflict(
        attempt(store, async |tx| tx.update_team(&clash).await).await,
        "rename onto an existing team name",
    );
    let ghost = team("t-nope", ACME.as_str(), "ghost");
    assert_not_found(
        attempt(store, async |tx| tx.update_team(&ghost).await).await,
        "update of an unknown team",
    );

    // Members: upsert inserts, then updates the role.
    let mut tx = begin(store).await;
    for (team, user, role, what) in [
        (&OPS, &BOB, TeamRole::Member, "add bob"),
        (&OPS, &BOB, TeamRole::Admin, "promote bob"),
        (&OPS, &CAROL, TeamRole::Member, "add carol"),
        (&DEV, &CAROL, TeamRole::Member, "add carol"),
        (&DEV, &DAVE, TeamRole::Member, "add dave"),
        (&GLOBEX_OPS, &CAROL, TeamRole::Admin, "add carol"),
    ] {
        tx.upsert_team_member(team, user, role).await.expect(what);
    }
    tx.commit().await.expect("commit members");

    let mut tx = read(store).await;
    assert_eq!(
        tx.team_role(&OPS, &BOB).await.expect("role"),
        Some(TeamRole::Admin)
    );
    assert_eq!(tx.team_role(&OPS, &DAVE).await.expect("role"), None);
    assert_eq!(
        tx.team_members(&OPS).await.expect("members"),
        vec![
            (user(BOB.as_str(), "bob"), TeamRole::Admin),
            (user(CAROL.as_str(), "carol"), TeamRole::Member)
        ],
        "team members ordered by login, with roles"
    );
    assert_eq!(
        tx.user_teams(&ACME, &CAROL).await.expect("user teams"),
        vec![(devs(), TeamRole::Member), (ops.clone(), TeamRole::Member)],
        "only that org's teams, ordered by name"
    );
    assert_eq!(
        tx.user_teams(&GLOBEX, &CAROL).await.expect("user teams"),
        vec![(
            team(GLOBEX_OPS.as_str(), GLOBEX.as_str(), "ops"),
            TeamRole::Admin
        )]
    );
    assert!(tx
        .user_teams(&GLOBEX, &BOB)
        .await
        .expect("user teams")
        .is_empty());
    drop(tx);

    let mut tx = begin(store).await;
    tx.delete_team_member(&DEV, &DAVE)
        .await
        .expect("remove dave");
    tx.commit().await.expect("commit removal");
    assert_eq!(
        read(store)
            .await
            .team_role(&DEV, &DAVE)
            .await
            .expect("role"),
        None
    );
    assert_not_found(
        attempt(store, async |tx| tx.delete_team_member(&DEV, &DAVE).await).await,
        "removal of a non-member",
    );

    // Leaving acme takes carol out of acme's teams, not out of globex's.
    let mut tx = begin(store).await;
    tx.delete_membership(&ACME, &CAROL)
        .await
        .expect("carol leaves acme");
    tx.commit().await.expect("commit leave");
    let mut tx = read(store).await;
    assert_eq!(tx.membership(&ACME, &CAROL).await.expect("role"), None);
    assert!(tx
        .user_teams(&ACME, &CAROL)
        .await
        .expect("user teams")
        .is_empty());
    assert_eq!(
        tx.user_teams(&GLOBEX, &CAROL)
            .await
            .expect("user teams")
            .len(),
        1
    );
    assert_eq!(
        tx.membership(&GLOBEX, &CAROL).await.expect("role"),
        Some(OrgRole::Member)
    );
    assert_eq!(
        tx.team_members(&OPS).await.expect("members"),
        vec![(user(BOB.as_str(), "bob"), TeamRole::Admin)]
    );
    assert_eq!(tx.org_counts(&ACME).await.expect("counts").members, 3);
    drop(tx);
    assert_not_found(
        attempt(store, async |tx| tx.delete_membership(&ACME, &CAROL).await).await,
        "leaving an org one is not in",
    );
}
