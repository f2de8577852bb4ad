//! `/api/orgs/{org}/auditlogs...`: listing and the event catalogue.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::catalog::EventType;
use stackgate_core::service::EXPORT_BATCH;
use stackgate_core::validate;
use stackgate_http::export::{self, Format};
use stackgate_store::AuditQuery;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::{wire, AppState};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    continuation_token: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    event_filter: Option<String>,
    user_filter: Option<String>,
    token_filter: Option<String>,
    page_size: Option<i64>,
    /// Export format (`csv`, `cef`); listing answers JSON whatever it says.
    format: Option<String>,
}

/// v2: `startTime` is the lower and `endTime` the upper bound.
pub async fn list_v2(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let (start, end) = (p.start_time, p.end_time);
    list(s, auth, org, p, start, end).await
}

/// v1: `startTime` is the upper bound (events before it).
pub async fn list_v1(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let end = p.start_time;
    list(s, auth, org, p, None, end).await
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
        org_id: String::new(),
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

async fn list(
    s: AppState,
    auth: Auth,
    org: String,
    p: AuditParams,
    start: Option<i64>,
    end: Option<i64>,
) -> ApiResult<Json<Value>> {
    let continuation = p.continuation_token.clone();
    let query = audit_query(p, start, end, 100)?;
    let page = s
        .service
        .list_audit(
            &auth.ctx,
            &org,
            continuation.as_deref().filter(|c| !c.is_empty()),
            query,
        )
        .await?;
    let mut out =
        json!({"auditLogEvents": page.events.iter().map(wire::audit_event).collect::<Vec<_>>()});
    if let Some(c) = page.continuation {
        out["continuationToken"] = json!(c);
    }
    Ok(Json(out))
}

pub async fn event_types(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    s.service.authorize_audit_read(&auth.ctx, &org).await?;
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

/// v2 export: `startTime` lower, `endTime` upper bound.
pub async fn export_v2(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Response> {
    let (start, end) = (p.start_time, p.end_time);
    export(s, auth, org, p, start, end).await
}

/// v1 export: `startTime` is the upper bound.
pub async fn export_v1(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Response> {
    let end = p.start_time;
    export(s, auth, org, p, None, end).await
}

async fn export(
    s: AppState,
    auth: Auth,
    org: String,
    p: AuditParams,
    start: Option<i64>,
    end: Option<i64>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())
        .ok_or_else(|| ApiError::bad_request("format must be csv or cef"))?;
    if p.continuation_token.is_some() || p.page_size.is_some() {
        return Err(ApiError::bad_request(
            "an export covers every matching event: it takes no continuationToken or pageSize",
        ));
    }
    let query = audit_query(p, start, end, EXPORT_BATCH)?;
    let export = s
        .service
        .export_audit(&auth.ctx, &org, query, format.extension())
        .await?;
    export::response(&org, export, format)
        .map_err(|e| ApiError::from(stackgate_core::CoreError::Internal(e.to_string())))
}

/// `GET /api/orgs/{org}/auditlogs/verify` [ours]: walks the org's hash chain.
pub async fn verify(
    State(s): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let v = s.service.verify_audit(&auth.ctx, &org).await?;
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
