//! The audit log at scale: one org with 1,000,000 events, read through the router.
//!
//! Measures, with an admin's token and `oneshot` requests (no network):
//! - `newest_page`: `GET /api/orgs/{org}/auditlogs/v2?pageSize=100`;
//! - `deep_page`: the page after `continuationToken` = event 500,001 (events 500,000 down);
//! - `filter_*`: the newest page of an `eventFilter` matching ~5 % (`member-added`), ~0.1 %
//!   (`stack-transferred-to-organization`) and both ids at once; then two worst cases: the
//!   rare id with one that never occurs (`audit-log-pruned`), and the rare id for one user
//!   (`userFilter=alice`). Without `ANALYZE` statistics SQLite answers both by walking the
//!   org's `(org_id, seq)` index (or alice's rows) and reading rows until 100 match (with
//!   `ANALYZE` statistics both become searches of `audit_events_org_event`);
//! - `export`: a full CSV export, body streamed and counted, never kept: wall time, and the
//!   RSS growth while streaming (VmRSS sampled per chunk and at row 100,000, and VmHWM) for
//!   100,000 and for 1,000,000 events. Each export runs in a child process of this binary,
//!   so that the allocator's state left by one measurement cannot hide or inflate the
//!   other. The child then splits the cost (store reads vs CSV encoding, each timed alone)
//!   and times two prototypes of a faster export: pages read ahead on 2 and 4 read
//!   connections, and pages fetched as one `json_group_array` value each.
//!
//! Targets (2 cores): each page under 10 ms median; the 1M export under 5 s, with memory
//! that does not grow with the number of events.
//!
//! The database is filled once through the store's `Tx` API (`audit_head`, then
//! `chain::next_link` + `insert_audit` per event, 10,000 events per transaction, so every
//! event carries a valid chain link) with a mix of 22 event ids, 8 users, their personal
//! tokens, 3 org tokens and 2 team tokens. It lives in `target/bench-data/` and is reused
//! when it already holds the events (a fill that was interrupted resumes where it
//! stopped); the fill time of the run that built it is kept beside it.
//!
//!   cargo bench -p stackgate-server --bench audit_log
//!
//! `STACKGATE_AUDIT_BENCH_DB=<file>` uses another database file; `STACKGATE_AUDIT_BENCH_EXPORT=0`
//! skips the exports; arguments after `--` filter the criterion benchmarks as usual.
//!
//! Under `cargo test --benches` (no `--bench` flag) the same code runs once on a small
//! temporary database as a smoke test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use criterion::Criterion;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::Value;
use stackgate_core::catalog::EventType;
use stackgate_core::chain;
use stackgate_core::Service;
use stackgate_store::{AuditActor, NewAuditEvent, Store};
use stackgate_store_sqlite::SqliteStore;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const BIG_ORG: &str = "bench-1m";
const SMALL_ORG: &str = "bench-100k";
const ADMIN: &str = "auditbench";
/// Events per fill transaction.
const BATCH: i64 = 10_000;
/// Event `seq` is at `BASE_TS + 30 * seq` (1M events span ~347 days).
const BASE_TS: i64 = 1_735_689_600;
const COMMON: &str = "member-added";
const RARE: &str = "stack-transferred-to-organization";
/// An event id the generated log never holds.
const ABSENT: &str = "audit-log-pruned";
/// Set in the environment of the child process that runs one export.
const CHILD_ENV: &str = "STACKGATE_AUDIT_BENCH_EXPORT_ORG";
const DB_ENV: &str = "STACKGATE_AUDIT_BENCH_DB";

/// Event ids with their weight in 1/10,000.
const MIX: [(&str, u64); 22] = [
    ("stack-tags-changed", 2_400),
    ("stack-created", 1_200),
    ("team-updated", 1_000),
    ("stack-team-permission-changed", 800),
    ("stack-deleted", 600),
    ("auth-failure-stack-permission", 600),
    (COMMON, 500),
    ("user-login-failed", 450),
    ("auth-failure-organization-role", 400),
    ("personal-token-created", 350),
    ("team-token-created", 300),
    ("organization-token-created", 250),
    ("member-role-changed", 250),
    ("personal-token-deleted", 200),
    ("team-token-deleted", 150),
    ("organization-token-deleted", 150),
    ("team-created", 130),
    ("member-removed", 120),
    ("organization-settings-changed", 70),
    ("team-deleted", 40),
    ("audit-log-exported", 30),
    (RARE, 10),
];

