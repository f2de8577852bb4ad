//! Teams: list and create; a team's page with its details, members (add, remove,
//! promote, demote), stack grants (add, change, remove) and tokens; delete with
//! confirmation.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use stackgate_core::authz::Action;
use stackgate_core::service::{MemberAction, StackListQuery, TeamUpdate};
use stackgate_store::{StackPermission, TeamRole};

use super::{back, Done, Path1, Path2};
use crate::error::{PageError, PageResult};
use crate::layout::{confirm, empty, flash, Frame};
use crate::session::{Empty, Posted, Signed};

/// The grantable levels, named for people.
pub const LEVELS: [(StackPermission, &str); 3] = [
    (StackPermission::Read, "read"),
    (StackPermission::Write, "write"),
    (StackPermission::Admin, "admin"),
];

pub fn level_name(p: StackPermission) -> &'static str {
    match p {
        StackPermission::None => "none",
        StackPermission::Read => "read",
        StackPermission::Write => "write",
        StackPermission::Admin => "admin",
        StackPermission::Creator => "creator (admin)",
    }
}

pub fn level_select(id: &str, current: Option<StackPermission>) -> Markup {
    html! {
        select #(id) name="permission" {
            @for (p, name) in LEVELS {
                option value=(p.code()) selected[current == Some(p)] { (name) }
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
    let teams = signed.service.list_teams(&signed.ctx, &org).await?;
    let base = format!("/console/orgs/{org}/teams");
    let body = html! {
        h1 { "Teams" }
        (flash(done.done.as_deref()))
        @if frame.may(Action::CreateTeam) {
            form.card method="post" action=(base) {
                h2 { "New team" }
                (frame.csrf_field())
                label for="team-name" { "Name" }
                input #team-name type="text" name="name" required maxlength="100";
                label for="team-display" { "Display name" }
                input #team-display type="text" name="display_name" maxlength="100";
                label for="team-description" { "Description" }
                input #team-description type="text" name="description" maxlength="1000";
                button.primary type="submit" { "Create team" }
            }
        }
        @if teams.is_empty() {
            (empty("There are no teams yet."))
        } @else {
            table {
                thead { tr { th { "Team" } th { "Description" } th { "Your role" } } }
                tbody {
                    @for (t, role) in &teams {
                        tr {
                            td data-label="Team" { a href={(base) "/" (t.name)} { (t.display_name) } " " small { "(" (t.name) ")" } }
                            td data-label="Description" { (t.description) }
                            td data-label="Your role" { (role.map_or("—", TeamRole::as_str)) }
                        }
                    }
                }
            }
        }
    };
    Ok(frame.page("Teams", "teams", body).into_response())
}

#[derive(Deserialize)]
pub struct NewTeam {
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(Path(org): Path1, p: Posted<NewTeam>) -> PageResult<Response> {
    let name = p.form.name.trim();
    let display = match p.form.display_name.trim() {
        "" => name,
        d => d,
    };
    let view = p
        .signed
        .service
        .create_team(
            &p.signed.ctx,
            &org,
            name,
            display,
            p.form.description.trim(),
        )
        .await?;
    back(
        &format!("/console/orgs/{org}/teams/{}", view.team.name),
        "created",
    )
}

pub async fn show(
    signed: Signed,
    Path((org, team)): Path2,
    Query(done): Query<Done>,
) -> PageResult<Response> {
    let view = signed.service.get_team(&signed.ctx, &org, &team).await?;
    let frame = Frame::load_for(&signed, Some(&org), Some(&team), None).await?;
    let update = frame.may(Action::UpdateTeam);
    let grants = frame.may(Action::ManageTeamStacks);
    let tokens = if frame.may(Action::ManageTeamTokens) {
        Some(
            signed
                .service
                .list_team_tokens(&signed.ctx, &org, &team)
                .await?,
        )
    } else {
        None
    };
    let members = if update {
        signed
            .service
            .list_members(&signed.ctx, &org, None, 1000)
            .await?
            .members
    } else {
        Vec::new()
    };
    let stacks = if grants {
        let q = StackListQuery {
            organization: Some(org.clone()),
            max_results: 1000,
            ..StackListQuery::default()
        };
        signed.service.list_stacks(&signed.ctx, q).await?.stacks
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
    let base = format!("/console/orgs/{org}/teams/{team}");
    let t = &view.team;
    let body = html! {
        h1 { (t.display_name) " " small { "(" (t.name) ")" } }
        (flash(done.done.as_deref()))
        @if !t.description.is_empty() { p.lead { (t.description) } }
        @if update {
            details.card {
                summary { "Edit team details" }
                form method="post" action={(base) "/edit"} {
                    (frame.csrf_field())
                    label for="display_name" { "Display name" }
                    input #display_name type="text" name="display_name" value=(t.display_name) maxlength="100";
                    label for="description" { "Description" }
                    input #description type="text" name="description" value=(t.description) maxlength="1000";
                    button.primary type="submit" { "Save" }
                }
            }
        }
        section {
            h2 { "Members" }
            @if view.members.is_empty() { (empty("This team has no members.")) } @else {
                table {
                    thead { tr { th { "Login" } th { "Team role" } @if update { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for (u, role) in &view.members {
                            tr {
                                td data-label="Login" { (u.login) }
                                td data-label="Team role" { (role.as_str()) }
                                @if update {
                                    td.actions {
                                        @let next = if *role == TeamRole::Admin { ("demote", "Make member") } else { ("promote", "Make team admin") };
                                        form.row method="post" action={(base) "/members"} {
                                            (frame.csrf_field())
                                            input type="hidden" name="login" value=(u.login);
                                            button type="submit" name="action" value=(next.0) { (next.1) }
                                            button.danger type="submit" name="action" value="remove" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if update {
                form.inline method="post" action={(base) "/members"} {
                    (frame.csrf_field())
                    input type="hidden" name="action" value="add";
                    label for="add-member" { "Add member" }
                    select #add-member name="login" {
                        @for (m, _) in &members {
                            @if !view.members.iter().any(|(u, _)| u.id == m.user.id) {
                                option value=(m.user.login) { (m.user.login) }
                            }
                        }
                    }
                    button type="submit" { "Add" }
                }
            }
        }
        section {
            h2 { "Stack access" }
            @if view.stacks.is_empty() { (empty("This team has no stack grants.")) } @else {
                table {
                    thead { tr { th { "Stack" } th { "Permission" } @if grants { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for (s, perm) in &view.stacks {
                            tr {
                                td data-label="Stack" { (s.project) "/" (s.name) }
                                td data-label="Permission" {
                                    @if grants {
                                        form.row method="post" action={(base) "/stacks"} {
                                            (frame.csrf_field())
                                            input type="hidden" name="stack" value={(s.project) "/" (s.name)};
                                            label.visually-hidden for={"perm-" (s.id)} { "Permission on " (s.project) "/" (s.name) }
                                            (level_select(&format!("perm-{}", s.id), Some(*perm)))
                                            button type="submit" name="op" value="edit" { "Change" }
                                            button.danger type="submit" name="op" value="remove" { "Remove" }
                                        }
                                    } @else { (level_name(*perm)) }
                                }
                            }
                        }
                    }
                }
            }
            @if grants {
                form.inline method="post" action={(base) "/stacks"} {
                    (frame.csrf_field())
                    input type="hidden" name="op" value="add";
                    label for="grant-stack" { "Grant access to" }
                    select #grant-stack name="stack" {
                        @for s in &stacks {
                            option value={(s.project) "/" (s.name)} { (s.project) "/" (s.name) }
                        }
                    }
                    label for="grant-perm" { "Permission" }
                    (level_select("grant-perm", Some(StackPermission::Read)))
                    button type="submit" { "Grant" }
                }
            }
        }
        @if let Some(tokens) = &tokens {
            (super::tokens::team_section(&frame, &org, &team, tokens, cap))
        }
        @if frame.may(Action::DeleteTeam) {
            section { h2 { "Delete team" } a.button.danger href={(base) "/delete"} { "Delete this team" } }
        }
    };
    Ok(frame.page(&t.display_name, "teams", body).into_response())
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    description: String,
}

pub async fn edit(Path((org, team)): Path2, p: Posted<EditForm>) -> PageResult<Response> {
    let update = TeamUpdate {
        new_display_name: Some(p.form.display_name.trim().to_string()),
        new_description: Some(p.form.description.trim().to_string()),
        ..TeamUpdate::default()
    };
    p.signed
        .service
        .update_team(&p.signed.ctx, &org, &team, update)
        .await?;
    back(&format!("/console/orgs/{org}/teams/{team}"), "updated")
}

#[derive(Deserialize)]
pub struct MemberForm {
    action: String,
    login: String,
}

pub async fn members(Path((org, team)): Path2, p: Posted<MemberForm>) -> PageResult<Response> {
    let action = MemberAction::parse(&p.form.action)
        .ok_or_else(|| PageError::bad_request("Unknown member action."))?;
    let update = TeamUpdate {
        member: Some((action, p.form.login.clone())),
        ..TeamUpdate::default()
    };
    p.signed
        .service
        .update_team(&p.signed.ctx, &org, &team, update)
        .await?;
    back(&format!("/console/orgs/{org}/teams/{team}"), "updated")
}

#[derive(Deserialize)]
pub struct StackForm {
    op: String,
    stack: String,
    #[serde(default)]
    permission: Option<i64>,
}

pub async fn stacks(Path((org, team)): Path2, p: Posted<StackForm>) -> PageResult<Response> {
    let (project, stack) = p
        .form
        .stack
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| PageError::bad_request("Choose a stack."))?;
    let perm = || {
        p.form
            .permission
            .and_then(StackPermission::from_code)
            .ok_or_else(|| PageError::bad_request("Choose a permission: read, write or admin."))
    };
    let mut update = TeamUpdate::default();
    match p.form.op.as_str() {
        "add" => update.add_stack = Some((project, stack, perm()?)),
        "edit" => update.edit_stack = Some((project, stack, perm()?)),
        "remove" => update.remove_stack = Some((project, stack)),
        _ => return Err(PageError::bad_request("Unknown stack operation.")),
    }
    p.signed
        .service
        .update_team(&p.signed.ctx, &org, &team, update)
        .await?;
    back(&format!("/console/orgs/{org}/teams/{team}"), "updated")
}

pub async fn confirm_delete(signed: Signed, Path((org, team)): Path2) -> PageResult<Response> {
    let base = format!("/console/orgs/{org}/teams/{team}");
    confirm(
        &signed,
        Some(&org),
        "Delete team",
        &format!("Delete team {team}? Its members lose the team's stack access and its tokens stop working."),
        &format!("{base}/delete"),
        &base,
    )
    .await
}

pub async fn delete(Path((org, team)): Path2, p: Posted<Empty>) -> PageResult<Response> {
    p.signed
        .service
        .delete_team(&p.signed.ctx, &org, &team)
        .await?;
    back(&format!("/console/orgs/{org}/teams"), "deleted")
}
