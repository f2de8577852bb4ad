//! A flood of unauthenticated sign-ins must not exhaust memory: each password check takes
//! ~19 MiB (argon2id), so only a few run at once and the rest are refused. In a test binary
//! of its own, because it measures the whole process's peak memory.

mod support;

use std::sync::Arc;

use support::*;

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_sign_ins_for_unknown_logins_stays_within_bounds() {
    if !std::path::Path::new("/proc/self/status").exists() {
        println!("skipped: no /proc to read the peak memory from");
        return;
    }
    let app = Arc::new(
        app_with(ConsoleConfig {
            rate_limit: RateLimit {
                max_failures: 5,
                max_failures_per_source: 1_000,
                window_secs: 900,
            },
            ..ConsoleConfig::default()
        })
        .await,
    );
    let before = peak_mib();
    let tries: Vec<_> = (0..150)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.sign_in(&format!("unknown{i}"), "a password typed")
                    .await
                    .0
                    .status
            })
        })
        .collect();
    let mut answered = std::collections::BTreeMap::new();
    for t in tries {
        *answered.entry(t.await.expect("task").as_u16()).or_insert(0) += 1;
    }
    let grown = peak_mib() - before;
    println!("150 concurrent sign-ins: {answered:?}; peak memory grew by {grown:.0} MiB");
    assert!(
        answered.keys().all(|s| *s == 401 || *s == 503),
        "{answered:?}"
    );
    // Two checks at a time (~19 MiB each) plus the requests: far below the 2.9 GB that
    // 150 unbounded checks took.
    assert!(grown < 120.0, "peak memory grew by {grown:.0} MiB");
}
