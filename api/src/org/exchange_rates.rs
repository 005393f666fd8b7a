//! Dated exchange rates into the organization's reporting currency, set by ADMINs (one
//! by one or as CSV), so every money figure converts instead of leaving a currency out.
//!
//! The rule, the same everywhere: an amount converts at the rate of its currency in
//! force at the amount's instant (the rate with the latest `validFrom` on or before the
//! organization's local day of that instant), and is rounded to the reporting
//! currency's minor unit, half away from zero, before anything is added up. A rate set
//! for another reporting currency is kept but never used. Without a rate, a figure
//! that needs one is an error naming the currency and the day, never a silent gap.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::exchange_rate::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::local_midnight;
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_administer, can_read, require};
use crate::db::sql::Sql;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate;

/// Most rates one call sets.
pub const MAX_RATES: usize = 1_000;
/// Most rows of one CSV, and its size in bytes.
pub const MAX_CSV_ROWS: usize = 10_000;
pub const MAX_CSV_BYTES: usize = 1 << 20;
/// Rates outside this range are typing mistakes, not currencies.
pub const MIN_RATE: f64 = 1e-9;
pub const MAX_RATE: f64 = 1e9;

/// A rate to set: units of the reporting currency per unit of `currency`, from `valid_from`.
#[derive(Debug, Clone)]
pub struct NewRate {
    pub currency: String,
    pub valid_from: NaiveDate,
    pub rate: f64,
}

/// Minor units per major unit of `currency` as a power of ten (2 for EUR, 0 for JPY).
pub fn exponent(currency: &str) -> i32 {
    iso_currency::Currency::from_code(currency).and_then(|c| c.exponent()).map_or(2, i32::from)
}

/// Minor units of `quote` per minor unit of `currency` at `rate`.
pub fn minor_factor(currency: &str, quote: &str, rate: f64) -> f64 {
    rate * 10f64.powi(exponent(quote) - exponent(currency))
}

/// `amount_minor` of a currency in minor units of the reporting currency at `factor`,
/// rounded half away from zero (the rule the SQL of every figure follows too, see
/// [`crate::db::dialect::round_half_away`]): first to 15 significant digits, so that
/// 100 × 1.005, 100.49999999999999 in binary, is the half cent 100.5 and gives 101.
pub fn convert(amount_minor: i64, factor: f64) -> i64 {
    let product = amount_minor as f64 * factor;
    let significant: f64 = format!("{product:.14e}").parse().unwrap_or(product);
    significant.round() as i64
}

fn checked(i: usize, quote: &str, rate: NewRate) -> Result<NewRate> {
    let at = |field: &str| format!("rates[{i}].{field}");
    let currency = validate::currency(&at("currency"), &rate.currency)?;
    if currency == quote {
        return Err(ApiError::bad_input(&at("currency"), format!("{currency} is the reporting currency")));
    }
    if !(1990..=2100).contains(&rate.valid_from.year()) {
        return Err(ApiError::bad_input(&at("validFrom"), "must be a day from 1990 to 2100"));
    }
    if !rate.rate.is_finite() || !(MIN_RATE..=MAX_RATE).contains(&rate.rate) {
        return Err(ApiError::bad_input(&at("rate"), format!("must be from {MIN_RATE} to {MAX_RATE}")));
    }
    Ok(NewRate { currency, ..rate })
}

