//! Story chapter: access tokens of every kind, name uniqueness across kinds and deleted
//! tokens, listing, deletion, and `delete_team` revoking its team's tokens.

use stackgate_store::{OrgId, Store, TeamId, TeamRole, Token, TokenKind, TokenOwner, UserId};

use super::stacks::WEB_PROD;
use super::{
    assert_conflict, assert_not_found, attempt, begin, read, ACME, ALICE, BOB, DEV, GLOBEX, OPS,
};

fn token(id: &str, kind: TokenKind, name: &str, owner: &str, created: i64) -> Token {
    let (user_id, org_id, team_id) = match kind {
        TokenKind::Personal => (Some(owner), None, None),
        TokenKind::Organization => (None, Some(owner), None),
        // Team tokens carry their org too; every team here is in acme.
        TokenKind::Team => (None, Some(ACME.as_str()), Some(owner)),
    };
    Token {
        id: id.into(),
        kind,
        hash: format!("hash-{id}"),
        name: name.to_owned(),
        description: format!("{name} token"),
        user_id: user_id.map(UserId::from),
        org_id: org_id.map(OrgId::from),
        team_id: team_id.map(TeamId::from),
        admin: false,
        created_by: "alice".to_owned(),
        created,
        expires: 0,
        last_used: 0,
        deleted_at: None,
    }
}

fn all_tokens() -> Vec<Token> {
    use TokenKind::*;
    vec![
        token("tok-p1", Personal, "", ALICE.as_str(), 5_000),
        Token {
            admin: true,
            expires: 9_999,
            ..token("tok-p2", Personal, "", ALICE.as_str(), 5_001)
        },
        token("tok-p3", Personal, "", BOB.as_str(), 5_002),
        // Same second as p2: the id breaks the tie.
        token("tok-p4", Personal, "", ALICE.as_str(), 5_001),
        token("tok-o1", Organization, "ci", ACME.as_str(), 5_003),
        token("tok-o2", Organization, "nightly", ACME.as_str(), 5_004),
        token("tok-g1", Organization, "ci", GLOBEX.as_str(), 5_004),
        token("tok-t1", Team, "deploy", OPS.as_str(), 5_005),
        token("tok-t2", Team, "old", OPS.as_str(), 5_006),
        token("tok-t3", Team, "build", DEV.as_str(), 5_007),
    ]
}

async fn list(store: &dyn Store, owner: TokenOwner) -> Vec<String> {
    let tokens = read(store)
        .await
        .list_tokens(&owner)
        .await
        .expect("list tokens");
    tokens.into_iter().map(|t| t.id.into()).collect()
}

async fn by_id(store: &dyn Store, id: &str) -> Token {
    let found = read(store)
        .await
        .token_by_id(&id.into())
        .await
        .expect("token by id");
    found.unwrap_or_else(|| panic!("token {id} exists"))
}

async fn assert_token_conflict(store: &dyn Store, token: Token, what: &str) {
    assert_conflict(
        attempt(store, async |tx| tx.insert_token(&token).await).await,
        what,
    );
}

