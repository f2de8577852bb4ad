//! Members: list, add an existing user, change a role, remove (with confirmation).

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use stackgate_core::authz::Action;
use stackgate_store::OrgRole;

use super::{back, Done, Path1, Path2};
use crate::error::{PageError, PageResult};
use crate::layout::{confirm, flash, time, Frame};
use crate::session::{Empty, Posted, Signed};

fn role_select(id: &str, current: Option<OrgRole>) -> maud::Markup {
    html! {
        select #(id) name="role" {
            @for r in OrgRole::ALL {
                option value=(r.as_str()) selected[current == Some(r)] { (r.as_str()) }
            }
        }
    }
}

pub async fn list(
    signed: Signed,
    Path(org): Path1,
    Query(done): Query<Done>,
) -> PageResult<Response> {
    let frame = Frame::load(&signed, Some(&org)).await?;
    let page = signed
        .service
        .list_members(&signed.ctx, &org, None, 1000)
        .await?;
    let manage = frame.may(Action::ManageMembers);
    let base = format!("/console/orgs/{org}/members");
    let body = html! {
        h1 { "Members" }
        (flash(done.done.as_deref()))
        @if manage {
            form.inline.card method="post" action={(base) "/add"} {
                h2 { "Add an existing user" }
                (frame.csrf_field())
                label for="add-login" { "Login" }
                input #add-login type="text" name="login" required;
                label for="add-role" { "Role" }
                (role_select("add-role", Some(OrgRole::Member)))
                button.primary type="submit" { "Add member" }
            }
        }
        table {
            caption.visually-hidden { "Members of " (org) }
            thead { tr { th { "Login" } th { "Name" } th { "Role" } th { "Teams" } th { "Since" } @if manage { th { span.visually-hidden { "Actions" } } } } }
            tbody {
                @for (m, teams) in &page.members {
                    tr {
                        td data-label="Login" { (m.user.login) }
                        td data-label="Name" { (m.user.name) }
                        td data-label="Role" {
                            @if manage {
                                form.row method="post" action={(base) "/" (m.user.login) "/role"} {
                                    (frame.csrf_field())
                                    label.visually-hidden for={"role-" (m.user.login)} { "Role of " (m.user.login) }
                                    (role_select(&format!("role-{}", m.user.login), Some(m.role)))
                                    button type="submit" { "Change" }
                                }
                            } @else { (m.role.as_str()) }
                        }
                        td data-label="Teams" { (teams.join(", ")) }
                        td data-label="Since" { (time(m.created, "")) }
                        @if manage {
                            td { a.button.danger href={(base) "/" (m.user.login) "/remove"} { "Remove" } }
                        }
                    }
                }
            }
        }
    };
    Ok(frame.page("Members", "members", body).into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    login: String,
    role: String,
}

fn parse_role(s: &str) -> PageResult<OrgRole> {
    OrgRole::parse(s)
        .ok_or_else(|| PageError::bad_request("Choose a role: admin, member or billing-manager."))
}

pub async fn add(Path(org): Path1, p: Posted<AddForm>) -> PageResult<Response> {
    let role = parse_role(&p.form.role)?;
    p.signed
        .service
        .add_member(&p.signed.ctx, &org, p.form.login.trim(), role)
        .await?;
    back(&format!("/console/orgs/{org}/members"), "added")
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(Path((org, login)): Path2, p: Posted<RoleForm>) -> PageResult<Response> {
    let role = parse_role(&p.form.role)?;
    p.signed
        .service
        .set_member_role(&p.signed.ctx, &org, &login, role)
        .await?;
    back(&format!("/console/orgs/{org}/members"), "updated")
}

pub async fn confirm_remove(signed: Signed, Path((org, login)): Path2) -> PageResult<Response> {
    let base = format!("/console/orgs/{org}/members");
    confirm(
        &signed,
        Some(&org),
        "Remove member",
        &format!("Remove {login} from {org}? They also leave every team of {org}, and their personal tokens stop working here."),
        &format!("{base}/{login}/remove"),
        &base,
    )
    .await
}

pub async fn remove(Path((org, login)): Path2, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .remove_member(&p.signed.ctx, &org, &login)
        .await?;
    back(&format!("/console/orgs/{org}/members"), "removed")
}
