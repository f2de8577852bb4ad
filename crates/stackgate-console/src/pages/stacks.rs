//! Stacks: list with search and tag filter (and when each was last updated); a stack's
//! tags, teams and update history (`updates.rs`); transfer to another org; delete with
//! confirmation.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use stackgate_core::authz::Action;
use stackgate_core::service::StackListQuery;

use super::teams::level_name;
use super::updates::{page_number, History};
use super::{back, Path1, Path3};
use crate::error::{PageError, PageResult};
use crate::layout::{confirm, empty, flash, time, Frame};
use crate::session::{Empty, Posted, Signed};

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    done: Option<String>,
}

pub async fn list(
    signed: Signed,
    Path(org): Path1,
    Query(s): Query<Search>,
) -> PageResult<Response> {
    let frame = Frame::load(&signed, Some(&org)).await?;
    let (tag_name, tag_value) = match s.tag.trim() {
        "" => (None, None),
        t => match t.split_once('=') {
            Some((n, v)) => (Some(n.trim().to_string()), Some(v.trim().to_string())),
            None => (Some(t.to_string()), None),
        },
    };
    let q = StackListQuery {
        organization: Some(org.clone()),
        tag_name,
        tag_value,
        max_results: 1000,
        ..StackListQuery::default()
    };
    let needle = s.q.trim().to_lowercase();
    let stacks: Vec<_> = signed
        .service
        .list_stacks(&signed.ctx, q)
        .await?
        .stacks
        .into_iter()
        .filter(|st| {
            needle.is_empty()
                || format!("{}/{}", st.project, st.name)
                    .to_lowercase()
                    .contains(&needle)
        })
        .collect();
    let base = format!("/console/orgs/{org}/stacks");
    let filtered = !needle.is_empty() || !s.tag.trim().is_empty();
    let body = html! {
        h1 { "Stacks" }
        (flash(s.done.as_deref()))
        form.filters method="get" action=(base) role="search" {
            div {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(s.q) placeholder="project or stack name";
            }
            div {
                label for="tag" { "Tag" }
                input #tag type="text" name="tag" value=(s.tag) placeholder="name or name=value";
            }
            div.buttons {
                button type="submit" { "Filter" }
                @if filtered { a href=(base) { "Clear" } }
            }
        }
        @if stacks.is_empty() {
            @if filtered { (empty("No stacks match these filters.")) }
            @else { (empty("There are no stacks you can see in this organization yet. Stacks appear here when someone runs `pulumi stack init` against stackgate.")) }
        } @else {
            table {
                thead { tr { th { "Stack" } th { "Tags" } th { "Last update" } th { "Resources" } th { "Created" } } }
                tbody {
                    @for st in &stacks {
                        tr {
                            td data-label="Stack" { a href={(base) "/" (st.project) "/" (st.name)} { (st.project) "/" (st.name) } }
                            td data-label="Tags" {
                                @for (k, v) in &st.tags { span.tag { (k) "=" (v) } " " }
                            }
                            td data-label="Last update" { (time(st.last_update.unwrap_or(0), "never")) }
                            td data-label="Resources" {
                                @match st.resource_count { Some(n) => { (n) } None => { "—" } }
                            }
                            td data-label="Created" { (time(st.created, "")) }
                        }
                    }
                }
            }
        }
    };
    Ok(frame.page("Stacks", "stacks", body).into_response())
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    done: Option<String>,
    /// The page of the update history.
    page: Option<String>,
}

