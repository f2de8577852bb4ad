//! The state-bearing request bodies of the Pulumi update protocol, checked before anything
//! is stored: a deployment (checkpoint, import), an engine-event batch. The deployment's
//! text is kept byte for byte as received (an export must give back exactly what was
//! saved, and delta checkpoints address its bytes); it is parsed only to be validated and
//! to count its resources.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::{CoreError, CoreResult};

/// The newest deployment schema version accepted.
pub const MAX_SCHEMA_VERSION: i64 = 4;

/// A deployment to store: `{version, features?, deployment}` of a checkpoint or import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentState {
    pub schema_version: i64,
    /// JSON array text, when the deployment declares features.
    pub features: Option<String>,
    /// The `deployment` object's text, as received.
    pub deployment: Vec<u8>,
    pub resource_count: i64,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    version: i64,
    #[serde(default, borrow)]
    features: Option<&'a RawValue>,
    #[serde(borrow)]
    deployment: Option<&'a RawValue>,
    #[serde(default, rename = "untypedDeployment", borrow)]
    untyped: Option<&'a RawValue>,
}

/// The parts of a deployment that are checked.
#[derive(Deserialize)]
struct Deployment {
    #[serde(default)]
    resources: Option<Vec<Resource>>,
}

#[derive(Deserialize)]
struct Resource {
    urn: String,
    #[serde(rename = "type")]
    kind: String,
}

fn malformed(detail: impl std::fmt::Display) -> CoreError {
    CoreError::bad_request(format!("malformed deployment: {detail}"))
}

/// Reads a checkpoint (`{isInvalid, version, features, deployment}`), a verbatim checkpoint
/// (`{version, untypedDeployment: {version, deployment}}`) or an import body
/// (`{version, features, deployment}`).
pub fn deployment_state(body: &[u8]) -> CoreResult<DeploymentState> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(malformed)?;
    if let Some(untyped) = envelope.untyped {
        // `untypedDeployment` is itself `{version, features?, deployment}`.
        return deployment_state(untyped.get().as_bytes());
    }
    let deployment = envelope
        .deployment
        .ok_or_else(|| malformed("`deployment` is required"))?;
    if !(1..=MAX_SCHEMA_VERSION).contains(&envelope.version) {
        return Err(CoreError::bad_request(format!(
            "unsupported deployment version {} (1 to {MAX_SCHEMA_VERSION} are accepted)",
            envelope.version
        )));
    }
    let features = match envelope.features {
        None => None,
        Some(raw) => {
            let list: Vec<String> = serde_json::from_str(raw.get())
                .map_err(|_| malformed("`features` must be a list of strings"))?;
            (!list.is_empty()).then(|| raw.get().to_string())
        }
    };
    let text = deployment.get();
    if !text.starts_with('{') {
        return Err(malformed("`deployment` must be an object"));
    }
    let parsed: Deployment = serde_json::from_str(text).map_err(malformed)?;
    let resources = parsed.resources.unwrap_or_default();
    if let Some(bad) = resources
        .iter()
        .find(|r| r.urn.is_empty() || r.kind.is_empty())
    {
        return Err(malformed(format!(
            "a resource has an empty urn or type ({:?})",
            bad.urn
        )));
    }
    Ok(DeploymentState {
        schema_version: envelope.version,
        features,
        deployment: text.as_bytes().to_vec(),
        resource_count: i64::try_from(resources.len()).unwrap_or(i64::MAX),
    })
}

/// The export body of a stored deployment: `{"version":N,"features":[..],"deployment":{..}}`,
/// assembled around the stored text without re-encoding it.
pub fn export_body(schema_version: i64, features: Option<&str>, deployment: &[u8]) -> Vec<u8> {
    let (head, tail) = export_frame(schema_version, features);
    let mut out = Vec::with_capacity(head.len() + deployment.len() + tail.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(deployment);
    out.extend_from_slice(tail);
    out
}

/// What goes before and after the deployment's text in an export body, so that a large
/// deployment can be sent as it is stored, without copying it into one buffer.
pub fn export_frame(schema_version: i64, features: Option<&str>) -> (Vec<u8>, &'static [u8]) {
    let mut head = format!("{{\"version\":{schema_version},");
    if let Some(f) = features {
        head.push_str("\"features\":");
        head.push_str(f);
        head.push(',');
    }
    head.push_str("\"deployment\":");
    (head.into_bytes(), b"}")
}

/// The stack a deployment's "service" secrets provider names: `(owner, project, stack)`.
pub type StackName<'a> = (&'a str, &'a str, &'a str);

