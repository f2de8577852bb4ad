//! Who is making a request: the authenticated [`Principal`] and the request [`Ctx`].

use std::sync::Arc;

use stackgate_store::{AuditActor, OrgId, TeamId, Timestamp, Token, TokenId, User, UserId};

/// The identity behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A user, through a personal token or a console session.
    User(User),
    /// An organization token: acts for the org, tied to no user.
    OrgToken {
        org_id: OrgId,
        org_name: String,
        admin: bool,
    },
    /// A team token: acts with the team's stack grants.
    TeamToken {
        org_id: OrgId,
        org_name: String,
        team_id: TeamId,
        team_name: String,
        team_display_name: String,
    },
}

impl Identity {
    /// The org a machine token (org or team token) belongs to; `None` for a user.
    pub fn machine_org_id(&self) -> Option<&OrgId> {
        match self {
            Identity::User(_) => None,
            Identity::OrgToken { org_id, .. } | Identity::TeamToken { org_id, .. } => Some(org_id),
        }
    }
}

/// The token a request authenticated with (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRef {
    pub id: TokenId,
    /// Empty for personal tokens.
    pub name: String,
    /// 0 = never.
    pub expires: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub identity: Identity,
    pub token: Option<TokenRef>,
}

impl Principal {
    /// The principal a stored token acts as, given the identity the token resolves to.
    pub fn of_token(identity: Identity, token: &Token) -> Principal {
        Principal {
            identity,
            token: Some(TokenRef {
                id: token.id.clone(),
                name: token.name.clone(),
                expires: token.expires,
            }),
        }
    }

    /// The installation's operator, for changes made by background jobs and the CLI.
    pub fn operator() -> Principal {
        Principal {
            identity: Identity::User(User {
                id: UserId::default(),
                login: "stackgate".to_string(),
                name: "stackgate operator".to_string(),
                email: String::new(),
                site_admin: true,
                created: 0,
            }),
            token: None,
        }
    }

    pub fn user(&self) -> Option<&User> {
        match &self.identity {
            Identity::User(u) => Some(u),
            _ => None,
        }
    }

    /// The identity recorded in audit events: the user, or the org's or team's machine
    /// identity for machine tokens, plus the token id and name when a token acted.
    ///
    /// A machine identity's login is `org:<org>` or `team:<team>`: a colon cannot occur
    /// in a user login, so a team named like a user (`alice`) can never read as that
    /// user, in the API, an export, the console or a `userFilter`. Its name says what it
    /// is (`team token of team alice`), never a display name someone chose.
    pub fn audit_actor(&self) -> AuditActor {
        let (login, name, email) = match &self.identity {
            Identity::User(u) => (u.login.clone(), u.name.clone(), u.email.clone()),
            Identity::OrgToken { org_name, .. } => (
                machine_login("org", org_name),
                format!("organization token of {org_name}"),
                String::new(),
            ),
            Identity::TeamToken { team_name, .. } => (
                machine_login("team", team_name),
                format!("team token of team {team_name}"),
                String::new(),
            ),
        };
        AuditActor {
            login,
            name,
            email,
            token_id: self.token.as_ref().map(|t| t.id.to_string()),
            token_name: self.token.as_ref().map(|t| t.name.clone()),
        }
    }
}

/// The audit login of a machine identity: `org:acme`, `team:platform`.
pub fn machine_login(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// Per-request context handed to every service call.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub principal: Arc<Principal>,
    pub source_ip: String,
}

impl Ctx {
    /// The installation's operator (CLI commands, background jobs), from `source`.
    pub fn operator(source: impl Into<String>) -> Ctx {
        Ctx::new(Arc::new(Principal::operator()), source)
    }

    pub fn new(principal: Arc<Principal>, source_ip: impl Into<String>) -> Ctx {
        Ctx {
            principal,
            source_ip: source_ip.into(),
        }
    }
}

/// The current time in unix seconds, from the system clock. Services read theirs from
/// their [`Clock`](crate::clock::Clock) instead (`Service::now`), so tests can move it.
pub fn now() -> Timestamp {
    use crate::clock::Clock;
    crate::clock::SystemClock.now()
}
