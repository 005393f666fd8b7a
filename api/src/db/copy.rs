//! Bulk loading with PostgreSQL's `COPY … FROM STDIN` in text format.
//!
//! Multi-row `INSERT`s spend most of a bulk load building, sending and parsing SQL
//! text with bind parameters; `COPY` streams rows that PostgreSQL parses in bulk. Rows
//! are encoded from sea-orm models column by column, so a table gains a column
//! without this code changing.

use std::marker::PhantomData;

use sea_orm::sqlx::PgConnection;
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, RuntimeErr, Value,
};

use crate::error::{ApiError, Result};

/// Largest `CopyData` message sent; PostgreSQL takes rows split across messages.
const COPY_MESSAGE_BYTES: usize = 64 * 1024;

/// Rows encoded for [`copy_encoded`]: the work that needs no connection, so a caller
/// can do it on another thread while the previous rows are being sent.
pub struct Encoded<E: EntityTrait> {
    data: Vec<u8>,
    rows: u64,
    /// The columns each row holds, in order.
    columns: Vec<E::Column>,
    _entity: PhantomData<E>,
}

/// Encode `models` as `COPY` text rows of all their table's columns.
pub fn encode_rows<E: EntityTrait>(models: &[E::Model]) -> Result<Encoded<E>> {
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let mut data = Vec::with_capacity(models.len() * columns.len() * 16);
    for model in models {
        encode_row(&mut data, columns.iter().map(|column| model.get(*column)))?;
    }
    Ok(Encoded { data, rows: models.len() as u64, columns, _entity: PhantomData })
}

/// Encode new rows as `COPY` text rows of the columns they set (as an `INSERT` would,
/// columns left unset take their defaults). Every row must set the same columns. Each
/// row is dropped once encoded, before the next is taken.
pub fn encode_new<A: ActiveModelTrait>(
    rows: impl IntoIterator<Item = A, IntoIter: ExactSizeIterator>,
) -> Result<Encoded<A::Entity>> {
    let mut rows = rows.into_iter().peekable();
    let Some(first) = rows.peek() else {
        return Ok(Encoded { data: Vec::new(), rows: 0, columns: Vec::new(), _entity: PhantomData });
    };
    let set = super::SetColumns::of(first);
    let count = rows.len() as u64;
    let mut data = Vec::with_capacity(rows.len() * set.columns.len() * 16);
    for mut row in rows {
        set.check(&row)?;
        let mut values = Vec::with_capacity(set.columns.len());
        for column in &set.columns {
            values.push(
                row.take(*column)
                    .into_value()
                    .ok_or_else(|| ApiError::internal(format!("a row to copy does not set {}", column.as_str())))?,
            );
        }
        encode_row(&mut data, values.into_iter())?;
    }
    Ok(Encoded { data, rows: count, columns: set.columns, _entity: PhantomData })
}

fn encode_row(data: &mut Vec<u8>, values: impl Iterator<Item = Value>) -> Result<()> {
    for (i, value) in values.enumerate() {
        if i > 0 {
            data.push(b'\t');
        }
        encode(data, value)?;
    }
    data.push(b'\n');
    Ok(())
}

/// Copy encoded rows into their table inside `txn` (a PostgreSQL transaction),
/// reported to the connection's metric callback as one statement.
pub async fn copy_in<E: EntityTrait>(txn: &DatabaseTransaction, rows: &Encoded<E>) -> Result<u64> {
    let mut conn =
        txn.postgres_connection().await.ok_or_else(|| ApiError::internal("COPY outside a PostgreSQL transaction"))?;
    let started = std::time::Instant::now();
    // A future dropped mid-`COPY` (a client gone, a timeout) leaves the server's replies
    // unread; such a connection is closed when its transaction ends, never reused.
    let mut unfinished = CloseUnlessFinished { conn: &mut conn, finished: false };
    let copied = send(unfinished.conn, rows).await;
    // sqlx reads up to the server's next ready state before it returns a database error.
    unfinished.finished = matches!(copied, Ok(_) | Err(sea_orm::sqlx::Error::Database(_)));
    drop(unfinished);
    drop(conn);
    let statement = sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, statement_of(rows));
    let info = sea_orm::metric::Info { elapsed: started.elapsed(), statement: &statement, failed: copied.is_err() };
    txn.report_statement(&info);
    copied.map_err(sqlx_error)
}

