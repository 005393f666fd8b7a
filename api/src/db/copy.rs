//! Bulk loading with PostgreSQL's `COPY … FROM STDIN` in text format.
//!
//! Multi-row `INSERT`s spend most of a bulk load building, sending and parsing SQL
//! text with bind parameters; `COPY` streams rows that PostgreSQL parses in bulk. Rows
//! are encoded from sea-orm models column by column, so a table gains a column
//! without this code changing.

use std::marker::PhantomData;

use sea_orm::sqlx::PgConnection;
use sea_orm::{DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, RuntimeErr, Value};

use crate::error::{ApiError, Result};

/// Rows encoded for [`copy_encoded`]: the work that needs no connection, so a caller
/// can do it on another thread while the previous rows are being sent.
pub struct Encoded<E> {
    data: Vec<u8>,
    rows: u64,
    _entity: PhantomData<E>,
}

/// Encode `models` as `COPY` text rows of all their table's columns.
pub fn encode_rows<E: EntityTrait>(models: &[E::Model]) -> Result<Encoded<E>> {
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let mut data = Vec::with_capacity(models.len() * columns.len() * 16);
    for model in models {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            encode(&mut data, model.get(*column))?;
        }
        data.push(b'\n');
    }
    Ok(Encoded { data, rows: models.len() as u64, _entity: PhantomData })
}

/// Copy encoded rows into their table over `conn` (inside the caller's transaction);
/// returns the rows written.
pub async fn copy_encoded<E: EntityTrait>(conn: &mut PgConnection, rows: &Encoded<E>) -> Result<u64> {
    if rows.rows == 0 {
        return Ok(0);
    }
    let names: Vec<String> = E::Column::iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    let statement = format!("COPY \"{}\" ({}) FROM STDIN", E::default().table_name(), names.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await.map_err(sqlx_error)?;
    copy.send(rows.data.as_slice()).await.map_err(sqlx_error)?;
    copy.finish().await.map_err(sqlx_error)
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
        Value::ChronoDate(Some(d)) => write!(out, "{}", d.format("%Y-%m-%d")),
        Value::ChronoDateTimeUtc(Some(t)) => write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00")),
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

fn escape(out: &mut Vec<u8>, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
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

    #[test]
    fn json_is_one_escaped_field() {
        let json = serde_json::json!({ "note": "tab\there" });
        assert_eq!(text(Value::Json(Some(Box::new(json)))), "{\"note\":\"tab\\\\there\"}");
    }
}
