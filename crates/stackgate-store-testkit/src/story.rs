//! The storage story: one scripted walk through every storage method with assertions
//! on what comes back, written against the `stackgate_store` traits only, so that every
//! backend runs the very same script on a fresh, empty database
//! (`stackgate-store-sqlite/tests/story.rs`, `stackgate-store-postgres/tests/story/`).
//! A new storage method gets its lines here, in the module of its area.
//!
//! Failing writes run in their own transaction ([`attempt`]) that is then dropped,
//! because on PostgreSQL an error aborts the transaction it happened in.

mod audit;
mod people;
mod sessions;
mod stacks;
mod state;
mod teams;
mod tokens;

use std::fmt::Debug;
use std::sync::LazyLock;

use stackgate_store::{OrgId, Store, StoreError, StoreResult, TeamId, Tx, User, UserId};

/// Runs the whole story on an empty database.
pub async fn run_story(store: &dyn Store) {
    store.ping().await.expect("ping");
    people::users(store).await;
    people::rollback_on_drop(store).await;
    people::orgs(store).await;
    people::memberships(store).await;
    teams::teams_and_members(store).await;
    stacks::stacks_and_filters(store).await;
    stacks::grants_and_moves(store).await;
    state::updates(store).await;
    state::update_events(store).await;
    state::checkpoints(store).await;
    state::stack_state_and_keys(store).await;
    state::deleting_a_stack(store).await;
    tokens::tokens(store).await;
    audit::audit(store).await;
    sessions::sessions_and_passwords(store).await;
    sessions::whole_installation(store).await;
}

/// Requests cancelled while their write transaction is starting (clients that hang up)
/// must not leave a connection inside a transaction. sqlx 0.8's SQLite
/// `begin_with("BEGIN IMMEDIATE")` awaits once more *after* the BEGIN has run; a
/// cancellation there dropped the half-made transaction without a rollback, and every
/// later write then failed with "attempted to call begin_with at non-zero transaction
/// depth". `begin` is polled a varying number of times and dropped, 2,000 times, and a
/// full transaction must still work after each.
pub async fn run_cancelled_begins(store: &dyn Store) {
    use std::task::{Context, Poll, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    for round in 0..2_000u32 {
        {
            let mut begin = store.begin();
            for _ in 0..round % 40 {
                if let Poll::Ready(tx) = begin.as_mut().poll(&mut cx) {
                    drop(tx);
                    break;
                }
                // Let the database (SQLite's worker thread, PostgreSQL's socket) progress.
                tokio::task::yield_now().await;
                if round % 3 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(20));
                }
            }
        }
        let tx = tokio::time::timeout(std::time::Duration::from_secs(10), store.begin())
            .await
            .unwrap_or_else(|_| panic!("round {round}: begin timed out"))
            .unwrap_or_else(|e| panic!("round {round}: the writer is wedged: {e}"));
        tx.commit().await.expect("commit");
    }
}

/// Two independent handles on one database (two processes' worth): each sees what the
/// other committed, and concurrent writers from both succeed.
pub async fn run_shared_access(a: &dyn Store, b: &dyn Store) {
    let mut tx = begin(a).await;
    tx.insert_user(&user("u-from-a", "from-a"))
        .await
        .expect("insert via a");
    // What `Service::commit` does: announce, then commit (a no-op on SQLite; on
    // PostgreSQL a NOTIFY delivered with the commit).
    tx.announce_change().await.expect("announce the change");
    tx.commit().await.expect("commit via a");
    let seen = read(b)
        .await
        .user_by_login("from-a")
        .await
        .expect("read via b");
    assert_eq!(
        seen.map(|u| u.id),
        Some("u-from-a".into()),
        "b sees a's commit"
    );

    let mut tx = begin(b).await;
    tx.insert_user(&user("u-from-b", "from-b"))
        .await
        .expect("insert via b");
    tx.commit().await.expect("commit via b");
    let seen = read(a)
        .await
        .user_by_login("from-b")
        .await
        .expect("read via a");
    assert_eq!(
        seen.map(|u| u.id),
        Some("u-from-b".into()),
        "a sees b's commit"
    );

    // Overlapping read-then-write transactions on both handles: `a` holds a snapshot
    // while `b` writes; both must succeed (one waits for the other), neither may fail
    // with a lock or stale-snapshot error.
    let mut tx_a = begin(a).await;
    let a_saw = tx_a
        .user_by_login("from-b")
        .await
        .expect("read in a")
        .is_some();
    let finish_a = async move {
        tx_a.insert_user(&user("u-both-a", "both-a")).await?;
        tx_a.commit().await
    };
    let (rb, ra) = tokio::join!(write_and_read(b, "b"), finish_a);
    ra.expect("overlapping write via a");
    assert!(a_saw, "a's tx reads");
    assert!(rb.expect("overlapping write via b"), "b's tx reads");
    for login in ["both-a", "both-b"] {
        for s in [a, b] {
            let u = read(s).await.user_by_login(login).await.expect("read");
            assert!(u.is_some(), "{login} visible on both handles");
        }
    }
}

/// A read then a write in one transaction: the pattern that fails on SQLite when another
/// connection commits between the two and the transaction began deferred.
async fn write_and_read(store: &dyn Store, tag: &str) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    let known = tx.user_by_login("from-a").await?.is_some();
    tx.insert_user(&user(&format!("u-both-{tag}"), &format!("both-{tag}")))
        .await?;
    tx.commit().await?;
    Ok(known)
}

// ---- ids and helpers shared by the chapters

/// Fixed ids, so that every chapter can name the same records.
macro_rules! fixed_ids {
    ($($name:ident: $ty:ident = $value:literal;)*) => {
        $(pub(crate) static $name: LazyLock<$ty> = LazyLock::new(|| $ty::new($value));)*
    };
}

fixed_ids! {
    ALICE: UserId = "u-alice";
    BOB: UserId = "u-bob";
    CAROL: UserId = "u-carol";
    DAVE: UserId = "u-dave";
    ACME: OrgId = "o-acme";
    GLOBEX: OrgId = "o-globex";
    OPS: TeamId = "t-acme-ops";
    DEV: TeamId = "t-acme-dev";
    GLOBEX_OPS: TeamId = "t-globex-ops";
}

pub(crate) async fn begin(store: &dyn Store) -> Box<dyn Tx> {
    store.begin().await.expect("begin")
}

pub(crate) async fn read(store: &dyn Store) -> Box<dyn Tx> {
    store.read().await.expect("read")
}

/// Runs `f` in a write transaction that is dropped (rolled back) afterwards, returning
/// its result: for writes expected to fail.
pub(crate) async fn attempt<T>(
    store: &dyn Store,
    f: impl AsyncFnOnce(&mut dyn Tx) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut tx = store.begin().await?;
    f(&mut *tx).await
}

#[track_caller]
pub(crate) fn assert_conflict<T: Debug>(result: StoreResult<T>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "{what}: expected Conflict, got {result:?}"
    );
}

#[track_caller]
pub(crate) fn assert_not_found<T: Debug>(result: StoreResult<T>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "{what}: expected NotFound, got {result:?}"
    );
}

#[track_caller]
pub(crate) fn assert_backend<T: Debug>(result: StoreResult<T>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::Backend(_))),
        "{what}: expected Backend, got {result:?}"
    );
}

pub fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.to_owned(),
        name: format!("{login} name"),
        email: format!("{login}@example.com"),
        site_admin: false,
        created: 1_000,
    }
}
