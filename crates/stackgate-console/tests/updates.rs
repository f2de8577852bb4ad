//! The stacks list's update columns, a stack's update history and the update page: updates
//! are run through the core service the way the API runs them for the Pulumi CLI (create,
//! start with an access token, events and a checkpoint under the lease, complete), then
//! the console pages are fetched as a signed-in user.

mod support;

use serde_json::{json, Value};
use stackgate_core::service::{CreateStack, LeaseCall, OrgSettingsUpdate};
use stackgate_core::{Ctx, Identity, Principal};
use stackgate_store::{OrgRole, StackPermission, Tags, UpdateKind, UpdateStatus};
use support::*;

const STACK: &str = "/console/orgs/acme/stacks/website/production";

async fn token_ctx(app: &App, value: &str) -> Ctx {
    let auth = app
        .service
        .authenticate(Some(&format!("token {value}")), "127.0.0.1")
        .await
        .expect("token authenticates");
    Ctx::new(auth.principal.clone(), "127.0.0.1")
}

async fn alice(app: &App) -> Ctx {
    token_ctx(app, &app.alice_token).await
}

async fn create_stack(app: &App, ctx: &Ctx, name: &str) {
    app.service
        .create_stack(
            ctx,
            "acme",
            "website",
            CreateStack {
                name: name.to_string(),
                tags: Tags::default(),
                teams: Vec::new(),
                initial_state: None,
            },
        )
        .await
        .expect("stack");
}

/// A checkpoint with `n` resources.
fn checkpoint(n: usize) -> Vec<u8> {
    let resources: Vec<Value> = (0..n)
        .map(|i| {
            json!({"urn": format!("urn:pulumi:production::website::test:index:Thing::r{i}"),
                   "type": "test:index:Thing"})
        })
        .collect();
    json!({"version": 3, "deployment": {"manifest": {}, "resources": resources}})
        .to_string()
        .into_bytes()
}

/// Starts an update of website/production as `ctx`, with `message` and `events`; returns
/// its id and the lease call that continues it.
async fn start(app: &App, ctx: &Ctx, message: &str, events: Vec<Value>) -> (String, LeaseCall) {
    let request = json!({"metadata": {"message": message, "environment": {}}, "config": {}});
    let id = app
        .service
        .create_update(
            ctx,
            "acme",
            "website",
            "production",
            UpdateKind::Update,
            &request,
        )
        .await
        .expect("create update")
        .to_string();
    let target = Service::update_ref("acme", "website", "production", &id);
    let started = app
        .service
        .start_update(ctx, &target, Tags::default())
        .await
        .expect("start update");
    let call = LeaseCall {
        update: target,
        lease: started.lease,
        source_ip: "127.0.0.1".to_string(),
    };
    if !events.is_empty() {
        let batch = json!({ "events": events }).to_string();
        app.service
            .append_engine_events(&call, batch.as_bytes())
            .await
            .expect("events");
    }
    (id, call)
}

/// Runs a whole update: started, a checkpoint of `resources`, completed with `status`.
async fn run(
    app: &App,
    ctx: &Ctx,
    message: &str,
    events: Vec<Value>,
    resources: usize,
    status: UpdateStatus,
) -> String {
    let (id, call) = start(app, ctx, message, events).await;
    app.service
        .save_checkpoint(&call, &checkpoint(resources))
        .await
        .expect("checkpoint");
    app.service
        .complete_update(&call, status)
        .await
        .expect("complete");
    id
}

fn urn(name: &str) -> String {
    format!("urn:pulumi:production::website::test:index:Thing::{name}")
}

/// The `<tr>` of the history table whose first link is to `id`'s page.
fn row<'a>(page: &'a str, id: &str) -> &'a str {
    let link = format!("/updates/{id}\"");
    let at = page.find(&link).expect("a row links to the update");
    let start = page[..at].rfind("<tr>").expect("row start");
    let end = page[at..].find("</tr>").expect("row end") + at;
    &page[start..end]
}

