//! Records of a stack's state: its updates (with their engine events), the deployment
//! saved by each version, and the stack's wrapped secrets data key.

use crate::{StackId, Timestamp, TokenId, UpdateId, UserId};

/// What an update does. `Update`, `Refresh`, `Destroy` and `Import` write a new stack
/// version; a `Preview` changes nothing and holds no lock on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateKind {
    Update,
    Preview,
    Refresh,
    Destroy,
    Import,
}

impl UpdateKind {
    pub const ALL: [UpdateKind; 5] = [
        UpdateKind::Update,
        UpdateKind::Preview,
        UpdateKind::Refresh,
        UpdateKind::Destroy,
        UpdateKind::Import,
    ];

    /// The wire and storage name (Pulumi's `UpdateKind`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Update => "update",
            UpdateKind::Preview => "preview",
            UpdateKind::Refresh => "refresh",
            UpdateKind::Destroy => "destroy",
            UpdateKind::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateKind> {
        UpdateKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the update writes a new version of the stack's state.
    pub fn writes_state(self) -> bool {
        self != UpdateKind::Preview
    }
}

/// Where an update is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateStatus {
    /// Created (`POST S/update`), not started yet.
    NotStarted,
    /// Started: holds a lease (and, unless a preview, the stack).
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl UpdateStatus {
    pub const ALL: [UpdateStatus; 5] = [
        UpdateStatus::NotStarted,
        UpdateStatus::Running,
        UpdateStatus::Succeeded,
        UpdateStatus::Failed,
        UpdateStatus::Cancelled,
    ];

    /// The wire and storage name (Pulumi's `UpdateStatus`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::NotStarted => "not started",
            UpdateStatus::Running => "running",
            UpdateStatus::Succeeded => "succeeded",
            UpdateStatus::Failed => "failed",
            UpdateStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateStatus> {
        UpdateStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            UpdateStatus::Succeeded | UpdateStatus::Failed | UpdateStatus::Cancelled
        )
    }
}

/// Who ran an update: a user (personal token) or a machine token, by id and name, as it
/// was when the update was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateActor {
    pub user_id: Option<UserId>,
    pub token_id: Option<TokenId>,
    /// The user's login, or the org's / team's name for a machine token.
    pub login: String,
    /// The user's display name, or the token's kind and name (`team token 'ci' of team web`).
    pub name: String,
}

/// One update of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackUpdate {
    pub id: UpdateId,
    pub stack_id: StackId,
    pub kind: UpdateKind,
    pub status: UpdateStatus,
    /// The stack version this update writes; for a preview, the version it read. 0 until
    /// the update starts.
    pub version: i64,
    pub created: Timestamp,
    /// 0 until started / ended.
    pub started: Timestamp,
    pub ended: Timestamp,
    pub actor: UpdateActor,
    /// The program request as the CLI sent it (program, options, config, metadata), JSON.
    pub request: String,
    /// SHA-256 (hex) of the update's lease; `None` before start. Kept after the end (a
    /// final status makes it dead) so that a retried completion is recognised.
    pub lease_hash: Option<String>,
    /// When the lease lapses (unix seconds); 0 without a lease.
    pub lease_expires: Timestamp,
    /// The engine's summary (`{"create": 2, "same": 1}`), JSON; `None` until reported.
    pub resource_changes: Option<String>,
}

/// One engine event of an update, as the CLI sent it (JSON), by its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateEvent {
    pub sequence: i64,
    pub body: String,
}

/// The deployment saved for one version of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub stack_id: StackId,
    pub version: i64,
    pub update_id: Option<UpdateId>,
    /// The deployment schema version (3 today).
    pub schema_version: i64,
    /// The deployment's feature list, JSON (`["refBeforeDeploy"]`), when it has one.
    pub features: Option<String>,
    /// The deployment's JSON text, byte for byte as received.
    pub deployment: Vec<u8>,
    pub resource_count: i64,
    pub saved: Timestamp,
}

/// A stack's secrets data key, wrapped by the installation's master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackKey {
    pub stack_id: StackId,
    pub wrapped: Vec<u8>,
    /// The public fingerprint of the master key that wrapped it.
    pub master_key_id: String,
    pub created: Timestamp,
}
