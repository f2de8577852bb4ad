//! Story chapter: console sessions, password hashes, and the whole-installation reads
//! used to copy a database (every user, every token, the audit head).

use stackgate_store::{AuditHead, Session, Store, UserId};

use super::{assert_not_found, attempt, begin, read, ACME, ALICE, BOB};

fn session(hash: &str, user_id: &UserId, expires: i64) -> Session {
    Session {
        hash: hash.to_owned(),
        user_id: user_id.clone(),
        csrf_token: format!("csrf-{hash}"),
        created: 1_000,
        last_seen: 1_000,
        expires,
    }
}

pub(crate) async fn sessions_and_passwords(store: &dyn Store) {
    let mut tx = begin(store).await;
    assert_eq!(
        tx.password_hash(&ALICE).await.expect("hash"),
        None,
        "no password by default"
    );
    tx.set_password_hash(&ALICE, Some("$argon2id$v=19$stand-in"))
        .await
        .expect("set password");
    tx.insert_session(&session("s1", &ALICE, 5_000))
        .await
        .expect("s1");
    tx.insert_session(&session("s2", &ALICE, 1_500))
        .await
        .expect("s2");
    tx.insert_session(&session("s3", &BOB, 5_000))
        .await
        .expect("s3");
    tx.commit().await.expect("commit sessions");

    let mut r = read(store).await;
    assert_eq!(
        r.password_hash(&ALICE).await.expect("hash").as_deref(),
        Some("$argon2id$v=19$stand-in")
    );
    assert_eq!(
        r.session_by_hash("s1").await.expect("s1"),
        Some(session("s1", &ALICE, 5_000))
    );
    assert_eq!(r.session_by_hash("nope").await.expect("none"), None);
    drop(r);
    assert_not_found(
        attempt(store, async |tx| {
            tx.set_password_hash(&"u-nobody".into(), None).await
        })
        .await,
        "password of an unknown user",
    );
    assert_not_found(
        attempt(store, async |tx| tx.touch_session("nope", 1, 2).await).await,
        "touching an unknown session",
    );

    let mut tx = begin(store).await;
    tx.touch_session("s1", 2_000, 9_000).await.expect("touch");
    assert_eq!(
        tx.delete_expired_sessions(2_000).await.expect("expire"),
        1,
        "s2 expired"
    );
    tx.commit().await.expect("commit");
    let s1 = read(store).await.session_by_hash("s1").await.expect("s1");
    assert_eq!(s1.map(|s| (s.last_seen, s.expires)), Some((2_000, 9_000)));
    assert_eq!(
        read(store).await.session_by_hash("s2").await.expect("s2"),
        None
    );

    let mut tx = begin(store).await;
    tx.insert_session(&session("s4", &ALICE, 9_000))
        .await
        .expect("s4");
    assert_eq!(
        tx.delete_user_sessions(&ALICE)
            .await
            .expect("sign out everywhere"),
        2
    );
    tx.delete_session("s3").await.expect("sign out");
    tx.set_password_hash(&ALICE, None)
        .await
        .expect("clear password");
    tx.commit().await.expect("commit");
    let mut r = read(store).await;
    for hash in ["s1", "s3", "s4"] {
        assert_eq!(r.session_by_hash(hash).await.expect("gone"), None, "{hash}");
    }
    assert_eq!(r.password_hash(&ALICE).await.expect("hash"), None);
}

/// Runs after the other chapters: reads everything back the way `stackgate copy` does.
pub(crate) async fn whole_installation(store: &dyn Store) {
    let mut r = read(store).await;
    let users = r.list_users().await.expect("users");
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    let mut sorted = logins.clone();
    sorted.sort_unstable();
    assert_eq!(logins, sorted, "ordered by login");
    assert!(users.iter().any(|u| u.id == *ALICE) && users.iter().any(|u| u.id == *BOB));

    let tokens = r.all_tokens().await.expect("tokens");
    assert!(!tokens.is_empty());
    assert!(
        tokens.iter().any(|t| t.deleted_at.is_some()),
        "deleted tokens included"
    );
    assert!(tokens
        .windows(2)
        .all(|w| (w[0].created, &w[0].id) <= (w[1].created, &w[1].id)));
    drop(r);

    let head = AuditHead {
        seq: 42,
        hash: "h42".to_owned(),
        pruned_seq: 40,
        pruned_hash: "h40".to_owned(),
    };
    let mut tx = begin(store).await;
    tx.set_audit_head(&ACME, &head).await.expect("set head");
    tx.set_audit_head(&"o-fresh".into(), &head)
        .await
        .expect("set a new head");
    tx.commit().await.expect("commit");
    assert_eq!(
        read(store).await.audit_head(&ACME).await.expect("head"),
        head
    );
    assert_eq!(
        read(store)
            .await
            .audit_head(&"o-fresh".into())
            .await
            .expect("head"),
        head
    );
}
