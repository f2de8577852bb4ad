//! The Pulumi CLI's state-backend routes: updates and their leases, checkpoints, engine
//! events, export/import, history, and the service secrets provider. `S` below is
//! `/api/stacks/{org}/{project}/{stack}` and `U` is `S/{kind}/{updateId}`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use stackgate_core::service::{LeaseCall, UpdateRef};
use stackgate_core::{CoreError, Service};
use stackgate_store::{Tags, UpdateKind, UpdateStatus};

use super::{no_content, Path3, Path4};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Auth, LeaseAuth, StateBody};
use crate::wire;

pub type Path5 = axum::extract::Path<(String, String, String, String, String)>;

/// The `{kind}` segment of an update path: the CLI uses `update` for every kind; the
/// others are accepted too.
fn update_ref(
    (org, project, stack, kind, id): (String, String, String, String, String),
) -> ApiResult<UpdateRef> {
    match kind.as_str() {
        "update" | "preview" | "refresh" | "destroy" => {
            Ok(Service::update_ref(&org, &project, &stack, &id))
        }
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")),
    }
}

fn lease_call(
    lease: LeaseAuth,
    path: (String, String, String, String, String),
) -> ApiResult<(Service, LeaseCall)> {
    let update = update_ref(path)?;
    Ok((
        lease.service,
        LeaseCall {
            update,
            lease: lease.lease,
            source_ip: lease.source_ip,
        },
    ))
}

async fn create(
    auth: Auth,
    (org, project, stack): (String, String, String),
    kind: UpdateKind,
    body: Value,
) -> ApiResult<Json<Value>> {
    let id = auth
        .service
        .create_update(&auth.ctx, &org, &project, &stack, kind, &body)
        .await?;
    Ok(Json(json!({"updateID": id, "messages": []})))
}

/// `POST S/update`.
pub async fn create_update(
    auth: Auth,
    Path(path): Path3,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    create(auth, path, UpdateKind::Update, body).await
}

/// `POST S/preview`.
pub async fn create_preview(
    auth: Auth,
    Path(path): Path3,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    create(auth, path, UpdateKind::Preview, body).await
}

/// `POST S/refresh`.
pub async fn create_refresh(
    auth: Auth,
    Path(path): Path3,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    create(auth, path, UpdateKind::Refresh, body).await
}

/// `POST S/destroy`.
pub async fn create_destroy(
    auth: Auth,
    Path(path): Path3,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    create(auth, path, UpdateKind::Destroy, body).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    #[serde(default)]
    tags: Option<Tags>,
}

/// `POST U`: start; answers the lease. `journalVersion: 0` keeps the CLI on checkpoints.
pub async fn start_update(
    auth: Auth,
    Path(path): Path5,
    ApiJson(req): ApiJson<StartRequest>,
) -> ApiResult<Json<Value>> {
    let target = update_ref(path)?;
    let started = auth
        .service
        .start_update(&auth.ctx, &target, req.tags.unwrap_or_default())
        .await?;
    Ok(Json(json!({
        "version": started.version,
        "token": started.lease,
        "tokenExpiration": started.lease_expires,
        "journalVersion": 0,
    })))
}

