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
                    .table(RescoreJobs::Table)
                    .col(pk_uuid(RescoreJobs::Id))
                    .col(uuid(RescoreJobs::OrgId))
                    .col(uuid(RescoreJobs::ModelId))
                    .col(integer(RescoreJobs::ModelVersion))
                    .col(string_len(RescoreJobs::Status, 16))
                    .col(big_integer(RescoreJobs::Processed).default(0))
                    .col(big_integer(RescoreJobs::Total).default(0))
                    .col(uuid_null(RescoreJobs::LastLeadId))
                    .col(timestamp_with_time_zone_null(RescoreJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(RescoreJobs::FinishedAt))
                    .col(timestamp_with_time_zone(RescoreJobs::CreatedAt))
                    .col(timestamp_with_time_zone(RescoreJobs::UpdatedAt))
                    .foreign_key(&mut org_fk(RescoreJobs::Table, RescoreJobs::OrgId))
                    .to_owned(),
            )
            .await?;
        {
            use RescoreJobs::*;
            // The worker's scan of unfinished jobs (oldest first) and an organization's latest job.
            index(manager, "ix_rescore_jobs_status_created", Table, &[Status, CreatedAt], false).await?;
            index(manager, "ix_rescore_jobs_org_created", Table, &[OrgId, CreatedAt], false).await?;
        }
        // Which model version scored a lead, and when: the breakdown recomputes exactly that.
        for statement in [
            Table::alter().table(Leads::Table).add_column(uuid_null(Leads::ScoringModelId)).to_owned(),
            Table::alter().table(Leads::Table).add_column(integer_null(Leads::ScoringModelVersion)).to_owned(),
            Table::alter().table(Leads::Table).add_column(timestamp_with_time_zone_null(Leads::ScoredAt)).to_owned(),
        ] {
            manager.alter_table(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Leads::ScoringModelId, Leads::ScoringModelVersion, Leads::ScoredAt] {
            manager.alter_table(Table::alter().table(Leads::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(RescoreJobs::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RescoreJobs {
    Table,
    Id,
    OrgId,
    ModelId,
    ModelVersion,
    Status,
    Processed,
    Total,
    LastLeadId,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    ScoringModelId,
    ScoringModelVersion,
    ScoredAt,
}
