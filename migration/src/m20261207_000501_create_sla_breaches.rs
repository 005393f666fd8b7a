//! `sla_breaches`: each ended period in which an agreed SLA missed its target, recorded
//! once (unique per SLA and period start) by the job that judges ended periods, so the
//! `sla.periodBreached` event is published once whatever the number of replicas.

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
                    .table(SlaBreaches::Table)
                    .col(pk_uuid(SlaBreaches::Id))
                    .col(uuid(SlaBreaches::OrgId))
                    .col(uuid(SlaBreaches::SlaId))
                    .col(integer(SlaBreaches::SlaVersion))
                    .col(timestamp_with_time_zone(SlaBreaches::PeriodStart))
                    .col(timestamp_with_time_zone(SlaBreaches::PeriodEnd))
                    .col(double(SlaBreaches::Value))
                    .col(double(SlaBreaches::Target))
                    .col(timestamp_with_time_zone(SlaBreaches::CreatedAt))
                    .foreign_key(&mut org_fk(SlaBreaches::Table, SlaBreaches::OrgId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_sla_breaches_org_sla_period",
            SlaBreaches::Table,
            &[SlaBreaches::OrgId, SlaBreaches::SlaId, SlaBreaches::PeriodStart],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SlaBreaches::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SlaBreaches {
    Table,
    Id,
    OrgId,
    SlaId,
    SlaVersion,
    PeriodStart,
    PeriodEnd,
    Value,
    Target,
    CreatedAt,
}
