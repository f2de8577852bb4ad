//! The OpenAPI 3.1 document of the API, served at [`SPEC_PATH`] (where the official
//! client's `fetch_rest_specification` reads it).
//!
//! The document is generated from the route table ([`crate::routes::table()`]), the same
//! list the router mounts, so it cannot describe a route that is not served or miss one
//! that is:
//! - each path and method is a table entry; path parameters come from its template;
//! - authentication, request body and query parameters come from the handler's
//!   extractor types ([`describe`]): `Auth` or `LeaseAuth`, `ApiJson<T>` with `T`'s
//!   schema derived from the type serde parses, `ApiQuery<Q>` likewise;
//! - what only a person can say is the entry's [`Op`]: the operation id (the official
//!   client's name for the operation where it has one), a summary, and the success reply,
//!   whose schema is one of [`schemas`].
//!
//! Errors are `{"code", "message"}` ([`crate::error`]); the statuses an operation may
//! answer follow from its request: every authenticated operation may answer 400, 401,
//! 403, 404, 409 and 503 (these are the statuses of [`stackgate_core::CoreError`]), one
//! with a body also 413, one with a state body also 415.

pub mod describe;
pub mod schemas;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Map, Value};

pub use describe::{Authn, BodySchema, DescribeArgs, RequestDoc};

use crate::routes::Route;

/// Where the document is served.
pub const SPEC_PATH: &str = "/api/openapi/pulumi-spec.json";

/// What an operation answers when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200 with a JSON body of the named schema of [`schemas`].
    Json(&'static str),
    /// 204 without a body.
    NoContent,
    /// 200 without a body (`HEAD`: the thing exists).
    Exists,
    /// 200 with a text body (an audit log export, CSV or CEF).
    Text,
}

/// The part of a route's documentation that its types cannot give.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    /// `operationId`: the official client's name for the operation where it has one
    /// (its method `get_current_user` is `GetCurrentUser`).
    pub id: &'static str,
    pub summary: &'static str,
    pub reply: Reply,
    /// Error statuses beyond those that follow from the request (see the module
    /// documentation), e.g. 503 of a readiness check.
    pub also: &'static [u16],
}

impl Op {
    pub const fn json(id: &'static str, summary: &'static str, schema: &'static str) -> Op {
        Op {
            id,
            summary,
            reply: Reply::Json(schema),
            also: &[],
        }
    }

    pub const fn no_content(id: &'static str, summary: &'static str) -> Op {
        Op {
            id,
            summary,
            reply: Reply::NoContent,
            also: &[],
        }
    }

    pub const fn exists(id: &'static str, summary: &'static str) -> Op {
        Op {
            id,
            summary,
            reply: Reply::Exists,
            also: &[],
        }
    }

    pub const fn text(id: &'static str, summary: &'static str) -> Op {
        Op {
            id,
            summary,
            reply: Reply::Text,
            also: &[],
        }
    }

    pub const fn also(self, also: &'static [u16]) -> Op {
        Op { also, ..self }
    }
}

/// `GET /api/openapi/pulumi-spec.json`: the document, built once per process.
pub async fn spec() -> Response {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    let body = BODY
        .get_or_init(|| Bytes::from(serde_json::to_vec(&document()).unwrap_or_default()))
        .clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The document of the whole API.
pub fn document() -> Value {
    build(&crate::routes::table())
}

/// The document of these routes.
pub fn build(routes: &[Route]) -> Value {
    let mut components = Map::new();
    for (name, schema) in schemas::all() {
        components.insert(name.to_string(), schema);
    }
    let mut paths = Map::new();
    let mut tags = BTreeSet::new();
    for route in routes {
        let tag = tag(route.path);
        tags.insert(tag);
        let op = operation(route, tag, &mut components);
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.as_str().to_ascii_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "stackgate",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "A self-hosted Pulumi Cloud: organizations, members, teams, stacks, access tokens, the audit log, and the Pulumi CLI's state backend.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                "Error": {
                    "description": "The request was refused or failed; `message` says why.",
                    "content": {"application/json": {"schema": schemas::reference("Error")}},
                },
            },
            "securitySchemes": {
                "token": {
                    "type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`token <value>`: a personal, team or organization access token.",
                },
                "updateToken": {
                    "type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`update-token <lease>`: the lease `POST .../{kind}/{updateId}` answered.",
                },
            },
        },
    })
}

