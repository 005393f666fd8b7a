//! `rescore_jobs.kind`: MODEL for a job that rescores every lead (a model or the ICPs
//! it reads changed), DECAY for the daily job that rescores only the leads whose
//! engagement decay can move them across a threshold. Jobs queued before were MODEL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut kind = ColumnDef::new(RescoreJobs::Kind).string_len(16).not_null().default("MODEL").to_owned();
        manager.alter_table(Table::alter().table(RescoreJobs::Table).add_column(&mut kind).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(RescoreJobs::Table).drop_column(RescoreJobs::Kind).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RescoreJobs {
    Table,
    Kind,
}
