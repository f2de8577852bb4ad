//! No token value reaches the logs, even at `trace` level.
//!
//! The subscriber is installed process-wide (this binary holds this one test), so events
//! emitted on other threads — the SQLite driver's worker threads included — are captured
//! too. It writes into a shared buffer that the test then searches for every token value
//! it created or presented.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use common::{assert_error, assert_ok, forged_token, TestApp, Who, ORG, STACK_PATH, TEAM};

/// A clonable in-memory log sink.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn contents(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// Installs the capturing subscriber once for this test binary.
fn capture() -> Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let filter = EnvFilter::new(
                "stackgate_server=trace,stackgate_http=trace,stackgate_core=trace,stackgate_store=trace,\
                 stackgate_store_sqlite=trace,tower_http=trace,sqlx=trace,axum=trace",
            );
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(buffer.clone())
                .with_ansi(false)
                .with_span_events(FmtSpan::FULL)
                .init();
            buffer
        })
        .clone()
}

#[tokio::test]
async fn token_values_never_reach_the_logs() {
    let logs = capture();
    let app = TestApp::start().await;
    let a = app.actors().clone();
    let mut secrets: Vec<(String, String)> = vec![
        ("admin".into(), a.admin.token.clone()),
        ("member".into(), a.member.token.clone()),
        ("billing".into(), a.billing.token.clone()),
        ("team admin".into(), a.team_admin.token.clone()),
        ("outsider".into(), a.outsider.token.clone()),
        ("other admin".into(), a.other_admin.token.clone()),
        ("org member token".into(), a.org_member_token.token.clone()),
        ("org admin token".into(), a.org_admin_token.token.clone()),
        ("team token".into(), a.team_token.token.clone()),
        ("other org token".into(), a.other_org_token.token.clone()),
    ];

    // Create more tokens and use every kind, successfully and not.
    let (personal, personal_id) = app
        .personal_token(Who::Member, "laptop", "personal token")
        .await;
    secrets.push(("personal".into(), personal.clone()));
    let org_tok = app.org_token_as(&Who::Admin, ORG, "logged", true, 0).await;
    secrets.push(("org token".into(), org_tok.token.clone()));
    let team_tok = app
        .team_token_as(&Who::TeamAdmin, TEAM, "logged-team", 0)
        .await;
    secrets.push(("team token 2".into(), team_tok.token.clone()));
    let forged = forged_token("feedfacefeedfacefeedfacefeedface");
    secrets.push(("forged".into(), forged.clone()));

    for who in [
        Who::Token(personal.clone()),
        Who::from(&org_tok),
        Who::from(&team_tok),
    ] {
        let (st, body) = app.get(STACK_PATH, who.clone()).await;
        assert_ok(st, &body, "read a stack");
        let (st, body) = app.get("/api/user", who).await;
        assert_ok(st, &body, "whoami");
    }
    // Failing requests: 403, 404, 401 for an unknown, a malformed and a deleted token.
    let (st, body) = app
        .get(&format!("/api/orgs/{ORG}/auditlogs"), Who::Member)
        .await;
    assert_error(st, &body, 403, "member reads audit");
    let (st, body) = app.get(&format!("/api/orgs/{ORG}"), Who::Outsider).await;
    assert_error(st, &body, 404, "outsider");
    let (st, body) = app.get("/api/user", Who::Token(forged)).await;
    assert_error(st, &body, 401, "forged");
    let malformed = format!("{}X", a.admin.token);
    secrets.push(("malformed".into(), malformed.clone()));
    let (st, body) = app.get("/api/user", Who::Token(malformed)).await;
    assert_error(st, &body, 401, "malformed");
    let (st, body) = app
        .delete(&format!("/api/user/tokens/{personal_id}"), Who::Member)
        .await;
    assert_ok(st, &body, "delete personal token");
    let (st, body) = app.get("/api/user", Who::Token(personal)).await;
    assert_error(st, &body, 401, "deleted");
    // A request whose body carries a token value in a field it does not expect.
    let (st, body) = app
        .post(
            &format!("/api/orgs/{ORG}/tokens"),
            Who::Admin,
            json!({"name": a.team_token.token, "expires": 0}),
        )
        .await;
    assert_error(st, &body, 400, "token value as a name");

    let captured = logs.contents();
    assert!(
        captured.lines().count() > 20,
        "too little was logged for the test to mean anything:\n{captured}"
    );
    assert!(
        captured.contains("/api/orgs/acme/auditlogs"),
        "request spans were not captured:\n{captured}"
    );
    for (what, value) in &secrets {
        // The whole value and its random part alone.
        for needle in [value.as_str(), &value[4..36]] {
            assert!(
                !captured.contains(needle),
                "the {what} token value appears in the logs"
            );
        }
    }
}
