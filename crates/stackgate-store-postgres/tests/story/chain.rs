//! Many writers on several replicas appending to one org's audit chain at once.
//!
//! Each append is its own transaction doing what the core service does: read the head
//! (`audit_head`, which locks it), compute the link with `chain::next_link`, insert,
//! commit. Without the lock two writers would read the same head and the second insert
//! would hit the `(org_id, seq)` unique constraint (or, worse, fork the chain); with it
//! the result must be one unbroken chain 1..=N.

use std::collections::BTreeSet;

use stackgate_core::chain::{next_link, Verifier};
use stackgate_store::{AuditActor, NewAuditEvent, Store, StoreResult};
use stackgate_store_postgres::PostgresStore;

use stackgate_store_testkit::pg::TestSchema;

const TASKS: usize = 8;
const APPENDS: usize = 25;
const ORG: &str = "o-race";

fn event(task: usize, i: usize) -> NewAuditEvent {
    NewAuditEvent {
        org_id: ORG.into(),
        timestamp: 1_000 + i64::try_from(i).expect("small"),
        event: "stack.create".to_owned(),
        description: format!("task {task} append {i}"),
        actor: AuditActor {
            login: format!("writer-{task}"),
            ..AuditActor::default()
        },
        source_ip: "192.0.2.1".to_owned(),
        req_org_admin: false,
        req_stack_admin: false,
        auth_failure: false,
    }
}

async fn append(store: &PostgresStore, e: &NewAuditEvent) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    let head = tx.audit_head(&e.org_id).await?;
    // Give the other writers every chance to read the same head.
    tokio::task::yield_now().await;
    tx.insert_audit(e, &next_link(&head, e)).await?;
    tx.commit().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_make_one_unbroken_chain() {
    let Some(db) = TestSchema::create("concurrent_appends_make_one_unbroken_chain").await else {
        return;
    };
    let replicas = [db.store().await, db.store().await];
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = replicas[task % replicas.len()].clone();
            tokio::spawn(async move {
                for i in 0..APPENDS {
                    append(&store, &event(task, i)).await?;
                }
                StoreResult::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("every append succeeds");
    }

    let total = i64::try_from(TASKS * APPENDS).expect("small");
    let mut tx = replicas[1].read().await.expect("read");
    let chain = tx
        .audit_chain(&ORG.into(), 0, u32::try_from(total + 10).expect("small"))
        .await
        .expect("chain");
    let seqs: Vec<i64> = chain.iter().map(|e| e.link.seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "no duplicates, no gaps"
    );
    let mut verifier = Verifier::new(0, "");
    for e in &chain {
        verifier.check(e).expect("every link verifies");
    }
    let written: BTreeSet<&str> = chain.iter().map(|e| e.event.description.as_str()).collect();
    assert_eq!(written.len(), TASKS * APPENDS, "every append landed once");
    let head = tx.audit_head(&ORG.into()).await.expect("head");
    let last = chain.last().expect("events");
    assert_eq!(
        (head.seq, &head.hash),
        (total, &last.link.hash),
        "head at the end"
    );
    drop(tx);
    for store in &replicas {
        store.close().await;
    }
}
