//! The database as one GraphQL request sees it. async-graphql resolves the fields of
//! an object concurrently, so a request of many aliased root fields would otherwise
//! take every pooled connection and make everyone else wait. Each statement of a
//! request waits for one of the request's few turns. A transaction is one turn
//! while it begins (or, with `transaction`, while its callback runs); mutations run
//! one after another, so a request has at most one open.

use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, TransactionError, TransactionOptions, TransactionTrait,
};
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

#[async_trait::async_trait]
impl ConnectionTrait for RequestDb {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let _turn = self.turn().await;
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let _turn = self.turn().await;
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let _turn = self.turn().await;
        self.db.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let _turn = self.turn().await;
        self.db.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.db.is_mock_connection()
    }
}

#[async_trait::async_trait]
impl TransactionTrait for RequestDb {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        let _turn = self.turn().await;
        self.db.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        let _turn = self.turn().await;
        self.db.begin_with_config(isolation_level, access_mode).await
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        let _turn = self.turn().await;
        self.db.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let _turn = self.turn().await;
        self.db.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let _turn = self.turn().await;
        self.db.transaction_with_config(callback, isolation_level, access_mode).await
    }
}
