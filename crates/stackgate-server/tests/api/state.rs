//! The state backend over HTTP, as the Pulumi CLI uses it: an update from creation to
//! completion, the one-update-at-a-time rule, leases (wrong, foreign, expired, after the
//! end, after the starting token was revoked or lost write), bad and oversized bodies
//! (gzip included), the service secrets provider, import, and who may do what.

use std::io::Write;

use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use stackgate_core::service::LEASE_SECONDS;
use stackgate_server::ServerConfig;

use crate::common::{
    assert_error, assert_ok, checkpoint_body, delta_request, events_named, export_of, lease, now,
    send_raw, update_request, Raw, Started, TestApp, Who, ONE_RESOURCE, ORG, STACK_PATH,
};

/// The deployment of the lifecycle test: its text has spacing and a key order of its own,
/// so an export that re-encoded it would differ.
const SPACED: &str = "{ \"resources\": [ {\"urn\":\"urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev\",  \"type\":\"pulumi:pulumi:Stack\"} ],\n  \"manifest\": {\"time\":\"2026-01-01T00:00:00Z\",\"magic\":\"\",\"version\":\"\"} }";

/// A deployment of two resources.
const TWO_RESOURCES: &str = r#"{"manifest":{"time":"2026-01-02T00:00:00Z","magic":"","version":""},"resources":[{"urn":"urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev","type":"pulumi:pulumi:Stack"},{"urn":"urn:pulumi:dev::proj::random:index/randomPet:RandomPet::pet","type":"random:index/randomPet:RandomPet"}]}"#;

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("gzip into memory");
    e.finish().expect("finish the gzip stream")
}

/// A request with raw body bytes, optionally `Content-Encoding`-ed.
fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    who: &Who,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("a method"))
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(h) = app.header(who) {
        req = req.header(header::AUTHORIZATION, h);
    }
    if let Some(e) = encoding {
        req = req.header(header::CONTENT_ENCODING, e);
    }
    req.body(Body::from(body)).expect("a valid request")
}

/// `GET S`'s `activeUpdate`.
async fn active_update(app: &TestApp, stack: &str) -> String {
    let (st, body) = app.get(stack, Who::Admin).await;
    assert_ok(st, &body, "GET the stack");
    body["activeUpdate"]
        .as_str()
        .unwrap_or_else(|| panic!("activeUpdate in {body}"))
        .to_string()
}

/// `GET S/updates` as the admin: the entries, newest first.
async fn history(app: &TestApp, stack: &str) -> Vec<Value> {
    let (st, body) = app.get(&format!("{stack}/updates"), Who::Admin).await;
    assert_ok(st, &body, "stack history");
    body["updates"]
        .as_array()
        .unwrap_or_else(|| panic!("updates in {body}"))
        .clone()
}

/// Asserts that `GET S/export` answers exactly `want`.
async fn assert_export(app: &TestApp, path: &str, want: &str, what: &str) {
    let raw: Raw = app.get_raw(path, Who::Admin).await;
    assert_eq!(raw.status, 200, "{what}: {}", raw.text());
    assert_eq!(
        raw.text(),
        want,
        "{what}: the export is the deployment as sent"
    );
}

#[tokio::test]
async fn an_update_runs_from_creation_to_completion() {
    let app = TestApp::start().await;
    let (st, created) = app
        .post(
            &format!("{STACK_PATH}/update"),
            Who::Admin,
            update_request(false),
        )
        .await;
    assert_ok(st, &created, "create the update");
    let id = created["updateID"].as_str().expect("updateID").to_string();
    let path = format!("{STACK_PATH}/update/{id}");

    let (st, status) = app.get(&path, Who::Admin).await;
    assert_ok(st, &status, "status before the start");
    assert_eq!(status["status"], "not started", "{status}");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "created, not started"
    );

    let (st, started) = app.post(&path, Who::Admin, json!({"tags": {}})).await;
    assert_ok(st, &started, "start");
    assert_eq!(started["version"], 1, "{started}");
    assert_eq!(started["journalVersion"], 0, "{started}");
    let token = started["token"].as_str().expect("token").to_string();
    assert!(!token.is_empty(), "{started}");
    let expires = started["tokenExpiration"]
        .as_i64()
        .expect("tokenExpiration");
    assert!(
        expires > now(),
        "the lease expires in the future: {started}"
    );
    let update = Started {
        id: id.clone(),
        lease: token.clone(),
        version: 1,
        path: path.clone(),
    };
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        id,
        "the update holds the stack"
    );
    let (st, status) = app.get(&path, Who::Admin).await;
    assert_ok(st, &status, "status while running");
    assert_eq!(status["status"], "running", "{status}");

    app.checkpoint_ok(&update, SPACED).await;
    let (st, body) = app
        .post(
            &format!("{path}/events/batch"),
            update.who(),
            json!({"events": [
                {"sequence": 2, "timestamp": 2, "summaryEvent": {"maybeCorrupt": false, "durationSeconds": 1, "resourceChanges": {"create": 1}}},
                {"sequence": 1, "timestamp": 1, "stdoutEvent": {"message": "hello", "color": "never"}},
            ]}),
        )
        .await;
    assert_eq!(st, 204, "events/batch: {body}");
    let (st, renewed) = app
        .post(
            &format!("{path}/renew_lease"),
            update.who(),
            json!({"duration": 600}),
        )
        .await;
    assert_ok(st, &renewed, "renew_lease");
    assert_eq!(renewed["token"], token.as_str(), "the lease stays the same");
    let renewed_until = renewed["tokenExpiration"]
        .as_i64()
        .expect("tokenExpiration");
    assert!(
        renewed_until >= now() + 590,
        "renewed for the duration: {renewed}"
    );

    // The engine events, in sequence order; no continuation token once the update ended.
    let (st, events) = app.get(&format!("{path}/events"), Who::Admin).await;
    assert_ok(st, &events, "events while running");
    assert!(
        events["continuationToken"].is_string(),
        "running: more may come: {events}"
    );
    app.complete_ok(&update, "succeeded").await;
    let (st, events) = app.get(&format!("{path}/events"), Who::Admin).await;
    assert_ok(st, &events, "events after the end");
    let sequences: Vec<&Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["sequence"])
        .collect();
    assert_eq!(sequences, [&json!(1), &json!(2)], "{events}");
    assert!(events.get("continuationToken").is_none(), "{events}");
    let (st, status) = app.get(&path, Who::Admin).await;
    assert_ok(st, &status, "status after the end");
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "the stack is free"
    );

    // The state, byte for byte, as the newest version and as version 1.
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(SPACED),
        "export",
    )
    .await;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export/1"),
        &export_of(SPACED),
        "export/1",
    )
    .await;
    let (st, body) = app
        .get(&format!("{STACK_PATH}/export/abc"), Who::Admin)
        .await;
    assert_error(st, &body, 400, "export of a version that is no number");
    let (st, body) = app.get(&format!("{STACK_PATH}/export/0"), Who::Admin).await;
    assert_error(st, &body, 400, "export of version 0");
    let (st, body) = app.get(&format!("{STACK_PATH}/export/7"), Who::Admin).await;
    assert_error(
        st,
        &body,
        404,
        "export of a version the stack does not have",
    );

    // History.
    let updates = history(&app, STACK_PATH).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    let u = &updates[0];
    assert_eq!(u["updateID"], id.as_str(), "{u}");
    assert_eq!(u["kind"], "update", "{u}");
    assert_eq!(u["result"], "succeeded", "{u}");
    assert_eq!(u["version"], 1, "{u}");
    assert_eq!(u["message"], "m", "{u}");
    assert_eq!(u["resourceChanges"], json!({"create": 1}), "{u}");
    assert_eq!(u["resourceCount"], 1, "{u}");
    assert_eq!(u["requestedBy"]["githubLogin"], "alice", "{u}");
    for which in ["latest", "1"] {
        let (st, info) = app
            .get(&format!("{STACK_PATH}/updates/{which}"), Who::Admin)
            .await;
        assert_ok(st, &info, which);
        assert_eq!(info["info"]["version"], 1, "{info}");
        assert_eq!(info["updateID"], id.as_str(), "{info}");
    }
    let (st, body) = app
        .get(&format!("{STACK_PATH}/updates/2"), Who::Admin)
        .await;
    assert_error(st, &body, 404, "no version 2 yet");

    // `pulumi stack ls`.
    let (st, list) = app.get("/api/user/stacks", Who::Admin).await;
    assert_ok(st, &list, "stack list");
    let dev = list["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .find(|s| s["projectName"] == "proj" && s["stackName"] == "dev")
        .unwrap_or_else(|| panic!("proj/dev in {list}"))
        .clone();
    assert_eq!(dev["resourceCount"], 1, "{dev}");
    let last = dev["lastUpdate"].as_i64().expect("lastUpdate");
    assert!((now() - 60..=now() + 60).contains(&last), "{dev}");

    // The audit trail of the update: started, completed (the lease calls write nothing).
    let events = app.audit().await;
    assert_eq!(events_named(&events, "stack-update-started").len(), 1);
    let completed = events_named(&events, "stack-update-completed");
    assert_eq!(completed.len(), 1, "{events:?}");
    let desc = completed[0]["description"].as_str().unwrap_or_default();
    assert!(
        desc.contains("succeeded") && desc.contains("1 create"),
        "{desc}"
    );

    // `pulumi stack rm`: refused while the stack has resources, unless forced.
    let (st, body) = app.delete(STACK_PATH, Who::Admin).await;
    assert_error(st, &body, 400, "delete a stack with resources");
    assert_eq!(
        body["message"],
        "Bad Request: Stack still contains resources."
    );
    let (st, body) = app
        .delete(&format!("{STACK_PATH}?force=true"), Who::Admin)
        .await;
    assert_eq!(st, 204, "forced delete: {body}");
    let (st, body) = app.get(STACK_PATH, Who::Admin).await;
    assert_error(st, &body, 404, "the deleted stack");
}

