//! Access tokens: personal, org and team tokens. A new token's value appears only in the
//! response to the POST that created it (never in a URL, a redirect or the session),
//! with a copy button; it cannot be shown again.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use stackgate_core::authz::Action;
use stackgate_core::service::CreatedToken;
use stackgate_store::Token;

use super::{back, Done, Path1, Path2, Path3};
use crate::error::{PageError, PageResult};
use crate::layout::{confirm, empty, flash, time, Frame};
use crate::session::{Empty, Posted, Signed};

const DAY: i64 = 86_400;
const CHOICES: [u32; 7] = [7, 30, 60, 90, 180, 365, 730];

/// The expiry picker; with an org maximum, longer choices and "never" are left out.
fn expiry_picker(cap: Option<u32>) -> Markup {
    let default = cap.map_or(90, |c| c.min(90));
    html! {
        label for="expires_days" { "Expires" }
        select #expires_days name="expires_days" {
            @for d in CHOICES.iter().filter(|d| cap.is_none_or(|c| **d <= c)) {
                option value=(d) selected[*d == default] { "in " (d) " days" }
            }
            @if let Some(c) = cap {
                @if !CHOICES.contains(&c) {
                    option value=(c) selected[c == default] { "in " (c) " days (the maximum)" }
                }
            } @else {
                option value="0" { "never" }
            }
        }
        @if let Some(c) = cap {
            p.hint { "This organization requires tokens to expire within " (c) " days." }
        }
    }
}

fn expires_at(days: i64) -> PageResult<i64> {
    if days == 0 {
        return Ok(0);
    }
    // Out of range (negative, or so large that the date would overflow) is refused here;
    // the service then applies the real limit (730 days, or the org's maximum).
    let max_days = stackgate_core::validate::MAX_TOKEN_DAYS;
    if !(1..=max_days).contains(&days) {
        return Err(PageError::bad_request(format!(
            "Choose when the token expires: between 1 and {max_days} days, or never."
        )));
    }
    Ok(stackgate_core::principal::now() + days * DAY)
}

fn token_table(tokens: &[Token], revoke_base: Option<&str>, show_admin: bool) -> Markup {
    html! {
        table.tokens {
            thead { tr {
                th { "Name" } th { "Description" }
                @if show_admin { th { "Scope" } }
                th { "Created by" } th { "Created" } th { "Last used" } th { "Expires" }
                @if revoke_base.is_some() { th { span.visually-hidden { "Actions" } } }
            } }
            tbody {
                @for t in tokens {
                    tr {
                        td data-label="Name" { @if t.name.is_empty() { code { (t.id) } } @else { (t.name) } }
                        td data-label="Description" { (t.description) }
                        @if show_admin { td data-label="Scope" { @if t.admin { strong.badge.warn { "Admin" } } @else { "Member" } } }
                        td data-label="Created by" { (t.created_by) }
                        td data-label="Created" { (time(t.created, "")) }
                        td data-label="Last used" { (time(t.last_used, "never")) }
                        td data-label="Expires" { (time(t.expires, "never")) }
                        @if let Some(base) = revoke_base {
                            td { a.button.danger href={(base) "/" (t.id) "/revoke"} aria-label={"Revoke token " (t.name)} { "Revoke" } }
                        }
                    }
                }
            }
        }
    }
}

/// The one and only display of a new token's value.
fn created_page(
    frame: &Frame,
    created: &CreatedToken,
    back_to: &str,
    active: &str,
) -> axum::response::Html<String> {
    let t = &created.token;
    frame.page(
        "Token created",
        active,
        html! {
            div.card.created {
                h1 { "Token created" }
                @if t.admin {
                    p.warning role="alert" { strong { "Admin token. " } "This token has elevated permissions: it can manage members, teams, stacks, team tokens and settings of the organization." }
                }
                p { "Copy the value now. " strong { "It will not be shown again" } " — if you lose it, revoke the token and create a new one." }
                label for="token-value" { "Token value" }
                div.copyrow {
                    input #token-value type="text" readonly value=(created.value.expose()) autocomplete="off" spellcheck="false";
                    button.copy type="button" data-copy="token-value" { "Copy" }
                }
                dl {
                    dt { "Name" } dd #token-name { @if t.name.is_empty() { "(personal token)" } @else { (t.name) } }
                    dt { "ID" } dd #token-id { (t.id) }
                    dt { "Expires" } dd { (time(t.expires, "never")) }
                }
                p { a.button href=(back_to) { "Done" } }
            }
        },
    )
}

