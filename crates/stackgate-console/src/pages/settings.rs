//! Org settings: default stack permission, what members may do, max token lifetime.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use stackgate_core::authz::Action;
use stackgate_core::service::OrgSettingsUpdate;
use stackgate_store::StackPermission;

use super::{back, Done, Path1};
use crate::error::{PageError, PageResult};
use crate::layout::{flash, Frame};
use crate::session::{Posted, Signed};

const DEFAULTS: [(StackPermission, &str); 4] = [
    (StackPermission::None, "none"),
    (StackPermission::Read, "read"),
    (StackPermission::Write, "write"),
    (StackPermission::Admin, "admin"),
];

pub async fn show(
    signed: Signed,
    Path(org): Path1,
    Query(done): Query<Done>,
) -> PageResult<Response> {
    let frame = Frame::load(&signed, Some(&org)).await?;
    let s = signed
        .service
        .get_org(&signed.ctx, &org)
        .await?
        .org
        .settings;
    let check = |id: &str, label: &str, on: bool| {
        html! {
            div.check {
                input #(id) type="checkbox" name=(id) value="on" checked[on];
                label for=(id) { (label) }
            }
        }
    };
    let body = html! {
        h1 { "Settings" }
        (flash(done.done.as_deref()))
        @if !frame.may(Action::UpdateOrgSettings) {
            p.empty { "Only organization admins can change these settings." }
        } @else {
            form.card method="post" action={"/console/orgs/" (org) "/settings"} {
                (frame.csrf_field())
                label for="default_stack_permission" { "Default stack permission for members" }
                select #default_stack_permission name="default_stack_permission" {
                    @for (p, name) in DEFAULTS {
                        option value=(p.code()) selected[s.default_stack_permission == p] { (name) }
                    }
                }
                fieldset {
                    legend { "Members may" }
                    (check("members_can_create_stacks", "create stacks", s.members_can_create_stacks))
                    (check("members_can_create_teams", "create teams", s.members_can_create_teams))
                    (check("members_can_delete_stacks", "delete stacks they administer", s.members_can_delete_stacks))
                    (check("members_can_transfer_stacks", "transfer stacks they administer", s.members_can_transfer_stacks))
                }
                label for="max_access_token_expiry_days" { "Maximum token lifetime (days; empty or 0 = no limit)" }
                input #max_access_token_expiry_days type="number" min="0" max="3650" name="max_access_token_expiry_days"
                    value=[s.max_access_token_expiry_days];
                button.primary type="submit" { "Save settings" }
            }
        }
    };
    Ok(frame.page("Settings", "settings", body).into_response())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    default_stack_permission: i64,
    members_can_create_stacks: Option<String>,
    members_can_create_teams: Option<String>,
    members_can_delete_stacks: Option<String>,
    members_can_transfer_stacks: Option<String>,
    #[serde(default)]
    max_access_token_expiry_days: String,
}

pub async fn update(Path(org): Path1, p: Posted<SettingsForm>) -> PageResult<Response> {
    let f = &p.form;
    let perm = StackPermission::from_code(f.default_stack_permission)
        .ok_or_else(|| PageError::bad_request("Choose a default stack permission."))?;
    let max = match f.max_access_token_expiry_days.trim() {
        "" => 0,
        v => v.parse::<i64>().map_err(|_| {
            PageError::bad_request("The maximum token lifetime must be a whole number of days.")
        })?,
    };
    let on = |v: &Option<String>| Some(v.as_deref() == Some("on"));
    let update = OrgSettingsUpdate {
        default_stack_permission: Some(perm),
        members_can_create_stacks: on(&f.members_can_create_stacks),
        members_can_create_teams: on(&f.members_can_create_teams),
        members_can_delete_stacks: on(&f.members_can_delete_stacks),
        members_can_transfer_stacks: on(&f.members_can_transfer_stacks),
        max_access_token_expiry_days: Some(max),
        ..OrgSettingsUpdate::default()
    };
    p.signed
        .service
        .update_org_settings(&p.signed.ctx, &org, update)
        .await?;
    back(&format!("/console/orgs/{org}/settings"), "updated")
}