#[tokio::test]
async fn one_update_at_a_time_previews_beside_it_and_cancel_ends_the_lease() {
    let app = TestApp::start().await;
    let a = Who::Admin;
    let first = app.begin_update_as(&a, STACK_PATH, "update").await;
    app.checkpoint_ok(&first, ONE_RESOURCE).await;

    // A second update is refused while the first runs, and stays startable.
    let second = app.create_update_as(&a, STACK_PATH, "update").await;
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/update/{second}"),
            Who::OrgAdminToken,
            json!({"tags": {}}),
        )
        .await;
    assert_error(st, &body, 409, "a second concurrent update");
    for kind in ["refresh", "destroy"] {
        let id = app.create_update_as(&a, STACK_PATH, kind).await;
        let (st, body) = app
            .post(
                &format!("{STACK_PATH}/update/{id}"),
                a.clone(),
                json!({"tags": {}}),
            )
            .await;
        assert_error(st, &body, 409, &format!("a concurrent {kind}"));
    }
    // Import and delete wait for it too (rename: `rename_waits_for_the_running_update`).
    let (st, body) = app
        .call_raw(
            "POST",
            &format!("{STACK_PATH}/import"),
            a.clone(),
            Some(export_of(ONE_RESOURCE).into_bytes()),
        )
        .await;
    assert_error(st, &body, 409, "import during an update");
    let (st, body) = app
        .delete(&format!("{STACK_PATH}?force=true"), a.clone())
        .await;
    assert_error(st, &body, 409, "delete during an update");

    // A preview does not hold the stack: it runs beside the update, and saves nothing.
    let preview = app.begin_update_as(&a, STACK_PATH, "preview").await;
    let (st, body) = app
        .post(
            &format!("{}/events/batch", preview.path),
            preview.who(),
            json!({"events": [{"sequence": 1, "timestamp": 1, "stdoutEvent": {"message": "p", "color": "never"}}]}),
        )
        .await;
    assert_eq!(st, 204, "preview events: {body}");
    app.complete_ok(&preview, "succeeded").await;
    // The dry run of `pulumi up` is a preview as well, though asked at S/update.
    let (st, dry) = app
        .post(
            &format!("{STACK_PATH}/update"),
            a.clone(),
            update_request(true),
        )
        .await;
    assert_ok(st, &dry, "a dry-run update");
    let dry = app
        .start_update_as(&a, STACK_PATH, dry["updateID"].as_str().expect("id"))
        .await;
    app.complete_ok(&dry, "succeeded").await;
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        first.id,
        "still the first"
    );

    // `pulumi cancel`: a write token ends the update; its lease is dead at once.
    let (st, body) = app
        .post(&format!("{}/cancel", first.path), Who::Member, json!({}))
        .await;
    assert_error(st, &body, 403, "cancel without write");
    let (st, body) = app
        .call(
            "POST",
            &format!("{}/cancel", first.path),
            Who::TeamToken,
            None,
        )
        .await;
    assert_eq!(st, 204, "cancel with write: {body}");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "cancel frees the stack"
    );
    let (st, body) = app.checkpoint(&first, TWO_RESOURCES).await;
    assert_error(st, &body, 409, "checkpoint after cancel");
    let (st, body) = app
        .post(
            &format!("{}/complete", first.path),
            first.who(),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_error(st, &body, 409, "complete after cancel");
    let (st, body) = app
        .post(
            &format!("{}/renew_lease", first.path),
            first.who(),
            json!({"duration": 60}),
        )
        .await;
    assert_error(st, &body, 409, "renew after cancel");
    let (st, body) = app
        .call("POST", &format!("{}/cancel", first.path), Who::Admin, None)
        .await;
    assert_error(st, &body, 409, "cancel of a cancelled update");
    // The checkpoint saved before the cancel stays the stack's state.
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "after cancel",
    )
    .await;

    // The update that was refused starts now, with the next version.
    let second = app.start_update_as(&a, STACK_PATH, &second).await;
    assert_eq!(second.version, first.version + 1);
    app.checkpoint_ok(&second, TWO_RESOURCES).await;
    app.complete_ok(&second, "succeeded").await;
    // A retried completion with the same result is accepted; another result is not.
    app.complete_ok(&second, "succeeded").await;
    let (st, body) = app
        .post(
            &format!("{}/complete", second.path),
            second.who(),
            json!({"status": "failed"}),
        )
        .await;
    assert_error(st, &body, 409, "complete again with another result");

    let updates = history(&app, STACK_PATH).await;
    let results: Vec<(&Value, &Value)> =
        updates.iter().map(|u| (&u["kind"], &u["result"])).collect();
    assert_eq!(
        results,
        [
            (&json!("update"), &json!("succeeded")),
            (&json!("update"), &json!("failed")),
        ],
        "history has the two updates (previews are not history): {updates:?}"
    );
    let events = app.audit().await;
    assert_eq!(events_named(&events, "stack-update-canceled").len(), 1);
}

