//! The token verification cache: a hit needs no database, concurrent misses of one token
//! share a single load, and a revocation is never served from the cache.

use std::sync::Arc;

use stackgate_core::auth::CachedAuth;
use stackgate_core::{Ctx, Service};
use stackgate_store_sqlite::SqliteStore;
use tempfile::TempDir;

struct Fixture {
    service: Arc<Service>,
    store: SqliteStore,
    header: String,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cache.db").display());
    let store = SqliteStore::connect(&url).await.expect("open SQLite store");
    let service = Arc::new(Service::new(Arc::new(store.clone())));
    let created = service
        .init_org("acme", "alice", "alice@example.com", "Alice")
        .await
        .expect("init_org");
    Fixture {
        service,
        store,
        header: format!("token {}", created.value.expose()),
        _dir: dir,
    }
}

#[tokio::test]
async fn a_cache_hit_needs_no_database() {
    let f = fixture().await;
    f.service
        .authenticate(Some(&f.header), "127.0.0.1")
        .await
        .expect("warm the cache");
    f.store.close().await;
    f.service
        .authenticate(Some(&f.header), "127.0.0.1")
        .await
        .expect("a cache hit must not need the database (its pools are closed)");
    f.service.auth_cache().invalidate_all();
    assert!(
        f.service
            .authenticate(Some(&f.header), "127.0.0.1")
            .await
            .is_err(),
        "after invalidation the same call must reach the (closed) database and fail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_of_one_token_share_one_load() {
    let f = fixture().await;
    for round in 0..5 {
        f.service.auth_cache().invalidate_all();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let service = f.service.clone();
                let header = f.header.clone();
                tokio::spawn(async move {
                    service
                        .authenticate(Some(&header), "127.0.0.1")
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut entries: Vec<Arc<CachedAuth>> = Vec::new();
        for task in tasks {
            entries.push(task.await.expect("task").expect("authenticate"));
        }
        // Every load builds a new entry: one shared Arc means one database load.
        let loads = entries
            .iter()
            .map(|e| Arc::as_ptr(e) as usize)
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert_eq!(
            loads, 1,
            "round {round}: 64 concurrent misses made {loads} loads"
        );
        assert_eq!(
            f.service.auth_cache().loads_in_flight(),
            0,
            "round {round}: load gates left behind"
        );
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_and_its_failed_load_leaves_no_gate() {
    let f = fixture().await;
    let cached = f
        .service
        .authenticate(Some(&f.header), "127.0.0.1")
        .await
        .expect("authenticate");
    let ctx = Ctx::new(cached.principal.clone(), "127.0.0.1");
    let id = cached
        .principal
        .token
        .as_ref()
        .expect("a token principal")
        .id
        .clone();
    f.service
        .delete_personal_token(&ctx, id.as_str())
        .await
        .expect("revoke");
    for _ in 0..3 {
        let err = f
            .service
            .authenticate(Some(&f.header), "127.0.0.1")
            .await
            .err()
            .expect("a revoked token must be refused");
        assert!(err.to_string().contains("invalid access token"), "{err}");
    }
    assert_eq!(f.service.auth_cache().loads_in_flight(), 0);
}