/// One operation object.
fn operation(route: &Route, tag: &str, components: &mut Map<String, Value>) -> Value {
    let request = &route.request;
    let mut parameters: Vec<Value> = path_parameters(route.path);
    parameters.extend(request.query.iter().cloned());
    let mut op = json!({
        "operationId": route.op.id,
        "summary": route.op.summary,
        "tags": [tag],
        "parameters": parameters,
        "responses": responses(route),
        "security": match request.authn {
            Some(Authn::Token) => json!([{"token": []}]),
            Some(Authn::Lease) => json!([{"updateToken": []}]),
            None => json!([]),
        },
    });
    if let Some(body) = &request.body {
        for (name, schema) in &body.components {
            components
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
        let mut description = String::from("A JSON object");
        if request.state_body {
            description.push_str(
                "; may be sent with `Content-Encoding: gzip`, and may be as large as the server's --max-state-size once decompressed",
            );
        } else {
            description.push_str(" of at most 1 MiB");
        }
        description.push('.');
        op["requestBody"] = json!({
            "required": true,
            "description": description,
            "content": {"application/json": {"schema": body.schema}},
        });
    }
    op
}

/// The statuses an operation answers (see the module documentation).
fn responses(route: &Route) -> Value {
    let mut out = Map::new();
    let (status, success) = match route.op.reply {
        Reply::Json(schema) => (
            200,
            json!({"description": "OK", "content": {"application/json": {"schema": schemas::reference(schema)}}}),
        ),
        Reply::NoContent => (204, json!({"description": "Done."})),
        Reply::Exists => (200, json!({"description": "It exists."})),
        Reply::Text => (
            200,
            json!({"description": "The events, newest first, as an attachment.",
                   "content": {"text/plain": {"schema": {"type": "string"}}}}),
        ),
    };
    out.insert(status.to_string(), success);
    for code in error_statuses(route) {
        out.insert(
            code.to_string(),
            json!({"$ref": "#/components/responses/Error"}),
        );
    }
    Value::Object(out)
}

fn error_statuses(route: &Route) -> BTreeSet<u16> {
    let request = &route.request;
    let mut codes: BTreeSet<u16> = route.op.also.iter().copied().collect();
    if request.authn.is_some() {
        codes.extend([400, 401, 403, 404, 409, 503]);
    }
    if request.body.is_some() || !request.query.is_empty() {
        codes.insert(400);
    }
    if request.body.is_some() {
        codes.insert(413);
    }
    if request.state_body {
        codes.insert(415);
    }
    codes
}

/// The path parameters of a template (`/api/orgs/{org}/teams/{team}`), in order.
fn path_parameters(template: &str) -> Vec<Value> {
    let ends_with = |suffix: &str| template.ends_with(suffix);
    template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (description, schema) = match name {
                "org" => ("The organization's name.", entity_name()),
                "project" => ("The project's name.", entity_name()),
                "stack" => ("The stack's name.", entity_name()),
                "team" => ("The team's name.", entity_name()),
                "login" => ("The user's login.", entity_name()),
                "tag" => ("The tag's name.", name_schema()),
                "tokenId" => ("The access token's id.", name_schema()),
                "updateId" => ("The update's id, as `POST S/{kind}` answered it.", name_schema()),
                "kind" => (
                    "The kind the update was created as; the Pulumi CLI says `update` for every kind.",
                    json!({"type": "string", "enum": ["update", "preview", "refresh", "destroy"]}),
                ),
                "version" if ends_with("/updates/{version}") => (
                    "A version of the stack, or `latest`.",
                    json!({"anyOf": [{"type": "integer", "minimum": 0}, {"const": "latest"}]}),
                ),
                "version" => (
                    "A version of the stack.",
                    json!({"type": "integer", "minimum": 0}),
                ),
                _ => ("", name_schema()),
            };
            json!({"name": name, "in": "path", "required": true,
                   "description": description, "schema": schema})
        })
        .collect()
}

fn name_schema() -> Value {
    json!({"type": "string", "minLength": 1})
}

/// Org, project, stack, team and user names (`validate::name`): no other name exists.
fn entity_name() -> Value {
    json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"})
}

/// The tag an operation is listed under, by its path.
fn tag(path: &str) -> &'static str {
    let state_suffixes = ["/update", "/preview", "/refresh", "/destroy", "/import"];
    if !path.starts_with("/api/") || path == "/api/capabilities" || path == SPEC_PATH {
        "Service"
    } else if path.starts_with("/api/user") {
        "User"
    } else if path.contains("/auditlogs") {
        "AuditLogs"
    } else if path.contains("/tokens") {
        "AccessTokens"
    } else if path.starts_with("/api/orgs/{org}/teams") {
        "Teams"
    } else if path.starts_with("/api/orgs") {
        "Organizations"
    } else if path.contains("crypt") {
        "StackSecrets"
    } else if path.contains("{kind}")
        || path.contains("/export")
        || path.contains("/updates")
        || state_suffixes.iter().any(|s| path.ends_with(s))
    {
        "StackState"
    } else {
        "Stacks"
    }
}

#[cfg(test)]
mod tests;
