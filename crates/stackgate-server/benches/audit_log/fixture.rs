//! The database: opened, filled through the store's `Tx` API once, and reused.

use super::*;

pub(crate) struct Fixture {
    pub(crate) service: Service,
    pub(crate) router: Router,
    /// `Authorization` header of the orgs' admin.
    pub(crate) auth: String,
    pub(crate) db: PathBuf,
    /// Events in each org when measuring starts.
    pub(crate) big_events: i64,
    pub(crate) small_events: i64,
    pub(crate) fill: String,
}

pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub(crate) fn default_db() -> PathBuf {
    if let Some(p) = std::env::var_os(DB_ENV) {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench-data").join("audit-log-1m.db")
}

pub(crate) async fn open(db: &Path) -> (Service, SqliteStore) {
    let url = format!("sqlite://{}", db.display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("open the benchmark database");
    (Service::new(Arc::new(store.clone())), store)
}

/// Number of events (head `seq`) of `org`, or `None` when the org does not exist.
pub(crate) async fn head_seq(store: &SqliteStore, org: &str) -> Option<i64> {
    let mut tx = store.read().await.expect("read");
    let org = tx.org_by_name(org).await.expect("org by name")?;
    Some(tx.audit_head(&org.id).await.expect("audit head").seq)
}

/// Brings `org` up to `events` events; returns how many were written.
pub(crate) async fn fill(service: &Service, store: &SqliteStore, org: &str, events: i64) -> i64 {
    if head_seq(store, org).await.is_none() {
        service
            .init_org(org, ADMIN, "auditbench@example.com", "127.0.0.1")
            .await
            .expect("init the benchmark org");
    }
    let mut written = 0;
    let started = Instant::now();
    loop {
        let mut tx = store.begin().await.expect("begin");
        let org_row = tx
            .org_by_name(org)
            .await
            .expect("org by name")
            .expect("the org exists");
        let mut head = tx.audit_head(&org_row.id).await.expect("audit head");
        if head.seq >= events {
            break;
        }
        let end = (head.seq + BATCH).min(events);
        written += end - head.seq;
        for seq in head.seq + 1..=end {
            let e = synthetic(&org_row.id, org, seq);
            let link = chain::next_link(&head, &e);
            tx.insert_audit(&e, &link).await.expect("insert an event");
            head.seq = link.seq;
            head.hash = link.hash;
        }
        tx.commit().await.expect("commit a batch");
        if end % 100_000 == 0 || end == events {
            eprintln!(
                "  {org}: {end} events ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    written
}

pub(crate) async fn admin_header(service: &Service, store: &SqliteStore) -> String {
    let user = store
        .read()
        .await
        .expect("read")
        .user_by_login(ADMIN)
        .await
        .expect("user by login")
        .expect("the admin exists");
    // A fresh token each run: values are stored hashed only. Issuing one writes no event.
    let created = service
        .issue_user_token(&user, "audit_log benchmark")
        .await
        .expect("issue a token");
    format!("token {}", created.value.expose())
}

pub(crate) async fn prepare(db: PathBuf, big: i64, small: i64) -> Fixture {
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).expect("create the benchmark data directory");
    }
    let (service, store) = open(&db).await;
    let note = db.with_extension("fill.txt");
    let mut fill_report = std::fs::read_to_string(&note).unwrap_or_default();
    let mut missing = false;
    for (org, n) in [(BIG_ORG, big), (SMALL_ORG, small)] {
        missing |= head_seq(&store, org).await.is_none_or(|s| s < n);
    }
    if missing {
        eprintln!("filling {} (once; reused by later runs)", db.display());
        let started = Instant::now();
        let mut written = 0;
        for (org, n) in [(BIG_ORG, big), (SMALL_ORG, small)] {
            written += fill(&service, &store, org, n).await;
        }
        let secs = started.elapsed().as_secs_f64();
        fill_report = format!(
            "fill: {written} events in {secs:.1} s ({:.0} events/s), {BATCH} per transaction\n",
            written as f64 / secs
        );
        std::fs::write(&note, &fill_report).expect("write the fill note");
    }
    // The synthetic actors exist as users, so that `userFilter` accepts them.
    for (login, name) in USERS {
        let known = store
            .read()
            .await
            .expect("read")
            .user_by_login(login)
            .await
            .expect("user by login")
            .is_some();
        if !known {
            service
                .create_user(login, name, &format!("{login}@example.com"), false)
                .await
                .expect("create a synthetic actor");
        }
    }
    let auth = admin_header(&service, &store).await;
    let router = stackgate_server::router(service.clone());
    let big_events = head_seq(&store, BIG_ORG).await.expect("big org");
    let small_events = head_seq(&store, SMALL_ORG).await.expect("small org");
    Fixture {
        service,
        router,
        auth,
        db,
        big_events,
        small_events,
        fill: fill_report.trim().to_string(),
    }
}
