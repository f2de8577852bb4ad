//! Story chapters: stacks with tags, filters and keyset paging; team grants; moving a
//! stack between orgs (which drops its grants); deleting stacks.

use stackgate_store::{OrgCounts, OrgId, Stack, StackFilter, StackPermission, Store, Tags};

use super::teams::devs;
use super::{
    assert_conflict, assert_not_found, attempt, begin, read, ACME, ALICE, DEV, GLOBEX, OPS,
};

pub(crate) const WEB_PROD: &str = "s-web-prod";
pub(crate) const WEB_DEV: &str = "s-web-dev";
pub(crate) const API_PROD: &str = "s-api-prod";
pub(crate) const API_STAGING: &str = "s-api-staging";
pub(crate) const GX_WEB_PROD: &str = "s-gx-web-prod";

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A stack as a read returns it (`org_name` filled in).
fn stack(id: &str, org: &str, project: &str, name: &str, tag_pairs: &[(&str, &str)]) -> Stack {
    let (org_id, org_name): (&OrgId, &str) = if org == "acme" {
        (&ACME, "acme")
    } else {
        (&GLOBEX, "globex")
    };
    Stack {
        id: id.into(),
        org_id: org_id.clone(),
        org_name: org_name.to_owned(),
        project: project.to_owned(),
        name: name.to_owned(),
        tags: tags(tag_pairs),
        creator_user_id: Some(ALICE.clone()),
        creator_token_id: None,
        created: 4_000,
        version: 3,
        last_update: None,
        resource_count: None,
    }
}

fn all_stacks() -> Vec<Stack> {
    vec![
        stack(
            WEB_PROD,
            "acme",
            "web",
            "prod",
            &[("env", "prod"), ("owner", "alice")],
        ),
        stack(WEB_DEV, "acme", "web", "dev", &[("env", "dev")]),
        stack(API_PROD, "acme", "api", "prod", &[("env", "prod")]),
        Stack {
            creator_user_id: None,
            creator_token_id: Some("tok-creator".into()),
            version: 0,
            last_update: None,
            resource_count: None,
            ..stack(API_STAGING, "acme", "api", "staging", &[])
        },
        stack(GX_WEB_PROD, "globex", "web", "prod", &[("region", "eu")]),
    ]
}

fn filter(org_ids: &[&OrgId]) -> StackFilter {
    StackFilter {
        org_ids: org_ids.iter().map(|id| (*id).clone()).collect(),
        limit: 100,
        ..StackFilter::default()
    }
}

async fn list_ids(store: &dyn Store, filter: &StackFilter) -> Vec<String> {
    let stacks = read(store)
        .await
        .list_stacks(filter)
        .await
        .expect("list stacks");
    stacks.into_iter().map(|s| s.id.into()).collect()
}

