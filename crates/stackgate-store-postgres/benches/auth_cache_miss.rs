//! What a token-verification cache miss costs on PostgreSQL compared with SQLite:
//! `Service::authenticate` of a personal token (token row, user, memberships in one read
//! transaction) with the cache invalidated before every call, timed in a loop.
//!
//! `cargo bench -p stackgate-store-postgres --bench auth_cache_miss`; the PostgreSQL half
//! needs `STACKGATE_TEST_POSTGRES_URL` (a schema of its own is created and dropped).
//! Prints mean, p50 and p99 per backend, and the difference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stackgate_core::Service;
use stackgate_store::Store;
use stackgate_store_postgres::PostgresStore;
use stackgate_store_sqlite::SqliteStore;
use stackgate_store_testkit::pg::TestSchema;

const WARMUP: usize = 200;
const ITERATIONS: usize = 3000;

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

async fn measure(store: Arc<dyn Store>) -> Stats {
    let service = Service::new(store);
    let created = service
        .init_org("bench", "bench", "bench@example.com", "127.0.0.1")
        .await
        .expect("init");
    let header = format!("token {}", created.value.expose());
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..WARMUP + ITERATIONS {
        service.auth_cache().invalidate_all();
        let start = Instant::now();
        service
            .authenticate(Some(&header), "127.0.0.1")
            .await
            .expect("authenticate");
        if i >= WARMUP {
            samples.push(start.elapsed());
        }
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    Stats {
        mean: total / samples.len() as u32,
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

fn print(name: &str, s: &Stats) {
    println!(
        "{name:<10} cache miss: mean {:>8.1} µs  p50 {:>8.1} µs  p99 {:>8.1} µs",
        s.mean.as_secs_f64() * 1e6,
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = runtime.block_on(async {
        let store = SqliteStore::connect(&url).await.expect("sqlite");
        measure(Arc::new(store)).await
    });
    print("SQLite", &sqlite);

    let Some(db) = runtime.block_on(TestSchema::create("auth_cache_miss")) else {
        return;
    };
    let pg = runtime.block_on(async {
        let store = PostgresStore::connect(&db.url()).await.expect("postgres");
        let stats = measure(Arc::new(store.clone())).await;
        store.close().await;
        stats
    });
    print("PostgreSQL", &pg);
    println!(
        "PostgreSQL adds {:.1} µs (mean) / {:.1} µs (p50) per cache miss",
        (pg.mean.as_secs_f64() - sqlite.mean.as_secs_f64()) * 1e6,
        (pg.p50.as_secs_f64() - sqlite.p50.as_secs_f64()) * 1e6
    );
}
