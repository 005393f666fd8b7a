//! `rate_limit_windows`: what each credential (user or API key) has spent of its
//! per-minute allowance in the current minute, shared by every replica on PostgreSQL
//! (one row per credential, reset when a new minute starts). Replicas reserve from it in
//! chunks and spend the chunks locally.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitWindows::Table)
                    .col(uuid(RateLimitWindows::CredentialId).primary_key())
                    .col(timestamp_with_time_zone(RateLimitWindows::WindowStart))
                    .col(integer(RateLimitWindows::Spent))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimitWindows::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RateLimitWindows {
    Table,
    CredentialId,
    WindowStart,
    Spent,
}
