//! `lead_scores.engagement_state`: each engagement rule's events folded (count, decayed
//! weight, oldest and newest), for the model version that scored the lead, so that a
//! new event updates the score without reading the lead's whole history. Null until
//! the lead is next scored; then it is built from the history once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LeadScores::Table)
                    .add_column(ColumnDef::new(LeadScores::EngagementState).json().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(LeadScores::Table).drop_column(LeadScores::EngagementState).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LeadScores {
    Table,
    EngagementState,
}
