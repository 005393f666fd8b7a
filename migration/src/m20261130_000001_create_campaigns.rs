//! `campaigns`: marketing campaigns with their channel, dates, budget and spend.
//! Leads name their campaign in the free-text `leads.campaign`, which matches
//! `campaigns.name` exactly; cost per lead and per MQL and marketing ROI are computed
//! from the two. The KPI engine and the BI views read these columns by name: never
//! rename them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk, set_null_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(pk_uuid(Campaigns::Id))
                    .col(uuid(Campaigns::OrgId))
                    .col(string_len(Campaigns::Name, 200))
                    .col(string_len(Campaigns::Channel, 32))
                    .col(date(Campaigns::StartsOn))
                    .col(date(Campaigns::EndsOn))
                    .col(big_integer(Campaigns::BudgetMinor))
                    .col(big_integer(Campaigns::SpendMinor).default(0))
                    .col(string_len(Campaigns::Currency, 3))
                    .col(uuid_null(Campaigns::OwnerId))
                    .col(timestamp_with_time_zone_null(Campaigns::ArchivedAt))
                    .col(integer(Campaigns::Version).default(1))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    // The domain validates these too; the checks keep other writers
                    // (imports, SQL by hand) honest.
                    .check(("ck_campaigns_dates", Expr::col(Campaigns::EndsOn).gte(Expr::col(Campaigns::StartsOn))))
                    .check(("ck_campaigns_budget", Expr::col(Campaigns::BudgetMinor).gte(0)))
                    .check(("ck_campaigns_spend", Expr::col(Campaigns::SpendMinor).gte(0)))
                    .foreign_key(&mut org_fk(Campaigns::Table, Campaigns::OrgId))
                    .foreign_key(&mut set_null_fk(Campaigns::Table, Campaigns::OwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use Campaigns::*;
            // One campaign per name: leads find their campaign by it.
            index(manager, "ux_campaigns_org_name", Table, &[OrgId, Name], true).await?;
            index(manager, "ix_campaigns_org_channel", Table, &[OrgId, Channel], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Campaigns::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Campaigns {
    Table,
    Id,
    OrgId,
    Name,
    Channel,
    StartsOn,
    EndsOn,
    BudgetMinor,
    SpendMinor,
    Currency,
    OwnerId,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
