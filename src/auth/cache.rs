//! The authentication cache: token hash → the token and its user, so an authenticated request
//! reads no store. Every change to a user or a token made by this process invalidates it right
//! after its commit; changes made by another process (the operator CLI) are noticed by
//! [`crate::store::Revision`], which clears it within [`crate::store::REVISION_CHECK_EVERY`].
//!
//! A lookup that misses reads the store and inserts what it found only if no invalidation
//! happened meanwhile (a generation check), so a read that raced a change never caches the old
//! row. Misses are not cached: random tokens cannot fill it, and its size is capped (LRU).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::Mutex;

use lru::LruCache;

use super::Scope;
use crate::eventlog::SourceUser;
use crate::store::users::UserRow;

/// Enough for every session and script of a busy installation; beyond, the least recently
/// used tokens go back to the store.
const CAPACITY: usize = 4096;

/// A token as the token layer needs it.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token_id: Arc<str>,
    pub client_id: Arc<str>,
    /// Epoch milliseconds; checked on every request.
    pub expires: i64,
    pub scope: Arc<Scope>,
    pub user: Arc<UserRow>,
    /// The admin behind a session opened with a ghost password.
    pub impersonator: Option<Arc<SourceUser>>,
}

#[derive(Debug)]
pub struct AuthCache {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    tokens: LruCache<[u8; 32], CachedToken>,
    /// Bumped by every invalidation; a miss inserts only under the generation it read in.
    generation: u64,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl AuthCache {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            inner: Mutex::new(Inner {
                tokens: LruCache::new(capacity),
                generation: 0,
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<CachedToken> {
        self.inner().tokens.get(hash).cloned()
    }

    /// Read before a store lookup, passed to [`AuthCache::insert`] after it.
    pub fn generation(&self) -> u64 {
        self.inner().generation
    }

    /// Caches what a lookup started under `generation` found, unless something was
    /// invalidated since.
    pub fn insert(&self, hash: [u8; 32], token: CachedToken, generation: u64) {
        let mut inner = self.inner();
        if inner.generation == generation {
            inner.tokens.put(hash, token);
        }
    }

    pub fn len(&self) -> usize {
        self.inner().tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// After a change to the user (role, profile, activity, password, 2FA, deletion) or to
    /// any of their tokens; ghost sessions the user opened as an admin go too.
    pub fn invalidate_user(&self, user_id: &str) {
        self.invalidate(|token| {
            *token.user.id == *user_id
                || token
                    .impersonator
                    .as_ref()
                    .is_some_and(|admin| admin.user_id == user_id)
        });
    }

    pub fn invalidate_token(&self, token_id: &str) {
        self.invalidate(|token| *token.token_id == *token_id);
    }

    /// Everything, e.g. when another process changed the store.
    pub fn clear(&self) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.tokens.clear();
    }

    fn invalidate(&self, matches: impl Fn(&CachedToken) -> bool) {
        let mut inner = self.inner();
        inner.generation += 1;
        let stale: Vec<[u8; 32]> = inner
            .tokens
            .iter()
            .filter(|(_, token)| matches(token))
            .map(|(hash, _)| *hash)
            .collect();
        for hash in stale {
            inner.tokens.pop(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn token(id: &str, user_id: &str) -> CachedToken {
        CachedToken {
            impersonator: None,
            token_id: id.into(),
            client_id: "cid-sdk".into(),
            expires: i64::MAX,
            scope: Arc::new(Scope::full()),
            user: Arc::new(UserRow {
                id: user_id.into(),
                username: Some("u".into()),
                email: "u@example.com".into(),
                fallback_email: String::new(),
                display_name: String::new(),
                role: Role::User,
                active: true,
                source: String::new(),
                invite_accepted: true,
                creation_time: String::new(),
                totp_enabled: false,
                avatar: String::new(),
                has_background_image: false,
            }),
        }
    }

    #[test]
    fn invalidation_removes_only_what_it_names() {
        let cache = AuthCache::default();
        let generation = cache.generation();
        cache.insert([1; 32], token("tid-1", "uid-1"), generation);
        cache.insert([2; 32], token("tid-2", "uid-1"), generation);
        cache.insert([3; 32], token("tid-3", "uid-2"), generation);
        cache.invalidate_token("tid-1");
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
        cache.invalidate_user("uid-1");
        assert!(cache.get(&[2; 32]).is_none());
        assert_eq!(cache.get(&[3; 32]).unwrap().token_id.as_ref(), "tid-3");
    }

    #[test]
    fn a_ghost_session_goes_with_its_admin() {
        let cache = AuthCache::default();
        let generation = cache.generation();
        let mut ghost = token("tid-1", "uid-2");
        ghost.impersonator = Some(Arc::new(SourceUser {
            user_id: "uid-1".into(),
            username: Some("alice".into()),
        }));
        cache.insert([1; 32], ghost, generation);
        cache.insert([2; 32], token("tid-2", "uid-2"), generation);
        cache.invalidate_user("uid-1");
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_cached() {
        let cache = AuthCache::default();
        let before = cache.generation();
        cache.invalidate_user("uid-1");
        cache.insert([1; 32], token("tid-1", "uid-1"), before);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_size_is_capped() {
        let cache = AuthCache::with_capacity(8);
        for n in 0..100u8 {
            let generation = cache.generation();
            cache.insert([n; 32], token(&format!("tid-{n}"), "uid-1"), generation);
        }
        assert_eq!(cache.len(), 8);
        assert!(cache.get(&[99; 32]).is_some());
    }
}
