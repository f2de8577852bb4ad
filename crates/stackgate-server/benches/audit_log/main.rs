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

// The parts share this file's constants and imports (`use super::*`), and this file
// uses theirs: they are one benchmark, split only to keep each file readable.
mod data;
mod export;
mod fixture;
mod pages;

use data::*;
use export::*;
use fixture::*;
use pages::*;

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
