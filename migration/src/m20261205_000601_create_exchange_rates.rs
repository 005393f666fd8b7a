//! `exchange_rates`: dated rates an organization's ADMINs set, from a currency into the
//! reporting currency (`quote`), so money KPIs, goals and amount ordering convert
//! instead of leaving other currencies out. A rate holds from `valid_from` (a local day
//! of the organization; `valid_from_at` is that day's local midnight in UTC, kept in step
//! with the organization's time zone) until the next rate of the same currency.
//!
//! `opportunities.amount_reporting_minor`: the amount converted at the latest rate (null
//! without one), so lists order deals of every currency on one scale by index.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExchangeRates::Table)
                    .col(pk_uuid(ExchangeRates::Id))
                    .col(uuid(ExchangeRates::OrgId))
                    .col(string_len(ExchangeRates::Currency, 3))
                    .col(string_len(ExchangeRates::Quote, 3))
                    .col(date(ExchangeRates::ValidFrom))
                    .col(timestamp_with_time_zone(ExchangeRates::ValidFromAt))
                    .col(double(ExchangeRates::Rate))
                    .col(double(ExchangeRates::MinorFactor))
                    .col(uuid_null(ExchangeRates::UpdatedBy))
                    .col(timestamp_with_time_zone(ExchangeRates::CreatedAt))
                    .col(timestamp_with_time_zone(ExchangeRates::UpdatedAt))
                    .foreign_key(&mut org_fk(ExchangeRates::Table, ExchangeRates::OrgId))
                    .to_owned(),
            )
            .await?;
        // One rate per currency, reporting currency and day; money facts look up the
        // latest rate at or before their instant through it.
        index(
            manager,
            "ux_exchange_rates_org_currency_quote_day",
            ExchangeRates::Table,
            &[ExchangeRates::OrgId, ExchangeRates::Currency, ExchangeRates::Quote, ExchangeRates::ValidFrom],
            true,
        )
        .await?;
        index(
            manager,
            "ix_exchange_rates_org_currency_quote_at",
            ExchangeRates::Table,
            &[ExchangeRates::OrgId, ExchangeRates::Currency, ExchangeRates::Quote, ExchangeRates::ValidFromAt],
            false,
        )
        .await?;
        let mut column = ColumnDef::new(Opportunities::AmountReportingMinor).big_integer().null().to_owned();
        manager.alter_table(Table::alter().table(Opportunities::Table).add_column(&mut column).to_owned()).await?;
        // Deals already in the reporting currency order as before.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE opportunities SET amount_reporting_minor = amount_minor WHERE currency = COALESCE((SELECT \
                 o.settings ->> 'reportingCurrency' FROM organizations o WHERE o.id = opportunities.org_id), 'EUR')",
            )
            .await?;
        index(
            manager,
            "ix_opportunities_org_amount_reporting",
            Opportunities::Table,
            &[Opportunities::OrgId, Opportunities::AmountReportingMinor, Opportunities::Id],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite refuses to drop a column an index still names.
        manager
            .drop_index(
                Index::drop().name("ix_opportunities_org_amount_reporting").table(Opportunities::Table).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Opportunities::Table).drop_column(Opportunities::AmountReportingMinor).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(ExchangeRates::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone)]
enum ExchangeRates {
    Table,
    Id,
    OrgId,
    Currency,
    Quote,
    ValidFrom,
    ValidFromAt,
    Rate,
    MinorFactor,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum Opportunities {
    Table,
    Id,
    OrgId,
    AmountReportingMinor,
}
