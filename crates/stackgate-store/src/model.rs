//! Records as they are persisted, and the small closed enums they carry.
//!
//! Enums convert to and from their wire/database strings here, once; permission levels
//! are compared through [`StackPermission::rank`], never by their numeric codes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, StackId, TeamId, TokenId, UserId};

/// Unix seconds.
pub type Timestamp = i64;

/// Stack tags, ordered by name so responses and audit descriptions are stable.
pub type Tags = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub email: String,
    pub site_admin: bool,
    pub created: Timestamp,
}

/// The role of a user in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrgRole {
    Admin,
    Member,
    BillingManager,
}

impl OrgRole {
    pub const ALL: [OrgRole; 3] = [OrgRole::Admin, OrgRole::Member, OrgRole::BillingManager];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
            OrgRole::BillingManager => "billing-manager",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The role of a user within a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TeamRole {
    Member,
    Admin,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(TeamRole::Member),
            "admin" => Some(TeamRole::Admin),
            _ => None,
        }
    }
}

/// A stack permission level, with Pulumi's wire codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum StackPermission {
    None,
    Read,
    Write,
    Admin,
    /// The stack's creator; counts as admin.
    Creator,
}

impl StackPermission {
    pub const ALL: [StackPermission; 5] = [
        StackPermission::None,
        StackPermission::Read,
        StackPermission::Write,
        StackPermission::Admin,
        StackPermission::Creator,
    ];

    pub fn code(self) -> i64 {
        match self {
            StackPermission::None => 0,
            StackPermission::Read => 101,
            StackPermission::Write => 102,
            StackPermission::Admin => 103,
            StackPermission::Creator => 104,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The explicit order of levels. Creator ranks with admin.
    pub fn rank(self) -> u8 {
        match self {
            StackPermission::None => 0,
            StackPermission::Read => 1,
            StackPermission::Write => 2,
            StackPermission::Admin | StackPermission::Creator => 3,
        }
    }

    /// True when this level grants at least what `needed` grants.
    pub fn allows(self, needed: StackPermission) -> bool {
        self.rank() >= needed.rank()
    }

    /// The higher of two levels.
    pub fn max(self, other: StackPermission) -> StackPermission {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl TryFrom<i64> for StackPermission {
    type Error = String;
    fn try_from(code: i64) -> Result<Self, String> {
        Self::from_code(code).ok_or_else(|| format!("unknown stack permission {code}"))
    }
}

impl From<StackPermission> for i64 {
    fn from(p: StackPermission) -> i64 {
        p.code()
    }
}

/// Organization settings, persisted as one JSON document so that adding a setting needs
/// no schema change. Missing fields take their defaults when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrgSettings {
    pub default_stack_permission: StackPermission,
    pub members_can_create_stacks: bool,
    pub members_can_create_teams: bool,
    pub members_can_delete_stacks: bool,
    pub members_can_transfer_stacks: bool,
    /// `None`: no cap on token lifetime.
    pub max_access_token_expiry_days: Option<u32>,
    /// Orgs whose admin tokens may transfer stacks into this org [ours].
    pub accept_stack_transfers_from: Vec<String>,
    /// Days of audit events to keep; `None`: forever [ours].
    pub audit_log_retention_days: Option<u32>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            default_stack_permission: StackPermission::Read,
            members_can_create_stacks: true,
            members_can_create_teams: true,
            members_can_delete_stacks: true,
            members_can_transfer_stacks: false,
            max_access_token_expiry_days: None,
            accept_stack_transfers_from: Vec::new(),
            audit_log_retention_days: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created: Timestamp,
    pub settings: OrgSettings,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrgCounts {
    pub members: u64,
    pub stacks: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: OrgRole,
    pub created: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub created: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    pub id: StackId,
    pub org_id: OrgId,
    /// Filled in by reads (joined from the org); ignored on insert.
    pub org_name: String,
    pub project: String,
    pub name: String,
    pub tags: Tags,
    /// Whoever created the stack holds the creator grant: a user or a token.
    pub creator_user_id: Option<UserId>,
    pub creator_token_id: Option<TokenId>,
    pub created: Timestamp,
    /// The version of the newest update that wrote the stack's state (0: never updated).
    pub version: i64,
    /// When an update last wrote the stack's state.
    pub last_update: Option<Timestamp>,
    /// Resources in the newest deployment (`None` before the first update).
    pub resource_count: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackFilter {
    pub org_ids: Vec<OrgId>,
    pub project: Option<String>,
    pub tag_name: Option<String>,
    pub tag_value: Option<String>,
    /// Keyset cursor: (org name, project, stack name) of the last row already returned.
    pub after: Option<(String, String, String)>,
    pub limit: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Personal,
    Organization,
    Team,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::Organization => "organization",
            TokenKind::Team => "team",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(TokenKind::Personal),
            "organization" => Some(TokenKind::Organization),
            "team" => Some(TokenKind::Team),
            _ => None,
        }
    }
}

/// An access token row. The value itself is never stored: only its SHA-256 hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub kind: TokenKind,
    pub hash: String,
    /// Empty for personal tokens.
    pub name: String,
    pub description: String,
    /// Owner of a personal token.
    pub user_id: Option<UserId>,
    /// Org of an org or team token.
    pub org_id: Option<OrgId>,
    /// Team of a team token.
    pub team_id: Option<TeamId>,
    pub admin: bool,
    /// Login of whoever created it (or the org name for a token created by a token).
    pub created_by: String,
    pub created: Timestamp,
    /// 0 = never.
    pub expires: Timestamp,
    /// 0 = never used.
    pub last_used: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenOwner {
    User(UserId),
    Org(OrgId),
    Team(TeamId),
}

/// The acting identity recorded with an audit event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditActor {
    pub login: String,
    pub name: String,
    pub email: String,
    pub token_id: Option<String>,
    pub token_name: Option<String>,
}

/// An audit event about to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub org_id: OrgId,
    pub timestamp: Timestamp,
    pub event: String,
    pub description: String,
    pub actor: AuditActor,
    pub source_ip: String,
    pub req_org_admin: bool,
    pub req_stack_admin: bool,
    pub auth_failure: bool,
}

/// An event's place in its org's hash chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainLink {
    /// 1 for an org's first event, then +1 per event.
    pub seq: i64,
    /// Hash of the event at `seq - 1` ('' for the first event).
    pub prev_hash: String,
    /// Hash of this event (see `stackgate-core`'s `chain` module).
    pub hash: String,
}

/// The head of an org's chain: its last event, and the last pruned one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditHead {
    /// 0 when the org has no events yet.
    pub seq: i64,
    pub hash: String,
    /// 0 when nothing was pruned.
    pub pruned_seq: i64,
    pub pruned_hash: String,
}

/// A stored audit event. `id` is the row id; order and cursors use `link.seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub event: NewAuditEvent,
    pub link: ChainLink,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub org_id: OrgId,
    /// Keyset cursor: only events with a smaller chain sequence number.
    pub before_seq: Option<i64>,
    /// Inclusive bounds on the timestamp.
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub events: Vec<String>,
    pub user_login: Option<String>,
    pub token_id: Option<String>,
    pub limit: u32,
}

/// A console sign-in session. The session id itself is never stored, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex of the session id held in the browser's cookie.
    pub hash: String,
    pub user_id: UserId,
    /// The synchronizer token every form of this session must carry.
    pub csrf_token: String,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    pub expires: Timestamp,
}
