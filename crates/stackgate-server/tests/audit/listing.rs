//! Listing: filters, time bounds and paging of the audit log, and the event-type
//! catalogue.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use stackgate_core::catalog::EventType;
use stackgate_core::chain;
use stackgate_store::{AuditActor, NewAuditEvent};

use crate::common::{
    assert_error, assert_ok, events_named, TestApp, Who, ORG, OTHER_ORG, STACK_PATH,
};

/// Events of `list` (a JSON listing) as a vector.
fn listed(body: &Value) -> Vec<Value> {
    body["auditLogEvents"]
        .as_array()
        .expect("auditLogEvents is a list")
        .clone()
}

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let (st, body) = app.get(path, Who::Admin).await;
    assert_ok(st, &body, path);
    assert!(
        body.get("continuationToken").is_none(),
        "{path}: more than one page"
    );
    listed(&body)
}

#[tokio::test]
async fn listing_filters_select_exactly_the_matching_events() {
    let app = TestApp::start().await;
    let a = app.actors().clone();
    // Events by bob, by the admin token, and a refusal by bob.
    app.create_stack_as(&Who::Member, "bobs", "s1").await;
    app.patch_ok(
        &format!("{STACK_PATH}/tags"),
        Who::OrgAdminToken,
        json!({"by": "token"}),
        "tags by the admin token",
    )
    .await;
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/auditlogs"), Who::Member)
        .await;
    assert_error(st, &body, 403, "bob reads the log");

    let all = app.audit().await;
    let base = "/api/orgs/acme/auditlogs/v2?pageSize=1000";

    // eventFilter with two ids.
    let two = list(
        &app,
        &format!("{base}&eventFilter=member-added,team-created"),
    )
    .await;
    let want: Vec<Value> = all
        .iter()
        .filter(|e| e["event"] == "member-added" || e["event"] == "team-created")
        .cloned()
        .collect();
    assert_eq!(two, want);
    assert!(!events_named(&two, "member-added").is_empty());
    assert!(!events_named(&two, "team-created").is_empty());
    let (st, body) = app
        .get(
            &format!("{base}&eventFilter=member-added,no-such-event"),
            Who::Admin,
        )
        .await;
    assert_error(st, &body, 400, "unknown event id");

    // userFilter: a user, an org-token identity, and an unknown user (404).
    let bobs = list(&app, &format!("{base}&userFilter=bob")).await;
    let want: Vec<Value> = all
        .iter()
        .filter(|e| e["user"]["githubLogin"] == "bob")
        .cloned()
        .collect();
    assert_eq!(bobs, want);
    assert!(!events_named(&bobs, "stack-created").is_empty(), "{bobs:?}");
    assert!(
        !events_named(&bobs, "auth-failure-organization-role").is_empty(),
        "{bobs:?}"
    );
    let tokens = list(&app, &format!("{base}&userFilter=org:{ORG}")).await;
    assert!(!tokens.is_empty());
    assert!(tokens
        .iter()
        .all(|e| e["user"]["githubLogin"] == format!("org:{ORG}")));
    let (st, body) = app
        .get(&format!("{base}&userFilter=nobody-at-all"), Who::Admin)
        .await;
    assert_error(st, &body, 404, "unknown userFilter");

    // tokenFilter.
    let id = a.org_admin_token.id.as_str();
    let by_token = list(&app, &format!("{base}&tokenFilter={id}")).await;
    let want: Vec<Value> = all.iter().filter(|e| e["tokenID"] == id).cloned().collect();
    assert_eq!(by_token, want);
    assert!(
        !events_named(&by_token, "stack-tags-changed").is_empty(),
        "{by_token:?}"
    );

    // Filters combine.
    let combined = list(
        &app,
        &format!("{base}&userFilter=bob&eventFilter=stack-created"),
    )
    .await;
    assert_eq!(combined.len(), 1, "{combined:?}");

    // Paging a filtered listing returns each event once, in order.
    let filter = "eventFilter=member-added,team-created,stack-created";
    let whole = list(&app, &format!("{base}&{filter}")).await;
    assert!(whole.len() >= 6, "{whole:?}");
    let mut paged = Vec::new();
    let mut path = format!("/api/orgs/acme/auditlogs/v2?pageSize=2&{filter}");
    for _ in 0..100 {
        let (st, body) = app.get(&path, Who::Admin).await;
        assert_ok(st, &body, &path);
        let page = listed(&body);
        assert!(page.len() <= 2, "{page:?}");
        paged.extend(page);
        match body["continuationToken"].as_str() {
            Some(c) => {
                path =
                    format!("/api/orgs/acme/auditlogs/v2?pageSize=2&{filter}&continuationToken={c}")
            }
            None => break,
        }
    }
    assert_eq!(paged, whole, "paging lost or repeated events");
    let (st, body) = app
        .get(&format!("{base}&continuationToken=nope"), Who::Admin)
        .await;
    assert_error(st, &body, 400, "garbled continuationToken");
}