struct CloseUnlessFinished<'c, 'a> {
    conn: &'c mut sea_orm::PostgresConnection<'a>,
    finished: bool,
}

impl Drop for CloseUnlessFinished<'_, '_> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// Copy encoded rows into their table over `conn` (inside the caller's transaction);
/// returns the rows written.
pub async fn copy_encoded<E: EntityTrait>(conn: &mut PgConnection, rows: &Encoded<E>) -> Result<u64> {
    send(conn, rows).await.map_err(sqlx_error)
}

async fn send<E: EntityTrait>(conn: &mut PgConnection, rows: &Encoded<E>) -> sea_orm::sqlx::Result<u64> {
    if rows.rows == 0 {
        return Ok(0);
    }
    let mut copy = conn.copy_in_raw(&statement_of(rows)).await?;
    // sqlx buffers a whole `CopyData` message before writing it, and the connection
    // keeps that buffer's size for its life: bounded messages keep it small.
    for chunk in rows.data.chunks(COPY_MESSAGE_BYTES) {
        copy.send(chunk).await?;
    }
    copy.finish().await
}

fn statement_of<E: EntityTrait>(rows: &Encoded<E>) -> String {
    let names: Vec<String> = rows.columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    format!("COPY \"{}\" ({}) FROM STDIN", E::default().table_name(), names.join(", "))
}

/// Run one statement built in code (DDL, settings) over `conn`: never pass input.
pub async fn execute(conn: &mut PgConnection, sql: impl Into<String>) -> Result<()> {
    sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql.into())).execute(conn).await.map_err(sqlx_error)?;
    Ok(())
}

pub(crate) fn sqlx_error(e: sea_orm::sqlx::Error) -> ApiError {
    DbErr::Exec(RuntimeErr::SqlxError(e.into())).into()
}

/// Append one value in `COPY` text format: `\N` for NULL, backslash escapes for the
/// characters that delimit fields and rows.
fn encode(out: &mut Vec<u8>, value: Value) -> Result<()> {
    use std::io::Write;
    let written = match value {
        Value::Bool(Some(b)) => write!(out, "{}", if b { 't' } else { 'f' }),
        Value::TinyInt(Some(n)) => write!(out, "{n}"),
        Value::SmallInt(Some(n)) => write!(out, "{n}"),
        Value::Int(Some(n)) => write!(out, "{n}"),
        Value::BigInt(Some(n)) => write!(out, "{n}"),
        Value::Float(Some(x)) => write_float(out, f64::from(x)),
        Value::Double(Some(x)) => write_float(out, x),
        Value::String(Some(s)) => {
            escape(out, &s);
            Ok(())
        }
        Value::Json(Some(json)) => {
            escape(out, &super::json_text(&json)?);
            Ok(())
        }
        Value::Uuid(Some(id)) => write!(out, "{}", id.hyphenated()),
        Value::ChronoDate(Some(d)) => write_date(out, d),
        Value::ChronoDateTimeUtc(Some(t)) => write_timestamp(out, t),
        Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::Float(None)
        | Value::Double(None)
        | Value::String(None)
        | Value::Json(None)
        | Value::Uuid(None)
        | Value::ChronoDate(None)
        | Value::ChronoDateTimeUtc(None) => {
            out.extend_from_slice(b"\\N");
            Ok(())
        }
        other => return Err(ApiError::internal(format!("COPY cannot encode {other:?}"))),
    };
    written.map_err(|e| ApiError::internal(format!("encoding a COPY row: {e}")))
}

fn write_float(out: &mut Vec<u8>, x: f64) -> std::io::Result<()> {
    use std::io::Write;
    match x {
        x if x.is_nan() => write!(out, "NaN"),
        x if x.is_infinite() => write!(out, "{}Infinity", if x < 0.0 { "-" } else { "" }),
        // Display prints the shortest text that reads back as the same number.
        x => write!(out, "{x}"),
    }
}

