//! `--log-format json` and request ids: every request gets an `X-Request-Id` (the
//! client's, when acceptable), returned on the response and carried by the request's
//! log lines, which are JSON objects.

mod common;

use std::time::Duration;

use common::{fresh, get_with_headers};
use serde_json::Value;

fn request_id(head: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .map(|v| v.trim().to_string())
}

#[test]
fn json_logs_carry_the_request_id_that_the_response_returns() {
    let (_dir, _db, alice, server) = fresh("logs", &["--log-format", "json"]);

    // The client's id is kept and returned.
    let (st, head, _) = get_with_headers(
        &server.addr,
        "/api/user",
        &[
            ("Authorization", &format!("token {alice}")),
            ("X-Request-Id", "ci-run-42.step:7"),
        ],
    );
    assert_eq!(st, 200, "{head}");
    assert_eq!(
        request_id(&head).as_deref(),
        Some("ci-run-42.step:7"),
        "{head}"
    );
    // Without one, or with one that is not a plain token, a fresh id is set.
    let (_, head, _) = get_with_headers(&server.addr, "/healthz", &[]);
    let fresh = request_id(&head).expect("an id");
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    let (_, head, _) = get_with_headers(
        &server.addr,
        "/healthz",
        &[("X-Request-Id", "bad id\twith spaces")],
    );
    let replaced = request_id(&head).expect("an id");
    assert_ne!(replaced, "bad id\twith spaces");
    // The console's responses carry one too.
    let (_, head, _) = get_with_headers(&server.addr, "/console/login", &[]);
    assert!(request_id(&head).is_some(), "{head}");

    // Every log line is JSON; the request's line has its id, method, path and status.
    std::thread::sleep(Duration::from_millis(200));
    let lines = server.log.lock().expect("log").clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let line = parsed
        .iter()
        .find(|v| v["span"]["request_id"] == "ci-run-42.step:7")
        .unwrap_or_else(|| panic!("no line with the request id: {lines:?}"));
    assert_eq!(line["span"]["path"], "/api/user", "{line}");
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert!(
        !lines.iter().any(|l| l.contains(&alice)),
        "a token value reached the logs"
    );
}
