//! The landing redirect, the org switcher and the org overview.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use stackgate_core::authz::Action;

use super::Path1;
use crate::error::PageResult;
use crate::layout::{empty, Frame};
use crate::session::Signed;

#[derive(Deserialize)]
pub struct Switch {
    org: Option<String>,
}

pub async fn home(signed: Signed, Query(q): Query<Switch>) -> PageResult<Response> {
    let orgs = signed.service.my_orgs(&signed.ctx).await?;
    let wanted = q.org.filter(|o| !o.is_empty());
    let target = match wanted {
        Some(o) => orgs
            .iter()
            .find(|(org, _)| org.name == o)
            .map(|(org, _)| org.name.clone()),
        None => orgs.first().map(|(org, _)| org.name.clone()),
    };
    if let Some(org) = target {
        return Ok(Redirect::to(&format!("/console/orgs/{org}")).into_response());
    }
    let frame = Frame::load(&signed, None).await?;
    Ok(frame
        .page(
            "Welcome",
            "",
            html! {
                h1 { "Welcome, " (frame.login) }
                (empty("You are not a member of any organization yet. Ask an organization admin to add you; meanwhile you can manage your personal access tokens."))
                p { a.button href="/console/tokens" { "My personal tokens" } }
            },
        )
        .into_response())
}

pub async fn overview(signed: Signed, Path(org): Path1) -> PageResult<Response> {
    let frame = Frame::load(&signed, Some(&org)).await?;
    let view = signed.service.get_org(&signed.ctx, &org).await?;
    let teams = signed.service.list_teams(&signed.ctx, &org).await?;
    let members = signed
        .service
        .list_members(&signed.ctx, &org, None, 10)
        .await?;
    let tokens = if frame.may(Action::ListOrgTokens) {
        Some(signed.service.list_org_tokens(&signed.ctx, &org).await?)
    } else {
        None
    };
    let base = format!("/console/orgs/{org}");
    let body = html! {
        h1 { (org) }
        p.lead { "Your role: " strong { (view.user_role) } }
        div.tiles {
            a.tile href={(base) "/members"} { span.num { (view.counts.members) } " members" }
            a.tile href={(base) "/teams"} { span.num { (teams.len()) } " teams" }
            a.tile href={(base) "/stacks"} { span.num { (view.counts.stacks) } " stacks" }
            @if let Some(t) = &tokens {
                a.tile href={(base) "/tokens"} { span.num { (t.len()) } " org tokens" }
            }
        }
        section {
            h2 { "Members" }
            ul.plain {
                @for (m, _) in &members.members {
                    li { (m.user.login) " — " (m.role.as_str()) }
                }
            }
            a href={(base) "/members"} { "All members" }
        }
        section {
            h2 { "Teams" }
            @if teams.is_empty() {
                (empty("No teams yet."))
            } @else {
                ul.plain {
                    @for (t, _) in &teams {
                        li { a href={(base) "/teams/" (t.name)} { (t.display_name) } }
                    }
                }
            }
        }
    };
    Ok(frame.page(&org, "overview", body).into_response())
}
