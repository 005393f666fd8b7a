//! Write transactions, and the turns writers of one SQLite file take.
//!
//! SQLite has one writer at a time. Left to itself, a writer that finds the file
//! locked sleeps in SQLite's busy handler and tries again, for longer each time: under
//! load the unlucky ones wait seconds while later arrivals slip in. Here writers of a
//! file queue in the process instead, in arrival order (a FIFO async lock), and only
//! the one whose turn it is opens its transaction; readers never queue (WAL). The wait
//! is then the writes ahead of it, not the busy handler's sleeps. PostgreSQL locks
//! rows, not the database: its writers do not queue here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;

/// The queue of writers of one SQLite file.
pub type Turns = Arc<tokio::sync::Mutex<()>>;

/// Every SQLite file this process writes, by path: pools opened separately on one file
/// (the server's and its workers', a test's and its helpers') share one queue.
static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Turns>>> = LazyLock::new(Default::default);

/// What a handle needs to open a write transaction: where its writers queue.
pub trait WriteTurns {
    /// The queue this handle's writes wait in; `None` where writes do not queue
    /// (PostgreSQL, or inside a write transaction, whose turn is already taken).
    fn write_turns(&self) -> Option<Turns>;
}

impl WriteTurns for DatabaseConnection {
    fn write_turns(&self) -> Option<Turns> {
        if self.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let path = self.get_sqlite_connection_pool().connect_options().get_filename().to_path_buf();
        // Never poisoned: nothing panics while holding it.
        let mut queues = QUEUES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(queues.entry(path).or_default().clone())
    }
}

impl WriteTurns for DatabaseTransaction {
    fn write_turns(&self) -> Option<Turns> {
        None
    }
}

impl WriteTurns for Write {
    fn write_turns(&self) -> Option<Turns> {
        None
    }
}

/// A transaction that writes: on SQLite it holds its file's turn until it commits, rolls
/// back or is dropped. Use it as the transaction it wraps (`&txn` is a
/// `&DatabaseTransaction` where one is asked for).
pub struct Write {
    // Dropped first: an unfinished transaction starts its rollback before the turn passes.
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Write {
    /// Commit, then let the next writer in.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Roll back, then let the next writer in.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for Write {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// Begin a transaction that will write. On SQLite it waits for its turn among the
/// file's writers, then takes the write lock at once (`BEGIN IMMEDIATE`): a read inside
/// it can never fail with "database is locked" when it is upgraded to a write. On
/// PostgreSQL it is an ordinary transaction. Inside a write transaction it is a
/// savepoint of it.
pub async fn begin_write<C>(db: &C) -> crate::error::Result<Write>
where
    C: TransactionTrait<Transaction = DatabaseTransaction> + WriteTurns,
{
    let turn = match db.write_turns() {
        Some(turns) => {
            let waiting = std::time::Instant::now();
            let turn = turns.lock_owned().await;
            metrics::histogram!("accord_db_write_wait_seconds").record(waiting.elapsed().as_secs_f64());
            Some(turn)
        }
        None => None,
    };
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    let txn = db.begin_with_options(options).await?;
    Ok(Write { txn, _turn: turn })
}

// Statements, and savepoints, of the write transaction.
super::forward::forward_connection!(Write, txn, |_this| (), |_this| None);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::ConnectionTrait;

    use super::*;

    async fn sqlite() -> (crate::db::TempSqlite, DatabaseConnection) {
        let (file, db) = crate::db::TempSqlite::connect(8).await;
        db.execute_unprepared("CREATE TABLE arrivals (n INTEGER NOT NULL)").await.unwrap();
        (file, db)
    }

    #[tokio::test]
    async fn sqlite_writers_take_turns_in_arrival_order_and_readers_do_not_wait() {
        let (_file, db) = sqlite().await;
        let first = begin_write(&db).await.unwrap();
        let mut writers = Vec::new();
        for n in 0..8 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                let txn = begin_write(&db).await.unwrap();
                txn.execute_unprepared(&format!("INSERT INTO arrivals (n) VALUES ({n})")).await.unwrap();
                txn.commit().await.unwrap();
            }));
            // Each writer queues before the next arrives.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // While a write is open and eight wait, a read goes straight through (WAL).
        let read = tokio::time::timeout(
            Duration::from_secs(1),
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM arrivals",
            )),
        );
        assert!(read.await.expect("a read does not wait for writers").unwrap().is_some());
        first.commit().await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT n FROM arrivals ORDER BY rowid",
            ))
            .await
            .unwrap();
        let order: Vec<i64> = rows.iter().map(|r| r.try_get("", "n").unwrap()).collect();
        assert_eq!(order, (0..8).collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn a_write_inside_a_write_is_a_savepoint_that_does_not_wait_for_a_turn() {
        let (_file, db) = sqlite().await;
        let outer = begin_write(&db).await.unwrap();
        let inner = tokio::time::timeout(Duration::from_secs(1), begin_write(&outer)).await.expect("no wait").unwrap();
        inner.execute_unprepared("INSERT INTO arrivals (n) VALUES (1)").await.unwrap();
        inner.rollback().await.unwrap();
        outer.execute_unprepared("INSERT INTO arrivals (n) VALUES (2)").await.unwrap();
        outer.commit().await.unwrap();
        let count = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT sum(n) AS n FROM arrivals",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(count.try_get::<i64>("", "n").unwrap(), 2, "the savepoint's row rolled back, the outer one kept");
        // The turn was given back: the next writer gets in.
        let next = tokio::time::timeout(Duration::from_secs(1), begin_write(&db)).await.expect("the turn was freed");
        next.unwrap().commit().await.unwrap();
    }
}