/// `GET U`: the update's status. Its engine events are at `GET U/events`.
pub async fn get_update(auth: Auth, Path(path): Path5) -> ApiResult<Json<Value>> {
    let target = update_ref(path)?;
    let update = auth.service.get_update(&auth.ctx, &target).await?;
    Ok(Json(json!({
        "status": wire::update_status(update.status),
        "events": [],
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    #[serde(rename = "continuationToken")]
    continuation_token: Option<String>,
}

/// `GET U/events?continuationToken`: the engine events the CLI recorded, in order. The
/// continuation token is the last sequence returned; it is omitted once the update has
/// ended and every event was returned.
pub async fn update_events(
    auth: Auth,
    Path(path): Path5,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let target = update_ref(path)?;
    let after = match q.continuation_token.as_deref() {
        None | Some("") => -1,
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("invalid continuationToken"))?,
    };
    let (update, events) = auth
        .service
        .update_engine_events(&auth.ctx, &target, after)
        .await?;
    let last = events.last().map(|e| e.sequence);
    let full = events.len() == stackgate_core::service::EVENTS_PAGE as usize;
    let bodies: Vec<Box<serde_json::value::RawValue>> = events
        .into_iter()
        .filter_map(|e| serde_json::value::RawValue::from_string(e.body).ok())
        .collect();
    let mut out = json!({"events": bodies});
    if full || !update.status.is_final() {
        out["continuationToken"] = json!(last.unwrap_or(after).to_string());
    }
    Ok(Json(out))
}

/// `POST U/cancel` (an access token with write on the stack).
pub async fn cancel_update(auth: Auth, Path(path): Path5) -> ApiResult<StatusCode> {
    let target = update_ref(path)?;
    no_content(auth.service.cancel_update(&auth.ctx, &target)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RenewRequest {
    /// Seconds.
    #[schema(minimum = 1)]
    duration: i64,
}

/// `POST U/renew_lease` (the lease).
pub async fn renew_lease(
    lease: LeaseAuth,
    Path(path): Path5,
    ApiJson(req): ApiJson<RenewRequest>,
) -> ApiResult<Json<Value>> {
    let (service, call) = lease_call(lease, path)?;
    let expires = service.renew_lease(&call, req.duration).await?;
    Ok(Json(
        json!({"token": call.lease, "tokenExpiration": expires}),
    ))
}

/// `PATCH U/checkpoint` and `PATCH U/checkpointverbatim` (the lease).
pub async fn checkpoint(
    lease: LeaseAuth,
    Path(path): Path5,
    StateBody(body): StateBody,
) -> ApiResult<StatusCode> {
    let (service, call) = lease_call(lease, path)?;
    no_content(service.save_checkpoint(&call, &body)).await
}

/// `PATCH U/checkpointdelta` (the lease): edits to the last checkpoint; any error makes
/// the CLI send the whole checkpoint instead.
pub async fn checkpoint_delta(
    lease: LeaseAuth,
    Path(path): Path5,
    StateBody(body): StateBody,
) -> ApiResult<StatusCode> {
    let (service, call) = lease_call(lease, path)?;
    no_content(service.save_checkpoint_delta(&call, &body)).await
}

/// `POST U/events/batch` (the lease).
pub async fn events_batch(
    lease: LeaseAuth,
    Path(path): Path5,
    StateBody(body): StateBody,
) -> ApiResult<StatusCode> {
    let (service, call) = lease_call(lease, path)?;
    no_content(service.append_engine_events(&call, &body)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CompleteRequest {
    #[schema(pattern = "^(succeeded|failed|cancelled)$")]
    status: String,
}

/// `POST U/complete` (the lease).
pub async fn complete_update(
    lease: LeaseAuth,
    Path(path): Path5,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> ApiResult<StatusCode> {
    let (service, call) = lease_call(lease, path)?;
    let status = UpdateStatus::parse(&req.status)
        .filter(|s| s.is_final())
        .ok_or_else(|| ApiError::bad_request("status must be succeeded, failed or cancelled"))?;
    no_content(service.complete_update(&call, status)).await
}

/// An export as a JSON response whose body is sent in its three parts, without copying
/// the (possibly very large) deployment into one buffer.
fn export_response(export: stackgate_core::service::Export) -> Response {
    let chunks = [
        bytes::Bytes::from(export.head),
        bytes::Bytes::from(export.deployment),
        bytes::Bytes::from_static(export.tail),
    ];
    let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// `GET S/export`: the newest deployment (an empty one for a stack never updated).
pub async fn export(auth: Auth, Path((org, project, stack)): Path3) -> ApiResult<Response> {
    let export = auth
        .service
        .export_stack(&auth.ctx, &org, &project, &stack, None)
        .await?;
    Ok(export_response(export))
}

/// `GET S/export/{version}`: 400 for a version that is not a number, 404 for one the
/// stack does not have (or no longer keeps).
pub async fn export_version(
    auth: Auth,
    Path((org, project, stack, version)): Path4,
) -> ApiResult<Response> {
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid version '{version}'")))?;
    let export = auth
        .service
        .export_stack(&auth.ctx, &org, &project, &stack, Some(version))
        .await?;
    Ok(export_response(export))
}

/// `POST S/import`: `{version, deployment}`; answers the import's update id, already
/// complete (the CLI polls `GET U` until it is).
pub async fn import(
    auth: Auth,
    Path((org, project, stack)): Path3,
    StateBody(body): StateBody,
) -> ApiResult<Json<Value>> {
    let id = auth
        .service
        .import_stack(&auth.ctx, &org, &project, &stack, &body)
        .await?;
    Ok(Json(json!({"updateId": id})))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[serde(rename = "pageSize")]
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
    #[param(minimum = 1)]
    page: Option<i64>,
}

/// `GET S/updates?pageSize&page`: `stack history`.
pub async fn history(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let page_size = stackgate_core::validate::page_size(q.page_size, 100)?;
    let page = match q.page {
        None => 1,
        Some(p) if p >= 1 => u32::try_from(p).unwrap_or(u32::MAX),
        Some(_) => return Err(ApiError::bad_request("page must be 1 or more")),
    };
    let entries = auth
        .service
        .stack_history(&auth.ctx, &org, &project, &stack, page, page_size)
        .await?;
    let updates: Vec<Value> = entries.iter().map(wire::update_info).collect();
    Ok(Json(json!({"updates": updates})))
}

/// `GET S/updates/latest` and `GET S/updates/{version}`.
pub async fn update_info(
    auth: Auth,
    Path((org, project, stack, which)): Path4,
) -> ApiResult<Json<Value>> {
    let version = match which.as_str() {
        "latest" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid version '{v}'")))?,
        ),
    };
    let entry = auth
        .service
        .stack_update_info(&auth.ctx, &org, &project, &stack, version)
        .await?;
    Ok(Json(json!({
        "info": wire::update_info(&entry),
        "updateID": entry.update.id,
        "version": entry.update.version,
    })))
}

fn decode_b64(field: &str, value: &str) -> ApiResult<Vec<u8>> {
    B64.decode(value)
        .map_err(|_| ApiError::bad_request(format!("{field} must be base64")))
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EncryptRequest {
    /// Base64.
    #[schema(value_type = crate::openapi::describe::Base64)]
    plaintext: String,
}

/// `POST S/encrypt`.
pub async fn encrypt(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<EncryptRequest>,
) -> ApiResult<Json<Value>> {
    let plain = decode_b64("plaintext", &req.plaintext)?;
    let mut out = auth
        .service
        .encrypt(&auth.ctx, &org, &project, &stack, &[plain])
        .await?;
    let ciphertext = out
        .pop()
        .ok_or_else(|| ApiError::from(CoreError::Internal("no ciphertext".into())))?;
    Ok(Json(json!({"ciphertext": B64.encode(ciphertext)})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DecryptRequest {
    /// Base64.
    #[schema(value_type = crate::openapi::describe::Base64)]
    ciphertext: String,
}

/// `POST S/decrypt`.
pub async fn decrypt(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<DecryptRequest>,
) -> ApiResult<Json<Value>> {
    let cipher = decode_b64("ciphertext", &req.ciphertext)?;
    let mut out = auth
        .service
        .decrypt(&auth.ctx, &org, &project, &stack, &[cipher])
        .await?;
    let plaintext = out
        .pop()
        .ok_or_else(|| ApiError::from(CoreError::Internal("no plaintext".into())))?;
    Ok(Json(json!({"plaintext": B64.encode(plaintext)})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchEncryptRequest {
    /// Base64 each.
    #[schema(inline, value_type = Vec<crate::openapi::describe::Base64>)]
    plaintexts: Vec<String>,
}

/// `POST S/batch-encrypt` (may be gzip): ciphertexts in order.
pub async fn batch_encrypt(
    auth: Auth,
    Path((org, project, stack)): Path3,
    StateBody(body): StateBody,
) -> ApiResult<Json<Value>> {
    let req: BatchEncryptRequest = parse_body(&body)?;
    let plains = req
        .plaintexts
        .iter()
        .map(|p| decode_b64("plaintexts", p))
        .collect::<ApiResult<Vec<_>>>()?;
    let out = auth
        .service
        .encrypt(&auth.ctx, &org, &project, &stack, &plains)
        .await?;
    let ciphertexts: Vec<String> = out.iter().map(|c| B64.encode(c)).collect();
    Ok(Json(json!({"ciphertexts": ciphertexts})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchDecryptRequest {
    /// Base64 each.
    #[schema(inline, value_type = Vec<crate::openapi::describe::Base64>)]
    ciphertexts: Vec<String>,
}

/// `POST S/batch-decrypt` (may be gzip): `{plaintexts: {"<ciphertext>": plaintext}}`,
/// keyed by each ciphertext exactly as sent.
pub async fn batch_decrypt(
    auth: Auth,
    Path((org, project, stack)): Path3,
    StateBody(body): StateBody,
) -> ApiResult<Json<Value>> {
    let req: BatchDecryptRequest = parse_body(&body)?;
    let ciphers = req
        .ciphertexts
        .iter()
        .map(|c| decode_b64("ciphertexts", c))
        .collect::<ApiResult<Vec<_>>>()?;
    let out = auth
        .service
        .decrypt(&auth.ctx, &org, &project, &stack, &ciphers)
        .await?;
    let plaintexts: serde_json::Map<String, Value> = req
        .ciphertexts
        .into_iter()
        .zip(out)
        .map(|(c, p)| (c, Value::String(B64.encode(p))))
        .collect();
    Ok(Json(json!({"plaintexts": plaintexts})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LogDecryptionRequest {
    #[serde(default, rename = "commandName")]
    command_name: Option<String>,
    #[serde(default, rename = "secretName")]
    secret_name: Option<String>,
}

/// `POST S/decrypt/log-decryption` and `S/decrypt/log-batch-decryption`.
pub async fn log_decryption(
    auth: Auth,
    Path((org, project, stack)): Path3,
    ApiJson(req): ApiJson<LogDecryptionRequest>,
) -> ApiResult<StatusCode> {
    let command = req.command_name.or(req.secret_name).unwrap_or_default();
    no_content(
        auth.service
            .log_decryption(&auth.ctx, &org, &project, &stack, &command),
    )
    .await
}
