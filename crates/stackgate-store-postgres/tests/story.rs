//! The storage story on PostgreSQL, plus what only this backend has: schemas and URLs,
//! the read-only snapshot, constraint names, rows it cannot decode, and appends to one
//! audit chain from many transactions on several replicas at once.
//!
//! Every test needs `STACKGATE_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`) and skips, saying so, without it. Each
//! runs in a schema of its own (see `support`), so they run in parallel.

#[path = "../../stackgate-store-sqlite/tests/storage_story/mod.rs"]
mod storage_story;

#[path = "story/backend.rs"]
mod backend;
#[path = "story/chain.rs"]
mod chain;
#[path = "story/support.rs"]
mod support;

use support::TestSchema;

#[tokio::test]
async fn storage_story() {
    let Some(db) = TestSchema::create("storage_story").await else {
        return;
    };
    let store = db.store().await;
    storage_story::run_story(&store).await;
    store.close().await;
}

/// Two pools on one schema stand for two replicas: each sees what the other committed,
/// and overlapping writers on both succeed.
#[tokio::test]
async fn two_stores_on_one_database_see_each_other() {
    let Some(db) = TestSchema::create("two_stores_on_one_database_see_each_other").await else {
        return;
    };
    let a = db.store().await;
    let b = db.store().await;
    storage_story::run_shared_access(&a, &b).await;
    a.close().await;
    b.close().await;
}
