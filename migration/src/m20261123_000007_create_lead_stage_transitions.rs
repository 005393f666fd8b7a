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
                    .table(LeadStageTransitions::Table)
                    .col(pk_uuid(LeadStageTransitions::Id))
                    .col(uuid(LeadStageTransitions::OrgId))
                    .col(uuid(LeadStageTransitions::LeadId))
                    .col(string_len_null(LeadStageTransitions::FromStage, 16))
                    .col(string_len(LeadStageTransitions::ToStage, 16))
                    .col(string_len(LeadStageTransitions::ActorKind, 16))
                    .col(uuid_null(LeadStageTransitions::ActorId))
                    .col(string(LeadStageTransitions::ActorName))
                    .col(text_null(LeadStageTransitions::Reason))
                    .col(timestamp_with_time_zone(LeadStageTransitions::At))
                    .foreign_key(&mut org_fk(LeadStageTransitions::Table, LeadStageTransitions::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadStageTransitions::Table, LeadStageTransitions::LeadId)
                            .to(Alias::new("leads"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        {
            use LeadStageTransitions::*;
            // A lead's history; the funnel and time-in-stage KPIs by stage and period.
            index(manager, "ix_lst_org_lead_at", Table, &[OrgId, LeadId, At], false).await?;
            index(manager, "ix_lst_org_to_at", Table, &[OrgId, ToStage, At], false).await?;
            index(manager, "ix_lst_org_at", Table, &[OrgId, At], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LeadStageTransitions::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadStageTransitions {
    Table,
    Id,
    OrgId,
    LeadId,
    FromStage,
    ToStage,
    ActorKind,
    ActorId,
    ActorName,
    Reason,
    At,
}