#[tokio::test]
async fn lease_calls_need_the_live_lease_of_that_update() {
    let app = TestApp::builder().manual_clock().build().await;
    let clock = app.clock.clone().expect("a manual clock");
    let a = Who::Admin;
    app.create_stack_as(&a, "proj", "other").await;
    let other_stack = format!("/api/stacks/{ORG}/proj/other");
    let mine = app.begin_update_as(&a, STACK_PATH, "update").await;
    let theirs = app.begin_update_as(&a, &other_stack, "update").await;
    let checkpoint = |u: &Started, who: Who, body: Vec<u8>| {
        let path = format!("{}/checkpoint", u.path);
        let app = &app;
        async move { app.call_raw("PATCH", &path, who, Some(body)).await }
    };

    // A lease no one was given, another update's lease, an access token, no header.
    let wrong = lease(&"f".repeat(64));
    let (st, body) = checkpoint(&mine, wrong.clone(), checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "a wrong lease");
    let (st, body) = checkpoint(&mine, theirs.who(), checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "the lease of another stack's update");
    let (st, body) = checkpoint(&mine, Who::Admin, checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "an access token instead of the lease");
    let (st, body) = checkpoint(&mine, Who::Nobody, checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "no credentials");
    // Credentials are checked before the body: a wrong lease with a bad body is still 401.
    let (st, body) = checkpoint(&mine, wrong.clone(), b"{}".to_vec()).await;
    assert_error(st, &body, 401, "a wrong lease with a malformed body");
    let (st, body) = app
        .post(
            &format!("{}/events/batch", mine.path),
            wrong.clone(),
            json!({"events": "nope"}),
        )
        .await;
    assert_error(st, &body, 401, "a wrong lease with malformed events");
    // Events for an update that has ended: 409.
    app.complete_ok(&theirs, "succeeded").await;
    let (st, body) = app
        .post(
            &format!("{}/events/batch", theirs.path),
            theirs.who(),
            json!({"events": [{"sequence": 9, "timestamp": 9, "stdoutEvent": {"message": "late", "color": "never"}}]}),
        )
        .await;
    assert_error(st, &body, 409, "events of a finished update");
    // A preview's lease on the update of the same stack.
    let preview = app.begin_update_as(&a, STACK_PATH, "preview").await;
    let (st, body) = checkpoint(&mine, preview.who(), checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "a preview's lease on the update's path");
    // A preview saves no checkpoint.
    let (st, body) = checkpoint(&preview, preview.who(), checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 400, "a checkpoint of a preview");
    // Nothing of that reached the state: version 1 has no deployment yet, and the newest
    // export is still the empty deployment of a stack never updated.
    let (st, body) = app.get(&format!("{STACK_PATH}/export/1"), Who::Admin).await;
    assert_error(st, &body, 404, "no checkpoint of version 1 yet");
    let (st, body) = app.get(&format!("{STACK_PATH}/export"), Who::Admin).await;
    assert_ok(st, &body, "export of a stack never updated");
    assert_eq!(body["version"], 3, "{body}");
    assert_eq!(body["deployment"]["resources"], json!([]), "{body}");
    let (st, body) = checkpoint(&mine, mine.who(), checkpoint_body(ONE_RESOURCE)).await;
    assert_eq!(st, 204, "the right lease: {body}");

    // Renewal keeps a lease alive past its first expiry.
    clock.advance(LEASE_SECONDS - 60);
    let (st, body) = app
        .post(
            &format!("{}/renew_lease", mine.path),
            mine.who(),
            json!({"duration": 300}),
        )
        .await;
    assert_ok(st, &body, "renew");
    let (st, body) = app
        .post(
            &format!("{}/renew_lease", mine.path),
            mine.who(),
            json!({"duration": 0}),
        )
        .await;
    assert_error(st, &body, 400, "renew for no time");
    clock.advance(120);
    let (st, body) = checkpoint(&mine, mine.who(), checkpoint_body(TWO_RESOURCES)).await;
    assert_eq!(st, 204, "past the first expiry, renewed: {body}");

    // An expired lease: 401; the stack is free again (the abandoned update is cancelled).
    clock.advance(LEASE_SECONDS + 1);
    let (st, body) = checkpoint(&mine, mine.who(), checkpoint_body(ONE_RESOURCE)).await;
    assert_error(st, &body, 401, "an expired lease");
    let (st, body) = app
        .post(
            &format!("{}/complete", mine.path),
            mine.who(),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_error(st, &body, 401, "complete with an expired lease");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "a lapsed lease holds nothing"
    );
    let next = app.begin_update_as(&a, STACK_PATH, "update").await;
    assert_eq!(next.version, mine.version + 1);
    let updates = history(&app, STACK_PATH).await;
    let abandoned = updates
        .iter()
        .find(|u| u["updateID"] == mine.id.as_str())
        .unwrap_or_else(|| panic!("the abandoned update in {updates:?}"));
    assert_eq!(abandoned["status"], "cancelled", "{abandoned}");
    // Its last checkpoint is kept.
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(TWO_RESOURCES),
        "the abandoned update's last checkpoint",
    )
    .await;

    // A completion must name a final result.
    let (st, body) = app
        .post(
            &format!("{}/complete", next.path),
            next.who(),
            json!({"status": "running"}),
        )
        .await;
    assert_error(st, &body, 400, "complete as running");
    // An update path with an unknown kind segment is no update path.
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/deploy/{}/complete", next.id),
            next.who(),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_error(st, &body, 404, "an unknown kind segment");
}

#[tokio::test]
async fn rename_waits_for_the_running_update() {
    let app = TestApp::start().await;
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/rename"),
            Who::Admin,
            json!({"newName": "renamed"}),
        )
        .await;
    assert_error(st, &body, 409, "rename during an update");
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
}

#[tokio::test]
async fn a_completion_is_retried_only_with_the_lease_that_made_it() {
    let app = TestApp::start().await;
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    app.complete_ok(&update, "succeeded").await;
    // The CLI retries: the same lease and result are accepted again.
    app.complete_ok(&update, "succeeded").await;
    let complete = format!("{}/complete", update.path);
    // Another result, or anything else with the ended lease, is a conflict.
    let (st, body) = app
        .post(&complete, update.who(), json!({"status": "failed"}))
        .await;
    assert_error(st, &body, 409, "another result after the end");
    let (st, body) = app.checkpoint(&update, ONE_RESOURCE).await;
    assert_error(st, &body, 409, "a checkpoint after the end");
    // Without the lease, nothing is learnt about the ended update.
    let forged = lease(&"0".repeat(64));
    let (st, body) = app
        .post(&complete, forged, json!({"status": "succeeded"}))
        .await;
    assert_error(st, &body, 401, "a completion with another lease");
}

