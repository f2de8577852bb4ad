//! Response shapes of the Pulumi Cloud API, built from domain records. Field names follow
//! the official `pulumi-cloud-sdk` models; every field the client marks required is always
//! present (the client refuses a response that lacks one).

use serde::Serialize;
use serde_json::{json, Map, Value};
use stackgate_core::auth::CachedAuth;
use stackgate_core::service::{CreatedToken, HistoryEntry, OrgView, StackTeam, TeamView};
use stackgate_core::Identity;
use stackgate_store::{
    AuditEvent, Member, Stack, Team, TeamRole, Token, UpdateId, UpdateStatus, User,
};

use crate::features;

pub use stackgate_http::iso;

/// The body of `GET /api/user` (`models/user.py`), serialised straight from the cached
/// token facts: this is the most frequent authenticated request.
pub struct CurrentUser<'a>(pub &'a CachedAuth);

/// Fields a stackgate principal never has (no MFA, no SSO identities) keep their
/// `Default` values; `siteAdmin` is only sent for users, `tokenInfo` only for machine
/// tokens.
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserBody<'a> {
    id: &'a str,
    github_login: &'a str,
    name: &'a str,
    email: &'a str,
    avatar_url: &'a str,
    organizations: Vec<OrgSummary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_info: Option<TokenInfo<'a>>,
    identities: [&'a str; 0],
    #[serde(rename = "hasMFA")]
    has_mfa: bool,
    is_org_managed: bool,
    is_managed_by_multi_org: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgSummary<'a> {
    name: &'a str,
    github_login: &'a str,
    avatar_url: &'a str,
    role: &'a str,
}

#[derive(Serialize)]
struct TokenInfo<'a> {
    name: &'a str,
    organization: &'a str,
    team: &'a str,
}

fn summary<'a>(name: &'a str, role: &'static str) -> OrgSummary<'a> {
    OrgSummary {
        name,
        github_login: name,
        avatar_url: "",
        role,
    }
}

/// An org or team token as a "user": named after the token, a member (or admin) of its
/// one org, with `tokenInfo` saying which token it is.
fn machine_body<'a>(
    id: &'a str,
    github_login: &'a str,
    token_name: &'a str,
    org_name: &'a str,
    role: &'static str,
    team: &'a str,
) -> UserBody<'a> {
    UserBody {
        id,
        github_login,
        name: token_name,
        organizations: vec![summary(org_name, role)],
        token_info: Some(TokenInfo {
            name: token_name,
            organization: org_name,
            team,
        }),
        ..UserBody::default()
    }
}

impl Serialize for CurrentUser<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cached = self.0;
        let principal = &cached.principal;
        let token_name = principal.token.as_ref().map_or("", |t| t.name.as_str());
        let body = match &principal.identity {
            Identity::User(u) => UserBody {
                id: u.id.as_str(),
                github_login: &u.login,
                name: &u.name,
                email: &u.email,
                organizations: cached
                    .memberships
                    .iter()
                    .map(|(o, r)| summary(&o.name, r.as_str()))
                    .collect(),
                site_admin: Some(u.site_admin),
                ..UserBody::default()
            },
            Identity::OrgToken {
                org_id,
                org_name,
                admin,
            } => {
                let role = if *admin { "admin" } else { "member" };
                machine_body(org_id.as_str(), org_name, token_name, org_name, role, "")
            }
            Identity::TeamToken {
                team_id,
                org_name,
                team_name,
                ..
            } => machine_body(
                team_id.as_str(),
                team_name,
                token_name,
                org_name,
                "member",
                team_name,
            ),
        };
        body.serialize(serializer)
    }
}

pub fn user_info(u: &User) -> Value {
    json!({"name": u.name, "githubLogin": u.login, "avatarUrl": "", "email": u.email})
}

pub fn access_token(t: &Token) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "created": iso(t.created),
        "lastUsed": t.last_used,
        "expires": t.expires,
        "admin": t.admin,
        "createdBy": t.created_by,
        "type": t.kind.as_str(),
    })
}

/// One page of a listing: the items under `key`, and `continuationToken` only while
/// there is more to fetch.
pub fn page(key: &str, items: Vec<Value>, continuation: Option<String>) -> Value {
    let mut out = Map::new();
    out.insert(key.to_string(), Value::Array(items));
    if let Some(c) = continuation {
        out.insert("continuationToken".to_string(), Value::String(c));
    }
    Value::Object(out)
}

