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