#[tokio::test]
async fn revoking_the_starting_token_fails_its_update() {
    let app = TestApp::start().await;
    let ci = app.actors().org_admin_token.clone();
    let update = app
        .begin_update_as(&Who::OrgAdminToken, STACK_PATH, "update")
        .await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    let (st, body) = app
        .delete(&format!("/api/orgs/{ORG}/tokens/{}", ci.id), Who::Admin)
        .await;
    assert_eq!(st, 204, "delete the org token: {body}");

    let (st, body) = app.checkpoint(&update, TWO_RESOURCES).await;
    assert_error(st, &body, 401, "a checkpoint after the token was revoked");
    let updates = history(&app, STACK_PATH).await;
    assert_eq!(updates[0]["updateID"], update.id.as_str(), "{updates:?}");
    assert_eq!(updates[0]["result"], "failed", "{updates:?}");
    assert_eq!(updates[0]["status"], "failed", "{updates:?}");
    // Every later lease call knows the update has ended.
    let (st, body) = app
        .post(
            &format!("{}/complete", update.path),
            update.who(),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_error(st, &body, 409, "complete after the update failed");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "the stack is free"
    );
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "the checkpoint saved before the revocation",
    )
    .await;
    let next = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    assert_eq!(next.version, 2);

    let events = app.audit().await;
    let failed: Vec<_> = events_named(&events, "stack-update-completed")
        .into_iter()
        .filter(|e| {
            e["description"]
                .as_str()
                .is_some_and(|d| d.contains("failed") && d.contains("revoked"))
        })
        .collect();
    assert_eq!(failed.len(), 1, "the failure is audited: {events:?}");
}

#[tokio::test]
async fn losing_write_on_the_stack_fails_the_update() {
    let app = TestApp::start().await;
    let update = app
        .begin_update_as(&Who::TeamToken, STACK_PATH, "update")
        .await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    app.patch_ok(
        &format!("/api/orgs/{ORG}/teams/devs"),
        Who::Admin,
        json!({"removeStack": {"projectName": "proj", "stackName": "dev"}}),
        "remove the team's grant",
    )
    .await;
    let before = app.audit().await.len();

    let (st, body) = app
        .post(
            &format!("{}/renew_lease", update.path),
            update.who(),
            json!({"duration": 300}),
        )
        .await;
    assert_error(st, &body, 403, "a lease call after the grant was removed");
    let events = app.audit().await;
    let new = &events[..events.len() - before];
    assert_eq!(
        events_named(new, "auth-failure-stack-permission").len(),
        1,
        "the refusal is recorded: {new:?}"
    );
    assert_eq!(
        events_named(new, "stack-update-completed").len(),
        1,
        "the failure is recorded: {new:?}"
    );
    let updates = history(&app, STACK_PATH).await;
    assert_eq!(updates[0]["updateID"], update.id.as_str(), "{updates:?}");
    assert_eq!(updates[0]["result"], "failed", "{updates:?}");
    assert_eq!(
        active_update(&app, STACK_PATH).await,
        "",
        "the stack is free"
    );
    let (st, body) = app.checkpoint(&update, TWO_RESOURCES).await;
    assert_error(st, &body, 409, "the failed update's lease");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "the checkpoint saved while the team had write",
    )
    .await;
}

#[tokio::test]
async fn malformed_state_bodies_are_refused() {
    let app = TestApp::start().await;
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    let malformed: [(&str, &[u8]); 10] = [
        ("not JSON", b"{\"version\":3,"),
        ("not an object", b"[1,2]"),
        ("a string", b"\"deployment\""),
        ("no deployment", b"{\"version\":3}"),
        (
            "version 0",
            b"{\"version\":0,\"deployment\":{\"resources\":[]}}",
        ),
        (
            "version 99",
            b"{\"version\":99,\"deployment\":{\"resources\":[]}}",
        ),
        (
            "deployment not an object",
            b"{\"version\":3,\"deployment\":[]}",
        ),
        (
            "resources not an array",
            b"{\"version\":3,\"deployment\":{\"resources\":{}}}",
        ),
        (
            "a resource without urn",
            b"{\"version\":3,\"deployment\":{\"resources\":[{\"type\":\"t\"}]}}",
        ),
        ("empty body", b""),
    ];
    for (what, body) in malformed {
        let (st, resp) = app
            .call_raw(
                "PATCH",
                &format!("{}/checkpoint", update.path),
                update.who(),
                Some(body.to_vec()),
            )
            .await;
        assert_error(st, &resp, 400, &format!("checkpoint: {what}"));
        let (st, resp) = app
            .call_raw(
                "POST",
                &format!("{STACK_PATH}/import"),
                Who::Admin,
                Some(body.to_vec()),
            )
            .await;
        // The update holds the stack, but the body is refused before that is asked.
        assert_error(st, &resp, 400, &format!("import: {what}"));
    }
    for (what, body) in [
        ("events not a list", json!({"events": {}})),
        (
            "an event without sequence",
            json!({"events": [{"timestamp": 1}]}),
        ),
        ("a negative sequence", json!({"events": [{"sequence": -1}]})),
    ] {
        let (st, resp) = app
            .post(&format!("{}/events/batch", update.path), update.who(), body)
            .await;
        assert_error(st, &resp, 400, what);
    }
    let (st, resp) = app
        .post(
            &format!("{}/renew_lease", update.path),
            update.who(),
            json!({"duration": "long"}),
        )
        .await;
    assert_error(
        st,
        &resp,
        400,
        "renew_lease with a duration that is no number",
    );
    let (st, resp) = app
        .post(
            &format!("{STACK_PATH}/update"),
            Who::Admin,
            json!({"config": []}),
        )
        .await;
    assert_error(st, &resp, 400, "an update whose config is no object");
    // None of it was stored.
    let (st, body) = app.get(&format!("{STACK_PATH}/export/1"), Who::Admin).await;
    assert_error(st, &body, 404, "no checkpoint was saved");
    // The lease still works.
    app.checkpoint_ok(&update, ONE_RESOURCE).await;

    // Secrets: values are base64.
    for (route, body) in [
        ("encrypt", json!({"plaintext": "not base64!"})),
        ("decrypt", json!({"ciphertext": "%%%"})),
        ("batch-encrypt", json!({"plaintexts": ["aGk=", "no!"]})),
        ("batch-decrypt", json!({"ciphertexts": ["***"]})),
        ("batch-encrypt", json!({"plaintexts": "aGk="})),
    ] {
        let (st, resp) = app
            .post(&format!("{STACK_PATH}/{route}"), Who::Admin, body.clone())
            .await;
        assert_error(st, &resp, 400, &format!("{route} {body}"));
    }
    let too_many = vec![json!("aGk="); 1001];
    let (st, resp) = app
        .post(
            &format!("{STACK_PATH}/batch-encrypt"),
            Who::Admin,
            json!({"plaintexts": too_many}),
        )
        .await;
    assert_error(st, &resp, 400, "more than 1000 values");
}

