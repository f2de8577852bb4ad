//! The storage story on PostgreSQL, plus what only this backend has: schemas and URLs,
//! the read-only snapshot, constraint names, rows it cannot decode, and appends to one
//! audit chain from many transactions on several replicas at once.
//!
//! Every test needs `STACKGATE_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`) and skips, saying so, without it. Each
//! runs in a schema of its own (see `support`), so they run in parallel.

mod backend;
mod chain;

use stackgate_store_testkit::pg::TestSchema;
use stackgate_store_testkit::story as storage_story;

#[tokio::test]
async fn storage_story() {
    let Some(db) = TestSchema::create("storage_story").await else {
        return;
    };
    let store = db.store().await;
    storage_story::run_story(&store).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_begin_does_not_wedge_the_writer() {
    let Some(db) = TestSchema::create("a_cancelled_begin_does_not_wedge_the_writer").await else {
        return;
    };
    let store = db.store().await;
    storage_story::run_cancelled_begins(&store).await;
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

/// `announce_change` reaches another store's `watch_changes` when the transaction
/// commits, and not when it rolls back; the watcher also fires once when it connects.
#[tokio::test]
async fn announced_changes_reach_other_watchers_on_commit_only() {
    use stackgate_store::Store;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let Some(db) = TestSchema::create("announced_changes_reach_other_watchers").await else {
        return;
    };
    let writer = db.store().await;
    let watcher = db.store().await;
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    watcher.watch_changes(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let wait_for = |n: u64| {
        let seen = seen.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            while seen.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "only {n} - 1 calls seen");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for(1).await; // the connect
    let connected = seen.load(Ordering::SeqCst);

    let mut tx = writer.begin().await.expect("begin");
    tx.announce_change().await.expect("announce");
    drop(tx); // rolled back: nothing is delivered
    let mut tx = writer.begin().await.expect("begin");
    tx.announce_change().await.expect("announce");
    tx.commit().await.expect("commit");
    wait_for(connected + 1).await;
    // Give a wrongly delivered rollback notification time to show up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.load(Ordering::SeqCst), connected + 1, "one per commit");
    writer.close().await;
    watcher.close().await;
}
