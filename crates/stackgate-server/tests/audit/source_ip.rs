//! Source addresses: `X-Forwarded-For` is believed only from a trusted proxy.

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use serde_json::{json, Value};
use stackgate_server::ServerConfig;

use crate::common::{assert_ok, send_raw, TestApp, Who, STACK_PATH};

/// Changes a tag of the fixture stack through `router` with `X-Forwarded-For: xff`;
/// returns the `sourceIP` of the event it wrote.
async fn tag_change_source_ip(app: &TestApp, router: &Router, value: &str, xff: &str) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(format!("{STACK_PATH}/tags"))
        .header(
            header::AUTHORIZATION,
            app.header(&Who::Admin).expect("admin header"),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", xff)
        .body(Body::from(
            json!({"name": "xff", "value": value}).to_string(),
        ))
        .expect("request");
    let resp = send_raw(router, req).await;
    assert_ok(resp.status, &resp.json(), "tag change");
    let events = app.audit().await;
    assert_eq!(events[0]["event"], "stack-tags-changed", "{:?}", events[0]);
    assert!(
        events[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("xff={value}"))),
        "{:?}",
        events[0]
    );
    events[0]["sourceIP"].clone()
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let app = TestApp::start().await;
    let untrusted = stackgate_server::router_with(
        app.service.clone(),
        ServerConfig {
            trusted_proxies: Vec::new(),
            ..ServerConfig::default()
        },
    );
    // In-process requests have no ConnectInfo: the peer counts as 127.0.0.1.
    let trusted = stackgate_server::router_with(
        app.service.clone(),
        ServerConfig {
            trusted_proxies: vec!["127.0.0.1/32".parse().expect("a network")],
            ..ServerConfig::default()
        },
    );
    assert_eq!(
        tag_change_source_ip(&app, &untrusted, "1", "203.0.113.7").await,
        "127.0.0.1",
        "X-Forwarded-For believed without a trusted proxy"
    );
    assert_eq!(
        tag_change_source_ip(&app, &trusted, "2", "203.0.113.7").await,
        "203.0.113.7",
        "X-Forwarded-For ignored from a trusted proxy"
    );
    // The right-most untrusted hop is the client: a spoofed left-most entry is not.
    assert_eq!(
        tag_change_source_ip(&app, &trusted, "3", "6.6.6.6, 198.51.100.4").await,
        "198.51.100.4"
    );
}
