//! A stack's updates: the history table on the stack page, and the page of one update
//! (its summary and its engine log as text).
//!
//! Both read through the same service calls as `pulumi stack history` and the CLI's event
//! stream (`stack_history`, `update_engine_events`), so the service decides who may see
//! them. What the CLI sent (messages, event text, names) is shown only as text.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use stackgate_core::service::{HistoryEntry, EVENTS_PAGE};
use stackgate_core::Service;
use stackgate_store::{StackUpdate, UpdateActor, UpdateEvent, UpdateStatus};

use super::engine_log::{self, Line, Rendered};
use super::Path4;
use crate::error::{PageError, PageResult};
use crate::layout::{empty, time, Frame};
use crate::session::Signed;

/// Updates per page of the history table.
pub const HISTORY_PAGE: u32 = 20;
/// Event pages (of [`EVENTS_PAGE`]) one update page shows before linking to the rest.
const LOG_PAGES: usize = 10;

/// Who ran an update. A machine token is marked as one by markup a name cannot forge: a
/// user whose display name reads "organization token 'ci'" still shows as a user.
pub fn actor(a: &UpdateActor) -> Markup {
    if a.user_id.is_some() {
        html! {
            span.actor.user {
                (a.name)
                @if a.login != a.name { " " span.login { "(" (a.login) ")" } }
            }
        }
    } else {
        html! {
            span.actor.machine {
                span.badge.token title="Machine token, not a person" { "token" }
                " " (a.name)
            }
        }
    }
}

/// The result of an update, as a word with a style.
pub fn result(status: UpdateStatus) -> Markup {
    html! { span class={"status " (status_class(status))} { (status.as_str()) } }
}

fn status_class(status: UpdateStatus) -> &'static str {
    match status {
        UpdateStatus::NotStarted => "not-started",
        UpdateStatus::Running => "running",
        UpdateStatus::Succeeded => "succeeded",
        UpdateStatus::Failed => "failed",
        UpdateStatus::Cancelled => "cancelled",
    }
}

/// How long an update took: "running" until it ends, "—" if it never started.
pub fn took(u: &StackUpdate) -> String {
    if u.started == 0 {
        "—".to_string()
    } else if u.ended == 0 {
        "running".to_string()
    } else {
        engine_log::duration(u.ended - u.started)
    }
}

/// `?page=` of the stack page, 1 when absent; anything else but a positive number is 400.
pub fn page_number(page: Option<&str>) -> PageResult<u32> {
    match page.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(1),
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| PageError::bad_request("The page must be a number from 1.")),
    }
}

/// One page of a stack's history, and whether an older page has anything.
pub struct History {
    pub page: u32,
    pub entries: Vec<HistoryEntry>,
    pub older: bool,
}

impl History {
    pub async fn load(
        signed: &Signed,
        (org, project, stack): (&str, &str, &str),
        page: u32,
    ) -> PageResult<History> {
        let service: &Service = &signed.service;
        let entries = service
            .stack_history(&signed.ctx, org, project, stack, page, HISTORY_PAGE)
            .await?;
        // One row past this page (pages of 1 row: page n is row n), without loading a
        // whole page of checkpoints to learn that there is one.
        let older = !service
            .stack_history(
                &signed.ctx,
                org,
                project,
                stack,
                page.saturating_mul(HISTORY_PAGE).saturating_add(1),
                1,
            )
            .await?
            .is_empty();
        Ok(History {
            page,
            entries,
            older,
        })
    }

