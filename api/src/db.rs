//! Database connections and migrations, for the embedded SQLite file and PostgreSQL alike.

pub mod claim;
pub mod copy;
pub mod dialect;
mod forward;
pub use forward::Observer;
pub mod keyset;
pub mod locate;
pub mod notify;
pub mod replica;
pub mod request;
pub mod rows;
pub mod sql;
pub mod statistics;
pub use statistics::refresh_statistics;
pub mod template;
pub mod versioned;
pub mod write;

pub use write::{Write, WriteTurns, begin_write};

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoColumnRef, IntoIden, SelectStatement};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityName, EntityTrait,
    FromQueryResult, IdenStatic, IntoActiveModel, Iterable, JoinType, QueryResult, TransactionTrait, TryGetError,
};
use uuid::Uuid;

/// Settings of every PostgreSQL connection of ours (see [`connect`]).
pub const POSTGRES_SETTINGS: [(&str, &str); 3] =
    [("plan_cache_mode", "force_generic_plan"), ("max_parallel_workers_per_gather", "0"), ("jit", "off")];

/// Connect with a bounded pool. SQLite files run in WAL mode so readers never wait
/// for the writer; writers take turns ([`write`]).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, max_connections, None).await
}

/// [`connect`], and on PostgreSQL stop any statement that runs longer than
/// `statement_timeout`: the pool that serves requests, so that a request which runs
/// out of time does not leave its statement running in the database. On SQLite it is
/// how long a statement keeps retrying while another process holds the write lock
/// (then TIMEOUT); without it, 5 s.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<DatabaseConnection> {
    open(options(url, max_connections, statement_timeout)).await
}

/// The pool settings of [`connect_with`], for a caller to adjust before [`open`].
fn options(url: &str, max_connections: u32, statement_timeout: Option<Duration>) -> ConnectOptions {
    let timeout = statement_timeout.map(|t| format!("{}ms", t.as_millis().max(1)));
    let busy_timeout = statement_timeout.unwrap_or(Duration::from_secs(5));
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings every connection it takes from the pool by default: a round trip
        // to the database before each statement or transaction, three per leads page.
        // Only a connection idle long enough to have been dropped (by the server, a
        // proxy or a firewall) is checked; a hot one goes straight to work.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // Every pooled connection gets these, not just the first one.
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy_timeout)
        })
        // Generic plans (page queries are not re-planned for every `LIMIT $n`), and
        // neither parallel workers nor JIT, which a generic plan's guess of the limit
        // would otherwise choose for short pages (docs/performance.md).
        // No time limit says so explicitly: behind a transaction-mode pooler the role's
        // default is the requests' limit ([`set_pooled_defaults`]).
        .map_sqlx_postgres_opts(move |o| {
            o.options(POSTGRES_SETTINGS).options([("statement_timeout", timeout.as_deref().unwrap_or("0"))])
        });
    options
}

/// The request pool through a pooler in transaction mode (`DATABASE_SESSION_URL` set):
/// a server connection serves many clients one transaction at a time, so nothing of
/// a session may be set, not even at start-up (pgbouncer refuses the settings).
/// Its settings are the role's defaults in the database instead ([`set_pooled_defaults`]).
pub async fn connect_through_pooler(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = options(url, max_connections, None);
    options.map_sqlx_postgres_opts(|o| o);
    open(options).await
}

/// Make [`POSTGRES_SETTINGS`] and `statement_timeout` the defaults of the connected role
/// in this database, for the sessions a transaction-mode pooler opens for it. A pooler's
/// server connections opened before keep their settings until they are replaced
/// (pgbouncer's `server_lifetime`, or `RECONNECT`). Our own direct connections set
/// every one of them at start-up, so they are not affected.
pub async fn set_pooled_defaults(db: &DatabaseConnection, statement_timeout: Duration) -> anyhow::Result<()> {
    let timeout = format!("{}ms", statement_timeout.as_millis().max(1));
    let settings = POSTGRES_SETTINGS.into_iter().chain([("statement_timeout", timeout.as_str())]);
    for (name, value) in settings {
        // Names and values are ours; format() quotes the role and database names.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET {name} = %L', \
             current_user, current_database(), '{value}'); END $$"
        ))
        .await?;
    }
    Ok(())
}

