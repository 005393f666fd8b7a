//! Indexes for KPI paths that had none: handovers by answer time (acceptance rate,
//! median response hours) and feedback by response time (feedback response days).

use sea_orm_migration::prelude::*;

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "ix_handovers_org_responded",
            Alias::new("handovers"),
            &[Alias::new("org_id"), Alias::new("responded_at")],
            false,
        )
        .await?;
        index(
            manager,
            "ix_feedback_org_responded",
            Alias::new("feedback"),
            &[Alias::new("org_id"), Alias::new("responded_at")],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [("ix_handovers_org_responded", "handovers"), ("ix_feedback_org_responded", "feedback")] {
            manager.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