pub(crate) async fn tokens(store: &dyn Store) {
    let mut tx = begin(store).await;
    for t in all_tokens() {
        tx.insert_token(&t).await.expect("insert token");
    }
    tx.commit().await.expect("commit tokens");

    let mut tx = read(store).await;
    for t in all_tokens() {
        assert_eq!(
            tx.token_by_hash(&t.hash).await.expect("by hash").as_ref(),
            Some(&t)
        );
        assert_eq!(
            tx.token_by_id(&t.id).await.expect("by id").as_ref(),
            Some(&t)
        );
    }
    assert_eq!(tx.token_by_hash("hash-nope").await.expect("by hash"), None);
    assert_eq!(
        tx.token_by_id(&"tok-nope".into()).await.expect("by id"),
        None
    );
    drop(tx);

    use TokenKind::*;
    let dup_hash = Token {
        hash: "hash-tok-p1".to_owned(),
        ..token("tok-x1", Personal, "", BOB.as_str(), 1)
    };
    let org_named_like_team = token("tok-x2", Organization, "deploy", ACME.as_str(), 1);
    let team_named_like_org = token("tok-x3", Team, "ci", DEV.as_str(), 1);
    for (clash, what) in [
        (dup_hash, "duplicate hash"),
        (org_named_like_team, "org token named like a team token"),
        (team_named_like_org, "team token named like an org token"),
    ] {
        assert_token_conflict(store, clash, what).await;
    }

    assert_eq!(
        list(store, TokenOwner::User(ALICE.clone())).await,
        ["tok-p4", "tok-p2", "tok-p1"]
    );
    assert_eq!(list(store, TokenOwner::User(BOB.clone())).await, ["tok-p3"]);
    assert_eq!(
        list(store, TokenOwner::Org(ACME.clone())).await,
        ["tok-o2", "tok-o1"],
        "org kind only"
    );
    assert_eq!(
        list(store, TokenOwner::Team(OPS.clone())).await,
        ["tok-t2", "tok-t1"]
    );

    let mut tx = begin(store).await;
    tx.touch_token(&"tok-o1".into(), 6_000)
        .await
        .expect("touch");
    tx.touch_token(&"tok-nope".into(), 6_000)
        .await
        .expect("touching an unknown token is harmless");
    tx.mark_token_deleted(&"tok-o2".into(), 6_100)
        .await
        .expect("delete token");
    tx.mark_token_deleted(&"tok-t2".into(), 6_200)
        .await
        .expect("delete token");
    tx.commit().await.expect("commit token changes");

    assert_eq!(by_id(store, "tok-o1").await.last_used, 6_000);
    assert_eq!(
        list(store, TokenOwner::Org(ACME.clone())).await,
        ["tok-o1"],
        "deleted excluded"
    );
    let deleted = by_id(store, "tok-o2").await;
    assert_eq!(
        deleted.deleted_at,
        Some(6_100),
        "lookups return deleted tokens"
    );
    let by_hash = read(store)
        .await
        .token_by_hash("hash-tok-o2")
        .await
        .expect("by hash");
    assert_eq!(by_hash, Some(deleted));
    assert_not_found(
        attempt(store, async |tx| {
            tx.mark_token_deleted(&"tok-o2".into(), 7_000).await
        })
        .await,
        "deleting a deleted token",
    );
    assert_not_found(
        attempt(store, async |tx| {
            tx.mark_token_deleted(&"tok-nope".into(), 7_000).await
        })
        .await,
        "deleting an unknown token",
    );
    let reuse_deleted_name = token("tok-x4", Organization, "nightly", ACME.as_str(), 1);
    assert_token_conflict(store, reuse_deleted_name, "name of a deleted org token").await;

    // Deleting a team revokes its live tokens (keeping earlier deletion times) and
    // drops its members and grants.
    let mut tx = begin(store).await;
    tx.delete_team(&OPS, 7_000).await.expect("delete team");
    tx.commit().await.expect("commit team delete");
    let mut tx = read(store).await;
    assert_eq!(tx.team_by_id(&OPS).await.expect("team"), None);
    assert_eq!(
        tx.team_role(&OPS, &BOB).await.expect("role"),
        None::<TeamRole>
    );
    assert!(tx.team_members(&OPS).await.expect("members").is_empty());
    assert!(tx.team_stacks(&OPS).await.expect("grants").is_empty());
    assert!(tx
        .user_teams(&ACME, &BOB)
        .await
        .expect("user teams")
        .is_empty());
    let left: Vec<_> = tx
        .stack_teams(&WEB_PROD.into())
        .await
        .expect("stack teams")
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    assert_eq!(
        left,
        [(*DEV).clone()],
        "only the other team's grant remains"
    );
    drop(tx);
    let t1 = by_id(store, "tok-t1").await;
    assert_eq!((t1.deleted_at, t1.team_id), (Some(7_000), None));
    let t2 = by_id(store, "tok-t2").await;
    assert_eq!((t2.deleted_at, t2.team_id), (Some(6_200), None));
    assert_eq!(
        by_id(store, "tok-t3").await.deleted_at,
        None,
        "other teams' tokens untouched"
    );
    assert!(list(store, TokenOwner::Team(OPS.clone())).await.is_empty());
    assert_eq!(list(store, TokenOwner::Team(DEV.clone())).await, ["tok-t3"]);
    let reuse_team_token_name = token("tok-x5", Organization, "deploy", ACME.as_str(), 1);
    assert_token_conflict(
        store,
        reuse_team_token_name,
        "name of a deleted team's token",
    )
    .await;
    assert_not_found(
        attempt(store, async |tx| tx.delete_team(&OPS, 8_000).await).await,
        "deleting an unknown team",
    );
}