// ---- personal tokens

pub async fn personal(signed: Signed, Query(done): Query<Done>) -> PageResult<Response> {
    let frame = Frame::load(&signed, None).await?;
    let tokens = signed.service.list_personal_tokens(&signed.ctx).await?;
    let body = html! {
        h1 { "My personal access tokens" }
        (flash(done.done.as_deref()))
        p.lead { "Personal tokens act as you, with your role in each of your organizations." }
        form.card method="post" action="/console/tokens" {
            h2 { "New personal token" }
            (frame.csrf_field())
            label for="description" { "Description" }
            input #description type="text" name="description" maxlength="1000" required;
            (expiry_picker(None))
            button.primary type="submit" { "Create token" }
        }
        @if tokens.is_empty() {
            (empty("You have no personal tokens."))
        } @else {
            (token_table(&tokens, Some("/console/tokens"), false))
        }
    };
    Ok(frame.page("My tokens", "personal", body).into_response())
}

#[derive(Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    expires_days: i64,
}

pub async fn create_personal(p: Posted<NewToken>) -> PageResult<Response> {
    let expires = expires_at(p.form.expires_days)?;
    let created = p
        .signed
        .service
        .create_personal_token(&p.signed.ctx, p.form.description.trim(), expires)
        .await?;
    let frame = Frame::load(&p.signed, None).await?;
    Ok(created_page(&frame, &created, "/console/tokens", "personal").into_response())
}

pub async fn confirm_revoke_personal(signed: Signed, Path(id): Path1) -> PageResult<Response> {
    confirm(
        &signed,
        None,
        "Revoke token",
        "Revoke this personal token? Anything using it stops working at once.",
        &format!("/console/tokens/{id}/revoke"),
        "/console/tokens",
    )
    .await
}

pub async fn revoke_personal(Path(id): Path1, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .delete_personal_token(&p.signed.ctx, &id)
        .await?;
    back("/console/tokens", "revoked")
}

// ---- org tokens

pub async fn org(
    signed: Signed,
    Path(org): Path1,
    Query(done): Query<Done>,
) -> PageResult<Response> {
    let frame = Frame::load(&signed, Some(&org)).await?;
    let base = format!("/console/orgs/{org}/tokens");
    let list = frame.may(Action::ListOrgTokens);
    let tokens = if list {
        signed.service.list_org_tokens(&signed.ctx, &org).await?
    } else {
        Vec::new()
    };
    let cap = signed
        .service
        .get_org(&signed.ctx, &org)
        .await?
        .org
        .settings
        .max_access_token_expiry_days;
    let manage = frame.may(Action::ManageOrgTokens);
    let teams = signed.service.list_teams(&signed.ctx, &org).await?;
    let body = html! {
        h1 { "Access tokens" }
        (flash(done.done.as_deref()))
        @if list {
            h2 { "Organization tokens" }
            p.lead { "Organization tokens act for " (org) " itself, not for a person." }
            @if manage {
                form.card #new-org-token method="post" action=(base) {
                    h3 { "New organization token" }
                    (frame.csrf_field())
                    label for="name" { "Name" }
                    input #name type="text" name="name" required maxlength="40" pattern="[A-Za-z0-9_\\-]{1,40}" aria-describedby="name-hint";
                    p.hint #name-hint { "1–40 letters, digits, '-' or '_'; unique in the organization." }
                    label for="description" { "Description" }
                    input #description type="text" name="description" maxlength="1000";
                    div.check {
                        input #admin type="checkbox" name="admin" value="on" aria-describedby="admin-warning";
                        label for="admin" { "Admin" }
                        p.warning #admin-warning role="note" {
                            strong { "Elevated permissions. " }
                            "An Admin token can do everything an organization admin can — add and remove members, change roles and settings, delete stacks, read the audit log — except create or delete organization tokens. Only check this if the tool using it really needs it."
                        }
                    }
                    (expiry_picker(cap))
                    button.primary type="submit" { "Create token" }
                }
            }
            @if tokens.is_empty() {
                (empty("There are no organization tokens."))
            } @else {
                (token_table(&tokens, manage.then_some(base.as_str()), true))
            }
        }
        h2 { "Team tokens" }
        p { "Team tokens are managed on each team's page." }
        @if teams.is_empty() {
            (empty("There are no teams."))
        } @else {
            ul.plain {
                @for (t, _) in &teams {
                    li { a href={"/console/orgs/" (org) "/teams/" (t.name) "#tokens"} { (t.display_name) } }
                }
            }
        }
    };
    Ok(frame.page("Access tokens", "tokens", body).into_response())
}

