//! Signing in and out, the session cookie, and CSRF protection.
//!
//! - The session cookie `sg_session` is `HttpOnly; SameSite=Strict; Path=/console`, and
//!   `Secure` when `--secure-cookies` is set or the request came through a trusted proxy
//!   with `X-Forwarded-Proto: https`.
//! - Every form of a signed-in page carries the session's synchronizer token (`csrf`),
//!   compared in constant time on every POST ([`Posted`]). The sign-in form, which has no
//!   session yet, uses a double-submit cookie (`sg_login_csrf`, also `SameSite=Strict`).
//!   On top of that, a POST whose `Origin` (or, without one, `Referer`) names another
//!   host is refused.
//! - Failed sign-ins are limited per (login, source IP) in memory: after
//!   [`RateLimit::max_failures`] failures within [`RateLimit::window_secs`] further
//!   attempts are answered 429 until the window passes. The limit is per process.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dashmap::DashMap;
use maud::html;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use stackgate_core::service::Service;
use stackgate_core::service::{ConsoleSession, SessionId};
use stackgate_core::Ctx;
use subtle::ConstantTimeEq;

use crate::error::{PageError, PageResult};
use crate::{layout, Console};

pub const SESSION_COOKIE: &str = "sg_session";
pub const LOGIN_CSRF_COOKIE: &str = "sg_login_csrf";

/// The failed-sign-in limits: per (login, source address), and per source address
/// whatever the login (so a spray of unknown logins from one address is limited too).
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub max_failures: usize,
    /// Failed sign-ins one source address may make in the window, over all logins.
    pub max_failures_per_source: usize,
    pub window_secs: i64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            max_failures: 5,
            max_failures_per_source: 20,
            window_secs: 15 * 60,
        }
    }
}

/// Recent sign-in attempts per key. An attempt is counted *before* the password is
/// checked, in the same step as the decision to let it through (one entry lock), so
/// concurrent attempts cannot all pass the check before any is counted; a successful
/// sign-in clears its login's count.
pub struct Limiter {
    window_secs: i64,
    /// Per (login, source address).
    by_login: DashMap<(String, String), Vec<i64>>,
    max_by_login: usize,
    /// Per source address.
    by_source: DashMap<String, Vec<i64>>,
    max_by_source: usize,
}

/// Takes one attempt from `map[key]` if fewer than `max` were made in the window.
fn take<K: std::hash::Hash + Eq>(
    map: &DashMap<K, Vec<i64>>,
    key: K,
    max: usize,
    now: i64,
    window: i64,
) -> bool {
    let mut times = map.entry(key).or_default();
    times.retain(|t| now - t < window);
    if times.len() >= max {
        return false;
    }
    times.push(now);
    true
}

/// Gives back the newest attempt of `map[key]` (a sign-in that succeeded).
fn give_back<K: std::hash::Hash + Eq>(map: &DashMap<K, Vec<i64>>, key: &K) {
    if let Some(mut times) = map.get_mut(key) {
        times.pop();
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            window_secs: limit.window_secs,
            by_login: DashMap::new(),
            max_by_login: limit.max_failures,
            by_source: DashMap::new(),
            max_by_source: limit.max_failures_per_source,
        }
    }

    /// Counts an attempt for `key` and its source, or refuses it (`false`) when either
    /// limit is reached. Check and count are one step per map entry.
    fn begin(&self, key: &(String, String), now: i64) -> bool {
        let window = self.window_secs;
        if !take(
            &self.by_source,
            key.1.clone(),
            self.max_by_source,
            now,
            window,
        ) {
            return false;
        }
        if !take(&self.by_login, key.clone(), self.max_by_login, now, window) {
            give_back(&self.by_source, &key.1);
            return false;
        }
        self.prune(now);
        true
    }

    /// A successful sign-in: its login's failures are forgiven, and its own attempt is
    /// not held against its source.
    fn succeeded(&self, key: &(String, String)) {
        self.by_login.remove(key);
        give_back(&self.by_source, &key.1);
    }

    /// Keeps the maps from growing without bound under a spray of logins.
    fn prune(&self, now: i64) {
        let window = self.window_secs;
        if self.by_login.len() > 10_000 {
            self.by_login
                .retain(|_, times| times.iter().any(|t| now - t < window));
        }
        if self.by_source.len() > 10_000 {
            self.by_source
                .retain(|_, times| times.iter().any(|t| now - t < window));
        }
    }
}

/// How long a sign-in waits for a free password-check slot before it is refused (503).
const SIGN_IN_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(a)| a.ip())
}

