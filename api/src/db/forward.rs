//! Handles that wrap a connection or transaction and forward every statement to it:
//! [`RequestDb`](super::request::RequestDb) (each statement waits for one of the
//! request's turns) and [`Write`](super::write::Write) (a transaction holding SQLite's
//! write turn).

/// Implement `ConnectionTrait` and `TransactionTrait` for `$handle` by forwarding every
/// call to `self.$inner`, while holding what `$turn` gives (`()` for nothing).
macro_rules! forward_connection {
    ($handle:ty, $inner:ident, |$this:ident| $turn:expr) => {
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
                self.$inner.query_one_raw(stmt).await
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
                let $this = self;
                let _turn = $turn;
                self.$inner.query_all_raw(stmt).await
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
