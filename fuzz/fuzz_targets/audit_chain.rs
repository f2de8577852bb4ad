//! The audit chain encoding: for any event fields, a chain built with `next_link`
//! verifies, and changing any event's description breaks it at that event.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stackgate_core::chain::{next_link, Verifier};
use stackgate_store::{AuditActor, AuditEvent, AuditHead, NewAuditEvent};

#[derive(Arbitrary, Debug)]
struct Fields {
    description: String,
    login: String,
    event: String,
    timestamp: i64,
    token_id: Option<String>,
}

fuzz_target!(|input: (Vec<Fields>, usize)| {
    let (fields, tamper) = input;
    let mut head = AuditHead::default();
    let mut events = Vec::new();
    for (i, f) in fields.into_iter().take(16).enumerate() {
        let event = NewAuditEvent {
            org_id: "o".into(),
            timestamp: f.timestamp,
            event: f.event,
            description: f.description,
            actor: AuditActor {
                login: f.login,
                token_id: f.token_id,
                ..AuditActor::default()
            },
            source_ip: String::new(),
            req_org_admin: false,
            req_stack_admin: false,
            auth_failure: false,
        };
        let link = next_link(&head, &event);
        head.seq = link.seq;
        head.hash = link.hash.clone();
        events.push(AuditEvent {
            id: i as i64,
            event,
            link,
        });
    }
    let mut verifier = Verifier::new(0, "");
    for e in &events {
        verifier.check(e).expect("an untouched chain verifies");
    }
    if events.is_empty() {
        return;
    }
    let at = tamper % events.len();
    events[at].event.description.push('!');
    let mut verifier = Verifier::new(0, "");
    let broken = events.iter().try_for_each(|e| verifier.check(e));
    assert!(broken.is_err(), "an edited event must break the chain");
});
