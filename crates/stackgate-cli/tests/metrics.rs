//! `--metrics-listen`: Prometheus metrics on their own address, labelled by route
//! template, never by a concrete path, a token value or a token id.

mod common;

use std::net::TcpListener;

use common::{fresh, get_with_headers};
use serde_json::json;

#[test]
fn metrics_count_requests_by_route_template_and_leak_nothing() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let (_dir, _db, alice, server) = fresh("metrics", &["--metrics-listen", &metrics_addr]);
    server.create_stack(&alice, "proj", "dev");
    for _ in 0..3 {
        assert_eq!(server.get("/api/user", &alice).0, 200);
    }
    assert_eq!(server.get("/api/stacks/acme/proj/nope", &alice).0, 404);
    let (st, token) = server.post(
        "/api/orgs/acme/tokens",
        &alice,
        &json!({"name": "ci", "description": "", "admin": false, "expires": 0}),
    );
    assert_eq!(st, 200, "{token}");

    let (st, _, text) = get_with_headers(&metrics_addr, "/metrics", &[]);
    assert_eq!(st, 200);
    for want in [
        r#"stackgate_http_requests_total{method="GET",route="/api/user",status="200"} 3"#,
        r#"stackgate_http_requests_total{method="GET",route="/api/stacks/{org}/{project}/{stack}",status="404"} 1"#,
        r#"stackgate_http_request_duration_seconds_bucket{method="GET",route="/api/user",status="200",le="+Inf"} 3"#,
        r#"stackgate_token_cache_lookups_total{result="hit"}"#,
        r#"stackgate_token_cache_lookups_total{result="miss"}"#,
        r#"stackgate_audit_events_total{event="stack-created"} 1"#,
        r#"stackgate_db_transaction_wait_seconds_count{kind="write"}"#,
        "stackgate_updates_running 0",
    ] {
        assert!(text.contains(want), "missing {want} in:\n{text}");
    }
    // No concrete path, token value or token id in any label.
    let token_id = token["id"].as_str().expect("id");
    let value = token["tokenValue"].as_str().expect("value");
    for secret in [
        alice.as_str(),
        value,
        token_id,
        "/api/stacks/acme/proj/nope",
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    // The API's own address does not serve them.
    assert_eq!(server.get("/metrics", &alice).0, 404);
}