/// A token just created: the only response that ever carries its value.
pub fn created_token(c: &CreatedToken) -> Value {
    json!({"id": c.token.id, "tokenValue": c.value.expose()})
}

pub fn tokens(list: &[Token]) -> Value {
    json!({"tokens": list.iter().map(access_token).collect::<Vec<_>>()})
}

pub fn member(m: &Member, teams: &[String]) -> Value {
    let created = iso(m.created);
    json!({
        "role": m.role.as_str(),
        "user": user_info(&m.user),
        "created": created,
        "knownToPulumi": true,
        "virtualAdmin": false,
        // stackgate has no fine-grained roles: the FGA role mirrors the org role.
        "fgaRole": {"id": m.role.as_str(), "name": m.role.as_str(), "modifiedAt": created},
        "teams": teams,
    })
}

fn team_base(t: &Team, user_role: Option<TeamRole>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), json!("pulumi"));
    m.insert("name".into(), json!(t.name));
    m.insert("displayName".into(), json!(t.display_name));
    m.insert("description".into(), json!(t.description));
    m.insert(
        "userRole".into(),
        json!(user_role.map_or("none", TeamRole::as_str)),
    );
    m
}

pub fn team_summary(t: &Team, user_role: Option<TeamRole>) -> Value {
    Value::Object(team_base(t, user_role))
}

pub fn team(v: &TeamView) -> Value {
    let mut m = team_base(&v.team, v.user_role);
    let members: Vec<Value> = v
        .members
        .iter()
        .map(|(u, role)| {
            json!({"name": u.name, "githubLogin": u.login, "avatarUrl": "", "email": u.email, "role": role.as_str()})
        })
        .collect();
    let stacks: Vec<Value> = v
        .stacks
        .iter()
        .map(
            |(s, p)| json!({"projectName": s.project, "stackName": s.name, "permission": p.code()}),
        )
        .collect();
    m.insert("members".into(), json!(members));
    m.insert("stacks".into(), json!(stacks));
    Value::Object(m)
}

/// `GET S` (and the answer to stack creation, which has no active update).
pub fn stack(s: &Stack, active_update: Option<&UpdateId>) -> Value {
    json!({
        "id": s.id,
        "orgName": s.org_name,
        "projectName": s.project,
        "stackName": s.name,
        "activeUpdate": active_update.map(UpdateId::as_str).unwrap_or(""),
        "tags": s.tags,
        "version": s.version,
    })
}

/// One row of `GET /api/user/stacks` (`pulumi stack ls`).
pub fn stack_summary(s: &Stack) -> Value {
    let mut v = json!({
        "id": s.id,
        "orgName": s.org_name,
        "projectName": s.project,
        "stackName": s.name,
        "links": {"self": format!("/api/stacks/{}/{}/{}", s.org_name, s.project, s.name)},
    });
    if let Some(t) = s.last_update {
        v["lastUpdate"] = json!(t);
    }
    if let Some(n) = s.resource_count {
        v["resourceCount"] = json!(n);
    }
    v
}

/// An update's status as `GET U` reports it (Pulumi's `UpdateStatus`; a cancelled
/// update reads as failed, as the CLI knows no other final state there).
pub fn update_status(status: UpdateStatus) -> &'static str {
    match status {
        UpdateStatus::Cancelled => "failed",
        other => other.as_str(),
    }
}

/// An update's result in history (Pulumi's `UpdateResult`).
fn update_result(status: UpdateStatus) -> &'static str {
    match status {
        UpdateStatus::NotStarted => "not-started",
        UpdateStatus::Running => "in-progress",
        UpdateStatus::Succeeded => "succeeded",
        UpdateStatus::Failed | UpdateStatus::Cancelled => "failed",
    }
}

/// A field of the update's request when it has the type Pulumi's `UpdateInfo` gives it
/// (the request is stored as the CLI sent it, so a `null` or a number is possible).
fn field(request: &Value, pointer: &str, fits: fn(&Value) -> bool, default: Value) -> Value {
    request
        .pointer(pointer)
        .filter(|v| fits(v))
        .cloned()
        .unwrap_or(default)
}

