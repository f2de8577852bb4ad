//! `POST /api/stacks/{org}/{project}/{stack}/rename` (`pulumi stack rename`): stack admin
//! only; the stack keeps its id, and with it its tags and team grants; refusals in the
//! order visible (404) → allowed (403) → valid (400) → free (409).

use serde_json::json;

use crate::common::{
    assert_error, assert_ok, events_named, TestApp, Who, ORG, PROJECT, STACK_PATH, TEAM,
};

const RENAMED: &str = "/api/stacks/acme/svc/qa";

#[tokio::test]
async fn a_renamed_stack_keeps_its_tags_and_grants_and_is_audited() {
    let app = TestApp::start().await;
    let (st, before) = app.get(STACK_PATH, Who::Admin).await;
    assert_ok(st, &before, "the fixture's stack");

    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/rename"),
            Who::OrgAdminToken,
            json!({"newName": "qa", "newProject": "svc"}),
        )
        .await;
    assert_eq!(st, 204, "{body}");

    let (st, body) = app.get(STACK_PATH, Who::Admin).await;
    assert_error(st, &body, 404, "the old name is gone");
    let (st, after) = app.get(RENAMED, Who::Admin).await;
    assert_ok(st, &after, "the new name");
    assert_eq!(after["tags"], before["tags"], "tags stay");
    let (st, teams) = app.get(&format!("{RENAMED}/teams"), Who::Admin).await;
    assert_ok(st, &teams, "teams of the renamed stack");
    assert!(
        teams["teams"]
            .as_array()
            .expect("teams")
            .iter()
            .any(|t| t["name"] == TEAM),
        "the team grant stays: {teams}"
    );

    let events = app.audit().await;
    let renamed = events_named(&events, "stack-renamed");
    assert_eq!(renamed.len(), 1, "{events:?}");
    let description = renamed[0]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&format!("'{ORG}/{PROJECT}/dev'"))
            && description.contains(&format!("'{ORG}/svc/qa'")),
        "{description}"
    );
    assert_eq!(renamed[0]["tokenName"], "ci-admin", "the admin token acted");

    // Without `newProject` the project stays; to the same name nothing is recorded.
    let (st, body) = app
        .post(
            &format!("{RENAMED}/rename"),
            Who::Admin,
            json!({"newName": "qa"}),
        )
        .await;
    assert_eq!(st, 204, "{body}");
    assert_eq!(events_named(&app.audit().await, "stack-renamed").len(), 1);
}

#[tokio::test]
async fn rename_refusals_come_in_order_and_change_nothing() {
    let app = TestApp::start().await;
    app.create_stack_as(&Who::Admin, PROJECT, "prod").await;
    let path = format!("{STACK_PATH}/rename");
    let to = |name: &str| json!({"newName": name});

    // Not visible: an outsider, and another org's token.
    for who in [Who::Outsider, Who::OtherOrgToken] {
        let (st, body) = app.post(&path, who, to("x")).await;
        assert_error(st, &body, 404, "a hidden stack");
    }
    // Visible (org default read) but not admin: 403, recorded.
    let (st, body) = app.post(&path, Who::Member, to("x")).await;
    assert_error(st, &body, 403, "a reader may not rename");
    assert_eq!(
        events_named(&app.audit().await, "auth-failure-stack-permission").len(),
        1
    );
    // Admin, but bad input: 400; a taken name: 409.
    let (st, body) = app.post(&path, Who::Admin, json!({})).await;
    assert_error(st, &body, 400, "newName is required");
    let (st, body) = app.post(&path, Who::Admin, to("no spaces")).await;
    assert_error(st, &body, 400, "an invalid name");
    let (st, body) = app.post(&path, Who::Admin, to("prod")).await;
    assert_error(st, &body, 409, "the name is taken");

    let (st, body) = app.get(STACK_PATH, Who::Admin).await;
    assert_ok(st, &body, "still there under its name");
    assert!(events_named(&app.audit().await, "stack-renamed").is_empty());
}
