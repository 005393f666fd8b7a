use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk, set_null_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leads::Table)
                    .col(pk_uuid(Leads::Id))
                    .col(uuid(Leads::OrgId))
                    .col(uuid_null(Leads::AccountId))
                    // Personas arrive with the agreements issue; no foreign key yet.
                    .col(uuid_null(Leads::PersonaId))
                    .col(string(Leads::Email))
                    .col(string(Leads::FirstName).default(""))
                    .col(string(Leads::LastName).default(""))
                    .col(string_null(Leads::Title))
                    .col(string_null(Leads::Phone))
                    .col(string_null(Leads::Source))
                    .col(string_null(Leads::Campaign))
                    .col(string_null(Leads::ExternalId))
                    .col(string_len(Leads::LifecycleStage, 16))
                    .col(timestamp_with_time_zone(Leads::StageEnteredAt))
                    .col(uuid_null(Leads::OwnerId))
                    .col(uuid_null(Leads::MarketingOwnerId))
                    .col(double(Leads::FitScore).default(0.0))
                    .col(double(Leads::EngagementScore).default(0.0))
                    .col(double(Leads::Score).default(0.0))
                    .col(string_len(Leads::Temperature, 8).default("COLD"))
                    .col(timestamp_with_time_zone_null(Leads::ArchivedAt))
                    .col(integer(Leads::Version).default(1))
                    .col(timestamp_with_time_zone(Leads::CreatedAt))
                    .col(timestamp_with_time_zone(Leads::UpdatedAt))
                    .foreign_key(&mut org_fk(Leads::Table, Leads::OrgId))
                    .foreign_key(&mut set_null_fk(Leads::Table, Leads::AccountId, "accounts"))
                    .foreign_key(&mut set_null_fk(Leads::Table, Leads::OwnerId, "users"))
                    .foreign_key(&mut set_null_fk(Leads::Table, Leads::MarketingOwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use Leads::*;
            index(manager, "ux_leads_org_email", Table, &[OrgId, Email], true).await?;
            index(manager, "ux_leads_org_external_id", Table, &[OrgId, ExternalId], true).await?;
            // One index per `orderBy` field, ending in the id that makes the order unique.
            index(manager, "ix_leads_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_leads_org_score", Table, &[OrgId, Score, Id], false).await?;
            index(manager, "ix_leads_org_created", Table, &[OrgId, CreatedAt, Id], false).await?;
            index(manager, "ix_leads_org_updated", Table, &[OrgId, UpdatedAt, Id], false).await?;
            index(manager, "ix_leads_org_stage_entered", Table, &[OrgId, StageEnteredAt, Id], false).await?;
            index(manager, "ix_leads_org_last_name", Table, &[OrgId, LastName, Id], false).await?;
            // Filters.
            index(manager, "ix_leads_org_stage", Table, &[OrgId, LifecycleStage, StageEnteredAt], false).await?;
            index(manager, "ix_leads_org_account", Table, &[OrgId, AccountId], false).await?;
            index(manager, "ix_leads_org_owner", Table, &[OrgId, OwnerId], false).await?;
            index(manager, "ix_leads_org_marketing_owner", Table, &[OrgId, MarketingOwnerId], false).await?;
            index(manager, "ix_leads_org_persona", Table, &[OrgId, PersonaId], false).await?;
            index(manager, "ix_leads_org_campaign", Table, &[OrgId, Campaign], false).await?;
            index(manager, "ix_leads_org_source", Table, &[OrgId, Source], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Leads::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    Id,
    OrgId,
    AccountId,
    PersonaId,
    Email,
    FirstName,
    LastName,
    Title,
    Phone,
    Source,
    Campaign,
    ExternalId,
    LifecycleStage,
    StageEnteredAt,
    OwnerId,
    MarketingOwnerId,
    FitScore,
    EngagementScore,
    Score,
    Temperature,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
