//! Review meetings (with their snapshot of the numbers) and their action items.

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
                    .table(ReviewMeetings::Table)
                    .col(pk_uuid(ReviewMeetings::Id))
                    .col(uuid(ReviewMeetings::OrgId))
                    .col(date(ReviewMeetings::HeldOn))
                    .col(date(ReviewMeetings::PeriodStart))
                    .col(date(ReviewMeetings::PeriodEnd))
                    .col(json(ReviewMeetings::KpiSnapshot))
                    .col(text_null(ReviewMeetings::Notes))
                    .col(uuid_null(ReviewMeetings::StartedBy))
                    .col(integer(ReviewMeetings::Version).default(1))
                    .col(timestamp_with_time_zone(ReviewMeetings::CreatedAt))
                    .col(timestamp_with_time_zone(ReviewMeetings::UpdatedAt))
                    .foreign_key(&mut org_fk(ReviewMeetings::Table, ReviewMeetings::OrgId))
                    .foreign_key(&mut set_null_fk(ReviewMeetings::Table, ReviewMeetings::StartedBy, "users"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_review_meetings_org_id",
            ReviewMeetings::Table,
            &[ReviewMeetings::OrgId, ReviewMeetings::Id],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ActionItems::Table)
                    .col(pk_uuid(ActionItems::Id))
                    .col(uuid(ActionItems::OrgId))
                    .col(uuid(ActionItems::MeetingId))
                    .col(string(ActionItems::Title))
                    .col(uuid_null(ActionItems::OwnerId))
                    .col(date_null(ActionItems::DueOn))
                    .col(string_len(ActionItems::Status, 16))
                    .col(integer(ActionItems::Version).default(1))
                    .col(timestamp_with_time_zone(ActionItems::CreatedAt))
                    .col(timestamp_with_time_zone(ActionItems::UpdatedAt))
                    .foreign_key(&mut org_fk(ActionItems::Table, ActionItems::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ActionItems::Table, ActionItems::MeetingId)
                            .to(ReviewMeetings::Table, ReviewMeetings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut set_null_fk(ActionItems::Table, ActionItems::OwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use ActionItems::*;
            // A meeting's items, and "my action items" (open first, soonest due).
            index(manager, "ix_action_items_org_meeting", Table, &[OrgId, MeetingId, CreatedAt], false).await?;
            index(manager, "ix_action_items_org_owner_status_due", Table, &[OrgId, OwnerId, Status, DueOn], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ActionItems::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ReviewMeetings::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ReviewMeetings {
    Table,
    Id,
    OrgId,
    HeldOn,
    PeriodStart,
    PeriodEnd,
    KpiSnapshot,
    Notes,
    StartedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ActionItems {
    Table,
    Id,
    OrgId,
    MeetingId,
    Title,
    OwnerId,
    DueOn,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}