#[tokio::test]
async fn gzip_bodies_are_accepted_and_large_states_fit() {
    let app = TestApp::start().await;
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    let cp = format!("{}/checkpoint", update.path);
    let (st, body) = app
        .send(request(
            &app,
            "PATCH",
            &cp,
            &update.who(),
            Some("gzip"),
            gzip(&checkpoint_body(SPACED)),
        ))
        .await;
    assert_eq!(st, 204, "a gzip checkpoint: {body}");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export/1"),
        &export_of(SPACED),
        "gzip checkpoint",
    )
    .await;
    // Bytes that are not gzip, and an encoding the server does not speak.
    let (st, body) = app
        .send(request(
            &app,
            "PATCH",
            &cp,
            &update.who(),
            Some("gzip"),
            checkpoint_body(ONE_RESOURCE),
        ))
        .await;
    assert_error(st, &body, 400, "a checkpoint that claims gzip but is not");
    let (st, body) = app
        .send(request(
            &app,
            "PATCH",
            &cp,
            &update.who(),
            Some("br"),
            checkpoint_body(ONE_RESOURCE),
        ))
        .await;
    assert_error(st, &body, 415, "an unsupported Content-Encoding");

    // A state well over the API's 1 MiB body limit (state routes have their own).
    let resources: Vec<String> = (0..4000)
        .map(|i| {
            format!(
                r#"{{"urn":"urn:pulumi:dev::proj::x:index:Thing::t{i}","type":"x:index:Thing","outputs":{{"pad":"{}"}}}}"#,
                "p".repeat(500)
            )
        })
        .collect();
    let large = format!(
        r#"{{"manifest":{{"time":"2026-01-01T00:00:00Z","magic":"","version":""}},"resources":[{}]}}"#,
        resources.join(",")
    );
    assert!(large.len() > 2 * 1024 * 1024, "{} bytes", large.len());
    app.checkpoint_ok(&update, &large).await;
    app.complete_ok(&update, "succeeded").await;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(&large),
        "a large state",
    )
    .await;
    let (st, list) = app
        .get(&format!("{STACK_PATH}/updates/latest"), Who::Admin)
        .await;
    assert_ok(st, &list, "latest update");
    assert_eq!(list["info"]["resourceCount"], 4000, "{list}");

    // A gzip import, into another stack.
    app.create_stack_as(&Who::Admin, "proj", "copy").await;
    let copy = format!("/api/stacks/{ORG}/proj/copy");
    let raw = app
        .get_raw(&format!("{STACK_PATH}/export"), Who::Admin)
        .await;
    let (st, body) = app
        .send(request(
            &app,
            "POST",
            &format!("{copy}/import"),
            &Who::Admin,
            Some("gzip"),
            gzip(&raw.body),
        ))
        .await;
    assert_ok(st, &body, "a gzip import");
    assert!(body["updateId"].is_string(), "{body}");
    assert_export(
        &app,
        &format!("{copy}/export"),
        &export_of(&large),
        "the imported state",
    )
    .await;
    // Batch encryption may come gzipped as well.
    let (st, body) = app
        .send(request(
            &app,
            "POST",
            &format!("{STACK_PATH}/batch-encrypt"),
            &Who::Admin,
            Some("gzip"),
            gzip(json!({"plaintexts": [b64("one")]}).to_string().as_bytes()),
        ))
        .await;
    assert_ok(st, &body, "a gzip batch-encrypt");
    assert_eq!(
        body["ciphertexts"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

/// The process's peak resident memory (`VmHWM`) in bytes, where Linux tells it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn oversized_state_bodies_are_413_and_a_gzip_bomb_is_not_inflated() {
    const LIMIT: usize = 1024 * 1024;
    let app = TestApp::start().await;
    let router = stackgate_server::router_with(
        app.service.clone(),
        ServerConfig {
            max_state_bytes: LIMIT,
            ..ServerConfig::default()
        },
    );
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    let cp = format!("{}/checkpoint", update.path);
    let send = |req| {
        let router = &router;
        async move {
            let raw = send_raw(router, req).await;
            (raw.status, raw.json())
        }
    };
    // Under the limit the small server takes a checkpoint like any other.
    let (st, body) = send(request(
        &app,
        "PATCH",
        &cp,
        &update.who(),
        None,
        checkpoint_body(ONE_RESOURCE),
    ))
    .await;
    assert_eq!(st, 204, "a small checkpoint: {body}");

    // Over the limit as sent.
    let mut padded = checkpoint_body(ONE_RESOURCE);
    padded.resize(LIMIT + 1, b' ');
    let (st, body) = send(request(
        &app,
        "PATCH",
        &cp,
        &update.who(),
        None,
        padded.clone(),
    ))
    .await;
    assert_error(st, &body, 413, "a checkpoint over the limit");
    let (st, body) = send(request(
        &app,
        "POST",
        &format!("{STACK_PATH}/import"),
        &Who::Admin,
        None,
        padded,
    ))
    .await;
    assert_error(st, &body, 413, "an import over the limit");

    // A gzip bomb: 512 MiB of zeros in well under 1 MiB (concatenated gzip members),
    // refused after inflating at most the limit.
    let member = gzip(&vec![0u8; 16 * 1024 * 1024]);
    let bomb: Vec<u8> = member.repeat(32);
    assert!(
        bomb.len() < LIMIT,
        "the bomb itself is under the limit: {}",
        bomb.len()
    );
    let peak_before = peak_rss();
    let (st, body) = send(request(
        &app,
        "PATCH",
        &cp,
        &update.who(),
        Some("gzip"),
        bomb.clone(),
    ))
    .await;
    assert_error(st, &body, 413, "a gzip bomb checkpoint");
    let (st, body) = send(request(
        &app,
        "POST",
        &format!("{STACK_PATH}/batch-decrypt"),
        &Who::Admin,
        Some("gzip"),
        bomb,
    ))
    .await;
    assert_error(st, &body, 413, "a gzip bomb batch-decrypt");
    if let (Some(before), Some(after)) = (peak_before, peak_rss()) {
        assert!(
            after.saturating_sub(before) < 128 * 1024 * 1024,
            "inflating the bomb raised peak memory by {} MiB",
            (after - before) / (1024 * 1024)
        );
    }
    // The update is unharmed.
    app.complete_ok(&update, "succeeded").await;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "the small checkpoint",
    )
    .await;
}

