//! Goals measure the KPI catalogue's metrics, by the same names: the goal metrics that
//! had names of their own take the KPI's (NEW_LEADS → LEADS_CREATED, …), money targets
//! move to minor units of the reporting currency (as every money figure of the API),
//! and a goal gains the KPI scopes campaign, strategy and ICP fit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Old goal metric name → the catalogue's.
const RENAMED: [(&str, &str); 5] = [
    ("NEW_LEADS", "LEADS_CREATED"),
    ("OPPORTUNITIES", "OPPORTUNITIES_CREATED"),
    ("PIPELINE_AMOUNT", "PIPELINE_VALUE"),
    ("CLOSED_WON_DEALS", "DEALS_WON"),
    ("CLOSED_WON_REVENUE", "REVENUE_WON"),
];

/// Money goal metrics, whose targets were in major units.
const MONEY: &str = "('PIPELINE_VALUE', 'REVENUE_WON', 'MARKETING_SOURCED_PIPELINE', 'MARKETING_SOURCED_REVENUE')";

/// Minor units per major unit by ISO 4217 (two when not listed), for the reporting currency.
const FACTOR: &str = "CASE c \
    WHEN 'BIF' THEN 1 WHEN 'CLP' THEN 1 WHEN 'DJF' THEN 1 WHEN 'GNF' THEN 1 WHEN 'ISK' THEN 1 \
    WHEN 'JPY' THEN 1 WHEN 'KMF' THEN 1 WHEN 'KRW' THEN 1 WHEN 'PYG' THEN 1 WHEN 'RWF' THEN 1 \
    WHEN 'UGX' THEN 1 WHEN 'UYI' THEN 1 WHEN 'VND' THEN 1 WHEN 'VUV' THEN 1 WHEN 'XAF' THEN 1 \
    WHEN 'XOF' THEN 1 WHEN 'XPF' THEN 1 \
    WHEN 'BHD' THEN 1000 WHEN 'IQD' THEN 1000 WHEN 'JOD' THEN 1000 WHEN 'KWD' THEN 1000 \
    WHEN 'LYD' THEN 1000 WHEN 'OMR' THEN 1000 WHEN 'TND' THEN 1000 \
    WHEN 'CLF' THEN 10000 WHEN 'UYW' THEN 10000 ELSE 100 END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (old, new) in RENAMED {
            db.execute_unprepared(&format!("UPDATE goals SET metric = '{new}' WHERE metric = '{old}'")).await?;
        }
        let currency = match manager.get_database_backend() {
            DbBackend::Postgres => "o.settings ->> 'reportingCurrency'",
            _ => "json_extract(o.settings, '$.reportingCurrency')",
        };
        db.execute_unprepared(&format!(
            "UPDATE goals SET target = target * (SELECT {FACTOR} FROM (SELECT UPPER(COALESCE({currency}, 'EUR')) AS c \
             FROM organizations o WHERE o.id = goals.org_id) r) WHERE metric IN {MONEY}"
        ))
        .await?;
        for mut column in [
            ColumnDef::new(Goals::Campaign).string_len(200).null().to_owned(),
            ColumnDef::new(Goals::Strategy).string_len(16).null().to_owned(),
            ColumnDef::new(Goals::IcpFit).boolean().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Goals::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Goals::Campaign, Goals::Strategy, Goals::IcpFit] {
            manager.alter_table(Table::alter().table(Goals::Table).drop_column(column).to_owned()).await?;
        }
        let db = manager.get_connection();
        let currency = match manager.get_database_backend() {
            DbBackend::Postgres => "o.settings ->> 'reportingCurrency'",
            _ => "json_extract(o.settings, '$.reportingCurrency')",
        };
        db.execute_unprepared(&format!(
            "UPDATE goals SET target = target / (SELECT {FACTOR} FROM (SELECT UPPER(COALESCE({currency}, 'EUR')) AS c \
             FROM organizations o WHERE o.id = goals.org_id) r) WHERE metric IN {MONEY}"
        ))
        .await?;
        for (old, new) in RENAMED {
            db.execute_unprepared(&format!("UPDATE goals SET metric = '{old}' WHERE metric = '{new}'")).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Goals {
    Table,
    Campaign,
    Strategy,
    IcpFit,
}
