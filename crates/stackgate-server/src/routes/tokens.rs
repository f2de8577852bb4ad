//! Org and team access tokens.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::{no_content, Path1, Path2, Path3};
use crate::error::{required, ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::wire;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateToken {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,40}$")]
    name: Option<String>,
    description: Option<String>,
    /// Unix seconds; 0 or absent: never.
    #[schema(minimum = 0)]
    expires: Option<i64>,
    admin: Option<bool>,
    #[serde(rename = "roleID")]
    role_id: Option<String>,
}

pub async fn list_org_tokens(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    Ok(Json(wire::tokens(
        &auth.service.list_org_tokens(&auth.ctx, &org).await?,
    )))
}

pub async fn create_org_token(
    auth: Auth,
    Path(org): Path1,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<Json<Value>> {
    if req.role_id.as_deref().is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "custom roles (roleID) are not supported by stackgate",
        ));
    }
    let name = required(req.name, "name")?;
    let c = auth
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
    Ok(Json(wire::created_token(&c)))
}

pub async fn delete_org_token(auth: Auth, Path((org, id)): Path2) -> ApiResult<StatusCode> {
    no_content(auth.service.delete_org_token(&auth.ctx, &org, &id)).await
}

pub async fn list_team_tokens(auth: Auth, Path((org, team)): Path2) -> ApiResult<Json<Value>> {
    Ok(Json(wire::tokens(
        &auth
            .service
            .list_team_tokens(&auth.ctx, &org, &team)
            .await?,
    )))
}

pub async fn create_team_token(
    auth: Auth,
    Path((org, team)): Path2,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    if req.admin == Some(true) {
        return Err(ApiError::bad_request("team tokens have no admin scope"));
    }
    let c = auth
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
    Ok(Json(wire::created_token(&c)))
}

pub async fn delete_team_token(auth: Auth, Path((org, team, id)): Path3) -> ApiResult<StatusCode> {
    no_content(auth.service.delete_team_token(&auth.ctx, &org, &team, &id)).await
}
