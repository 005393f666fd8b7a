//! Webhooks: the endpoints ADMINs register (`webhook_endpoints`), one delivery per
//! relayed event and endpoint (`webhook_deliveries`, written in the outbox relay's
//! transaction) and every attempt to deliver it (`webhook_attempts`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::OrgId))
                    .col(text(WebhookEndpoints::Url))
                    .col(text_null(WebhookEndpoints::Description))
                    .col(json(WebhookEndpoints::EventTypes))
                    .col(json(WebhookEndpoints::LeadStages))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .col(uuid_null(WebhookEndpoints::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut org_fk(WebhookEndpoints::Table, WebhookEndpoints::OrgId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_webhook_endpoints_org",
            WebhookEndpoints::Table,
            &[WebhookEndpoints::OrgId, WebhookEndpoints::Id],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::OrgId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid_null(WebhookDeliveries::EventId))
                    .col(text(WebhookDeliveries::EventType))
                    .col(text_null(WebhookDeliveries::Entity))
                    .col(uuid_null(WebhookDeliveries::EntityId))
                    .col(text(WebhookDeliveries::Body))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::RoundStartedAt))
                    .col(integer(WebhookDeliveries::RoundAttempts))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LastAttemptAt))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(integer_null(WebhookDeliveries::LastLatencyMs))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::FinishedAt))
                    .foreign_key(&mut org_fk(WebhookDeliveries::Table, WebhookDeliveries::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The delivery log, newest first, per organization and per endpoint.
        index(
            manager,
            "ix_webhook_deliveries_org",
            WebhookDeliveries::Table,
            &[WebhookDeliveries::OrgId, WebhookDeliveries::Id],
            false,
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_endpoint",
            WebhookDeliveries::Table,
            &[WebhookDeliveries::EndpointId, WebhookDeliveries::Id],
            false,
        )
        .await?;
        // The sender's claim: due deliveries, and the earlier unfinished one of the same
        // object that holds a later one back.
        index(
            manager,
            "ix_webhook_deliveries_due",
            WebhookDeliveries::Table,
            &[WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
            false,
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_object",
            WebhookDeliveries::Table,
            &[
                WebhookDeliveries::EndpointId,
                WebhookDeliveries::EntityId,
                WebhookDeliveries::Status,
                WebhookDeliveries::Id,
            ],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_uuid(WebhookAttempts::Id))
                    .col(uuid(WebhookAttempts::OrgId))
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(integer(WebhookAttempts::Number))
                    .col(timestamp_with_time_zone(WebhookAttempts::At))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(integer(WebhookAttempts::LatencyMs))
                    .col(text_null(WebhookAttempts::Error))
                    .col(text_null(WebhookAttempts::Response))
                    .foreign_key(&mut org_fk(WebhookAttempts::Table, WebhookAttempts::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_webhook_attempts_delivery",
            WebhookAttempts::Table,
            &[WebhookAttempts::DeliveryId, WebhookAttempts::Number],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookEndpoints {
    Table,
    Id,
    OrgId,
    Url,
    Description,
    EventTypes,
    LeadStages,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Enabled,
    DisabledAt,
    DisabledReason,
    FailingSince,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    OrgId,
    EndpointId,
    EventId,
    EventType,
    Entity,
    EntityId,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    RoundStartedAt,
    RoundAttempts,
    LastAttemptAt,
    LastStatusCode,
    LastLatencyMs,
    LastError,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookAttempts {
    Table,
    Id,
    OrgId,
    DeliveryId,
    Number,
    At,
    StatusCode,
    LatencyMs,
    Error,
    Response,
}
