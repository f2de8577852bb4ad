//! Export and verification: the CSV export re-hashed row by row as an offline auditor
//! would, the CEF export, gzip (in process and over a real connection) and `verify`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use axum::body::Body;
use axum::http::{header, Request};
use serde_json::json;
use stackgate_core::chain;
use stackgate_http::export::CSV_HEADER;
use stackgate_server::ServerConfig;
use stackgate_store::{AuditActor, NewAuditEvent};

use crate::common::{assert_error, assert_ok, events_named, send_raw, TestApp, Who, ORG};

/// A GET as `who`, with extra headers.
fn get_req(app: &TestApp, path: &str, who: &Who, extra: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::builder().method("GET").uri(path);
    if let Some(h) = app.header(who) {
        req = req.header(header::AUTHORIZATION, h);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).expect("a valid request")
}

/// Re-hashes a CSV row the way an offline auditor would.
fn rehash(row: &BTreeMap<&str, String>) -> String {
    let ts = time::OffsetDateTime::parse(
        &row["Timestamp"],
        &time::format_description::well_known::Rfc3339,
    )
    .expect("Timestamp is RFC 3339")
    .unix_timestamp();
    let flag = |k: &str| match row[k].as_str() {
        "true" => true,
        "false" => false,
        other => panic!("{k}: not a boolean: {other}"),
    };
    let (token_id, token_name) = if row["TokenID"].is_empty() {
        (None, None)
    } else {
        (Some(row["TokenID"].clone()), Some(row["TokenName"].clone()))
    };
    let e = NewAuditEvent {
        // Not hashed: the org is implied by the chain the file belongs to.
        org_id: Default::default(),
        timestamp: ts,
        event: row["Event"].clone(),
        description: row["Description"].clone(),
        actor: AuditActor {
            login: row["Login"].clone(),
            name: row["Name"].clone(),
            email: row["Email"].clone(),
            token_id,
            token_name,
        },
        source_ip: row["SourceIP"].clone(),
        req_org_admin: flag("RequireOrgAdmin"),
        req_stack_admin: flag("RequireStackAdmin"),
        auth_failure: flag("AuthenticationFailure"),
    };
    let seq: i64 = row["Sequence"].parse().expect("Sequence is a number");
    chain::hash(seq, &row["PreviousHash"], &e)
}

/// Parses a CSV export into its header and rows keyed by column name.
fn parse_csv(body: &[u8]) -> (Vec<String>, Vec<BTreeMap<&'static str, String>>) {
    let mut r = csv::Reader::from_reader(body);
    let header: Vec<String> = r
        .headers()
        .expect("a header line")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("a well-formed CSV record");
            assert_eq!(rec.len(), CSV_HEADER.len(), "{rec:?}");
            CSV_HEADER
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (*k, v.to_string()))
                .collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test]
async fn the_csv_export_can_be_verified_offline() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    // An actor whose name needs CSV quoting, acting through a token.
    let quinn = app.new_user_named("quinn", "Quinn \"Q\", Jr.").await;
    app.add_member_as(&Who::Admin, ORG, "quinn", "member").await;
    let quinn = Who::from(&quinn);
    app.post_ok(
        "/api/stacks/acme/proj",
        quinn,
        json!({"stackName": "quoted", "tags": {"note": "a, \"b\"; c=d"}}),
        "quinn creates a stack",
    )
    .await;

    let resp = send_raw(
        &router,
        get_req(
            &app,
            "/api/orgs/acme/auditlogs/v2/export?format=csv",
            &Who::Admin,
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.headers.get(header::CONTENT_ENCODING).is_none());
    assert!(resp
        .headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("auditlogs-acme.csv")));
    let (head, rows) = parse_csv(&resp.body);
    let want: Vec<&str> = [
        "Timestamp",
        "Name",
        "Login",
        "Event",
        "Description",
        "SourceIP",
        "RequireOrgAdmin",
        "RequireStackAdmin",
        "AuthenticationFailure",
        "TokenID",
        "TokenName",
        "Email",
        "Sequence",
        "PreviousHash",
        "Hash",
    ]
    .to_vec();
    assert_eq!(head, want, "Pulumi's nine columns, then the chain columns");

    // One row per event, newest first, the export's own event included.
    let listed = app.audit().await;
    assert_eq!(rows.len(), listed.len());
    assert_eq!(rows[0]["Event"], "audit-log-exported");
    assert!(rows.iter().any(|r| r["Name"] == "Quinn \"Q\", Jr."));
    for (row, e) in rows.iter().zip(&listed) {
        assert_eq!(row["Event"], e["event"].as_str().expect("event"));
        assert_eq!(row["Description"], e["description"].as_str().expect("desc"));
        assert_eq!(row["TokenID"], e["tokenID"].as_str().unwrap_or(""));
    }
    assert!(
        rows.iter().any(|r| r["TokenID"].is_empty()),
        "operator events"
    );
    assert!(rows
        .iter()
        .any(|r| !r["TokenID"].is_empty() && r["TokenName"].is_empty()));

    // Every row re-hashes to its Hash, and links to the row below it.
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(rehash(row), row["Hash"], "row {i}: {row:?}");
        match rows.get(i + 1) {
            Some(older) => {
                assert_eq!(row["PreviousHash"], older["Hash"], "row {i}");
                let (s, o): (i64, i64) = (
                    row["Sequence"].parse().expect("seq"),
                    older["Sequence"].parse().expect("seq"),
                );
                assert_eq!(s, o + 1, "row {i}");
            }
            None => {
                assert_eq!(row["Sequence"], "1");
                assert_eq!(row["PreviousHash"], "");
            }
        }
    }
    // ...and an edited row does not.
    let mut forged = rows[rows.len() / 2].clone();
    forged.insert("Description", "nothing to see here".into());
    assert_ne!(rehash(&forged), forged["Hash"]);
    let mut forged = rows[1].clone();
    forged.insert("SourceIP", "10.9.9.9".into());
    assert_ne!(rehash(&forged), forged["Hash"]);

    // The server agrees.
    let (st, body) = app.get("/api/orgs/acme/auditlogs/verify", Who::Admin).await;
    assert_ok(st, &body, "verify");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["organization"], ORG);
    assert_eq!(body["checkedEvents"], json!(rows.len()), "{body}");
    assert_eq!(body["headSequence"], json!(rows.len()), "{body}");
    assert_eq!(body["prunedThroughSequence"], 0, "{body}");
    assert!(body.get("firstBrokenSequence").is_none(), "{body}");
}

