//! Stack visibility by effective level, and the transfer rules in their order.

use serde_json::{json, Value};

use crate::common::{
    assert_error, assert_ok, events_named, TestApp, Who, ORG, OTHER_ORG, PROJECT, STACK_PATH,
};

async fn set_org(app: &TestApp, who: Who, org: &str, body: Value) -> Value {
    let (st, resp) = app
        .patch(&format!("/api/orgs/{org}"), who, body.clone())
        .await;
    assert_ok(st, &resp, &format!("PATCH {org} {body}"));
    resp
}

async fn names_of_my_stacks(app: &TestApp, who: Who) -> Vec<String> {
    let (st, body) = app.get("/api/user/stacks?maxResults=1000", who).await;
    assert_ok(st, &body, "list stacks");
    body["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            format!(
                "{}/{}/{}",
                s["orgName"].as_str().unwrap_or(""),
                s["projectName"].as_str().unwrap_or(""),
                s["stackName"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn stack_access_follows_the_effective_level() {
    let app = TestApp::start().await;
    // Default 101: bob (member, no team) reads.
    let (st, body) = app.get(STACK_PATH, Who::Member).await;
    assert_ok(st, &body, "member reads with default 101");
    set_org(
        &app,
        Who::Admin,
        ORG,
        json!({"setDefaultStackPermission": 0}),
    )
    .await;

    // Level 0: the stack does not exist for bob, nor for a member-scope org token.
    for who in [Who::Member, Who::OrgMemberToken] {
        for (method, path, body) in [
            ("GET", STACK_PATH.to_string(), None),
            ("GET", format!("{STACK_PATH}/teams"), None),
            (
                "PATCH",
                format!("{STACK_PATH}/tags"),
                Some(json!({"a": "b"})),
            ),
            ("DELETE", STACK_PATH.to_string(), None),
        ] {
            let (st, resp) = app.call(method, &path, who.clone(), body).await;
            assert_error(
                st,
                &resp,
                404,
                &format!("{who:?} {method} {path} at level 0"),
            );
        }
        assert!(
            names_of_my_stacks(&app, who).await.is_empty(),
            "hidden stack listed"
        );
    }

    // A team of bob's with a read grant.
    app.create_team_as(&Who::Admin, "readers").await;
    app.team_member_as(&Who::Admin, "readers", "add", "bob")
        .await;
    app.grant_as(&Who::Admin, "readers", "proj", "dev", 101)
        .await;
    let readers_token = app
        .team_token_as(&Who::Admin, "readers", "readers-ci", 0)
        .await;
    let edit = |perm: i64| json!({"editStackPermission": {"projectName": "proj", "stackName": "dev", "permission": perm}});
    let tags = |v: &str| json!({"env": v});
    for who in [Who::Member, Who::from(&readers_token)] {
        let (st, body) = app.get(STACK_PATH, who.clone()).await;
        assert_ok(st, &body, "read grant: GET");
        assert_eq!(
            names_of_my_stacks(&app, who.clone()).await,
            ["acme/proj/dev"]
        );
        let (st, body) = app
            .patch(&format!("{STACK_PATH}/tags"), who, tags("x"))
            .await;
        assert_error(st, &body, 403, "read grant: tags");
    }

    // Write.
    let (st, body) = app
        .patch("/api/orgs/acme/teams/readers", Who::Admin, edit(102))
        .await;
    assert_ok(st, &body, "grant write");
    for (who, v) in [(Who::Member, "bob"), (Who::from(&readers_token), "token")] {
        let (st, body) = app
            .patch(&format!("{STACK_PATH}/tags"), who.clone(), tags(v))
            .await;
        assert_ok(st, &body, "write grant: tags");
        let (_, stack) = app.get(STACK_PATH, Who::Admin).await;
        assert_eq!(stack["tags"], json!({"env": v}));
        let (st, body) = app.delete(STACK_PATH, who).await;
        assert_error(st, &body, 403, "write grant: delete");
    }

    // Admin: bob may delete.
    let (st, body) = app
        .patch("/api/orgs/acme/teams/readers", Who::Admin, edit(103))
        .await;
    assert_ok(st, &body, "grant admin");
    let (st, body) = app.delete(STACK_PATH, Who::Member).await;
    assert_ok(st, &body, "admin grant: delete");
    let (st, body) = app.get(STACK_PATH, Who::Admin).await;
    assert_error(st, &body, 404, "deleted stack");
}

#[tokio::test]
async fn billing_managers_see_no_stacks_and_creators_hold_admin() {
    let app = TestApp::start().await;
    let (st, body) = app.get(STACK_PATH, Who::Billing).await;
    assert_error(st, &body, 404, "billing manager reads a stack");
    let (st, body) = app
        .post(
            "/api/stacks/acme/proj",
            Who::Billing,
            json!({"stackName": "b"}),
        )
        .await;
    assert_error(st, &body, 403, "billing manager creates a stack");
    for who in [Who::Billing, Who::TeamToken] {
        let (st, body) = app.get("/api/orgs/acme/members", who).await;
        assert_ok(st, &body, "list members");
    }

    // Creators hold admin on their stack, even below the org default.
    set_org(
        &app,
        Who::Admin,
        ORG,
        json!({"setDefaultStackPermission": 0}),
    )
    .await;
    app.create_stack_as(&Who::Member, "mine", "s").await;
    app.create_stack_as(&Who::OrgMemberToken, "ci", "s").await;
    for (who, path) in [
        (Who::Member, "/api/stacks/acme/mine/s"),
        (Who::OrgMemberToken, "/api/stacks/acme/ci/s"),
    ] {
        let (st, body) = app.get(path, who.clone()).await;
        assert_ok(st, &body, "creator reads");
        let other = if path.contains("mine") {
            "/api/stacks/acme/ci/s"
        } else {
            "/api/stacks/acme/mine/s"
        };
        let (st, body) = app.get(other, who.clone()).await;
        assert_error(st, &body, 404, "someone else's stack at level 0");
        let (st, body) = app.delete(path, who).await;
        assert_ok(st, &body, "creator deletes");
    }
}

#[tokio::test]
async fn transfer_checks_run_in_order() {
    let app = TestApp::start().await;
    let transfer = |path: &str, to: &str| (format!("{path}/transfer"), json!({"toOrg": to}));
    let bobs = "/api/stacks/acme/proj/bobs";
    app.create_stack_as(&Who::Member, "proj", "bobs").await;

    // 1. Cannot see the source: 404, whatever the destination.
    let (p, b) = transfer(STACK_PATH, "no-such-org");
    let (st, body) = app.post(&p, Who::Outsider, b).await;
    assert_error(st, &body, 404, "outsider transfers");
    let (st, body) = app.post(&p, Who::Billing, b_to("globex")).await;
    assert_error(st, &body, 404, "billing manager transfers");

    // 2. May not transfer: 403 before the destination is looked at.
    let (st, body) = app.post(&p, Who::Member, b_to("no-such-org")).await;
    assert_error(st, &body, 403, "reader transfers");
    let (p2, _) = transfer(bobs, "globex");
    let (st, body) = app.post(&p2, Who::Member, b_to("no-such-org")).await;
    assert_error(
        st,
        &body,
        403,
        "stack admin without membersCanTransferStacks",
    );
    for who in [Who::OrgMemberToken, Who::TeamToken] {
        let (st, body) = app.post(&p, who.clone(), b_to("globex")).await;
        assert_error(st, &body, 403, &format!("{who:?} transfers"));
    }

    // 3. Destination not open to the principal: 404, before the name check.
    set_org(
        &app,
        Who::Admin,
        ORG,
        json!({"setMembersCanTransferStacks": true}),
    )
    .await;
    app.create_stack_in(&Who::OtherAdmin, "globex", "proj", "bobs")
        .await;
    for to in ["no-such-org", "globex"] {
        let (st, body) = app.post(&p2, Who::Member, b_to(to)).await;
        assert_error(st, &body, 404, &format!("bob transfers to {to}"));
    }
    let (st, body) = app.post(&p2, Who::Member, b_to("acme")).await;
    assert_error(st, &body, 400, "transfer to its own org");

    // 4. Name taken in the destination: 409.
    app.add_member_as(&Who::OtherAdmin, "globex", "bob", "member")
        .await;
    let (st, body) = app.post(&p2, Who::Member, b_to("globex")).await;
    assert_error(st, &body, 409, "name taken");

    // Free the name: the transfer goes through; tags stay, team grants go.
    let (st, body) = app
        .delete("/api/stacks/globex/proj/bobs", Who::OtherAdmin)
        .await;
    assert_ok(st, &body, "free the name");
    app.post_ok(
        &format!("{bobs}/tags"),
        Who::Member,
        json!({"name": "keep", "value": "me"}),
        "tag",
    )
    .await;
    app.grant_as(&Who::Admin, "devs", "proj", "bobs", 102).await;
    let (st, body) = app.post(&p2, Who::Member, b_to("globex")).await;
    assert_ok(st, &body, "bob transfers");
    let (st, body) = app
        .get("/api/stacks/globex/proj/bobs", Who::OtherAdmin)
        .await;
    assert_ok(st, &body, "stack in globex");
    assert_eq!(body["tags"], json!({"keep": "me"}));
    assert_eq!(body["orgName"], "globex");
    let (st, body) = app
        .get("/api/stacks/globex/proj/bobs/teams", Who::OtherAdmin)
        .await;
    assert_ok(st, &body, "teams of the moved stack");
    assert_eq!(body["teams"], json!([]), "source team grants were dropped");
    let (st, body) = app.get(bobs, Who::Admin).await;
    assert_error(st, &body, 404, "gone from acme");
}

fn b_to(to: &str) -> Value {
    json!({"toOrg": to})
}

#[tokio::test]
async fn admin_org_tokens_transfer_only_into_orgs_that_accept_the_source() {
    let app = TestApp::start().await;
    let p = format!("{STACK_PATH}/transfer");
    let (st, body) = app.post(&p, Who::OrgAdminToken, b_to("globex")).await;
    assert_error(st, &body, 404, "globex does not accept acme");

    // Only globex's admins may open it.
    let (st, body) = app
        .patch(
            "/api/orgs/globex",
            Who::Outsider,
            json!({"setAcceptStackTransfersFrom": ["acme"]}),
        )
        .await;
    assert_error(st, &body, 403, "a globex member opens globex");
    let (st, body) = app
        .patch(
            "/api/orgs/globex",
            Who::OrgAdminToken,
            json!({"setAcceptStackTransfersFrom": ["acme"]}),
        )
        .await;
    assert_error(st, &body, 404, "acme's token opens globex");
    let resp = set_org(
        &app,
        Who::OtherAdmin,
        "globex",
        json!({"setAcceptStackTransfersFrom": ["acme"]}),
    )
    .await;
    assert_eq!(resp["acceptStackTransfersFrom"], json!(["acme"]));

    // The member scope still may not transfer; the admin scope now may.
    let (st, body) = app.post(&p, Who::OrgMemberToken, b_to("globex")).await;
    assert_error(st, &body, 403, "member token transfers");
    let (st, body) = app.post(&p, Who::OrgAdminToken, b_to("globex")).await;
    assert_ok(st, &body, "admin token transfers");

    let (st, body) = app
        .get("/api/stacks/globex/proj/dev", Who::OtherAdmin)
        .await;
    assert_ok(st, &body, "stack in globex");
    assert_eq!(body["tags"], json!({"env": "dev"}), "tags stay");
    let (st, body) = app
        .get("/api/stacks/globex/proj/dev/teams", Who::OtherAdmin)
        .await;
    assert_ok(st, &body, "teams");
    assert_eq!(body["teams"], json!([]), "devs' grant was dropped");
    let (st, body) = app.get(STACK_PATH, Who::TeamToken).await;
    assert_error(st, &body, 404, "devs' token lost the stack");

    // The event is in both logs, attributed to the token.
    let token_id = app.actors().org_admin_token.id.clone();
    for (who, org) in [(Who::Admin, "acme"), (Who::OtherAdmin, "globex")] {
        let events = app.audit_as(&who, org).await;
        let moved = events_named(&events, "stack-transferred-to-organization");
        assert_eq!(moved.len(), 1, "{org}: {events:?}");
        assert_eq!(moved[0]["tokenID"], token_id.as_str(), "{org}");
        assert_eq!(moved[0]["tokenName"], "ci-admin", "{org}");
        assert!(
            moved[0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("proj/dev")),
            "{org}: {}",
            moved[0]
        );
    }
}

#[tokio::test]
async fn project_exists_is_hidden_from_principals_who_see_none_of_its_stacks() {
    let app = TestApp::start().await;
    let head = |who: Who, project: &'static str| {
        let app = &app;
        async move {
            app.call("HEAD", &format!("/api/stacks/acme/{project}"), who, None)
                .await
                .0
        }
    };
    // Those who read the stack see the project.
    for who in [Who::Admin, Who::Member, Who::TeamToken] {
        assert_eq!(head(who.clone(), "proj").await, 200, "{who:?}");
    }
    // Billing managers see no stacks at all: the project must look like a missing one.
    assert_eq!(head(Who::Billing, "nope").await, 404);
    assert_eq!(head(Who::Billing, "proj").await, 404, "billing manager");
    // Below read (org default 0, no grant), the project's only stack is hidden.
    set_org(
        &app,
        Who::Admin,
        ORG,
        json!({"setDefaultStackPermission": 0}),
    )
    .await;
    for who in [Who::Member, Who::OrgMemberToken] {
        assert_eq!(head(who.clone(), "nope").await, 404, "{who:?}");
        assert_eq!(head(who.clone(), "proj").await, 404, "{who:?} at level 0");
    }
}

#[tokio::test]
async fn bulk_transfer_moves_every_stack_into_an_accepting_org() {
    let app = TestApp::start().await;
    app.create_stack_as(&Who::Admin, "other", "s").await;
    let path = "/api/orgs/acme/bulk-transfer/stacks";
    let body = json!({"fromOrg": "acme", "toOrg": "globex"});
    // alice is no member of globex: the destination is hidden from her.
    let (st, resp) = app.post(path, Who::Admin, body.clone()).await;
    assert_error(st, &resp, 404, "alice bulk-transfers to globex");
    let (st, resp) = app
        .post(
            path,
            Who::Admin,
            json!({"fromOrg": "globex", "toOrg": "globex"}),
        )
        .await;
    assert_error(st, &resp, 400, "fromOrg is not the path's org");
    set_org(
        &app,
        Who::OtherAdmin,
        "globex",
        json!({"setAcceptStackTransfersFrom": ["acme"]}),
    )
    .await;
    let (st, resp) = app.post(path, Who::OrgAdminToken, body).await;
    assert_ok(st, &resp, "admin token bulk-transfers");
    assert!(names_of_my_stacks(&app, Who::Admin).await.is_empty());
    let mut moved = names_of_my_stacks(&app, Who::OtherAdmin).await;
    moved.sort();
    assert_eq!(moved, ["globex/other/s", "globex/proj/dev"]);
    let (st, resp) = app
        .get("/api/stacks/globex/proj/dev/teams", Who::OtherAdmin)
        .await;
    assert_ok(st, &resp, "teams");
    assert_eq!(resp["teams"], json!([]), "grants dropped");
}

/// Bulk transfer needs every stack to be transferable; a stack the caller cannot see
/// refuses the request with a 403 that does not name it (a 404 naming the stack would
/// reveal that it exists), and the refusal is recorded.
#[tokio::test]
async fn bulk_transfer_does_not_reveal_hidden_stacks() {
    let app = TestApp::start().await;
    set_org(
        &app,
        Who::Admin,
        ORG,
        json!({"setDefaultStackPermission": 0, "setMembersCanTransferStacks": true}),
    )
    .await;
    // bob creates (and so administers) one stack; the fixture's proj/dev is hidden from
    // him: level 0 by default and he is in no team.
    app.create_stack_as(&Who::Member, "proj", "bobs").await;
    let (st, body) = app.get(STACK_PATH, Who::Member).await;
    assert_error(st, &body, 404, "proj/dev is hidden from bob");

    let failures = |events: &[Value]| events_named(events, "auth-failure-stack-permission").len();
    let before = failures(&app.audit().await);
    let (st, body) = app
        .post(
            &format!("/api/orgs/{ORG}/bulk-transfer/stacks"),
            Who::Member,
            json!({"fromOrg": ORG, "toOrg": OTHER_ORG}),
        )
        .await;
    assert_error(st, &body, 403, "bulk transfer with a hidden stack");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("dev") && !message.contains(PROJECT),
        "the refusal names the hidden stack: {message}"
    );
    assert_eq!(
        failures(&app.audit().await),
        before + 1,
        "the refusal is recorded"
    );
    // Nothing moved.
    let (st, body) = app.get("/api/stacks/acme/proj/bobs", Who::Member).await;
    assert_ok(st, &body, "bob's stack is still in acme");
}
