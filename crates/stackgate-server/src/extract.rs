//! Request extractors: authentication, JSON bodies and query strings, each refusing bad
//! input with the API's error shape instead of axum's plain-text rejections.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use stackgate_core::auth::CachedAuth;
use stackgate_core::service::Service;
use stackgate_core::Ctx;
use stackgate_http::client_ip::source_ip;

use crate::error::ApiError;
use crate::AppState;

/// An authenticated request: the service to call, the context its methods take, and the
/// cached token facts. Every API handler needs the first two together, so they come in
/// one extractor instead of `State` plus `Auth` in each signature.
pub struct Auth {
    pub service: Service,
    pub ctx: Ctx,
    pub cached: Arc<CachedAuth>,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        let ip = source_ip(parts, &state.config.trusted_proxies);
        let cached = state.service.authenticate(header, &ip).await?;
        let ctx = Ctx::new(cached.principal.clone(), ip);
        Ok(Auth {
            service: state.service.clone(),
            ctx,
            cached,
        })
    }
}

/// A JSON body; malformed JSON, wrong types and unknown enum values are 400, an
/// oversized body 413, all in the error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(ApiError::bad_request(
                    "expected a JSON body with Content-Type: application/json",
                ))
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is larger than 1 MiB",
                ))
            }
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "invalid request body: {}",
                    e.body_text()
                )))
            }
        };
        // Every request body of this API is a JSON object; serde would also read a
        // struct from an array, which no client means.
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "invalid request body: expected a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }
}

/// Query-string parameters; bad values are 400 in the error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => Err(
                ApiError::bad_request(format!("invalid query: {}", e.body_text())),
            ),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// A state-bearing body (checkpoint, import, engine events, batch encrypt/decrypt): read
/// up to [`ServerConfig::max_state_bytes`](crate::ServerConfig), gunzipped when sent with
/// `Content-Encoding: gzip` (the CLI compresses these). The limit applies to the
/// decompressed size, read incrementally, so a gzip bomb is refused with 413 after at
/// most the limit, not by running out of memory.
pub struct StateBody(pub bytes::Bytes);

impl FromRequest<AppState> for StateBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.max_state_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than this server's state limit ({limit} bytes, --max-state-size)"),
            )
        };
        let gzip = match req.headers().get(header::CONTENT_ENCODING) {
            None => false,
            Some(v) => match v.to_str().map(|s| s.trim().to_ascii_lowercase()) {
                Ok(s) if s == "gzip" || s == "x-gzip" => true,
                Ok(s) if s.is_empty() || s == "identity" => false,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported Content-Encoding (gzip or none)",
                    ))
                }
            },
        };
        let raw = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| too_large())?;
        if !gzip {
            return Ok(StateBody(raw));
        }
        let decoded = tokio::task::spawn_blocking(move || gunzip(&raw, limit))
            .await
            .map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            })?;
        match decoded {
            Ok(Some(bytes)) => Ok(StateBody(bytes.into())),
            Ok(None) => Err(too_large()),
            Err(e) => Err(ApiError::bad_request(format!("invalid gzip body: {e}"))),
        }
    }
}

/// Decompresses at most `limit` bytes; `None` when the content is larger.
fn gunzip(raw: &[u8], limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(raw)
        .take(cap)
        .read_to_end(&mut out)?;
    Ok((out.len() <= limit).then_some(out))
}

/// The lease of an update call: `Authorization: update-token <lease>`, with the client
/// address. Whether the lease is live is the service's decision.
pub struct LeaseAuth {
    pub service: Service,
    pub lease: String,
    pub source_ip: String,
}

impl FromRequestParts<AppState> for LeaseAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "this call needs the update's lease: Authorization: update-token <lease>",
            )
        };
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let lease = value
            .strip_prefix("update-token ")
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.len() <= 256)
            .ok_or_else(unauthenticated)?;
        Ok(LeaseAuth {
            service: state.service.clone(),
            lease: lease.to_string(),
            source_ip: source_ip(parts, &state.config.trusted_proxies),
        })
    }
}
