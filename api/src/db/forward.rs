//! Handles that wrap a connection or transaction and forward every statement to it:
//! [`RequestDb`](super::request::RequestDb) (each statement waits for one of the
//! request's turns) and [`Write`](super::write::Write) (a transaction holding SQLite's
//! write turn).

use std::future::Future;
use std::time::Instant;

use sea_orm::metric::Info;
use sea_orm::sea_query::Values;
use sea_orm::sqlx::postgres::{PgPool, Postgres};
use sea_orm::sqlx::query::Query;
use sea_orm::sqlx::{self, AssertSqlSafe};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;

/// Told of a statement: the test harness counts a request's statements with one.
pub type Observer = std::sync::Arc<dyn Fn(&Info<'_>) + Send + Sync>;

/// How a handle's connection runs a query. A PostgreSQL pool runs it through sqlx
/// itself, as sea-orm would but without its query future, which is sized for every
/// backend and was copied whole on every statement, nor its copy of the statement.
/// sea-orm's metric callback does not see those statements: they count in the metrics
/// here, and `observer` (the test harness's, when set) is told of each.
pub(crate) trait Queries: ConnectionTrait {
    fn one(
        &self,
        stmt: Statement,
        observer: Option<&Observer>,
    ) -> impl Future<Output = Result<Option<QueryResult>, DbErr>> + Send;

    fn all(
        &self,
        stmt: Statement,
        observer: Option<&Observer>,
    ) -> impl Future<Output = Result<Vec<QueryResult>, DbErr>> + Send;
}

impl Queries for DatabaseTransaction {
    fn one(
        &self,
        stmt: Statement,
        _: Option<&Observer>,
    ) -> impl Future<Output = Result<Option<QueryResult>, DbErr>> + Send {
        self.query_one_raw(stmt)
    }

    fn all(
        &self,
        stmt: Statement,
        _: Option<&Observer>,
    ) -> impl Future<Output = Result<Vec<QueryResult>, DbErr>> + Send {
        self.query_all_raw(stmt)
    }
}

impl Queries for DatabaseConnection {
    async fn one(&self, stmt: Statement, observer: Option<&Observer>) -> Result<Option<QueryResult>, DbErr> {
        let Some(pool) = postgres(self) else { return Box::pin(self.query_one_raw(stmt)).await };
        let mut conn = pool.acquire().await.map_err(acquire_err)?;
        let (query, observed) = query(stmt, observer);
        let started = Instant::now();
        let row = query.fetch_optional(&mut *conn).await;
        ran(started, row.is_err(), observer, observed);
        Ok(row.map_err(query_err)?.map(QueryResult::from))
    }

    async fn all(&self, stmt: Statement, observer: Option<&Observer>) -> Result<Vec<QueryResult>, DbErr> {
        let Some(pool) = postgres(self) else { return Box::pin(self.query_all_raw(stmt)).await };
        let mut conn = pool.acquire().await.map_err(acquire_err)?;
        let (query, observed) = query(stmt, observer);
        let started = Instant::now();
        let rows = query.fetch_all(&mut *conn).await;
        ran(started, rows.is_err(), observer, observed);
        Ok(rows.map_err(query_err)?.into_iter().map(QueryResult::from).collect())
    }
}

/// The PostgreSQL pool of `db` (neither mock nor proxy connections are built in).
fn postgres(db: &DatabaseConnection) -> Option<&PgPool> {
    (db.get_database_backend() == DbBackend::Postgres).then(|| db.get_postgres_connection_pool())
}

/// `stmt` as sqlx runs it, and a copy of it when an observer is to be told of it.
fn query(stmt: Statement, observer: Option<&Observer>) -> (Query<'static, Postgres, SqlxValues>, Option<Statement>) {
    let observed = observer.map(|_| stmt.clone());
    let values = SqlxValues(stmt.values.unwrap_or(Values(Vec::new())));
    (sqlx::query_with(AssertSqlSafe(stmt.sql), values), observed)
}

/// Count a statement that ran from `started`, and tell `observer` of it.
fn ran(started: Instant, failed: bool, observer: Option<&Observer>, observed: Option<Statement>) {
    let elapsed = started.elapsed();
    crate::metrics::statement_ran(elapsed, failed);
    if let (Some(observer), Some(statement)) = (observer, &observed) {
        observer(&Info { elapsed, statement, failed });
    }
}

/// The errors sea-orm gives for the same failures, which `ApiError` tells apart.
fn acquire_err(e: sqlx::Error) -> DbErr {
    match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        e => DbErr::Conn(RuntimeErr::SqlxError(e.into())),
    }
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

/// Implement `ConnectionTrait` and `TransactionTrait` for `$handle` by forwarding every
/// call to `self.$inner`, while holding what `$turn` gives (`()` for nothing); queries
/// tell the [`Queries`] observer `$observer` gives of their statements.
macro_rules! forward_connection {
    ($handle:ty, $inner:ident, |$this:ident| $turn:expr, |$that:ident| $observer:expr) => {
        #[async_trait::async_trait]
        impl sea_orm::ConnectionTrait for $handle {
            fn get_database_backend(&self) -> sea_orm::DbBackend {
                self.$inner.get_database_backend()
            }

            async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.execute_raw(stmt).await
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.execute_unprepared(sql).await
            }

            async fn query_one_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                let $that = self;
                super::forward::Queries::one(&self.$inner, stmt, $observer).await
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                let $that = self;
                super::forward::Queries::all(&self.$inner, stmt, $observer).await
            }

            fn support_returning(&self) -> bool {
                self.$inner.support_returning()
            }

            fn is_mock_connection(&self) -> bool {
                self.$inner.is_mock_connection()
            }
        }

        #[async_trait::async_trait]
        impl sea_orm::TransactionTrait for $handle {
            type Transaction = sea_orm::DatabaseTransaction;

            async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.begin().await
            }

            async fn begin_with_config(
                &self,
                isolation_level: Option<sea_orm::IsolationLevel>,
                access_mode: Option<sea_orm::AccessMode>,
            ) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.begin_with_config(isolation_level, access_mode).await
            }

            async fn begin_with_options(
                &self,
                options: sea_orm::TransactionOptions,
            ) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.begin_with_options(options).await
            }

            async fn transaction<F, T, E>(&self, callback: F) -> Result<T, sea_orm::TransactionError<E>>
            where
                F: for<'c> FnOnce(
                        &'c sea_orm::DatabaseTransaction,
                    )
                        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>
                    + Send,
                T: Send,
                E: std::fmt::Display + std::fmt::Debug + Send,
            {
                let $this = self;
                let _turn = $turn;
                self.$inner.transaction(callback).await
            }

            async fn transaction_with_config<F, T, E>(
                &self,
                callback: F,
                isolation_level: Option<sea_orm::IsolationLevel>,
                access_mode: Option<sea_orm::AccessMode>,
            ) -> Result<T, sea_orm::TransactionError<E>>
            where
                F: for<'c> FnOnce(
                        &'c sea_orm::DatabaseTransaction,
                    )
                        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>
                    + Send,
                T: Send,
                E: std::fmt::Display + std::fmt::Debug + Send,
            {
                let $this = self;
                let _turn = $turn;
                self.$inner.transaction_with_config(callback, isolation_level, access_mode).await
            }
        }
    };
}

pub(crate) use forward_connection;