/// Rewrites a deployment whose "service" secrets provider names the stack `old` so that
/// it names `new` (after a rename or transfer: the CLI decrypts through the stack the
/// deployment names, and the old name no longer exists). Only the `secrets_providers`
/// value is replaced; every other byte stays. `None` when there is nothing to change
/// (another provider, or a state imported from another stack, whose ciphertexts belong
/// to that stack).
pub fn rename_secrets_provider(
    deployment: &[u8],
    old: StackName<'_>,
    new: StackName<'_>,
) -> CoreResult<Option<Vec<u8>>> {
    let top: std::collections::BTreeMap<String, &RawValue> =
        serde_json::from_slice(deployment).map_err(malformed)?;
    let Some(raw) = top.get("secrets_providers") else {
        return Ok(None);
    };
    let mut provider: serde_json::Value = serde_json::from_str(raw.get()).map_err(malformed)?;
    if provider.get("type").and_then(|t| t.as_str()) != Some("service") {
        return Ok(None);
    }
    let Some(state) = provider.get_mut("state").and_then(|s| s.as_object_mut()) else {
        return Ok(None);
    };
    let field = |name: &str| state.get(name).and_then(|v| v.as_str()).unwrap_or("");
    if (field("owner"), field("project"), field("stack")) != old {
        return Ok(None);
    }
    state.insert("owner".into(), new.0.into());
    state.insert("project".into(), new.1.into());
    state.insert("stack".into(), new.2.into());
    // `raw` borrows from `deployment`: its offset there is where the value sits.
    let start = (raw.get().as_ptr() as usize).wrapping_sub(deployment.as_ptr() as usize);
    let end = start + raw.get().len();
    if end > deployment.len() {
        return Err(CoreError::Internal(
            "secrets provider outside the deployment".into(),
        ));
    }
    let replacement = provider.to_string();
    let mut out = Vec::with_capacity(deployment.len() + replacement.len());
    out.extend_from_slice(&deployment[..start]);
    out.extend_from_slice(replacement.as_bytes());
    out.extend_from_slice(&deployment[end..]);
    Ok(Some(out))
}

/// A `checkpointdelta` body: edits to the text of the update's last saved checkpoint.
#[derive(Deserialize)]
struct DeltaRequest<'a> {
    #[serde(rename = "checkpointHash")]
    checkpoint_hash: String,
    #[serde(rename = "sequenceNumber", default)]
    sequence_number: i64,
    #[serde(rename = "deploymentDelta", borrow)]
    deployment_delta: &'a RawValue,
}

/// One edit: replace the bytes `[start, end)` of the previous text with `NewText`.
#[derive(Deserialize)]
struct Edit<'a> {
    #[serde(rename = "Span")]
    span: EditSpan,
    #[serde(rename = "NewText", borrow)]
    new_text: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct EditSpan {
    start: EditPoint,
    end: EditPoint,
}

#[derive(Deserialize)]
struct EditPoint {
    offset: usize,
}

