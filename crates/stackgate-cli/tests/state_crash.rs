//! A `kill -9` of the server while a checkpoint is being uploaded: after a restart on the
//! same database the previous checkpoint is the stack's state, intact, and the update
//! can be cancelled, after which the stack takes a new update.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{fresh, http_as, Server};
use serde_json::{json, Value};

fn deployment(resources: usize) -> Value {
    let stack_urn = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev";
    let mut list = vec![json!({"urn": stack_urn, "type": "pulumi:pulumi:Stack", "custom": false})];
    for i in 0..resources {
        list.push(json!({
            "urn": format!("urn:pulumi:dev::proj::my:index:Thing::t{i}"),
            "type": "my:index:Thing", "custom": false, "parent": stack_urn,
            "outputs": {"padding": "x".repeat(200)},
        }));
    }
    json!({"manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
           "resources": list})
}

#[test]
fn a_crash_during_a_checkpoint_keeps_the_previous_one_and_the_update_can_be_cancelled() {
    let (_dir, db, alice, mut server) = fresh("crash", &[]);
    server.create_stack(&alice, "proj", "dev");
    let request = json!({"name": "proj", "runtime": "yaml", "main": "", "description": "",
        "options": {"dryRun": false}, "config": {}, "metadata": {"message": "", "environment": {}}});
    let (st, created) = server.post("/api/stacks/acme/proj/dev/update", &alice, &request);
    assert_eq!(st, 200, "{created}");
    let id = created["updateID"].as_str().expect("updateID").to_string();
    let update = format!("/api/stacks/acme/proj/dev/update/{id}");
    let (st, started) = server.post(&update, &alice, &json!({"tags": {}}));
    assert_eq!(st, 200, "{started}");
    let lease = format!("update-token {}", started["token"].as_str().expect("token"));

    // A first checkpoint: one stack and three resources.
    let first = json!({"isInvalid": false, "version": 3, "deployment": deployment(3)});
    let (st, body) = http_as(
        &server.addr,
        "PATCH",
        &format!("{update}/checkpoint"),
        Some(&lease),
        Some(&first),
    );
    assert_eq!(st, 204, "{body}");

    // The second one is cut off: half of a 10 MB body, then the server dies.
    let second = json!({"isInvalid": false, "version": 3, "deployment": deployment(40_000)});
    let payload = second.to_string();
    assert!(payload.len() > 8_000_000, "{}", payload.len());
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    let head = format!(
        "PATCH {update}/checkpoint HTTP/1.1\r\nHost: {}\r\nAuthorization: {lease}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        payload.len()
    );
    conn.write_all(head.as_bytes()).expect("send head");
    conn.write_all(&payload.as_bytes()[..payload.len() / 2])
        .expect("send half the body");
    conn.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));
    server.kill_now();
    drop(conn);

    // Restarted on the same database: the first checkpoint is the state, intact.
    let server = Server::start(&db, &[]);
    server.wait_ready(Duration::from_secs(30));
    let (st, exported) = server.get("/api/stacks/acme/proj/dev/export", &alice);
    assert_eq!(st, 200, "{exported}");
    assert_eq!(exported["version"], 3);
    assert_eq!(
        exported["deployment"], first["deployment"],
        "the previous checkpoint, intact"
    );
    let (_, stack) = server.get("/api/stacks/acme/proj/dev", &alice);
    assert_eq!(
        stack["activeUpdate"],
        id.as_str(),
        "the update still holds the stack"
    );

    // It can be cancelled; then the stack takes a new update.
    let (st, body) = server.post(&format!("{update}/cancel"), &alice, &json!({}));
    assert_eq!(st, 204, "{body}");
    let (st, body) = http_as(
        &server.addr,
        "PATCH",
        &format!("{update}/checkpoint"),
        Some(&lease),
        Some(&first),
    );
    assert_eq!(st, 409, "a checkpoint after cancel: {body}");
    let (st, created) = server.post("/api/stacks/acme/proj/dev/update", &alice, &request);
    assert_eq!(st, 200, "{created}");
    let next = created["updateID"].as_str().expect("updateID");
    let (st, started) = server.post(
        &format!("/api/stacks/acme/proj/dev/update/{next}"),
        &alice,
        &json!({"tags": {}}),
    );
    assert_eq!(st, 200, "{started}");
    assert_eq!(started["version"], 2, "{started}");
}
