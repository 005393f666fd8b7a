//! `outbox_events`: every state change worth telling other systems about, written in
//! the transaction of the change; subscriptions and webhooks read from here.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(pk_uuid(OutboxEvents::Id))
                    .col(uuid(OutboxEvents::OrgId))
                    .col(string(OutboxEvents::Kind))
                    .col(string(OutboxEvents::Entity))
                    .col(uuid_null(OutboxEvents::EntityId))
                    .col(json(OutboxEvents::Payload))
                    .col(timestamp_with_time_zone(OutboxEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_events_org")
                            .from(OutboxEvents::Table, OutboxEvents::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Consumers read an organization's events in order (ids are UUIDv7), and by kind.
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_events_org_id")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::OrgId)
                    .col(OutboxEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_events_org_kind")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::OrgId)
                    .col(OutboxEvents::Kind)
                    .col(OutboxEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OutboxEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    OrgId,
    Kind,
    Entity,
    EntityId,
    Payload,
    At,
}
