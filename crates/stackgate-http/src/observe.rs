//! Request ids and request logs, the same for the API and the console.
//!
//! Every request gets an `X-Request-Id`: the one the client (or a proxy in front) sent,
//! when it is a short token of `[A-Za-z0-9._:-]`, else a new UUID. It is set on the
//! request, returned on the response, and recorded on the request's log span with the
//! method and the path (never the query string, which may hold filters an operator did
//! not mean to log, and never a header), so every log line of one request can be
//! correlated, and a client can quote the id of a failed call.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming request id that is kept.
const MAX_ID_LEN: usize = 128;

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Middleware: keeps an acceptable incoming `X-Request-Id`, or sets a new one; the
/// response carries it.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned);
    let id = incoming.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let Ok(value) = HeaderValue::from_str(&id) else {
        return next.run(req).await;
    };
    req.headers_mut().insert(REQUEST_ID, value.clone());
    let mut res = next.run(req).await;
    res.headers_mut().insert(REQUEST_ID, value);
    res
}

/// Middleware: counts each request and its duration by method, route *template* (never
/// the concrete path, which names orgs, stacks and token ids) and status.
pub async fn measure(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("stackgate_http_requests_total", &labels).increment(1);
    metrics::histogram!("stackgate_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// The log span of one request: method, path and request id.
fn span(req: &Request) -> Span {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %id,
    )
}

/// Adds request ids, one `info` log line per response (status and latency, in the
/// request's span) and request metrics ([`measure`]) to `router`.
pub fn observed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let trace = TraceLayer::new_for_http().make_span_with(span).on_response(
        DefaultOnResponse::new()
            .level(Level::INFO)
            .latency_unit(tower_http::LatencyUnit::Millis),
    );
    router
        .layer(axum::middleware::from_fn(measure))
        .layer(trace)
        .layer(axum::middleware::from_fn(request_id))
}
