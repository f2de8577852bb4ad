//! Authentication: from an `Authorization` header to a [`Principal`].
//!
//! Verification order: header shape → token shape and CRC check part (no database) →
//! SHA-256 → in-memory cache → database. A cache entry is trusted only while the
//! process-wide *generation* it was loaded at is current: every committed change that can
//! alter cached facts bumps the generation (see [`AuthCache::invalidate_all`] and
//! `Service::commit`), so a revoked token, a removed member or a changed role is never
//! served from the cache after the change commits. Entries also
//! age out after [`MAX_ENTRY_AGE`] so that changes made by another process on the same
//! database (the operator CLI) are picked up.
//!
//! `lastUsed` is written at most once per [`LAST_USED_GRANULARITY`] seconds per token, so
//! that reads do not turn into writes.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use stackgate_store::{Org, OrgRole, Store, Timestamp, Token, TokenKind, Tx};

use crate::error::{CoreError, CoreResult};
use crate::principal::{Identity, Principal};
use crate::token::{TokenDigest, TokenHash, TokenValue};

/// How long a cache entry may be trusted without a change in this process.
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(5);
/// `lastUsed` resolution in seconds.
pub const LAST_USED_GRANULARITY: i64 = 60;
/// Bound on cached tokens; the cache is cleared when it grows past this.
const MAX_ENTRIES: usize = 100_000;
/// How long a request waits for another request's load of the same token before loading
/// it itself. A load takes well under a millisecond; this only matters when the database
/// hangs (a PostgreSQL outage), where waiting in turn would add up every waiter's
/// acquire timeout.
pub const LOAD_WAIT: Duration = Duration::from_millis(500);

/// A verified token with the facts `GET /api/user` needs.
pub struct CachedAuth {
    pub principal: Arc<Principal>,
    /// For users: every org they belong to, with their role.
    pub memberships: Arc<Vec<(Org, OrgRole)>>,
    /// The HTTP layer's rendering of `GET /api/user` for these facts, made on first use.
    /// An entry is never changed, only replaced when facts change, so this cannot go
    /// stale; it saves re-serialising the most frequent authenticated response.
    pub rendered_user: OnceLock<Bytes>,
    generation: u64,
    loaded: Instant,
    last_used: AtomicI64,
}

/// Token verification cache shared by all requests of one process.
#[derive(Default)]
pub struct AuthCache {
    entries: DashMap<TokenDigest, Arc<CachedAuth>>,
    generation: AtomicU64,
    /// One load per token hash at a time: requests that miss while a load of the same
    /// token is under way wait for it instead of each querying the database (a burst of
    /// CI jobs sharing one token at start-up, or after an invalidation).
    loading: DashMap<TokenDigest, Arc<tokio::sync::Mutex<()>>>,
}

impl AuthCache {
    /// Makes every cached entry stale. Called after each committed change (and, with
    /// several replicas, when another replica announces one).
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many token loads are under way (requests waiting at a load gate included).
    pub fn loads_in_flight(&self) -> usize {
        self.loading.len()
    }

    fn get(&self, digest: &TokenDigest) -> Option<Arc<CachedAuth>> {
        let entry = self.entries.get(digest)?.clone();
        let fresh = entry.generation == self.generation.load(Ordering::Acquire)
            && entry.loaded.elapsed() < MAX_ENTRY_AGE;
        fresh.then_some(entry)
    }

    fn put(&self, digest: TokenDigest, entry: Arc<CachedAuth>) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(digest, entry);
    }
}

/// Extracts the token value from an `Authorization` header: `token <v>` (Pulumi's
/// scheme) or `Bearer <v>`, scheme case-insensitive.
pub fn parse_authorization(header: Option<&str>) -> CoreResult<TokenValue> {
    let header = header.ok_or_else(|| {
        CoreError::Unauthenticated("missing Authorization header (expected 'token <value>')".into())
    })?;
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(|| {
        CoreError::Unauthenticated(
            "malformed Authorization header (expected 'token <value>')".into(),
        )
    })?;
    if !scheme.eq_ignore_ascii_case("token") && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(CoreError::Unauthenticated(
            "unsupported Authorization scheme (expected 'token <value>')".into(),
        ));
    }
    TokenValue::parse(value.trim())
        .ok_or_else(|| CoreError::Unauthenticated("invalid access token".into()))
}

/// Verifies a token value, using the cache when it can.
pub async fn authenticate(
    store: &dyn Store,
    cache: &AuthCache,
    value: &TokenValue,
    now: Timestamp,
) -> CoreResult<Arc<CachedAuth>> {
    let digest = value.digest();
    let entry = match cache.get(&digest) {
        Some(entry) => {
            metrics::counter!("stackgate_token_cache_lookups_total", "result" => "hit")
                .increment(1);
            entry
        }
        None => {
            metrics::counter!("stackgate_token_cache_lookups_total", "result" => "miss")
                .increment(1);
            load_once(store, cache, digest).await?
        }
    };
    if let Some(token) = &entry.principal.token {
        if token.expires != 0 && token.expires <= now {
            return Err(CoreError::Unauthenticated("access token expired".into()));
        }
        let last = entry.last_used.load(Ordering::Acquire);
        if now - last >= LAST_USED_GRANULARITY
            && entry
                .last_used
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let mut tx = store.begin().await?;
            tx.touch_token(&token.id, now).await?;
            tx.commit().await?;
        }
    }
    Ok(entry)
}