#[tokio::test]
async fn the_cef_export_has_one_line_per_event() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    for path in [
        "/api/orgs/acme/auditlogs/export?format=cef",
        "/api/orgs/acme/auditlogs/v2/export?format=cef",
    ] {
        let resp = send_raw(&router, get_req(&app, path, &Who::Admin, &[])).await;
        assert_eq!(resp.status, 200, "{path}");
        let text = resp.text();
        let events = app.audit().await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), events.len(), "{path}");
        let mut seqs = BTreeSet::new();
        for (line, e) in lines.iter().zip(&events) {
            assert!(line.starts_with("CEF:0|stackgate|stackgate|"), "{line}");
            let id = e["event"].as_str().expect("event");
            assert!(line.contains(&format!("|{id}|")), "{line} / {e}");
            let seq = line
                .split("cn1=")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .and_then(|s| s.parse::<i64>().ok())
                .expect("cn1=<sequence>");
            seqs.insert(seq);
        }
        let n = i64::try_from(events.len()).expect("count");
        assert_eq!(seqs, (1..=n).collect::<BTreeSet<i64>>(), "{path}");
    }
    let (st, body) = app
        .get("/api/orgs/acme/auditlogs/v2/export?format=xml", Who::Admin)
        .await;
    assert_error(st, &body, 400, "unknown export format");
}

/// Guards a bug these tests found: tower-http's compression (tokio-util's `StreamReader`)
/// polls the body again after its end, and an unfused `export::body_stream` then panicked
/// ("Unfold must not be polled after it returned `Poll::Ready(None)`"): the gzip export
/// failed after its last page. The stream is now fused.
#[tokio::test]
async fn exports_are_gzipped_when_the_client_accepts_it() {
    let app = TestApp::start().await;
    let router = stackgate_server::router(app.service.clone());
    // A filter that leaves out the exports' own events, so both bodies are comparable.
    let path =
        "/api/orgs/acme/auditlogs/v2/export?format=csv&eventFilter=member-added,stack-created";
    let plain = send_raw(&router, get_req(&app, path, &Who::Admin, &[])).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let gz = send_raw(
        &router,
        get_req(&app, path, &Who::Admin, &[("accept-encoding", "gzip")]),
    )
    .await;
    assert_eq!(gz.status, 200);
    assert_eq!(
        gz.headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    assert_ne!(gz.body, plain.body, "the body is compressed");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut unzipped)
        .expect("a valid gzip stream");
    assert_eq!(unzipped, plain.body);
    let (_, rows) = parse_csv(&unzipped);
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r["Event"] == "member-added" || r["Event"] == "stack-created"));
    // Both exports were recorded.
    let events = app.audit().await;
    assert_eq!(events_named(&events, "audit-log-exported").len(), 2);
}

/// Undoes HTTP/1.1 chunked transfer coding; `None` when the final chunk never came.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_line = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// The same bug as a real client saw it: the connection closed without the final chunk
/// (for a small log, before any byte of the response).
#[tokio::test]
async fn a_gzipped_export_over_a_real_connection_is_complete() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stackgate_server::serve(
        listener,
        app.service.clone(),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = app.header(&Who::Admin).expect("admin header");
    let req = format!(
        "GET /api/orgs/acme/auditlogs/v2/export?format=csv HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: {auth}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.expect("send");
    let mut resp = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut resp),
    )
    .await
    .expect("the response ends")
    .expect("read the response");
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&resp[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let gz = dechunk(&resp[split + 4..]).expect("the body ends with its final chunk");
    let mut csv_bytes = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut csv_bytes)
        .expect("a complete gzip stream");
    let (_, rows) = parse_csv(&csv_bytes);
    assert_eq!(rows.len(), app.audit().await.len());
    let _ = stop.send(());
    server
        .await
        .expect("the server task")
        .expect("the server stops cleanly");
}
