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
                    .table(Activities::Table)
                    .col(pk_uuid(Activities::Id))
                    .col(uuid(Activities::OrgId))
                    .col(uuid(Activities::UserId))
                    .col(uuid_null(Activities::LeadId))
                    .col(uuid_null(Activities::AccountId))
                    .col(uuid_null(Activities::OpportunityId))
                    .col(string_len(Activities::Kind, 16))
                    .col(boolean(Activities::CustomerFacing))
                    .col(integer(Activities::DurationMinutes))
                    .col(timestamp_with_time_zone(Activities::OccurredAt))
                    .col(text_null(Activities::Notes))
                    .col(timestamp_with_time_zone(Activities::CreatedAt))
                    .foreign_key(&mut org_fk(Activities::Table, Activities::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut set_null_fk(Activities::Table, Activities::LeadId, "leads"))
                    .foreign_key(&mut set_null_fk(Activities::Table, Activities::AccountId, "accounts"))
                    .foreign_key(&mut set_null_fk(Activities::Table, Activities::OpportunityId, "opportunities"))
                    .to_owned(),
            )
            .await?;
        {
            use Activities::*;
            index(manager, "ix_activities_org_at", Table, &[OrgId, OccurredAt, Id], false).await?;
            index(manager, "ix_activities_org_lead_at", Table, &[OrgId, LeadId, OccurredAt, Id], false).await?;
            index(manager, "ix_activities_org_account_at", Table, &[OrgId, AccountId, OccurredAt, Id], false).await?;
            index(manager, "ix_activities_org_opp_at", Table, &[OrgId, OpportunityId, OccurredAt, Id], false).await?;
            index(manager, "ix_activities_org_user_at", Table, &[OrgId, UserId, OccurredAt, Id], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Activities::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Activities {
    Table,
    Id,
    OrgId,
    UserId,
    LeadId,
    AccountId,
    OpportunityId,
    Kind,
    CustomerFacing,
    DurationMinutes,
    OccurredAt,
    Notes,
    CreatedAt,
}
