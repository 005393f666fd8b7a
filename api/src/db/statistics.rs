//! The planners' statistics, kept in step with tables that grow fast.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use super::{begin_write, dialect};

/// Rows SQLite's `ANALYZE` samples per index: enough for the planner to tell a selective
/// index from a broad one, in milliseconds whatever the size of the file.
const SQLITE_ANALYSIS_LIMIT: u32 = 1000;

/// How often [`refresh_statistics`] is worth running. SQLite's plans follow its statistics
/// only, so an hour keeps them near the data. PostgreSQL's follow the table's size, but
/// a generic plan keeps the size it was made at (below): a few seconds bound how long a
/// plan made on a nearly empty table serves one that grew a thousandfold.
pub fn refresh_every(db: &DatabaseConnection) -> Duration {
    if dialect::is_postgres(db) { Duration::from_secs(5) } else { Duration::from_secs(3600) }
}

/// Tables of ours that have more than doubled, and by at least 32 kB, since PostgreSQL
/// last took their statistics (`relpages`, written by `ANALYZE` and `VACUUM`), and that
/// the connected role may analyse. The name comes quoted by `regclass`.
const GROWN_TABLES: &str = "SELECT c.oid::regclass::text FROM pg_class c \
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' \
     AND pg_has_role(c.relowner, 'USAGE') \
     AND pg_relation_size(c.oid) / current_setting('block_size')::int > 2 * c.relpages::bigint + 4";

/// Bring the planner's statistics up to date where they fell behind.
///
/// On PostgreSQL, `ANALYZE` the tables that more than doubled since their statistics
/// were taken. Our connections keep generic plans ([`super::POSTGRES_SETTINGS`]) until a
/// table's statistics change, and a plan made while the table was nearly empty (a new
/// installation, an organization's first imports) can read it quadratically once it
/// holds thousands of rows: a leads page took 8 s within 15 s of fast imports, where
/// autovacuum looks only every minute. Doubling bounds the work: a table grown to
/// N rows is analysed about log2(N) times. An `ANALYZE` another process is running
/// (a replica, autovacuum) is left to it rather than waited for.
///
/// On SQLite, `ANALYZE` everything (`sqlite_stat1`). Without statistics SQLite guesses,
/// and on a seeded or grown file it read a leads page by sorting every lead of the
/// organization (300 ms) instead of walking the score index (under 1 ms).
pub async fn refresh_statistics(db: &DatabaseConnection) -> crate::error::Result<()> {
    if !dialect::is_postgres(db) {
        // Writes sqlite_stat1: a write like any other, in its turn.
        let txn = begin_write(db).await?;
        txn.execute_unprepared(&format!("PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")).await?;
        txn.execute_unprepared("ANALYZE").await?;
        txn.commit().await?;
        return Ok(());
    }
    let grown = db.query_all_raw(Statement::from_string(DbBackend::Postgres, GROWN_TABLES)).await?;
    for row in grown {
        let table: String = row.try_get_by_index(0)?;
        let txn = db.begin().await?;
        txn.execute_unprepared("SET LOCAL lock_timeout = '100ms'").await?;
        match txn.execute_unprepared(&format!("ANALYZE {table}")).await {
            Ok(_) => txn.commit().await?,
            Err(e) if crate::error::is_lock_not_available(&e) => txn.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::TempSqlite;

    /// The planner's statistics are written, in a write turn, and hold the file's indexes.
    #[tokio::test]
    async fn sqlite_statistics_are_refreshed() {
        let (_file, db) = TempSqlite::connect(2).await;
        db.execute_unprepared("CREATE TABLE t (a INTEGER, b INTEGER); CREATE INDEX ix_t_a ON t (a)").await.unwrap();
        db.execute_unprepared("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t SELECT i % 7, i FROM n")
            .await
            .unwrap();
        let backend = db.get_database_backend();
        let stat = || Statement::from_string(backend, "SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_t_a'");
        assert!(db.query_one_raw(stat()).await.is_err(), "no statistics before");
        refresh_statistics(&db).await.unwrap();
        let row = db.query_one_raw(stat()).await.unwrap().expect("statistics of the index");
        let stat: String = row.try_get("", "stat").unwrap();
        let numbers: Vec<u64> = stat.split(' ').map(|n| n.parse().unwrap()).collect();
        // Rows in the index, then rows per distinct `a` (7 values: about 714).
        assert!(numbers.len() == 2 && numbers[0] > 0 && numbers[1] > 1, "{stat}");
        db.close().await.unwrap();
    }
}
