//! Story chapter: audit events, every filter of `list_audit`, and keyset paging.

use stackgate_store::{AuditActor, AuditEvent, AuditQuery, NewAuditEvent, Store};

use super::{begin, read, ACME, GLOBEX};

fn event(
    org_id: &str,
    timestamp: i64,
    event: &str,
    login: &str,
    token: Option<&str>,
) -> NewAuditEvent {
    NewAuditEvent {
        org_id: org_id.to_owned(),
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
        event(ACME, 100, "org.create", "alice", None),
        event(ACME, 101, "team.create", "alice", None),
        event(ACME, 102, "stack.create", "bob", Some("tok-o1")),
        event(ACME, 103, "auth.failure", "", None),
        event(ACME, 104, "stack.create", "alice", None),
        event(ACME, 105, "team.delete", "bob", None),
    ]
}

fn query(org_id: &str) -> AuditQuery {
    AuditQuery {
        org_id: org_id.to_owned(),
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
    for (i, e) in acme_events().iter().enumerate() {
        tx.insert_audit(e).await.expect("insert audit");
        if i == 2 {
            let other = event(GLOBEX, 102, "org.create", "alice", None);
            tx.insert_audit(&other).await.expect("insert audit");
        }
    }
    tx.commit().await.expect("commit audit");

    let all = list(store, &query(ACME)).await;
    let mut expected = acme_events();
    expected.reverse();
    let got: Vec<_> = all.iter().map(|e| e.event.clone()).collect();
    assert_eq!(got, expected, "newest first, every field roundtrips");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "ids descend");

    // Keyset pages of two.
    let mut paged = Vec::new();
    let mut q = AuditQuery {
        limit: 2,
        ..query(ACME)
    };
    loop {
        let page = list(store, &q).await;
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        q.before_id = Some(last.id);
        paged.extend(page);
    }
    assert_eq!(paged, all, "before_id pages are exclusive and complete");

    let window = AuditQuery {
        start_time: Some(101),
        end_time: Some(103),
        ..query(ACME)
    };
    assert_eq!(
        stamps(store, &window).await,
        [103, 102, 101],
        "bounds inclusive"
    );
    let from = AuditQuery {
        start_time: Some(104),
        ..query(ACME)
    };
    assert_eq!(stamps(store, &from).await, [105, 104]);
    let until = AuditQuery {
        end_time: Some(100),
        ..query(ACME)
    };
    assert_eq!(stamps(store, &until).await, [100]);
    let events = AuditQuery {
        events: vec!["stack.create".to_owned(), "team.delete".to_owned()],
        ..query(ACME)
    };
    assert_eq!(stamps(store, &events).await, [105, 104, 102]);
    let bob = AuditQuery {
        user_login: Some("bob".to_owned()),
        ..query(ACME)
    };
    assert_eq!(stamps(store, &bob).await, [105, 102]);
    let by_token = AuditQuery {
        token_id: Some("tok-o1".to_owned()),
        ..query(ACME)
    };
    assert_eq!(stamps(store, &by_token).await, [102]);
    let combined = AuditQuery {
        events: vec!["stack.create".to_owned()],
        user_login: Some("alice".to_owned()),
        ..query(ACME)
    };
    assert_eq!(stamps(store, &combined).await, [104]);
    let below = AuditQuery {
        before_id: Some(all[0].id),
        ..events.clone()
    };
    assert_eq!(
        stamps(store, &below).await,
        [104, 102],
        "cursor combines with filters"
    );
    let first = AuditQuery {
        limit: 1,
        ..query(ACME)
    };
    assert_eq!(stamps(store, &first).await, [105]);

    let globex = list(store, &query(GLOBEX)).await;
    assert_eq!(globex.len(), 1, "events are per org");
    assert_eq!(globex[0].event.org_id, GLOBEX);
    assert!(list(store, &query("o-nope")).await.is_empty());
}
