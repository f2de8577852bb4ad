//! The audit log's hash chain: tamper evidence for each org's events.
//!
//! Every event of an org has a sequence number (`seq`, 1, 2, ...) and carries the hash of
//! the org's previous event (`prev_hash`, empty for the first). Its own hash is
//!
//! ```text
//! hash = hex(SHA-256(canonical))
//! canonical = JSON array, no whitespace, in this order:
//!   [seq, prev_hash, timestamp, event, description,
//!    user_login, user_name, user_email, token_id, token_name, source_ip,
//!    req_org_admin, req_stack_admin, auth_failure]
//! ```
//!
//! with `token_id`/`token_name` as `null` when no token acted (a personal token has a
//! `token_id` and an empty `token_name`), integers as JSON numbers and flags as JSON
//! booleans (serde_json's encoding). Every field is in the CSV export, so a file can be
//! re-hashed offline; the org is implied by the chain a file belongs to. Changing, inserting or deleting any
//! event breaks the link to its successor; exports carry `seq`, `prev_hash` and `hash`
//! so an auditor can re-check a file offline. Pruning keeps the chain checkable: the head
//! records the last pruned event's `seq` and hash, and verification starts from there.

use serde_json::json;
use sha2::{Digest, Sha256};
use stackgate_store::{AuditEvent, AuditHead, ChainLink, NewAuditEvent};

/// The canonical encoding hashed for one event.
pub fn canonical(seq: i64, prev_hash: &str, e: &NewAuditEvent) -> String {
    json!([
        seq,
        prev_hash,
        e.timestamp,
        e.event,
        e.description,
        e.actor.login,
        e.actor.name,
        e.actor.email,
        e.actor.token_id,
        e.actor.token_name,
        e.source_ip,
        e.req_org_admin,
        e.req_stack_admin,
        e.auth_failure,
    ])
    .to_string()
}

pub fn hash(seq: i64, prev_hash: &str, e: &NewAuditEvent) -> String {
    hex::encode(Sha256::digest(canonical(seq, prev_hash, e).as_bytes()))
}

/// The link for a new event appended after `head`.
pub fn next_link(head: &AuditHead, e: &NewAuditEvent) -> ChainLink {
    let seq = head.seq + 1;
    let prev_hash = if head.seq == 0 {
        String::new()
    } else {
        head.hash.clone()
    };
    let hash = hash(seq, &prev_hash, e);
    ChainLink {
        seq,
        prev_hash,
        hash,
    }
}

/// Why a chain does not verify, at the first broken link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenLink {
    /// The `seq` of the first event that does not check out (or that is missing).
    pub seq: i64,
    pub reason: String,
}

