//! Claiming rows for one worker when several replicas run the same background job.
//! On PostgreSQL the claiming `SELECT` ends in `FOR UPDATE SKIP LOCKED`: rows another
//! worker's transaction holds are skipped, not waited for. SQLite has no row locks and
//! needs none: a claim runs in a [`begin_write`](super::begin_write) transaction, which
//! holds the database's single write lock, so one claimer runs at a time.

use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{ConnectionTrait, QuerySelect};

use super::dialect;

/// `select`, made to claim the rows it reads for the transaction `db`.
pub fn claim<Q: QuerySelect>(db: &impl ConnectionTrait, select: Q) -> Q {
    if dialect::is_postgres(db) {
        select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
    } else {
        select
    }
}

/// The clause that ends a claiming `SELECT` written as text; empty where none is needed.
pub fn claim_clause(db: &impl ConnectionTrait) -> &'static str {
    dialect::skip_locked_clause(db.get_database_backend())
}
