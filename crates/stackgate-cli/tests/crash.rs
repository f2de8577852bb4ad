//! `kill -9` of the server during sustained writes: after a restart on the same SQLite
//! database, every change that was acknowledged is there, nothing is half-written, and
//! the org's audit chain verifies.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fresh, http, run, Server};
use serde_json::json;

#[test]
fn every_acknowledged_change_survives_a_kill_9() {
    let (_dir, db, alice, mut server) = fresh("crash", &[]);
    server.create_stack(&alice, "proj", "dev");

    // Two writers: one sets tags, one creates stacks; each remembers what was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let tags = Arc::new(Mutex::new(Vec::new()));
    let stacks = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (addr, token, stop) = (server.addr.clone(), alice.clone(), stop.clone());
            let (tags, stacks) = (tags.clone(), stacks.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    if w == 0 {
                        let body = json!({"name": format!("t{i}"), "value": format!("v{i}")});
                        let path = "/api/stacks/acme/proj/dev/tags";
                        if http(&addr, "POST", path, Some(&token), Some(&body)).0 == 204 {
                            tags.lock().expect("tags").push(i);
                        }
                    } else {
                        let body = json!({"stackName": format!("s{i}")});
                        if http(
                            &addr,
                            "POST",
                            "/api/stacks/acme/proj",
                            Some(&token),
                            Some(&body),
                        )
                        .0 == 200
                        {
                            stacks.lock().expect("stacks").push(i);
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill_now();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let tags = tags.lock().expect("tags").clone();
    let stacks = stacks.lock().expect("stacks").clone();
    assert!(
        tags.len() > 5 && stacks.len() > 5,
        "too few writes: {} {}",
        tags.len(),
        stacks.len()
    );

    let server = Server::start(&db, &[]);
    server.wait_ready(Duration::from_secs(30));
    let (st, stack) = server.get("/api/stacks/acme/proj/dev", &alice);
    assert_eq!(st, 200, "{stack}");
    for i in &tags {
        assert_eq!(
            stack["tags"][format!("t{i}")],
            format!("v{i}"),
            "acknowledged tag t{i} is missing after the crash"
        );
    }
    for i in &stacks {
        let (st, _) = server.get(&format!("/api/stacks/acme/proj/s{i}"), &alice);
        assert_eq!(
            st, 200,
            "acknowledged stack s{i} is missing after the crash"
        );
    }
    let (st, body) = server.get("/api/orgs/acme/auditlogs/verify", &alice);
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    drop(server);
    let (code, out) = run(&["audit", "verify", "--org", "acme", "--database", &db]);
    assert_eq!(code, 0, "{out}");
}
