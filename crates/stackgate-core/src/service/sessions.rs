//! Console sign-in: local passwords (argon2id), server-side sessions, and the list of
//! actions a principal may perform, which the console uses to decide which controls to
//! show (the POST handlers still go through the ordinary services, which check again).
//!
//! Session ids are 32 random bytes from the OS RNG, hex encoded, held only by the
//! browser; the database stores their SHA-256, like access tokens. Sign-ins and failed
//! sign-ins of known users are audit events in every org the user belongs to; a failed
//! sign-in for an unknown login belongs to no org and is only logged (never the password).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use stackgate_store::{Org, OrgId, OrgRole, Session, User};

use super::users::user_orgs_locked;
use super::{Cache, Service};
use crate::authz::{self, Action};
use crate::catalog::EventType;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Ctx, Identity, Principal};

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest accepted password (argon2 accepts more; this bounds the work per attempt).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// `last_seen` is written at most this often per session, so reads do not all become writes.
const TOUCH_GRANULARITY: i64 = 60;

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session ends after this many seconds without a request (sliding).
    pub idle_timeout: i64,
    /// A session ends this many seconds after sign-in, however active.
    pub max_age: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout: 2 * 3600,
            max_age: 12 * 3600,
        }
    }
}

/// A console session id, as held in the browser's cookie. No `Debug` or `Display`: the
/// value can only be read through [`SessionId::expose`].
pub struct SessionId(String);

impl SessionId {
    fn generate() -> SessionId {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SessionId(hex::encode(bytes))
    }

    /// Accepts only the shape [`SessionId::generate`] produces.
    pub fn parse(value: &str) -> Option<SessionId> {
        let ok = value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| SessionId(value.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 hex, the form stored in the database.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// A live session: who it belongs to and its CSRF token.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub user: User,
    pub session: Session,
}

impl ConsoleSession {
    /// The principal the console acts as: the user, with no token.
    pub fn principal(&self) -> Arc<Principal> {
        Arc::new(Principal {
            identity: Identity::User(self.user.clone()),
            token: None,
        })
    }
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash_password(password: &str) -> CoreResult<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| CoreError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing: {e}")))
}

/// Verifies `password` against an argon2 PHC string. The argon2 working memory (~19 MiB
/// with the default parameters) comes from a small pool of reused buffers instead of a
/// fresh allocation per check: freed blocks of that size stay in the allocator's
/// per-thread arenas, so a flood of sign-ins on many blocking threads would otherwise
/// leave hundreds of MiB resident (measured: 382 MiB after 150 sign-ins).
fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::{Algorithm, Params, Version};
    use subtle::ConstantTimeEq;

    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let blocks_needed = params.block_count();
    let mut blocks = take_blocks(blocks_needed);
    let hashed = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut blocks[..blocks_needed],
        )
        .is_ok();
    give_blocks(blocks);
    hashed && bool::from(out.ct_eq(expected.as_bytes()))
}

/// Argon2 working memory kept for reuse; at most [`KEPT_BUFFERS`] are kept.
static BLOCK_POOL: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());
const KEPT_BUFFERS: usize = 4;

fn take_blocks(count: usize) -> Vec<argon2::Block> {
    let pooled = BLOCK_POOL.lock().ok().and_then(|mut pool| {
        pool.iter()
            .position(|b| b.len() >= count)
            .map(|i| pool.swap_remove(i))
    });
    pooled.unwrap_or_else(|| vec![argon2::Block::default(); count])
}

fn give_blocks(blocks: Vec<argon2::Block>) {
    if let Ok(mut pool) = BLOCK_POOL.lock() {
        if pool.len() < KEPT_BUFFERS {
            pool.push(blocks);
        }
    }
}

