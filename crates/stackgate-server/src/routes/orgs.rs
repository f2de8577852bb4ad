//! `/api/orgs/{org}`: the org and its settings, members and teams.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::{MemberAction, OrgSettingsUpdate, TeamUpdate};
use stackgate_core::validate;
use stackgate_store::{OrgRole, StackPermission};

use super::{no_content, Path1, Path2};
use crate::error::{required, ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::wire;

pub async fn get_org(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    let view = auth.service.get_org(&auth.ctx, &org).await?;
    Ok(Json(wire::organization(&view)))
}

/// `UpdateOrganizationRequest`; `null` and absent both mean "leave as is". Settings
/// stackgate does not have (environments, Neo, VCS, ...) are refused when set.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrg {
    #[schema(schema_with = crate::openapi::describe::stack_permission)]
    set_default_stack_permission: Option<StackPermission>,
    set_members_can_create_stacks: Option<bool>,
    set_members_can_create_teams: Option<bool>,
    set_members_can_delete_stacks: Option<bool>,
    set_members_can_transfer_stacks: Option<bool>,
    set_max_access_token_expiry_days: Option<i64>,
    set_accept_stack_transfers_from: Option<Vec<String>>,
    set_audit_log_retention_days: Option<i64>,
    /// Settings stackgate does not have; refused when set.
    #[serde(flatten)]
    #[schema(ignore)]
    other: serde_json::Map<String, Value>,
}

