//! Per-request cost of authentication and authorization.
//!
//! - `authenticate/cache_hit`: `Service::authenticate` with a warm cache (no database);
//! - `authenticate/cache_hit_then_authorize`: the same plus `authz::check` with the role
//!   taken from the cached memberships (the CPU cost of a decision, without the
//!   membership query a service makes in its transaction);
//! - `authenticate/cache_miss`: the same call after `AuthCache::invalidate_all`, so every
//!   iteration reloads the token, user and memberships from SQLite;
//! - `authenticate/rejected_*`: a value with wrong check digits (refused offline) and a
//!   well-formed value that is not in the database (looked up, failure path);
//! - `authz/*`: the pure permission check for representative stack actions;
//! - `token/*`: the offline format check and the SHA-256 hash of a value.
//!
//! That a cache hit needs no database is proven by a test, not here:
//! `tests/auth_cache.rs` closes the store's pools and still verifies a cached token.
//!
//! Run with `cargo bench -p stackgate-core --bench auth` (about 45 s).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use stackgate_core::authz::{self, Action, Actor, Facts, OrgPolicy, StackFacts};
use stackgate_core::token::TokenValue;
use stackgate_core::Service;
use stackgate_store::{OrgRole, StackPermission};
use stackgate_store_sqlite::SqliteStore;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// A service over a fresh SQLite file, and the `Authorization` header of its admin.
struct Fixture {
    service: Service,
    header: String,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqliteStore::connect(&url).await.expect("open SQLite store");
    let service = Service::new(Arc::new(store));
    let created = service
        .init_org("bench", "bench", "bench@example.com", "bench")
        .await
        .expect("init_org");
    let header = format!("token {}", created.value.expose());
    // First use writes `lastUsed` once; do it here, outside any measurement.
    service
        .authenticate(Some(&header), "127.0.0.1")
        .await
        .expect("first authentication");
    Fixture {
        service,
        header,
        _dir: dir,
    }
}

fn bench_authenticate(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let f = rt.block_on(fixture());
    let service = &f.service;
    let header = f.header.as_str();

    let mut group = c.benchmark_group("authenticate");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(60);
    group.bench_function("cache_hit", |b| {
        b.to_async(&rt).iter(|| async {
            service
                .authenticate(Some(header), "127.0.0.1")
                .await
                .expect("authenticate (hit)")
        });
    });
    // The CPU cost of one request's access decision on a hit: verify the token, take the
    // caller's role from the cached memberships and ask `authz::check`. (A service reads
    // the role inside its own transaction instead, one indexed query; that read is not
    // part of this figure.)
    group.bench_function("cache_hit_then_authorize", |b| {
        b.to_async(&rt).iter(|| async {
            let cached = service
                .authenticate(Some(header), "127.0.0.1")
                .await
                .expect("authenticate (hit)");
            let role = cached
                .memberships
                .iter()
                .find(|(org, _)| org.name == "bench")
                .map(|(_, role)| *role);
            let facts = Facts::new(Actor::User { role }, OrgPolicy::default())
                .with_stack(StackFacts::default());
            authz::check(Action::WriteStack, &facts).expect("the org admin may write")
        });
    });
    // `PerIteration`: the cache is invalidated right before *each* call. (With a larger
    // batch criterion runs every setup first, so only the batch's first call would miss.)
    group.bench_function("cache_miss", |b| {
        b.to_async(&rt).iter_batched(
            || service.auth_cache().invalidate_all(),
            |()| async {
                service
                    .authenticate(Some(header), "127.0.0.1")
                    .await
                    .expect("authenticate (miss)")
            },
            BatchSize::PerIteration,
        );
    });
    // Refusals. A value failing the check digits never reaches the store; a well-formed
    // value that is not in the database (anyone can compute the CRC) costs one lookup in
    // a read snapshot (a miss) and a second one to see whether there is a failure to
    // record (an unknown value is only logged).
    let forged = format!("token {}", TokenValue::generate().expose());
    let mut mistyped = header.to_string();
    let last = if mistyped.ends_with('0') { "1" } else { "0" };
    mistyped.replace_range(mistyped.len() - 1.., last);
    group.bench_function("rejected_bad_check_digits", |b| {
        b.to_async(&rt).iter(|| async {
            let refused = service
                .authenticate(Some(&mistyped), "127.0.0.1")
                .await
                .is_err();
            assert!(refused, "a mistyped token is refused");
        });
    });
    group.bench_function("rejected_unknown_token", |b| {
        b.to_async(&rt).iter(|| async {
            let refused = service
                .authenticate(Some(&forged), "127.0.0.1")
                .await
                .is_err();
            assert!(refused, "an unknown token is refused");
        });
    });
    group.finish();
}

fn bench_authz(c: &mut Criterion) {
    // A member user writing a stack through two team grants (the longest path through
    // `stack_level`), and a member deleting a stack (two checks, policy flag refuses).
    let member = Facts::new(
        Actor::User {
            role: Some(OrgRole::Member),
        },
        OrgPolicy::default(),
    )
    .with_stack(StackFacts {
        team_grants: vec![StackPermission::Read, StackPermission::Write],
        creator: false,
    });
    let admin_token = Facts::new(
        Actor::OrgToken {
            admin: true,
            own_org: true,
        },
        OrgPolicy::default(),
    )
    .with_stack(StackFacts::default());

    let mut group = c.benchmark_group("authz");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    group.bench_function("check/member_write_stack", |b| {
        b.iter(|| {
            authz::check(
                std::hint::black_box(Action::WriteStack),
                std::hint::black_box(&member),
            )
        });
    });
    group.bench_function("check/member_delete_stack_denied", |b| {
        b.iter(|| {
            authz::check(
                std::hint::black_box(Action::DeleteStack),
                std::hint::black_box(&member),
            )
        });
    });
    group.bench_function("check/admin_token_transfer_stack", |b| {
        b.iter(|| {
            authz::check(
                std::hint::black_box(Action::TransferStack),
                std::hint::black_box(&admin_token),
            )
        });
    });
    group.finish();
}

fn bench_token(c: &mut Criterion) {
    let generated = TokenValue::generate();
    let value = generated.expose().to_string();
    let mut bad_check = value.clone();
    let last = if value.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(value.len() - 1.., last);

    let mut group = c.benchmark_group("token");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    group.bench_function("parse/valid", |b| {
        b.iter(|| TokenValue::parse(std::hint::black_box(&value)).expect("valid token"));
    });
    group.bench_function("parse/bad_check_digits", |b| {
        b.iter(|| TokenValue::parse(std::hint::black_box(&bad_check)));
    });
    group.bench_function("hash", |b| {
        b.iter(|| std::hint::black_box(&generated).hash());
    });
    group.finish();
}

criterion_group!(benches, bench_authenticate, bench_authz, bench_token);
criterion_main!(benches);
