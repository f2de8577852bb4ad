//! `/api/orgs/{org}/teams/pulumi` for a team literally named "pulumi": the path is also
//! the team-creation path, whose static segment wins over `{team}`, so GET, PATCH and
//! DELETE on it need handlers of their own that call the `{team}` ones.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use super::Path1;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};
use crate::routes::orgs;

const NAME: &str = "pulumi";

pub async fn get(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    orgs::get_team(auth, Path((org, NAME.into()))).await
}

pub async fn update(
    auth: Auth,
    Path(org): Path1,
    body: ApiJson<orgs::UpdateTeam>,
) -> ApiResult<StatusCode> {
    orgs::update_team(auth, Path((org, NAME.into())), body).await
}

pub async fn delete(auth: Auth, Path(org): Path1) -> ApiResult<StatusCode> {
    orgs::delete_team(auth, Path((org, NAME.into()))).await
}
