//! What only the PostgreSQL backend has: URLs and schemas, migrations run once by
//! replicas starting together, read-only snapshots, constraint names in conflicts, and
//! rows it cannot decode.

use sqlx::Row;
use stackgate_store::{Org, OrgSettings, Store, StoreError, Team, Token, TokenKind};
use stackgate_store_postgres::{PgPoolConfig, PostgresStore};

use stackgate_store_testkit::pg::TestSchema;
use stackgate_store_testkit::story::user;

/// Migrations are recorded: reconnecting finds the data and applies nothing twice.
#[tokio::test]
async fn reconnect_keeps_data() {
    let Some(db) = TestSchema::create("reconnect_keeps_data").await else {
        return;
    };
    let store = db.store().await;
    let mut tx = store.begin().await.expect("begin");
    tx.insert_user(&user("u-1", "one")).await.expect("insert");
    tx.commit().await.expect("commit");
    store.close().await;

    let config = PgPoolConfig {
        max_connections: 2,
        ..PgPoolConfig::default()
    };
    let store = PostgresStore::connect_with(&db.url(), config)
        .await
        .expect("reconnect");
    store.ping().await.expect("ping");
    let found = store
        .read()
        .await
        .expect("read")
        .user_by_id(&"u-1".into())
        .await
        .expect("read");
    assert!(found.is_some(), "the same schema, the same data");
    let raw = db.raw().await;
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&raw)
        .await
        .expect("count migrations");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .count();
    assert_eq!(
        applied,
        i64::try_from(files).expect("count"),
        "the migration table lives in the schema, each migration applied once"
    );
    raw.close().await;
    store.close().await;
}

/// Replicas starting together on a schema that does not exist yet: `connect_in_schema`
/// creates it, and the migrator's advisory lock lets exactly one of them migrate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let Some(db) = TestSchema::reserve("replicas_starting_together_migrate_once") else {
        return;
    };
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, schema) = (db.tagged_base_url(), db.schema.clone());
            tokio::spawn(async move { PostgresStore::connect_in_schema(&url, &schema).await })
        })
        .collect();
    let mut stores = Vec::new();
    for handle in handles {
        stores.push(handle.await.expect("join").expect("connect in schema"));
    }
    let mut tx = stores[0].begin().await.expect("begin");
    tx.insert_user(&user("u-1", "one")).await.expect("insert");
    tx.commit().await.expect("commit");
    for store in &stores {
        let seen = store.read().await.expect("read").any_user().await;
        assert!(seen.expect("any user"), "every replica sees the one schema");
        store.close().await;
    }
}

#[tokio::test]
async fn urls_and_schema_names() {
    assert_eq!(
        PostgresStore::url_with_schema("postgres://h/db", "sg_a1").expect("url"),
        "postgres://h/db?options[search_path]=sg_a1"
    );
    assert_eq!(
        PostgresStore::url_with_schema("postgres://h/db?sslmode=disable", "s").expect("url"),
        "postgres://h/db?sslmode=disable&options[search_path]=s"
    );
    for bad in ["", "Upper", "1st", "a-b", "a;drop", "a b", &"x".repeat(64)] {
        assert!(
            PostgresStore::url_with_schema("postgres://h/db", bad).is_err(),
            "{bad:?} refused"
        );
    }
    assert!(
        PostgresStore::connect("sqlite://x.db").await.is_err(),
        "foreign scheme refused"
    );

    let Some(db) = TestSchema::reserve("urls_and_schema_names") else {
        return;
    };
    match PostgresStore::connect(&db.url()).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("search_path"), "{msg}"),
        other => panic!("a missing schema is reported, got {other:?}"),
    }
}

#[tokio::test]
async fn read_snapshots_refuse_writes() {
    let Some(db) = TestSchema::create("read_snapshots_refuse_writes").await else {
        return;
    };
    let store = db.store().await;
    let mut tx = store.read().await.expect("read");
    let result = tx.insert_user(&user("u-1", "one")).await;
    assert!(
        matches!(result, Err(StoreError::Backend(_))),
        "got {result:?}"
    );
    drop(tx);
    store.close().await;
}

/// A read snapshot is one snapshot: a commit after its first query stays invisible.
#[tokio::test]
async fn read_snapshots_are_stable() {
    let Some(db) = TestSchema::create("read_snapshots_are_stable").await else {
        return;
    };
    let store = db.store().await;
    let mut snapshot = store.read().await.expect("read");
    assert!(!snapshot.any_user().await.expect("any user"));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_user(&user("u-1", "one")).await.expect("insert");
    tx.commit().await.expect("commit");
    assert!(
        snapshot
            .user_by_id(&"u-1".into())
            .await
            .expect("read")
            .is_none(),
        "the snapshot predates the commit"
    );
    drop(snapshot);
    let mut fresh = store.read().await.expect("read");
    assert!(fresh
        .user_by_id(&"u-1".into())
        .await
        .expect("read")
        .is_some());
    drop(fresh);
    store.close().await;
}

