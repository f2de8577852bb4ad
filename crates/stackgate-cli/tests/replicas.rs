//! Several real `stackgate serve` replicas on one PostgreSQL database (a schema of its
//! own per test): revocations reach every replica within a second, concurrent creations
//! of one name yield one success and 409s, the audit chain stays whole under concurrent
//! writers, `lastUsed` is recorded by the replica that saw the use, and replicas starting
//! together on an empty schema migrate it once.
//!
//! Needs `STACKGATE_TEST_POSTGRES_URL`; every test says it is skipped without it.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::pg::TestSchema;
use common::{create_user, init, time_until, Server};
use serde_json::{json, Value};

/// How quickly another replica must refuse a revoked credential.
const PROPAGATION_BOUND: Duration = Duration::from_secs(1);

fn schema(test: &str) -> Option<TestSchema> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(TestSchema::create(test))
}

/// `n` replicas on the schema, all ready.
fn replicas(db: &TestSchema, n: usize) -> Vec<Server> {
    let url = db.url();
    let servers: Vec<Server> = (0..n).map(|_| Server::start(&url, &[])).collect();
    for s in &servers {
        s.wait_ready(Duration::from_secs(30));
    }
    servers
}

#[track_caller]
fn ok(st: u16, body: &Value, what: &str) {
    assert!((200..300).contains(&st), "{what}: {st} {body}");
}

#[test]
fn revocations_reach_every_replica_within_a_second() {
    let Some(db) = schema("revocations_reach_every_replica_within_a_second") else {
        return;
    };
    let url = db.url();
    let alice = init(&url);
    let bob = create_user(&url, "bob");
    let servers = replicas(&db, 3);
    let (a, b, c) = (&servers[0], &servers[1], &servers[2]);

    let (st, body) = a.post(
        "/api/orgs/acme/members/bob",
        &alice,
        &json!({"role": "member"}),
    );
    ok(st, &body, "add bob");
    let (st, body) = a.post(
        "/api/orgs/acme/tokens",
        &alice,
        &json!({"name": "ci", "description": "", "admin": false, "expires": 0}),
    );
    ok(st, &body, "create org token");
    let ci = body["tokenValue"]
        .as_str()
        .expect("token value")
        .to_string();
    let ci_id = body["id"].as_str().expect("token id").to_string();
    let (st, body) = a.post(
        "/api/stacks/acme/proj",
        &alice,
        &json!({"stackName": "dev"}),
    );
    ok(st, &body, "create stack");
    let (st, body) = a.post(
        "/api/orgs/acme/teams/pulumi",
        &alice,
        &json!({"name": "devs", "displayName": "devs", "description": ""}),
    );
    ok(st, &body, "create team");
    let grant = json!({"addStackPermission": {"projectName": "proj", "stackName": "dev", "permission": 102}});
    let (st, body) = a.patch("/api/orgs/acme/teams/devs", &alice, &grant);
    ok(st, &body, "grant devs write on the stack");
    let (st, body) = a.post(
        "/api/orgs/acme/teams/devs/tokens",
        &alice,
        &json!({"name": "devs-ci", "description": "", "expires": 0}),
    );
    ok(st, &body, "create team token");
    let team_token = body["tokenValue"]
        .as_str()
        .expect("token value")
        .to_string();

    // 1. An org token deleted through A is refused (401) by B and C.
    let mut worst = Duration::ZERO;
    for s in [b, c] {
        for _ in 0..2 {
            let (st, body) = s.get("/api/orgs/acme", &ci);
            ok(st, &body, "org token before revocation (warms the cache)");
        }
    }
    let (st, body) = a.delete(&format!("/api/orgs/acme/tokens/{ci_id}"), &alice);
    ok(st, &body, "delete the org token");
    for s in [b, c] {
        let took = time_until(PROPAGATION_BOUND, || s.get("/api/orgs/acme", &ci).0 == 401)
            .expect("a revoked token still accepted by another replica after 1 s");
        worst = worst.max(took);
    }

    // 2. A member removed through A no longer sees the org on B (404).
    for _ in 0..2 {
        let (st, body) = b.get("/api/orgs/acme", &bob);
        ok(st, &body, "bob before removal");
        let (st, body) = b.get("/api/user", &bob);
        ok(st, &body, "bob's /api/user before removal");
        assert_eq!(
            body["organizations"].as_array().map(Vec::len),
            Some(1),
            "{body}"
        );
    }
    let (st, body) = a.delete("/api/orgs/acme/members/bob", &alice);
    ok(st, &body, "remove bob");
    let took = time_until(PROPAGATION_BOUND, || b.get("/api/orgs/acme", &bob).0 == 404)
        .expect("a removed member still sees the org on another replica after 1 s");
    worst = worst.max(took);
    // The cached /api/user facts (memberships) are refreshed too.
    let took = time_until(PROPAGATION_BOUND, || {
        b.get("/api/user", &bob).1["organizations"] == json!([])
    })
    .expect("a removed member still listed in the org on another replica after 1 s");
    worst = worst.max(took);

    // 3. A team grant (write) removed through A no longer lets the team token write the
    //    stack's tags on C (403; reading stays allowed by the org's default permission).
    let tags = |v: &str| json!({"env": v});
    for v in ["one", "two"] {
        let (st, body) = c.patch("/api/stacks/acme/proj/dev/tags", &team_token, &tags(v));
        ok(st, &body, "team token writes tags through its grant");
    }
    let remove = json!({"removeStack": {"projectName": "proj", "stackName": "dev"}});
    let (st, body) = a.patch("/api/orgs/acme/teams/devs", &alice, &remove);
    ok(st, &body, "remove the grant");
    let took = time_until(PROPAGATION_BOUND, || {
        c.patch(
            "/api/stacks/acme/proj/dev/tags",
            &team_token,
            &tags("three"),
        )
        .0 == 403
    })
    .expect("a removed grant still honoured by another replica after 1 s");
    worst = worst.max(took);
    println!("slowest propagation to another replica: {worst:?}");
}

