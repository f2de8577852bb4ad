//! Requests: the listing pages the benchmark measures, checked and timed.

use super::*;

pub(crate) fn request(auth: &str, path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("a valid request")
}

/// GETs a JSON page; returns the number of events and the continuation token.
pub(crate) async fn page(router: &Router, auth: &str, path: &str) -> (usize, Option<String>) {
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
pub(crate) fn pages(big_events: i64) -> Vec<(&'static str, String)> {
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
pub(crate) async fn check_pages(fx: &Fixture) {
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

pub(crate) fn bench_pages(c: &mut Criterion, rt: &Runtime, fx: &Fixture) {
    let mut g = c.benchmark_group("audit_log_1m");
    for (name, path) in pages(fx.big_events) {
        g.bench_function(name, |b| {
            b.to_async(rt).iter(|| page(&fx.router, &fx.auth, &path));
        });
    }
    g.finish();
}