/// One entry of `stack history` (Pulumi's `UpdateInfo`), plus who ran it.
pub fn update_info(e: &HistoryEntry) -> Value {
    let u = &e.update;
    let request: Value = serde_json::from_str(&u.request).unwrap_or(Value::Null);
    let mut v = json!({
        "updateID": u.id,
        "kind": u.kind.as_str(),
        "startTime": u.started,
        "endTime": u.ended,
        "message": field(&request, "/metadata/message", Value::is_string, json!("")),
        "environment": field(&request, "/metadata/environment", Value::is_object, json!({})),
        "config": field(&request, "/config", Value::is_object, json!({})),
        "result": update_result(u.status),
        "status": u.status.as_str(),
        "version": u.version,
        "requestedBy": {"githubLogin": u.actor.login, "name": u.actor.name},
    });
    if let Some(changes) = u
        .resource_changes
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
    {
        v["resourceChanges"] = changes;
    }
    if let Some(n) = e.resource_count {
        v["resourceCount"] = json!(n);
    }
    v
}

pub fn stack_team(t: &StackTeam) -> Value {
    json!({
        "name": t.team.name,
        "displayName": t.team.display_name,
        "description": t.team.description,
        "permission": t.permission.code(),
        "isMember": t.is_member,
    })
}

pub fn audit_event(e: &AuditEvent) -> Value {
    let ev = &e.event;
    let mut v = json!({
        "timestamp": ev.timestamp,
        "sourceIP": ev.source_ip,
        "event": ev.event,
        "description": ev.description,
        "user": {"name": ev.actor.name, "githubLogin": ev.actor.login, "avatarUrl": "", "email": ev.actor.email},
        "reqOrgAdmin": ev.req_org_admin,
        "reqStackAdmin": ev.req_stack_admin,
        "authFailure": ev.auth_failure,
    });
    if let Some(id) = &ev.actor.token_id {
        v["tokenID"] = json!(id);
        v["tokenName"] = json!(ev.actor.token_name.clone().unwrap_or_default());
    }
    v
}

/// `Organization` (GET) merged with `OrganizationMetadata` (the PATCH response), so that
/// one read shows an org's settings too.
pub fn organization(v: &OrgView) -> Value {
    let s = &v.org.settings;
    let mut features = Map::new();
    for name in features::ALL {
        features.insert((*name).into(), json!(features::ENABLED.contains(name)));
    }
    let mut out = json!({
        // Organization
        "githubLogin": v.org.name,
        "name": v.org.name,
        "avatarUrl": "",
        // stackgate tracks no VCS repositories.
        "repos": [],
        // OrganizationMetadata
        "id": v.org.id,
        "kind": "pulumi",
        "created": iso(v.org.created),
        "userRole": v.user_role,
        "defaultStackPermission": s.default_stack_permission.code(),
        "defaultEnvironmentPermission": "none",
        "defaultAccountPermission": 0,
        "membersCanCreateStacks": s.members_can_create_stacks,
        "membersCanDeleteStacks": s.members_can_delete_stacks,
        "membersCanTransferStacks": s.members_can_transfer_stacks,
        "membersCanCreateTeams": s.members_can_create_teams,
        "membersCanCreateAccounts": false,
        "neoEnabled": false,
        "neoApprovalMode": "manual",
        "neoTaskSharingMode": "none",
        "neoCLIExplanationsDisabled": true,
        "naturalLanguageSearchDisabled": true,
        "neoAgentDisabled": true,
        "insightsTrialUsingPolicy": false,
        "aiEnablement": "disabled",
        "preferredVCS": "none",
        "auditLogsEnabled": true,
        "webhooksEnabled": false,
        "features": features,
        "accountCount": 0,
        "environmentCount": 0,
        "stackCount": v.counts.stacks,
        "memberCount": v.counts.members,
        "acceptStackTransfersFrom": s.accept_stack_transfers_from,
    });
    if let Some(days) = s.max_access_token_expiry_days {
        out["maxAccessTokenExpiryDays"] = json!(days);
    }
    out["auditLogRetentionDays"] = json!(s.audit_log_retention_days.unwrap_or(0));
    out
}
