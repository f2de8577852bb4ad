//! Secrets never reach the log: a new token's value, a session id, and a password typed
//! into the login field (also when the sign-in limit refuses it).
//!
//! A test binary of its own: it installs a capturing `tracing` subscriber, and tests
//! running beside it in the same process (the rate-limit test hits the same log call
//! sites) made its capture miss lines under load.

mod support;

use support::*;

/// A `MakeWriter` that keeps everything logged, to look for secrets in it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_token_value_is_shown_once_and_never_in_urls_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    // The only test of this binary, so the capture can be the process-wide default: it
    // sees lines logged on any thread, not only on this test's.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = app().await;
    let (login, cookie) = app.sign_in("alice", ALICE_PW).await;
    let session_value = cookie.trim_start_matches("sg_session=").to_string();
    assert!(!login.location().contains(&session_value));
    let page = app.get("/console/orgs/acme/tokens", &cookie).await;
    assert!(page.body.contains("Elevated permissions"));
    let res = app
        .post(
            "/console/orgs/acme/tokens",
            &cookie,
            &[
                ("csrf", &page.csrf()),
                ("name", "deploy-bot"),
                ("description", "CI"),
                ("admin", "on"),
                ("expires_days", "30"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["cache-control"], "no-store");
    assert!(res.headers.get(header::LOCATION).is_none());
    let at = res.body.find("pul-").expect("the value is on the page");
    let value = res.body[at..at + 44].to_string();
    assert!(res.body.contains("will not be shown again"));
    assert!(res.body.contains("elevated permissions"));
    for path in [
        "/console/orgs/acme/tokens",
        "/console/orgs/acme",
        "/console/orgs/acme/audit",
    ] {
        let again = app.get(path, &cookie).await;
        assert_eq!(again.status, StatusCode::OK, "{path}");
        assert!(!again.body.contains(&value), "{path} shows the value again");
        if path != "/console/orgs/acme" {
            assert!(again.body.contains("deploy-bot"), "{path}");
        }
    }
    // A password typed into the login field, until the rate limit refuses it: neither
    // the failures nor the refusals may log what was typed.
    for _ in 0..7 {
        let (res, _) = app.sign_in(ALICE_PW, "not the password").await;
        assert!(res.status.is_client_error(), "{}", res.status);
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
    // The capture works (this test would prove nothing if it saw no log at all).
    assert!(logged.contains("console sign-in"), "nothing captured");
    assert!(logged.contains("rate limited"), "the limit was not reached");
    for secret in [value.as_str(), session_value.as_str(), ALICE_PW] {
        assert!(!logged.contains(secret), "a secret reached the log");
    }
    for e in app.audit().await {
        assert!(!e.event.description.contains(&value));
    }
}