pub async fn create_org(Path(org): Path1, p: Posted<NewToken>) -> PageResult<Response> {
    let expires = expires_at(p.form.expires_days)?;
    let admin = p.form.admin.as_deref() == Some("on");
    let created = p
        .signed
        .service
        .create_org_token(
            &p.signed.ctx,
            &org,
            p.form.name.trim(),
            p.form.description.trim(),
            admin,
            expires,
        )
        .await?;
    let frame = Frame::load(&p.signed, Some(&org)).await?;
    Ok(created_page(
        &frame,
        &created,
        &format!("/console/orgs/{org}/tokens"),
        "tokens",
    )
    .into_response())
}

pub async fn confirm_revoke_org(signed: Signed, Path((org, id)): Path2) -> PageResult<Response> {
    let base = format!("/console/orgs/{org}/tokens");
    confirm(
        &signed,
        Some(&org),
        "Revoke token",
        "Revoke this organization token? Anything using it stops working at once.",
        &format!("{base}/{id}/revoke"),
        &base,
    )
    .await
}

pub async fn revoke_org(Path((org, id)): Path2, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .delete_org_token(&p.signed.ctx, &org, &id)
        .await?;
    back(&format!("/console/orgs/{org}/tokens"), "revoked")
}

// ---- team tokens (listed on the team page)

/// The team-tokens section of a team page.
pub fn team_section(
    frame: &Frame,
    org: &str,
    team: &str,
    tokens: &[Token],
    cap: Option<u32>,
) -> Markup {
    let base = format!("/console/orgs/{org}/teams/{team}/tokens");
    html! {
        section #tokens {
            h2 { "Team tokens" }
            form.card method="post" action=(base) {
                h3 { "New team token" }
                (frame.csrf_field())
                label for="tt-name" { "Name" }
                input #tt-name type="text" name="name" required maxlength="40";
                label for="tt-description" { "Description" }
                input #tt-description type="text" name="description" maxlength="1000";
                (expiry_picker(cap))
                button.primary type="submit" { "Create team token" }
            }
            @if tokens.is_empty() {
                (empty("This team has no tokens."))
            } @else {
                (token_table(tokens, Some(&base), false))
            }
        }
    }
}

pub async fn create_team(Path((org, team)): Path2, p: Posted<NewToken>) -> PageResult<Response> {
    let expires = expires_at(p.form.expires_days)?;
    let created = p
        .signed
        .service
        .create_team_token(
            &p.signed.ctx,
            &org,
            &team,
            p.form.name.trim(),
            p.form.description.trim(),
            expires,
        )
        .await?;
    let frame = Frame::load(&p.signed, Some(&org)).await?;
    Ok(created_page(
        &frame,
        &created,
        &format!("/console/orgs/{org}/teams/{team}"),
        "teams",
    )
    .into_response())
}

pub async fn confirm_revoke_team(
    signed: Signed,
    Path((org, team, id)): Path3,
) -> PageResult<Response> {
    let back_to = format!("/console/orgs/{org}/teams/{team}");
    confirm(
        &signed,
        Some(&org),
        "Revoke token",
        &format!("Revoke this token of team {team}? Anything using it stops working at once."),
        &format!("{back_to}/tokens/{id}/revoke"),
        &back_to,
    )
    .await
}

pub async fn revoke_team(Path((org, team, id)): Path3, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .delete_team_token(&p.signed.ctx, &org, &team, &id)
        .await?;
    back(&format!("/console/orgs/{org}/teams/{team}"), "revoked")
}