fn org(id: &str, name: &str) -> Org {
    Org {
        id: id.into(),
        name: name.to_owned(),
        created: 1,
        settings: OrgSettings::default(),
    }
}

fn org_token(id: &str, name: &str) -> Token {
    Token {
        id: id.into(),
        kind: TokenKind::Organization,
        hash: format!("hash-{id}"),
        name: name.to_owned(),
        description: String::new(),
        user_id: None,
        org_id: Some("o-1".into()),
        team_id: None,
        admin: false,
        created_by: "one".to_owned(),
        created: 1,
        expires: 0,
        last_used: 0,
        deleted_at: None,
    }
}

/// Each unique rule names its constraint, and the transaction is then unusable (the
/// story runs failing writes in their own transaction for this reason).
#[tokio::test]
async fn conflicts_name_the_constraint() {
    let Some(db) = TestSchema::create("conflicts_name_the_constraint").await else {
        return;
    };
    let store = db.store().await;
    let mut tx = store.begin().await.expect("begin");
    tx.insert_user(&user("u-1", "one")).await.expect("insert");
    tx.insert_org(&org("o-1", "org")).await.expect("insert org");
    tx.insert_token(&org_token("k-1", "ci"))
        .await
        .expect("token");
    tx.insert_team(&Team {
        id: "t-1".into(),
        org_id: "o-1".into(),
        name: "ops".to_owned(),
        display_name: "Ops".to_owned(),
        description: String::new(),
        created: 1,
    })
    .await
    .expect("team");
    tx.commit().await.expect("commit");

    let expect_conflict = |result: Result<(), StoreError>, constraint: &str| match result {
        Err(StoreError::Conflict(what)) => assert_eq!(what, constraint),
        other => panic!("expected a conflict on {constraint}, got {other:?}"),
    };
    let mut tx = store.begin().await.expect("begin");
    expect_conflict(tx.insert_user(&user("u-2", "one")).await, "users_login_key");
    let after = tx.user_by_id(&"u-1".into()).await;
    assert!(
        matches!(after, Err(StoreError::Backend(_))),
        "an aborted transaction refuses further work, got {after:?}"
    );
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    expect_conflict(
        tx.insert_token(&org_token("k-2", "ci")).await,
        "tokens_org_name",
    );
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    expect_conflict(tx.insert_org(&org("o-2", "org")).await, "orgs_name_key");
    drop(tx);
    store.close().await;
}

/// Rows this code did not write: unknown enum strings and settings of the wrong shape
/// are `Backend` errors, and settings missing from an older document take defaults.
/// (Text that is not JSON cannot get in at all: the column is JSONB.)
#[tokio::test]
async fn undecodable_rows_are_backend_errors() {
    let Some(db) = TestSchema::create("undecodable_rows_are_backend_errors").await else {
        return;
    };
    let store = db.store().await;
    let raw = db.raw().await;
    for sql in [
        "INSERT INTO users (id, login, name, email, site_admin, created) VALUES ('u-1', 'one', 'One', 'one@example.com', false, 1)",
        "INSERT INTO orgs VALUES ('o-1', 'org', 1, '{\"membersCanCreateTeams\": false}')",
        "INSERT INTO orgs VALUES ('o-2', 'broken', 1, '{\"defaultStackPermission\": 7}')",
        "INSERT INTO memberships VALUES ('o-1', 'u-1', 'overlord', 1)",
        "INSERT INTO teams VALUES ('t-1', 'o-1', 'team', 'Team', '', 1)",
        "INSERT INTO team_members VALUES ('t-1', 'u-1', 'boss')",
        "INSERT INTO stacks VALUES ('s-1', 'o-1', 'p', 's', NULL, NULL, 1, 0)",
        "INSERT INTO team_stacks VALUES ('t-1', 's-1', 7)",
        "INSERT INTO tokens VALUES ('k-1', 'weird', 'h', '', '', 'u-1', NULL, NULL, false, 'one', 1, 0, 0, NULL)",
    ] {
        sqlx::query(sql).execute(&raw).await.expect(sql);
    }
    let not_json = sqlx::query("INSERT INTO orgs VALUES ('o-3', 'text', 1, 'not json')")
        .execute(&raw)
        .await;
    assert!(not_json.is_err(), "JSONB refuses text that is not JSON");
    let stored: String = sqlx::query("SELECT settings::text AS s FROM orgs WHERE id = 'o-1'")
        .fetch_one(&raw)
        .await
        .expect("settings")
        .get("s");
    assert!(stored.contains("membersCanCreateTeams"));
    raw.close().await;

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
        "unreadable settings",
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
