//! [`PgTx`]: the one `impl Tx`, delegating each method to its table module.
//!
//! Dropping a `PgTx` without `commit` drops the inner `sqlx::Transaction`, which rolls
//! back before its connection returns to the pool.

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, Transaction};
use stackgate_store::{
    AuditEvent, AuditHead, AuditQuery, ChainLink, Member, NewAuditEvent, Org, OrgCounts, OrgRole,
    OrgSettings, Session, Stack, StackFilter, StackPermission, StoreResult, Tags, Team, TeamRole,
    Timestamp, Token, TokenOwner, Tx, User,
};

use crate::error::db_err;
use crate::{audit, memberships, orgs, sessions, stacks, teams, tokens, users};

/// A transaction on one pooled PostgreSQL connection.
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// False for a read-only snapshot: `audit_head` then reads without locking.
    writable: bool,
}

impl PgTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>, writable: bool) -> Self {
        PgTx { tx, writable }
    }

    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }
    async fn announce_change(&mut self) -> StoreResult<()> {
        // Delivered to every listener when (and only if) the transaction commits.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::CHANGES_CHANNEL)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- users
    async fn user_by_login(&mut self, login: &str) -> StoreResult<Option<User>> {
        users::by_login(self.conn(), login).await
    }
    async fn user_by_id(&mut self, id: &str) -> StoreResult<Option<User>> {
        users::by_id(self.conn(), id).await
    }
    async fn list_users(&mut self) -> StoreResult<Vec<User>> {
        users::all(self.conn()).await
    }
    async fn password_hash(&mut self, user_id: &str) -> StoreResult<Option<String>> {
        sessions::password_hash(self.conn(), user_id).await
    }
    async fn set_password_hash(&mut self, user_id: &str, hash: Option<&str>) -> StoreResult<()> {
        sessions::set_password_hash(self.conn(), user_id, hash).await
    }
    async fn insert_session(&mut self, session: &Session) -> StoreResult<()> {
        sessions::insert(self.conn(), session).await
    }
    async fn session_by_hash(&mut self, hash: &str) -> StoreResult<Option<Session>> {
        sessions::by_hash(self.conn(), hash).await
    }
    async fn touch_session(
        &mut self,
        hash: &str,
        last_seen: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()> {
        sessions::touch(self.conn(), hash, last_seen, expires).await
    }
    async fn delete_session(&mut self, hash: &str) -> StoreResult<()> {
        sessions::delete(self.conn(), hash).await
    }
    async fn delete_user_sessions(&mut self, user_id: &str) -> StoreResult<u64> {
        sessions::delete_for_user(self.conn(), user_id).await
    }
    async fn delete_expired_sessions(&mut self, now: Timestamp) -> StoreResult<u64> {
        sessions::delete_expired(self.conn(), now).await
    }
    async fn any_user(&mut self) -> StoreResult<bool> {
        users::any(self.conn()).await
    }
    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        users::insert(self.conn(), user).await
    }
    async fn set_site_admin(&mut self, user_id: &str, site_admin: bool) -> StoreResult<()> {
        users::set_site_admin(self.conn(), user_id, site_admin).await
    }

    // ---- organizations
    async fn org_by_name(&mut self, name: &str) -> StoreResult<Option<Org>> {
        orgs::by_name(self.conn(), name).await
    }
    async fn org_by_id(&mut self, id: &str) -> StoreResult<Option<Org>> {
        orgs::by_id(self.conn(), id).await
    }
    async fn insert_org(&mut self, org: &Org) -> StoreResult<()> {
        orgs::insert(self.conn(), org).await
    }
    async fn update_org_settings(
        &mut self,
        org_id: &str,
        settings: &OrgSettings,
    ) -> StoreResult<()> {
        orgs::update_settings(self.conn(), org_id, settings).await
    }
    async fn org_counts(&mut self, org_id: &str) -> StoreResult<OrgCounts> {
        orgs::counts(self.conn(), org_id).await
    }

    // ---- memberships
    async fn membership(&mut self, org_id: &str, user_id: &str) -> StoreResult<Option<OrgRole>> {
        memberships::role(self.conn(), org_id, user_id).await
    }
    async fn user_memberships(&mut self, user_id: &str) -> StoreResult<Vec<(Org, OrgRole)>> {
        memberships::of_user(self.conn(), user_id).await
    }
    async fn list_members(
        &mut self,
        org_id: &str,
        after_login: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        memberships::list(self.conn(), org_id, after_login, limit).await
    }
    async fn insert_membership(
        &mut self,
        org_id: &str,
        user_id: &str,
        role: OrgRole,
        created: i64,
    ) -> StoreResult<()> {
        memberships::insert(self.conn(), org_id, user_id, role, created).await
    }
    async fn set_member_role(
        &mut self,
        org_id: &str,
        user_id: &str,
        role: OrgRole,
    ) -> StoreResult<()> {
        memberships::set_role(self.conn(), org_id, user_id, role).await
    }
    async fn delete_membership(&mut self, org_id: &str, user_id: &str) -> StoreResult<()> {
        memberships::delete(self.conn(), org_id, user_id).await
    }
    async fn count_admins(&mut self, org_id: &str) -> StoreResult<u64> {
        memberships::count_admins(self.conn(), org_id).await
    }

    // ---- teams
    async fn team_by_name(&mut self, org_id: &str, name: &str) -> StoreResult<Option<Team>> {
        teams::by_name(self.conn(), org_id, name).await
    }
    async fn team_by_id(&mut self, team_id: &str) -> StoreResult<Option<Team>> {
        teams::by_id(self.conn(), team_id).await
    }
    async fn list_teams(&mut self, org_id: &str) -> StoreResult<Vec<Team>> {
        teams::of_org(self.conn(), org_id).await
    }
    async fn insert_team(&mut self, team: &Team) -> StoreResult<()> {
        teams::insert(self.conn(), team).await
    }
    async fn update_team(&mut self, team: &Team) -> StoreResult<()> {
        teams::update(self.conn(), team).await
    }
    async fn delete_team(&mut self, team_id: &str, now: i64) -> StoreResult<()> {
        teams::delete(self.conn(), team_id, now).await
    }
    async fn team_members(&mut self, team_id: &str) -> StoreResult<Vec<(User, TeamRole)>> {
        teams::members(self.conn(), team_id).await
    }
    async fn team_role(&mut self, team_id: &str, user_id: &str) -> StoreResult<Option<TeamRole>> {
        teams::role(self.conn(), team_id, user_id).await
    }
    async fn upsert_team_member(
        &mut self,
        team_id: &str,
        user_id: &str,
        role: TeamRole,
    ) -> StoreResult<()> {
        teams::upsert_member(self.conn(), team_id, user_id, role).await
    }
    async fn delete_team_member(&mut self, team_id: &str, user_id: &str) -> StoreResult<()> {
        teams::delete_member(self.conn(), team_id, user_id).await
    }
    async fn user_teams(
        &mut self,
        org_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<(Team, TeamRole)>> {
        teams::of_user(self.conn(), org_id, user_id).await
    }
    async fn team_stacks(&mut self, team_id: &str) -> StoreResult<Vec<(Stack, StackPermission)>> {
        teams::stacks(self.conn(), team_id).await
    }
    async fn stack_teams(&mut self, stack_id: &str) -> StoreResult<Vec<(Team, StackPermission)>> {
        teams::of_stack(self.conn(), stack_id).await
    }
    async fn set_team_stack(
        &mut self,
        team_id: &str,
        stack_id: &str,
        perm: StackPermission,
    ) -> StoreResult<()> {
        teams::set_stack(self.conn(), team_id, stack_id, perm).await
    }
    async fn delete_team_stack(&mut self, team_id: &str, stack_id: &str) -> StoreResult<()> {
        teams::delete_stack(self.conn(), team_id, stack_id).await
    }

    // ---- stacks
    async fn stack(
        &mut self,
        org_id: &str,
        project: &str,
        name: &str,
    ) -> StoreResult<Option<Stack>> {
        stacks::get_one(self.conn(), org_id, project, name).await
    }
    async fn project_exists(&mut self, org_id: &str, project: &str) -> StoreResult<bool> {
        stacks::project_exists(self.conn(), org_id, project).await
    }
    async fn insert_stack(&mut self, stack: &Stack) -> StoreResult<()> {
        stacks::insert(self.conn(), stack).await
    }
    async fn delete_stack(&mut self, stack_id: &str) -> StoreResult<()> {
        stacks::delete(self.conn(), stack_id).await
    }
    async fn set_stack_tags(&mut self, stack_id: &str, tags: &Tags) -> StoreResult<()> {
        stacks::set_tags(self.conn(), stack_id, tags).await
    }
    async fn move_stack(&mut self, stack_id: &str, to_org_id: &str) -> StoreResult<()> {
        stacks::move_to(self.conn(), stack_id, to_org_id).await
    }
    async fn list_stacks(&mut self, filter: &StackFilter) -> StoreResult<Vec<Stack>> {
        stacks::list(self.conn(), filter).await
    }
    async fn org_stacks(&mut self, org_id: &str) -> StoreResult<Vec<Stack>> {
        stacks::of_org(self.conn(), org_id).await
    }

    // ---- tokens
    async fn insert_token(&mut self, token: &Token) -> StoreResult<()> {
        tokens::insert(self.conn(), token).await
    }
    async fn token_by_hash(&mut self, hash: &str) -> StoreResult<Option<Token>> {
        tokens::by_hash(self.conn(), hash).await
    }
    async fn token_by_id(&mut self, id: &str) -> StoreResult<Option<Token>> {
        tokens::by_id(self.conn(), id).await
    }
    async fn list_tokens(&mut self, owner: &TokenOwner) -> StoreResult<Vec<Token>> {
        tokens::of_owner(self.conn(), owner).await
    }
    async fn mark_token_deleted(&mut self, token_id: &str, now: i64) -> StoreResult<()> {
        tokens::mark_deleted(self.conn(), token_id, now).await
    }
    async fn all_tokens(&mut self) -> StoreResult<Vec<Token>> {
        tokens::all(self.conn()).await
    }
    async fn touch_token(&mut self, token_id: &str, last_used: i64) -> StoreResult<()> {
        tokens::touch(self.conn(), token_id, last_used).await
    }

    // ---- audit
    async fn audit_head(&mut self, org_id: &str) -> StoreResult<AuditHead> {
        if self.writable {
            audit::lock_head(self.conn(), org_id).await
        } else {
            audit::head(self.conn(), org_id).await
        }
    }
    async fn insert_audit(&mut self, event: &NewAuditEvent, link: &ChainLink) -> StoreResult<()> {
        audit::insert(self.conn(), event, link).await
    }
    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        audit::list(self.conn(), query).await
    }
    async fn audit_chain(
        &mut self,
        org_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        audit::chain(self.conn(), org_id, after_seq, limit).await
    }
    async fn prune_audit(
        &mut self,
        org_id: &str,
        through_seq: i64,
        through_hash: &str,
    ) -> StoreResult<u64> {
        audit::prune(self.conn(), org_id, through_seq, through_hash).await
    }
    async fn last_audit_seq_before(
        &mut self,
        org_id: &str,
        before: Timestamp,
    ) -> StoreResult<Option<(i64, String)>> {
        audit::last_seq_before(self.conn(), org_id, before).await
    }
    async fn set_audit_head(&mut self, org_id: &str, head: &AuditHead) -> StoreResult<()> {
        audit::set_head(self.conn(), org_id, head).await
    }
    async fn list_orgs(&mut self) -> StoreResult<Vec<Org>> {
        orgs::all(self.conn()).await
    }
}
