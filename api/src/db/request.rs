//! The database as one GraphQL request sees it. async-graphql resolves the fields of
//! an object concurrently, so a request of many aliased root fields would otherwise
//! take every pooled connection and make everyone else wait. Each statement of a
//! request waits for one of the request's few turns. A transaction is one turn
//! while it begins (or, with `transaction`, while its callback runs); mutations run
//! one after another, so a request has at most one open.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Semaphore, SemaphorePermit};

/// A connection pool shared with a per-request cap on concurrent statements.
#[derive(Clone)]
pub struct RequestDb {
    db: DatabaseConnection,
    turns: Arc<Semaphore>,
}

impl RequestDb {
    /// `db` limited to `at_once` statements in flight at a time.
    pub fn new(db: &DatabaseConnection, at_once: u32) -> Self {
        Self { db: db.clone(), turns: Arc::new(Semaphore::new(at_once.max(1) as usize)) }
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

super::forward::forward_connection!(RequestDb, db, |this| this.turn().await);
