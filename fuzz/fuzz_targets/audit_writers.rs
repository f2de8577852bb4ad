//! The CSV and CEF audit writers: for any field values, a CSV parser reads back exactly one
//! record per event with every field as written (formula cells carry their leading `'`),
//! and every CEF record is one line.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stackgate_http::export::{cef_line, csv_chunk};
use stackgate_store::{AuditActor, AuditEvent, ChainLink, NewAuditEvent};

#[derive(Arbitrary, Debug)]
struct Fields {
    description: String,
    login: String,
    name: String,
    email: String,
    token_name: Option<String>,
    source_ip: String,
    timestamp: i64,
}

fuzz_target!(|events: Vec<Fields>| {
    let events: Vec<AuditEvent> = events
        .into_iter()
        .take(16)
        .enumerate()
        .map(|(i, f)| AuditEvent {
            id: i as i64,
            event: NewAuditEvent {
                org_id: "o".into(),
                timestamp: f.timestamp,
                event: "member-added".into(),
                description: f.description,
                actor: AuditActor {
                    login: f.login,
                    name: f.name,
                    email: f.email,
                    token_id: Some("t".into()),
                    token_name: f.token_name,
                },
                source_ip: f.source_ip,
                req_org_admin: false,
                req_stack_admin: false,
                auth_failure: false,
            },
            link: ChainLink {
                seq: i as i64 + 1,
                prev_hash: String::new(),
                hash: "h".into(),
            },
        })
        .collect();
    let csv = csv_chunk(&events, false);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_slice());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("valid CSV")).collect();
    assert_eq!(records.len(), events.len(), "one record per event");
    for (record, e) in records.iter().zip(&events) {
        // What the writer must have written for a value: a formula gets a leading `'`.
        let cell = |v: &str| {
            if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{v}")
            } else {
                v.to_string()
            }
        };
        assert_eq!(&record[4], cell(&e.event.description), "description");
        assert_eq!(&record[2], cell(&e.event.actor.login), "login");
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?}"
            );
        }
    }
    for e in &events {
        let line = cef_line(e);
        let body = line.strip_suffix('\n').expect("a CEF record ends its line");
        assert!(!body.contains(['\n', '\r']), "one line per event: {line:?}");
    }
});
