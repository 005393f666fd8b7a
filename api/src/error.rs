//! One error type for the whole API. Every variant maps to one `extensions.code`;
//! internal causes are logged and never shown to a client.

use async_graphql::{ErrorExtensions, ServerError};
use sea_orm::{DbErr, SqlErr};

/// The error of every domain function and resolver.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No credential, or one that is invalid, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Absent, or belongs to another organization (never told apart).
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid; `field` names the input field at fault.
    #[error("{message}")]
    BadUserInput { message: String, field: Option<String> },
    /// A stale `version`, a duplicate key or a state that no longer allows the change.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts or requests; try again after `retry_after_secs` (HTTP 429
    /// with `Retry-After`).
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// A money figure needs an exchange rate that is not set: `currency` into `quote`
    /// on or before `day` (extensions `currency`, `quote`, `day`). Nothing is left out silently.
    #[error("no exchange rate from {currency} to {quote} on or before {day}: an ADMIN sets one with setExchangeRates")]
    MissingExchangeRate { currency: String, quote: String, day: chrono::NaiveDate },
    /// The request ran out of time (HTTP 503); nothing it had not committed was kept.
    #[error("{0}")]
    Timeout(String),
    /// A request gave only a document's hash, and the server knows no document by it:
    /// send the text with the hash (Automatic Persisted Queries).
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// A live subscription fell so far behind that events were dropped: subscribe
    /// again and read the current state.
    #[error("{0}")]
    EventsMissed(String),
    /// Something failed on our side. The cause is logged, the client sees a generic message.
    #[error("internal error")]
    Internal,
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadUserInput { message: message.into(), field: Some(field.to_owned()) }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// RATE_LIMITED, to be tried again after `wait` (rounded up to whole seconds).
    pub fn rate_limited(message: impl Into<String>, wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::RateLimited { message: message.into(), retry_after_secs: secs.max(1) }
    }

    /// Log an unexpected failure and turn it into [`ApiError::Internal`].
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }

    /// The value of `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::MissingExchangeRate { .. } => "MISSING_EXCHANGE_RATE",
            Self::Timeout(_) => "TIMEOUT",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::EventsMissed(_) => "EVENTS_MISSED",
            Self::Internal => "INTERNAL",
        }
    }
}

/// PostgreSQL's `query_canceled`: the statement ran past `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

/// The database's own error behind `err`, if the database answered with one.
fn database_error(err: &DbErr) -> Option<&dyn sea_orm::sqlx::error::DatabaseError> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e.as_database_error(),
        _ => None,
    }
}

fn is_statement_timeout(err: &DbErr) -> bool {
    database_error(err).and_then(|db| db.code()).is_some_and(|code| code == QUERY_CANCELED)
}

/// PostgreSQL's `lock_not_available`: a lock was not granted within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

pub(crate) fn is_lock_not_available(err: &DbErr) -> bool {
    database_error(err).and_then(|db| db.code()).is_some_and(|code| code == LOCK_NOT_AVAILABLE)
}

/// SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED`, with their extended codes: another
/// process (the command line, say) held the file's write lock for longer than the
/// busy timeout, through which SQLite kept retrying. Writers of this process queue
/// for their turn (`db::write`) and never meet it among themselves.
fn is_sqlite_busy(err: &DbErr) -> bool {
    database_error(err)
        .filter(|db| db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some())
        .and_then(|db| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if is_statement_timeout(&err) {
            return Self::Timeout("the request ran out of time and was stopped; nothing it changed was kept".into());
        }
        if is_sqlite_busy(&err) {
            return Self::Timeout(
                "the database stayed busy with another process's writes for the whole time limit; nothing was changed: retry"
                    .into(),
            );
        }
        if matches!(err, DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)) {
            return Self::Timeout("no database connection came free in time; nothing was changed: retry".into());
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a record with the same unique value already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::BadUserInput { message: "a referenced record does not exist".into(), field: None }
            }
            _ => Self::internal(err),
        }
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl ApiError {
    /// `code`, and `field` or `retryAfter` where the error has one.
    pub fn set_extensions(&self, ext: &mut async_graphql::ErrorExtensionValues) {
        ext.set("code", self.code());
        match self {
            Self::BadUserInput { field: Some(field), .. } => ext.set("field", field.as_str()),
            Self::RateLimited { retry_after_secs, .. } => ext.set("retryAfter", *retry_after_secs),
            Self::MissingExchangeRate { currency, quote, day } => {
                ext.set("currency", currency.as_str());
                ext.set("quote", quote.as_str());
                ext.set("day", day.to_string());
            }
            _ => {}
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| self.set_extensions(ext))
    }
}

/// Give every error of a response an `extensions.code`, and make sure no internal
/// text (SQL, a library's message) reaches the client. Resolvers may use `?` on an
/// [`ApiError`] or on any other error: the cause travels as the error's `source`.
pub fn classify(mut error: ServerError) -> ServerError {
    if let Some(api) = error.source::<ApiError>().cloned() {
        error.message = api.to_string();
        api.set_extensions(error.extensions.get_or_insert_with(Default::default));
        return error;
    }
    let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return error;
    }
    if let Some(db) = error.source::<DbErr>() {
        tracing::error!(error = %db, "database error reached a resolver");
        error.message = "internal error".into();
    } else if error.source.is_some() {
        tracing::error!(error = %error.message, "unclassified error reached a resolver");
        error.message = "internal error".into();
    } else {
        // Errors async-graphql raises itself: parse, validation, limits, input coercion.
        error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        return error;
    }
    error.extensions.get_or_insert_with(Default::default).set("code", "INTERNAL");
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_never_reach_the_client() {
        let err: async_graphql::Error = DbErr::Custom("syntax error at or near \"SELECT\"".into()).into();
        let server = classify(err.into_server_error(Default::default()));
        assert_eq!(server.message, "internal error");
        let code = server.extensions.unwrap().get("code").cloned();
        assert_eq!(code, Some(async_graphql::Value::from("INTERNAL")));
    }

    #[test]
    fn api_errors_carry_their_code_and_field() {
        let err: async_graphql::Error = ApiError::bad_input("email", "is not an e-mail address").into();
        let server = classify(err.into_server_error(Default::default()));
        let ext = server.extensions.unwrap();
        assert_eq!(ext.get("code").cloned(), Some("BAD_USER_INPUT".into()));
        assert_eq!(ext.get("field").cloned(), Some("email".into()));
    }
}