pub async fn show(
    signed: Signed,
    Path((org, project, stack)): Path3,
    Query(q): Query<ShowQuery>,
) -> PageResult<Response> {
    let page = page_number(q.page.as_deref())?;
    let st = signed
        .service
        .get_stack(&signed.ctx, &org, &project, &stack)
        .await?;
    let teams = signed
        .service
        .stack_teams(&signed.ctx, &org, &project, &stack)
        .await?;
    let frame = Frame::load_for(&signed, Some(&org), None, Some((&project, &stack))).await?;
    let history = if frame.may(Action::ReadStackState) {
        Some(History::load(&signed, (&org, &project, &stack), page).await?)
    } else {
        None
    };
    let base = format!("/console/orgs/{org}/stacks/{project}/{stack}");
    let others: Vec<&String> = frame
        .orgs
        .iter()
        .map(|(o, _)| o)
        .filter(|o| **o != org)
        .collect();
    let body = html! {
        h1 { (project) "/" (stack) }
        (flash(q.done.as_deref()))
        dl {
            dt { "Organization" } dd { (org) }
            dt { "Created" } dd { (time(st.created, "")) }
            dt { "Last update" } dd { (time(st.last_update.unwrap_or(0), "never")) }
            dt { "Resources" } dd {
                @match st.resource_count { Some(n) => { (n) } None => { "—" } }
            }
            dt { "Tags" } dd {
                @if st.tags.is_empty() { "none" }
                @for (k, v) in &st.tags { span.tag { (k) "=" (v) } " " }
            }
        }
        @if let Some(h) = &history { (h.section(&base)) }
        section {
            h2 { "Teams with access" }
            @if teams.is_empty() { (empty("No team has been granted access to this stack; members get the organization's default permission.")) } @else {
                table {
                    thead { tr { th { "Team" } th { "Permission" } } }
                    tbody {
                        @for t in &teams {
                            tr {
                                td data-label="Team" { a href={"/console/orgs/" (org) "/teams/" (t.team.name)} { (t.team.display_name) } }
                                td data-label="Permission" { (level_name(t.permission)) }
                            }
                        }
                    }
                }
            }
        }
        @if frame.may(Action::TransferStack) {
            section {
                h2 { "Transfer" }
                @if others.is_empty() {
                    (empty("You belong to no other organization to transfer this stack to."))
                } @else {
                    form.inline method="post" action={(base) "/transfer"} {
                        (frame.csrf_field())
                        label for="to_org" { "Move to organization" }
                        select #to_org name="to_org" {
                            @for o in &others { option value=(o) { (o) } }
                        }
                        button type="submit" { "Transfer" }
                    }
                    p.hint { "Team grants on the stack are dropped; tags stay." }
                }
            }
        }
        @if frame.may(Action::DeleteStack) {
            section { h2 { "Delete" } a.button.danger href={(base) "/delete"} { "Delete this stack" } }
        }
    };
    Ok(frame
        .page(&format!("{project}/{stack}"), "stacks", body)
        .into_response())
}

#[derive(Deserialize)]
pub struct TransferForm {
    to_org: String,
}

pub async fn transfer(
    Path((org, project, stack)): Path3,
    p: Posted<TransferForm>,
) -> PageResult<Response> {
    if p.form.to_org.is_empty() {
        return Err(PageError::bad_request(
            "Choose the organization to move the stack to.",
        ));
    }
    p.signed
        .service
        .transfer_stack(&p.signed.ctx, &org, &project, &stack, &p.form.to_org)
        .await?;
    back(
        &format!("/console/orgs/{}/stacks/{project}/{stack}", p.form.to_org),
        "transferred",
    )
}

pub async fn confirm_delete(
    signed: Signed,
    Path((org, project, stack)): Path3,
) -> PageResult<Response> {
    let base = format!("/console/orgs/{org}/stacks/{project}/{stack}");
    confirm(
        &signed,
        Some(&org),
        "Delete stack",
        &format!("Delete stack {project}/{stack} and its state? This cannot be undone."),
        &format!("{base}/delete"),
        &base,
    )
    .await
}

pub async fn delete(Path((org, project, stack)): Path3, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .delete_stack(&p.signed.ctx, &org, &project, &stack, false)
        .await?;
    back(&format!("/console/orgs/{org}/stacks"), "deleted")
}