const USERS: [(&str, &str); 8] = [
    ("alice", "Alice Archer"),
    ("bob", "Bob Baker"),
    ("carol", "Carol Chen"),
    ("dave", "Dave Diaz"),
    ("erin", "Erin Evans"),
    ("frank", "Frank Fischer"),
    ("gina", "Gina García"),
    ("hugo", "Hugo Hoffmann"),
];
const ORG_TOKENS: [&str; 3] = ["ci-deploy", "ci-audit", "terraform"];
const TEAM_TOKENS: [(&str, &str, &str); 2] = [
    ("platform", "Platform", "platform-ci"),
    ("data", "Data Engineering", "data-ci"),
];

// ---------------------------------------------------------------------------------------
// Synthetic events

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn token_id(kind: u64, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// The event at `seq` of `org`: deterministic, so a resumed fill writes the same log.
fn synthetic(org_id: &str, org: &str, seq: i64) -> NewAuditEvent {
    let r = splitmix(seq.unsigned_abs() ^ 0xA0D1_7000);
    let pick = r % 10_000;
    let mut acc = 0;
    let mut id = MIX[0].0;
    for (e, w) in MIX {
        acc += w;
        if pick < acc {
            id = e;
            break;
        }
    }
    let info = EventType::from_id(id)
        .expect("every id of MIX is in the catalogue")
        .info();
    let who = (r >> 14) % 100;
    let actor = if who < 70 {
        let u = (r >> 21) % 8;
        let (login, name) = USERS[u as usize];
        AuditActor {
            login: login.into(),
            name: name.into(),
            email: format!("{login}@example.com"),
            token_id: Some(token_id(u + 1, (r >> 24) % 2)),
            token_name: Some(String::new()),
        }
    } else if who < 90 {
        let t = (r >> 21) % 3;
        AuditActor {
            login: org.into(),
            name: org.into(),
            email: String::new(),
            token_id: Some(token_id(0x100, t)),
            token_name: Some(ORG_TOKENS[t as usize].into()),
        }
    } else {
        let t = (r >> 21) % 2;
        let (team, display, name) = TEAM_TOKENS[t as usize];
        AuditActor {
            login: team.into(),
            name: display.into(),
            email: String::new(),
            token_id: Some(token_id(0x200, t)),
            token_name: Some(name.into()),
        }
    };
    let description = format!(
        "{}: stack '{org}/proj-{:02}/stack-{:03}' by {} (change {seq})",
        info.display_name,
        (r >> 32) % 40,
        (r >> 40) % 500,
        actor.login
    );
    NewAuditEvent {
        org_id: org_id.to_string(),
        timestamp: BASE_TS + 30 * seq,
        event: id.to_string(),
        description,
        actor,
        source_ip: format!(
            "10.{}.{}.{}",
            (r >> 48) % 4,
            (r >> 50) % 256,
            (r >> 58) % 60 + 1
        ),
        req_org_admin: info.requires_org_admin,
        req_stack_admin: info.requires_stack_admin,
        auth_failure: info.authentication_failure,
    }
}

// ---------------------------------------------------------------------------------------
// The database

struct Fixture {
    service: Service,
    router: Router,
    /// `Authorization` header of the orgs' admin.
    auth: String,
    db: PathBuf,
    /// Events in each org when measuring starts.
    big_events: i64,
    small_events: i64,
    fill: String,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn default_db() -> PathBuf {
    if let Some(p) = std::env::var_os(DB_ENV) {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench-data").join("audit-log-1m.db")
}

async fn open(db: &Path) -> (Service, SqliteStore) {
    let url = format!("sqlite://{}", db.display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("open the benchmark database");
    (Service::new(Arc::new(store.clone())), store)
}

/// Number of events (head `seq`) of `org`, or `None` when the org does not exist.
async fn head_seq(store: &SqliteStore, org: &str) -> Option<i64> {
    let mut tx = store.read().await.expect("read");
    let org = tx.org_by_name(org).await.expect("org by name")?;
    Some(tx.audit_head(&org.id).await.expect("audit head").seq)
}

/// Brings `org` up to `events` events; returns how many were written.
async fn fill(service: &Service, store: &SqliteStore, org: &str, events: i64) -> i64 {
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

async fn admin_header(service: &Service, store: &SqliteStore) -> String {
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

async fn prepare(db: PathBuf, big: i64, small: i64) -> Fixture {
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

// ---------------------------------------------------------------------------------------
// Requests

fn request(auth: &str, path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("a valid request")
}

/// GETs a JSON page; returns the number of events and the continuation token.
async fn page(router: &Router, auth: &str, path: &str) -> (usize, Option<String>) {
    let resp = router
        .clone()
        .oneshot(request(auth, path))
        .await
        .expect("the router is infallible");
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("read the body")
        .to_bytes();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    let v: Value = serde_json::from_slice(&bytes).expect("a JSON page");
    let n = v["auditLogEvents"].as_array().map_or(0, Vec::len);
    (n, v["continuationToken"].as_str().map(str::to_string))
}

/// The measured pages: (criterion id, path).
fn pages(big_events: i64) -> Vec<(&'static str, String)> {
    let base = format!("/api/orgs/{BIG_ORG}/auditlogs/v2?pageSize=100");
    vec![
        ("newest_page", base.clone()),
        (
            "deep_page_at_half",
            format!("{base}&continuationToken={}", big_events / 2 + 1),
        ),
        ("filter_5pct", format!("{base}&eventFilter={COMMON}")),
        ("filter_0.1pct", format!("{base}&eventFilter={RARE}")),
        (
            "filter_two_ids",
            format!("{base}&eventFilter={COMMON},{RARE}"),
        ),
        // Worst cases found while investigating (see the module header).
        (
            "filter_two_rare_ids",
            format!("{base}&eventFilter={RARE},{ABSENT}"),
        ),
        (
            "filter_user_and_rare_id",
            format!("{base}&eventFilter={RARE}&userFilter=alice"),
        ),
    ]
}

/// Each measured page answers 100 events (and the deep one starts where it should).
async fn check_pages(fx: &Fixture) {
    for (name, path) in pages(fx.big_events) {
        let (n, next) = page(&fx.router, &fx.auth, &path).await;
        // alice holds ~90 of the 1,000 rare events; a small (smoke) log may have none.
        let ok = if fx.big_events < 500_000 && name.starts_with("filter") {
            n <= 100
        } else if name == "filter_user_and_rare_id" {
            (1..100).contains(&n)
        } else {
            n == 100
        };
        assert!(ok, "{name}: {n} events for {path}");
        if name == "deep_page_at_half" {
            let want = fx.big_events / 2 + 1 - 100;
            assert_eq!(next, Some(want.to_string()), "{name}");
        }
    }
}

fn bench_pages(c: &mut Criterion, rt: &Runtime, fx: &Fixture) {
    let mut g = c.benchmark_group("audit_log_1m");
    for (name, path) in pages(fx.big_events) {
        g.bench_function(name, |b| {
            b.to_async(rt).iter(|| page(&fx.router, &fx.auth, &path));
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Export: time and memory

/// A field of `/proc/self/status` in kB (0 where there is no procfs).
fn proc_status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct ExportRun {
    secs: f64,
    bytes: u64,
    rows: u64,
    rss_before_kb: u64,
    rss_peak_kb: u64,
    /// VmRSS when the first 100,000 rows had been streamed, and at the last chunk.
    rss_100k_kb: u64,
    rss_last_kb: u64,
    hwm_before_kb: u64,
    hwm_after_kb: u64,
}

impl ExportRun {
    fn line(&self, org: &str) -> String {
        format!(
            "AUDIT_EXPORT org={org} secs={:.3} bytes={} rows={} rss_before_kb={} rss_peak_kb={} rss_100k_kb={} rss_last_kb={} hwm_before_kb={} hwm_after_kb={}",
            self.secs,
            self.bytes,
            self.rows,
            self.rss_before_kb,
            self.rss_peak_kb,
            self.rss_100k_kb,
            self.rss_last_kb,
            self.hwm_before_kb,
            self.hwm_after_kb
        )
    }

    fn parse(line: &str) -> Option<(String, ExportRun)> {
        let rest = line.strip_prefix("AUDIT_EXPORT ")?;
        let mut org = String::new();
        let mut run = ExportRun::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "org" => org = v.to_string(),
                "secs" => run.secs = v.parse().ok()?,
                "bytes" => run.bytes = v.parse().ok()?,
                "rows" => run.rows = v.parse().ok()?,
                "rss_before_kb" => run.rss_before_kb = v.parse().ok()?,
                "rss_peak_kb" => run.rss_peak_kb = v.parse().ok()?,
                "rss_100k_kb" => run.rss_100k_kb = v.parse().ok()?,
                "rss_last_kb" => run.rss_last_kb = v.parse().ok()?,
                "hwm_before_kb" => run.hwm_before_kb = v.parse().ok()?,
                "hwm_after_kb" => run.hwm_after_kb = v.parse().ok()?,
                _ => return None,
            }
        }
        Some((org, run))
    }
}

/// Streams a full CSV export of `org`, counting bytes and rows, sampling VmRSS per chunk.
async fn export_once(router: &Router, auth: &str, org: &str) -> ExportRun {
    let path = format!("/api/orgs/{org}/auditlogs/v2/export?format=csv");
    let mut run = ExportRun {
        rss_before_kb: proc_status_kb("VmRSS:"),
        hwm_before_kb: proc_status_kb("VmHWM:"),
        ..ExportRun::default()
    };
    run.rss_peak_kb = run.rss_before_kb;
    let started = Instant::now();
    let resp = router
        .clone()
        .oneshot(request(auth, &path))
        .await
        .expect("the router is infallible");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let mut body = resp.into_body();
    let mut newlines = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("an export chunk");
        if let Some(data) = frame.data_ref() {
            run.bytes += data.len() as u64;
            newlines += data.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let rss = proc_status_kb("VmRSS:");
        run.rss_peak_kb = run.rss_peak_kb.max(rss);
        if run.rss_100k_kb == 0 && newlines > 100_000 {
            run.rss_100k_kb = rss;
        }
        run.rss_last_kb = rss;
    }
    run.secs = started.elapsed().as_secs_f64();
    run.hwm_after_kb = proc_status_kb("VmHWM:");
    // Descriptions hold no line breaks: one line per event, plus the header.
    run.rows = newlines.saturating_sub(1);
    run
}

/// Child process: two exports of one org, one result line each on stdout.
fn export_child(org: &str) {
    let rt = runtime();
    rt.block_on(async {
        let (service, store) = open(&default_db()).await;
        let auth = admin_header(&service, &store).await;
        let router = stackgate_server::router(service);
        // Warm the token cache and the connections outside the measurement.
        page(
            &router,
            &auth,
            &format!("/api/orgs/{org}/auditlogs/v2?pageSize=1"),
        )
        .await;
        for _ in 0..2 {
            println!("{}", export_once(&router, &auth, org).await.line(org));
        }
        println!("{}", breakdown(&store, org).await);
    });
}

fn all_events(org_id: &str, before_seq: Option<i64>) -> stackgate_store::AuditQuery {
    stackgate_store::AuditQuery {
        org_id: org_id.to_string(),
        before_seq,
        start_time: None,
        end_time: None,
        events: Vec::new(),
        user_login: None,
        token_id: None,
        limit: stackgate_core::service::EXPORT_BATCH,
    }
}

/// Where an export's time goes: reading every page through the store (SQL and row
/// decoding, as `AuditExport` does) and encoding the pages as CSV, each timed alone; then
/// a prototype of a faster export that reads pages ahead on `width` read connections
/// (pages cut by `seq` range, which a dense, unfiltered chain allows).
async fn breakdown(store: &SqliteStore, org: &str) -> String {
    let (org_id, head) = {
        let mut tx = store.read().await.expect("read");
        let org = tx.org_by_name(org).await.expect("org").expect("the org");
        let head = tx.audit_head(&org.id).await.expect("head");
        (org.id, head)
    };
    let mut query = all_events(&org_id, None);
    let (mut read, mut encode, mut events, mut bytes) =
        (Duration::ZERO, Duration::ZERO, 0usize, 0usize);
    loop {
        let t = Instant::now();
        let mut tx = store.read().await.expect("read");
        let page = tx.list_audit(&query).await.expect("a page");
        drop(tx);
        read += t.elapsed();
        let t = Instant::now();
        bytes += stackgate_server::export::csv_chunk(&page, false).len();
        encode += t.elapsed();
        events += page.len();
        match page.last() {
            Some(last) if page.len() == query.limit as usize => {
                query.before_seq = Some(last.link.seq);
            }
            _ => break,
        }
    }
    let mut out = format!(
        "AUDIT_BREAKDOWN org={org} events={events} bytes={bytes} read_secs={:.3} encode_secs={:.3}",
        read.as_secs_f64(),
        encode.as_secs_f64()
    );
    for width in [2, 4] {
        let batch = i64::from(stackgate_core::service::EXPORT_BATCH);
        let starts: Vec<i64> = (0..)
            .map(|k| head.seq + 1 - k * batch)
            .take_while(|before| *before > head.pruned_seq + 1)
            .collect();
        let t = Instant::now();
        let (n, b) = futures_util::stream::iter(starts)
            .map(|before| {
                let (store, org_id) = (store.clone(), org_id.clone());
                async move {
                    let mut tx = store.read().await.expect("read");
                    let page = tx
                        .list_audit(&all_events(&org_id, Some(before)))
                        .await
                        .expect("a page");
                    drop(tx);
                    (
                        page.len(),
                        stackgate_server::export::csv_chunk(&page, false).len(),
                    )
                }
            })
            .buffered(width)
            .fold((0, 0), |(n, b), (pn, pb)| async move { (n + pn, b + pb) })
            .await;
        assert_eq!((n, b), (events, bytes), "read-ahead by {width}");
        out.push_str(&format!(
            " readahead{width}_secs={:.3}",
            t.elapsed().as_secs_f64()
        ));
    }
    let t = Instant::now();
    let (n, b) = json_pages(store_path(), &org_id, head.seq).await;
    assert_eq!((n, b), (events, bytes), "JSON pages");
    out.push_str(&format!(" jsonpages_secs={:.3}", t.elapsed().as_secs_f64()));
    out
}

fn store_path() -> PathBuf {
    default_db()
}

/// One page as SQLite's `json_array` rows (the columns of `AuditEvent`, in order).
#[derive(serde::Deserialize)]
struct JsonRow(
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
    String,
);

/// Prototype of a cheaper bulk read: SQLite aggregates each page of 2,000 events into one
/// JSON text (`json_group_array`), so the driver hands over one value per page instead of
/// 2,000 rows of 16 values; the page is parsed with serde and encoded as CSV as today.
async fn json_pages(db: PathBuf, org_id: &str, head_seq: i64) -> (usize, usize) {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("a raw read-only connection");
    let sql = "SELECT json_group_array(json_array(id, seq, timestamp, event, description, \
               user_login, user_name, user_email, token_id, token_name, source_ip, \
               req_org_admin, req_stack_admin, auth_failure, prev_hash, hash)) \
               FROM (SELECT * FROM audit_events WHERE org_id = ? AND seq < ? \
               ORDER BY seq DESC LIMIT ?)";
    let (mut events, mut bytes, mut before) = (0, 0, head_seq + 1);
    loop {
        let (json,): (String,) = sqlx::query_as(sql)
            .bind(org_id)
            .bind(before)
            .bind(i64::from(stackgate_core::service::EXPORT_BATCH))
            .fetch_one(&mut conn)
            .await
            .expect("a JSON page");
        let rows: Vec<JsonRow> = serde_json::from_str(&json).expect("parse a JSON page");
        let page: Vec<stackgate_store::AuditEvent> = rows
            .into_iter()
            .map(|r| stackgate_store::AuditEvent {
                id: r.0,
                event: NewAuditEvent {
                    org_id: org_id.to_string(),
                    timestamp: r.2,
                    event: r.3,
                    description: r.4,
                    actor: AuditActor {
                        login: r.5,
                        name: r.6,
                        email: r.7,
                        token_id: r.8,
                        token_name: r.9,
                    },
                    source_ip: r.10,
                    req_org_admin: r.11 != 0,
                    req_stack_admin: r.12 != 0,
                    auth_failure: r.13 != 0,
                },
                link: stackgate_store::ChainLink {
                    seq: r.1,
                    prev_hash: r.14,
                    hash: r.15,
                },
            })
            .collect();
        bytes += stackgate_server::export::csv_chunk(&page, false).len();
        events += page.len();
        match page.last() {
            Some(last) if page.len() == stackgate_core::service::EXPORT_BATCH as usize => {
                before = last.link.seq;
            }
            _ => break,
        }
    }
    (events, bytes)
}

/// Runs [`export_child`] for `org` in a fresh process of this binary.
fn export_in_child(db: &Path, org: &str) -> (Vec<ExportRun>, String) {
    let exe = std::env::current_exe().expect("the benchmark binary");
    let out = std::process::Command::new(exe)
        .env(CHILD_ENV, org)
        .env(DB_ENV, db)
        .output()
        .expect("run the export child");
    assert!(
        out.status.success(),
        "export child for {org} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let runs = stdout
        .lines()
        .filter_map(ExportRun::parse)
        .map(|(_, run)| run)
        .collect();
    let breakdown = stdout
        .lines()
        .find_map(|l| l.strip_prefix("AUDIT_BREAKDOWN "))
        .unwrap_or("")
        .to_string();
    (runs, breakdown)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

type ChildRuns = (Vec<ExportRun>, String);

fn report_exports(fx: &Fixture, runs: &[(&str, i64, ChildRuns)]) {
    println!();
    println!("CSV export (each in a fresh process; two runs, the second with a warm page cache):");
    for (org, events, (list, breakdown)) in runs {
        for (i, r) in list.iter().enumerate() {
            // The export writes its own audit-log-exported event first: it is in the file.
            assert!(
                r.rows as i64 > *events + i as i64,
                "{org}: {} rows for {events} events",
                r.rows
            );
            println!(
                "  {org:>10} run {}: {:>9} rows {:>7.1} MiB in {:>6.2} s ({:>4.0} MiB/s) | RSS before {:>6.1} MiB, peak while streaming +{:>5.1} MiB, at row 100k {:>6.1} MiB, at the end {:>6.1} MiB, VmHWM {:>6.1} -> {:>6.1} MiB",
                i + 1,
                r.rows,
                mib(r.bytes / 1024),
                r.secs,
                mib(r.bytes / 1024) / r.secs,
                mib(r.rss_before_kb),
                mib(r.rss_peak_kb.saturating_sub(r.rss_before_kb)),
                mib(r.rss_100k_kb),
                mib(r.rss_last_kb),
                mib(r.hwm_before_kb),
                mib(r.hwm_after_kb),
            );
        }
        println!("  {org:>10} breakdown (store reads and CSV encoding timed alone): {breakdown}");
    }
    println!(
        "database: {} ({:.0} MiB)",
        fx.db.display(),
        file_mib(&fx.db)
    );
}

fn file_mib(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
}

// ---------------------------------------------------------------------------------------
// Entry points

/// `cargo test --benches`: the whole path once, on a small temporary database.
fn smoke() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let rt = runtime();
    rt.block_on(async {
        let fx = prepare(dir.path().join("smoke.db"), 3_000, 500).await;
        check_pages(&fx).await;
        let run = export_once(&fx.router, &fx.auth, BIG_ORG).await;
        assert!(run.rows as i64 > fx.big_events, "{run:?}");
        let verified = fx
            .service
            .verify_audit_as_operator(BIG_ORG)
            .await
            .expect("verify");
        assert!(verified.broken.is_none(), "{verified:?}");
        eprintln!("audit_log smoke test: ok ({})", fx.fill);
    });
}

fn main() {
    if let Ok(org) = std::env::var(CHILD_ENV) {
        export_child(&org);
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let rt = runtime();
    let fx = rt.block_on(async {
        let fx = prepare(default_db(), 1_000_000, 100_000).await;
        check_pages(&fx).await;
        fx
    });
    println!(
        "audit_log: {} events in {BIG_ORG}, {} in {SMALL_ORG}; {}",
        fx.big_events, fx.small_events, fx.fill
    );
    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench_pages(&mut c, &rt, &fx);
    c.final_summary();
    if std::env::var("STACKGATE_AUDIT_BENCH_EXPORT").is_ok_and(|v| v == "0") {
        return;
    }

    let runs = vec![
        (
            SMALL_ORG,
            fx.small_events,
            export_in_child(&fx.db, SMALL_ORG),
        ),
        (BIG_ORG, fx.big_events, export_in_child(&fx.db, BIG_ORG)),
    ];
    report_exports(&fx, &runs);
}
