//! Indexes for the KPI paths: each metric's facts are found by organization and time,
//! and the columns a plain count needs are in the index, so PostgreSQL answers from
//! the index alone. Archived leads get a partial index of their own: facts of other
//! tables leave them out with an anti-join instead of joining every lead.
//! Same SQL on SQLite and PostgreSQL (both have partial indexes).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str)] = &[
    ("ix_leads_archived", "leads (id) WHERE archived_at IS NOT NULL"),
    ("ix_leads_org_created_live", "leads (org_id, created_at, id) WHERE archived_at IS NULL"),
    ("ix_lst_org_to_at_lead", "lead_stage_transitions (org_id, to_stage, at, lead_id)"),
    ("ix_activities_org_at_facing", "activities (org_id, occurred_at, customer_facing, duration_minutes, user_id)"),
    ("ix_handovers_org_responded", "handovers (org_id, responded_at, status, handed_at, to_user_id)"),
    ("ix_handovers_org_handed_due", "handovers (org_id, handed_at, responded_at, due_at, to_user_id)"),
    ("ix_feedback_org_responded", "feedback (org_id, responded_at)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, on) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {on}")).await?;
        }
        // Superseded by ix_lst_org_to_at_lead, which also covers the lead.
        db.execute_unprepared("DROP INDEX ix_lst_org_to_at").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX ix_lst_org_to_at ON lead_stage_transitions (org_id, to_stage, at)").await?;
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
