//! The storage contract of stackgate.
//!
//! This crate owns the *records* that are persisted and the [`Store`] / [`Tx`] traits a
//! backend implements. It knows nothing about HTTP, permissions or audit semantics: the
//! `stackgate-core` crate drives a [`Tx`] to load facts, decide, change state and append
//! the audit event, then commits — so a change and its audit event land together or not
//! at all. Backends (`stackgate-store-sqlite`, `stackgate-store-postgres`) implement the
//! traits and map their driver errors onto [`StoreError`]. The contract is split by area
//! ([`UserStore`], [`TeamStore`], ...): adding a storage method means the trait method here
//! and its SQL in each backend's module of that area, nothing else.

#![forbid(unsafe_code)]

mod ids;
mod model;
mod state;

pub use ids::{OrgId, StackId, TeamId, TokenId, UpdateId, UserId};
pub use model::*;
pub use state::*;

use async_trait::async_trait;

/// Errors a backend reports. Anything that is not a constraint outcome is `Backend`:
/// its text goes to the log, never to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate name, member already present).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row a write addressed does not exist (e.g. deleted concurrently).
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed or returned something unexpected.
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A storage backend: hands out transactions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A transaction that may write. Dropping it without [`Tx::commit`] rolls it back.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// A read-only snapshot (cheaper on backends with a separate read pool).
    async fn read(&self) -> StoreResult<Box<dyn Tx>>;
    /// Cheap liveness probe of the database.
    async fn ping(&self) -> StoreResult<()>;
    /// Calls `on_change` whenever another process on the same database may have
    /// committed a change announced with [`Tx::announce_change`], and also whenever the
    /// backend cannot rule out having missed one (e.g. after reconnecting). Runs in the
    /// background for as long as the process lives; call it once, from a long-running
    /// server. Backends with one writer process (SQLite) never call it.
    fn watch_changes(&self, on_change: std::sync::Arc<dyn Fn() + Send + Sync>);
}

/// The storage traits, for `use stackgate_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AuditStore, MembershipStore, OrgStore, SessionStore, StackStateStore, StackStore, Store,
        TeamStore, TokenStore, Tx, UserStore,
    };
}

/// One database transaction: the methods of every area, plus commit. Every method runs
/// inside the transaction. A backend implements each area trait in that area's module,
/// with the SQL in the trait method itself (no pass-through layer), and `Tx` itself in
/// its `tx.rs`.
///
/// On a `dyn Tx` the methods of every area trait are callable without importing the
/// area traits (they are its supertraits); code holding a concrete backend transaction
/// imports them with `use stackgate_store::prelude::*;`.
#[async_trait]
pub trait Tx:
    UserStore
    + SessionStore
    + OrgStore
    + MembershipStore
    + TeamStore
    + StackStore
    + TokenStore
    + AuditStore
    + StackStateStore
    + Send
{
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Tells every other process watching the database ([`Store::watch_changes`]) that
    /// this transaction changed something, once it commits (nothing if it rolls back).
    async fn announce_change(&mut self) -> StoreResult<()>;
}

/// Users. Each backend implements it in its `users.rs`.
#[async_trait]
pub trait UserStore: Send {
    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&mut self, id: &UserId) -> StoreResult<Option<User>>;
    /// Whether at least one user exists.
    async fn any_user(&mut self) -> StoreResult<bool>;
    async fn insert_user(&mut self, user: &User) -> StoreResult<()>;
    async fn set_site_admin(&mut self, user_id: &UserId, site_admin: bool) -> StoreResult<()>;
    /// Every user, ordered by login.
    async fn list_users(&mut self) -> StoreResult<Vec<User>>;
}