#[tokio::test]
async fn secrets_round_trip_and_stay_bound_to_their_stack() {
    let app = TestApp::start().await;
    let secret = "hunter2-correct-horse";
    let (st, enc) = app
        .post(
            &format!("{STACK_PATH}/encrypt"),
            Who::Member,
            json!({"plaintext": b64(secret)}),
        )
        .await;
    assert_ok(st, &enc, "encrypt");
    let ciphertext = enc["ciphertext"].as_str().expect("ciphertext").to_string();
    let raw = B64.decode(&ciphertext).expect("the ciphertext is base64");
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the plaintext is not in the ciphertext"
    );
    let (st, again) = app
        .post(
            &format!("{STACK_PATH}/encrypt"),
            Who::Member,
            json!({"plaintext": b64(secret)}),
        )
        .await;
    assert_ok(st, &again, "encrypt again");
    assert_ne!(
        again["ciphertext"], enc["ciphertext"],
        "a fresh nonce each time"
    );
    let (st, dec) = app
        .post(
            &format!("{STACK_PATH}/decrypt"),
            Who::TeamToken,
            json!({"ciphertext": ciphertext}),
        )
        .await;
    assert_ok(st, &dec, "decrypt");
    assert_eq!(dec["plaintext"], b64(secret), "{dec}");

    // Batches: in order; the decryption maps every ciphertext as sent to its plaintext.
    let plains = ["one", "", "three", "one"];
    let (st, batch) = app
        .post(
            &format!("{STACK_PATH}/batch-encrypt"),
            Who::OrgMemberToken,
            json!({"plaintexts": plains.iter().map(|p| b64(p)).collect::<Vec<_>>()}),
        )
        .await;
    assert_ok(st, &batch, "batch-encrypt");
    let ciphers: Vec<String> = batch["ciphertexts"]
        .as_array()
        .expect("ciphertexts")
        .iter()
        .map(|c| c.as_str().expect("a string").to_string())
        .collect();
    assert_eq!(ciphers.len(), plains.len(), "{batch}");
    let mut sent = ciphers.clone();
    sent.push(ciphertext.clone());
    let (st, out) = app
        .post(
            &format!("{STACK_PATH}/batch-decrypt"),
            Who::Admin,
            json!({"ciphertexts": sent}),
        )
        .await;
    assert_ok(st, &out, "batch-decrypt");
    let map = out["plaintexts"].as_object().expect("plaintexts is a map");
    assert_eq!(map.len(), sent.len(), "{out}");
    for (c, p) in ciphers.iter().zip(plains) {
        assert_eq!(map.get(c), Some(&json!(b64(p))), "{c} in {out}");
    }
    assert_eq!(map.get(&ciphertext), Some(&json!(b64(secret))), "{out}");

    // Not through another stack: neither one without a key yet, nor one with its own.
    app.create_stack_as(&Who::Admin, "proj", "other").await;
    let other = format!("/api/stacks/{ORG}/proj/other");
    for round in ["without a key", "with its own key"] {
        let (st, body) = app
            .post(
                &format!("{other}/decrypt"),
                Who::Admin,
                json!({"ciphertext": ciphertext}),
            )
            .await;
        assert_error(
            st,
            &body,
            400,
            &format!("another stack's ciphertext, {round}"),
        );
        let (st, batch_body) = app
            .post(
                &format!("{other}/batch-decrypt"),
                Who::Admin,
                json!({"ciphertexts": [ciphertext]}),
            )
            .await;
        assert_error(st, &batch_body, 400, &format!("batch, {round}"));
        for b in [&body, &batch_body] {
            let message = b["message"].as_str().unwrap_or_default();
            assert!(
                !message.contains(secret) && !message.contains(&b64(secret)),
                "the refusal names no plaintext: {message}"
            );
        }
        app.post_ok(
            &format!("{other}/encrypt"),
            Who::Admin,
            json!({"plaintext": b64("x")}),
            "give it a key",
        )
        .await;
    }
    // A damaged ciphertext.
    let mut damaged = raw.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/decrypt"),
            Who::Admin,
            json!({"ciphertext": B64.encode(damaged)}),
        )
        .await;
    assert_error(st, &body, 400, "a damaged ciphertext");

    // The key belongs to the stack, not to its name.
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/rename"),
            Who::Admin,
            json!({"newName": "renamed", "newProject": "proj2"}),
        )
        .await;
    assert_eq!(st, 204, "rename: {body}");
    let (st, dec) = app
        .post(
            &format!("/api/stacks/{ORG}/proj2/renamed/decrypt"),
            Who::Admin,
            json!({"ciphertext": ciphertext}),
        )
        .await;
    assert_ok(st, &dec, "decrypt after rename");
    assert_eq!(dec["plaintext"], b64(secret), "{dec}");

    // `--show-secrets` is audited, without the values.
    let before = app.audit().await.len();
    let (st, body) = app
        .post(
            &format!("/api/stacks/{ORG}/proj2/renamed/decrypt/log-decryption"),
            Who::Member,
            json!({"commandName": "pulumi stack output --show-secrets"}),
        )
        .await;
    assert_eq!(st, 204, "log-decryption: {body}");
    let events = app.audit().await;
    let new = &events[..events.len() - before];
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["event"], "secret-decrypted", "{new:?}");
    assert_eq!(new[0]["user"]["githubLogin"], "bob", "{new:?}");
    assert!(!new[0].to_string().contains(secret), "{new:?}");
}

#[tokio::test]
async fn without_a_master_key_secrets_answer_503_and_the_rest_works() {
    let app = TestApp::builder().without_secrets_key().build().await;
    for (route, body) in [
        ("encrypt", json!({"plaintext": b64("x")})),
        ("decrypt", json!({"ciphertext": b64("x")})),
        ("batch-encrypt", json!({"plaintexts": [b64("x")]})),
        ("batch-decrypt", json!({"ciphertexts": [b64("x")]})),
    ] {
        let (st, resp) = app
            .post(&format!("{STACK_PATH}/{route}"), Who::Admin, body)
            .await;
        assert_error(st, &resp, 503, route);
        let message = resp["message"].as_str().unwrap_or_default();
        assert!(message.contains("--secrets-key-file"), "{route}: {message}");
    }
    // Everything else works: the stack, an update, its state, the audited show-secrets.
    let (st, body) = app.get(STACK_PATH, Who::Admin).await;
    assert_ok(st, &body, "GET the stack");
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    app.complete_ok(&update, "succeeded").await;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "export",
    )
    .await;
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/decrypt/log-decryption"),
            Who::Admin,
            json!({"commandName": "pulumi stack output"}),
        )
        .await;
    assert_eq!(st, 204, "log-decryption: {body}");
}

#[tokio::test]
async fn import_replaces_the_state_as_a_finished_update() {
    let app = TestApp::start().await;
    let body = export_of(TWO_RESOURCES);
    let (st, imported) = app
        .call_raw(
            "POST",
            &format!("{STACK_PATH}/import"),
            Who::TeamToken,
            Some(body.clone().into_bytes()),
        )
        .await;
    assert_ok(st, &imported, "import");
    let id = imported["updateId"].as_str().expect("updateId").to_string();
    let (st, status) = app
        .get(&format!("{STACK_PATH}/update/{id}"), Who::Admin)
        .await;
    assert_ok(st, &status, "the import's status");
    assert_eq!(status["status"], "succeeded", "{status}");
    let (st, events) = app
        .get(&format!("{STACK_PATH}/update/{id}/events"), Who::Admin)
        .await;
    assert_ok(st, &events, "the import's events");
    assert_eq!(events["events"], json!([]), "{events}");
    assert!(events.get("continuationToken").is_none(), "final: {events}");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &body,
        "the imported state",
    )
    .await;
    let updates = history(&app, STACK_PATH).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["kind"], "import", "{updates:?}");
    assert_eq!(updates[0]["result"], "succeeded", "{updates:?}");
    assert_eq!(updates[0]["version"], 1, "{updates:?}");
    assert_eq!(updates[0]["resourceCount"], 2, "{updates:?}");
    let events = app.audit().await;
    assert_eq!(events_named(&events, "stack-imported").len(), 1);

    // Not while an update holds the stack; then again once it is done.
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    assert_eq!(update.version, 2);
    let (st, resp) = app
        .call_raw(
            "POST",
            &format!("{STACK_PATH}/import"),
            Who::Admin,
            Some(export_of(ONE_RESOURCE).into_bytes()),
        )
        .await;
    assert_error(st, &resp, 409, "import during an update");
    app.complete_ok(&update, "succeeded").await;
    let (st, resp) = app
        .call_raw(
            "POST",
            &format!("{STACK_PATH}/import"),
            Who::Admin,
            Some(export_of(ONE_RESOURCE).into_bytes()),
        )
        .await;
    assert_ok(st, &resp, "import after the update");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export/3"),
        &export_of(ONE_RESOURCE),
        "version 3",
    )
    .await;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export/1"),
        &body,
        "version 1 is kept",
    )
    .await;
}

