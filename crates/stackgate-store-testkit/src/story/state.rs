//! Story chapters: a stack's state. Updates and the one running update per stack
//! (previews do not hold it), listings and lookups by version; engine events, appended
//! idempotently; checkpoints with binary deployments, replaced, read and pruned; the
//! state columns of the stack; wrapped data keys; and all of it going with the stack.

use stackgate_store::{
    Checkpoint, Stack, StackFilter, StackKey, StackUpdate, Store, Tags, UpdateActor, UpdateEvent,
    UpdateKind, UpdateStatus,
};

use super::{assert_backend, assert_conflict, assert_not_found, attempt, begin, read, ACME, ALICE};

pub(crate) const STATE_PROD: &str = "s-state-prod";
pub(crate) const STATE_DEV: &str = "s-state-dev";

/// Updates of `infra/prod`, by creation time (5_000 + 10 per step).
const UP1: &str = "up-1-update";
const UP2: &str = "up-2-preview";
const UP3: &str = "up-3-refresh";
const UP4: &str = "up-4-destroy";
const UP5: &str = "up-5-import";
const UP6: &str = "up-6-preview";
/// The one update of `infra/dev`.
const DEV_UP: &str = "up-dev-update";

/// A stack of the `infra` project in acme, as a read returns it before any update.
fn state_stack(id: &str, name: &str) -> Stack {
    Stack {
        id: id.into(),
        org_id: ACME.clone(),
        org_name: "acme".to_owned(),
        project: "infra".to_owned(),
        name: name.to_owned(),
        tags: Tags::new(),
        creator_user_id: Some(ALICE.clone()),
        creator_token_id: None,
        created: 4_500,
        version: 0,
        last_update: None,
        resource_count: None,
    }
}

/// A new update as `POST S/update` creates it: not started, run by alice.
fn new_update(id: &str, stack: &str, kind: UpdateKind, created: i64) -> StackUpdate {
    StackUpdate {
        id: id.into(),
        stack_id: stack.into(),
        kind,
        status: UpdateStatus::NotStarted,
        version: 0,
        created,
        started: 0,
        ended: 0,
        actor: UpdateActor {
            user_id: Some(ALICE.clone()),
            token_id: None,
            login: "alice".to_owned(),
            name: "Alice Ünïcødé".to_owned(),
        },
        request: format!(
            r#"{{"kind":"{}","config":{{"greeting":"grüß dich ✓"}}}}"#,
            kind.as_str()
        ),
        lease_hash: None,
        lease_expires: 0,
        resource_changes: None,
    }
}

fn started(u: &StackUpdate, version: i64, at: i64) -> StackUpdate {
    StackUpdate {
        status: UpdateStatus::Running,
        version,
        started: at,
        lease_hash: Some(format!("lease-of-{}", u.id)),
        lease_expires: at + 300,
        ..u.clone()
    }
}

fn ended(u: &StackUpdate, status: UpdateStatus, at: i64, changes: Option<&str>) -> StackUpdate {
    StackUpdate {
        status,
        ended: at,
        lease_hash: None,
        lease_expires: 0,
        resource_changes: changes.map(str::to_owned),
        ..u.clone()
    }
}

/// Every update of `infra/prod` and `infra/dev` as the end of [`updates`] leaves them.
struct Updates {
    up1: StackUpdate,
    up2: StackUpdate,
    up3: StackUpdate,
    up4: StackUpdate,
    up5: StackUpdate,
    up6: StackUpdate,
    dev_up: StackUpdate,
}

