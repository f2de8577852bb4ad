//! `/api/orgs/{org}/auditlogs...`: listing and the event catalogue.

use axum::extract::Path;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::catalog::EventType;
use stackgate_core::service::EXPORT_BATCH;
use stackgate_core::validate;
use stackgate_http::export::{self, Format};
use stackgate_store::AuditQuery;

use super::Path1;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::wire;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    continuation_token: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    event_filter: Option<String>,
    user_filter: Option<String>,
    token_filter: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
    /// Export format (`csv`, `cef`); listing answers JSON whatever it says.
    #[param(pattern = "^(csv|cef)$")]
    format: Option<String>,
}

/// How an API version reads the time bounds of a listing or export; everything else
/// about the two versions is the same, so each route is one generic handler.
pub trait Version {
    /// `(lower, upper)` bounds from the query.
    fn window(p: &AuditParams) -> (Option<i64>, Option<i64>);
}

/// v1: `startTime` is the upper bound (events before it); `endTime` is ignored.
pub struct V1;

/// v2: `startTime` is the lower and `endTime` the upper bound.
pub struct V2;

impl Version for V1 {
    fn window(p: &AuditParams) -> (Option<i64>, Option<i64>) {
        (None, p.start_time)
    }
}

impl Version for V2 {
    fn window(p: &AuditParams) -> (Option<i64>, Option<i64>) {
        (p.start_time, p.end_time)
    }
}

fn audit_query(
    p: AuditParams,
    start: Option<i64>,
    end: Option<i64>,
    default_size: u32,
) -> ApiResult<AuditQuery> {
    let events: Vec<String> = p
        .event_filter
        .as_deref()
        .map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // Unknown event types are refused by the service (400), for the console too.
    let query = AuditQuery {
        org_id: Default::default(),
        before_seq: None,
        start_time: start,
        end_time: end,
        events,
        user_login: p.user_filter.filter(|u| !u.is_empty()),
        token_id: p.token_filter.filter(|t| !t.is_empty()),
        limit: validate::page_size(p.page_size, default_size)?,
    };
    Ok(query)
}

pub async fn list<V: Version>(
    auth: Auth,
    Path(org): Path1,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let (start, end) = V::window(&p);
    let continuation = p.continuation_token.clone();
    let query = audit_query(p, start, end, 100)?;
    let page = auth
        .service
        .list_audit(
            &auth.ctx,
            &org,
            continuation.as_deref().filter(|c| !c.is_empty()),
            query,
        )
        .await?;
    let events = page.events.iter().map(wire::audit_event).collect();
    Ok(Json(wire::page(
        "auditLogEvents",
        events,
        page.continuation,
    )))
}

pub async fn event_types(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    auth.service.authorize_audit_read(&auth.ctx, &org).await?;
    let types: Vec<Value> = EventType::ALL
        .iter()
        .map(|e| {
            let i = e.info();
            json!({
                "event": i.id, "displayName": i.display_name, "description": i.description,
                "requiresOrgAdmin": i.requires_org_admin, "requiresStackAdmin": i.requires_stack_admin,
                "authenticationFailure": i.authentication_failure, "deprecated": false,
            })
        })
        .collect();
    Ok(Json(json!({"eventTypes": types})))
}

pub async fn export<V: Version>(
    auth: Auth,
    Path(org): Path1,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Response> {
    let (start, end) = V::window(&p);
    let format = Format::parse(p.format.as_deref())
        .ok_or_else(|| ApiError::bad_request("format must be csv or cef"))?;
    if p.continuation_token.is_some() || p.page_size.is_some() {
        return Err(ApiError::bad_request(
            "an export covers every matching event: it takes no continuationToken or pageSize",
        ));
    }
    let query = audit_query(p, start, end, EXPORT_BATCH)?;
    let export = auth
        .service
        .export_audit(&auth.ctx, &org, query, format.extension())
        .await?;
    export::response(&org, export, format)
        .map_err(|e| ApiError::from(stackgate_core::CoreError::Internal(e.to_string())))
}

/// `GET /api/orgs/{org}/auditlogs/verify` [ours]: walks the org's hash chain.
pub async fn verify(auth: Auth, Path(org): Path1) -> ApiResult<Json<Value>> {
    let v = auth.service.verify_audit(&auth.ctx, &org).await?;
    let mut out = json!({
        "organization": v.org,
        "ok": v.broken.is_none(),
        "checkedEvents": v.checked,
        "headSequence": v.head_seq,
        "prunedThroughSequence": v.pruned_seq,
    });
    if let Some(b) = v.broken {
        out["firstBrokenSequence"] = json!(b.seq);
        out["reason"] = json!(b.reason);
    }
    Ok(Json(out))
}
