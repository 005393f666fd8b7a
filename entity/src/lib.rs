//! sea-orm entity models of Accord: one module per table, plain data, no business
//! logic and no GraphQL. The `api` crate maps these into its GraphQL types so that a
//! column such as `users.password_hash` can never reach the public schema.

pub mod api_key;
pub mod approval;
pub mod audit_log;
pub mod document;
pub mod document_version;
pub mod enums;
pub mod goal;
pub mod journey_stage;
pub mod organization;
pub mod outbox_event;
pub mod user;

pub use enums::{AgreementStatus, DocumentKind, GoalMetric, Role, Team, VersionStatus};
