//! The response bodies of the API as JSON Schema (2020-12, as OpenAPI 3.1 uses it), named
//! after the `pulumi-cloud-sdk` models they answer to where there is one. Each mirrors a
//! builder of [`crate::wire`] or a handler's `json!`; schemathesis checks every response
//! of a running server against them in CI, and the unit tests check that every name a
//! route answers with is defined here.
//!
//! Objects allow fields beyond the listed ones (a client must ignore fields it does not
//! know), and list as `required` exactly the fields stackgate always sends.

use serde_json::{json, Map, Value};

fn string() -> Value {
    json!({"type": "string"})
}

fn integer() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// A reference to another schema of this module.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An object with these required and optional properties.
fn object(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for (name, schema) in required.iter().chain(optional) {
        properties.insert((*name).to_string(), schema.clone());
    }
    let names: Vec<&str> = required.iter().map(|(n, _)| *n).collect();
    json!({"type": "object", "required": names, "properties": properties})
}

/// A map from names to values of `values`.
fn map_of(values: Value) -> Value {
    json!({"type": "object", "additionalProperties": values})
}

/// Pulumi's stack permission codes: none, read, write, admin, creator.
fn stack_permission() -> Value {
    json!({"type": "integer", "enum": [0, 101, 102, 103, 104],
           "description": "0 none, 101 read, 102 write, 103 admin, 104 creator (counts as admin)"})
}

/// An org role as the API spells it.
fn org_role() -> Value {
    json!({"type": "string", "enum": ["admin", "member", "billing-manager"]})
}

/// Unix seconds; 0 where Pulumi sends 0 for "never" or "not yet".
fn unix_time() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0})
}

fn team_summary_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("kind", json!({"type": "string", "enum": ["pulumi"]})),
        ("name", string()),
        ("displayName", string()),
        ("description", string()),
        (
            "userRole",
            json!({"type": "string", "enum": ["none", "member", "admin"]}),
        ),
    ]
}

