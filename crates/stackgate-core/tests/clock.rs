//! Time is a dependency of `Service`: expiries are decided by its clock, so they are
//! tested by moving a `ManualClock`, without sleeping.

use std::sync::Arc;

use stackgate_core::clock::{Clock, ManualClock};
use stackgate_core::{CoreError, Ctx, Service};
use stackgate_store_sqlite::SqliteStore;

const HOUR: i64 = 3600;

#[tokio::test]
async fn a_token_expires_when_the_clock_passes_its_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("clock.db").display());
    let store = SqliteStore::connect(&url).await.expect("open SQLite store");
    let clock = Arc::new(ManualClock::at_system_time());
    let service = Service::with_clock(Arc::new(store), clock.clone());
    let admin = service
        .init_org("acme", "alice", "alice@example.com", "test")
        .await
        .expect("init_org");
    let alice = service
        .authenticate(
            Some(&format!("token {}", admin.value.expose())),
            "127.0.0.1",
        )
        .await
        .expect("alice's token");
    let ctx = Ctx::new(alice.principal.clone(), "127.0.0.1");

    // An org token that expires in one hour, by the service's clock.
    let expires = clock.now() + HOUR;
    let created = service
        .create_org_token(&ctx, "acme", "ci", "", false, expires)
        .await
        .expect("create an org token");
    let header = format!("token {}", created.value.expose());
    service
        .authenticate(Some(&header), "127.0.0.1")
        .await
        .expect("valid before its expiry");

    clock.advance(HOUR - 1);
    service
        .authenticate(Some(&header), "127.0.0.1")
        .await
        .expect("still valid one second before its expiry");

    clock.advance(1);
    match service.authenticate(Some(&header), "127.0.0.1").await {
        Err(CoreError::Unauthenticated(reason)) => assert_eq!(reason, "access token expired"),
        Err(other) => panic!("expected 401, got {other:?}"),
        Ok(_) => panic!("an expired token was accepted"),
    }

    // The failed use is an audit event stamped by the same clock.
    let page = service
        .list_audit(
            &ctx,
            "acme",
            None,
            stackgate_store::AuditQuery {
                events: vec!["user-login-failed".into()],
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list audit");
    let event = page.events.first().expect("a user-login-failed event");
    assert_eq!(event.event.timestamp, clock.now());
}