fn final_updates() -> Updates {
    let up1 = new_update(UP1, STATE_PROD, UpdateKind::Update, 5_000);
    let up3 = new_update(UP3, STATE_PROD, UpdateKind::Refresh, 5_020);
    let up4 = new_update(UP4, STATE_PROD, UpdateKind::Destroy, 5_030);
    let up6 = new_update(UP6, STATE_PROD, UpdateKind::Preview, 5_050);
    let dev_up = new_update(DEV_UP, STATE_DEV, UpdateKind::Update, 5_000);
    Updates {
        up1: ended(
            &started(&up1, 1, 5_100),
            UpdateStatus::Succeeded,
            5_200,
            Some(r#"{"create":2,"same":1}"#),
        ),
        up2: ended(&running_preview(), UpdateStatus::Cancelled, 5_360, None),
        up3: ended(&started(&up3, 2, 5_300), UpdateStatus::Failed, 5_350, None),
        up4: ended(
            &started(&up4, 3, 5_400),
            UpdateStatus::Succeeded,
            5_450,
            Some(r#"{"delete":3}"#),
        ),
        up5: new_update(UP5, STATE_PROD, UpdateKind::Import, 5_040),
        up6: ended(
            &started(&up6, 3, 5_320),
            UpdateStatus::Succeeded,
            5_330,
            Some(r#"{"same":3}"#),
        ),
        dev_up: started(&dev_up, 1, 5_100),
    }
}

/// A preview run by a machine token, inserted already running with every optional
/// field set (the `Some` side of the round trip).
fn running_preview() -> StackUpdate {
    StackUpdate {
        id: UP2.into(),
        stack_id: STATE_PROD.into(),
        kind: UpdateKind::Preview,
        status: UpdateStatus::Running,
        version: 0,
        created: 5_010,
        started: 5_011,
        ended: 0,
        actor: UpdateActor {
            user_id: None,
            token_id: Some("tok-ci".into()),
            login: "acme".to_owned(),
            name: "org token 'ci' — ✓".to_owned(),
        },
        request: r#"{"program":"ünïcødé","options":{"dryRun":true}}"#.to_owned(),
        lease_hash: Some("9f86d081884c7d659a2feaa0c55ad015".to_owned()),
        lease_expires: 5_311,
        resource_changes: Some(r#"{"same":0}"#.to_owned()),
    }
}

async fn stored(store: &dyn Store, stack: &str, id: &str) -> Option<StackUpdate> {
    read(store)
        .await
        .stack_update(&stack.into(), &id.into())
        .await
        .expect("stack update")
}

async fn active(store: &dyn Store, stack: &str) -> Option<String> {
    read(store)
        .await
        .active_update(&stack.into())
        .await
        .expect("active update")
        .map(|u| u.id.as_str().to_owned())
}

/// Saves the updates in one committed transaction.
async fn save(store: &dyn Store, updates: &[&StackUpdate]) {
    let mut tx = begin(store).await;
    for u in updates {
        tx.save_update(u).await.expect("save update");
    }
    tx.commit().await.expect("commit saved updates");
}

async fn listed(
    store: &dyn Store,
    stack: &str,
    previews: bool,
    offset: u32,
    limit: u32,
) -> Vec<String> {
    read(store)
        .await
        .list_updates(&stack.into(), previews, offset, limit)
        .await
        .expect("list updates")
        .into_iter()
        .map(|u| u.id.as_str().to_owned())
        .collect()
}

async fn by_version(store: &dyn Store, stack: &str, version: i64) -> Option<StackUpdate> {
    read(store)
        .await
        .update_by_version(&stack.into(), version)
        .await
        .expect("update by version")
}

pub(crate) async fn updates(store: &dyn Store) {
    let mut tx = begin(store).await;
    for s in [
        state_stack(STATE_PROD, "prod"),
        state_stack(STATE_DEV, "dev"),
    ] {
        tx.insert_stack(&s).await.expect("insert stack");
    }
    let up1 = new_update(UP1, STATE_PROD, UpdateKind::Update, 5_000);
    let up2 = running_preview();
    let up3 = new_update(UP3, STATE_PROD, UpdateKind::Refresh, 5_020);
    let dev_up = new_update(DEV_UP, STATE_DEV, UpdateKind::Update, 5_000);
    for u in [&up1, &up2, &up3, &dev_up] {
        tx.insert_update(u).await.expect("insert update");
    }
    tx.commit().await.expect("commit updates");

    for u in [&up1, &up2, &up3, &dev_up] {
        assert_eq!(
            stored(store, u.stack_id.as_str(), u.id.as_str())
                .await
                .as_ref(),
            Some(u),
            "update round trip"
        );
    }
    assert_eq!(
        stored(store, STATE_DEV, UP1).await,
        None,
        "an update is found only under its own stack"
    );
    assert_eq!(stored(store, STATE_PROD, "up-nope").await, None);
    assert_eq!(
        active(store, STATE_PROD).await,
        None,
        "a running preview is not the active update"
    );
    assert_eq!(active(store, STATE_DEV).await, None, "not started yet");

    let dup = new_update(UP1, STATE_DEV, UpdateKind::Refresh, 6_000);
    assert_conflict(
        attempt(store, async |tx| tx.insert_update(&dup).await).await,
        "duplicate update id",
    );
    let orphan = new_update("up-orphan", "s-nope", UpdateKind::Update, 6_000);
    assert_backend(
        attempt(store, async |tx| tx.insert_update(&orphan).await).await,
        "update of an unknown stack",
    );

    // Starting writes status, version, start time and lease; nothing else of the record.
    let up1 = started(&up1, 1, 5_100);
    let sent = StackUpdate {
        stack_id: STATE_DEV.into(),
        kind: UpdateKind::Destroy,
        created: 1,
        actor: UpdateActor::default(),
        request: "{}".to_owned(),
        ..up1.clone()
    };
    save(store, &[&sent]).await;
    assert_eq!(
        stored(store, STATE_PROD, UP1).await,
        Some(up1.clone()),
        "status, version, times and lease written; stack, kind, creation, actor and request kept"
    );
    assert_eq!(
        active(store, STATE_PROD).await.as_deref(),
        Some(UP1),
        "the running update, beside a running preview"
    );

    // One running update that writes state per stack (stack_updates_one_active).
    let up3_running = started(&up3, 2, 5_150);
    assert_conflict(
        attempt(store, async |tx| tx.save_update(&up3_running).await).await,
        "a second running update on the stack",
    );
    let up4_running = started(
        &new_update(UP4, STATE_PROD, UpdateKind::Destroy, 5_030),
        2,
        5_150,
    );
    assert_conflict(
        attempt(store, async |tx| tx.insert_update(&up4_running).await).await,
        "a second running update on the stack, inserted running",
    );
    assert_eq!(
        stored(store, STATE_PROD, UP3).await,
        Some(up3.clone()),
        "the refused start changed nothing"
    );
    let unknown = StackUpdate {
        id: "up-nope".into(),
        ..up1.clone()
    };
    assert_not_found(
        attempt(store, async |tx| tx.save_update(&unknown).await).await,
        "save of an unknown update",
    );
    // Another stack's update runs at the same time.
    let dev_up = started(&dev_up, 1, 5_100);
    save(store, &[&dev_up]).await;
    assert_eq!(active(store, STATE_DEV).await.as_deref(), Some(DEV_UP));
    assert_eq!(active(store, STATE_PROD).await.as_deref(), Some(UP1));

    // Once the first ends, the next may run; a preview may run beside it.
    let up1 = ended(
        &up1,
        UpdateStatus::Succeeded,
        5_200,
        Some(r#"{"create":2,"same":1}"#),
    );
    save(store, &[&up1]).await;
    assert_eq!(stored(store, STATE_PROD, UP1).await, Some(up1.clone()));
    assert_eq!(
        active(store, STATE_PROD).await,
        None,
        "ended; the running preview does not count"
    );
    let up3 = started(&up3, 2, 5_300);
    save(store, &[&up3]).await;
    assert_eq!(active(store, STATE_PROD).await.as_deref(), Some(UP3));
    let up4 = new_update(UP4, STATE_PROD, UpdateKind::Destroy, 5_030);
    let up5 = new_update(UP5, STATE_PROD, UpdateKind::Import, 5_040);
    let up6 = new_update(UP6, STATE_PROD, UpdateKind::Preview, 5_050);
    let mut tx = begin(store).await;
    for u in [&up4, &up5, &up6] {
        tx.insert_update(u).await.expect("insert update");
    }
    tx.save_update(&started(&up6, 3, 5_320))
        .await
        .expect("a second preview starts beside the running refresh");
    tx.commit().await.expect("commit");
    assert_eq!(active(store, STATE_PROD).await.as_deref(), Some(UP3));

    let want = final_updates();
    save(
        store,
        &[&want.up3, &want.up2, &want.up6, &started(&up4, 3, 5_400)],
    )
    .await;
    assert_eq!(active(store, STATE_PROD).await.as_deref(), Some(UP4));
    save(store, &[&want.up4]).await;
    assert_eq!(active(store, STATE_PROD).await, None);
    for u in [
        &want.up1,
        &want.up2,
        &want.up3,
        &want.up4,
        &want.up5,
        &want.up6,
        &want.dev_up,
    ] {
        assert_eq!(
            stored(store, u.stack_id.as_str(), u.id.as_str())
                .await
                .as_ref(),
            Some(u),
            "{} as saved",
            u.id
        );
    }
    // Listings: newest first, previews only when asked, offset and limit.
    assert_eq!(
        listed(store, STATE_PROD, false, 0, 100).await,
        [UP5, UP4, UP3, UP1]
    );
    assert_eq!(
        listed(store, STATE_PROD, true, 0, 100).await,
        [UP6, UP5, UP4, UP3, UP2, UP1]
    );
    assert_eq!(listed(store, STATE_PROD, true, 1, 2).await, [UP5, UP4]);
    assert_eq!(listed(store, STATE_PROD, true, 4, 10).await, [UP2, UP1]);
    assert_eq!(listed(store, STATE_PROD, false, 1, 2).await, [UP4, UP3]);
    assert!(listed(store, STATE_PROD, true, 6, 10).await.is_empty());
    assert!(listed(store, STATE_PROD, true, 0, 0).await.is_empty());
    assert_eq!(listed(store, STATE_DEV, true, 0, 100).await, [DEV_UP]);
    assert!(listed(store, "s-nope", true, 0, 100).await.is_empty());
    let full = read(store)
        .await
        .list_updates(&STATE_PROD.into(), true, 0, 1)
        .await
        .expect("list updates");
    assert_eq!(full, [want.up6], "listed updates are whole records");

    // By version: the update that wrote it, neither a preview that read it nor one not
    // started (both at version 0 here); a failed update keeps its version.
    assert_eq!(by_version(store, STATE_PROD, 1).await, Some(want.up1));
    assert_eq!(by_version(store, STATE_PROD, 2).await, Some(want.up3));
    assert_eq!(
        by_version(store, STATE_PROD, 3).await,
        Some(want.up4),
        "not the preview at version 3"
    );
    assert_eq!(
        by_version(store, STATE_PROD, 0).await,
        None,
        "a preview and an update not started are at version 0"
    );
    assert_eq!(by_version(store, STATE_PROD, 9).await, None);
    assert_eq!(by_version(store, STATE_DEV, 1).await, Some(want.dev_up));
    assert_eq!(by_version(store, STATE_DEV, 2).await, None);
}

fn event(sequence: i64, body: &str) -> UpdateEvent {
    UpdateEvent {
        sequence,
        body: body.to_owned(),
    }
}

async fn events(store: &dyn Store, update: &str, after: i64, limit: u32) -> Vec<UpdateEvent> {
    read(store)
        .await
        .update_events(&update.into(), after, limit)
        .await
        .expect("update events")
}

pub(crate) async fn update_events(store: &dyn Store) {
    let first = [
        event(0, r#"{"sequence":0,"cancelEvent":{}}"#),
        event(1, r#"{"sequence":1,"diagnostic":"grüß dich ✓ 🚀"}"#),
        event(2, r#"{"sequence":2,"resourcePreEvent":{}}"#),
    ];
    let mut tx = begin(store).await;
    tx.append_update_events(&UP1.into(), &first)
        .await
        .expect("append");
    // A retry repeats 1 and 2 with other bodies: skipped, neither duplicated nor
    // overwritten; 3 is new, and a batch may repeat a number itself.
    tx.append_update_events(
        &UP1.into(),
        &[
            event(2, "retried"),
            event(3, "three"),
            event(1, "retried"),
            event(3, "three again"),
        ],
    )
    .await
    .expect("append a retry in the same transaction");
    tx.append_update_events(&UP1.into(), &[])
        .await
        .expect("append nothing");
    tx.commit().await.expect("commit events");
    let mut tx = begin(store).await;
    tx.append_update_events(
        &UP1.into(),
        &[event(6, "six"), event(5, "five"), event(4, "four")],
    )
    .await
    .expect("append out of order");
    tx.append_update_events(&UP1.into(), &[event(0, "retried"), event(4, "retried")])
        .await
        .expect("append a retry in a later transaction");
    tx.append_update_events(&UP4.into(), &[event(1, "another update's one")])
        .await
        .expect("append to another update");
    tx.commit().await.expect("commit events");

    let mut all = first.to_vec();
    all.extend([
        event(3, "three"),
        event(4, "four"),
        event(5, "five"),
        event(6, "six"),
    ]);
    assert_eq!(events(store, UP1, -1, 100).await, all, "in sequence order");
    assert_eq!(
        events(store, UP1, 0, 100).await,
        all[1..],
        "after is exclusive"
    );
    assert_eq!(events(store, UP1, 2, 2).await, all[3..5], "after and limit");
    assert_eq!(events(store, UP1, 5, 10).await, all[6..]);
    assert!(events(store, UP1, 6, 10).await.is_empty());
    assert!(events(store, UP1, -1, 0).await.is_empty());
    assert_eq!(
        events(store, UP4, -1, 100).await,
        [event(1, "another update's one")],
        "sequence numbers are per update"
    );
    assert!(events(store, UP3, -1, 100).await.is_empty());
    assert!(events(store, "up-nope", -1, 100).await.is_empty());

    assert_backend(
        attempt(store, async |tx| {
            tx.append_update_events(&"up-nope".into(), &[event(1, "x")])
                .await
        })
        .await,
        "events of an unknown update",
    );
}

/// A deployment of about 1 MiB with multi-byte UTF-8 throughout.
fn big_deployment() -> Vec<u8> {
    let mut text = String::from(r#"{"version":3,"deployment":{"resources":["#);
    let mut i = 0u32;
    while text.len() < 1 << 20 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"urn":"urn:pulumi:prod::infra::aws:s3/bucket:Bucket::b-{i}","outputs":{{"note":"grüße ✓ 日本語 🚀 {i}"}}}}"#
        ));
        i += 1;
    }
    text.push_str("]}}");
    text.into_bytes()
}

fn checkpoint(stack: &str, version: i64, deployment: &[u8], saved: i64) -> Checkpoint {
    Checkpoint {
        stack_id: stack.into(),
        version,
        update_id: None,
        schema_version: 3,
        features: None,
        deployment: deployment.to_vec(),
        resource_count: version * 10,
        saved,
    }
}

async fn saved_checkpoint(
    store: &dyn Store,
    stack: &str,
    version: Option<i64>,
) -> Option<Checkpoint> {
    read(store)
        .await
        .checkpoint(&stack.into(), version)
        .await
        .expect("checkpoint")
}

async fn save_checkpoints(store: &dyn Store, checkpoints: &[&Checkpoint]) {
    let mut tx = begin(store).await;
    for c in checkpoints {
        tx.save_checkpoint(c).await.expect("save checkpoint");
    }
    tx.commit().await.expect("commit checkpoints");
}

pub(crate) async fn checkpoints(store: &dyn Store) {
    assert_eq!(saved_checkpoint(store, STATE_PROD, None).await, None);

    let v1 = Checkpoint {
        update_id: Some(UP1.into()),
        ..checkpoint(
            STATE_PROD,
            1,
            r#"{"version":3,"deployment":{"note":"ünïcødé ✓ 日本語 🚀"}}"#.as_bytes(),
            5_200,
        )
    };
    let big = big_deployment();
    assert!(big.len() >= 1 << 20 && std::str::from_utf8(&big).is_ok());
    let v2 = Checkpoint {
        features: Some(r#"["refBeforeDeploy"]"#.to_owned()),
        ..checkpoint(STATE_PROD, 2, &big, 5_350)
    };
    let v3 = Checkpoint {
        update_id: Some(UP4.into()),
        ..checkpoint(STATE_PROD, 3, b"{}", 5_450)
    };
    let dev_v1 = checkpoint(STATE_DEV, 1, br#"{"version":3}"#, 5_150);
    save_checkpoints(store, &[&v1, &v3, &v2, &dev_v1]).await;

    for c in [&v1, &v3, &dev_v1] {
        assert_eq!(
            saved_checkpoint(store, c.stack_id.as_str(), Some(c.version))
                .await
                .as_ref(),
            Some(c),
            "checkpoint round trip, deployment byte for byte"
        );
    }
    // Compared apart, so that a failure does not print 1 MiB twice.
    let got = saved_checkpoint(store, STATE_PROD, Some(2))
        .await
        .expect("v2");
    assert!(
        got.deployment == big,
        "the 1 MiB deployment survives exactly ({} bytes back, {} sent)",
        got.deployment.len(),
        big.len()
    );
    let fields = |c: &Checkpoint| Checkpoint {
        deployment: Vec::new(),
        ..c.clone()
    };
    assert_eq!(fields(&got), fields(&v2), "v2 round trip");
    assert_eq!(
        saved_checkpoint(store, STATE_PROD, None).await,
        Some(v3.clone()),
        "no version: the newest, whatever the order saved"
    );
    assert_eq!(saved_checkpoint(store, STATE_PROD, Some(9)).await, None);
    assert_eq!(saved_checkpoint(store, STATE_DEV, Some(2)).await, None);
    assert_eq!(
        saved_checkpoint(store, STATE_DEV, None).await,
        Some(dev_v1.clone())
    );
    assert_eq!(saved_checkpoint(store, "s-nope", None).await, None);

    // Saving a version again replaces every field of it.
    let v1_again = Checkpoint {
        update_id: None,
        schema_version: 4,
        features: Some(r#"["refBeforeDeploy","x"]"#.to_owned()),
        deployment: "{\"replaced\":\"ça ✓\"}".as_bytes().to_vec(),
        resource_count: 5,
        saved: 5_500,
        ..v1.clone()
    };
    save_checkpoints(store, &[&v1_again]).await;
    assert_eq!(
        saved_checkpoint(store, STATE_PROD, Some(1)).await,
        Some(v1_again.clone())
    );
    let v1_back = Checkpoint {
        features: None,
        ..v1_again.clone()
    };
    save_checkpoints(store, &[&v1_back]).await;
    assert_eq!(
        saved_checkpoint(store, STATE_PROD, Some(1)).await,
        Some(v1_back),
        "replaced with features back to none"
    );

    // Pruning keeps the newest `keep` versions of that stack only.
    let v4 = checkpoint(STATE_PROD, 4, b"{\"v\":4}", 5_600);
    let v5 = checkpoint(STATE_PROD, 5, b"{\"v\":5}", 5_700);
    save_checkpoints(store, &[&v5, &v4]).await;
    // Resource counts of a version range, without the deployments.
    let mut tx = begin(store).await;
    assert_eq!(
        tx.resource_counts(&STATE_PROD.into(), 2, 4)
            .await
            .expect("counts"),
        vec![
            (2, v2.resource_count),
            (3, v3.resource_count),
            (4, v4.resource_count)
        ],
        "ascending, bounds included"
    );
    assert_eq!(
        tx.resource_counts(&STATE_PROD.into(), 6, 9)
            .await
            .expect("counts"),
        Vec::<(i64, i64)>::new()
    );
    assert_eq!(
        tx.resource_counts(&STATE_DEV.into(), 1, 5)
            .await
            .expect("counts"),
        vec![(1, dev_v1.resource_count)],
        "one stack's versions only"
    );
    drop(tx);
    let mut tx = begin(store).await;
    assert_eq!(
        tx.prune_checkpoints(&STATE_PROD.into(), 10)
            .await
            .expect("prune"),
        0,
        "fewer than kept"
    );
    assert_eq!(
        tx.prune_checkpoints(&STATE_PROD.into(), 2)
            .await
            .expect("prune"),
        3,
        "versions 1 to 3 deleted"
    );
    assert_eq!(
        tx.prune_checkpoints(&STATE_PROD.into(), 2)
            .await
            .expect("prune"),
        0,
        "nothing left to prune"
    );
    assert_eq!(
        tx.prune_checkpoints(&"s-nope".into(), 1)
            .await
            .expect("prune"),
        0
    );
    tx.commit().await.expect("commit prune");
    for version in 1..=3 {
        assert_eq!(
            saved_checkpoint(store, STATE_PROD, Some(version)).await,
            None,
            "version {version} pruned"
        );
    }
    assert_eq!(saved_checkpoint(store, STATE_PROD, Some(4)).await, Some(v4));
    assert_eq!(
        saved_checkpoint(store, STATE_PROD, None).await,
        Some(v5.clone())
    );
    assert_eq!(
        saved_checkpoint(store, STATE_DEV, None).await,
        Some(dev_v1),
        "another stack's checkpoints are not pruned"
    );
}

async fn state_stacks(store: &dyn Store) -> Vec<Stack> {
    let filter = StackFilter {
        org_ids: vec![ACME.clone()],
        project: Some("infra".to_owned()),
        limit: 100,
        ..StackFilter::default()
    };
    read(store)
        .await
        .list_stacks(&filter)
        .await
        .expect("list stacks")
}

fn key(stack: &str, wrapped: &[u8], master_key_id: &str, created: i64) -> StackKey {
    StackKey {
        stack_id: stack.into(),
        wrapped: wrapped.to_vec(),
        master_key_id: master_key_id.to_owned(),
        created,
    }
}

pub(crate) async fn stack_state_and_keys(store: &dyn Store) {
    let (prod, dev) = (
        state_stack(STATE_PROD, "prod"),
        state_stack(STATE_DEV, "dev"),
    );
    assert_eq!(state_stacks(store).await, [dev.clone(), prod.clone()]);

    let mut tx = begin(store).await;
    tx.set_stack_state(&STATE_PROD.into(), 5, 5_700, 7)
        .await
        .expect("set stack state");
    tx.set_stack_state(&STATE_DEV.into(), 1, 5_150, 0)
        .await
        .expect("set stack state");
    tx.commit().await.expect("commit stack state");
    let prod = Stack {
        version: 5,
        last_update: Some(5_700),
        resource_count: Some(7),
        ..prod
    };
    let dev = Stack {
        version: 1,
        last_update: Some(5_150),
        resource_count: Some(0),
        ..dev
    };
    let got = read(store)
        .await
        .stack(&ACME, "infra", "prod")
        .await
        .expect("stack");
    assert_eq!(got, Some(prod.clone()), "version, last update, resources");
    assert_eq!(state_stacks(store).await, [dev.clone(), prod.clone()]);
    let mut tx = begin(store).await;
    tx.set_stack_state(&STATE_PROD.into(), 6, 5_800, 9)
        .await
        .expect("set stack state again");
    tx.commit().await.expect("commit stack state");
    let prod = Stack {
        version: 6,
        last_update: Some(5_800),
        resource_count: Some(9),
        ..prod
    };
    assert_eq!(state_stacks(store).await, [dev, prod]);
    assert_not_found(
        attempt(store, async |tx| {
            tx.set_stack_state(&"s-nope".into(), 1, 1, 1).await
        })
        .await,
        "state of an unknown stack",
    );

    // Wrapped data keys: binary, one per stack.
    let every_byte: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let prod_key = key(STATE_PROD, &every_byte, "mk-one", 6_000);
    let dev_key = key(STATE_DEV, &[0, 0xff, 0, b'\n', 0xc3], "mk-one", 6_010);
    let mut r = read(store).await;
    assert_eq!(r.stack_key(&STATE_PROD.into()).await.expect("key"), None);
    assert!(r.all_stack_keys().await.expect("keys").is_empty());
    drop(r);
    let mut tx = begin(store).await;
    tx.insert_stack_key(&dev_key).await.expect("insert key");
    tx.insert_stack_key(&prod_key).await.expect("insert key");
    tx.commit().await.expect("commit keys");
    let mut r = read(store).await;
    assert_eq!(
        r.stack_key(&STATE_PROD.into()).await.expect("key"),
        Some(prod_key.clone()),
        "every byte value survives"
    );
    assert_eq!(
        r.stack_key(&STATE_DEV.into()).await.expect("key"),
        Some(dev_key.clone())
    );
    assert_eq!(r.stack_key(&"s-nope".into()).await.expect("key"), None);
    assert_eq!(
        r.all_stack_keys().await.expect("keys"),
        [dev_key.clone(), prod_key.clone()],
        "by stack id"
    );
    drop(r);
    let second = key(STATE_PROD, b"other", "mk-two", 6_100);
    assert_conflict(
        attempt(store, async |tx| tx.insert_stack_key(&second).await).await,
        "a second key for the stack",
    );

    // Re-wrapping replaces the wrapped bytes and the master key id; the data key's
    // creation time stays.
    let rewrapped = key(STATE_PROD, &[0xde, 0xad, 0xbe, 0xef, 0], "mk-two", 7_000);
    let mut tx = begin(store).await;
    tx.replace_stack_key(&rewrapped).await.expect("replace key");
    tx.commit().await.expect("commit replace");
    let prod_key = StackKey {
        created: 6_000,
        ..rewrapped
    };
    assert_eq!(
        read(store).await.all_stack_keys().await.expect("keys"),
        [dev_key, prod_key]
    );
    let unknown = key("s-nope", b"x", "mk-two", 7_000);
    assert_not_found(
        attempt(store, async |tx| tx.replace_stack_key(&unknown).await).await,
        "replace of an unknown stack's key",
    );
}

/// Deleting a stack deletes its updates, their events, its checkpoints and its key.
pub(crate) async fn deleting_a_stack(store: &dyn Store) {
    let mut tx = begin(store).await;
    tx.delete_stack(&STATE_PROD.into())
        .await
        .expect("delete stack");
    tx.commit().await.expect("commit delete");

    let want = final_updates();
    let mut r = read(store).await;
    let prod = STATE_PROD.into();
    assert_eq!(r.stack(&ACME, "infra", "prod").await.expect("stack"), None);
    for id in [UP1, UP2, UP3, UP4, UP5, UP6] {
        assert_eq!(
            r.stack_update(&prod, &id.into()).await.expect("update"),
            None,
            "{id} deleted"
        );
        assert!(
            r.update_events(&id.into(), -1, 100)
                .await
                .expect("events")
                .is_empty(),
            "events of {id} deleted"
        );
    }
    assert!(r
        .list_updates(&prod, true, 0, 100)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(r.active_update(&prod).await.expect("active"), None);
    assert_eq!(
        r.update_by_version(&prod, 1).await.expect("by version"),
        None
    );
    assert_eq!(r.checkpoint(&prod, None).await.expect("checkpoint"), None);
    assert_eq!(
        r.checkpoint(&prod, Some(5)).await.expect("checkpoint"),
        None
    );
    assert_eq!(r.stack_key(&prod).await.expect("key"), None);

    // The other stack keeps all of its own.
    let dev = STATE_DEV.into();
    let keys: Vec<_> = r
        .all_stack_keys()
        .await
        .expect("keys")
        .into_iter()
        .map(|k| k.stack_id)
        .collect();
    assert_eq!(keys, [STATE_DEV]);
    assert_eq!(
        r.list_updates(&dev, true, 0, 100).await.expect("list"),
        std::slice::from_ref(&want.dev_up)
    );
    assert_eq!(
        r.active_update(&dev).await.expect("active"),
        Some(want.dev_up)
    );
    assert_eq!(
        r.running_updates().await.expect("running"),
        1,
        "the installation's running updates: dev's one (prod's went with it)"
    );
    assert_eq!(
        r.checkpoint(&dev, None)
            .await
            .expect("checkpoint")
            .map(|c| c.version),
        Some(1)
    );
    drop(r);
    // A new stack may take the deleted one's id and start afresh.
    let mut tx = begin(store).await;
    tx.insert_stack(&state_stack(STATE_PROD, "prod"))
        .await
        .expect("insert stack again");
    tx.commit().await.expect("commit");
    let mut r = read(store).await;
    assert!(r
        .list_updates(&prod, true, 0, 100)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(r.checkpoint(&prod, None).await.expect("checkpoint"), None);
}
