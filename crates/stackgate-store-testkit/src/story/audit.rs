//! Story chapter: audit events, every filter of `list_audit`, and keyset paging.

use stackgate_store::{
    AuditActor, AuditEvent, AuditHead, AuditQuery, ChainLink, NewAuditEvent, OrgId, Store,
};

use super::{begin, read, ACME, GLOBEX};

fn event(
    org_id: &OrgId,
    timestamp: i64,
    event: &str,
    login: &str,
    token: Option<&str>,
) -> NewAuditEvent {
    NewAuditEvent {
        org_id: org_id.clone(),
        timestamp,
        event: event.to_owned(),
        description: format!("{event} at {timestamp}"),
        actor: AuditActor {
            login: login.to_owned(),
            name: format!("{login} name"),
            email: format!("{login}@example.com"),
            token_id: token.map(str::to_owned),
            token_name: token.map(|t| format!("{t} name")),
        },
        source_ip: "192.0.2.7".to_owned(),
        req_org_admin: timestamp % 2 == 0,
        req_stack_admin: timestamp % 3 == 0,
        auth_failure: event == "auth.failure",
    }
}

fn acme_events() -> Vec<NewAuditEvent> {
    vec![
        event(&ACME, 100, "org.create", "alice", None),
        event(&ACME, 101, "team.create", "alice", None),
        event(&ACME, 102, "stack.create", "bob", Some("tok-o1")),
        event(&ACME, 103, "auth.failure", "", None),
        event(&ACME, 104, "stack.create", "alice", None),
        event(&ACME, 105, "team.delete", "bob", None),
    ]
}

fn query(org_id: &OrgId) -> AuditQuery {
    AuditQuery {
        org_id: org_id.clone(),
        limit: 100,
        ..AuditQuery::default()
    }
}

async fn list(store: &dyn Store, query: &AuditQuery) -> Vec<AuditEvent> {
    read(store)
        .await
        .list_audit(query)
        .await
        .expect("list audit")
}

async fn stamps(store: &dyn Store, query: &AuditQuery) -> Vec<i64> {
    list(store, query)
        .await
        .into_iter()
        .map(|e| e.event.timestamp)
        .collect()
}

pub(crate) async fn audit(store: &dyn Store) {
    let mut tx = begin(store).await;
    assert_eq!(
        tx.audit_head(&ACME).await.expect("head"),
        AuditHead::default(),
        "an org without events has an empty head"
    );
    for (i, e) in acme_events().iter().enumerate() {
        append(&mut *tx, e).await;
        if i == 2 {
            let other = event(&GLOBEX, 102, "org.create", "alice", None);
            append(&mut *tx, &other).await;
        }
    }
    tx.commit().await.expect("commit audit");
    let head = read(store).await.audit_head(&ACME).await.expect("head");
    assert_eq!(
        (head.seq, head.hash.as_str()),
        (6, "h6"),
        "head follows appends"
    );
    assert_eq!(
        read(store)
            .await
            .audit_head(&GLOBEX)
            .await
            .expect("head")
            .seq,
        1,
        "chains are per org"
    );

    let all = list(store, &query(&ACME)).await;
    let mut expected = acme_events();
    expected.reverse();
    let got: Vec<_> = all.iter().map(|e| e.event.clone()).collect();
    assert_eq!(got, expected, "newest first, every field roundtrips");
    assert!(
        all.windows(2).all(|w| w[0].link.seq > w[1].link.seq),
        "seqs descend"
    );
    assert_eq!(all[0].link, link(6), "links roundtrip");

    // Keyset pages of two.
    let mut paged = Vec::new();
    let mut q = AuditQuery {
        limit: 2,
        ..query(&ACME)
    };
    loop {
        let page = list(store, &q).await;
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        q.before_seq = Some(last.link.seq);
        paged.extend(page);
    }
    assert_eq!(paged, all, "before_seq pages are exclusive and complete");

    let window = AuditQuery {
        start_time: Some(101),
        end_time: Some(103),
        ..query(&ACME)
    };
    assert_eq!(
        stamps(store, &window).await,
        [103, 102, 101],
        "bounds inclusive"
    );
    let from = AuditQuery {
        start_time: Some(104),
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &from).await, [105, 104]);
    let until = AuditQuery {
        end_time: Some(100),
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &until).await, [100]);
    let events = AuditQuery {
        events: vec!["stack.create".to_owned(), "team.delete".to_owned()],
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &events).await, [105, 104, 102]);
    let bob = AuditQuery {
        user_login: Some("bob".to_owned()),
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &bob).await, [105, 102]);
    let by_token = AuditQuery {
        token_id: Some("tok-o1".to_owned()),
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &by_token).await, [102]);
    let combined = AuditQuery {
        events: vec!["stack.create".to_owned()],
        user_login: Some("alice".to_owned()),
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &combined).await, [104]);
    let below = AuditQuery {
        before_seq: Some(all[0].link.seq),
        ..events.clone()
    };
    assert_eq!(
        stamps(store, &below).await,
        [104, 102],
        "cursor combines with filters"
    );
    let first = AuditQuery {
        limit: 1,
        ..query(&ACME)
    };
    assert_eq!(stamps(store, &first).await, [105]);

    let globex = list(store, &query(&GLOBEX)).await;
    assert_eq!(globex.len(), 1, "events are per org");
    assert_eq!(globex[0].event.org_id, *GLOBEX);
    assert!(list(store, &query(&"o-nope".into())).await.is_empty());

    // Chain order, from a point.
    let chain = read(store)
        .await
        .audit_chain(&ACME, 2, 3)
        .await
        .expect("chain");
    let seqs: Vec<i64> = chain.iter().map(|e| e.link.seq).collect();
    assert_eq!(seqs, [3, 4, 5], "ascending, after_seq exclusive, limited");

    // Retention: the last event older than a time, then pruning through it.
    let mut tx = begin(store).await;
    let cut = tx
        .last_audit_seq_before(&ACME, 103)
        .await
        .expect("last before");
    assert_eq!(
        cut,
        Some((3, "h3".to_owned())),
        "timestamps 100..=102 are older than 103"
    );
    assert_eq!(
        tx.last_audit_seq_before(&ACME, 100).await.expect("none"),
        None
    );
    assert_eq!(tx.prune_audit(&ACME, 3, "h3").await.expect("prune"), 3);
    tx.commit().await.expect("commit prune");
    let head = read(store).await.audit_head(&ACME).await.expect("head");
    assert_eq!(
        (head.seq, head.pruned_seq, head.pruned_hash.as_str()),
        (6, 3, "h3")
    );
    assert_eq!(stamps(store, &query(&ACME)).await, [105, 104, 103]);
    assert_eq!(
        list(store, &query(&GLOBEX)).await.len(),
        1,
        "other orgs untouched"
    );

    let orgs = read(store).await.list_orgs().await.expect("orgs");
    assert!(orgs.iter().any(|o| o.id == *ACME) && orgs.iter().any(|o| o.id == *GLOBEX));
}

/// A stand-in link: the store keeps links, it does not compute them.
fn link(seq: i64) -> ChainLink {
    ChainLink {
        seq,
        prev_hash: if seq == 1 {
            String::new()
        } else {
            format!("h{}", seq - 1)
        },
        hash: format!("h{seq}"),
    }
}

async fn append(tx: &mut dyn stackgate_store::Tx, e: &NewAuditEvent) {
    let head = tx.audit_head(&e.org_id).await.expect("head");
    tx.insert_audit(e, &link(head.seq + 1))
        .await
        .expect("insert audit");
}
