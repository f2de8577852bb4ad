//! The audit hash chain end to end on the SQLite default: every change lands in the chain,
//! verification passes, an edit or deletion made directly in the database is found at the
//! right event, and retention prunes while keeping the chain verifiable.

use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use stackgate_core::catalog::EventType;
use stackgate_core::chain;
use stackgate_core::service::OrgSettingsUpdate;
use stackgate_core::{Ctx, Service};
use stackgate_store::{AuditActor, AuditQuery, NewAuditEvent, Store};
use stackgate_store_sqlite::SqliteStore;

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    service: Service,
    admin: Ctx,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chain.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("store");
    let service = Service::new(Arc::new(store));
    let token = service
        .init_org("acme", "alice", "alice@example.com", "test")
        .await
        .expect("init");
    let header = format!("token {}", token.value.expose());
    let auth = service
        .authenticate(Some(&header), "192.0.2.1")
        .await
        .expect("auth");
    let admin = Ctx::new(auth.principal.clone(), "192.0.2.1");
    Fixture {
        _dir: dir,
        path,
        service,
        admin,
    }
}

async fn raw_sql(path: &std::path::Path, sql: &str) {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("raw connection");
    sqlx::query(sql).execute(&mut conn).await.expect(sql);
    conn.close().await.expect("close");
}

async fn make_changes(f: &Fixture, n: usize) {
    for i in 0..n {
        f.service
            .create_team(&f.admin, "acme", &format!("team-{i}"), "", "")
            .await
            .expect("create team");
    }
}

#[tokio::test]
async fn intact_chain_verifies_and_counts_every_event() {
    let f = fixture().await;
    make_changes(&f, 5).await;
    let v = f
        .service
        .verify_audit_as_operator("acme")
        .await
        .expect("verify");
    assert_eq!(v.broken, None);
    // init: member-added + personal-token-created; then 5 team-created.
    assert_eq!((v.checked, v.head_seq, v.pruned_seq), (7, 7, 0));
    let api = f
        .service
        .verify_audit(&f.admin, "acme")
        .await
        .expect("verify over the API");
    assert_eq!(api, v);
}

#[tokio::test]
async fn an_event_edited_in_the_database_is_found() {
    let f = fixture().await;
    make_changes(&f, 5).await;
    raw_sql(
        &f.path,
        "UPDATE audit_events SET description = 'nothing to see' WHERE seq = 4",
    )
    .await;
    let v = f
        .service
        .verify_audit_as_operator("acme")
        .await
        .expect("verify");
    let broken = v.broken.expect("the edit is detected");
    assert_eq!(broken.seq, 4, "{}", broken.reason);
    assert_eq!(v.checked, 3, "events before the edit still verify");
}

#[tokio::test]
async fn a_deleted_event_or_truncated_tail_is_found() {
    let f = fixture().await;
    make_changes(&f, 5).await;
    raw_sql(&f.path, "DELETE FROM audit_events WHERE seq = 6").await;
    let broken = f
        .service
        .verify_audit_as_operator("acme")
        .await
        .expect("verify")
        .broken
        .expect("the deletion is detected");
    assert_eq!(broken.seq, 6);

    let g = fixture().await;
    make_changes(&g, 2).await;
    // Deleting the newest event leaves a chain that ends before its head.
    raw_sql(&g.path, "DELETE FROM audit_events WHERE seq = 4").await;
    let broken = g
        .service
        .verify_audit_as_operator("acme")
        .await
        .expect("verify")
        .broken
        .expect("a truncated tail is detected");
    assert_eq!(broken.seq, 4);
}

#[tokio::test]
async fn retention_prunes_old_events_and_the_chain_still_verifies() {
    let f = fixture().await;
    let store: &dyn Store = f.service.store().as_ref();
    let org = store
        .read()
        .await
        .expect("read")
        .org_by_name("acme")
        .await
        .expect("org")
        .expect("acme exists");
    // Three events from 40 days ago, appended to the chain by the store API.
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 40 * 86_400;
    let mut tx = store.begin().await.expect("begin");
    for i in 0..3 {
        let e = NewAuditEvent {
            org_id: org.id.clone(),
            timestamp: old + i,
            event: "team-created".into(),
            description: format!("old event {i}"),
            actor: AuditActor {
                login: "alice".into(),
                name: "alice".into(),
                ..AuditActor::default()
            },
            source_ip: "192.0.2.1".into(),
            req_org_admin: true,
            req_stack_admin: false,
            auth_failure: false,
        };
        let head = tx.audit_head(&org.id).await.expect("head");
        let link = chain::next_link(&head, &e);
        tx.insert_audit(&e, &link).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    make_changes(&f, 2).await;
    let update = OrgSettingsUpdate {
        audit_log_retention_days: Some(30),
        ..OrgSettingsUpdate::default()
    };
    f.service
        .update_org_settings(&f.admin, "acme", update)
        .await
        .expect("set retention");

    let pruned = f.service.prune_audit_logs("test").await.expect("prune");
    assert_eq!(
        pruned,
        vec![("acme".to_string(), 5)],
        "2 init events + 3 old ones"
    );
    let v = f
        .service
        .verify_audit_as_operator("acme")
        .await
        .expect("verify");
    assert_eq!(
        v.broken, None,
        "the pruned chain verifies from the pruned point"
    );
    assert_eq!(v.pruned_seq, 5);
    // team x2, settings change, pruned event.
    assert_eq!(v.checked, 4);

    let events = store
        .read()
        .await
        .expect("read")
        .list_audit(&AuditQuery {
            org_id: org.id.clone(),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .expect("list");
    let newest = &events[0].event;
    assert_eq!(newest.event, EventType::AuditLogPruned.id());
    assert!(
        newest.description.contains("removed 5 events"),
        "{}",
        newest.description
    );
    assert!(
        events.iter().all(|e| e.event.timestamp > old + 10),
        "old events are gone"
    );

    // Running it again removes nothing more.
    assert!(f
        .service
        .prune_audit_logs("test")
        .await
        .expect("prune")
        .is_empty());
}
