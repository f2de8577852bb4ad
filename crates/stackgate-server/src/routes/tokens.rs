//! Org and team access tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::{wire, AppState};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateToken {
    name: Option<String>,
    description: Option<String>,
    expires: Option<i64>,
    admin: Option<bool>,
    #[serde(rename = "roleID")]
    role_id: Option<String>,
}

fn created(c: stackgate_core::service::CreatedToken) -> Json<Value> {
    Json(json!({"id": c.token.id, "tokenValue": c.value.expose()}))
}

pub async fn list_org_tokens(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::tokens(
        &s.service.list_org_tokens(&auth.ctx, &org).await?,
    )))
}

pub async fn create_org_token(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<Json<Value>> {
    if req.role_id.as_deref().is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "custom roles (roleID) are not supported by stackgate",
        ));
    }
    let name = req
        .name
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    let c = s
        .service
        .create_org_token(
            &auth.ctx,
            &org,
            &name,
            req.description.as_deref().unwrap_or(""),
            req.admin.unwrap_or(false),
            req.expires.unwrap_or(0),
        )
        .await?;
    Ok(created(c))
}

pub async fn delete_org_token(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.service.delete_org_token(&auth.ctx, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_team_tokens(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::tokens(
        &s.service.list_team_tokens(&auth.ctx, &org, &team).await?,
    )))
}

pub async fn create_team_token(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, team)): Path<(String, String)>,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<Json<Value>> {
    let name = req
        .name
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    if req.admin == Some(true) {
        return Err(ApiError::bad_request("team tokens have no admin scope"));
    }
    let c = s
        .service
        .create_team_token(
            &auth.ctx,
            &org,
            &team,
            &name,
            req.description.as_deref().unwrap_or(""),
            req.expires.unwrap_or(0),
        )
        .await?;
    Ok(created(c))
}

pub async fn delete_team_token(
    State(s): State<AppState>,
    auth: Auth,
    Path((org, team, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    s.service
        .delete_team_token(&auth.ctx, &org, &team, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
