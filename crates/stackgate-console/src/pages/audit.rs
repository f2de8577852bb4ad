//! The audit log: newest first, filters (event, user, token, time range), paging, and
//! CSV / CEF export through the same service call as the API's export.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use stackgate_core::catalog::EventType;
use stackgate_http::export::{self, Format};
use stackgate_store::AuditQuery;

use super::Path1;
use crate::error::{PageError, PageResult};
use crate::layout::{empty, time, Frame};
use crate::session::Signed;

const PAGE: u32 = 50;

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    event: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    token: String,
    /// `YYYY-MM-DD`, inclusive, UTC.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    format: String,
}

fn day(s: &str, end_of_day: bool) -> PageResult<Option<i64>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt)
        .map_err(|_| PageError::bad_request("Dates must look like 2026-01-31."))?;
    let start = d.midnight().assume_utc().unix_timestamp();
    Ok(Some(if end_of_day { start + 86_399 } else { start }))
}

fn query(f: &Filters, limit: u32) -> PageResult<AuditQuery> {
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(AuditQuery {
        start_time: day(&f.from, false)?,
        end_time: day(&f.to, true)?,
        events: some(&f.event).into_iter().collect(),
        user_login: some(&f.user),
        token_id: some(&f.token),
        limit,
        ..AuditQuery::default()
    })
}

/// The filters as a query string (never anything secret: names, ids and dates).
fn qs(f: &Filters) -> String {
    let pairs = [
        ("event", &f.event),
        ("user", &f.user),
        ("token", &f.token),
        ("from", &f.from),
        ("to", &f.to),
    ];
    serde_urlencoded::to_string(
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (*k, v.trim()))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}

pub async fn list(
    signed: Signed,
    Path(org): Path1,
    Query(f): Query<Filters>,
) -> PageResult<Response> {
    let q = query(&f, PAGE)?;
    let before = Some(f.before.trim()).filter(|s| !s.is_empty());
    let page = signed
        .service
        .list_audit(&signed.ctx, &org, before, q)
        .await?;
    let frame = Frame::load(&signed, Some(&org)).await?;
    let base = format!("/console/orgs/{org}/audit");
    let filters = qs(&f);
    let amp = if filters.is_empty() { "" } else { "&" };
    let filtered = !filters.is_empty();
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action=(base) {
            div { label for="event" { "Event" }
                select #event name="event" {
                    option value="" { "any event" }
                    @for e in EventType::ALL {
                        option value=(e.id()) selected[f.event == e.id()] { (e.info().display_name) }
                    }
                }
            }
            div { label for="user" { "User login" } input #user type="text" name="user" value=(f.user); }
            div { label for="token" { "Token ID" } input #token type="text" name="token" value=(f.token); }
            div { label for="from" { "From" } input #from type="date" name="from" value=(f.from); }
            div { label for="to" { "To" } input #to type="date" name="to" value=(f.to); }
            div.buttons {
                button type="submit" { "Filter" }
                @if filtered { a href=(base) { "Clear" } }
            }
        }
        p.exports {
            "Export these events: "
            a.button href={(base) "/export?format=csv" (amp) (filters)} download { "CSV" }
            " "
            a.button href={(base) "/export?format=cef" (amp) (filters)} download { "CEF" }
        }
        @if page.events.is_empty() {
            (empty(if filtered { "No events match these filters." } else { "No events yet." }))
        } @else {
            table.audit {
                thead { tr { th { "Time" } th { "Event" } th { "User" } th { "Token" } th { "Description" } th { "Source IP" } } }
                tbody {
                    @for e in &page.events {
                        @let ev = &e.event;
                        tr.failure[ev.auth_failure] {
                            td data-label="Time" { (time(ev.timestamp, "")) }
                            td data-label="Event" { code { (ev.event) } }
                            td data-label="User" { (ev.actor.login) }
                            td data-label="Token" {
                                @if let Some(id) = &ev.actor.token_id {
                                    @match ev.actor.token_name.as_deref() {
                                        Some(n) if !n.is_empty() => { strong { (n) } br; }
                                        _ => { "personal token" br; }
                                    }
                                    small { code { (id) } }
                                } @else { "—" }
                            }
                            td data-label="Description" { (ev.description) }
                            td data-label="Source IP" { (ev.source_ip) }
                        }
                    }
                }
            }
            @if let Some(next) = &page.continuation {
                p { a.button href={(base) "?" (filters) (amp) "before=" (next)} { "Older events" } }
            }
        }
    };
    Ok(frame.page("Audit log", "audit", body).into_response())
}

pub async fn export(
    signed: Signed,
    Path(org): Path1,
    Query(f): Query<Filters>,
) -> PageResult<Response> {
    let format = Format::parse(Some(&f.format))
        .ok_or_else(|| PageError::bad_request("Choose CSV or CEF."))?;
    let q = query(&f, 0)?;
    let exp = signed
        .service
        .export_audit(&signed.ctx, &org, q, format.extension())
        .await?;
    export::response(&org, exp, format)
        .map_err(|e| PageError::from(stackgate_core::CoreError::Internal(e.to_string())))
}
