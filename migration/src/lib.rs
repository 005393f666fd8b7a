//! Append-only migrations of Accord, portable across SQLite and PostgreSQL.
//! A migration that has landed on `main` is never edited: add a new one instead.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_organizations;
mod m20261123_000002_create_users;
mod m20261123_000003_create_api_keys;
mod m20261123_000004_create_audit_log;
mod m20261123_000005_create_accounts;
mod m20261123_000006_create_leads;
mod m20261123_000007_create_lead_stage_transitions;
mod m20261123_000008_create_engagement_events;
mod m20261123_000009_create_opportunities;
mod m20261123_000010_create_activities;
mod m20261123_000011_create_handovers;
mod m20261124_000001_create_agreed_documents;
mod m20261124_000002_create_outbox_events;
pub mod m20261124_000003_create_journey_stages;
mod m20261124_000004_create_goals;
mod m20261126_000001_create_rescore_jobs;
mod m20261127_000001_create_content_assets;
mod m20261127_000002_create_feedback;
mod m20261127_000003_create_review_meetings;
mod m20261130_000001_create_campaigns;
mod m20261130_000002_create_bi_views;
mod m20261130_000003_add_kpi_indexes;
mod m20261130_000004_create_rescore_job_lanes;
mod m20261130_000005_create_kpi_rollups;
mod m20261130_000006_split_lead_scores;
mod m20261130_000007_kpi_marks_per_statement;
mod m20261130_000008_drop_rescore_job_cursor;
mod m20261204_000001_add_api_key_rate_limit;
mod m20261204_000002_add_lead_engagement_state;
mod m20261204_000003_create_trusted_documents;
mod m20261205_000201_add_lead_persona_match;
mod m20261205_000202_normalise_feedback_tags;
mod m20261205_000301_add_taxonomy_columns;
mod m20261205_000401_add_rescore_job_kind;
pub mod m20261205_000501_refresh_sla_titles;
mod m20261205_000601_create_exchange_rates;
mod m20261205_000701_add_goal_person;
mod m20261206_000101_goal_catalogue;
mod m20261206_000201_add_transition_definition;
mod m20261206_000401_outbox_relay;
mod m20261207_000501_create_sla_breaches;
mod m20261207_000601_create_webhooks;
mod m20261208_000101_field_read_rules;
mod m20261209_000101_rate_limit_windows;
mod m20261209_000201_sign_in_failures;
mod m20261210_000101_review_lead_indexes;
mod util;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_organizations::Migration),
            Box::new(m20261123_000002_create_users::Migration),
            Box::new(m20261123_000003_create_api_keys::Migration),
            Box::new(m20261123_000004_create_audit_log::Migration),
            Box::new(m20261123_000005_create_accounts::Migration),
            Box::new(m20261123_000006_create_leads::Migration),
            Box::new(m20261123_000007_create_lead_stage_transitions::Migration),
            Box::new(m20261123_000008_create_engagement_events::Migration),
            Box::new(m20261123_000009_create_opportunities::Migration),
            Box::new(m20261123_000010_create_activities::Migration),
            Box::new(m20261123_000011_create_handovers::Migration),
            Box::new(m20261124_000001_create_agreed_documents::Migration),
            Box::new(m20261124_000002_create_outbox_events::Migration),
            Box::new(m20261124_000003_create_journey_stages::Migration),
            Box::new(m20261124_000004_create_goals::Migration),
            Box::new(m20261126_000001_create_rescore_jobs::Migration),
            Box::new(m20261127_000001_create_content_assets::Migration),
            Box::new(m20261127_000002_create_feedback::Migration),
            Box::new(m20261127_000003_create_review_meetings::Migration),
            Box::new(m20261130_000001_create_campaigns::Migration),
            Box::new(m20261130_000002_create_bi_views::Migration),
            Box::new(m20261130_000003_add_kpi_indexes::Migration),
            Box::new(m20261130_000004_create_rescore_job_lanes::Migration),
            Box::new(m20261130_000005_create_kpi_rollups::Migration),
            Box::new(m20261130_000006_split_lead_scores::Migration),
            Box::new(m20261130_000007_kpi_marks_per_statement::Migration),
            Box::new(m20261130_000008_drop_rescore_job_cursor::Migration),
            Box::new(m20261204_000001_add_api_key_rate_limit::Migration),
            Box::new(m20261204_000002_add_lead_engagement_state::Migration),
            Box::new(m20261204_000003_create_trusted_documents::Migration),
            Box::new(m20261205_000201_add_lead_persona_match::Migration),
            Box::new(m20261205_000202_normalise_feedback_tags::Migration),
            Box::new(m20261205_000301_add_taxonomy_columns::Migration),
            Box::new(m20261205_000401_add_rescore_job_kind::Migration),
            Box::new(m20261205_000501_refresh_sla_titles::Migration),
            Box::new(m20261205_000601_create_exchange_rates::Migration),
            Box::new(m20261205_000701_add_goal_person::Migration),
            Box::new(m20261206_000101_goal_catalogue::Migration),
            Box::new(m20261206_000201_add_transition_definition::Migration),
            Box::new(m20261206_000401_outbox_relay::Migration),
            Box::new(m20261207_000501_create_sla_breaches::Migration),
            Box::new(m20261207_000601_create_webhooks::Migration),
            Box::new(m20261208_000101_field_read_rules::Migration),
            Box::new(m20261209_000101_rate_limit_windows::Migration),
            Box::new(m20261209_000201_sign_in_failures::Migration),
            Box::new(m20261210_000101_review_lead_indexes::Migration),
        ]
    }
}