#[tokio::test]
async fn history_and_update_pages_show_each_update_and_escape_what_the_cli_sent() {
    let app = app().await;
    let admin = alice(&app).await;
    create_stack(&app, &admin, "production").await;
    create_stack(&app, &admin, "staging").await;
    let ci = app
        .service
        .create_org_token(&admin, "acme", "ci", "", true, 0)
        .await
        .expect("org token");
    let ci = token_ctx(&app, ci.value.expose()).await;

    let first = run(
        &app,
        &admin,
        "first deploy",
        vec![
            json!({"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}}),
            json!({"sequence": 1, "timestamp": 1, "stdoutEvent": {
                "message": "\u{1b}[1mUpdating (production)\u{1b}[0m\r\n", "color": "always"}}),
            json!({"sequence": 2, "timestamp": 1, "resourcePreEvent": {"metadata": {
                "op": "create", "urn": urn("site"), "type": "test:index:Thing"}}}),
            json!({"sequence": 3, "timestamp": 2, "resOutputsEvent": {"metadata": {
                "op": "create", "urn": urn("site"), "type": "test:index:Thing"}}}),
            json!({"sequence": 4, "timestamp": 2, "resourcePreEvent": {"metadata": {
                "op": "same", "urn": urn("old"), "type": "test:index:Thing"}}}),
            json!({"sequence": 5, "timestamp": 2, "diagnosticEvent": {
                "message": "<{%fg 3%}>careful <script>alert(1)</script><{%reset%}>\n",
                "severity": "warning", "urn": urn("site"), "color": "raw"}}),
            json!({"sequence": 6, "timestamp": 3, "summaryEvent": {
                "resourceChanges": {"create": 2, "same": 1}, "durationSeconds": 3,
                "maybeCorrupt": false}}),
        ],
        3,
        UpdateStatus::Succeeded,
    )
    .await;
    let second = run(
        &app,
        &ci,
        "<b>from CI</b>",
        vec![
            json!({"sequence": 1, "timestamp": 1, "stdoutEvent": {
                "message": "<script>alert(\"x\")</script>", "color": "never"}}),
            json!({"sequence": 2, "timestamp": 1, "resOpFailedEvent": {"metadata": {
                "op": "update", "urn": urn("site"), "type": "test:index:Thing"},
                "status": 1, "steps": 1}}),
            json!({"sequence": 3, "timestamp": 2, "diagnosticEvent": {
                "message": "update failed", "severity": "error", "color": "raw"}}),
            json!({"sequence": 4, "timestamp": 2, "summaryEvent": {
                "resourceChanges": {"update": 1}, "durationSeconds": 1}}),
        ],
        3,
        UpdateStatus::Failed,
    )
    .await;
    let (running, _lease) = start(&app, &ci, "", Vec::new()).await;

    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;

    // The stacks list: when each stack was last updated and how many resources it has.
    let list = app.get("/console/orgs/acme/stacks", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("<th>Last update</th>"));
    assert!(list.body.contains("<th>Resources</th>"));
    let prod = list.body.find("website/production").expect("production");
    let prod_row = &list.body[prod..prod + list.body[prod..].find("</tr>").expect("end")];
    assert!(prod_row.contains(" UTC"), "{prod_row}");
    assert!(
        prod_row.contains("data-label=\"Resources\">3<"),
        "{prod_row}"
    );
    let staging = list.body.find("website/staging").expect("staging");
    let staging_row =
        &list.body[staging..staging + list.body[staging..].find("</tr>").expect("end")];
    assert!(
        staging_row.contains("data-label=\"Last update\">never<"),
        "{staging_row}"
    );

    // The stack page: one row per update, newest first, each linking to its page.
    let page = app.get(STACK, &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Update history"));
    let (a, b, c) = (
        page.body.find(&running).expect("running row"),
        page.body.find(&second).expect("second row"),
        page.body.find(&first).expect("first row"),
    );
    assert!(a < b && b < c, "newest first");
    let r1 = row(&page.body, &first);
    for want in [
        ">1</a>",
        ">update<",
        "status succeeded",
        "alice",
        "2 create, 1 same",
        "first deploy",
    ] {
        assert!(r1.contains(want), "{want} missing from {r1}");
    }
    assert!(
        !r1.contains("badge token"),
        "a user is not marked as a token"
    );
    let r2 = row(&page.body, &second);
    for want in [
        ">2</a>",
        "status failed",
        "class=\"badge token\"",
        "organization token 'ci'",
        "1 update",
        "&lt;b&gt;from CI&lt;/b&gt;",
    ] {
        assert!(r2.contains(want), "{want} missing from {r2}");
    }
    let r3 = row(&page.body, &running);
    assert!(r3.contains("status running"), "{r3}");
    assert!(r3.contains("data-label=\"Duration\">running<"), "{r3}");
    assert!(!page.body.contains("<b>from CI</b>"));

    // The first update's page: summary and the log as text.
    let up = app.get(&format!("{STACK}/updates/{first}"), &cookie).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    for want in [
        "update 1",
        "status succeeded",
        "first deploy",
        "<span class=\"log-out\">Updating (production)</span>",
        &format!("<span class=\"log-step\">create: {}</span>", urn("site")),
        &format!("<span class=\"log-step\">create done: {}</span>", urn("site")),
        &format!(
            "<span class=\"log-warning\">warning: {}: careful &lt;script&gt;alert(1)&lt;/script&gt;</span>",
            urn("site")
        ),
        "<span class=\"log-summary\">Resources: 2 create, 1 same. Duration: 3s.</span>",
        "1 unchanged resource not listed.",
    ] {
        assert!(up.body.contains(want), "{want} missing from {}", up.body);
    }
    assert!(
        !up.body.contains(&urn("old")),
        "unchanged steps are not listed"
    );
    assert!(!up.body.contains('\u{1b}'), "no escape characters");
    assert!(!up.body.contains("<{%"), "no colour directives");

    // The second: run by a token, failed, and the script in its output stays text.
    let up = app.get(&format!("{STACK}/updates/{second}"), &cookie).await;
    assert_eq!(up.status, StatusCode::OK);
    for want in [
        "status failed",
        "class=\"badge token\"",
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
        &format!(
            "<span class=\"log-error\">update failed: {}</span>",
            urn("site")
        ),
        "<span class=\"log-error\">error: update failed</span>",
        "&lt;b&gt;from CI&lt;/b&gt;",
    ] {
        assert!(up.body.contains(want), "{want} missing from {}", up.body);
    }
    assert!(!up.body.contains("<script>alert"));
    assert!(!up.body.contains("<b>from CI"));

    // The running one says so, and has no output yet.
    let up = app
        .get(&format!("{STACK}/updates/{running}"), &cookie)
        .await;
    assert_eq!(up.status, StatusCode::OK);
    assert!(up.body.contains("No engine output was recorded"));
    assert!(up.body.contains("The update is running"));
}

#[tokio::test]
async fn without_read_on_the_stack_the_pages_answer_the_consoles_404() {
    let app = app().await;
    let admin = alice(&app).await;
    create_stack(&app, &admin, "production").await;
    create_stack(&app, &admin, "staging").await;
    let id = run(
        &app,
        &admin,
        "deploy",
        Vec::new(),
        1,
        UpdateStatus::Succeeded,
    )
    .await;
    let update = format!("{STACK}/updates/{id}");
    let (_, bob) = app.sign_in("bob", BOB_PW).await;

    // Not a member of the org.
    for path in [STACK, update.as_str()] {
        let res = app.get(path, &bob).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.body.contains("may not have access"), "{path}");
        assert!(!res.body.contains("deploy"), "{path}");
    }

    // A member, where members get no stack permission by default.
    app.service
        .update_org_settings(
            &admin,
            "acme",
            OrgSettingsUpdate {
                default_stack_permission: Some(StackPermission::None),
                ..OrgSettingsUpdate::default()
            },
        )
        .await
        .expect("settings");
    app.service
        .add_member(&admin, "acme", "bob", OrgRole::Member)
        .await
        .expect("member");
    let list = app.get("/console/orgs/acme/stacks", &bob).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("website/production"));
    for path in [STACK, update.as_str()] {
        let res = app.get(path, &bob).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.body.contains("may not have access"), "{path}");
    }

    // With read (the default again), the member sees both.
    app.service
        .update_org_settings(
            &admin,
            "acme",
            OrgSettingsUpdate {
                default_stack_permission: Some(StackPermission::Read),
                ..OrgSettingsUpdate::default()
            },
        )
        .await
        .expect("settings");
    assert_eq!(app.get(STACK, &bob).await.status, StatusCode::OK);
    assert_eq!(app.get(&update, &bob).await.status, StatusCode::OK);

    // An update is found only under its own stack, and unknown ids are 404 too.
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let other = format!("/console/orgs/acme/stacks/website/staging/updates/{id}");
    assert_eq!(app.get(&other, &cookie).await.status, StatusCode::NOT_FOUND);
    let unknown = format!("{STACK}/updates/no-such-update");
    assert_eq!(
        app.get(&unknown, &cookie).await.status,
        StatusCode::NOT_FOUND
    );
    let bad = app.get(&format!("{update}?after=x"), &cookie).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_history_pages_by_twenty() {
    let app = app().await;
    let admin = alice(&app).await;
    create_stack(&app, &admin, "production").await;
    let mut ids = Vec::new();
    for i in 0..21 {
        let msg = format!("deploy {i}");
        ids.push(run(&app, &admin, &msg, Vec::new(), 1, UpdateStatus::Succeeded).await);
    }
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let first = app.get(STACK, &cookie).await;
    let rows = |body: &str| ids.iter().filter(|id| body.contains(id.as_str())).count();
    assert_eq!(rows(&first.body), 20);
    assert!(
        !first.body.contains(ids[0].as_str()),
        "the oldest is on page 2"
    );
    assert!(first.body.contains("?page=2#history"));
    assert!(!first.body.contains("Newer updates"));
    let second = app.get(&format!("{STACK}?page=2"), &cookie).await;
    assert_eq!(rows(&second.body), 1);
    assert!(second.body.contains(ids[0].as_str()));
    assert!(second.body.contains("?page=1#history"));
    assert!(!second.body.contains("Older updates"));
    let bad = app.get(&format!("{STACK}?page=0"), &cookie).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_user_named_like_a_token_is_not_shown_as_one() {
    let app = app().await;
    let admin = alice(&app).await;
    create_stack(&app, &admin, "production").await;
    let user = app
        .service
        .create_user("mallory", "organization token 'ci'", "", false)
        .await
        .expect("user");
    app.service
        .add_member(&admin, "acme", "mallory", OrgRole::Admin)
        .await
        .expect("member");
    let session = Ctx::new(
        Arc::new(Principal {
            identity: Identity::User(user),
            token: None,
        }),
        "127.0.0.1",
    );
    let token = app
        .service
        .create_personal_token(&session, "laptop", 0)
        .await
        .expect("personal token");
    let mallory = token_ctx(&app, token.value.expose()).await;
    let id = run(&app, &mallory, "", Vec::new(), 1, UpdateStatus::Succeeded).await;
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let page = app.get(STACK, &cookie).await;
    let r = row(&page.body, &id);
    assert!(r.contains("organization token 'ci'"), "{r}");
    assert!(r.contains("(mallory)"), "{r}");
    assert!(r.contains("actor user"), "{r}");
    assert!(!r.contains("badge token"), "{r}");
}