/// Appends synthetic events to `org`'s chain with the given timestamps.
async fn append_at(app: &TestApp, org: &str, timestamps: &[i64]) {
    let store = app.service.store();
    let mut tx = store.begin().await.expect("begin");
    let org = tx
        .org_by_name(org)
        .await
        .expect("read org")
        .expect("org exists");
    for t in timestamps {
        let e = NewAuditEvent {
            org_id: org.id.clone(),
            timestamp: *t,
            event: "stack-created".into(),
            description: format!("synthetic event at {t}"),
            actor: AuditActor {
                login: "alice".into(),
                name: "alice".into(),
                email: "alice@example.com".into(),
                token_id: None,
                token_name: None,
            },
            source_ip: "192.0.2.1".into(),
            req_org_admin: false,
            req_stack_admin: false,
            auth_failure: false,
        };
        let head = tx.audit_head(&org.id).await.expect("head");
        let link = chain::next_link(&head, &e);
        tx.insert_audit(&e, &link).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

fn timestamps(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["timestamp"].as_i64().expect("timestamp"))
        .collect()
}

#[tokio::test]
async fn v1_start_time_is_an_upper_bound_and_v2_bounds_are_inclusive() {
    let app = TestApp::start().await;
    append_at(&app, ORG, &[1_000, 2_000, 3_000]).await;
    let v2 = "/api/orgs/acme/auditlogs/v2?pageSize=1000";
    let v1 = "/api/orgs/acme/auditlogs?pageSize=1000";

    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&startTime=1500&endTime=2500")).await),
        [2_000]
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&startTime=2000&endTime=3000")).await),
        [3_000, 2_000],
        "v2 bounds are inclusive"
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v2}&endTime=2500")).await),
        [2_000, 1_000]
    );
    let from = timestamps(&list(&app, &format!("{v2}&startTime=2500")).await);
    assert!(
        from.contains(&3_000) && from.iter().all(|t| *t >= 2_500),
        "{from:?}"
    );
    assert!(
        from.len() > 5,
        "the fixture's own events are recent: {from:?}"
    );

    // v1: startTime means "before".
    assert_eq!(
        timestamps(&list(&app, &format!("{v1}&startTime=2500")).await),
        [2_000, 1_000]
    );
    assert_eq!(
        timestamps(&list(&app, &format!("{v1}&startTime=1000")).await),
        [1_000]
    );
    let all_v1 = list(&app, v1).await;
    assert_eq!(
        all_v1,
        app.audit().await,
        "v1 without bounds lists everything"
    );

    // The synthetic events were appended through the chain: it still verifies.
    let (st, body) = app.get("/api/orgs/acme/auditlogs/verify", Who::Admin).await;
    assert_ok(st, &body, "verify");
    assert_eq!(body["ok"], true, "{body}");
}

