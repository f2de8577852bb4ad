//! In-process tests of the console: the router over a temporary SQLite store, driven
//! with `oneshot` like a browser would (cookies, CSRF fields, redirects).

mod support;

use support::*;

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_is_audited() {
    let app = app().await;
    let (res, cookie) = app.sign_in("alice", ALICE_PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/console");
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sg_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP without --secure-cookies"
    );
    let page = app.get("/console/orgs/acme", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Signed in as"));
    for h in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(page.headers.contains_key(h), "{h}");
    }
    assert_eq!(page.headers["cache-control"], "no-store");
    let events = app.audit().await;
    assert!(events
        .iter()
        .any(|e| e.event.event == "user-login" && e.event.actor.login == "alice"));
}

#[tokio::test]
async fn secure_cookies_flag_marks_the_cookie_secure() {
    let app = app_with(ConsoleConfig {
        secure_cookies: true,
        ..ConsoleConfig::default()
    })
    .await;
    let (res, _) = app.sign_in("alice", ALICE_PW).await;
    assert!(res
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("sg_session=") && c.contains("; Secure")));
}

#[tokio::test]
async fn wrong_password_and_unknown_login_fail_alike() {
    let app = app().await;
    let (bad, cookie) = app.sign_in("alice", "not the password").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_empty());
    assert!(bad.body.contains("The login or password is incorrect."));
    let (unknown, _) = app.sign_in("nobody", "not the password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("The login or password is incorrect."));
    let events = app.audit().await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.event.event == "user-login-failed")
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "only the known user's failure is in the org log"
    );
    assert!(!failed[0].event.description.contains("not the password"));
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited() {
    let app = app_with(ConsoleConfig {
        rate_limit: RateLimit {
            max_failures: 3,
            window_secs: 900,
            ..RateLimit::default()
        },
        ..ConsoleConfig::default()
    })
    .await;
    for _ in 0..3 {
        let (res, _) = app.sign_in("alice", "wrong password!!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let (res, cookie) = app.sign_in("alice", ALICE_PW).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(cookie.is_empty(), "no session while limited");
    assert!(res.body.contains("Too many failed sign-ins"));
    // Another login from the same address is not affected.
    let (res, _) = app.sign_in("bob", BOB_PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn posts_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = app().await;
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let page = app.get("/console/orgs/acme/members", &cookie).await;
    let csrf = page.csrf();
    let add = [("login", "bob"), ("role", "member")];
    let res = app
        .post("/console/orgs/acme/members/add", &cookie, &add)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("did not come from this site"));
    let wrong = [
        ("csrf", "0".repeat(64)),
        ("login", "bob".into()),
        ("role", "member".into()),
    ];
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app
        .post("/console/orgs/acme/members/add", &cookie, &wrong)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let good = [
        ("csrf", csrf.as_str()),
        ("login", "bob"),
        ("role", "member"),
    ];
    let res = app
        .post_from(
            "/console/orgs/acme/members/add",
            &cookie,
            &good,
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Nothing changed so far; the same form with the token from this site works.
    let bob_added = |events: Vec<AuditEvent>| {
        events
            .iter()
            .any(|e| e.event.event == "member-added" && e.event.description.contains("bob"))
    };
    assert!(!bob_added(app.audit().await));
    let res = app
        .post("/console/orgs/acme/members/add", &cookie, &good)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(bob_added(app.audit().await));
    // The sign-in form needs its double-submit cookie.
    let res = app
        .post(
            "/console/login",
            "",
            &[("csrf", &csrf), ("login", "alice"), ("password", ALICE_PW)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = app().await;
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let page = app.get("/console/orgs/acme", &cookie).await;
    let res = app
        .post("/console/logout", &cookie, &[("csrf", &page.csrf())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.set_cookies().iter().any(|c| c.contains("Max-Age=0")));
    let after = app.get("/console/orgs/acme", &cookie).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/console/login");
}

#[tokio::test]
async fn expired_sessions_send_the_user_back_to_sign_in() {
    let app = app_with(ConsoleConfig {
        session: SessionPolicy {
            idle_timeout: 0,
            max_age: 3600,
        },
        ..ConsoleConfig::default()
    })
    .await;
    let (res, cookie) = app.sign_in("alice", ALICE_PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get("/console/orgs/acme", &cookie).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login");
}

#[tokio::test]
async fn a_member_sees_no_admin_controls_and_a_forged_post_is_refused_and_audited() {
    let app = app().await;
    let (_, admin) = app.sign_in("alice", ALICE_PW).await;
    let page = app.get("/console/orgs/acme/members", &admin).await;
    let res = app
        .post(
            "/console/orgs/acme/members/add",
            &admin,
            &[("csrf", &page.csrf()), ("login", "bob"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let (_, bob) = app.sign_in("bob", BOB_PW).await;
    let page = app.get("/console/orgs/acme/members", &bob).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Add an existing user"));
    assert!(!page.body.contains("/remove"));
    assert!(!page.body.contains("Audit log"), "admin-only nav hidden");
    let tokens = app.get("/console/orgs/acme/tokens", &bob).await;
    assert!(!tokens.body.contains("New organization token"));
    let res = app
        .post(
            "/console/orgs/acme/members/add",
            &bob,
            &[
                ("csrf", &page.csrf()),
                ("login", "alice"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("You do not have permission"));
    let events = app.audit().await;
    assert!(
        events
            .iter()
            .any(|e| e.event.event == "auth-failure-organization-role"
                && e.event.actor.login == "bob")
    );
}

#[tokio::test]
async fn pages_answer_plain_errors_and_assets_are_cacheable() {
    let app = app().await;
    let res = app.get("/console/orgs/acme", "").await;
    assert_eq!(res.location(), "/console/login");
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let res = app.get("/console/orgs/nope", &cookie).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.body.contains("may not have access"));
    let page = app.get("/console/orgs/acme", &cookie).await;
    let at = page.body.find("/console/assets/").expect("css link");
    let end = page.body[at..].find('"').expect("end") + at;
    let css = app.get(&page.body[at..end], "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    let root = app.get("/", "").await;
    assert_eq!(root.location(), "/console");
}

#[tokio::test]
async fn the_audit_log_exports_filtered_csv_and_cef() {
    let app = app().await;
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    let page = app
        .get("/console/orgs/acme/audit?event=user-login", &cookie)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("export?format=csv&amp;event=user-login"));
    let csv = app
        .get(
            "/console/orgs/acme/audit/export?format=csv&event=user-login",
            &cookie,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii")
        .starts_with("attachment"));
    assert!(csv.body.starts_with("Timestamp,"));
    assert!(csv.body.contains("user-login"));
    assert!(!csv.body.contains("member-added"));
    let cef = app
        .get("/console/orgs/acme/audit/export?format=cef", &cookie)
        .await;
    assert!(cef.body.starts_with("CEF:0|"));
    let bad = app
        .get("/console/orgs/acme/audit?from=yesterday", &cookie)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Dates must look like"));
}

#[tokio::test]
async fn a_token_lifetime_out_of_range_is_a_400_not_a_wrapped_date() {
    let app = app().await;
    let (_, cookie) = app.sign_in("alice", ALICE_PW).await;
    for days in ["9223372036854775807", "106751991167301", "-1", "731"] {
        let page = app.get("/console/orgs/acme/tokens", &cookie).await;
        let res = app
            .post(
                "/console/orgs/acme/tokens",
                &cookie,
                &[
                    ("csrf", &page.csrf()),
                    ("name", "overflow"),
                    ("description", ""),
                    ("expires_days", days),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{days}: {}", res.body);
        assert!(!res.body.contains("pul-"), "{days}: no token was made");
    }
    let page = app.get("/console/orgs/acme/tokens", &cookie).await;
    assert!(!page.body.contains("overflow"), "nothing was created");
}

#[tokio::test]
async fn concurrent_sign_ins_cannot_beat_the_limit() {
    let app = std::sync::Arc::new(
        app_with(ConsoleConfig {
            rate_limit: RateLimit {
                max_failures: 5,
                window_secs: 900,
                ..RateLimit::default()
            },
            ..ConsoleConfig::default()
        })
        .await,
    );
    // 30 at once for one login, the right password in the 20th: the check and the count
    // are one step, so only 5 reach the password check and the 20th is refused.
    let tries: Vec<_> = (0..30)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let password = if i == 19 {
                    ALICE_PW
                } else {
                    "wrong password!!"
                };
                app.sign_in("alice", password).await.0.status
            })
        })
        .collect();
    let mut checked = 0;
    for t in tries {
        let status = t.await.expect("task");
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::SEE_OTHER {
            checked += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert!(checked <= 5, "{checked} tries reached the password check");
}

#[tokio::test]
async fn one_source_is_limited_across_logins_unknown_ones_included() {
    let app = app_with(ConsoleConfig {
        rate_limit: RateLimit {
            max_failures: 5,
            max_failures_per_source: 4,
            window_secs: 900,
        },
        ..ConsoleConfig::default()
    })
    .await;
    for i in 0..4 {
        let (res, _) = app.sign_in(&format!("nobody{i}"), "whatever pass").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "try {i}");
    }
    let (res, cookie) = app.sign_in("alice", ALICE_PW).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(cookie.is_empty());
}