/// Open the pool `options` describe, its statements counted in the metrics.
async fn open(options: ConnectOptions) -> anyhow::Result<DatabaseConnection> {
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(crate::metrics::record_statement);
    Ok(db)
}

/// The PostgreSQL advisory lock migrations run under (`accord` in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x6163_636f_7264_0001;

/// Apply every pending migration. On PostgreSQL they run in one transaction holding an
/// advisory lock: replicas that start together migrate once, the others wait for the
/// lock and then find nothing pending; a process that dies mid-way leaves nothing
/// half-applied, and its lock goes with its connection.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    locked(db, false).await
}

/// Undo the last migration applied, under the same lock as [`migrate`].
pub async fn migrate_down(db: &DatabaseConnection) -> anyhow::Result<()> {
    locked(db, true).await
}

async fn locked(db: &DatabaseConnection, undo: bool) -> anyhow::Result<()> {
    async fn apply<'c>(db: impl sea_orm::IntoDatabaseExecutor<'c>, undo: bool) -> Result<(), DbErr> {
        if undo { Migrator::down(db, Some(1)).await } else { Migrator::up(db, None).await }
    }
    if dialect::is_postgres(db) {
        let txn = db.begin().await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await?;
        apply(&txn, undo).await?;
        txn.commit().await?;
    } else {
        apply(db, undo).await?;
    }
    Ok(())
}

/// Bind parameters per `INSERT`: below SQLite's limit (32,766) and PostgreSQL's (65,535).
const PARAMS_PER_INSERT: usize = 30_000;
/// Rows per `INSERT`, whatever the width of the table.
const MAX_ROWS_PER_INSERT: usize = 100;

/// Insert models with multi-row `INSERT`s that stay under the bind-parameter limit.
/// Models are taken from `models` one statement's worth at a time: a lazy iterator
/// keeps no more than that in memory.
pub async fn insert_all<A, M>(
    txn: &impl ConnectionTrait,
    models: impl IntoIterator<Item = M>,
) -> crate::error::Result<()>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A>,
{
    insert_chunks(txn, models, None, MAX_ROWS_PER_INSERT).await
}

/// [`insert_all`] of new rows inside a transaction: on PostgreSQL, rows that fill more
/// than one `INSERT` go in one `COPY` (one statement per table instead of one per
/// hundred rows, parsed by the server in bulk rather than as bind parameters). Each
/// model is encoded and dropped before the next is taken from `models`, so a lazy
/// iterator holds one model at a time, not a call's thousand.
pub async fn insert_new<A, M>(
    txn: &sea_orm::DatabaseTransaction,
    models: impl IntoIterator<Item = M, IntoIter: ExactSizeIterator>,
) -> crate::error::Result<()>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A>,
{
    let models = models.into_iter();
    if models.len() <= MAX_ROWS_PER_INSERT || !dialect::is_postgres(txn) {
        return insert_all(txn, models).await;
    }
    let rows = copy::encode_new(models.map(IntoActiveModel::into_active_model))?;
    copy::copy_in(txn, &rows).await.map(|_| ())
}

/// [`insert_all`] where a row whose `key` is stored already replaces that row's
/// `update` columns; at most `max_rows` rows per statement.
pub async fn upsert_all<A, M>(
    txn: &impl ConnectionTrait,
    models: impl IntoIterator<Item = M>,
    key: ColumnOf<A>,
    update: &[ColumnOf<A>],
    max_rows: usize,
) -> crate::error::Result<()>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A>,
{
    insert_chunks(txn, models, Some((key, update)), max_rows).await
}

/// A column of the entity of active model `A`.
pub type ColumnOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column;

/// The columns the first of rows written together sets (as an `INSERT` would, columns
/// left unset take their defaults); every other row must set the same.
pub(crate) struct SetColumns<A: ActiveModelTrait> {
    set: Vec<bool>,
    /// The columns set, in the entity's order.
    pub(crate) columns: Vec<ColumnOf<A>>,
}

impl<A: ActiveModelTrait> SetColumns<A> {
    pub(crate) fn of(first: &A) -> Self {
        let set: Vec<bool> = ColumnOf::<A>::iter().map(|c| !first.is_not_set(c)).collect();
        let columns = ColumnOf::<A>::iter().zip(&set).filter(|(_, set)| **set).map(|(c, _)| c).collect();
        Self { set, columns }
    }

