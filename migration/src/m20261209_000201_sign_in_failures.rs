//! `sign_in_failures`: failed sign-ins per client and account, per client and per
//! account, shared by every replica on PostgreSQL so that the throttle holds whichever
//! replica a client reaches. Keys are SHA-256 hex of what they count; rows lapse an
//! hour after their last failure.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .col(string_len(SignInFailures::Key, 64).primary_key())
                    .col(integer(SignInFailures::Failures))
                    .col(timestamp_with_time_zone(SignInFailures::FirstAt))
                    .col(timestamp_with_time_zone(SignInFailures::LastAt))
                    .col(boolean(SignInFailures::Alerted))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sign_in_failures_last_at")
                    .table(SignInFailures::Table)
                    .col(SignInFailures::LastAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SignInFailures::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Key,
    Failures,
    FirstAt,
    LastAt,
    Alerted,
}
