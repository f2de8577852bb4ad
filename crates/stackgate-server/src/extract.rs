//! Request extractors: authentication, JSON bodies and query strings, each refusing bad
//! input with the API's error shape instead of axum's plain-text rejections.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use stackgate_core::auth::CachedAuth;
use stackgate_core::Ctx;

use crate::error::ApiError;
use crate::AppState;

/// An authenticated request: the context services take, and the cached token facts.
pub struct Auth {
    pub ctx: Ctx,
    pub cached: Arc<CachedAuth>,
}

/// The client's address: the connection's peer, or — when the peer is a trusted proxy —
/// the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn source_ip(parts: &Parts, trusted: &[IpNet]) -> String {
    // In-process tests have no connection; they count as loopback.
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
    client_ip(
        peer,
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        trusted,
    )
    .to_string()
}

/// Walks `X-Forwarded-For` from the right while the hop is trusted.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A garbled hop ends what can be believed.
            Err(_) => break,
        }
    }
    client
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
        Ok(Auth { ctx, cached })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|n| n.parse().ok()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &trusted);
        assert_eq!(got, ip("203.0.113.9"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), ["1.2.3.4"].into_iter(), &[]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn forwarded_for_is_walked_through_trusted_hops() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // client, then a trusted inner proxy, then the peer.
        let got = client_ip(
            ip("10.0.0.5"),
            ["198.51.100.7, 192.168.1.1"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // A spoofed left-most entry is not believed past an untrusted hop.
        let got = client_ip(
            ip("10.0.0.5"),
            ["6.6.6.6", "198.51.100.7"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // Garbage stops the walk at the last good hop.
        let got = client_ip(ip("10.0.0.5"), ["nonsense"].into_iter(), &trusted);
        assert_eq!(got, ip("10.0.0.5"));
        let v6 = client_ip(ip("10.0.0.5"), ["2001:db8::1"].into_iter(), &trusted);
        assert_eq!(v6, ip("2001:db8::1"));
    }
}
