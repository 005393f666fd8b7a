//! Who a token's user is, remembered for a moment. Every request names its caller, and
//! reading the user row for each one was a fifth of the statements of a lead's detail
//! page. An entry is trusted for `ACCORD_AUTH_CACHE_TTL` (2 s by default) and
//! forgotten at once when the user changes ([`changed`]): a deactivated user or a new
//! role applies on the next request, here and, through `db::notify`, on every other
//! replica. The cache is process-wide and keyed by user id, so servers sharing a
//! process (tests) never see each other's users.

use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use uuid::Uuid;

use super::Actor;

/// Users remembered at most; the least recently seen go first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();

static USERS: LazyLock<Mutex<LruCache<Uuid, (Actor, Instant)>>> = LazyLock::new(|| Mutex::new(LruCache::new(CAPACITY)));

fn users() -> MutexGuard<'static, LruCache<Uuid, (Actor, Instant)>> {
    // Entries are plain values: a panic elsewhere cannot leave one half-written.
    USERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The user of organization `org_id`, if read less than `ttl` ago.
pub fn get(user_id: Uuid, org_id: Uuid, ttl: Duration) -> Option<Actor> {
    let mut users = users();
    match users.get(&user_id) {
        Some((actor, read)) if read.elapsed() < ttl && actor.org_id == org_id => Some(actor.clone()),
        Some(_) => {
            users.pop(&user_id);
            None
        }
        None => None,
    }
}

/// Remember a user just read from the database.
pub fn put(user_id: Uuid, actor: &Actor) {
    users().put(user_id, (actor.clone(), Instant::now()));
}

/// The `db::notify` topic of a user's changes.
const TOPIC: &str = "user";

inventory::submit! {
    crate::db::notify::Forget { topic: TOPIC, forget, forget_all: || users().clear() }
}

/// Announce, in the transaction that changes the user, that every replica must forget it.
pub async fn changed(db: &impl sea_orm::ConnectionTrait, user_id: Uuid) -> crate::error::Result<()> {
    crate::db::notify::changed(db, TOPIC, user_id).await
}

/// Forget a user this process changed, so that its next request reads the change.
pub fn forget(user_id: Uuid) {
    users().pop(&user_id);
}
