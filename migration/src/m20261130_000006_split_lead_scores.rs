//! A lead's stored score moves out of `leads` into its own narrow table, `lead_scores`
//! (one row per lead, created with it). Rescoring an organization rewrites every
//! score: as columns of `leads` each update rewrote the whole lead row and all its
//! eighteen index entries (the score is indexed, so no update could be HOT), which
//! made rescoring 1,000,000 leads take 210–310 s on default PostgreSQL settings. A
//! `lead_scores` row is about a fifth of a lead row with two indexes: the key and
//! `(org_id, score, lead_id)`, which orders the leads list by score.
//!
//! The `bi.leads` view keeps its columns, now read from `lead_scores`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The score columns, as they were on `leads` and are on `lead_scores`.
const COLUMNS: &str =
    "fit_score, engagement_score, score, temperature, scoring_model_id, scoring_model_version, scored_at";

const BI_LEADS: &str = r#"
CREATE OR REPLACE VIEW bi.leads AS
SELECT l.id, l.org_id, l.account_id, a.name AS account_name, l.persona_id, l.email, l.first_name, l.last_name,
       l.title, l.source, l.campaign, l.external_id, l.lifecycle_stage, l.stage_entered_at, l.owner_id,
       l.marketing_owner_id, s.fit_score, s.engagement_score, s.score, s.temperature, l.archived_at,
       l.created_at, l.updated_at
FROM public.leads l
JOIN public.lead_scores s ON s.lead_id = l.id
LEFT JOIN public.accounts a ON a.id = l.account_id AND a.org_id = l.org_id;
"#;

const BI_LEADS_BEFORE: &str = r#"
CREATE OR REPLACE VIEW bi.leads AS
SELECT l.id, l.org_id, l.account_id, a.name AS account_name, l.persona_id, l.email, l.first_name, l.last_name,
       l.title, l.source, l.campaign, l.external_id, l.lifecycle_stage, l.stage_entered_at, l.owner_id,
       l.marketing_owner_id, l.fit_score, l.engagement_score, l.score, l.temperature, l.archived_at,
       l.created_at, l.updated_at
FROM public.leads l
LEFT JOIN public.accounts a ON a.id = l.account_id AND a.org_id = l.org_id;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LeadScores::Table)
                    .col(pk_uuid(LeadScores::LeadId))
                    .col(uuid(LeadScores::OrgId))
                    .col(double(LeadScores::FitScore).default(0.0))
                    .col(double(LeadScores::EngagementScore).default(0.0))
                    .col(double(LeadScores::Score).default(0.0))
                    .col(string_len(LeadScores::Temperature, 8).default("COLD"))
                    .col(uuid_null(LeadScores::ScoringModelId))
                    .col(integer_null(LeadScores::ScoringModelVersion))
                    .col(timestamp_with_time_zone_null(LeadScores::ScoredAt))
                    // The lead's own foreign key to its organization removes both.
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadScores::Table, LeadScores::LeadId)
                            .to(Alias::new("leads"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "INSERT INTO lead_scores (lead_id, org_id, {COLUMNS}) SELECT id, org_id, {COLUMNS} FROM leads"
        ))
        .await?;
        {
            use LeadScores::*;
            index(manager, "ix_lead_scores_org_score", Table, &[OrgId, Score, LeadId], false).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(BI_LEADS).await?;
        }
        manager.drop_index(Index::drop().name("ix_leads_org_score").table(Leads::Table).to_owned()).await?;
        // One column per statement: SQLite drops one at a time.
        for column in COLUMNS.split(", ") {
            db.execute_unprepared(&format!("ALTER TABLE leads DROP COLUMN {column}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            double(Leads::FitScore).default(0.0).to_owned(),
            double(Leads::EngagementScore).default(0.0).to_owned(),
            double(Leads::Score).default(0.0).to_owned(),
            string_len(Leads::Temperature, 8).default("COLD").to_owned(),
            uuid_null(Leads::ScoringModelId),
            integer_null(Leads::ScoringModelVersion),
            timestamp_with_time_zone_null(Leads::ScoredAt),
        ] {
            manager.alter_table(Table::alter().table(Leads::Table).add_column(column).to_owned()).await?;
        }
        let db = manager.get_connection();
        for column in COLUMNS.split(", ") {
            db.execute_unprepared(&format!(
                "UPDATE leads SET {column} = (SELECT s.{column} FROM lead_scores s WHERE s.lead_id = leads.id)"
            ))
            .await?;
        }
        index(manager, "ix_leads_org_score", Leads::Table, &[Leads::OrgId, Leads::Score, Leads::Id], false).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(BI_LEADS_BEFORE).await?;
        }
        manager.drop_table(Table::drop().table(LeadScores::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadScores {
    Table,
    LeadId,
    OrgId,
    FitScore,
    EngagementScore,
    Score,
    Temperature,
    ScoringModelId,
    ScoringModelVersion,
    ScoredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    Id,
    OrgId,
    FitScore,
    EngagementScore,
    Score,
    Temperature,
    ScoringModelId,
    ScoringModelVersion,
    ScoredAt,
}