/// Set rates (ADMINs): each replaces the rate of its currency and day, if any. All or
/// nothing; returns how many were written.
#[tracing::instrument(skip(db, actor, rates), fields(org = %actor.org_id, n = rates.len()))]
pub async fn set(db: &impl crate::db::Transactions, actor: &Actor, rates: Vec<NewRate>) -> Result<usize> {
    require(can_administer(actor), "set exchange rates")?;
    if rates.is_empty() || rates.len() > MAX_RATES {
        return Err(ApiError::bad_input("rates", format!("give 1 to {MAX_RATES} rates")));
    }
    let txn = crate::db::begin_write(db).await?;
    let settings = super::settings(&txn, actor.org_id).await?;
    let quote = settings.reporting_currency.clone();
    let mut seen: BTreeMap<(String, NaiveDate), usize> = BTreeMap::new();
    let mut checked_rates = Vec::with_capacity(rates.len());
    for (i, rate) in rates.into_iter().enumerate() {
        let rate = checked(i, &quote, rate)?;
        if let Some(first) = seen.insert((rate.currency.clone(), rate.valid_from), i) {
            let message = format!("repeats rates[{first}]: one {} rate per day", rate.currency);
            return Err(ApiError::bad_input(&format!("rates[{i}].validFrom"), message));
        }
        checked_rates.push(rate);
    }
    let (tz, now) = (settings.tz(), Utc::now());
    let models: Vec<ActiveModel> = checked_rates
        .iter()
        .map(|r| ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(actor.org_id),
            currency: Set(r.currency.clone()),
            quote: Set(quote.clone()),
            valid_from: Set(r.valid_from),
            valid_from_at: Set(local_midnight(tz, r.valid_from)),
            rate: Set(r.rate),
            minor_factor: Set(minor_factor(&r.currency, &quote, r.rate)),
            updated_by: Set(actor.user_id()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    let conflict = OnConflict::columns([Column::OrgId, Column::Currency, Column::Quote, Column::ValidFrom])
        .update_columns([Column::Rate, Column::MinorFactor, Column::ValidFromAt, Column::UpdatedBy, Column::UpdatedAt])
        .to_owned();
    Entity::insert_many(models).on_conflict(conflict).exec_without_returning(&txn).await?;
    let currencies: Vec<String> = {
        let mut c: Vec<String> = checked_rates.iter().map(|r| r.currency.clone()).collect();
        c.sort();
        c.dedup();
        c
    };
    reprice(&txn, actor.org_id, &quote, Some(&currencies)).await?;
    let changes = Changes::new().created("rates", &checked_rates.len()).created("currencies", &currencies);
    audit::record(&txn, actor, "exchangeRates.set", "organization", Some(actor.org_id), changes).await?;
    txn.commit().await?;
    Ok(checked_rates.len())
}

/// Set rates from CSV text with the header `currency,valid_from,rate` (ADMINs): the
/// same as [`set`], a row's mistake named by its line.
pub async fn set_csv(db: &impl crate::db::Transactions, actor: &Actor, text: &str) -> Result<usize> {
    require(can_administer(actor), "set exchange rates")?;
    if text.len() > MAX_CSV_BYTES {
        return Err(ApiError::bad_input("csv", format!("must be at most {MAX_CSV_BYTES} bytes")));
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| ApiError::bad_input("csv", format!("unreadable header: {e}")))?;
    let position = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(c), Some(d), Some(r)) = (position("currency"), position("valid_from"), position("rate")) else {
        return Err(ApiError::bad_input("csv", "the header must name currency, valid_from and rate"));
    };
    let mut rates = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| ApiError::bad_input("csv", format!("line {line}: {e}")))?;
        if rates.len() == MAX_CSV_ROWS {
            return Err(ApiError::bad_input("csv", format!("must hold at most {MAX_CSV_ROWS} rows")));
        }
        let field = |k: usize| record.get(k).unwrap_or_default();
        let valid_from = NaiveDate::parse_from_str(field(d), "%Y-%m-%d").map_err(|_| {
            ApiError::bad_input("csv", format!("line {line}: valid_from must be a day such as 2026-10-01"))
        })?;
        let rate: f64 = field(r)
            .parse()
            .map_err(|_| ApiError::bad_input("csv", format!("line {line}: rate must be a number such as 0.9231")))?;
        rates.push(NewRate { currency: field(c).to_owned(), valid_from, rate });
    }
    if rates.is_empty() {
        return Err(ApiError::bad_input("csv", "holds no rates"));
    }
    let txn = crate::db::begin_write(db).await?;
    let mut written = 0;
    for (n, chunk) in rates.chunks(MAX_RATES).enumerate() {
        // Errors name the CSV line, not the chunk's index.
        written += set(&txn, actor, chunk.to_vec()).await.map_err(|e| match e {
            ApiError::BadUserInput { message, field: Some(field) } => {
                let index: usize = field
                    .trim_start_matches("rates[")
                    .split(']')
                    .next()
                    .and_then(|i| i.parse().ok())
                    .unwrap_or_default();
                ApiError::bad_input("csv", format!("line {}: {message}", n * MAX_RATES + index + 2))
            }
            other => other,
        })?;
    }
    txn.commit().await?;
    Ok(written)
}

/// Rates of the organization, newest day first: of one currency, or of all; at most `limit`.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor, currency: Option<&str>, limit: u64) -> Result<Vec<Model>> {
    require(can_read(actor, Scope::KpisRead), "read exchange rates")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if let Some(currency) = currency {
        select = select.filter(Column::Currency.eq(validate::currency("currency", currency)?));
    }
    Ok(select.order_by_desc(Column::ValidFrom).order_by_asc(Column::Currency).limit(limit).all(db).await?)
}

/// The factor of `currency`'s latest rate into `quote` as of now; `None` without one.
async fn latest_factor(db: &impl ConnectionTrait, org_id: Uuid, quote: &str, currency: &str) -> Result<Option<f64>> {
    let rate = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Currency.eq(currency))
        .filter(Column::Quote.eq(quote))
        .filter(Column::ValidFromAt.lte(Utc::now()))
        .order_by_desc(Column::ValidFromAt)
        .one(db)
        .await?;
    Ok(rate.map(|r| r.minor_factor))
}

/// A deal amount in the reporting currency at the latest rate, for ordering; `None`
/// without a rate.
pub async fn reporting_amount(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    currency: &str,
    amount_minor: i64,
) -> Result<Option<i64>> {
    let quote = super::settings(db, org_id).await?.reporting_currency;
    if currency == quote {
        return Ok(Some(amount_minor));
    }
    Ok(latest_factor(db, org_id, &quote, currency).await?.map(|f| convert(amount_minor, f)))
}