/// Creates the same name through every replica at once, `rounds` times: exactly one
/// success per name, every other answer 409.
fn race(
    servers: &[Server],
    rounds: usize,
    request: impl Fn(&Server, usize) -> (u16, Value) + Sync,
) {
    for round in 0..rounds {
        let barrier = Barrier::new(servers.len() * 2);
        let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let handles: Vec<_> = servers
                .iter()
                .chain(servers.iter())
                .map(|s| {
                    let barrier = &barrier;
                    let request = &request;
                    scope.spawn(move || {
                        barrier.wait();
                        request(s, round)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("request thread"))
                .collect()
        });
        let wins = statuses
            .iter()
            .filter(|(st, _)| (200..300).contains(st))
            .count();
        assert_eq!(wins, 1, "round {round}: one success: {statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|(st, _)| (200..300).contains(st) || *st == 409),
            "round {round}: the others are 409: {statuses:?}"
        );
    }
}

#[test]
fn concurrent_creation_of_one_name_yields_one_success_and_409s() {
    let Some(db) = schema("concurrent_creation_of_one_name_yields_one_success") else {
        return;
    };
    let alice = init(&db.url());
    let servers = replicas(&db, 3);
    race(&servers, 5, |s, i| {
        s.post(
            "/api/orgs/acme/tokens",
            &alice,
            &json!({"name": format!("tok-{i}"), "description": "", "admin": false, "expires": 0}),
        )
    });
    race(&servers, 5, |s, i| {
        s.post(
            "/api/orgs/acme/teams/pulumi",
            &alice,
            &json!({"name": format!("team-{i}"), "displayName": "", "description": ""}),
        )
    });
    race(&servers, 5, |s, i| {
        s.post(
            "/api/stacks/acme/proj",
            &alice,
            &json!({"stackName": format!("stack-{i}")}),
        )
    });
}

#[test]
fn the_audit_chain_stays_whole_under_writers_on_several_replicas() {
    let Some(db) = schema("the_audit_chain_stays_whole_under_writers_on_several") else {
        return;
    };
    let alice = init(&db.url());
    let servers = replicas(&db, 3);
    let verify = |s: &Server| {
        let (st, body) = s.get("/api/orgs/acme/auditlogs/verify", &alice);
        ok(st, &body, "verify");
        assert_eq!(body["ok"], json!(true), "chain verifies: {body}");
        body["checkedEvents"].as_u64().expect("checkedEvents")
    };
    let before = verify(&servers[0]);

    const WRITERS_PER_REPLICA: usize = 3;
    const WRITES_EACH: usize = 8;
    std::thread::scope(|scope| {
        for (r, s) in servers.iter().enumerate() {
            for w in 0..WRITERS_PER_REPLICA {
                let alice = &alice;
                scope.spawn(move || {
                    for i in 0..WRITES_EACH {
                        let (st, body) = s.post(
                            "/api/orgs/acme/tokens",
                            alice,
                            &json!({"name": format!("t-{r}-{w}-{i}"), "description": "",
                                    "admin": false, "expires": 0}),
                        );
                        ok(st, &body, "create token");
                    }
                });
            }
        }
    });
    let created = servers.len() * WRITERS_PER_REPLICA * WRITES_EACH;
    // Every replica verifies the same unbroken chain with one event per write.
    for s in &servers {
        assert_eq!(verify(s), before + created as u64, "no event lost");
    }
}

#[test]
fn last_used_is_recorded_for_a_token_used_on_one_replica_only() {
    let Some(db) = schema("last_used_is_recorded_for_a_token_used_on_one_replica") else {
        return;
    };
    let alice = init(&db.url());
    let servers = replicas(&db, 2);
    let (a, b) = (&servers[0], &servers[1]);
    let (st, body) = a.post(
        "/api/orgs/acme/tokens",
        &alice,
        &json!({"name": "used-on-b", "description": "", "admin": false, "expires": 0}),
    );
    ok(st, &body, "create token");
    let value = body["tokenValue"].as_str().expect("value").to_string();
    let id = body["id"].as_str().expect("id").to_string();
    let last_used = || {
        let (st, body) = a.get("/api/orgs/acme/tokens", &alice);
        ok(st, &body, "list tokens");
        body["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .find(|t| t["id"] == id.as_str())
            .map(|t| t["lastUsed"].as_i64().unwrap_or(0))
            .expect("token listed")
    };
    assert_eq!(last_used(), 0, "never used yet");
    for _ in 0..3 {
        let (st, body) = b.get("/api/orgs/acme", &value);
        ok(st, &body, "use on B");
    }
    assert!(last_used() > 0, "A sees the use B recorded");
}

#[test]
fn replicas_starting_together_migrate_an_empty_schema_once() {
    let Some(db) = schema("replicas_starting_together_migrate_an_empty_schema") else {
        return;
    };
    let url = db.url();
    let barrier = Arc::new(Barrier::new(3));
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let barrier = barrier.clone();
                let url = &url;
                scope.spawn(move || {
                    barrier.wait();
                    Server::start(url, &[])
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("start"))
            .collect()
    });
    for s in &servers {
        s.wait_ready(Duration::from_secs(30));
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let applied: i64 = runtime.block_on(async {
        let pool = db.raw().await;
        let (applied,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await
            .expect("read the migrations table");
        pool.close().await;
        applied
    });
    // `version` is the table's key, so counting rows per version proves nothing; count
    // them against the migration files instead.
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../stackgate-store-postgres/migrations"
    ))
    .expect("the migrations folder")
    .filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
    })
    .count();
    assert_eq!(applied, files as i64, "every migration applied, once");
    // And all of them serve the same database.
    let alice = init(&url);
    for s in &servers {
        let (st, body) = s.get("/api/user", &alice);
        ok(st, &body, "every replica knows alice");
    }
}