/// Applies a `checkpointdelta` body to `base` (the full text of the previous checkpoint,
/// `{"version":N,"deployment":{..}}`) and checks the result against the SHA-256 the CLI
/// computed. Any mismatch is a 400: the CLI then sends the whole checkpoint instead.
/// Returns the new full text and the request's sequence number.
pub fn apply_delta(base: &[u8], body: &[u8]) -> CoreResult<(Vec<u8>, i64)> {
    let bad = |what: String| CoreError::bad_request(format!("invalid checkpoint delta: {what}"));
    let req: DeltaRequest<'_> = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let edits: Vec<Edit<'_>> =
        serde_json::from_str(req.deployment_delta.get()).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::with_capacity(base.len());
    let mut at = 0usize;
    for edit in &edits {
        let (start, end) = (edit.span.start.offset, edit.span.end.offset);
        if start < at || end < start || end > base.len() {
            return Err(bad(format!(
                "edit [{start}, {end}) is out of order or outside the {} bytes of the last checkpoint",
                base.len()
            )));
        }
        out.extend_from_slice(&base[at..start]);
        out.extend_from_slice(edit.new_text.as_bytes());
        at = end;
    }
    out.extend_from_slice(&base[at..]);
    let hash = hex::encode(Sha256::digest(&out));
    if !hash.eq_ignore_ascii_case(&req.checkpoint_hash) {
        return Err(bad(
            "the result does not match checkpointHash (the last saved checkpoint differs)".into(),
        ));
    }
    Ok((out, req.sequence_number))
}

/// One engine event of a batch: its sequence number, its JSON text, and the resource
/// changes when it is the engine's summary.
pub struct EngineEvent {
    pub sequence: i64,
    pub body: String,
    pub resource_changes: Option<String>,
}

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct EventHead<'a> {
    sequence: i64,
    #[serde(default, rename = "summaryEvent", borrow)]
    summary: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Summary<'a> {
    #[serde(default, rename = "resourceChanges", borrow)]
    resource_changes: Option<&'a RawValue>,
}