    /// An internal error naming the first column `row` sets and the first row does not,
    /// or the other way round.
    pub(crate) fn check(&self, row: &A) -> crate::error::Result<()> {
        match ColumnOf::<A>::iter().zip(&self.set).find(|(c, set)| row.is_not_set(*c) == **set) {
            Some((column, _)) => Err(crate::error::ApiError::internal(format!(
                "rows written together set different columns ({})",
                column.as_str()
            ))),
            None => Ok(()),
        }
    }
}

/// The statements are written here rather than by sea-query, whose builder clones
/// every value into the statement and then drops the originals: for an import's audit
/// rows, whose changes are JSON objects, that cloning and dropping was a fifth of the
/// server's CPU. Here each value moves into the statement once. Every row must set
/// the same columns (new rows set all of them); values are bound as sea-orm binds
/// them, so no column may need a `save_as` cast (none of ours does).
async fn insert_chunks<A, M>(
    txn: &impl ConnectionTrait,
    models: impl IntoIterator<Item = M>,
    upsert: Option<(ColumnOf<A>, &[ColumnOf<A>])>,
    max_rows: usize,
) -> crate::error::Result<()>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A>,
{
    use sea_orm::ColumnTrait;
    use std::fmt::Write;
    let backend = txn.get_database_backend();
    let all: Vec<ColumnOf<A>> = ColumnOf::<A>::iter().collect();
    let per_insert = (PARAMS_PER_INSERT / all.len().max(1)).clamp(1, max_rows);
    let table = <A::Entity as Default>::default();
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let mut rows: Vec<A> = models.by_ref().take(per_insert).map(IntoActiveModel::into_active_model).collect();
        let set = SetColumns::of(&rows[0]);
        let columns = &set.columns;
        let json_casts: Vec<Option<&str>> = columns.iter().map(|c| json_cast(&c.def())).collect();
        let mut sql = format!("INSERT INTO \"{}\" (", table.table_name());
        for (i, column) in columns.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{separator}\"{}\"", column.as_str());
        }
        sql.push_str(") VALUES ");
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for (r, row) in rows.iter_mut().enumerate() {
            set.check(row)?;
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (i, column) in columns.iter().enumerate() {
                let value = row.take(*column).into_value().ok_or_else(|| {
                    crate::error::ApiError::internal(format!("a row to insert does not set {}", column.as_str()))
                })?;
                let cast = json_casts[i];
                values.push(if cast.is_some() { json_as_text(value)? } else { value });
                let separator = if i == 0 { "" } else { ", " };
                // Writing to a String cannot fail.
                let placeholder = dialect::placeholder(backend, values.len());
                let _ = match cast {
                    Some(cast) if dialect::casts_json(backend) => write!(sql, "{separator}{placeholder}::{cast}"),
                    _ => write!(sql, "{separator}{placeholder}"),
                };
            }
            sql.push(')');
        }
        if let Some((key, update)) = upsert {
            let action = if update.is_empty() { "NOTHING" } else { "UPDATE SET " };
            let _ = write!(sql, " ON CONFLICT (\"{}\") DO {action}", key.as_str());
            for (i, column) in update.iter().enumerate() {
                let separator = if i == 0 { "" } else { ", " };
                let _ = write!(sql, "{separator}\"{0}\" = excluded.\"{0}\"", column.as_str());
            }
        }
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// The PostgreSQL type of a JSON column, which [`insert_chunks`] binds as text and casts
/// back: sea-orm clones every bound value once more before sending it, and a JSON
/// object's clone is a tree of allocations (a tenth of an import's server CPU for its
/// audit rows), a string's one copy. SQLite stores JSON as text anyway.
fn json_cast(column: &sea_orm::ColumnDef) -> Option<&'static str> {
    match column.get_column_type() {
        sea_orm::sea_query::ColumnType::Json => Some("json"),
        sea_orm::sea_query::ColumnType::JsonBinary => Some("jsonb"),
        _ => None,
    }
}