pub(crate) async fn stacks_and_filters(store: &dyn Store) {
    let mut tx = begin(store).await;
    for s in all_stacks() {
        // org_name is the read side's business; inserts ignore it.
        let written = Stack {
            org_name: "ignored".to_owned(),
            ..s
        };
        tx.insert_stack(&written).await.expect("insert stack");
    }
    tx.commit().await.expect("commit stacks");

    let mut tx = read(store).await;
    for s in all_stacks() {
        let got = tx
            .stack(&s.org_id, &s.project, &s.name)
            .await
            .expect("stack");
        assert_eq!(
            got.as_ref(),
            Some(&s),
            "stack roundtrip with tags and org name"
        );
    }
    assert_eq!(tx.stack(&ACME, "web", "nope").await.expect("stack"), None);
    assert_eq!(tx.stack(&GLOBEX, "api", "prod").await.expect("stack"), None);
    assert!(tx.project_exists(&ACME, "web").await.expect("project"));
    assert!(!tx.project_exists(&ACME, "nope").await.expect("project"));
    assert!(!tx.project_exists(&GLOBEX, "api").await.expect("project"));
    let org_stacks: Vec<_> = tx
        .org_stacks(&ACME)
        .await
        .expect("org stacks")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(org_stacks, [API_PROD, API_STAGING, WEB_DEV, WEB_PROD]);
    let counts = tx.org_counts(&ACME).await.expect("counts");
    assert_eq!(
        counts,
        OrgCounts {
            members: 3,
            stacks: 4
        }
    );
    drop(tx);

    let dup = Stack {
        id: "s-other".into(),
        ..stack(WEB_PROD, "acme", "web", "prod", &[])
    };
    assert_conflict(
        attempt(store, async |tx| tx.insert_stack(&dup).await).await,
        "duplicate (org, project, stack)",
    );

    // Filters.
    assert!(
        list_ids(store, &filter(&[])).await.is_empty(),
        "no orgs, no stacks"
    );
    let everything = [API_PROD, API_STAGING, WEB_DEV, WEB_PROD, GX_WEB_PROD];
    assert_eq!(list_ids(store, &filter(&[&ACME])).await, everything[..4]);
    assert_eq!(
        list_ids(store, &filter(&[&GLOBEX, &ACME])).await,
        everything,
        "org name order"
    );
    let by = |f: fn(&mut StackFilter)| {
        let mut all = filter(&[&ACME, &GLOBEX]);
        f(&mut all);
        all
    };
    let web = by(|f| f.project = Some("web".to_owned()));
    assert_eq!(
        list_ids(store, &web).await,
        [WEB_DEV, WEB_PROD, GX_WEB_PROD]
    );
    let env = by(|f| f.tag_name = Some("env".to_owned()));
    assert_eq!(list_ids(store, &env).await, [API_PROD, WEB_DEV, WEB_PROD]);
    let env_prod = by(|f| {
        f.tag_name = Some("env".to_owned());
        f.tag_value = Some("prod".to_owned());
    });
    assert_eq!(list_ids(store, &env_prod).await, [API_PROD, WEB_PROD]);
    let owner_prod = by(|f| {
        f.tag_name = Some("owner".to_owned());
        f.tag_value = Some("prod".to_owned());
    });
    assert!(
        list_ids(store, &owner_prod).await.is_empty(),
        "value must be on the named tag"
    );
    let any_prod = by(|f| f.tag_value = Some("prod".to_owned()));
    assert_eq!(list_ids(store, &any_prod).await, [API_PROD, WEB_PROD]);
    let any_eu = by(|f| f.tag_value = Some("eu".to_owned()));
    assert_eq!(list_ids(store, &any_eu).await, [GX_WEB_PROD]);
    let web_env = by(|f| {
        f.project = Some("web".to_owned());
        f.tag_name = Some("env".to_owned());
    });
    assert_eq!(list_ids(store, &web_env).await, [WEB_DEV, WEB_PROD]);
    let mut acme_region = filter(&[&ACME]);
    acme_region.tag_name = Some("region".to_owned());
    assert!(
        list_ids(store, &acme_region).await.is_empty(),
        "org filter applies with tags"
    );

    // Keyset paging over everything, two at a time.
    let mut pages = Vec::new();
    let mut page_filter = filter(&[&ACME, &GLOBEX]);
    page_filter.limit = 2;
    loop {
        let page = read(store)
            .await
            .list_stacks(&page_filter)
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        page_filter.after = Some((
            last.org_name.clone(),
            last.project.clone(),
            last.name.clone(),
        ));
        pages.push(page.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
    }
    assert_eq!(
        pages,
        [
            vec![API_PROD, API_STAGING],
            vec![WEB_DEV, WEB_PROD],
            vec![GX_WEB_PROD]
        ],
        "keyset pages, cursor exclusive"
    );
    let mut after_web_dev = web.clone();
    after_web_dev.after = Some(("acme".to_owned(), "web".to_owned(), "dev".to_owned()));
    after_web_dev.limit = 1;
    assert_eq!(
        list_ids(store, &after_web_dev).await,
        [WEB_PROD],
        "cursor with a filter"
    );

    // Tags are replaced wholesale.
    let new_tags = tags(&[("env", "production"), ("tier", "frontend")]);
    let mut tx = begin(store).await;
    tx.set_stack_tags(&WEB_PROD.into(), &new_tags)
        .await
        .expect("set tags");
    tx.set_stack_tags(&WEB_DEV.into(), &Tags::new())
        .await
        .expect("clear tags");
    tx.commit().await.expect("commit tags");
    let mut tx = read(store).await;
    let web_prod = tx
        .stack(&ACME, "web", "prod")
        .await
        .expect("stack")
        .expect("web/prod");
    assert_eq!(web_prod.tags, new_tags);
    let web_dev = tx
        .stack(&ACME, "web", "dev")
        .await
        .expect("stack")
        .expect("web/dev");
    assert!(web_dev.tags.is_empty());
    drop(tx);
    assert_eq!(list_ids(store, &env).await, [API_PROD, WEB_PROD]);
    assert_eq!(
        list_ids(store, &any_prod).await,
        [API_PROD],
        "old tag values are gone"
    );
}

pub(crate) async fn grants_and_moves(store: &dyn Store) {
    let mut tx = begin(store).await;
    for (team, stack, perm, what) in [
        (&OPS, API_PROD, StackPermission::Read, "grant"),
        (&OPS, API_PROD, StackPermission::Write, "upsert grant"),
        (&OPS, WEB_PROD, StackPermission::Admin, "grant"),
        (&DEV, API_PROD, StackPermission::Read, "grant"),
        (&DEV, API_STAGING, StackPermission::Creator, "grant"),
        (&DEV, WEB_PROD, StackPermission::None, "grant"),
    ] {
        tx.set_team_stack(team, &stack.into(), perm)
            .await
            .expect(what);
    }
    tx.commit().await.expect("commit grants");

    let mut tx = read(store).await;
    let ops_stacks = tx.team_stacks(&OPS).await.expect("team stacks");
    let got: Vec<_> = ops_stacks
        .iter()
        .map(|(s, p)| (s.id.as_str(), *p))
        .collect();
    assert_eq!(
        got,
        [
            (API_PROD, StackPermission::Write),
            (WEB_PROD, StackPermission::Admin)
        ],
        "grants upserted, stacks in listing order"
    );
    assert_eq!(
        ops_stacks[0].0,
        stack(API_PROD, "acme", "api", "prod", &[("env", "prod")])
    );
    let dev_stacks = tx.team_stacks(&DEV).await.expect("team stacks");
    let got: Vec<_> = dev_stacks
        .iter()
        .map(|(s, p)| (s.id.as_str(), *p))
        .collect();
    assert_eq!(
        got,
        [
            (API_PROD, StackPermission::Read),
            (API_STAGING, StackPermission::Creator),
            (WEB_PROD, StackPermission::None),
        ]
    );
    let teams = tx.stack_teams(&API_PROD.into()).await.expect("stack teams");
    let got: Vec<_> = teams.iter().map(|(t, p)| (t.name.as_str(), *p)).collect();
    assert_eq!(
        got,
        [
            ("devs", StackPermission::Read),
            ("ops", StackPermission::Write)
        ]
    );
    assert_eq!(teams[0].0, devs());
    drop(tx);

    let mut tx = begin(store).await;
    tx.delete_team_stack(&DEV, &API_PROD.into())
        .await
        .expect("revoke");
    tx.delete_team_stack(&DEV, &API_PROD.into())
        .await
        .expect("revoking twice is fine");
    tx.commit().await.expect("commit revoke");
    let teams = read(store)
        .await
        .stack_teams(&API_PROD.into())
        .await
        .expect("stack teams");
    assert_eq!(teams.len(), 1, "only ops left on api/prod");

    // Moving api/prod to globex keeps its tags and drops every grant on it.
    let mut tx = begin(store).await;
    tx.move_stack(&API_PROD.into(), &GLOBEX)
        .await
        .expect("move");
    tx.commit().await.expect("commit move");
    let mut tx = read(store).await;
    assert_eq!(tx.stack(&ACME, "api", "prod").await.expect("stack"), None);
    let moved = tx.stack(&GLOBEX, "api", "prod").await.expect("stack");
    assert_eq!(
        moved,
        Some(stack(API_PROD, "globex", "api", "prod", &[("env", "prod")]))
    );
    assert!(tx
        .stack_teams(&API_PROD.into())
        .await
        .expect("stack teams")
        .is_empty());
    let ops_left: Vec<_> = tx
        .team_stacks(&OPS)
        .await
        .expect("team stacks")
        .into_iter()
        .map(|(s, _)| s.id)
        .collect();
    assert_eq!(ops_left, [WEB_PROD]);
    drop(tx);
    assert_conflict(
        attempt(store, async |tx| {
            tx.move_stack(&WEB_PROD.into(), &GLOBEX).await
        })
        .await,
        "move onto an existing project/stack name",
    );
    assert_not_found(
        attempt(store, async |tx| {
            tx.move_stack(&"s-nope".into(), &GLOBEX).await
        })
        .await,
        "move of an unknown stack",
    );

    // Renaming api/staging keeps its id, and so its grants; a taken name is a conflict.
    let mut tx = begin(store).await;
    tx.rename_stack(&API_STAGING.into(), "svc", "qa")
        .await
        .expect("rename");
    tx.commit().await.expect("commit rename");
    let mut tx = read(store).await;
    assert_eq!(
        tx.stack(&ACME, "api", "staging").await.expect("stack"),
        None
    );
    let renamed = tx.stack(&ACME, "svc", "qa").await.expect("stack");
    assert_eq!(renamed.map(|s| s.id), Some(API_STAGING.into()));
    let dev_grants: Vec<_> = tx
        .team_stacks(&DEV)
        .await
        .expect("team stacks")
        .into_iter()
        .map(|(s, _)| s.id)
        .collect();
    assert!(
        dev_grants.iter().any(|id| id == API_STAGING),
        "{dev_grants:?}"
    );
    drop(tx);
    assert_conflict(
        attempt(store, async |tx| {
            tx.rename_stack(&API_STAGING.into(), "web", "prod").await
        })
        .await,
        "rename onto an existing project/stack name",
    );
    assert_not_found(
        attempt(store, async |tx| {
            tx.rename_stack(&"s-nope".into(), "x", "y").await
        })
        .await,
        "rename of an unknown stack",
    );
    let mut tx = begin(store).await;
    tx.rename_stack(&API_STAGING.into(), "api", "staging")
        .await
        .expect("rename back");
    tx.commit().await.expect("commit rename back");

    let mut tx = begin(store).await;
    tx.delete_stack(&WEB_DEV.into())
        .await
        .expect("delete stack");
    tx.commit().await.expect("commit delete");
    let mut tx = read(store).await;
    assert_eq!(tx.stack(&ACME, "web", "dev").await.expect("stack"), None);
    assert!(
        tx.project_exists(&ACME, "web").await.expect("project"),
        "web/prod remains"
    );
    assert!(
        tx.project_exists(&ACME, "api").await.expect("project"),
        "api/staging remains"
    );
    assert_eq!(tx.org_counts(&ACME).await.expect("counts").stacks, 2);
    assert_eq!(tx.org_counts(&GLOBEX).await.expect("counts").stacks, 2);
    drop(tx);
    assert_not_found(
        attempt(store, async |tx| tx.delete_stack(&WEB_DEV.into()).await).await,
        "delete of an unknown stack",
    );
}
