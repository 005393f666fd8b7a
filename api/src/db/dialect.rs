//! Every difference between SQLite and PostgreSQL that our code has to spell out, as
//! named functions. No other module looks at the backend: what the rest of the code
//! needs to know is asked here, in the words of what differs.

use sea_orm::{ConnectionTrait, DbBackend};

use crate::db::sql::Sql;

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

/// `expr` rounded to a whole number, half away from zero, the same on both engines and
/// in the exchange-rate conversion (`org::exchange_rates::convert`): first to 15 significant digits, so that a
/// product such as 100 × 1.005 (100.49999999999999 in binary) is the half cent it
/// stands for and rounds up to 101. PostgreSQL's cast of a double to NUMERIC keeps 15
/// significant digits, and it rounds a numeric half away (a double half to even);
/// SQLite rounds the text `printf('%.15g')` writes (its own ROUND of the double would
/// give 100).
pub fn round_half_away(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("ROUND(CAST({expr} AS NUMERIC))"),
        // printf writes NULL as 0: keep NULL (an amount without a rate) NULL.
        _ => format!("CASE WHEN {expr} IS NULL THEN NULL ELSE ROUND(CAST(printf('%.15g', {expr}) AS REAL)) END"),
    }
}

/// [`round_half_away`] of an expression with bound values.
pub fn round_half_away_sql(backend: DbBackend, expr: &Sql) -> Sql {
    let mut sql = Sql::new();
    match backend {
        DbBackend::Postgres => sql.push("ROUND(CAST(").append(expr).push(" AS NUMERIC))"),
        _ => sql
            .push("CASE WHEN ")
            .append(expr)
            .push(" IS NULL THEN NULL ELSE ROUND(CAST(printf('%.15g', ")
            .append(expr)
            .push(") AS REAL)) END"),
    };
    sql
}

/// Seconds since the epoch of a timestamp expression (or of a date's midnight in UTC,
/// when `date`), as text of 12 digits: zero-padded, so that texts sort like instants.
pub fn padded_epoch(backend: DbBackend, expr: &str, date: bool) -> String {
    match backend {
        DbBackend::Postgres => {
            // A date becomes a timestamp without time zone: its epoch is UTC midnight.
            let value = if date { format!("CAST({expr} AS TIMESTAMP)") } else { expr.to_owned() };
            format!("LPAD(CAST(CAST(EXTRACT(EPOCH FROM {value}) AS BIGINT) AS TEXT), 12, '0')")
        }
        _ => format!("SUBSTR('000000000000' || CAST(unixepoch({expr}) AS INTEGER), -12, 12)"),
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
