//! `exchange_rates`: dated rates from a currency into an organization's reporting currency.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "exchange_rates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// ISO-4217 code of the currency converted from, such as `USD`.
    pub currency: String,
    /// The reporting currency converted into when the rate was set; a rate of another
    /// reporting currency is kept but never used.
    pub quote: String,
    /// The first local day of the organization the rate holds (until the next rate).
    pub valid_from: Date,
    /// Local midnight of `valid_from` in the organization's time zone, as a UTC instant.
    pub valid_from_at: DateTimeUtc,
    /// Units of `quote` per unit of `currency`.
    pub rate: f64,
    /// Minor units of `quote` per minor unit of `currency` (the rate scaled by both exponents).
    pub minor_factor: f64,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
