//! How a lead got its persona: `persona_manual` (a person chose it; title changes
//! leave it alone), `persona_keyword` (the title keyword that matched, for an
//! automatic match) and `persona_candidates` (JSON `[{personaId, keyword}]`: the
//! personas tied for the title when the match is ambiguous and none was assigned).
//! SQLite alters one column per statement, hence three.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new(Leads::PersonaManual).boolean().not_null().default(false).to_owned(),
            ColumnDef::new(Leads::PersonaKeyword).string().null().to_owned(),
            ColumnDef::new(Leads::PersonaCandidates).json().null().to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Leads::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Leads::PersonaCandidates, Leads::PersonaKeyword, Leads::PersonaManual] {
            manager.alter_table(Table::alter().table(Leads::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    PersonaManual,
    PersonaKeyword,
    PersonaCandidates,
}
