//! `/api/user/...`: the current principal, personal tokens, its stacks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::StackListQuery;
use stackgate_core::{validate, Identity};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::{wire, AppState};

pub async fn current_user(auth: Auth) -> Json<Value> {
    let principal = &auth.cached.principal;
    let token_name = principal
        .token
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let summary = |name: &str, role: &str| json!({"name": name, "githubLogin": name, "avatarUrl": "", "role": role});
    let mut out = match &principal.identity {
        Identity::User(u) => {
            let orgs: Vec<Value> = auth
                .cached
                .memberships
                .iter()
                .map(|(o, r)| summary(&o.name, r.as_str()))
                .collect();
            json!({
                "id": u.id, "githubLogin": u.login, "name": u.name, "email": u.email,
                "avatarUrl": "", "organizations": orgs, "siteAdmin": u.site_admin,
            })
        }
        Identity::OrgToken {
            org_id,
            org_name,
            admin,
        } => json!({
            "id": org_id, "githubLogin": org_name, "name": token_name, "email": "", "avatarUrl": "",
            "organizations": [summary(org_name, if *admin { "admin" } else { "member" })],
            "tokenInfo": {"name": token_name, "organization": org_name, "team": ""},
        }),
        Identity::TeamToken {
            team_id,
            org_name,
            team_name,
            ..
        } => json!({
            "id": team_id, "githubLogin": team_name, "name": token_name, "email": "", "avatarUrl": "",
            "organizations": [summary(org_name, "member")],
            "tokenInfo": {"name": token_name, "organization": org_name, "team": team_name},
        }),
    };
    for (k, v) in [
        ("identities", json!([])),
        ("hasMFA", json!(false)),
        ("isOrgManaged", json!(false)),
        ("isManagedByMultiOrg", json!(false)),
    ] {
        out[k] = v;
    }
    Json(out)
}

pub async fn default_org(auth: Auth) -> Json<Value> {
    let name = match &auth.cached.principal.identity {
        Identity::User(_) => auth
            .cached
            .memberships
            .first()
            .map(|(o, _)| o.name.clone())
            .unwrap_or_default(),
        Identity::OrgToken { org_name, .. } | Identity::TeamToken { org_name, .. } => {
            org_name.clone()
        }
    };
    Json(json!({"GitHubLogin": name, "Messages": []}))
}

pub async fn list_tokens(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let tokens = s.service.list_personal_tokens(&auth.ctx).await?;
    Ok(Json(wire::tokens(&tokens)))
}

#[derive(Deserialize)]
pub struct CreatePersonalToken {
    description: Option<String>,
    expires: Option<i64>,
}

pub async fn create_token(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreatePersonalToken>,
) -> ApiResult<Json<Value>> {
    let created = s
        .service
        .create_personal_token(
            &auth.ctx,
            req.description.as_deref().unwrap_or(""),
            req.expires.unwrap_or(0),
        )
        .await?;
    Ok(Json(
        json!({"id": created.token.id, "tokenValue": created.value.expose()}),
    ))
}

pub async fn delete_token(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.service.delete_personal_token(&auth.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StacksQuery {
    organization: Option<String>,
    project: Option<String>,
    tag_name: Option<String>,
    tag_value: Option<String>,
    continuation_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn list_stacks(
    State(s): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<StacksQuery>,
) -> ApiResult<Json<Value>> {
    let query = StackListQuery {
        organization: q.organization,
        project: q.project,
        tag_name: q.tag_name,
        tag_value: q.tag_value,
        continuation: q.continuation_token,
        max_results: validate::page_size(q.max_results, 100)?,
    };
    let page = s.service.list_stacks(&auth.ctx, query).await?;
    let mut out =
        json!({"stacks": page.stacks.iter().map(wire::stack_summary).collect::<Vec<_>>()});
    if let Some(c) = page.continuation {
        out["continuationToken"] = json!(c);
    }
    Ok(Json(out))
}
