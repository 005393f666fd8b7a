//! `goals`: shared targets (a metric, a target and a period, optionally for one
//! team). Progress is computed from KPIs by a later issue.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;
use crate::m20261123_000002_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Goals::Table)
                    .col(pk_uuid(Goals::Id))
                    .col(uuid(Goals::OrgId))
                    .col(string(Goals::Name))
                    .col(string_len(Goals::Metric, 48))
                    .col(double(Goals::Target))
                    .col(date(Goals::PeriodStart))
                    .col(date(Goals::PeriodEnd))
                    .col(string_len_null(Goals::Team, 16))
                    .col(uuid_null(Goals::OwnerId))
                    .col(integer(Goals::Version).default(1))
                    .col(timestamp_with_time_zone(Goals::CreatedAt))
                    .col(timestamp_with_time_zone(Goals::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_goals_org")
                            .from(Goals::Table, Goals::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_goals_owner")
                            .from(Goals::Table, Goals::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // `goals(filter)` lists by period (overlapping a date range), optionally by team.
        manager
            .create_index(
                Index::create()
                    .name("ix_goals_org_period")
                    .table(Goals::Table)
                    .col(Goals::OrgId)
                    .col(Goals::PeriodStart)
                    .col(Goals::PeriodEnd)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_goals_org_team")
                    .table(Goals::Table)
                    .col(Goals::OrgId)
                    .col(Goals::Team)
                    .col(Goals::PeriodStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Goals::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Goals {
    Table,
    Id,
    OrgId,
    Name,
    Metric,
    Target,
    PeriodStart,
    PeriodEnd,
    Team,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
}
