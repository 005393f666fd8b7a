//! The outbox relay's bookkeeping. `outbox_events.relayed_at` marks an event handed to
//! its consumers (webhooks, subscriptions): the relay reads an organization's events
//! not yet relayed, in id order, and marks them in the transaction that hands them on,
//! so an event is relayed once however many replicas run the relay. Events written
//! before the relay existed had nobody to hear them and count as relayed.
//! `outbox_cursors` holds one row per organization: the claim that keeps two replicas
//! from relaying one organization at once (its row is locked for a pass), and its
//! progress (the last event relayed, how many, when).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut relayed = ColumnDef::new(OutboxEvents::RelayedAt).timestamp_with_time_zone().null().to_owned();
        manager.alter_table(Table::alter().table(OutboxEvents::Table).add_column(&mut relayed).to_owned()).await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE outbox_events SET relayed_at = at").await?;
        // The relay's reads: an organization's events waiting, in order; few at any time.
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_events_unrelayed ON outbox_events (org_id, id) WHERE relayed_at IS NULL",
        )
        .await?;
        // Pruning deletes relayed events by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_events_relayed_at")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::RelayedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OutboxCursors::Table)
                    .col(pk_uuid(OutboxCursors::OrgId))
                    .col(uuid_null(OutboxCursors::LastEventId))
                    .col(big_integer(OutboxCursors::Relayed).default(0))
                    .col(timestamp_with_time_zone(OutboxCursors::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_cursors_org")
                            .from(OutboxCursors::Table, OutboxCursors::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OutboxCursors::Table).to_owned()).await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_events_unrelayed").await?;
        db.execute_unprepared("DROP INDEX ix_outbox_events_relayed_at").await?;
        manager
            .alter_table(Table::alter().table(OutboxEvents::Table).drop_column(OutboxEvents::RelayedAt).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    RelayedAt,
}

#[derive(DeriveIden)]
enum OutboxCursors {
    Table,
    OrgId,
    LastEventId,
    Relayed,
    UpdatedAt,
}
