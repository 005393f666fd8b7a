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
                    .table(Opportunities::Table)
                    .col(pk_uuid(Opportunities::Id))
                    .col(uuid(Opportunities::OrgId))
                    .col(uuid(Opportunities::AccountId))
                    .col(uuid_null(Opportunities::LeadId))
                    .col(string(Opportunities::Name))
                    .col(big_integer(Opportunities::AmountMinor))
                    .col(string_len(Opportunities::Currency, 3))
                    .col(string_len(Opportunities::Stage, 16))
                    .col(string_len(Opportunities::Strategy, 16))
                    .col(uuid_null(Opportunities::OwnerId))
                    .col(date_null(Opportunities::ExpectedClose))
                    .col(timestamp_with_time_zone_null(Opportunities::ClosedAt))
                    .col(text_null(Opportunities::LostReason))
                    .col(timestamp_with_time_zone_null(Opportunities::ArchivedAt))
                    .col(integer(Opportunities::Version).default(1))
                    .col(timestamp_with_time_zone(Opportunities::CreatedAt))
                    .col(timestamp_with_time_zone(Opportunities::UpdatedAt))
                    .foreign_key(&mut org_fk(Opportunities::Table, Opportunities::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Opportunities::Table, Opportunities::AccountId)
                            .to(Alias::new("accounts"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(&mut set_null_fk(Opportunities::Table, Opportunities::LeadId, "leads"))
                    .foreign_key(&mut set_null_fk(Opportunities::Table, Opportunities::OwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use Opportunities::*;
            index(manager, "ix_opps_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_opps_org_account", Table, &[OrgId, AccountId], false).await?;
            index(manager, "ix_opps_org_lead", Table, &[OrgId, LeadId], false).await?;
            index(manager, "ix_opps_org_stage", Table, &[OrgId, Stage], false).await?;
            index(manager, "ix_opps_org_owner", Table, &[OrgId, OwnerId], false).await?;
            index(manager, "ix_opps_org_expected_close", Table, &[OrgId, ExpectedClose], false).await?;
            index(manager, "ix_opps_org_closed_at", Table, &[OrgId, ClosedAt], false).await?;
            index(manager, "ix_opps_org_created", Table, &[OrgId, CreatedAt], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Opportunities::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Opportunities {
    Table,
    Id,
    OrgId,
    AccountId,
    LeadId,
    Name,
    AmountMinor,
    Currency,
    Stage,
    Strategy,
    OwnerId,
    ExpectedClose,
    ClosedAt,
    LostReason,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