/// Who a token acts as, and for a personal token its user's org memberships: the one
/// mapping from a token row to an [`Identity`], used to authenticate and to record a
/// failed use. `None` when the owner no longer exists (a deleted user, org or team).
pub(crate) async fn token_identity(
    tx: &mut dyn Tx,
    token: &Token,
) -> CoreResult<Option<(Identity, Vec<(Org, OrgRole)>)>> {
    Ok(match token.kind {
        TokenKind::Personal => {
            let Some(user_id) = &token.user_id else {
                return Ok(None);
            };
            let Some(user) = tx.user_by_id(user_id).await? else {
                return Ok(None);
            };
            let memberships = tx.user_memberships(&user.id).await?;
            Some((Identity::User(user), memberships))
        }
        TokenKind::Organization => {
            let Some(org_id) = &token.org_id else {
                return Ok(None);
            };
            tx.org_by_id(org_id).await?.map(|org| {
                let identity = Identity::OrgToken {
                    org_id: org.id,
                    org_name: org.name,
                    admin: token.admin,
                };
                (identity, Vec::new())
            })
        }
        TokenKind::Team => {
            let Some(team_id) = &token.team_id else {
                return Ok(None);
            };
            let Some(team) = tx.team_by_id(team_id).await? else {
                return Ok(None);
            };
            let Some(org) = tx.org_by_id(&team.org_id).await? else {
                return Ok(None);
            };
            let identity = Identity::TeamToken {
                org_id: org.id,
                org_name: org.name,
                team_id: team.id,
                team_name: team.name,
                team_display_name: team.display_name,
            };
            Some((identity, Vec::new()))
        }
    })
}

/// Loads a missed token, one load per hash at a time; a request that waited re-checks the
/// cache first and usually finds the entry its predecessor stored.
async fn load_once(
    store: &dyn Store,
    cache: &AuthCache,
    digest: TokenDigest,
) -> CoreResult<Arc<CachedAuth>> {
    let gate = LoadGate::enter(cache, digest);
    // On time-out, load without the gate (as if there were no single-flight).
    let _turn = tokio::time::timeout(LOAD_WAIT, gate.mutex.lock())
        .await
        .ok();
    if let Some(entry) = cache.get(&digest) {
        return Ok(entry);
    }
    let generation = cache.generation.load(Ordering::Acquire);
    let entry = Arc::new(load(store, &digest.hash(), generation).await?);
    cache.put(digest, entry.clone());
    Ok(entry)
}

/// A request's place at the per-token load gate. Dropping it (also when the request is
/// cancelled) removes the gate once no other request holds it, so the map only ever holds
/// the loads under way.
struct LoadGate<'a> {
    cache: &'a AuthCache,
    key: TokenDigest,
    mutex: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> LoadGate<'a> {
    fn enter(cache: &'a AuthCache, key: TokenDigest) -> LoadGate<'a> {
        let mutex = cache.loading.entry(key).or_default().clone();
        LoadGate { cache, key, mutex }
    }
}

impl Drop for LoadGate<'_> {
    fn drop(&mut self) {
        // The map holds one reference and each request at the gate another.
        self.cache.loading.remove_if(&self.key, |_, m| {
            Arc::ptr_eq(m, &self.mutex) && Arc::strong_count(m) == 2
        });
    }
}

async fn load(store: &dyn Store, hash: &TokenHash, generation: u64) -> CoreResult<CachedAuth> {
    let invalid = || CoreError::Unauthenticated("invalid access token".into());
    let mut tx = store.read().await?;
    let token = tx.token_by_hash(&hash.0).await?.ok_or_else(invalid)?;
    if token.deleted_at.is_some() {
        return Err(invalid());
    }
    let (identity, memberships) = token_identity(&mut *tx, &token)
        .await?
        .ok_or_else(invalid)?;
    Ok(CachedAuth {
        principal: Arc::new(Principal::of_token(identity, &token)),
        memberships: Arc::new(memberships),
        rendered_user: OnceLock::new(),
        generation,
        loaded: Instant::now(),
        last_used: AtomicI64::new(token.last_used),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Service;
    use stackgate_store_sqlite::SqliteStore;

    /// A load that never finishes (a hung database) holds up other requests for the same
    /// token by [`LOAD_WAIT`] at most; they then load on their own.
    #[tokio::test]
    async fn a_stuck_load_delays_others_by_at_most_load_wait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("gate.db").display());
        let store = SqliteStore::connect(&url).await.expect("open store");
        let service = Service::new(Arc::new(store.clone()));
        let created = service
            .init_org("acme", "alice", "alice@example.com", "Alice")
            .await
            .expect("init_org");
        let value = TokenValue::parse(created.value.expose()).expect("a valid value");

        let cache = AuthCache::default();
        let stuck = LoadGate::enter(&cache, value.digest());
        let _held = stuck.mutex.lock().await;
        let started = Instant::now();
        let entry = tokio::time::timeout(
            LOAD_WAIT + Duration::from_secs(2),
            authenticate(&store, &cache, &value, crate::principal::now()),
        )
        .await
        .expect("must not wait for the stuck load to finish")
        .expect("loads on its own after the wait");
        let waited = started.elapsed();
        assert!(entry.principal.user().is_some());
        assert!(
            waited >= LOAD_WAIT && waited < LOAD_WAIT + Duration::from_secs(2),
            "waited {waited:?}"
        );
    }
}
