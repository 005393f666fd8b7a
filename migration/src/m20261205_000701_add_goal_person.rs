//! `goals.person_id`: a personal goal counts only that person's facts (their hours,
//! deals, customers), while `owner_id` stays who is accountable for the goal.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut column = ColumnDef::new(Goals::PersonId).uuid().null().to_owned();
        manager.alter_table(Table::alter().table(Goals::Table).add_column(&mut column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Goals::Table).drop_column(Goals::PersonId).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Goals {
    Table,
    PersonId,
}
