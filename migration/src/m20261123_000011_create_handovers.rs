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
                    .table(Handovers::Table)
                    .col(pk_uuid(Handovers::Id))
                    .col(uuid(Handovers::OrgId))
                    .col(uuid(Handovers::LeadId))
                    .col(uuid_null(Handovers::FromUserId))
                    .col(string(Handovers::FromName))
                    .col(uuid(Handovers::ToUserId))
                    .col(text_null(Handovers::Note))
                    .col(timestamp_with_time_zone(Handovers::HandedAt))
                    .col(timestamp_with_time_zone(Handovers::DueAt))
                    .col(string_len(Handovers::Status, 16))
                    .col(boolean(Handovers::Overdue).default(false))
                    .col(timestamp_with_time_zone_null(Handovers::RespondedAt))
                    .col(uuid_null(Handovers::RespondedBy))
                    .col(string_len_null(Handovers::Reason, 32))
                    .col(text_null(Handovers::ResponseNote))
                    .col(integer(Handovers::Version).default(1))
                    .col(timestamp_with_time_zone(Handovers::CreatedAt))
                    .col(timestamp_with_time_zone(Handovers::UpdatedAt))
                    .foreign_key(&mut org_fk(Handovers::Table, Handovers::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Handovers::Table, Handovers::LeadId)
                            .to(Alias::new("leads"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut set_null_fk(Handovers::Table, Handovers::FromUserId, "users"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Handovers::Table, Handovers::ToUserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        {
            use Handovers::*;
            // Lists (newest first), a lead's handovers, a user's queue (soonest due first),
            // the SLA clock's scan of pending rows, and the compliance reports by period.
            index(manager, "ix_handovers_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_handovers_org_lead", Table, &[OrgId, LeadId, HandedAt], false).await?;
            index(manager, "ix_handovers_org_to_status_due", Table, &[OrgId, ToUserId, Status, DueAt], false).await?;
            index(manager, "ix_handovers_status_overdue_due", Table, &[Status, Overdue, DueAt], false).await?;
            index(manager, "ix_handovers_org_handed", Table, &[OrgId, HandedAt], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Handovers::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Handovers {
    Table,
    Id,
    OrgId,
    LeadId,
    FromUserId,
    FromName,
    ToUserId,
    Note,
    HandedAt,
    DueAt,
    Status,
    Overdue,
    RespondedAt,
    RespondedBy,
    Reason,
    ResponseNote,
    Version,
    CreatedAt,
    UpdatedAt,
}