/// Reads `{events: [{sequence, timestamp, <event>}]}`.
pub fn engine_events(body: &[u8]) -> CoreResult<Vec<EngineEvent>> {
    let bad = |e: serde_json::Error| CoreError::bad_request(format!("malformed events: {e}"));
    let batch: Batch<'_> = serde_json::from_slice(body).map_err(bad)?;
    let mut out = Vec::with_capacity(batch.events.len());
    for raw in batch.events {
        let head: EventHead<'_> = serde_json::from_str(raw.get()).map_err(bad)?;
        if head.sequence < 0 {
            return Err(CoreError::bad_request(
                "malformed events: sequence must not be negative",
            ));
        }
        let resource_changes = match head.summary {
            None => None,
            Some(s) => serde_json::from_str::<Summary<'_>>(s.get())
                .map_err(bad)?
                .resource_changes
                .map(|c| c.get().to_string()),
        };
        out.push(EngineEvent {
            sequence: head.sequence,
            body: raw.get().to_string(),
            resource_changes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_deployment_text_and_counts_resources() {
        let body = br#"{"isInvalid":false,"version":3,"deployment":{"manifest":{},
            "resources":[{"urn":"urn:pulumi:s::p::pulumi:pulumi:Stack::p-s","type":"pulumi:pulumi:Stack"}]}}"#;
        let state = deployment_state(body).expect("valid");
        assert_eq!(state.resource_count, 1);
        assert_eq!(state.schema_version, 3);
        assert!(state.deployment.starts_with(b"{\"manifest\":{},\n"));
        let export = export_body(3, None, &state.deployment);
        let back = deployment_state(&export).expect("export reads back");
        assert_eq!(back, state);
    }

    #[test]
    fn refuses_malformed_deployments() {
        for body in [
            &b"{"[..],
            b"[]",
            b"{\"version\":3}",
            b"{\"version\":3,\"deployment\":[]}",
            b"{\"version\":0,\"deployment\":{}}",
            b"{\"version\":99,\"deployment\":{}}",
            b"{\"version\":3,\"deployment\":{\"resources\":{}}}",
            b"{\"version\":3,\"deployment\":{\"resources\":[{\"urn\":\"\",\"type\":\"t\"}]}}",
            b"{\"version\":3,\"features\":\"x\",\"deployment\":{}}",
        ] {
            assert!(
                matches!(deployment_state(body), Err(CoreError::BadRequest(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn reads_verbatim_checkpoints() {
        let body = br#"{"version":3,"sequenceNumber":1,"untypedDeployment":{"version":3,"deployment":{"resources":[]}}}"#;
        let state = deployment_state(body).expect("valid");
        assert_eq!(state.deployment, b"{\"resources\":[]}");
    }

    #[test]
    fn reads_event_batches_and_the_summary() {
        let body = br#"{"events":[{"sequence":2,"timestamp":1,"summaryEvent":{"resourceChanges":{"create":2}}},
            {"sequence":1,"timestamp":1,"stdoutEvent":{"message":"hi"}}]}"#;
        let events = engine_events(body).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].resource_changes.as_deref(),
            Some("{\"create\":2}")
        );
        assert!(events[1].resource_changes.is_none());
        assert!(engine_events(b"{\"events\":[{\"timestamp\":1}]}").is_err());
        assert!(engine_events(b"{\"events\":[{\"sequence\":-1}]}").is_err());
    }

    #[test]
    fn renames_the_service_provider_and_nothing_else() {
        let d = br#"{"manifest":{"time":"t"},"secrets_providers":{"type":"service","state":{"url":"http://x","owner":"acme","project":"web","stack":"dev"}},"resources":[{"urn":"u","type":"t","outputs":{"secrets_providers":1}}]}"#;
        let out = rename_secrets_provider(d, ("acme", "web", "dev"), ("beta", "web2", "prod"))
            .expect("valid")
            .expect("changed");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["secrets_providers"]["state"]["owner"], "beta");
        assert_eq!(v["secrets_providers"]["state"]["stack"], "prod");
        assert_eq!(v["secrets_providers"]["state"]["url"], "http://x");
        assert!(out.starts_with(br#"{"manifest":{"time":"t"},"secrets_providers":{"#));
        assert!(out.ends_with(
            br#""resources":[{"urn":"u","type":"t","outputs":{"secrets_providers":1}}]}"#
        ));
        // A state that names another stack (imported from it) is left alone.
        let other = rename_secrets_provider(d, ("acme", "web", "other"), ("a", "b", "c"));
        assert!(other.expect("valid").is_none());
        let passphrase = br#"{"secrets_providers":{"type":"passphrase","state":{}}}"#;
        let none = rename_secrets_provider(passphrase, ("a", "b", "c"), ("d", "e", "f"));
        assert!(none.expect("valid").is_none());
    }

    #[test]
    fn applies_deltas_and_checks_the_hash() {
        let base = br#"{"version":3,"deployment":{"resources":[{"urn":"a","type":"t"}]}}"#;
        let after = br#"{"version":3,"deployment":{"resources":[{"urn":"a","type":"t"},{"urn":"b","type":"t"}]}}"#;
        let at = base.len() - 3; // before `]}}`
        let hash = hex::encode(Sha256::digest(after));
        let delta = serde_json::json!({
            "version": 3, "checkpointHash": hash, "sequenceNumber": 2,
            "deploymentDelta": [{"Span": {"uri": "", "start": {"line": 1, "column": 0, "offset": at},
                "end": {"line": 1, "column": 0, "offset": at}}, "NewText": ",{\"urn\":\"b\",\"type\":\"t\"}"}]
        });
        let body = serde_json::to_vec(&delta).expect("json");
        let (out, seq) = apply_delta(base, &body).expect("applies");
        assert_eq!(out, after.to_vec());
        assert_eq!(seq, 2);
        // Against another base the hash does not match.
        let other = br#"{"version":3,"deployment":{"resources":[{"urn":"x","type":"t"}]}}"#;
        assert!(matches!(
            apply_delta(other, &body),
            Err(CoreError::BadRequest(_))
        ));
        // Out-of-range and out-of-order edits are refused, not panics.
        for (s, e) in [(10_000, 10_001), (5, 4)] {
            let mut d = delta.clone();
            d["deploymentDelta"][0]["Span"]["start"]["offset"] = s.into();
            d["deploymentDelta"][0]["Span"]["end"]["offset"] = e.into();
            let body = serde_json::to_vec(&d).expect("json");
            assert!(matches!(
                apply_delta(base, &body),
                Err(CoreError::BadRequest(_))
            ));
        }
    }
}