fn json_as_text(value: sea_orm::Value) -> crate::error::Result<sea_orm::Value> {
    Ok(match value {
        sea_orm::Value::Json(json) => sea_orm::Value::String(json.map(|json| json_text(&json)).transpose()?),
        value => value,
    })
}

/// A JSON value as text, for binding or `COPY`. `serde_json::to_string` writes into one
/// buffer; `Display` (`json.to_string()`) goes through a formatter per token and was a
/// fifth of an import's server CPU.
pub(crate) fn json_text(json: &serde_json::Value) -> crate::error::Result<String> {
    serde_json::to_string(json).map_err(|e| crate::error::ApiError::internal(format!("encoding JSON: {e}")))
}

/// A handle that opens write transactions ([`begin_write`]): the pool, a request's
/// handle or an open transaction (a savepoint). Hooks that run inside a write take the
/// concrete transaction type, so writes that reach them take this.
pub trait Transactions: TransactionTrait<Transaction = sea_orm::DatabaseTransaction> + WriteTurns {}

impl<T: TransactionTrait<Transaction = sea_orm::DatabaseTransaction> + WriteTurns> Transactions for T {}

/// A column of `E` by its database name; every tenant table has `id` and `org_id`.
pub fn column<E: EntityTrait>(name: &str) -> crate::error::Result<E::Column> {
    use std::str::FromStr;
    E::Column::from_str(name).map_err(|_| crate::error::ApiError::internal(format!("no column {name}")))
}

/// Row `id` of `E` in organization `org_id`, or NOT_FOUND naming `what`: another
/// organization's row does not exist for the caller.
pub async fn find_in_org<E: EntityTrait>(
    db: &impl ConnectionTrait,
    org_id: uuid::Uuid,
    id: uuid::Uuid,
    what: &str,
) -> crate::error::Result<E::Model> {
    use sea_orm::{ColumnTrait, QueryFilter};
    E::find()
        .filter(column::<E>("id")?.eq(id))
        .filter(column::<E>("org_id")?.eq(org_id))
        .one(db)
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found(what))
}

/// LEFT JOIN rows of `R` as `alias`, by their id in `foreign_key`, within `org_id`, and
/// select every column of `R` as `{alias}_{column}`: a to-one relation read in its
/// owner's statement. Read it back with [`joined`].
pub fn left_join_related<R: EntityTrait>(
    query: &mut SelectStatement,
    alias: &'static str,
    foreign_key: impl IntoColumnRef,
    org_id: Uuid,
) -> crate::error::Result<()> {
    let (id, org) = (column::<R>("id")?, column::<R>("org_id")?);
    let table = Alias::new(alias).into_iden();
    for column in R::Column::iter() {
        query.expr_as(Expr::col((table.clone(), column)), Alias::new(format!("{alias}_{}", column.as_str())));
    }
    let on = Expr::col((table.clone(), id)).equals(foreign_key).and(Expr::col((table.clone(), org)).eq(org_id));
    query.join_as(JoinType::LeftJoin, R::default(), table, on);
    Ok(())
}

/// The row of `M` that [`left_join_related`] joined as `alias`; `None` when there was none.
pub fn joined<M: FromQueryResult>(row: &QueryResult, alias: &str) -> Result<Option<M>, DbErr> {
    match M::from_query_result_nullable(row, &format!("{alias}_")) {
        Ok(model) => Ok(Some(model)),
        Err(TryGetError::Null(_)) => Ok(None),
        Err(TryGetError::DbErr(error)) => Err(error),
    }
}

/// A fresh SQLite file for a test, removed with its WAL files when dropped.
#[cfg(test)]
pub(crate) struct TempSqlite(std::path::PathBuf);

#[cfg(test)]
impl TempSqlite {
    /// A new file and a pool of `max_connections` to it.
    pub(crate) async fn connect(max_connections: u32) -> (Self, DatabaseConnection) {
        let path = std::env::temp_dir().join(format!("accord-test-{}.db", Uuid::now_v7().simple()));
        let db = connect(&format!("sqlite://{}?mode=rwc", path.display()), max_connections).await.unwrap();
        (Self(path), db)
    }
}

