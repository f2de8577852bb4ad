//! Story chapters: users, rollback on drop, orgs with their settings, memberships.

use stackgate_store::{Org, OrgCounts, OrgRole, OrgSettings, StackPermission, Store};

use super::{
    assert_backend, assert_conflict, assert_not_found, attempt, begin, read, user, ACME, ALICE,
    BOB, CAROL, DAVE, GLOBEX,
};

pub(crate) async fn users(store: &dyn Store) {
    let mut tx = begin(store).await;
    for (id, login) in [
        (&ALICE, "alice"),
        (&BOB, "bob"),
        (&CAROL, "carol"),
        (&DAVE, "dave"),
    ] {
        tx.insert_user(&user(id.as_str(), login))
            .await
            .expect("insert user");
    }
    tx.commit().await.expect("commit users");

    let mut tx = read(store).await;
    assert_eq!(
        tx.user_by_login("alice").await.expect("by login"),
        Some(user(ALICE.as_str(), "alice"))
    );
    assert_eq!(
        tx.user_by_id(&BOB).await.expect("by id"),
        Some(user(BOB.as_str(), "bob"))
    );
    assert_eq!(tx.user_by_login("nobody").await.expect("by login"), None);
    assert_eq!(
        tx.user_by_id(&"u-nobody".into()).await.expect("by id"),
        None
    );
    drop(tx);

    let dup_login = user("u-other", "alice");
    assert_conflict(
        attempt(store, async |tx| tx.insert_user(&dup_login).await).await,
        "duplicate login",
    );
    let dup_id = user(ALICE.as_str(), "alice2");
    assert_conflict(
        attempt(store, async |tx| tx.insert_user(&dup_id).await).await,
        "duplicate user id",
    );

    let mut tx = begin(store).await;
    tx.set_site_admin(&ALICE, true)
        .await
        .expect("grant site admin");
    tx.set_site_admin(&BOB, true)
        .await
        .expect("grant site admin");
    tx.set_site_admin(&BOB, false)
        .await
        .expect("revoke site admin");
    tx.commit().await.expect("commit site admin");
    let mut tx = read(store).await;
    let alice = tx
        .user_by_id(&ALICE)
        .await
        .expect("read")
        .expect("alice exists");
    assert!(alice.site_admin, "site admin stored");
    let bob = tx
        .user_by_id(&BOB)
        .await
        .expect("read")
        .expect("bob exists");
    assert!(!bob.site_admin, "site admin revoked");
    drop(tx);
    assert_not_found(
        attempt(store, async |tx| {
            tx.set_site_admin(&"u-nobody".into(), true).await
        })
        .await,
        "site admin of an unknown user",
    );
}

pub(crate) async fn rollback_on_drop(store: &dyn Store) {
    let mut tx = begin(store).await;
    tx.insert_user(&user("u-ghost", "ghost"))
        .await
        .expect("insert ghost");
    let own = tx.user_by_login("ghost").await.expect("read own write");
    assert!(own.is_some(), "a tx sees its own write");
    let other = read(store)
        .await
        .user_by_login("ghost")
        .await
        .expect("read");
    assert!(
        other.is_none(),
        "an uncommitted write is invisible to readers"
    );
    drop(tx);

    let after = read(store)
        .await
        .user_by_login("ghost")
        .await
        .expect("read");
    assert!(after.is_none(), "a dropped tx rolled back");
    // The writer is usable again after the drop.
    let mut tx = begin(store).await;
    let again = tx.user_by_login("ghost").await.expect("read");
    assert!(again.is_none(), "still rolled back for the next writer");
}

pub(crate) fn acme() -> Org {
    Org {
        id: ACME.clone(),
        name: "acme".to_owned(),
        created: 2_000,
        settings: OrgSettings {
            default_stack_permission: StackPermission::Write,
            members_can_create_stacks: false,
            members_can_create_teams: false,
            members_can_delete_stacks: false,
            members_can_transfer_stacks: true,
            max_access_token_expiry_days: Some(30),
            accept_stack_transfers_from: vec!["globex".to_owned(), "initech".to_owned()],
            audit_log_retention_days: Some(90),
        },
    }
}

pub(crate) fn globex() -> Org {
    Org {
        id: GLOBEX.clone(),
        name: "globex".to_owned(),
        created: 2_001,
        settings: OrgSettings::default(),
    }
}

pub(crate) async fn orgs(store: &dyn Store) {
    let mut tx = begin(store).await;
    tx.insert_org(&globex()).await.expect("insert globex");
    tx.insert_org(&acme()).await.expect("insert acme");
    tx.commit().await.expect("commit orgs");

    let mut tx = read(store).await;
    assert_eq!(
        tx.org_by_name("acme").await.expect("by name"),
        Some(acme()),
        "settings roundtrip"
    );
    assert_eq!(tx.org_by_id(&GLOBEX).await.expect("by id"), Some(globex()));
    assert_eq!(tx.org_by_name("initech").await.expect("by name"), None);
    assert_eq!(tx.org_by_id(&"o-nope".into()).await.expect("by id"), None);
    drop(tx);

    let dup = Org {
        id: "o-other".into(),
        ..acme()
    };
    assert_conflict(
        attempt(store, async |tx| tx.insert_org(&dup).await).await,
        "duplicate org name",
    );

    let changed = OrgSettings {
        default_stack_permission: StackPermission::None,
        max_access_token_expiry_days: Some(7),
        ..OrgSettings::default()
    };
    let mut tx = begin(store).await;
    tx.update_org_settings(&GLOBEX, &changed)
        .await
        .expect("update settings");
    tx.commit().await.expect("commit settings");
    let globex_now = read(store)
        .await
        .org_by_id(&GLOBEX)
        .await
        .expect("read")
        .expect("globex");
    assert_eq!(globex_now.settings, changed, "updated settings roundtrip");
    let defaults = OrgSettings::default();
    let mut tx = begin(store).await;
    tx.update_org_settings(&GLOBEX, &defaults)
        .await
        .expect("reset settings");
    tx.commit().await.expect("commit settings");
    assert_not_found(
        attempt(store, async |tx| {
            tx.update_org_settings(&"o-nope".into(), &defaults).await
        })
        .await,
        "settings of an unknown org",
    );
}

