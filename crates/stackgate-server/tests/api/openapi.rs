//! `GET /api/openapi/pulumi-spec.json`: the OpenAPI document, served without a token.

use crate::common::{assert_ok, TestApp, Who};

#[tokio::test]
async fn the_document_is_served_to_anyone_and_covers_every_route() {
    let app = TestApp::start().await;
    let (st, doc) = app.get("/api/openapi/pulumi-spec.json", Who::Nobody).await;
    assert_ok(st, &doc, "GET /api/openapi/pulumi-spec.json");
    assert_eq!(doc, stackgate_server::openapi::document());
    assert_eq!(doc["openapi"], "3.1.0");
    let operations: usize = doc["paths"]
        .as_object()
        .map(|paths| {
            paths
                .values()
                .filter_map(|item| item.as_object().map(|ops| ops.len()))
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(operations, stackgate_server::route_list().len());
    // A token does not change it.
    let (st, with_token) = app.get("/api/openapi/pulumi-spec.json", Who::Admin).await;
    assert_ok(st, &with_token, "with a token");
    assert_eq!(with_token, doc);
}