#[cfg(test)]
impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sqlx;

    #[test]
    fn inserts_stay_under_the_sqlite_parameter_limit() {
        use sea_orm::Iterable;
        for columns in [entity::lead_stage_transition::Column::iter().count(), entity::lead::Column::iter().count()] {
            let per_insert = (PARAMS_PER_INSERT / columns).clamp(1, MAX_ROWS_PER_INSERT);
            assert!(per_insert * columns <= 32_766);
        }
    }

    /// Rows of one `INSERT` share its column list: a row setting fewer or more columns
    /// than the first is refused before anything is sent, never written with NULLs.
    #[tokio::test]
    async fn rows_inserted_together_must_set_the_same_columns() {
        use sea_orm::ActiveValue::{NotSet, Set};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut db = Database::connect("sqlite::memory:").await.unwrap();
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let full = || entity::audit_log::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(Uuid::now_v7()),
            actor_kind: Set(entity::ActorKind::User),
            actor_id: Set(None),
            actor_name: Set("Robin".into()),
            action: Set("lead.create".into()),
            entity: Set("lead".into()),
            entity_id: Set(None),
            changes: Set(serde_json::json!({})),
            at: Set(chrono::Utc::now()),
        };
        let partial = || entity::audit_log::ActiveModel { at: NotSet, ..full() };
        for rows in [vec![full(), partial()], vec![partial(), full()]] {
            let result = insert_all(&db, rows).await;
            assert!(matches!(result, Err(crate::error::ApiError::Internal)), "{result:?}");
        }
        assert_eq!(sent.load(Ordering::SeqCst), 0, "no statement was sent");
        // The counter does count what is sent (a failing statement here: no table).
        assert!(insert_all(&db, vec![full()]).await.is_err());
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    /// A connection handed back clean is idle again at once, with no task spawned to
    /// ping the server first (vendor/README.md, sqlx-core): this test runs on one
    /// thread and never yields between the hand-back and the check.
    #[tokio::test]
    async fn a_clean_connection_is_idle_again_at_once_on_sqlite() {
        let (_file, db) = TempSqlite::connect(1).await;
        let pool = db.get_sqlite_connection_pool();
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (a INTEGER)").execute(&mut *conn).await.unwrap();
        drop(conn);
        assert_eq!(pool.num_idle(), 1, "back in the pool without a round trip");
        // A transaction dropped unfinished is rolled back before the connection serves again.
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t VALUES (1)").await.unwrap();
        drop(txn);
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(pool).await.unwrap();
        assert_eq!(rows, 0, "the dropped transaction's row is gone");
        db.close().await.unwrap();
    }

    /// [`a_clean_connection_is_idle_again_at_once_on_sqlite`] on PostgreSQL, where the
    /// ping is a round trip over the network and a dropped transaction's `ROLLBACK` waits
    /// in the connection's buffer.
    #[tokio::test]
    #[ignore = "PostgreSQL only: set ACCORD_TEST_DATABASE_URL"]
    async fn a_clean_connection_is_idle_again_at_once_on_postgres() {
        let url = std::env::var("ACCORD_TEST_DATABASE_URL").expect("PostgreSQL only: set ACCORD_TEST_DATABASE_URL");
        let db = connect(&url, 1).await.unwrap();
        let pool = db.get_postgres_connection_pool();
        let conn = pool.acquire().await.unwrap();
        drop(conn);
        assert_eq!(pool.num_idle(), 1, "back in the pool without a round trip");
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
        drop(conn);
        assert_eq!(pool.num_idle(), 1, "back in the pool after a statement");
        // A transaction dropped unfinished is rolled back before the connection serves
        // again: its setting is gone, and the connection is not inside a transaction.
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("SET LOCAL statement_timeout = '1234ms'").await.unwrap();
        drop(txn);
        let mut conn = pool.acquire().await.unwrap();
        let timeout: String =
            sqlx::query_scalar("SELECT current_setting('statement_timeout')").fetch_one(&mut *conn).await.unwrap();
        assert_ne!(timeout, "1234ms");
        let xid = "SELECT txid_current()::text";
        let first: String = sqlx::query_scalar(xid).fetch_one(&mut *conn).await.unwrap();
        let second: String = sqlx::query_scalar(xid).fetch_one(&mut *conn).await.unwrap();
        assert_ne!(first, second, "each statement in its own transaction");
        drop(conn);
        db.close().await.unwrap();
    }
}