#[tokio::test]
async fn state_permissions_follow_the_stack_level() {
    let app = TestApp::start().await;
    // Version 1 and a ciphertext, made by the admin.
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    app.checkpoint_ok(&update, ONE_RESOURCE).await;
    app.complete_ok(&update, "succeeded").await;
    let enc = app
        .post_ok(
            &format!("{STACK_PATH}/encrypt"),
            Who::Admin,
            json!({"plaintext": b64("s")}),
            "encrypt",
        )
        .await;
    let ciphertext = enc["ciphertext"].as_str().expect("ciphertext").to_string();
    let pending = app
        .create_update_as(&Who::Admin, STACK_PATH, "update")
        .await;

    // The team keeps only the org default (read) on the stack.
    app.patch_ok(
        &format!("/api/orgs/{ORG}/teams/devs"),
        Who::Admin,
        json!({"removeStack": {"projectName": "proj", "stackName": "dev"}}),
        "remove the team's grant",
    )
    .await;
    let reader = Who::TeamToken;
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(ONE_RESOURCE),
        "admin export",
    )
    .await;
    for path in [
        format!("{STACK_PATH}/export"),
        format!("{STACK_PATH}/export/1"),
        format!("{STACK_PATH}/updates"),
        format!("{STACK_PATH}/update/{}", update.id),
    ] {
        let (st, body) = app.get(&path, reader.clone()).await;
        assert_ok(st, &body, &format!("a reader: GET {path}"));
    }
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/encrypt"),
            reader.clone(),
            json!({"plaintext": b64("r")}),
        )
        .await;
    assert_ok(st, &body, "a reader encrypts");
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/decrypt"),
            reader.clone(),
            json!({"ciphertext": ciphertext}),
        )
        .await;
    assert_ok(st, &body, "a reader decrypts");
    let preview = app.begin_update_as(&reader, STACK_PATH, "preview").await;
    app.complete_ok(&preview, "succeeded").await;

    let refused: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            format!("{STACK_PATH}/update"),
            Some(update_request(false)),
        ),
        // The dry run of `pulumi up` is asked at S/update: it takes write too.
        (
            "POST",
            format!("{STACK_PATH}/update"),
            Some(update_request(true)),
        ),
        (
            "POST",
            format!("{STACK_PATH}/refresh"),
            Some(update_request(false)),
        ),
        (
            "POST",
            format!("{STACK_PATH}/destroy"),
            Some(update_request(false)),
        ),
        (
            "POST",
            format!("{STACK_PATH}/update/{pending}"),
            Some(json!({"tags": {}})),
        ),
        (
            "POST",
            format!("{STACK_PATH}/update/{pending}/cancel"),
            None,
        ),
        (
            "POST",
            format!("{STACK_PATH}/import"),
            Some(json!({"version": 3, "deployment": {"resources": []}})),
        ),
    ];
    for (method, path, body) in &refused {
        let what = format!("a reader: {method} {path}");
        let before = app.audit().await.len();
        let (st, resp) = app.call(method, path, reader.clone(), body.clone()).await;
        assert_error(st, &resp, 403, &what);
        let events = app.audit().await;
        let new = &events[..events.len() - before];
        assert_eq!(new.len(), 1, "{what}: {new:?}");
        assert_eq!(new[0]["event"], "auth-failure-stack-permission", "{what}");
        assert_eq!(new[0]["authFailure"], true, "{what}");
    }

    // An outsider learns nothing: 404 everywhere, nothing recorded in acme.
    let before = app.audit().await.len();
    for who in [Who::Outsider, Who::OtherOrgToken] {
        let mut calls: Vec<(&str, String, Option<Value>)> = refused.clone();
        calls.extend([
            ("GET", STACK_PATH.to_string(), None),
            ("GET", format!("{STACK_PATH}/export"), None),
            ("GET", format!("{STACK_PATH}/export/1"), None),
            ("GET", format!("{STACK_PATH}/updates"), None),
            ("GET", format!("{STACK_PATH}/updates/latest"), None),
            ("GET", format!("{STACK_PATH}/update/{}", update.id), None),
            (
                "GET",
                format!("{STACK_PATH}/update/{}/events", update.id),
                None,
            ),
            (
                "POST",
                format!("{STACK_PATH}/preview"),
                Some(update_request(true)),
            ),
            (
                "POST",
                format!("{STACK_PATH}/encrypt"),
                Some(json!({"plaintext": b64("o")})),
            ),
            (
                "POST",
                format!("{STACK_PATH}/decrypt"),
                Some(json!({"ciphertext": ciphertext})),
            ),
            (
                "POST",
                format!("{STACK_PATH}/batch-encrypt"),
                Some(json!({"plaintexts": [b64("o")]})),
            ),
            (
                "POST",
                format!("{STACK_PATH}/batch-decrypt"),
                Some(json!({"ciphertexts": [ciphertext]})),
            ),
            (
                "POST",
                format!("{STACK_PATH}/decrypt/log-decryption"),
                Some(json!({"commandName": "x"})),
            ),
        ]);
        for (method, path, body) in calls {
            let (st, resp) = app.call(method, &path, who.clone(), body).await;
            assert_error(st, &resp, 404, &format!("{who:?}: {method} {path}"));
        }
    }
    assert_eq!(
        app.audit().await.len(),
        before,
        "outsiders' refusals are not recorded in acme"
    );
}