/// Walks a chain incrementally, one event at a time in `seq` order.
#[derive(Clone, Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Verifier {
    /// Starts after the last pruned event (`pruned_seq` 0: from the beginning).
    pub fn new(pruned_seq: i64, pruned_hash: &str) -> Verifier {
        Verifier {
            expected_seq: pruned_seq + 1,
            prev_hash: pruned_hash.to_string(),
            checked: 0,
        }
    }

    /// Checks the next event; stops at the first problem.
    pub fn check(&mut self, e: &AuditEvent) -> Result<(), BrokenLink> {
        let link = &e.link;
        if link.seq != self.expected_seq {
            return Err(BrokenLink {
                seq: self.expected_seq,
                reason: format!(
                    "event {} is missing (found {} next)",
                    self.expected_seq, link.seq
                ),
            });
        }
        if link.prev_hash != self.prev_hash {
            return Err(BrokenLink {
                seq: link.seq,
                reason: "prev_hash does not match the previous event's hash".to_string(),
            });
        }
        let computed = hash(link.seq, &link.prev_hash, &e.event);
        if computed != link.hash {
            return Err(BrokenLink {
                seq: link.seq,
                reason: "the event's content does not match its hash".to_string(),
            });
        }
        self.expected_seq += 1;
        self.prev_hash = link.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// Checks that the walk ended at the head.
    pub fn finish(&self, head: &AuditHead) -> Result<(), BrokenLink> {
        let last = self.expected_seq - 1;
        if last != head.seq || (head.seq > 0 && self.prev_hash != head.hash) {
            return Err(BrokenLink {
                seq: last + 1,
                reason: format!("the chain ends at {last} but its head is at {}", head.seq),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackgate_store::AuditActor;

    fn event(n: i64) -> NewAuditEvent {
        NewAuditEvent {
            org_id: "o1".into(),
            timestamp: 1_000 + n,
            event: "team-created".into(),
            description: format!("team t{n} created"),
            actor: AuditActor {
                login: "alice".into(),
                name: "Alice".into(),
                email: "a@example.com".into(),
                token_id: (n % 2 == 0).then(|| "tok".to_string()),
                token_name: (n % 2 == 0).then(String::new),
            },
            source_ip: "10.0.0.1".into(),
            req_org_admin: true,
            req_stack_admin: false,
            auth_failure: false,
        }
    }

    fn chain(n: i64) -> (Vec<AuditEvent>, AuditHead) {
        let mut head = AuditHead::default();
        let mut out = Vec::new();
        for i in 1..=n {
            let e = event(i);
            let link = next_link(&head, &e);
            head.seq = link.seq;
            head.hash = link.hash.clone();
            out.push(AuditEvent {
                id: i,
                event: e,
                link,
            });
        }
        (out, head)
    }

    fn verify(events: &[AuditEvent], head: &AuditHead) -> Result<u64, BrokenLink> {
        let mut v = Verifier::new(head.pruned_seq, &head.pruned_hash);
        for e in events {
            v.check(e)?;
        }
        v.finish(head)?;
        Ok(v.checked)
    }

    #[test]
    fn canonical_encoding_is_stable() {
        let e = event(2);
        assert_eq!(
            canonical(2, "ab", &e),
            r#"[2,"ab",1002,"team-created","team t2 created","alice","Alice","a@example.com","tok","","10.0.0.1",true,false,false]"#
        );
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (events, head) = chain(5);
        assert_eq!(verify(&events, &head), Ok(5));
        assert_eq!(events[0].link.prev_hash, "");
        assert_eq!(events[1].link.prev_hash, events[0].link.hash);
    }

    #[test]
    fn an_edited_event_is_found() {
        let (mut events, head) = chain(5);
        events[2].event.description = "nothing happened".into();
        assert_eq!(verify(&events, &head).map_err(|b| b.seq), Err(3));
    }

    #[test]
    fn a_deleted_or_reordered_event_is_found() {
        let (mut events, head) = chain(5);
        events.remove(1);
        assert_eq!(verify(&events, &head).map_err(|b| b.seq), Err(2));
        let (mut events, head) = chain(5);
        events.swap(1, 2);
        assert_eq!(verify(&events, &head).map_err(|b| b.seq), Err(2));
    }

    #[test]
    fn a_truncated_tail_is_found() {
        let (mut events, head) = chain(5);
        events.pop();
        assert_eq!(verify(&events, &head).map_err(|b| b.seq), Err(5));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let (mut events, head) = chain(4);
        events[1].event.description = "forged".into();
        let prev = events[1].link.prev_hash.clone();
        events[1].link.hash = hash(2, &prev, &events[1].event);
        assert_eq!(verify(&events, &head).map_err(|b| b.seq), Err(3));
    }

    #[test]
    fn a_pruned_chain_verifies_from_the_pruned_point() {
        let (events, mut head) = chain(6);
        head.pruned_seq = 3;
        head.pruned_hash = events[2].link.hash.clone();
        assert_eq!(verify(&events[3..], &head), Ok(3));
        // A wrong pruned hash is caught at the first kept event.
        head.pruned_hash = "00".into();
        assert_eq!(verify(&events[3..], &head).map_err(|b| b.seq), Err(4));
    }
}
