//! The storage story on SQLite, plus what only this backend has: URL forms, the
//! read-only snapshot pool, pragmas, and rows it cannot decode.

use std::path::{Component, Path};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Row, SqlitePool};
use stackgate_store::{OrgSettings, Store, StoreError};
use stackgate_store_sqlite::SqliteStore;
use stackgate_store_testkit::story as storage_story;

fn url_for(path: &Path) -> String {
    // `path` is absolute, so this is the `sqlite:///abs/path.db` form.
    format!("sqlite://{}", path.display())
}

async fn connect(path: &Path) -> SqliteStore {
    SqliteStore::connect(&url_for(path)).await.expect("connect")
}

/// A second, plain connection pool on the file, to look at or damage rows directly.
async fn raw(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&url_for(path)).expect("url");
    SqlitePool::connect_with(options)
        .await
        .expect("raw connect")
}

#[tokio::test]
async fn storage_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = connect(&dir.path().join("story.db")).await;
    storage_story::run_story(&store).await;
    store.close().await;
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let a = connect(&path).await;
    let b = connect(&path).await;
    storage_story::run_shared_access(&a, &b).await;
    a.close().await;
    b.close().await;
}

/// `sqlite:relative.db` and `sqlite://relative.db` resolve against the working directory;
/// every form creates the file, and reopening finds the data (migrations are idempotent).
#[tokio::test]
async fn url_forms_create_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cwd = std::env::current_dir().expect("cwd");
    let up = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let to_dir = format!(
        "{}{}",
        "../".repeat(up),
        dir.path().display().to_string().trim_start_matches('/')
    );
    let forms = [
        (
            format!("sqlite://{}", dir.path().join("abs.db").display()),
            "abs.db",
        ),
        (format!("sqlite://{to_dir}/rel2.db"), "rel2.db"),
        (format!("sqlite:{to_dir}/rel1.db"), "rel1.db"),
    ];
    for (url, file) in forms {
        let store = SqliteStore::connect(&url).await.expect("connect");
        assert!(dir.path().join(file).exists(), "{url} creates {file}");
        let mut tx = store.begin().await.expect("begin");
        tx.insert_user(&storage_story::user("u-1", "one"))
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        store.close().await;

        let store = SqliteStore::connect_with(&url, 1).await.expect("reconnect");
        let found = store
            .read()
            .await
            .expect("read")
            .user_by_id(&"u-1".into())
            .await
            .expect("read");
        assert!(found.is_some(), "{url} reopens the same database");
        store.ping().await.expect("ping");
        store.close().await;
    }
    assert!(
        SqliteStore::connect("postgres://nope").await.is_err(),
        "foreign scheme refused"
    );
}

#[tokio::test]
async fn file_is_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wal.db");
    let store = connect(&path).await;
    let pool = raw(&path).await;
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .expect("pragma");
    let mode: String = row.try_get(0).expect("mode");
    assert_eq!(mode, "wal");
    pool.close().await;
    store.close().await;
}

#[tokio::test]
async fn read_snapshots_refuse_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = connect(&dir.path().join("ro.db")).await;
    let mut tx = store.read().await.expect("read");
    let result = tx.insert_user(&storage_story::user("u-1", "one")).await;
    assert!(
        matches!(result, Err(StoreError::Backend(_))),
        "got {result:?}"
    );
    drop(tx);
    store.close().await;
}

#[tokio::test]
async fn conflicts_name_the_constraint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = connect(&dir.path().join("c.db")).await;
    let mut tx = store.begin().await.expect("begin");
    tx.insert_user(&storage_story::user("u-1", "one"))
        .await
        .expect("insert");
    let result = tx.insert_user(&storage_story::user("u-2", "one")).await;
    match result {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "users.login"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    store.close().await;
}

/// Rows this code did not write: unknown enum strings and broken JSON are `Backend`
/// errors, and settings missing from an older document take their defaults.
#[tokio::test]
async fn undecodable_rows_are_backend_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.db");
    let store = connect(&path).await;
    let pool = raw(&path).await;
    for sql in [
        "INSERT INTO users (id, login, name, email, site_admin, created) VALUES ('u-1', 'one', 'One', 'one@example.com', 0, 1)",
        "INSERT INTO orgs VALUES ('o-1', 'org', 1, '{\"membersCanCreateTeams\": false}')",
        "INSERT INTO orgs VALUES ('o-2', 'broken', 1, 'not json')",
        "INSERT INTO memberships VALUES ('o-1', 'u-1', 'overlord', 1)",
        "INSERT INTO teams VALUES ('t-1', 'o-1', 'team', 'Team', '', 1)",
        "INSERT INTO team_members VALUES ('t-1', 'u-1', 'boss')",
        "INSERT INTO stacks VALUES ('s-1', 'o-1', 'p', 's', NULL, NULL, 1, 0, NULL, NULL)",
        "INSERT INTO team_stacks VALUES ('t-1', 's-1', 7)",
        "INSERT INTO tokens VALUES ('k-1', 'weird', 'h', '', '', 'u-1', NULL, NULL, 0, 'one', 1, 0, 0, NULL)",
    ] {
        sqlx::query(sql).execute(&pool).await.expect(sql);
    }
    pool.close().await;

    let mut tx = store.read().await.expect("read");
    let org = tx
        .org_by_id(&"o-1".into())
        .await
        .expect("older settings document");
    let expected = OrgSettings {
        members_can_create_teams: false,
        ..OrgSettings::default()
    };
    assert_eq!(org.map(|o| o.settings), Some(expected));
    let backend = |r: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(r, Err(StoreError::Backend(_))),
            "{what}: got {r:?}"
        );
    };
    backend(
        tx.org_by_id(&"o-2".into()).await.map(drop),
        "broken settings",
    );
    backend(
        tx.membership(&"o-1".into(), &"u-1".into()).await.map(drop),
        "unknown org role",
    );
    backend(
        tx.list_members(&"o-1".into(), None, 10).await.map(drop),
        "unknown org role in a list",
    );
    backend(
        tx.team_role(&"t-1".into(), &"u-1".into()).await.map(drop),
        "unknown team role",
    );
    backend(
        tx.team_stacks(&"t-1".into()).await.map(drop),
        "unknown permission code",
    );
    backend(
        tx.token_by_id(&"k-1".into()).await.map(drop),
        "unknown token kind",
    );
    drop(tx);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_begin_does_not_wedge_the_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = connect(&dir.path().join("cancel.db")).await;
    storage_story::run_cancelled_begins(&store).await;
    store.close().await;
}