/// Recompute the stored reporting amounts of the organization's deals (of `currencies`,
/// or all) after rates or the reporting currency changed.
pub(crate) async fn reprice(
    txn: &impl ConnectionTrait,
    org_id: Uuid,
    quote: &str,
    currencies: Option<&[String]>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    let mut all: Vec<String> = match currencies {
        Some(list) => list.to_vec(),
        None => {
            let distinct = "SELECT DISTINCT currency FROM opportunities WHERE org_id = ";
            let mut sql = Sql::new();
            sql.push(distinct).bind(org_id);
            let rows = txn.query_all_raw(sql.build(backend)).await?;
            rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect::<std::result::Result<_, _>>()?
        }
    };
    all.sort();
    for currency in all {
        let mut sql = Sql::new();
        sql.push("UPDATE opportunities SET amount_reporting_minor = ");
        if currency == quote {
            sql.push("amount_minor");
        } else if let Some(factor) = latest_factor(txn, org_id, quote, &currency).await? {
            // A float the server computed: its shortest exact spelling is a valid SQL literal.
            sql.push_composed(crate::db::dialect::round_half_away(backend, &format!("amount_minor * {factor:?}")));
        } else {
            sql.push("NULL");
        }
        sql.push(" WHERE org_id = ").bind(org_id).push(" AND currency = ").bind(currency);
        txn.execute_raw(sql.build(backend)).await?;
    }
    Ok(())
}

/// Keep each rate's first instant in step with a new time zone of the organization.
pub(crate) async fn follow_time_zone(txn: &impl ConnectionTrait, org_id: Uuid, tz: chrono_tz::Tz) -> Result<()> {
    for rate in Entity::find().filter(Column::OrgId.eq(org_id)).all(txn).await? {
        let model = ActiveModel {
            id: Set(rate.id),
            valid_from_at: Set(local_midnight(tz, rate.valid_from)),
            ..Default::default()
        };
        Entity::update(model).exec(txn).await?;
    }
    Ok(())
}

/// What the rates of an organization are as a whole: changes with any rate set, so a
/// KPI rollup built before is not read.
pub async fn revision(db: &impl ConnectionTrait, org_id: Uuid) -> Result<String> {
    let mut sql = Sql::new();
    sql.push("SELECT COUNT(*) AS n, MAX(updated_at) AS at FROM exchange_rates WHERE org_id = ").bind(org_id);
    let row = db.query_one_raw(sql.build(db.get_database_backend())).await?;
    let Some(row) = row else { return Ok("0".into()) };
    let n: i64 = row.try_get("", "n")?;
    let at: Option<DateTime<Utc>> = row.try_get("", "at")?;
    Ok(format!("{n}@{}", at.map(|a| a.timestamp_micros()).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;

    use super::*;

    /// SQLite's SQL rounds every half cent as Rust's `convert` does, including products
    /// a hair under the half in binary.
    #[tokio::test]
    async fn half_cents_round_away_from_zero_in_sqlite_as_in_rust() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let cases = [(100, 1.005), (-100, 1.005), (5, 0.5), (-5, 0.5), (10_001, 0.9), (10_001, 1.005), (1_005, 0.1)];
        for (amount, factor) in cases {
            let expr = crate::db::dialect::round_half_away(DbBackend::Sqlite, &format!("{amount} * {factor:?}"));
            let row =
                db.query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, format!("SELECT {expr} AS r")));
            let rounded: f64 = row.await.unwrap().unwrap().try_get("", "r").unwrap();
            let rust = convert(amount, factor);
            assert_eq!(rounded, rust as f64, "{amount} × {factor}");
        }
        assert_eq!(convert(100, 1.005), 101);
        let null = crate::db::dialect::round_half_away(DbBackend::Sqlite, "NULL * 1.5");
        let row = db.query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, format!("SELECT {null} AS r")));
        assert_eq!(
            row.await.unwrap().unwrap().try_get::<Option<f64>>("", "r").unwrap(),
            None,
            "no rate stays no amount"
        );
    }

    #[test]
    fn factors_scale_by_both_exponents_and_amounts_round_half_away_from_zero() {
        assert_eq!(minor_factor("USD", "EUR", 0.9), 0.9);
        assert_eq!(minor_factor("JPY", "EUR", 0.006), 0.6);
        assert_eq!(minor_factor("EUR", "JPY", 160.0), 1.6);
        assert_eq!(convert(1_000, 0.9), 900);
        assert_eq!(convert(5, 0.5), 3);
        assert_eq!(convert(-5, 0.5), -3);
        // 100 × 1.005 is 100.49999999999999 in binary: the half cent still rounds away.
        assert_eq!(convert(100, 1.005), 101);
        assert_eq!(convert(-100, 1.005), -101);
        assert_eq!(convert(10_001, 1.005), 10_051);
    }
}
