//! `/api/orgs/{org}/teams/pulumi` for a team literally named "pulumi": the path is also
//! the team-creation path, whose static segment wins over `{team}`, so GET, PATCH and
//! DELETE on it need handlers of their own that call the `{team}` ones.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};
use crate::routes::orgs;
use crate::AppState;

const NAME: &str = "pulumi";

pub async fn get(
    s: State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    orgs::get_team(s, auth, Path((org, NAME.into()))).await
}

pub async fn update(
    s: State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    body: ApiJson<orgs::UpdateTeam>,
) -> ApiResult<StatusCode> {
    orgs::update_team(s, auth, Path((org, NAME.into())), body).await
}

pub async fn delete(
    s: State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<StatusCode> {
    orgs::delete_team(s, auth, Path((org, NAME.into()))).await
}