/// Every named response schema, in the order the document lists them.
pub fn all() -> Vec<(&'static str, Value)> {
    let user_info = object(
        &[
            ("name", string()),
            ("githubLogin", string()),
            ("avatarUrl", string()),
            ("email", string()),
        ],
        &[],
    );
    let mut team = team_summary_fields();
    team.push((
        "members",
        array(object(
            &[
                ("name", string()),
                ("githubLogin", string()),
                ("avatarUrl", string()),
                ("email", string()),
                (
                    "role",
                    json!({"type": "string", "enum": ["member", "admin"]}),
                ),
            ],
            &[],
        )),
    ));
    team.push((
        "stacks",
        array(object(
            &[
                ("projectName", string()),
                ("stackName", string()),
                ("permission", stack_permission()),
            ],
            &[],
        )),
    ));
    vec![
        (
            "Error",
            object(
                &[
                    (
                        "code",
                        json!({"type": "integer", "minimum": 400, "maximum": 599}),
                    ),
                    ("message", string()),
                ],
                &[],
            ),
        ),
        ("Health", object(&[("status", json!({"const": "ok"}))], &[])),
        (
            "Readiness",
            object(
                &[
                    ("status", json!({"const": "ready"})),
                    ("database", json!({"const": "reachable"})),
                ],
                &[],
            ),
        ),
        (
            "OpenApiDocument",
            object(
                &[
                    ("openapi", string()),
                    ("info", json!({"type": "object"})),
                    ("paths", json!({"type": "object"})),
                ],
                &[],
            ),
        ),
        (
            "Capabilities",
            object(
                &[(
                    "capabilities",
                    array(object(
                        &[("capability", string()), ("version", integer())],
                        &[("configuration", json!({"type": "object"}))],
                    )),
                )],
                &[],
            ),
        ),
        // The caller.
        (
            "User",
            object(
                &[
                    ("id", string()),
                    ("githubLogin", string()),
                    ("name", string()),
                    ("email", string()),
                    ("avatarUrl", string()),
                    (
                        "organizations",
                        array(object(
                            &[
                                ("name", string()),
                                ("githubLogin", string()),
                                ("avatarUrl", string()),
                                ("role", org_role()),
                            ],
                            &[],
                        )),
                    ),
                    ("identities", array(string())),
                    ("hasMFA", boolean()),
                    ("isOrgManaged", boolean()),
                    ("isManagedByMultiOrg", boolean()),
                ],
                &[
                    ("siteAdmin", boolean()),
                    (
                        "tokenInfo",
                        object(
                            &[
                                ("name", string()),
                                ("organization", string()),
                                ("team", string()),
                            ],
                            &[],
                        ),
                    ),
                ],
            ),
        ),
        (
            "DefaultOrganization",
            object(
                &[("GitHubLogin", string()), ("Messages", array(json!({})))],
                &[],
            ),
        ),
        ("UserInfo", user_info.clone()),
        // Tokens.
        (
            "AccessToken",
            object(
                &[
                    ("id", string()),
                    ("name", string()),
                    ("description", string()),
                    ("created", string()),
                    ("lastUsed", unix_time()),
                    ("expires", unix_time()),
                    ("admin", boolean()),
                    ("createdBy", string()),
                    (
                        "type",
                        json!({"type": "string", "enum": ["personal", "organization", "team"]}),
                    ),
                ],
                &[],
            ),
        ),
        (
            "ListAccessTokensResponse",
            object(&[("tokens", array(reference("AccessToken")))], &[]),
        ),
        (
            "CreateAccessTokenResponse",
            object(&[("id", string()), ("tokenValue", string())], &[]),
        ),
        // Orgs and members.
        (
            "Organization",
            object(
                &[
                    ("githubLogin", string()),
                    ("name", string()),
                    ("avatarUrl", string()),
                    ("repos", array(json!({}))),
                    ("id", string()),
                    ("kind", string()),
                    ("created", string()),
                    ("userRole", string()),
                    ("defaultStackPermission", stack_permission()),
                    ("membersCanCreateStacks", boolean()),
                    ("membersCanDeleteStacks", boolean()),
                    ("membersCanTransferStacks", boolean()),
                    ("membersCanCreateTeams", boolean()),
                    ("features", map_of(boolean())),
                    ("stackCount", integer()),
                    ("memberCount", integer()),
                    ("acceptStackTransfersFrom", array(string())),
                    ("auditLogRetentionDays", integer()),
                ],
                &[("maxAccessTokenExpiryDays", integer())],
            ),
        ),
        (
            "OrganizationMember",
            object(
                &[
                    ("role", org_role()),
                    ("user", reference("UserInfo")),
                    ("created", string()),
                    ("knownToPulumi", boolean()),
                    ("virtualAdmin", boolean()),
                    (
                        "fgaRole",
                        object(
                            &[
                                ("id", string()),
                                ("name", string()),
                                ("modifiedAt", string()),
                            ],
                            &[],
                        ),
                    ),
                    ("teams", array(string())),
                ],
                &[],
            ),
        ),
        (
            "ListOrganizationMembersResponse",
            object(
                &[("members", array(reference("OrganizationMember")))],
                &[("continuationToken", string())],
            ),
        ),
        ("MemberTeams", object(&[("teams", array(string()))], &[])),
        // Teams.
        ("TeamSummary", object(&team_summary_fields(), &[])),
        (
            "ListTeamsResponse",
            object(&[("teams", array(reference("TeamSummary")))], &[]),
        ),
        ("Team", object(&team, &[])),
        // The audit log.
        (
            "AuditLogEvent",
            object(
                &[
                    ("timestamp", unix_time()),
                    ("sourceIP", string()),
                    ("event", string()),
                    ("description", string()),
                    ("user", reference("UserInfo")),
                    ("reqOrgAdmin", boolean()),
                    ("reqStackAdmin", boolean()),
                    ("authFailure", boolean()),
                ],
                &[("tokenID", string()), ("tokenName", string())],
            ),
        ),
        (
            "ListAuditLogEventsResponse",
            object(
                &[("auditLogEvents", array(reference("AuditLogEvent")))],
                &[("continuationToken", string())],
            ),
        ),
        (
            "AuditLogEventTypes",
            object(
                &[(
                    "eventTypes",
                    array(object(
                        &[
                            ("event", string()),
                            ("displayName", string()),
                            ("description", string()),
                            ("requiresOrgAdmin", boolean()),
                            ("requiresStackAdmin", boolean()),
                            ("authenticationFailure", boolean()),
                            ("deprecated", boolean()),
                        ],
                        &[],
                    )),
                )],
                &[],
            ),
        ),
        (
            "AuditLogVerification",
            object(
                &[
                    ("organization", string()),
                    ("ok", boolean()),
                    ("checkedEvents", integer()),
                    ("headSequence", integer()),
                    ("prunedThroughSequence", integer()),
                ],
                &[("firstBrokenSequence", integer()), ("reason", string())],
            ),
        ),
        // Stacks.
        (
            "CreateStackResponse",
            object(&[("messages", array(json!({})))], &[]),
        ),
        (
            "Stack",
            object(
                &[
                    ("id", string()),
                    ("orgName", string()),
                    ("projectName", string()),
                    ("stackName", string()),
                    ("activeUpdate", string()),
                    ("tags", map_of(string())),
                    ("version", integer()),
                ],
                &[],
            ),
        ),
        (
            "StackSummary",
            object(
                &[
                    ("id", string()),
                    ("orgName", string()),
                    ("projectName", string()),
                    ("stackName", string()),
                    ("links", object(&[("self", string())], &[])),
                ],
                &[("lastUpdate", unix_time()), ("resourceCount", integer())],
            ),
        ),
        (
            "ListStacksResponse",
            object(
                &[("stacks", array(reference("StackSummary")))],
                &[("continuationToken", string())],
            ),
        ),
        (
            "TransferAllStacksResult",
            json!({"type": "string", "description": "how many stacks moved"}),
        ),
        (
            "StackTeams",
            object(
                &[
                    ("projectName", string()),
                    (
                        "teams",
                        array(object(
                            &[
                                ("name", string()),
                                ("displayName", string()),
                                ("description", string()),
                                ("permission", stack_permission()),
                                ("isMember", boolean()),
                            ],
                            &[],
                        )),
                    ),
                ],
                &[],
            ),
        ),
        (
            "MemberStackPermissions",
            object(
                &[
                    ("userInfo", reference("UserInfo")),
                    ("organizationRole", org_role()),
                    ("organizationDefault", stack_permission()),
                    (
                        "teamPermissions",
                        array(object(
                            &[
                                ("team", reference("TeamSummary")),
                                ("permission", stack_permission()),
                            ],
                            &[],
                        )),
                    ),
                    ("explicitPermission", stack_permission()),
                ],
                &[],
            ),
        ),
        // The state backend.
        (
            "UpdateCreated",
            object(
                &[("updateID", string()), ("messages", array(json!({})))],
                &[],
            ),
        ),
        (
            "UpdateStarted",
            object(
                &[
                    ("version", integer()),
                    ("token", string()),
                    ("tokenExpiration", unix_time()),
                    ("journalVersion", json!({"const": 0})),
                ],
                &[],
            ),
        ),
        (
            "UpdateStatus",
            object(
                &[
                    (
                        "status",
                        json!({"type": "string", "enum": ["not started", "running", "succeeded", "failed"]}),
                    ),
                    ("events", array(json!({}))),
                ],
                &[],
            ),
        ),
        (
            "EngineEvents",
            object(
                &[("events", array(json!({"type": "object"})))],
                &[("continuationToken", string())],
            ),
        ),
        (
            "LeaseRenewed",
            object(
                &[("token", string()), ("tokenExpiration", unix_time())],
                &[],
            ),
        ),
        (
            "UntypedDeployment",
            object(
                &[("version", integer()), ("deployment", json!({}))],
                &[("features", array(string()))],
            ),
        ),
        ("ImportResult", object(&[("updateId", string())], &[])),
        (
            "UpdateInfo",
            object(
                &[
                    ("updateID", string()),
                    (
                        "kind",
                        json!({"type": "string", "enum": ["update", "preview", "refresh", "destroy", "import"]}),
                    ),
                    ("startTime", unix_time()),
                    ("endTime", unix_time()),
                    ("message", string()),
                    ("environment", json!({"type": "object"})),
                    ("config", json!({"type": "object"})),
                    (
                        "result",
                        json!({"type": "string", "enum": ["not-started", "in-progress", "succeeded", "failed"]}),
                    ),
                    ("status", string()),
                    ("version", integer()),
                    (
                        "requestedBy",
                        object(&[("githubLogin", string()), ("name", string())], &[]),
                    ),
                ],
                &[
                    ("resourceChanges", map_of(integer())),
                    ("resourceCount", integer()),
                ],
            ),
        ),
        (
            "UpdateHistory",
            object(&[("updates", array(reference("UpdateInfo")))], &[]),
        ),
        (
            "StackUpdate",
            object(
                &[
                    ("info", reference("UpdateInfo")),
                    ("updateID", string()),
                    ("version", integer()),
                ],
                &[],
            ),
        ),
        // Secrets.
        ("Ciphertext", object(&[("ciphertext", string())], &[])),
        ("Plaintext", object(&[("plaintext", string())], &[])),
        (
            "Ciphertexts",
            object(&[("ciphertexts", array(string()))], &[]),
        ),
        (
            "Plaintexts",
            object(&[("plaintexts", map_of(string()))], &[]),
        ),
    ]
}
