//! Dashboard sessions and API tokens the store has already confirmed, so a signed-in request
//! costs no statement: entries are keyed by the digests the store keeps, hold the account and
//! (sessions) the expiry, and are dropped when the session ends, when any account is written
//! (a role may have changed), after [`TTL`], or all at once past [`CAPACITY`] entries. A
//! digest the store does not know is never cached. A lookup that raced with a logout or an
//! account change (the cache's epoch moved while the store was asked) is not remembered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lock;
use crate::store::auth::WebUser;
use crate::time::Micros;

/// How long a confirmed session or token is trusted before the store is asked again.
pub(crate) const TTL: Duration = Duration::from_secs(30);
/// Entries kept at most.
const CAPACITY: usize = 10_000;

struct Entry {
    user: WebUser,
    /// Sessions: valid while `now < expires_at`; tokens: `None`.
    expires_at: Option<Micros>,
    at: Instant,
}

/// Confirmed session and token digests.
#[derive(Default)]
pub(crate) struct SessionCache {
    sessions: Mutex<HashMap<String, Entry>>,
    tokens: Mutex<HashMap<String, Entry>>,
    /// Moves (under the map locks) whenever an entry is dropped.
    epoch: AtomicU64,
}

fn get(map: &Mutex<HashMap<String, Entry>>, digest: &str, now: Micros) -> Option<WebUser> {
    let map = lock(map);
    let e = map.get(digest)?;
    (e.at.elapsed() < TTL && e.expires_at.is_none_or(|x| now < x)).then(|| e.user.clone())
}

fn put(
    map: &Mutex<HashMap<String, Entry>>,
    epoch: (&AtomicU64, u64),
    digest: &str,
    user: &WebUser,
    expires_at: Option<Micros>,
) {
    let mut map = lock(map);
    if epoch.0.load(Ordering::SeqCst) != epoch.1 {
        return;
    }
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(
        digest.to_string(),
        Entry {
            user: user.clone(),
            expires_at,
            at: Instant::now(),
        },
    );
}

impl SessionCache {
    /// The epoch to hand back to `put_*` after asking the store.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn session(&self, digest: &str, now: Micros) -> Option<WebUser> {
        get(&self.sessions, digest, now)
    }

    pub(crate) fn put_session(&self, epoch: u64, digest: &str, user: &WebUser, expires_at: Micros) {
        put(
            &self.sessions,
            (&self.epoch, epoch),
            digest,
            user,
            Some(expires_at),
        );
    }

    pub(crate) fn token(&self, digest: &str) -> Option<WebUser> {
        get(&self.tokens, digest, 0)
    }

    pub(crate) fn put_token(&self, epoch: u64, digest: &str, user: &WebUser) {
        put(&self.tokens, (&self.epoch, epoch), digest, user, None);
    }

    pub(crate) fn end_session(&self, digest: &str) {
        let mut map = lock(&self.sessions);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        map.remove(digest);
    }

    /// Forgets everything (an account changed).
    pub(crate) fn clear(&self) {
        let (mut sessions, mut tokens) = (lock(&self.sessions), lock(&self.tokens));
        self.epoch.fetch_add(1, Ordering::SeqCst);
        sessions.clear();
        tokens.clear();
    }
}