/// Whether cookies must be `Secure` for this request.
fn secure(parts: &Parts, state: &Console) -> bool {
    if state.config.secure_cookies {
        return true;
    }
    let ip = peer(parts);
    let trusted = state.config.trusted_proxies.iter().any(|n| n.contains(&ip));
    trusted
        && parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Refuses a POST whose `Origin` (or `Referer`) names another host than `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match claimed {
        None => true,
        Some(url) => {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(rest) => {
                    let authority = rest.split('/').next().unwrap_or("");
                    !host.is_empty() && authority.eq_ignore_ascii_case(host)
                }
                None => false,
            }
        }
    }
}

/// A signed-in request: the service to call, the context its methods take for the user,
/// and the session. Pages need nothing else of the console's state, so they take this
/// one extractor rather than `State` as well.
pub struct Signed {
    pub service: Service,
    pub ctx: Ctx,
    pub session: ConsoleSession,
}

impl Signed {
    pub fn csrf(&self) -> &str {
        &self.session.session.csrf_token
    }
}

impl FromRequestParts<Console> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &Console) -> PageResult<Signed> {
        let id = read_cookie(&parts.headers, SESSION_COOKIE)
            .and_then(SessionId::parse)
            .ok_or(PageError::SignIn)?;
        let session = state.service.session(&id, state.config.session).await?;
        let ip = stackgate_http::client_ip::source_ip(parts, &state.config.trusted_proxies);
        Ok(Signed {
            service: state.service.clone(),
            ctx: Ctx::new(session.principal(), ip),
            session,
        })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A signed-in POST with a form body: refused (403) unless the form's `csrf` field equals
/// the session's token and the request's origin is this site.
pub struct Posted<T> {
    pub signed: Signed,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Console> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &Console) -> PageResult<Posted<T>> {
        let (mut parts, body) = req.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(PageError::csrf());
        }
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| PageError::bad_request("The form is too large."))?;
        let field: CsrfField = serde_urlencoded_from(&bytes)?;
        if !same(&field.csrf, signed.csrf()) {
            return Err(PageError::csrf());
        }
        let form: T = serde_urlencoded_from(&bytes)?;
        Ok(Posted { signed, form })
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(bytes: &[u8]) -> PageResult<T> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| PageError::bad_request(format!("The form could not be read: {e}.")))
}

/// The signed-in user (if any) for pages that work without a session.
pub async fn optional(parts: &mut Parts, state: &Console) -> Option<Signed> {
    Signed::from_request_parts(parts, state).await.ok()
}

pub async fn login_page(State(state): State<Console>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if optional(&mut parts, &state).await.is_some() {
        return Redirect::to("/console").into_response();
    }
    login_form(&parts, &state, StatusCode::OK, None, "")
}

fn login_form(
    parts: &Parts,
    state: &Console,
    status: StatusCode,
    message: Option<&str>,
    login: &str,
) -> Response {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let body = layout::bare(
        "Sign in",
        html! {
            div.card.signin {
                h1 { "Sign in to stackgate" }
                @if let Some(m) = message {
                    p.flash.error #error-message role="alert" { (m) }
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(token);
                    label for="login" { "Login" }
                    input #login type="text" name="login" value=(login) autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button.primary type="submit" { "Sign in" }
                }
                p.hint { "No password yet? An operator sets one with "
                    code { "stackgate user set-password LOGIN" } "." }
            }
        },
    );
    let set = cookie(LOGIN_CSRF_COOKIE, &token, Some(3600), secure(parts, state));
    (status, [(header::SET_COOKIE, set)], body).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn login(State(state): State<Console>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024).await else {
        return PageError::bad_request("The form is too large.").into_response();
    };
    let form: LoginForm = match serde_urlencoded_from(&bytes) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let cookie_token = read_cookie(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !same_origin(&parts.headers) || !same(&form.csrf, cookie_token) {
        return PageError::csrf().into_response();
    }
    let ip = stackgate_http::client_ip::source_ip(&parts, &state.config.trusted_proxies);
    let key = (form.login.clone(), ip.clone());
    if !state.limiter.begin(&key, now()) {
        // Not the login field: it is whatever was typed, possibly a password, and the
        // core's sign-in deliberately never logs an unknown login either.
        tracing::warn!(source_ip = %ip, "console sign-in rate limited");
        return login_form(
            &parts,
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed sign-ins. Wait 15 minutes and try again."),
            &form.login,
        );
    }
    // Each password check takes ~19 MiB (argon2id) and a CPU for a while: at most
    // `max_concurrent_sign_ins` run at once; the rest wait briefly, then get 503.
    let permit =
        match tokio::time::timeout(SIGN_IN_QUEUE_WAIT, state.hashing.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::warn!(source_ip = %ip, "console sign-in refused: too many at once");
                return login_form(
                    &parts,
                    &state,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some("Too many sign-ins at once. Try again in a moment."),
                    &form.login,
                );
            }
        };
    let signed = state
        .service
        .sign_in(&form.login, &form.password, &ip, state.config.session)
        .await;
    drop(permit);
    match signed {
        Ok((id, session)) => {
            state.limiter.succeeded(&key);
            let secure = secure(&parts, &state);
            let max_age = state.config.session.max_age;
            let set = cookie(SESSION_COOKIE, id.expose(), Some(max_age), secure);
            let clear = cookie(LOGIN_CSRF_COOKIE, "", Some(0), secure);
            tracing::info!(login = %session.user.login, source_ip = %ip, "console sign-in");
            let mut res = Redirect::to("/console").into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                set.parse().unwrap_or(header::HeaderValue::from_static("")),
            );
            res.headers_mut().append(
                header::SET_COOKIE,
                clear
                    .parse()
                    .unwrap_or(header::HeaderValue::from_static("")),
            );
            res
        }
        // The attempt was counted before the check: nothing more to record.
        Err(stackgate_core::CoreError::Unauthenticated(_)) => login_form(
            &parts,
            &state,
            StatusCode::UNAUTHORIZED,
            Some("The login or password is incorrect."),
            &form.login,
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The body of a form that carries nothing but its `csrf` field (delete, sign out).
#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(State(state): State<Console>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts.clone(), body);
    let posted = match Posted::<Empty>::from_request(req, &state).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Some(id) = read_cookie(&parts.headers, SESSION_COOKIE).and_then(SessionId::parse) {
        if let Err(e) = state.service.sign_out(&id).await {
            return PageError::from(e).into_response();
        }
    }
    tracing::info!(login = %posted.signed.session.user.login, "console sign-out");
    let clear = cookie(SESSION_COOKIE, "", Some(0), secure(&parts, &state));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/console/login".to_string()),
            (header::SET_COOKIE, clear),
        ],
    )
        .into_response()
}
