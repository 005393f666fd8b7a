//! `lead_stage_transitions.definition_id` and `definition_version`: the agreed
//! definition of the stage a lead entered, in the version in force at that moment, so
//! stage counts can be told apart by the rules they were judged under, and a later
//! version never re-judges an earlier entry. NULL where none was agreed, and for the
//! entries made before this column existed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            ColumnDef::new(LeadStageTransitions::DefinitionId).uuid().null().to_owned(),
            ColumnDef::new(LeadStageTransitions::DefinitionVersion).integer().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(LeadStageTransitions::Table).add_column(&mut column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [LeadStageTransitions::DefinitionId, LeadStageTransitions::DefinitionVersion] {
            manager
                .alter_table(Table::alter().table(LeadStageTransitions::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LeadStageTransitions {
    Table,
    DefinitionId,
    DefinitionVersion,
}
