//! `/api/user/...`: the current principal, personal tokens, its stacks.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::StackListQuery;
use stackgate_core::{validate, CoreError, Identity};

use super::{no_content, Path1};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::wire;

/// `GET /api/user`: asked by every Pulumi CLI command, so the body is serialised once per
/// cache entry (borrowed straight from the cached facts) and then served from the entry.
pub async fn current_user(auth: Auth) -> ApiResult<Response> {
    let cached = &auth.cached;
    let body = match cached.rendered_user.get() {
        Some(body) => body.clone(),
        None => {
            let body = serde_json::to_vec(&wire::CurrentUser(cached))
                .map_err(|e| CoreError::Internal(format!("rendering /api/user: {e}")))?;
            let body = Bytes::from(body);
            cached.rendered_user.get_or_init(|| body).clone()
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
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

pub async fn list_tokens(auth: Auth) -> ApiResult<Json<Value>> {
    let tokens = auth.service.list_personal_tokens(&auth.ctx).await?;
    Ok(Json(wire::tokens(&tokens)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreatePersonalToken {
    description: Option<String>,
    /// Unix seconds; 0 or absent: never.
    #[schema(minimum = 0)]
    expires: Option<i64>,
}

pub async fn create_token(
    auth: Auth,
    ApiJson(req): ApiJson<CreatePersonalToken>,
) -> ApiResult<Json<Value>> {
    let created = auth
        .service
        .create_personal_token(
            &auth.ctx,
            req.description.as_deref().unwrap_or(""),
            req.expires.unwrap_or(0),
        )
        .await?;
    Ok(Json(wire::created_token(&created)))
}

pub async fn delete_token(auth: Auth, Path(id): Path1) -> ApiResult<StatusCode> {
    no_content(auth.service.delete_personal_token(&auth.ctx, &id)).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct StacksQuery {
    organization: Option<String>,
    project: Option<String>,
    tag_name: Option<String>,
    tag_value: Option<String>,
    continuation_token: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    max_results: Option<i64>,
}

pub async fn list_stacks(auth: Auth, ApiQuery(q): ApiQuery<StacksQuery>) -> ApiResult<Json<Value>> {
    let query = StackListQuery {
        organization: q.organization,
        project: q.project,
        tag_name: q.tag_name,
        tag_value: q.tag_value,
        continuation: q.continuation_token,
        max_results: validate::page_size(q.max_results, 100)?,
    };
    let page = auth.service.list_stacks(&auth.ctx, query).await?;
    let stacks = page.stacks.iter().map(wire::stack_summary).collect();
    Ok(Json(wire::page("stacks", stacks, page.continuation)))
}
