//! Every difference between SQLite and PostgreSQL that our code has to spell out, as
//! named functions. No other module looks at the backend: what the rest of the code
//! needs to know is asked here, in the words of what differs.

use sea_orm::{ConnectionTrait, DbBackend};

/// True on PostgreSQL, false on the embedded SQLite file.
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// The `n`th (1-based) bind placeholder of a statement: `$n` on PostgreSQL, `?` on SQLite.
pub fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The clause that ends a `SELECT` claiming rows for one worker: `FOR UPDATE SKIP
/// LOCKED` on PostgreSQL; nothing on SQLite, whose single writer already excludes others.
pub fn skip_locked_clause(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    }
}

/// Seconds from timestamp expression `from` to `to`, as a double.
pub fn seconds_between(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION)"),
        _ => format!("(unixepoch({to}, 'subsec') - unixepoch({from}, 'subsec'))"),
    }
}

/// Hours from `from` to `to`.
pub fn hours_between(backend: DbBackend, from: &str, to: &str) -> String {
    format!("({} / 3600.0)", seconds_between(backend, from, to))
}

/// Days from `from` to `to`.
pub fn days_between(backend: DbBackend, from: &str, to: &str) -> String {
    format!("({} / 86400.0)", seconds_between(backend, from, to))
}

/// A date expression as a day number, so that differences are whole days.
pub fn day_number(backend: DbBackend, date: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({date} - DATE '1970-01-01')"),
        _ => format!("julianday({date})"),
    }
}

/// The hour (since the epoch) of a timestamp column, as an integer.
pub fn hour_of(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600) AS BIGINT)"),
        _ => format!("CAST(unixepoch({column}) / 3600 AS INTEGER)"),
    }
}

/// Whether a JSON value bound as text needs a cast to its column type (`$1::jsonb`):
/// PostgreSQL does not turn text into `jsonb` implicitly; SQLite stores JSON as text.
pub fn casts_json(backend: DbBackend) -> bool {
    backend == DbBackend::Postgres
}
