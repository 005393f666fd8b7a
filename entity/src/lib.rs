//! sea-orm entity models of Accord: one module per table, plain data, no business
//! logic and no GraphQL. The `api` crate maps these into its GraphQL types so that a
//! column such as `users.password_hash` can never reach the public schema.

pub mod account;
pub mod action_item;
pub mod activity;
pub mod api_key;
pub mod approval;
pub mod audit_log;
pub mod campaign;
pub mod content_asset;
pub mod content_asset_persona;
pub mod content_asset_stage;
pub mod content_usage;
pub mod document;
pub mod document_version;
pub mod engagement_event;
pub mod enums;
pub mod exchange_rate;
pub mod feedback;
pub mod feedback_endorsement;
pub mod field_read_rule;
pub mod goal;
pub mod handover;
pub mod journey_stage;
pub mod json_time;
pub mod lead;
pub mod lead_score;
pub mod lead_stage_transition;
pub mod opportunity;
pub mod organization;
pub mod outbox_cursor;
pub mod outbox_event;
pub mod rescore_job;
pub mod rescore_job_lane;
pub mod review_meeting;
pub mod sla_breach;
pub mod trusted_document;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub use campaign::CampaignChannel;
pub use enums::{
    ActivityKind, ActorKind, AgreementStatus, DocumentKind, EngagementKind, HandoverStatus, LifecycleStage,
    OpportunityStage, RescoreJobKind, RescoreJobStatus, Role, SalesStrategy, Team, Temperature, VersionStatus,
    WebhookDeliveryStatus,
};
