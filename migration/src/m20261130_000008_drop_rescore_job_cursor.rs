//! `rescore_jobs.last_lead_id` was the cursor of a job before jobs ran in lanes; the
//! lanes migration copied every unfinished job's cursor into its lane 0; since then new
//! jobs only wrote it empty and nothing read it. Dropped so that no one takes it for
//! the job's progress (`rescore_job_lanes` holds that).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(RescoreJobs::Table).drop_column(RescoreJobs::LastLeadId).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RescoreJobs::Table)
                    .add_column(ColumnDef::new(RescoreJobs::LastLeadId).uuid().null())
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum RescoreJobs {
    Table,
    LastLeadId,
}