#[tokio::test]
async fn the_event_type_catalogue_lists_every_event_with_its_flags() {
    let app = TestApp::start().await;
    let (st, body) = app
        .get("/api/orgs/acme/auditlogs/event-types", Who::Admin)
        .await;
    assert_ok(st, &body, "event types");
    let listed: BTreeMap<String, Value> = body["eventTypes"]
        .as_array()
        .expect("eventTypes is a list")
        .iter()
        .map(|t| (t["event"].as_str().expect("event").to_string(), t.clone()))
        .collect();
    assert_eq!(listed.len(), EventType::ALL.len(), "{body}");
    for e in EventType::ALL {
        let i = e.info();
        let t = listed
            .get(i.id)
            .unwrap_or_else(|| panic!("{} is not listed", i.id));
        assert_eq!(t["displayName"], i.display_name, "{t}");
        assert_eq!(t["description"], i.description, "{t}");
        assert_eq!(t["requiresOrgAdmin"], i.requires_org_admin, "{t}");
        assert_eq!(t["requiresStackAdmin"], i.requires_stack_admin, "{t}");
        assert_eq!(t["authenticationFailure"], i.authentication_failure, "{t}");
        assert_eq!(t["deprecated"], false, "{t}");
    }
}

#[tokio::test]
async fn a_team_named_like_a_user_never_reads_as_that_user() {
    let app = TestApp::start().await;
    // A member creates a team named "alice" (the org admin's login) and a token for it.
    app.create_team_as(&Who::Admin, "alice").await;
    let token = app.team_token_as(&Who::Admin, "alice", "alice-ci", 0).await;
    let (st, body) = app
        .post(
            &format!("{STACK_PATH}/tags"),
            Who::Token(token.token.clone()),
            json!({"name": "owner", "value": "x"}),
        )
        .await;
    // Whatever the team may do, its events must not be attributed to the user alice.
    let _ = (st, body);
    let base = format!("/api/orgs/{ORG}/auditlogs/v2?pageSize=1000");
    let all = list(&app, &base).await;
    let by_team: Vec<&Value> = all
        .iter()
        .filter(|e| e["tokenID"] == token.id.as_str())
        .collect();
    assert!(!by_team.is_empty(), "the team token acted: {all:?}");
    for e in &by_team {
        assert_eq!(e["user"]["githubLogin"], "team:alice", "{e}");
        assert_ne!(e["user"]["name"], "alice", "{e}");
    }
    let alices = list(&app, &format!("{base}&userFilter=alice")).await;
    assert!(
        alices.iter().all(|e| e["tokenID"] != token.id.as_str()),
        "userFilter=alice matches the team token's events: {alices:?}"
    );
    let team = list(&app, &format!("{base}&userFilter=team:alice")).await;
    assert_eq!(team.len(), by_team.len());
    // The CSV export carries the machine login too.
    let csv = app
        .get_raw(&format!("/api/orgs/{ORG}/auditlogs/export"), Who::Admin)
        .await;
    assert_eq!(csv.status, 200);
    assert!(String::from_utf8_lossy(&csv.body).contains("team:alice"));
}

#[tokio::test]
async fn user_filter_reveals_nothing_about_other_orgs() {
    let app = TestApp::start().await;
    let base = format!("/api/orgs/{ORG}/auditlogs/v2?pageSize=10");
    // Another org, a user of only that org, and a user of none: all answer alike (404).
    for name in [OTHER_ORG, "gina", "erin", "no-such-anything", "org:globex"] {
        let (st, body) = app
            .get(&format!("{base}&userFilter={name}"), Who::Admin)
            .await;
        assert_error(st, &body, 404, name);
    }
    // This org's own actors are found.
    for name in ["bob", "org:acme"] {
        let (st, body) = app
            .get(&format!("{base}&userFilter={name}"), Who::Admin)
            .await;
        assert_ok(st, &body, name);
    }
}
