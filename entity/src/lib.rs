//! sea-orm entity models of Accord: one module per table, plain data, no business
//! logic and no GraphQL. The `api` crate maps these into its GraphQL types so that a
//! column such as `users.password_hash` can never reach the public schema.

pub mod account;
pub mod activity;
pub mod api_key;
pub mod audit_log;
pub mod engagement_event;
pub mod enums;
pub mod handover;
pub mod lead;
pub mod lead_stage_transition;
pub mod opportunity;
pub mod organization;
pub mod user;

pub use enums::{
    ActivityKind, EngagementKind, HandBackReason, HandoverStatus, LifecycleStage, OpportunityStage, Role,
    SalesStrategy, Team, Temperature,
};
