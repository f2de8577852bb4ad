//! Org roles under concurrency: two admins demoting each other at the same moment must
//! leave one admin (on PostgreSQL, READ COMMITTED, this needs the changes serialized; the
//! suite runs there with `STACKGATE_TEST_BACKEND=postgres`).

use serde_json::json;

use crate::common::{TestApp, Who, ORG};

async fn admins(app: &TestApp) -> Vec<String> {
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/members"), Who::Admin)
        .await;
    let body = if st == 200 {
        body
    } else {
        app.get(&format!("/api/orgs/{ORG}/members"), Who::Member)
            .await
            .1
    };
    body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["role"] == "admin")
        .filter_map(|m| m["user"]["githubLogin"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::start().await;
    let member = json!({"role": "member"});
    let admin = json!({"role": "admin"});
    let members = format!("/api/orgs/{ORG}/members");
    for round in 0..10 {
        // alice and bob are the only admins.
        let (st, body) = app
            .patch(&format!("{members}/bob"), Who::Admin, admin.clone())
            .await;
        assert!(
            st == 200 || st == 204,
            "round {round}: promote bob: {st} {body}"
        );
        assert_eq!(admins(&app).await.len(), 2, "round {round}");
        let (bob, alice) = (format!("{members}/bob"), format!("{members}/alice"));
        let (a, b) = tokio::join!(
            app.patch(&bob, Who::Admin, member.clone()),
            app.patch(&alice, Who::Member, member.clone()),
        );
        let left = admins(&app).await;
        assert_eq!(left.len(), 1, "round {round}: {a:?} {b:?} left {left:?}");
        let won = [a.0, b.0]
            .iter()
            .filter(|s| **s == 200 || **s == 204)
            .count();
        assert_eq!(
            won, 1,
            "round {round}: exactly one demotion lands: {a:?} {b:?}"
        );
        // Put alice back as the admin for the next round.
        if left == ["bob"] {
            let (st, body) = app
                .patch(&format!("{members}/alice"), Who::Member, admin.clone())
                .await;
            assert!(st == 200 || st == 204, "restore alice: {st} {body}");
            let (st, body) = app
                .patch(&format!("{members}/bob"), Who::Admin, member.clone())
                .await;
            assert!(st == 200 || st == 204, "demote bob: {st} {body}");
        }
    }
}
