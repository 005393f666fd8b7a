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
                    .table(EngagementEvents::Table)
                    .col(pk_uuid(EngagementEvents::Id))
                    .col(uuid(EngagementEvents::OrgId))
                    .col(uuid(EngagementEvents::LeadId))
                    .col(string_len(EngagementEvents::Kind, 32))
                    .col(timestamp_with_time_zone(EngagementEvents::OccurredAt))
                    .col(json(EngagementEvents::Properties))
                    .col(string_null(EngagementEvents::ExternalId))
                    .col(timestamp_with_time_zone(EngagementEvents::CreatedAt))
                    .foreign_key(&mut org_fk(EngagementEvents::Table, EngagementEvents::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EngagementEvents::Table, EngagementEvents::LeadId)
                            .to(Alias::new("leads"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        {
            use EngagementEvents::*;
            index(manager, "ux_engagement_org_external_id", Table, &[OrgId, ExternalId], true).await?;
            index(manager, "ix_engagement_org_lead_at", Table, &[OrgId, LeadId, OccurredAt, Id], false).await?;
            index(manager, "ix_engagement_org_at", Table, &[OrgId, OccurredAt], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EngagementEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum EngagementEvents {
    Table,
    Id,
    OrgId,
    LeadId,
    Kind,
    OccurredAt,
    Properties,
    ExternalId,
    CreatedAt,
}
