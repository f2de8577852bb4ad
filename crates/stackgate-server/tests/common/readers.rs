//! Reading state back: the audit log page by page, and a snapshot of everything a refused
//! request could have changed.

use serde_json::{json, Value};

use super::{assert_ok, TestApp, Who, ORG, STACK_PATH, TEAM};

impl TestApp {
    /// Every audit event of `org`, newest first, read by `who` page by page.
    pub async fn audit_as(&self, who: &Who, org: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        for _ in 0..1000 {
            let mut path = format!("/api/orgs/{org}/auditlogs/v2?pageSize=1000");
            if let Some(c) = &cont {
                path.push_str(&format!("&continuationToken={c}"));
            }
            let (st, body) = self.get(&path, who.clone()).await;
            assert_ok(st, &body, "read the audit log");
            out.extend(
                body["auditLogEvents"]
                    .as_array()
                    .expect("auditLogEvents is a list")
                    .iter()
                    .cloned(),
            );
            match body["continuationToken"].as_str() {
                Some(c) => cont = Some(c.to_string()),
                None => return out,
            }
        }
        panic!("audit paging did not end");
    }

    /// Every audit event of `acme`, read by its admin.
    pub async fn audit(&self) -> Vec<Value> {
        self.audit_as(&Who::Admin, ORG).await
    }

    /// Everything a refused write could have changed in `acme`, with volatile fields
    /// (`lastUsed`) removed: members, teams (with members and grants), org and team
    /// tokens, the admin's personal tokens, the fixture stack, the org's settings, and the
    /// number of audit events.
    pub async fn snapshot(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (key, path) in [
            ("org", format!("/api/orgs/{ORG}")),
            ("members", format!("/api/orgs/{ORG}/members?pageSize=1000")),
            ("teams", format!("/api/orgs/{ORG}/teams")),
            ("team", format!("/api/orgs/{ORG}/teams/{TEAM}")),
            ("orgTokens", format!("/api/orgs/{ORG}/tokens")),
            ("teamTokens", format!("/api/orgs/{ORG}/teams/{TEAM}/tokens")),
            ("stack", STACK_PATH.to_string()),
            ("stackTeams", format!("{STACK_PATH}/teams")),
            ("stacks", "/api/user/stacks?maxResults=1000".to_string()),
            ("userTokens", "/api/user/tokens".to_string()),
        ] {
            let (st, mut body) = self.get(&path, Who::Admin).await;
            assert_ok(st, &body, &format!("snapshot {key}"));
            if let Some(tokens) = body.get_mut("tokens").and_then(Value::as_array_mut) {
                for t in tokens {
                    if let Some(t) = t.as_object_mut() {
                        t.remove("lastUsed");
                    }
                }
            }
            out.insert(key.to_string(), body);
        }
        out.insert("auditEvents".into(), json!(self.audit().await.len()));
        Value::Object(out)
    }
}

/// Events of `events` (newest first) with the given id.
pub fn events_named<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == id).collect()
}
