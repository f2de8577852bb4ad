//! The page frame (header, org switcher, navigation) and small shared widgets.

use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use stackgate_core::authz::Action;

use crate::assets::{CSS_PATH, JS_PATH};
use crate::error::PageResult;
use crate::session::Signed;

/// The `<head>` every page shares: charset, viewport, title, the stylesheet and script.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · stackgate" }
            link rel="stylesheet" href=(CSS_PATH);
            script src=(JS_PATH) defer {}
        }
    }
}

/// A complete HTML document without navigation (sign-in and error pages).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    main #main.narrow { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// What the frame of a signed-in page needs: the user's orgs and, inside an org, the
/// actions the user may perform there (for hiding controls only).
pub struct Frame {
    pub login: String,
    pub csrf: String,
    pub orgs: Vec<(String, &'static str)>,
    pub org: Option<String>,
    pub permitted: Vec<Action>,
}

impl Frame {
    pub async fn load(signed: &Signed, org: Option<&str>) -> PageResult<Frame> {
        Self::load_for(signed, org, None, None).await
    }

    pub async fn load_for(
        signed: &Signed,
        org: Option<&str>,
        team: Option<&str>,
        stack: Option<(&str, &str)>,
    ) -> PageResult<Frame> {
        let orgs = signed
            .service
            .my_orgs(&signed.ctx)
            .await?
            .into_iter()
            .map(|(o, r)| (o.name, r.as_str()))
            .collect();
        let permitted = match org {
            Some(org) => {
                signed
                    .service
                    .permitted_actions(&signed.ctx, org, team, stack)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(Frame {
            login: signed.session.user.login.clone(),
            csrf: signed.csrf().to_string(),
            orgs,
            org: org.map(str::to_string),
            permitted,
        })
    }

    pub fn may(&self, action: Action) -> bool {
        self.permitted.contains(&action)
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A signed-in page: header with org switcher, navigation, and `body`.
    pub fn page(&self, title: &str, active: &str, body: Markup) -> Html<String> {
        let org_links: Vec<(&str, &str, &str)> = match &self.org {
            Some(_) => {
                let mut v = vec![
                    ("overview", "Overview", ""),
                    ("members", "Members", "/members"),
                    ("teams", "Teams", "/teams"),
                    ("stacks", "Stacks", "/stacks"),
                ];
                if self.may(Action::ListOrgTokens) || self.may(Action::ManageTeamTokens) {
                    v.push(("tokens", "Access tokens", "/tokens"));
                } else {
                    v.push(("tokens", "Team tokens", "/tokens"));
                }
                if self.may(Action::ReadAuditLog) {
                    v.push(("audit", "Audit log", "/audit"));
                }
                if self.may(Action::UpdateOrgSettings) {
                    v.push(("settings", "Settings", "/settings"));
                }
                v
            }
            None => Vec::new(),
        };
        Html(html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/console" { "stackgate" }
                        form.switcher method="get" action="/console" {
                            label for="org-switch" { "Organization" }
                            select #org-switch name="org" {
                                @if self.org.is_none() {
                                    option value="" selected { "Choose…" }
                                }
                                @for (name, role) in &self.orgs {
                                    option value=(name) selected[self.org.as_deref() == Some(name.as_str())] {
                                        (name) " (" (role) ")"
                                    }
                                }
                            }
                            button type="submit" { "Go" }
                        }
                        nav.user aria-label="Account" {
                            a href="/console/tokens" aria-current=[(active == "personal").then_some("page")] { "My tokens" }
                            span.who { "Signed in as " strong { (self.login) } }
                            form method="post" action="/console/logout" {
                                (self.csrf_field())
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    @if let Some(org) = &self.org {
                        nav.sections aria-label="Organization" {
                            ul {
                                @for (key, label, path) in &org_links {
                                    li {
                                        a href={"/console/orgs/" (org) (path)}
                                          aria-current=[(active == *key).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                    }
                    main #main { (body) }
                }
            }
        }.into_string())
    }
}

/// A date and time in UTC, or a placeholder for 0.
pub fn time(ts: i64, zero: &str) -> String {
    if ts == 0 {
        return zero.to_string();
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ts.to_string())
}

/// An empty-state panel.
pub fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

/// A page that asks to confirm a destructive action (inside `org`, when given); the
/// button posts to `action`, Cancel goes to `back`.
pub async fn confirm(
    signed: &Signed,
    org: Option<&str>,
    title: &str,
    what: &str,
    action: &str,
    back: &str,
) -> PageResult<Response> {
    let frame = Frame::load(signed, org).await?;
    let body = html! {
        div.card.confirm {
            h1 { (title) }
            p { (what) }
            form method="post" action=(action) {
                (frame.csrf_field())
                button.danger type="submit" { (title) }
                " "
                a.button href=(back) { "Cancel" }
            }
        }
    };
    Ok(frame.page(title, "", body).into_response())
}

/// A flash message from a redirect's `?done=` (a fixed word, never user data).
pub fn flash(done: Option<&str>) -> Markup {
    let text = match done {
        Some("added") => "Added.",
        Some("removed") => "Removed.",
        Some("updated") => "Saved.",
        Some("revoked") => "The token was revoked. It no longer works.",
        Some("deleted") => "Deleted.",
        Some("created") => "Created.",
        Some("transferred") => "The stack was transferred.",
        _ => return html! {},
    };
    html! { p.flash role="status" { (text) } }
}
