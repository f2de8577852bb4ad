//! `/api/stacks/...` and the console's stack-team endpoint.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::{CreateStack, TagChange};
use stackgate_store::StackPermission;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::{wire, AppState};

type StackPath = Path<(String, String, String)>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStackBody {
    stack_name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    teams: Option<Vec<String>>,
}

pub async fn create_stack(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project)): Path<(String, String)>,
    ApiJson(req): ApiJson<CreateStackBody>,
) -> ApiResult<Json<Value>> {
    let name = req
        .stack_name
        .ok_or_else(|| ApiError::bad_request("stackName is required"))?;
    let create = CreateStack {
        name,
        tags: req.tags.unwrap_or_default(),
        teams: req.teams.unwrap_or_default(),
    };
    s.service
        .create_stack(&auth.ctx, &org, &project, create)
        .await?;
    Ok(Json(json!({"messages": []})))
}

pub async fn project_exists(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if s.service.project_exists(&auth.ctx, &org, &project).await? {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("project '{org}/{project}' not found"),
        ))
    }
}

pub async fn get_stack(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
) -> ApiResult<Json<Value>> {
    let stack = s
        .service
        .get_stack(&auth.ctx, &org, &project, &stack)
        .await?;
    Ok(Json(wire::stack(&stack)))
}

pub async fn delete_stack(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
) -> ApiResult<StatusCode> {
    s.service
        .delete_stack(&auth.ctx, &org, &project, &stack)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH .../tags`: the body is the complete new tag map.
pub async fn replace_tags(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
    ApiJson(tags): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<StatusCode> {
    s.service
        .change_tags(&auth.ctx, &org, &project, &stack, TagChange::Replace(tags))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct TagBody {
    name: Option<String>,
    value: Option<String>,
}

/// `POST .../tags` `{name, value}`: sets one tag.
pub async fn set_tag(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
    ApiJson(req): ApiJson<TagBody>,
) -> ApiResult<StatusCode> {
    let name = req
        .name
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    s.service
        .change_tags(
            &auth.ctx,
            &org,
            &project,
            &stack,
            TagChange::Set(name, req.value.unwrap_or_default()),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../tags/{name}`.
pub async fn delete_tag(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack, tag)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    s.service
        .change_tags(&auth.ctx, &org, &project, &stack, TagChange::Remove(tag))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn stack_teams(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
) -> ApiResult<Json<Value>> {
    let teams = s
        .service
        .stack_teams(&auth.ctx, &org, &project, &stack)
        .await?;
    Ok(Json(
        json!({"projectName": project, "teams": teams.iter().map(wire::stack_team).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
pub struct StackTeamBody {
    permissions: Option<StackPermission>,
}

pub async fn set_stack_team(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack, team)): Path<(String, String, String, String)>,
    ApiJson(req): ApiJson<StackTeamBody>,
) -> ApiResult<StatusCode> {
    let perm = req
        .permissions
        .ok_or_else(|| ApiError::bad_request("permissions is required"))?;
    s.service
        .set_stack_team_permission(&auth.ctx, &org, &project, &stack, &team, perm)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    to_org: Option<String>,
    from_org: Option<String>,
}

pub async fn transfer_stack(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, project, stack)): StackPath,
    ApiJson(req): ApiJson<TransferBody>,
) -> ApiResult<StatusCode> {
    let to = req
        .to_org
        .ok_or_else(|| ApiError::bad_request("toOrg is required"))?;
    if req
        .from_org
        .as_deref()
        .is_some_and(|f| !f.is_empty() && f != org)
    {
        return Err(ApiError::bad_request(
            "fromOrg must be the stack's organization",
        ));
    }
    s.service
        .transfer_stack(&auth.ctx, &org, &project, &stack, &to)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn transfer_all(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<TransferBody>,
) -> ApiResult<Json<Value>> {
    let to = req
        .to_org
        .ok_or_else(|| ApiError::bad_request("toOrg is required"))?;
    let from = req.from_org.unwrap_or_else(|| org.clone());
    let moved = s
        .service
        .transfer_all_stacks(&auth.ctx, &org, &from, &to)
        .await?;
    Ok(Json(json!(format!("transferred {moved} stacks"))))
}

/// `GET /api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}`: where a
/// member's level on a stack comes from.
pub async fn member_stack_permissions(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, login, project, stack)): Path<(String, String, String, String)>,
) -> ApiResult<Json<Value>> {
    let p = s
        .service
        .member_stack_permissions(&auth.ctx, &org, &login, &project, &stack)
        .await?;
    let teams: Vec<Value> = p
        .teams
        .iter()
        .map(|(t, perm)| json!({"team": wire::team_summary(t, None), "permission": perm.code()}))
        .collect();
    Ok(Json(json!({
        "userInfo": wire::user_info(&p.user),
        "organizationRole": p.role.as_str(),
        "organizationDefault": p.org_default.code(),
        "teamPermissions": teams,
        "explicitPermission": p.explicit.code(),
    })))
}
