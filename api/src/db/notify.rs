//! Telling every replica that something it may have cached changed. A change that other
//! processes cache (a user's role or state, an organization's personal-field rules)
//! calls [`changed`] in its transaction: on PostgreSQL that is a `NOTIFY` on
//! [`CHANNEL`], delivered to every replica's [`listen`]er when the transaction commits,
//! which hands the id to the cache registered for the topic. SQLite serves one process,
//! which forgets its own changes directly. While a listener is reconnecting,
//! notifications are lost: it empties every registered cache once it listens again, so
//! a change is never trusted past that moment (and never past the caches' own TTL).
//! [`Cached`] is the cache such modules keep.

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use crate::error::Result;

/// The PostgreSQL channel, payload `<topic>/<id>`.
pub const CHANNEL: &str = "accord_changed";

/// A cache that other replicas' changes invalidate. Modules that cache register one
/// with `inventory::submit!`.
pub struct Forget {
    /// What the id names, such as `user`.
    pub topic: &'static str,
    /// Forget one entry.
    pub forget: fn(Uuid),
    /// Forget everything (notifications may have been missed).
    pub forget_all: fn(),
}

inventory::collect!(Forget);

/// Announce, in the transaction `db` of the change, that `topic`'s `id` changed.
pub async fn changed(db: &impl ConnectionTrait, topic: &str, id: Uuid) -> Result<()> {
    if super::dialect::is_postgres(db) {
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), format!("{topic}/{id}").into()],
        );
        db.execute_raw(notify).await?;
    }
    Ok(())
}

/// Hand what `payload` names to the cache registered for its topic.
fn forget(payload: &str) {
    let Some((topic, id)) = payload.split_once('/') else { return };
    let Ok(id) = id.parse::<Uuid>() else { return };
    for cache in inventory::iter::<Forget>.into_iter().filter(|cache| cache.topic == topic) {
        (cache.forget)(id);
    }
}

/// On PostgreSQL, listen for changes for as long as the process runs (one connection
/// of `db`'s pool).
pub fn listen(db: &DatabaseConnection) {
    if !super::dialect::is_postgres(db) {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tokio::spawn(async move {
        loop {
            let Err(e) = listen_once(&pool).await;
            tracing::warn!(error = %e, "listening for cache changes failed; reconnecting in 1 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen_once(pool: &sea_orm::sqlx::PgPool) -> std::result::Result<Infallible, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Whatever changed while nobody listened is forgotten too.
    for cache in inventory::iter::<Forget> {
        (cache.forget_all)();
    }
    loop {
        forget(listener.recv().await?.payload());
    }
}

/// A process-wide cache of values by id, each trusted for a TTL and forgotten at once
/// when it changes (register it as a [`Forget`]); the least recently used go first.
pub struct Cached<V> {
    capacity: NonZeroUsize,
    entries: Mutex<Option<LruCache<Uuid, (V, Instant)>>>,
}

impl<V: Clone> Cached<V> {
    pub const fn new(capacity: NonZeroUsize) -> Self {
        Self { capacity, entries: Mutex::new(None) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut LruCache<Uuid, (V, Instant)>) -> R) -> R {
        // Entries are plain values: a panic elsewhere cannot leave one half-written.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        f(entries.get_or_insert_with(|| LruCache::new(self.capacity)))
    }

    /// The value of `id`, if stored less than `ttl` ago.
    pub fn get(&self, id: Uuid, ttl: Duration) -> Option<V> {
        self.with(|entries| match entries.get(&id) {
            Some((value, stored)) if stored.elapsed() < ttl => Some(value.clone()),
            Some(_) => {
                entries.pop(&id);
                None
            }
            None => None,
        })
    }

    /// Remember the value of `id`, just read.
    pub fn put(&self, id: Uuid, value: V) {
        self.with(|entries| entries.put(id, (value, Instant::now())));
    }

    pub fn forget(&self, id: Uuid) {
        self.with(|entries| entries.pop(&id));
    }

    pub fn clear(&self) {
        self.with(LruCache::clear);
    }
}