/// A hash to verify against when the login is unknown or has no password, so that the
/// answer takes about as long as for a real account.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// The length rules of console passwords, checked before anything is written (the CLI
/// checks a new user's password before creating the user).
pub fn check_password(password: &str) -> CoreResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(CoreError::bad_request(format!(
            "the password must be at least {MIN_PASSWORD_LEN} characters long"
        )));
    }
    if chars > MAX_PASSWORD_LEN {
        return Err(CoreError::bad_request(format!(
            "the password must be at most {MAX_PASSWORD_LEN} characters long"
        )));
    }
    Ok(())
}

impl Service {
    /// Sets (or replaces) a user's console password and ends their sessions.
    pub async fn set_password(&self, login: &str, password: &str) -> CoreResult<()> {
        check_password(password)?;
        let owned = password.to_string();
        let phc = tokio::task::spawn_blocking(move || hash_password(&owned))
            .await
            .map_err(|e| CoreError::Internal(format!("password hashing task: {e}")))??;
        // Recorded in every org of the user, as the operator (a password is a credential
        // that opens the console as this user).
        let operator = Ctx::operator("cli");
        let mut op = self.write(&operator, Cache::Keep).await?;
        let user = op
            .user_by_login(login)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("user '{login}' not found")))?;
        op.set_password_hash(&user.id, Some(&phc)).await?;
        let ended = op.delete_user_sessions(&user.id).await?;
        for org in user_orgs_locked(op.tx(), &user.id).await? {
            let desc = format!(
                "console password of {} set by the operator; {ended} session(s) ended",
                user.login
            );
            op.record(&org.id, EventType::UserPasswordSet, desc).await?;
        }
        op.commit().await
    }

    /// Checks a login and password and opens a session. Every failure answers the same
    /// `Unauthenticated` message, whether the login exists or not.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        source_ip: &str,
        policy: SessionPolicy,
    ) -> CoreResult<(SessionId, ConsoleSession)> {
        let refused = || CoreError::Unauthenticated("incorrect login or password".to_string());
        let (user, phc) = {
            let mut tx = self.store.read().await?;
            match tx.user_by_login(login).await? {
                Some(user) => {
                    let phc = tx.password_hash(&user.id).await?;
                    (Some(user), phc)
                }
                None => (None, None),
            }
        };
        let has_password = phc.is_some();
        let candidate = password.to_string();
        let phc = phc.unwrap_or_else(|| dummy_hash().to_string());
        let verified = tokio::task::spawn_blocking(move || verify_password(&candidate, &phc))
            .await
            .map_err(|e| CoreError::Internal(format!("password check task: {e}")))?;
        let Some(user) = user else {
            tracing::warn!(source_ip, "console sign-in for an unknown login");
            return Err(refused());
        };
        let ctx = Ctx::new(
            Arc::new(Principal {
                identity: Identity::User(user.clone()),
                token: None,
            }),
            source_ip,
        );
        let mut op = self.write(&ctx, Cache::Keep).await?;
        let org_ids: Vec<OrgId> = user_orgs_locked(op.tx(), &user.id)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect();
        if !(verified && has_password) {
            let why = if has_password {
                "wrong password"
            } else {
                "no password set"
            };
            for org_id in &org_ids {
                let desc = format!("console sign-in of user '{}' failed: {why}", user.login);
                op.record(org_id, EventType::UserLoginFailed, desc).await?;
            }
            op.commit().await?;
            tracing::info!(login = %user.login, source_ip, reason = why, "console sign-in failed");
            return Err(refused());
        }
        let id = SessionId::generate();
        let created = op.now();
        let session = Session {
            hash: id.hash(),
            user_id: user.id.clone(),
            csrf_token: random_hex(32),
            created,
            last_seen: created,
            expires: created + policy.idle_timeout.min(policy.max_age),
        };
        op.delete_expired_sessions(created).await?;
        op.insert_session(&session).await?;
        for org_id in &org_ids {
            let desc = format!("user '{}' signed in to the console", user.login);
            op.record(org_id, EventType::UserLogin, desc).await?;
        }
        op.commit().await?;
        Ok((id, ConsoleSession { user, session }))
    }

    /// The live session behind a cookie value, with its expiry slid forward.
    pub async fn session(
        &self,
        id: &SessionId,
        policy: SessionPolicy,
    ) -> CoreResult<ConsoleSession> {
        let expired = || {
            CoreError::Unauthenticated("your session has ended; please sign in again".to_string())
        };
        let hash = id.hash();
        let now = self.now();
        // Most requests only read; the write lock is taken only to end or slide a session.
        let (mut session, user) = {
            let mut tx = self.store.read().await?;
            let Some(session) = tx.session_by_hash(&hash).await? else {
                return Err(expired());
            };
            let user = tx.user_by_id(&session.user_id).await?;
            (session, user)
        };
        if session.expires <= now || session.created + policy.max_age <= now {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&hash).await?;
            tx.commit().await?;
            return Err(expired());
        }
        let Some(user) = user else {
            return Err(expired());
        };
        if now - session.last_seen >= TOUCH_GRANULARITY {
            let expires = (now + policy.idle_timeout).min(session.created + policy.max_age);
            let mut tx = self.store.begin().await?;
            tx.touch_session(&hash, now, expires).await?;
            tx.commit().await?;
            session.last_seen = now;
            session.expires = expires;
        }
        Ok(ConsoleSession { user, session })
    }

    /// Ends a session (signing out). Unknown ids are ignored.
    pub async fn sign_out(&self, id: &SessionId) -> CoreResult<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&id.hash()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The orgs a user belongs to, with their role, for the console's org switcher.
    pub async fn my_orgs(&self, ctx: &Ctx) -> CoreResult<Vec<(Org, OrgRole)>> {
        let Some(user) = ctx.principal.user() else {
            return Ok(Vec::new());
        };
        let mut tx = self.store.read().await?;
        Ok(tx.user_memberships(&user.id).await?)
    }

    /// The actions the principal may perform in `org` (and on `team` / `stack` when
    /// given), decided by the same [`authz::check`] the operations use. For showing or
    /// hiding controls only: every operation checks again. 404 when the org is hidden.
    pub async fn permitted_actions(
        &self,
        ctx: &Ctx,
        org_name: &str,
        team: Option<&str>,
        stack: Option<(&str, &str)>,
    ) -> CoreResult<Vec<Action>> {
        let mut op = self.read(ctx).await?;
        let org = op.org(org_name).await?;
        let mut facts = op.facts(&org).await?;
        if authz::check(Action::ReadOrg, &facts).is_err() {
            return Err(CoreError::not_found(format!(
                "organization '{org_name}' not found"
            )));
        }
        if let Some(team_name) = team {
            if let Some(team) = op.team_by_name(&org.id, team_name).await? {
                facts = facts.with_team_role(op.my_team_role(&team.id).await?);
            }
        }
        if let Some((project, name)) = stack {
            if let Some(stack) = op.stack(&org.id, project, name).await? {
                facts = facts.with_stack(op.stack_facts(&org, &stack).await?);
            }
        }
        Ok(Action::ALL
            .into_iter()
            .filter(|a| *a != Action::ReceiveStack)
            .filter(|a| !a.is_stack_action() || facts.stack.is_some())
            .filter(|a| authz::check(*a, &facts).is_ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_64_hex_and_stored_hashed() {
        let id = SessionId::generate();
        assert_eq!(id.expose().len(), 64);
        assert!(SessionId::parse(id.expose()).is_some());
        assert_ne!(id.hash(), id.expose());
        assert_eq!(id.hash().len(), 64);
        for bad in ["", "abc", &"G".repeat(64), &"A".repeat(64), &"a".repeat(65)] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn passwords_hash_as_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("x", "not a phc string"));
        assert!(dummy_hash().starts_with("$argon2id$"));
    }
}