/// Console credentials: password hashes and sessions. Each backend implements it in its `sessions.rs`.
#[async_trait]
pub trait SessionStore: Send {
    /// The user's password hash (PHC string), if a password is set. Kept out of [`User`]
    /// so that it is never loaded where it is not needed.
    async fn password_hash(&mut self, user_id: &UserId) -> StoreResult<Option<String>>;
    async fn set_password_hash(&mut self, user_id: &UserId, hash: Option<&str>) -> StoreResult<()>;
    async fn insert_session(&mut self, session: &Session) -> StoreResult<()>;
    async fn session_by_hash(&mut self, hash: &str) -> StoreResult<Option<Session>>;
    async fn touch_session(
        &mut self,
        hash: &str,
        last_seen: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()>;
    async fn delete_session(&mut self, hash: &str) -> StoreResult<()>;
    async fn delete_user_sessions(&mut self, user_id: &UserId) -> StoreResult<u64>;
    async fn delete_expired_sessions(&mut self, now: Timestamp) -> StoreResult<u64>;
}

/// Organizations and their settings. Each backend implements it in its `orgs.rs`.
#[async_trait]
pub trait OrgStore: Send {
    async fn org_by_name(&mut self, name: &str) -> StoreResult<Option<Org>>;
    async fn org_by_id(&mut self, id: &OrgId) -> StoreResult<Option<Org>>;
    async fn insert_org(&mut self, org: &Org) -> StoreResult<()>;
    async fn update_org_settings(
        &mut self,
        org_id: &OrgId,
        settings: &OrgSettings,
    ) -> StoreResult<()>;
    /// Counts for the org metadata response.
    async fn org_counts(&mut self, org_id: &OrgId) -> StoreResult<OrgCounts>;
    /// Every org (for background jobs such as retention).
    async fn list_orgs(&mut self) -> StoreResult<Vec<Org>>;
}

/// Org memberships and roles. Each backend implements it in its `memberships.rs`.
#[async_trait]
pub trait MembershipStore: Send {
    async fn membership(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> StoreResult<Option<OrgRole>>;
    /// Every org the user belongs to, ordered by org name.
    async fn user_memberships(&mut self, user_id: &UserId) -> StoreResult<Vec<(Org, OrgRole)>>;
    /// Members ordered by login, starting strictly after `after_login`.
    async fn list_members(
        &mut self,
        org_id: &OrgId,
        after_login: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Member>>;
    async fn insert_membership(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
        role: OrgRole,
        created: i64,
    ) -> StoreResult<()>;
    async fn set_member_role(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
        role: OrgRole,
    ) -> StoreResult<()>;
    /// Removes the membership and the user's membership of every team of the org.
    async fn delete_membership(&mut self, org_id: &OrgId, user_id: &UserId) -> StoreResult<()>;
    async fn count_admins(&mut self, org_id: &OrgId) -> StoreResult<u64>;
}

/// Teams, their members and their stack grants. Each backend implements it in its `teams.rs`.
#[async_trait]
pub trait TeamStore: Send {
    async fn team_by_name(&mut self, org_id: &OrgId, name: &str) -> StoreResult<Option<Team>>;
    async fn team_by_id(&mut self, team_id: &TeamId) -> StoreResult<Option<Team>>;
    async fn list_teams(&mut self, org_id: &OrgId) -> StoreResult<Vec<Team>>;
    async fn insert_team(&mut self, team: &Team) -> StoreResult<()>;
    async fn update_team(&mut self, team: &Team) -> StoreResult<()>;
    /// Deletes the team, its memberships and grants, and marks its tokens deleted at `now`.
    async fn delete_team(&mut self, team_id: &TeamId, now: i64) -> StoreResult<()>;
    async fn team_members(&mut self, team_id: &TeamId) -> StoreResult<Vec<(User, TeamRole)>>;
    async fn team_role(
        &mut self,
        team_id: &TeamId,
        user_id: &UserId,
    ) -> StoreResult<Option<TeamRole>>;
    async fn upsert_team_member(
        &mut self,
        team_id: &TeamId,
        user_id: &UserId,
        role: TeamRole,
    ) -> StoreResult<()>;
    async fn delete_team_member(&mut self, team_id: &TeamId, user_id: &UserId) -> StoreResult<()>;
    /// Teams of one org the user belongs to, with the user's team role.
    async fn user_teams(
        &mut self,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> StoreResult<Vec<(Team, TeamRole)>>;
    async fn team_stacks(&mut self, team_id: &TeamId)
        -> StoreResult<Vec<(Stack, StackPermission)>>;
    async fn stack_teams(
        &mut self,
        stack_id: &StackId,
    ) -> StoreResult<Vec<(Team, StackPermission)>>;
    async fn set_team_stack(
        &mut self,
        team_id: &TeamId,
        stack_id: &StackId,
        perm: StackPermission,
    ) -> StoreResult<()>;
    async fn delete_team_stack(&mut self, team_id: &TeamId, stack_id: &StackId) -> StoreResult<()>;
}

/// Stacks and their tags. Each backend implements it in its `stacks.rs`.
#[async_trait]
pub trait StackStore: Send {
    async fn stack(
        &mut self,
        org_id: &OrgId,
        project: &str,
        name: &str,
    ) -> StoreResult<Option<Stack>>;
    async fn project_exists(&mut self, org_id: &OrgId, project: &str) -> StoreResult<bool>;
    async fn insert_stack(&mut self, stack: &Stack) -> StoreResult<()>;
    async fn delete_stack(&mut self, stack_id: &StackId) -> StoreResult<()>;
    async fn set_stack_tags(&mut self, stack_id: &StackId, tags: &Tags) -> StoreResult<()>;
    /// Moves a stack to another org and drops every team grant on it.
    async fn move_stack(&mut self, stack_id: &StackId, to_org_id: &OrgId) -> StoreResult<()>;
    /// Gives a stack a new project and name in its org; its id — and so its grants, tags
    /// and everything else keyed by it — stays. `Conflict` when the org already has a
    /// stack of that name, `NotFound` when the stack is gone.
    async fn rename_stack(
        &mut self,
        stack_id: &StackId,
        project: &str,
        name: &str,
    ) -> StoreResult<()>;
    /// Stacks of the given orgs matching the filter, ordered by (org, project, stack),
    /// strictly after `filter.after`.
    async fn list_stacks(&mut self, filter: &StackFilter) -> StoreResult<Vec<Stack>>;
    async fn org_stacks(&mut self, org_id: &OrgId) -> StoreResult<Vec<Stack>>;
}

/// Access tokens (stored by hash only). Each backend implements it in its `tokens.rs`.
#[async_trait]
pub trait TokenStore: Send {
    async fn insert_token(&mut self, token: &Token) -> StoreResult<()>;
    async fn token_by_hash(&mut self, hash: &str) -> StoreResult<Option<Token>>;
    async fn token_by_id(&mut self, id: &TokenId) -> StoreResult<Option<Token>>;
    /// Live (not deleted) tokens of one owner, newest first.
    async fn list_tokens(&mut self, owner: &TokenOwner) -> StoreResult<Vec<Token>>;
    async fn mark_token_deleted(&mut self, token_id: &TokenId, now: i64) -> StoreResult<()>;
    async fn touch_token(&mut self, token_id: &TokenId, last_used: i64) -> StoreResult<()>;
    /// Every token, deleted ones included, oldest first (for copying an installation).
    async fn all_tokens(&mut self) -> StoreResult<Vec<Token>>;
}

/// A stack's state: updates and their leases and events, the deployment of each version,
/// and the wrapped secrets data key. Each backend implements it in its `state.rs`. Every
/// row is keyed by the stack's id, so a rename or transfer keeps it, and deleting the
/// stack deletes it (ON DELETE CASCADE).
#[async_trait]
pub trait StackStateStore: Send {
    async fn insert_update(&mut self, update: &StackUpdate) -> StoreResult<()>;
    async fn stack_update(
        &mut self,
        stack_id: &StackId,
        id: &UpdateId,
    ) -> StoreResult<Option<StackUpdate>>;
    /// Writes an update's mutable fields (status, version, times, lease, resource
    /// changes). `Conflict` when it would give the stack a second running update that
    /// writes state (one per stack, enforced by the database).
    async fn save_update(&mut self, update: &StackUpdate) -> StoreResult<()>;
    /// The stack's running update that writes state, if any (previews do not hold it).
    async fn active_update(&mut self, stack_id: &StackId) -> StoreResult<Option<StackUpdate>>;
    /// How many updates of the whole installation are running (previews included).
    async fn running_updates(&mut self) -> StoreResult<u64>;
    /// The stack's updates, newest first; previews only when asked.
    async fn list_updates(
        &mut self,
        stack_id: &StackId,
        include_previews: bool,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<StackUpdate>>;
    /// The update that wrote `version` of the stack.
    async fn update_by_version(
        &mut self,
        stack_id: &StackId,
        version: i64,
    ) -> StoreResult<Option<StackUpdate>>;
    /// Appends engine events; a sequence number already stored is skipped (retries).
    async fn append_update_events(
        &mut self,
        update_id: &UpdateId,
        events: &[UpdateEvent],
    ) -> StoreResult<()>;
    /// Events of an update with `sequence > after`, in order, at most `limit`.
    async fn update_events(
        &mut self,
        update_id: &UpdateId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<UpdateEvent>>;
    /// Saves (or replaces) the deployment of one version.
    async fn save_checkpoint(&mut self, checkpoint: &Checkpoint) -> StoreResult<()>;
    /// The deployment of `version`, or of the newest saved version when `None`.
    async fn checkpoint(
        &mut self,
        stack_id: &StackId,
        version: Option<i64>,
    ) -> StoreResult<Option<Checkpoint>>;
    /// `(version, resource count)` of the kept versions from `from` to `to` (inclusive),
    /// ascending, without reading their deployments (what history shows).
    async fn resource_counts(
        &mut self,
        stack_id: &StackId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, i64)>>;
    /// Keeps the newest `keep` versions' deployments and deletes older ones.
    async fn prune_checkpoints(&mut self, stack_id: &StackId, keep: u32) -> StoreResult<u64>;
    /// Records on the stack its current version, when it was last updated and how many
    /// resources its newest deployment holds (what `stack ls` shows).
    async fn set_stack_state(
        &mut self,
        stack_id: &StackId,
        version: i64,
        last_update: Timestamp,
        resource_count: i64,
    ) -> StoreResult<()>;
    async fn stack_key(&mut self, stack_id: &StackId) -> StoreResult<Option<StackKey>>;
    /// `Conflict` when the stack already has a key (a concurrent first use).
    async fn insert_stack_key(&mut self, key: &StackKey) -> StoreResult<()>;
    /// Every wrapped key (for re-wrapping under a new master key).
    async fn all_stack_keys(&mut self) -> StoreResult<Vec<StackKey>>;
    async fn replace_stack_key(&mut self, key: &StackKey) -> StoreResult<()>;
}

/// Audit events and each org's hash-chain head. Each backend implements it in its `audit.rs`.
#[async_trait]
pub trait AuditStore: Send {
    /// The org's chain head. Backends with concurrent writers lock it for the rest of the
    /// transaction, so that two events can never take the same place in the chain.
    async fn audit_head(&mut self, org_id: &OrgId) -> StoreResult<AuditHead>;
    /// Appends an event at `link` and advances the org's head to it.
    async fn insert_audit(&mut self, event: &NewAuditEvent, link: &ChainLink) -> StoreResult<()>;
    /// Events of one org, newest first (by `seq`), below `query.before_seq`, filtered.
    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Events of one org in chain order with `seq > after_seq`, at most `limit`.
    async fn audit_chain(
        &mut self,
        org_id: &OrgId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes the org's events with `seq <= through_seq` and records the last one deleted
    /// (`through_seq`, `through_hash`) in the head. Returns how many were deleted.
    async fn prune_audit(
        &mut self,
        org_id: &OrgId,
        through_seq: i64,
        through_hash: &str,
    ) -> StoreResult<u64>;
    /// The highest `seq` of the org's events older than `before` (for retention).
    async fn last_audit_seq_before(
        &mut self,
        org_id: &OrgId,
        before: Timestamp,
    ) -> StoreResult<Option<(i64, String)>>;
    /// Overwrites an org's chain head (for copying an installation with its pruned state).
    async fn set_audit_head(&mut self, org_id: &OrgId, head: &AuditHead) -> StoreResult<()>;
}
