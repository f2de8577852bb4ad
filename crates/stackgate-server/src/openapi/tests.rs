//! The document against the route table it is generated from.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;
use crate::routes::{route_list, table};

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_ascii_uppercase(), path.clone(), op));
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    op
}

#[test]
fn the_document_has_exactly_the_routes_of_the_table() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = route_list()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
    assert_eq!(documented.len(), table().len(), "one operation per entry");
    assert!(served.contains(&("GET".to_string(), SPEC_PATH.to_string())));
}

#[test]
fn operation_ids_are_unique_and_named_like_the_official_client() {
    let doc = document();
    let mut seen = BTreeMap::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().expect("operationId");
        assert!(
            id.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id}"
        );
        if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
            panic!("{id} names both {other} and {method} {path}");
        }
        assert!(!op["summary"].as_str().unwrap_or("").is_empty(), "{id}");
    }
    // Names the official client uses for the same operations.
    assert_eq!(
        operation(&doc, "GET", "/api/user")["operationId"],
        "GetCurrentUser"
    );
    assert_eq!(
        operation(&doc, "POST", "/api/orgs/{org}/tokens")["operationId"],
        "CreateOrgToken"
    );
}

/// Every `$ref` of the document points at something the document holds.
#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, doc: &Value, refs: &mut usize) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let pointer = r.strip_prefix('#').expect("a local reference");
                    assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
                    *refs += 1;
                }
                m.values().for_each(|v| walk(v, doc, refs));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, doc, refs)),
            _ => {}
        }
    }
    let doc = document();
    let mut refs = 0;
    walk(&doc, &doc, &mut refs);
    assert!(refs > 100, "only {refs} references");
}

/// Each response schema of [`schemas`] is what some operation answers (or part of one).
#[test]
fn every_named_schema_is_used() {
    let text = serde_json::to_string(&document()).expect("serialises");
    for (name, _) in schemas::all() {
        assert!(
            text.contains(&format!("\"#/components/schemas/{name}\"")),
            "{name} is never referenced"
        );
    }
}

#[test]
fn path_parameters_are_the_templates_names() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let from_template: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let documented: Vec<&str> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{method} {path}");
                assert!(p["schema"].is_object(), "{method} {path}");
                p["name"].as_str().expect("name")
            })
            .collect();
        assert_eq!(documented, from_template, "{method} {path}");
    }
}

/// Authentication comes from the handlers' extractors: `Auth` is a token, `LeaseAuth`
/// the update's lease, and only the service's own routes need neither.
#[test]
fn security_follows_the_extractors() {
    let doc = document();
    let mut public = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let security = op["security"].as_array().expect("security");
        match security.first() {
            None => {
                public.insert(path.clone());
                assert!(
                    !op["responses"]
                        .as_object()
                        .expect("responses")
                        .contains_key("401"),
                    "{method} {path}"
                );
            }
            Some(s) => {
                assert!(
                    op["responses"]
                        .as_object()
                        .expect("responses")
                        .contains_key("401"),
                    "{method} {path}"
                );
                let lease = s.get("updateToken").is_some();
                let lease_route = ["renew_lease", "checkpoint", "events/batch", "complete"]
                    .iter()
                    .any(|suffix| path.contains("{updateId}/") && path.contains(suffix));
                assert_eq!(lease, lease_route, "{method} {path}");
            }
        }
    }
    let expected: BTreeSet<String> = ["/healthz", "/readyz", "/api/capabilities", SPEC_PATH]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(public, expected);
}

/// Bodies and queries come from the types the handlers parse: a field added to one
/// appears in the document without anyone writing it there.
#[test]
fn bodies_and_queries_follow_the_extractors() {
    let doc = document();
    let create = operation(&doc, "POST", "/api/orgs/{org}/tokens");
    let body = &create["requestBody"]["content"]["application/json"]["schema"];
    let fields: BTreeSet<&str> = body["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["admin", "description", "expires", "name", "roleID"].into()
    );
    assert!(create["responses"].get("413").is_some());

    let list = operation(&doc, "GET", "/api/orgs/{org}/auditlogs/v2");
    let query: BTreeSet<&str> = list["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    for name in [
        "continuationToken",
        "startTime",
        "endTime",
        "userFilter",
        "pageSize",
    ] {
        assert!(query.contains(name), "{name} missing from {query:?}");
    }
    assert!(list.get("requestBody").is_none());

    // A state body: gzip accepted, so 415 for another encoding, and the type the
    // handler parses it as where the route names it.
    let batch = operation(
        &doc,
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
    );
    assert!(batch["responses"].get("415").is_some());
    assert_eq!(
        batch["requestBody"]["content"]["application/json"]["schema"]["required"],
        serde_json::json!(["plaintexts"])
    );
    let checkpoint = operation(
        &doc,
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
    );
    assert_eq!(
        checkpoint["security"],
        serde_json::json!([{"updateToken": []}])
    );
    assert!(checkpoint["responses"].get("204").is_some());
}
