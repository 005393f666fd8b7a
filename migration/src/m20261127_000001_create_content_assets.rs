//! Content assets, their links to personas and journey stages (link tables, so both
//! filters are plain indexed SQL on SQLite and PostgreSQL), and content usage.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk, set_null_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade<T: IntoIden + 'static, C: IntoIden + 'static>(table: T, col: C, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContentAssets::Table)
                    .col(pk_uuid(ContentAssets::Id))
                    .col(uuid(ContentAssets::OrgId))
                    .col(string(ContentAssets::Title))
                    .col(string_len(ContentAssets::Kind, 16))
                    .col(text(ContentAssets::Url))
                    .col(uuid_null(ContentAssets::MessageId))
                    .col(uuid_null(ContentAssets::OwnerId))
                    .col(timestamp_with_time_zone_null(ContentAssets::ArchivedAt))
                    .col(integer(ContentAssets::Version).default(1))
                    .col(timestamp_with_time_zone(ContentAssets::CreatedAt))
                    .col(timestamp_with_time_zone(ContentAssets::UpdatedAt))
                    .foreign_key(&mut org_fk(ContentAssets::Table, ContentAssets::OrgId))
                    .foreign_key(&mut set_null_fk(ContentAssets::Table, ContentAssets::MessageId, "documents"))
                    .foreign_key(&mut set_null_fk(ContentAssets::Table, ContentAssets::OwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use ContentAssets::*;
            // The list (newest first) and its filters by kind and message.
            index(manager, "ix_content_assets_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_content_assets_org_kind", Table, &[OrgId, Kind, Id], false).await?;
            index(manager, "ix_content_assets_org_message", Table, &[OrgId, MessageId], false).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ContentAssetPersonas::Table)
                    .col(pk_uuid(ContentAssetPersonas::Id))
                    .col(uuid(ContentAssetPersonas::OrgId))
                    .col(uuid(ContentAssetPersonas::AssetId))
                    .col(uuid(ContentAssetPersonas::PersonaId))
                    .foreign_key(&mut org_fk(ContentAssetPersonas::Table, ContentAssetPersonas::OrgId))
                    .foreign_key(&mut cascade(
                        ContentAssetPersonas::Table,
                        ContentAssetPersonas::AssetId,
                        "content_assets",
                    ))
                    .foreign_key(&mut cascade(
                        ContentAssetPersonas::Table,
                        ContentAssetPersonas::PersonaId,
                        "documents",
                    ))
                    .to_owned(),
            )
            .await?;
        {
            use ContentAssetPersonas::*;
            index(manager, "ux_content_asset_personas", Table, &[AssetId, PersonaId], true).await?;
            index(manager, "ix_content_asset_personas_org_persona", Table, &[OrgId, PersonaId, AssetId], false).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ContentAssetStages::Table)
                    .col(pk_uuid(ContentAssetStages::Id))
                    .col(uuid(ContentAssetStages::OrgId))
                    .col(uuid(ContentAssetStages::AssetId))
                    .col(uuid(ContentAssetStages::JourneyStageId))
                    .foreign_key(&mut org_fk(ContentAssetStages::Table, ContentAssetStages::OrgId))
                    .foreign_key(&mut cascade(ContentAssetStages::Table, ContentAssetStages::AssetId, "content_assets"))
                    .foreign_key(&mut cascade(
                        ContentAssetStages::Table,
                        ContentAssetStages::JourneyStageId,
                        "journey_stages",
                    ))
                    .to_owned(),
            )
            .await?;
        {
            use ContentAssetStages::*;
            index(manager, "ux_content_asset_stages", Table, &[AssetId, JourneyStageId], true).await?;
            index(manager, "ix_content_asset_stages_org_stage", Table, &[OrgId, JourneyStageId, AssetId], false)
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ContentUsages::Table)
                    .col(pk_uuid(ContentUsages::Id))
                    .col(uuid(ContentUsages::OrgId))
                    .col(uuid(ContentUsages::AssetId))
                    .col(uuid(ContentUsages::UserId))
                    .col(uuid_null(ContentUsages::LeadId))
                    .col(uuid_null(ContentUsages::OpportunityId))
                    .col(timestamp_with_time_zone(ContentUsages::UsedAt))
                    .col(string_len_null(ContentUsages::Rating, 16))
                    .col(text_null(ContentUsages::Comment))
                    .foreign_key(&mut org_fk(ContentUsages::Table, ContentUsages::OrgId))
                    .foreign_key(&mut cascade(ContentUsages::Table, ContentUsages::AssetId, "content_assets"))
                    .foreign_key(&mut cascade(ContentUsages::Table, ContentUsages::UserId, "users"))
                    .foreign_key(&mut set_null_fk(ContentUsages::Table, ContentUsages::LeadId, "leads"))
                    .foreign_key(&mut set_null_fk(ContentUsages::Table, ContentUsages::OpportunityId, "opportunities"))
                    .to_owned(),
            )
            .await?;
        {
            use ContentUsages::*;
            // Per-asset statistics and "unused for N days", usage per period, and win rates by opportunity.
            index(manager, "ix_content_usages_org_asset_used", Table, &[OrgId, AssetId, UsedAt], false).await?;
            index(manager, "ix_content_usages_org_used", Table, &[OrgId, UsedAt], false).await?;
            index(manager, "ix_content_usages_org_opportunity", Table, &[OrgId, OpportunityId], false).await?;
            index(manager, "ix_content_usages_org_lead", Table, &[OrgId, LeadId], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["content_usages", "content_asset_stages", "content_asset_personas", "content_assets"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ContentAssets {
    Table,
    Id,
    OrgId,
    Title,
    Kind,
    Url,
    MessageId,
    OwnerId,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ContentAssetPersonas {
    Table,
    Id,
    OrgId,
    AssetId,
    PersonaId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ContentAssetStages {
    Table,
    Id,
    OrgId,
    AssetId,
    JourneyStageId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ContentUsages {
    Table,
    Id,
    OrgId,
    AssetId,
    UserId,
    LeadId,
    OpportunityId,
    UsedAt,
    Rating,
    Comment,
}