/// Append `text` with the bytes `COPY` reads specially escaped, copying the runs between
/// them whole: most text has none, and a push per byte is slow.
fn escape(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    while let Some(at) = rest.iter().position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(match rest[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// Append `n` in exactly `width` decimal digits (it has no more).
fn digits(out: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD`, as chrono's `%Y-%m-%d` writes a year of four digits.
fn write_date(out: &mut Vec<u8>, d: chrono::NaiveDate) -> std::io::Result<()> {
    use chrono::Datelike;
    if !(1..=9999).contains(&d.year()) {
        use std::io::Write;
        return write!(out, "{}", d.format("%Y-%m-%d"));
    }
    digits(out, d.year() as u32, 4);
    out.push(b'-');
    digits(out, d.month(), 2);
    out.push(b'-');
    digits(out, d.day(), 2);
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS.ffffff+00`, what chrono's `%Y-%m-%d %H:%M:%S%.6f+00` writes,
/// digit by digit: chrono parses the format string again for every value (costs in
/// docs/performance.md). Years past four digits and leap seconds keep chrono's writing.
fn write_timestamp(out: &mut Vec<u8>, t: chrono::DateTime<chrono::Utc>) -> std::io::Result<()> {
    use chrono::Timelike;
    if !(1..=9999).contains(&chrono::Datelike::year(&t)) || t.nanosecond() >= 1_000_000_000 {
        use std::io::Write;
        return write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
    }
    write_date(out, t.date_naive())?;
    out.push(b' ');
    digits(out, t.hour(), 2);
    out.push(b':');
    digits(out, t.minute(), 2);
    out.push(b':');
    digits(out, t.second(), 2);
    out.push(b'.');
    digits(out, t.nanosecond() / 1_000, 6);
    out.extend_from_slice(b"+00");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Value) -> String {
        let mut out = Vec::new();
        encode(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn delimiters_and_backslashes_are_escaped() {
        assert_eq!(text(Value::String(Some("a\tb\nc\\d\re".into()))), "a\\tb\\nc\\\\d\\re");
    }

    #[test]
    fn nulls_numbers_and_times_use_postgres_text_forms() {
        assert_eq!(text(Value::String(None)), "\\N");
        assert_eq!(text(Value::Uuid(None)), "\\N");
        assert_eq!(text(Value::Bool(Some(true))), "t");
        assert_eq!(text(Value::Double(Some(4.25))), "4.25");
        assert_eq!(text(Value::Double(Some(f64::NEG_INFINITY))), "-Infinity");
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T05:06:07.123456Z").unwrap().to_utc();
        assert_eq!(text(Value::ChronoDateTimeUtc(Some(at))), "2026-11-30 05:06:07.123456+00");
    }

    /// Dates and times are written as chrono's format strings write them, from the first
    /// year to the last, whole seconds, leap seconds and years past four digits included.
    #[test]
    fn times_are_written_as_chronos_formats_write_them() {
        use chrono::{NaiveDate, TimeZone, Utc};
        let mut times: Vec<chrono::DateTime<Utc>> = vec![
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(0, 6, 15, 12, 0, 0).unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                .unwrap()
                .and_utc(),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let micros = (seed >> 11) as i64 % (253_402_300_799 * 1_000_000);
            times.push(chrono::DateTime::from_timestamp_micros(micros - 62_135_596_800 * 1_000_000).unwrap());
        }
        for t in times {
            assert_eq!(text(Value::ChronoDateTimeUtc(Some(t))), t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string());
            let d = t.date_naive();
            assert_eq!(text(Value::ChronoDate(Some(d))), d.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn every_special_byte_is_escaped_wherever_it_is() {
        for text_in in ["", "plain", "\\", "\t\n\r", "a\\b\tc\nd\re\\", "é\n漢\\", "end\\"] {
            let expected: String = text_in
                .chars()
                .map(|c| match c {
                    '\\' => "\\\\".to_owned(),
                    '\t' => "\\t".to_owned(),
                    '\n' => "\\n".to_owned(),
                    '\r' => "\\r".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            assert_eq!(text(Value::String(Some(text_in.into()))), expected);
        }
    }

    #[test]
    fn json_is_one_escaped_field() {
        let json = serde_json::json!({ "note": "tab\there" });
        assert_eq!(text(Value::Json(Some(Box::new(json)))), "{\"note\":\"tab\\\\there\"}");
    }
}
