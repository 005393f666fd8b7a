//! `feedback.tag` in the form every write now stores: lower-cased, spaces, tabs and
//! underscores as hyphens, runs of hyphens as one and none at either end, so
//! "Pricing too_high" and "pricing-too-high" become one theme. Plain SQL functions
//! (LOWER, TRIM, REPLACE) that SQLite and PostgreSQL share; tags are at most 64
//! characters, so six halvings collapse any run of hyphens. Not reversible: the
//! original spelling is not kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // TRIM(x, '-') and CHAR(9) are SQLite's spellings; PostgreSQL's are BTRIM and CHR.
        let (trim, tab) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BTRIM", "CHR(9)"),
            _ => ("TRIM", "CHAR(9)"),
        };
        let mut expr = format!("REPLACE(REPLACE(REPLACE(LOWER(TRIM(tag)), ' ', '-'), '_', '-'), {tab}, '-')");
        for _ in 0..6 {
            expr = format!("REPLACE({expr}, '--', '-')");
        }
        // A tag with no letter or digit (none could be written before) is left alone.
        let normal = format!("{trim}({expr}, '-')");
        db.execute_unprepared(&format!("UPDATE feedback SET tag = {normal} WHERE tag <> {normal} AND {normal} <> ''"))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
