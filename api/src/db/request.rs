//! The database as one GraphQL request sees it. async-graphql resolves the fields of
//! an object concurrently, so a request of many aliased root fields would otherwise
//! take every pooled connection and make everyone else wait. Each statement of a
//! request waits for one of the request's few turns. A transaction is one turn
//! while it begins (or, with `transaction`, while its callback runs); mutations run
//! one after another, so a request has at most one open.

use std::future::Future;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::replica::{ReadReplica, Route};
use crate::error::{ApiError, Result};

/// A connection pool shared with a per-request cap on concurrent statements.
#[derive(Clone)]
pub struct RequestDb {
    db: DatabaseConnection,
    turns: Arc<Semaphore>,
    replica: Option<Arc<ReadReplica>>,
    /// Told of the statements run straight through sqlx ([`super::forward::Queries`]).
    observer: Option<super::Observer>,
}

impl RequestDb {
    /// `db` limited to `at_once` statements in flight at a time.
    pub fn new(db: &DatabaseConnection, at_once: u32) -> Self {
        let turns = Arc::new(Semaphore::new(at_once.max(1) as usize));
        Self { db: db.clone(), turns, replica: None, observer: None }
    }

    /// This handle, with `replica` serving its [`RequestDb::replica_read`]s.
    pub fn with_replica(mut self, replica: Option<Arc<ReadReplica>>) -> Self {
        self.replica = replica;
        self
    }

    /// This handle, with `observer` told of its statements ([`AppState::statements`](crate::http::AppState)).
    pub fn observed(mut self, observer: Option<super::Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// The handle a report or export reads through: the read replica's pool (with this
    /// request's turns) when it has caught up with the primary, else this one.
    pub async fn replica_or_primary(&self) -> Self {
        let Some(replica) = &self.replica else { return self.clone() };
        match replica.caught_up(&self.db).await {
            Ok(pool) => self.on(pool),
            Err(_) => self.clone(),
        }
    }

    /// Run `read` (KPIs, a report) on the read replica when it has caught up with the
    /// primary ([`super::replica`]); on the primary when it has not, or when `read`
    /// failed there for a reason of our own (INTERNAL), such as the replica going away.
    pub async fn replica_read<T, F, Fut>(&self, read: F) -> Result<T>
    where
        F: Fn(Self) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Some(replica) = &self.replica else { return read(self.clone()).await };
        let Ok(pool) = replica.caught_up(&self.db).await else { return read(self.clone()).await };
        match read(self.on(pool)).await {
            Err(ApiError::Internal) => {
                replica.failed("a read failed on it");
                Route::Failed.count();
                read(self.clone()).await
            }
            done => done,
        }
    }

    /// `pool` in place of the primary, with this request's turns.
    fn on(&self, pool: &DatabaseConnection) -> Self {
        Self { db: pool.clone(), turns: self.turns.clone(), replica: None, observer: self.observer.clone() }
    }

    /// The pool itself, for the few domain functions that need the concrete type.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn turn(&self) -> SemaphorePermit<'_> {
        // Never closed: acquiring cannot fail.
        self.turns.acquire().await.expect("the request's semaphore is never closed")
    }
}

impl super::WriteTurns for RequestDb {
    fn write_turns(&self) -> Option<super::write::Turns> {
        self.db.write_turns()
    }
}

super::forward::forward_connection!(RequestDb, db, |this| this.turn().await, |this| this.observer.as_ref());