#[tokio::test]
async fn checkpoint_deltas_edit_the_last_checkpoint() {
    let app = TestApp::start().await;
    let update = app.begin_update_as(&Who::Admin, STACK_PATH, "update").await;
    let path = format!("{}/checkpointdelta", update.path);
    let (st, body) = app
        .patch(&path, update.who(), delta_request(ONE_RESOURCE, "[]", 1))
        .await;
    assert_error(
        st,
        &body,
        400,
        "a delta without a checkpoint to apply it to",
    );
    app.checkpoint_ok(&update, ONE_RESOURCE).await;

    // Append a resource: insert before the `]}}` that ends the text.
    let base = export_of(ONE_RESOURCE);
    let pet = r#",{"urn":"urn:pulumi:dev::proj::random:index/randomPet:RandomPet::pet","type":"random:index/randomPet:RandomPet"}"#;
    let at = base.len() - 3;
    let edits = json!([{
        "Span": {"uri": "", "start": {"line": 1, "column": 1, "offset": at}, "end": {"line": 1, "column": 1, "offset": at}},
        "NewText": pet,
    }])
    .to_string();
    let (st, body) = app
        .patch(&path, update.who(), delta_request(ONE_RESOURCE, &edits, 1))
        .await;
    assert_eq!(st, 204, "a delta: {body}");
    let appended = format!("{}{pet}]}}", &ONE_RESOURCE[..ONE_RESOURCE.len() - 2]);
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(&appended),
        "after a delta",
    )
    .await;

    // The next delta edits that result: the manifest's time.
    let text = export_of(&appended);
    let from = text.find("2026-01-01").expect("the manifest time");
    let edits = json!([{
        "Span": {"uri": "", "start": {"line": 1, "column": 1, "offset": from}, "end": {"line": 1, "column": 1, "offset": from + 10}},
        "NewText": "2026-01-03",
    }])
    .to_string();
    let (st, body) = app
        .patch(&path, update.who(), delta_request(&appended, &edits, 2))
        .await;
    assert_eq!(st, 204, "a second delta: {body}");
    let retimed = appended.replace("2026-01-01", "2026-01-03");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(&retimed),
        "after two",
    )
    .await;

    // A delta whose result does not hash as the CLI says, or whose edits leave the text:
    // 400 (the CLI then sends the whole checkpoint), and the state is unchanged.
    let mut wrong = delta_request(&retimed, "[]", 3);
    wrong["checkpointHash"] = json!("00".repeat(32));
    let (st, body) = app.patch(&path, update.who(), wrong).await;
    assert_error(st, &body, 400, "a delta with a hash mismatch");
    let outside = json!({
        "version": 3,
        "sequenceNumber": 3,
        "checkpointHash": "00",
        "deploymentDelta": [{"Span": {"uri": "", "start": {"line": 1, "column": 1, "offset": 1_000_000}, "end": {"line": 1, "column": 1, "offset": 1_000_001}}, "NewText": "x"}],
    });
    let (st, body) = app.patch(&path, update.who(), outside).await;
    assert_error(st, &body, 400, "a delta outside the text");
    // Edits that make a malformed deployment.
    let (st, body) = app
        .patch(
            &path,
            update.who(),
            delta_request(
                &retimed,
                &json!([{"Span": {"uri": "", "start": {"line": 1, "column": 1, "offset": 0}, "end": {"line": 1, "column": 1, "offset": 1}}, "NewText": "["}]).to_string(),
                3,
            ),
        )
        .await;
    assert_error(st, &body, 400, "a delta that breaks the JSON");
    assert_export(
        &app,
        &format!("{STACK_PATH}/export"),
        &export_of(&retimed),
        "unchanged",
    )
    .await;
    let (st, body) = app
        .patch(
            &path,
            lease(&"e".repeat(64)),
            delta_request(&retimed, "[]", 3),
        )
        .await;
    assert_error(st, &body, 401, "a delta with a wrong lease");
    let preview = app
        .begin_update_as(&Who::Admin, STACK_PATH, "preview")
        .await;
    let (st, body) = app
        .patch(
            &format!("{}/checkpointdelta", preview.path),
            preview.who(),
            delta_request(&retimed, "[]", 1),
        )
        .await;
    assert_error(st, &body, 400, "a delta for a preview");
}

#[tokio::test]
async fn exports_are_audited_except_by_the_running_update_of_the_same_token() {
    let app = TestApp::start().await;
    let exported = |who: Who| {
        let app = &app;
        async move {
            let before = app.audit().await.len();
            let (st, body) = app.get(&format!("{STACK_PATH}/export"), who).await;
            assert_ok(st, &body, "export");
            let events = app.audit().await;
            events[..events.len() - before]
                .iter()
                .filter(|e| e["event"] == "stack-exported")
                .count()
        }
    };
    assert_eq!(exported(Who::Member).await, 1, "a plain export");
    // A preview bob created but did not start reads nothing on its own behalf.
    let id = app
        .create_update_as(&Who::Member, STACK_PATH, "preview")
        .await;
    assert_eq!(
        exported(Who::Member).await,
        1,
        "beside a preview not started"
    );
    // While it runs, its own reads of the state are part of the update...
    let preview = app.start_update_as(&Who::Member, STACK_PATH, &id).await;
    assert_eq!(
        exported(Who::Member).await,
        0,
        "the running update's own export"
    );
    // ...but not anyone else's.
    assert_eq!(exported(Who::Admin).await, 1, "another token's export");
    app.complete_ok(&preview, "succeeded").await;
    assert_eq!(exported(Who::Member).await, 1, "after the update");
}

/// The CLI's request is stored as sent, so history must not pass on fields of the wrong
/// type: `UpdateInfo` says `message` is a string, `config` and `environment` objects.
#[tokio::test]
async fn history_gives_request_fields_the_types_the_client_expects() {
    let app = TestApp::start().await;
    let odd = json!({"config": null, "metadata": {"message": 7, "environment": "prod"}});
    let body = app
        .post_ok(
            &format!("{STACK_PATH}/update"),
            Who::Admin,
            odd,
            "create the update",
        )
        .await;
    let id = body["updateID"].as_str().expect("updateID").to_string();
    app.post_ok(
        &format!("{STACK_PATH}/update/{id}"),
        Who::Admin,
        json!({}),
        "start the update",
    )
    .await;
    let updates = history(&app, STACK_PATH).await;
    let u = &updates[0];
    assert_eq!(u["updateID"], id.as_str(), "{updates:?}");
    assert_eq!(u["message"], "", "{u}");
    assert_eq!(u["config"], json!({}), "{u}");
    assert_eq!(u["environment"], json!({}), "{u}");
}

/// The tags the CLI sends when it starts an update are merged into the stack's, and the
/// change is audited like any other tag change; the same tags again change nothing.
#[tokio::test]
async fn tags_sent_at_start_are_applied_and_audited() {
    let app = TestApp::start().await;
    let tag_events = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "stack-tags-changed")
            .count()
    };
    let before = tag_events(&app.audit().await);
    let tags = json!({"tags": {"pulumi:project": "proj", "pulumi:runtime": "yaml"}});
    for round in 0..2 {
        let id = app
            .create_update_as(&Who::Admin, STACK_PATH, "update")
            .await;
        app.post_ok(
            &format!("{STACK_PATH}/update/{id}"),
            Who::Admin,
            tags.clone(),
            "start with tags",
        )
        .await;
        let (st, stack) = app.get(STACK_PATH, Who::Admin).await;
        assert_ok(st, &stack, "GET the stack");
        assert_eq!(stack["tags"]["pulumi:project"], "proj", "{stack}");
        assert_eq!(stack["tags"]["pulumi:runtime"], "yaml", "{stack}");
        let (st, body) = app
            .post(
                &format!("{STACK_PATH}/update/{id}/cancel"),
                Who::Admin,
                json!({}),
            )
            .await;
        assert_eq!(st, 204, "cancel: {body}");
        let events = app.audit().await;
        assert_eq!(
            tag_events(&events),
            before + 1,
            "round {round}: one stack-tags-changed event in all"
        );
    }
    let events = app.audit().await;
    let event = events
        .iter()
        .find(|e| e["event"] == "stack-tags-changed")
        .unwrap_or_else(|| panic!("no tag event in {events:?}"));
    let description = event["description"].as_str().unwrap_or("");
    assert!(
        description.contains("pulumi:project=proj")
            && description.contains(STACK_PATH.trim_start_matches("/api/stacks/")),
        "{description}"
    );
}
