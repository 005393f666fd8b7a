//! GraphQL types and resolvers of exchange rates (`org::exchange_rates`).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{ApiError, Result};
use crate::graphql::{actor, db};
use crate::org::exchange_rates::{self, MAX_RATES, NewRate};

/// A dated exchange rate into the reporting currency. Money figures convert each
/// amount at the rate in force on its day (the latest `validFrom` on or before the
/// organization's local day of the amount), rounded to the reporting currency's minor
/// unit half away from zero, before adding up.
#[derive(SimpleObject)]
pub struct ExchangeRate {
    /// ISO-4217 code of the currency converted from, such as `USD`.
    pub currency: String,
    /// The reporting currency it converts into (a rate of an earlier reporting currency is kept but not used).
    pub quote: String,
    /// First local day of the organization the rate holds, until the currency's next rate.
    pub valid_from: NaiveDate,
    /// Units of `quote` per unit of `currency`, such as 0.92 for USD → EUR.
    pub rate: f64,
    /// When it was last set (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<entity::exchange_rate::Model> for ExchangeRate {
    fn from(m: entity::exchange_rate::Model) -> Self {
        Self { currency: m.currency, quote: m.quote, valid_from: m.valid_from, rate: m.rate, updated_at: m.updated_at }
    }
}

/// One rate to set.
#[derive(InputObject)]
pub struct ExchangeRateInput {
    /// ISO-4217 code of the currency converted from; not the reporting currency.
    pub currency: String,
    /// First local day the rate holds (1990–2100); a rate for the same currency and day is replaced.
    pub valid_from: NaiveDate,
    /// Units of the reporting currency per unit of `currency`: 0.000000001 to 1,000,000,000.
    pub rate: f64,
}

/// Rates to set, all or nothing.
#[derive(InputObject)]
pub struct SetExchangeRatesInput {
    /// 1 to 1,000 rates, at most one per currency and day.
    pub rates: Vec<ExchangeRateInput>,
}

/// Rates to set from CSV, all or nothing.
#[derive(InputObject)]
pub struct ImportExchangeRatesInput {
    /// CSV text (at most 1 MiB, 10,000 rows) with the header `currency,valid_from,rate`
    /// (any column order), days as `2026-10-01`, rates as `0.9231`. Errors name the line.
    pub csv: String,
}

/// The result of setting rates.
#[derive(SimpleObject)]
pub struct SetExchangeRatesPayload {
    /// How many rates were written (new or replaced).
    pub written: i32,
}

#[derive(Default)]
pub struct ExchangeRateQuery;

#[Object]
impl ExchangeRateQuery {
    /// Exchange rates into the reporting currency, newest day first. API keys need `KPIS_READ`.
    async fn exchange_rates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this currency's rates.")] currency: Option<String>,
        #[graphql(desc = "At most this many rates (default 100, at most 1,000).")] first: Option<i32>,
    ) -> Result<Vec<ExchangeRate>> {
        let first = crate::validate::int_range("first", first.unwrap_or(100), 0, MAX_RATES as i64)?;
        let rates = exchange_rates::list(db(ctx), actor(ctx)?, currency.as_deref(), first as u64).await?;
        Ok(rates.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct ExchangeRateMutation;

#[Object]
impl ExchangeRateMutation {
    /// Set exchange rates into the reporting currency (ADMINs): money KPIs, goals and the
    /// amount order of deals convert with them. Audited.
    async fn set_exchange_rates(
        &self,
        ctx: &Context<'_>,
        input: SetExchangeRatesInput,
    ) -> Result<SetExchangeRatesPayload> {
        if input.rates.len() > MAX_RATES {
            return Err(ApiError::bad_input("rates", format!("give 1 to {MAX_RATES} rates")));
        }
        let rates = input
            .rates
            .into_iter()
            .map(|r| NewRate { currency: r.currency, valid_from: r.valid_from, rate: r.rate })
            .collect();
        let written = exchange_rates::set(db(ctx), actor(ctx)?, rates).await?;
        Ok(SetExchangeRatesPayload { written: written as i32 })
    }

    /// Set exchange rates from CSV (ADMINs), like `setExchangeRates`.
    async fn import_exchange_rates(
        &self,
        ctx: &Context<'_>,
        input: ImportExchangeRatesInput,
    ) -> Result<SetExchangeRatesPayload> {
        let written = exchange_rates::set_csv(db(ctx), actor(ctx)?, &input.csv).await?;
        Ok(SetExchangeRatesPayload { written: written as i32 })
    }
}