    /// The history section of the stack page; `base` is the stack page's path.
    pub fn section(&self, base: &str) -> Markup {
        html! {
            section #history {
                h2 { "Update history" }
                @if self.entries.is_empty() {
                    @if self.page == 1 {
                        (empty("No updates yet. They appear here when someone runs `pulumi up`, `refresh`, `destroy` or `stack import` on this stack."))
                    } @else {
                        (empty("No older updates."))
                    }
                } @else {
                    table.history {
                        thead { tr {
                            th { "Version" } th { "Kind" } th { "Result" } th { "By" }
                            th { "Started" } th { "Duration" } th { "Changes" } th { "Message" }
                        } }
                        tbody {
                            @for e in &self.entries {
                                @let u = &e.update;
                                @let changes = engine_log::changes(u.resource_changes.as_deref());
                                @let message = engine_log::message(&u.request);
                                tr {
                                    td data-label="Version" {
                                        a href={(base) "/updates/" (u.id)} aria-label={"Update " (u.version)} { (u.version) }
                                    }
                                    td data-label="Kind" { (u.kind.as_str()) }
                                    td data-label="Result" { (result(u.status)) }
                                    td data-label="By" { (actor(&u.actor)) }
                                    td data-label="Started" { (time(u.started, "not started")) }
                                    td data-label="Duration" { (took(u)) }
                                    td data-label="Changes" { @if changes.is_empty() { "—" } @else { (changes) } }
                                    td.message data-label="Message" { (engine_log::first_line(&message, 120)) }
                                }
                            }
                        }
                    }
                }
                @if self.page > 1 || self.older {
                    p.pager {
                        @if self.page > 1 {
                            a.button href={(base) "?page=" (self.page - 1) "#history"} { "Newer updates" }
                            " "
                        }
                        @if self.older {
                            a.button href={(base) "?page=" (self.page + 1) "#history"} { "Older updates" }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LogQuery {
    /// Show the events after this sequence number (the log's next part).
    #[serde(default)]
    after: String,
}

/// The page of one update: `/console/orgs/{org}/stacks/{project}/{stack}/updates/{id}`.
pub async fn show(
    signed: Signed,
    Path((org, project, stack, id)): Path4,
    Query(q): Query<LogQuery>,
) -> PageResult<Response> {
    let after = match q.after.trim() {
        "" => -1,
        a => a
            .parse::<i64>()
            .map_err(|_| PageError::bad_request("`after` must be an event sequence number."))?,
    };
    let target = Service::update_ref(&org, &project, &stack, &id);
    // The first call decides whether the user may read the update at all.
    let (update, mut events) = signed
        .service
        .update_engine_events(&signed.ctx, &target, after)
        .await?;
    let mut full = events.len() == EVENTS_PAGE as usize;
    let mut pages = 1;
    while full && pages < LOG_PAGES {
        let last = events.last().map_or(after, |e| e.sequence);
        let (_, more) = signed
            .service
            .update_engine_events(&signed.ctx, &target, last)
            .await?;
        full = more.len() == EVENTS_PAGE as usize;
        events.extend(more);
        pages += 1;
    }
    let frame = Frame::load_for(&signed, Some(&org), None, Some((&project, &stack))).await?;
    let stack_path = format!("/console/orgs/{org}/stacks/{project}/{stack}");
    let path = format!("{stack_path}/updates/{id}");
    let title = if update.kind.writes_state() {
        format!(
            "{project}/{stack}: {} {}",
            update.kind.as_str(),
            update.version
        )
    } else {
        format!("{project}/{stack}: {}", update.kind.as_str())
    };
    let changes = engine_log::changes(update.resource_changes.as_deref());
    let message = engine_log::message(&update.request);
    let body = html! {
        p.crumbs { a href=(stack_path) { "← " (project) "/" (stack) } }
        h1 { (title) }
        dl.update {
            dt { "Result" } dd { (result(update.status)) }
            dt { "Kind" } dd { (update.kind.as_str()) }
            @if update.kind.writes_state() { dt { "Version" } dd { (update.version) } }
            dt { "By" } dd { (actor(&update.actor)) }
            dt { "Started" } dd { (time(update.started, "not started")) }
            dt { "Ended" } dd { (time(update.ended, "—")) }
            dt { "Duration" } dd { (took(&update)) }
            dt { "Changes" } dd { @if changes.is_empty() { "—" } @else { (changes) } }
            dt { "Message" } dd.message { @if message.is_empty() { "—" } @else { (message) } }
            dt { "Update ID" } dd { code { (update.id) } }
        }
        section #log {
            h2 { "Log" }
            @if after >= 0 {
                p.hint { "Events after number " (after) ". " a href={(path) "#log"} { "Start of the log" } }
            }
            (log(&events))
            @if full {
                @let last = events.last().map_or(after, |e| e.sequence);
                p { a.button href={(path) "?after=" (last) "#log"} { "Rest of the log" } }
            } @else if !update.status.is_final() {
                p.hint { "The update is " (update.status.as_str()) "; reload the page for newer output." }
            }
        }
    };
    Ok(frame.page(&title, "stacks", body).into_response())
}

/// The engine log as preformatted text, one element per event line.
fn log(events: &[UpdateEvent]) -> Markup {
    let mut lines: Vec<Line> = Vec::new();
    let mut same = 0usize;
    for e in events {
        match engine_log::render(&e.body) {
            Rendered::Line(l) => lines.push(l),
            Rendered::Same => same += 1,
            Rendered::Nothing => {}
        }
    }
    html! {
        @if lines.is_empty() && same == 0 {
            (empty("No engine output was recorded for this update."))
        } @else {
            pre.log {
                @for l in &lines {
                    span class=(l.kind.class()) { (l.text) } "\n"
                }
            }
            @if same > 0 {
                p.hint { (same) " unchanged resource" @if same != 1 { "s" } " not listed." }
            }
        }
    }
}
