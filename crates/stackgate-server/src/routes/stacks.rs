//! `/api/stacks/...` and the console's stack-team endpoint.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::{CreateStack, TagChange};
use stackgate_store::StackPermission;

use super::{no_content, Path1, Path2, Path3, Path4};
use crate::error::{required, ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::wire;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateStackBody {
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    stack_name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    teams: Option<Vec<String>>,
    /// The CLI's initial state (`pulumi stack init --secrets-provider ...`).
    state: Option<Value>,
}

pub async fn create_stack(
    auth: Auth,
    Path((org, project)): Path2,
    ApiJson(req): ApiJson<CreateStackBody>,
) -> ApiResult<Json<Value>> {
    let name = required(req.stack_name, "stackName")?;
    let create = CreateStack {
        name,
        tags: req.tags.unwrap_or_default(),
        teams: req.teams.unwrap_or_default(),
        initial_state: match req.state {
            Some(state) => Some(
                serde_json::to_vec(&state)
                    .map_err(|e| ApiError::bad_request(format!("invalid state: {e}")))?,
            ),
            None => None,
        },
    };
    auth.service
        .create_stack(&auth.ctx, &org, &project, create)
        .await?;
    Ok(Json(json!({"messages": []})))
}

pub async fn project_exists(auth: Auth, Path((org, project)): Path2) -> ApiResult<StatusCode> {
    if auth
        .service
        .project_exists(&auth.ctx, &org, &project)
        .await?
    {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("project '{org}/{project}' not found"),
        ))
    }
}

pub async fn get_stack(auth: Auth, Path((org, project, stack)): Path3) -> ApiResult<Json<Value>> {
    let view = auth
        .service
        .stack_view(&auth.ctx, &org, &project, &stack)
        .await?;
    Ok(Json(wire::stack(&view.stack, view.active_update.as_ref())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// The CLI's `pulumi stack rm --force`.
    force: Option<bool>,
    /// The Pulumi Service provider's spelling.
    #[serde(rename = "forceDestroy")]
    force_destroy: Option<bool>,
}

/// `DELETE S?force=`: a stack that still has resources needs `force`.
pub async fn delete_stack(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<StatusCode> {
    let force = q.force.or(q.force_destroy).unwrap_or(false);
    no_content(
        auth.service
            .delete_stack(&auth.ctx, &org, &project, &stack, force),
    )
    .await
}

/// `PATCH .../tags`: the body is the complete new tag map.
pub async fn replace_tags(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(tags): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<StatusCode> {
    no_content(auth.service.change_tags(
        &auth.ctx,
        &org,
        &project,
        &stack,
        TagChange::Replace(tags),
    ))
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TagBody {
    name: Option<String>,
    value: Option<String>,
}

/// `POST .../tags` `{name, value}`: sets one tag.
pub async fn set_tag(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<TagBody>,
) -> ApiResult<StatusCode> {
    let name = required(req.name, "name")?;
    no_content(auth.service.change_tags(
        &auth.ctx,
        &org,
        &project,
        &stack,
        TagChange::Set(name, req.value.unwrap_or_default()),
    ))
    .await
}

/// `DELETE .../tags/{name}`.
pub async fn delete_tag(
    auth: Auth,
    Path((org, project, stack, tag)): Path4,
) -> ApiResult<StatusCode> {
    no_content(
        auth.service
            .change_tags(&auth.ctx, &org, &project, &stack, TagChange::Remove(tag)),
    )
    .await
}

pub async fn stack_teams(auth: Auth, Path((org, project, stack)): Path3) -> ApiResult<Json<Value>> {
    let teams = auth
        .service
        .stack_teams(&auth.ctx, &org, &project, &stack)
        .await?;
    Ok(Json(
        json!({"projectName": project, "teams": teams.iter().map(wire::stack_team).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StackTeamBody {
    #[schema(schema_with = crate::openapi::describe::stack_permission)]
    permissions: Option<StackPermission>,
}

pub async fn set_stack_team(
    auth: Auth,
    Path((org, project, stack, team)): Path4,
    ApiJson(req): ApiJson<StackTeamBody>,
) -> ApiResult<StatusCode> {
    let perm = required(req.permissions, "permissions")?;
    no_content(
        auth.service
            .set_stack_team_permission(&auth.ctx, &org, &project, &stack, &team, perm),
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    to_org: Option<String>,
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    from_org: Option<String>,
}

pub async fn transfer_stack(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<TransferBody>,
) -> ApiResult<StatusCode> {
    let to = required(req.to_org, "toOrg")?;
    if req
        .from_org
        .as_deref()
        .is_some_and(|f| !f.is_empty() && f != org)
    {
        return Err(ApiError::bad_request(
            "fromOrg must be the stack's organization",
        ));
    }
    no_content(
        auth.service
            .transfer_stack(&auth.ctx, &org, &project, &stack, &to),
    )
    .await
}

/// `POST /api/stacks/{org}/{project}/{stack}/rename` (`pulumi stack rename`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenameBody {
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    new_name: Option<String>,
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    new_project: Option<String>,
}

pub async fn rename_stack(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<RenameBody>,
) -> ApiResult<StatusCode> {
    let new_name = required(req.new_name, "newName")?;
    let new_project = req.new_project.as_deref();
    auth.service
        .rename_stack(&auth.ctx, &org, &project, &stack, new_project, &new_name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn transfer_all(
    auth: Auth,
    Path(org): Path1,
    ApiJson(req): ApiJson<TransferBody>,
) -> ApiResult<Json<Value>> {
    let to = required(req.to_org, "toOrg")?;
    let from = req.from_org.unwrap_or_else(|| org.clone());
    let moved = auth
        .service
        .transfer_all_stacks(&auth.ctx, &org, &from, &to)
        .await?;
    Ok(Json(json!(format!("transferred {moved} stacks"))))
}

/// `GET /api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}`: where a
/// member's level on a stack comes from.
pub async fn member_stack_permissions(
    auth: Auth,
    Path((org, login, project, stack)): Path4,
) -> ApiResult<Json<Value>> {
    let p = auth
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