pub async fn update_org(
    auth: Auth,
    Path(org): Path1,
    ApiJson(req): ApiJson<UpdateOrg>,
) -> ApiResult<Json<Value>> {
    // The official client sends unset optional fields as null (or false/0 for a few).
    let unsupported: Vec<&String> = req
        .other
        .iter()
        .filter(|(_, v)| {
            !matches!(v, Value::Null | Value::Bool(false))
                && v.as_i64() != Some(0)
                && v.as_str() != Some("")
        })
        .map(|(k, _)| k)
        .collect();
    if let Some(name) = unsupported.first() {
        return Err(ApiError::bad_request(format!(
            "setting '{name}' is not supported by stackgate"
        )));
    }
    let update = OrgSettingsUpdate {
        default_stack_permission: req.set_default_stack_permission,
        members_can_create_stacks: req.set_members_can_create_stacks,
        members_can_create_teams: req.set_members_can_create_teams,
        members_can_delete_stacks: req.set_members_can_delete_stacks,
        members_can_transfer_stacks: req.set_members_can_transfer_stacks,
        max_access_token_expiry_days: req.set_max_access_token_expiry_days,
        accept_stack_transfers_from: req.set_accept_stack_transfers_from,
        audit_log_retention_days: req.set_audit_log_retention_days,
    };
    let view = auth
        .service
        .update_org_settings(&auth.ctx, &org, update)
        .await?;
    Ok(Json(wire::organization(&view)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct MembersQuery {
    continuation_token: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

pub async fn list_members(
    auth: Auth,
    Path(org): Path1,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<Json<Value>> {
    let size = validate::page_size(q.page_size, 100)?;
    let page = auth
        .service
        .list_members(&auth.ctx, &org, q.continuation_token.as_deref(), size)
        .await?;
    let members: Vec<Value> = page
        .members
        .iter()
        .map(|(m, teams)| wire::member(m, teams))
        .collect();
    Ok(Json(wire::page("members", members, page.continuation)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleBody {
    #[schema(pattern = "^(admin|member|billing-manager)$")]
    role: Option<String>,
}

fn parse_role(role: Option<&str>) -> ApiResult<OrgRole> {
    let role = required(role, "role")?;
    OrgRole::parse(role).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role must be one of admin, member, billing-manager (got '{role}')"
        ))
    })
}

pub async fn add_member(
    auth: Auth,
    Path((org, login)): Path2,
    ApiJson(req): ApiJson<RoleBody>,
) -> ApiResult<Json<Value>> {
    let role = parse_role(req.role.as_deref())?;
    let (member, teams) = auth
        .service
        .add_member(&auth.ctx, &org, &login, role)
        .await?;
    Ok(Json(wire::member(&member, &teams)))
}

pub async fn update_member(
    auth: Auth,
    Path((org, login)): Path2,
    ApiJson(req): ApiJson<RoleBody>,
) -> ApiResult<StatusCode> {
    let role = parse_role(req.role.as_deref())?;
    no_content(auth.service.set_member_role(&auth.ctx, &org, &login, role)).await
}

pub async fn remove_member(auth: Auth, Path((org, login)): Path2) -> ApiResult<StatusCode> {
    no_content(auth.service.remove_member(&auth.ctx, &org, &login)).await
}

pub async fn member_teams(auth: Auth, Path((org, login)): Path2) -> ApiResult<Json<Value>> {
    let teams = auth.service.member_teams(&auth.ctx, &org, &login).await?;
    Ok(Json(json!({"teams": teams})))
}

pub async fn list_teams(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    let teams = auth.service.list_teams(&auth.ctx, &org).await?;
    let teams: Vec<Value> = teams
        .iter()
        .map(|(t, r)| wire::team_summary(t, *r))
        .collect();
    Ok(Json(json!({"teams": teams})))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTeam {
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    name: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
}

pub async fn create_team(
    auth: Auth,
    Path(org): Path1,
    ApiJson(req): ApiJson<CreateTeam>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let view = auth
        .service
        .create_team(
            &auth.ctx,
            &org,
            &name,
            req.display_name.as_deref().unwrap_or(""),
            req.description.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(wire::team(&view)))
}

pub async fn get_team(auth: Auth, Path((org, team)): Path2) -> ApiResult<Json<Value>> {
    let view = auth.service.get_team(&auth.ctx, &org, &team).await?;
    Ok(Json(wire::team(&view)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackRef {
    project_name: String,
    stack_name: String,
    #[schema(schema_with = crate::openapi::describe::stack_permission)]
    permission: Option<StackPermission>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTeam {
    new_display_name: Option<String>,
    new_description: Option<String>,
    #[schema(pattern = "^(add|remove|promote|demote)$")]
    member_action: Option<String>,
    member: Option<String>,
    add_stack_permission: Option<StackRef>,
    edit_stack_permission: Option<StackRef>,
    remove_stack: Option<StackRef>,
    add_environment_permission: Option<Value>,
    edit_environment_permission: Option<Value>,
    remove_environment: Option<Value>,
}

fn with_permission(r: StackRef) -> ApiResult<(String, String, StackPermission)> {
    let p = required(r.permission, "permission")?;
    Ok((r.project_name, r.stack_name, p))
}

pub async fn update_team(
    auth: Auth,
    Path((org, team)): Path2,
    ApiJson(req): ApiJson<UpdateTeam>,
) -> ApiResult<StatusCode> {
    if req.add_environment_permission.is_some()
        || req.edit_environment_permission.is_some()
        || req.remove_environment.is_some()
    {
        return Err(ApiError::bad_request(
            "environments are not supported by stackgate",
        ));
    }
    let member = match (req.member_action, req.member) {
        (None, None) => None,
        (Some(action), Some(login)) => {
            let action = MemberAction::parse(&action).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "memberAction must be add, remove, promote or demote (got '{action}')"
                ))
            })?;
            Some((action, login))
        }
        _ => return Err(ApiError::bad_request("memberAction and member go together")),
    };
    let update = TeamUpdate {
        new_display_name: req.new_display_name,
        new_description: req.new_description,
        member,
        add_stack: req.add_stack_permission.map(with_permission).transpose()?,
        edit_stack: req.edit_stack_permission.map(with_permission).transpose()?,
        remove_stack: req.remove_stack.map(|r| (r.project_name, r.stack_name)),
    };
    no_content(auth.service.update_team(&auth.ctx, &org, &team, update)).await
}

pub async fn delete_team(auth: Auth, Path((org, team)): Path2) -> ApiResult<StatusCode> {
    no_content(auth.service.delete_team(&auth.ctx, &org, &team)).await
}