pub(crate) async fn memberships(store: &dyn Store) {
    let mut tx = begin(store).await;
    // Alice joins globex first: user_memberships must order by name, not by insertion.
    for (org, user, role, created) in [
        (&GLOBEX, &ALICE, OrgRole::Admin, 3_000),
        (&ACME, &ALICE, OrgRole::Admin, 3_001),
        (&ACME, &DAVE, OrgRole::Member, 3_002),
        (&ACME, &BOB, OrgRole::Member, 3_003),
        (&ACME, &CAROL, OrgRole::BillingManager, 3_004),
        (&GLOBEX, &CAROL, OrgRole::Member, 3_005),
    ] {
        tx.insert_membership(org, user, role, created)
            .await
            .expect("member");
    }
    tx.commit().await.expect("commit memberships");

    let mut tx = read(store).await;
    assert_eq!(
        tx.membership(&ACME, &BOB).await.expect("role"),
        Some(OrgRole::Member)
    );
    assert_eq!(
        tx.membership(&ACME, &CAROL).await.expect("role"),
        Some(OrgRole::BillingManager)
    );
    assert_eq!(tx.membership(&GLOBEX, &BOB).await.expect("role"), None);

    let mine = tx.user_memberships(&ALICE).await.expect("user memberships");
    assert_eq!(
        mine,
        vec![(acme(), OrgRole::Admin), (globex(), OrgRole::Admin)]
    );
    assert_eq!(
        tx.user_memberships(&BOB).await.expect("memberships").len(),
        1
    );
    assert!(tx
        .user_memberships(&"u-nobody".into())
        .await
        .expect("memberships")
        .is_empty());

    let page = tx
        .list_members(&ACME, None, 2)
        .await
        .expect("members page 1");
    let logins: Vec<_> = page.iter().map(|m| m.user.login.as_str()).collect();
    assert_eq!(logins, ["alice", "bob"], "members ordered by login");
    assert_eq!(page[0].user, {
        let mut alice = user(ALICE.as_str(), "alice");
        alice.site_admin = true;
        alice
    });
    assert_eq!((page[0].role, page[0].created), (OrgRole::Admin, 3_001));
    assert_eq!((page[1].role, page[1].created), (OrgRole::Member, 3_003));
    let page = tx
        .list_members(&ACME, Some("bob"), 2)
        .await
        .expect("members page 2");
    let logins: Vec<_> = page.iter().map(|m| m.user.login.as_str()).collect();
    assert_eq!(logins, ["carol", "dave"], "after_login is exclusive");
    assert!(tx
        .list_members(&ACME, Some("dave"), 2)
        .await
        .expect("page 3")
        .is_empty());
    assert_eq!(
        tx.list_members(&ACME, None, 100).await.expect("all").len(),
        4
    );
    assert_eq!(
        tx.list_members(&GLOBEX, None, 100)
            .await
            .expect("all")
            .len(),
        2
    );
    let counts = tx.org_counts(&ACME).await.expect("counts");
    assert_eq!(
        counts,
        OrgCounts {
            members: 4,
            stacks: 0
        }
    );
    assert_eq!(tx.count_admins(&ACME).await.expect("admins"), 1);
    drop(tx);

    assert_conflict(
        attempt(store, async |tx| {
            tx.insert_membership(&ACME, &BOB, OrgRole::Admin, 1).await
        })
        .await,
        "duplicate membership",
    );
    assert_backend(
        attempt(store, async |tx| {
            tx.insert_membership(&"o-nope".into(), &BOB, OrgRole::Admin, 1)
                .await
        })
        .await,
        "membership of an unknown org (foreign keys enforced)",
    );

    let mut tx = begin(store).await;
    tx.set_member_role(&ACME, &BOB, OrgRole::Admin)
        .await
        .expect("promote bob");
    tx.commit().await.expect("commit role");
    let mut tx = read(store).await;
    assert_eq!(
        tx.membership(&ACME, &BOB).await.expect("role"),
        Some(OrgRole::Admin)
    );
    assert_eq!(tx.count_admins(&ACME).await.expect("admins"), 2);
    assert_eq!(tx.count_admins(&GLOBEX).await.expect("admins"), 1);
    drop(tx);
    assert_not_found(
        attempt(store, async |tx| {
            tx.set_member_role(&GLOBEX, &BOB, OrgRole::Admin).await
        })
        .await,
        "role of a non-member",
    );
    // delete_membership is exercised in the teams chapter, where its team cleanup shows.
}
