//! The state backend as the Pulumi CLI drives it: the body of `POST S/update`, creating
//! and starting updates (each asserts success), a lease as a [`Who`], checkpoint bodies.

use serde_json::{json, Value};

use super::{assert_ok, TestApp, Who};

/// A deployment with one resource, the stack itself (the text a checkpoint carries).
pub const ONE_RESOURCE: &str = r#"{"manifest":{"time":"2026-01-01T00:00:00Z","magic":"","version":""},"resources":[{"urn":"urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev","type":"pulumi:pulumi:Stack"}]}"#;

/// The body of `POST S/{update,preview,refresh,destroy}` as the CLI sends it.
pub fn update_request(dry_run: bool) -> Value {
    json!({
        "name": "proj",
        "runtime": "yaml",
        "main": "",
        "description": "",
        "options": {"dryRun": dry_run},
        "config": {},
        "metadata": {"message": "m", "environment": {}},
    })
}

/// `Authorization: update-token <lease>`: the credentials of the lease calls.
pub fn lease(value: &str) -> Who {
    Who::Header(format!("update-token {value}"))
}

/// `PATCH U/checkpoint`'s body around a deployment's text, which is kept as it is.
pub fn checkpoint_body(deployment: &str) -> Vec<u8> {
    format!(r#"{{"isInvalid":false,"version":3,"deployment":{deployment}}}"#).into_bytes()
}

/// What `GET S/export` answers for a deployment saved with schema version 3: the text
/// the CLI's checkpoint deltas are edits of.
pub fn export_of(deployment: &str) -> String {
    format!(r#"{{"version":3,"deployment":{deployment}}}"#)
}

/// A `PATCH U/checkpointdelta` body: `edits` (a JSON array of
/// `{"Span":{"start":{"offset"},"end":{"offset"}},"NewText"}`) of the text of the last
/// checkpoint, whose deployment was `base`, with the hash of the result the CLI sends.
pub fn delta_request(base: &str, edits: &str, sequence: i64) -> Value {
    use sha2::{Digest, Sha256};
    let edits: Value = serde_json::from_str(edits).expect("edits are JSON");
    let mut text = export_of(base).into_bytes();
    let mut list: Vec<&Value> = edits.as_array().expect("edits are a list").iter().collect();
    // Applied back to front, so that each edit's offsets still address the base text.
    list.reverse();
    for e in list {
        let at = |point: &str| {
            usize::try_from(e["Span"][point]["offset"].as_u64().expect("an offset"))
                .expect("a small offset")
        };
        let new = e["NewText"].as_str().expect("NewText").as_bytes();
        text.splice(at("start")..at("end"), new.iter().copied());
    }
    json!({
        "version": 3,
        "checkpointHash": hex::encode(Sha256::digest(&text)),
        "sequenceNumber": sequence,
        "deploymentDelta": edits,
    })
}

/// A started update: its id, its lease and the stack version it writes.
#[derive(Clone, Debug)]
pub struct Started {
    pub id: String,
    pub lease: String,
    pub version: i64,
    /// `S/update/{id}`: the update's path.
    pub path: String,
}

impl Started {
    /// The lease as request credentials.
    pub fn who(&self) -> Who {
        lease(&self.lease)
    }
}

impl TestApp {
    /// `POST {stack}/{kind}` (kind: update, preview, refresh or destroy) with the CLI's
    /// body; the new update's id.
    pub async fn create_update_as(&self, who: &Who, stack: &str, kind: &str) -> String {
        let body = self
            .post_ok(
                &format!("{stack}/{kind}"),
                who.clone(),
                update_request(false),
                &format!("create a {kind} of {stack}"),
            )
            .await;
        body["updateID"]
            .as_str()
            .unwrap_or_else(|| panic!("updateID in {body}"))
            .to_string()
    }

    /// `POST {stack}/update/{id}` (start): the lease.
    pub async fn start_update_as(&self, who: &Who, stack: &str, id: &str) -> Started {
        let path = format!("{stack}/update/{id}");
        let body = self
            .post_ok(&path, who.clone(), json!({"tags": {}}), "start an update")
            .await;
        Started {
            id: id.to_string(),
            lease: body["token"]
                .as_str()
                .unwrap_or_else(|| panic!("token in {body}"))
                .to_string(),
            version: body["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("version in {body}")),
            path,
        }
    }

    /// Creates and starts an update of `kind` on `stack`.
    pub async fn begin_update_as(&self, who: &Who, stack: &str, kind: &str) -> Started {
        let id = self.create_update_as(who, stack, kind).await;
        self.start_update_as(who, stack, &id).await
    }

    /// `PATCH {update}/checkpoint` of `deployment` with the update's lease.
    pub async fn checkpoint(&self, update: &Started, deployment: &str) -> (u16, Value) {
        self.call_raw(
            "PATCH",
            &format!("{}/checkpoint", update.path),
            update.who(),
            Some(checkpoint_body(deployment)),
        )
        .await
    }

    /// Saves `deployment` as the update's checkpoint (must answer 204).
    pub async fn checkpoint_ok(&self, update: &Started, deployment: &str) {
        let (st, body) = self.checkpoint(update, deployment).await;
        assert_eq!(st, 204, "checkpoint of {}: {body}", update.path);
    }

    /// Ends the update with `status` (must answer 204).
    pub async fn complete_ok(&self, update: &Started, status: &str) {
        let (st, body) = self
            .post(
                &format!("{}/complete", update.path),
                update.who(),
                json!({"status": status}),
            )
            .await;
        assert_eq!(st, 204, "complete {} as {status}: {body}", update.path);
    }
}
