//! Who a token's user is, remembered for a moment. Every request names its caller, and
//! reading the user row for each one was a fifth of the statements of a lead's detail
//! page. An entry is trusted for `ACCORD_AUTH_CACHE_TTL` (2 s by default) and
//! forgotten at once when the user changes ([`changed`]): a deactivated user or a new
//! role applies on the next request, here and, through `db::notify`, on every other
//! replica. The cache is process-wide and keyed by user id, so servers sharing a
//! process (tests) never see each other's users.

use std::num::NonZeroUsize;
use std::time::Duration;

use uuid::Uuid;

use super::Actor;
use crate::db::notify::{Cached, Forget};

/// Users remembered at most; the least recently seen go first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();

static USERS: Cached<Actor> = Cached::new(CAPACITY);

/// The `db::notify` topic of a user's changes.
const TOPIC: &str = "user";

inventory::submit! {
    Forget { topic: TOPIC, forget, forget_all: || USERS.clear() }
}

/// The user of organization `org_id`, if read less than `ttl` ago.
pub fn get(user_id: Uuid, org_id: Uuid, ttl: Duration) -> Option<Actor> {
    USERS.get(user_id, ttl).filter(|actor| actor.org_id == org_id)
}

/// Remember a user just read from the database.
pub fn put(user_id: Uuid, actor: &Actor) {
    USERS.put(user_id, actor.clone());
}

/// Announce, in the transaction that changes the user, that every replica must forget it.
pub async fn changed(db: &impl sea_orm::ConnectionTrait, user_id: Uuid) -> crate::error::Result<()> {
    crate::db::notify::changed(db, TOPIC, user_id).await
}

/// Forget a user this process changed, so that its next request reads the change.
pub fn forget(user_id: Uuid) {
    USERS.forget(user_id);
}
