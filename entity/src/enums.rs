//! Enumerations stored as text columns, shared by several tables.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The team a user works in. Agreed documents need one approver from SALES and one
/// from MARKETING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Team {
    #[sea_orm(string_value = "MARKETING")]
    Marketing,
    #[sea_orm(string_value = "SALES")]
    Sales,
    #[sea_orm(string_value = "SERVICE")]
    Service,
    #[sea_orm(string_value = "REVOPS")]
    Revops,
    #[sea_orm(string_value = "LEADERSHIP")]
    Leadership,
}

/// Who made a change: a signed-in user, an API key, or Accord itself (the command
/// line, the seed, a background job or a rule). Audit and stage-transition rows store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorKind {
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "API_KEY")]
    ApiKey,
    #[sea_orm(string_value = "SYSTEM")]
    System,
}

/// What a user may do inside their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MANAGER")]
    Manager,
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
}

/// The kinds of agreed documents. Each kind keeps its typed body as JSON in
/// `document_versions.body`; the workflow is the same for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    #[sea_orm(string_value = "DEFINITION")]
    Definition,
    #[sea_orm(string_value = "IDEAL_CUSTOMER_PROFILE")]
    IdealCustomerProfile,
    #[sea_orm(string_value = "PERSONA")]
    Persona,
    #[sea_orm(string_value = "SLA")]
    Sla,
    #[sea_orm(string_value = "SCORING_MODEL")]
    ScoringModel,
    #[sea_orm(string_value = "MESSAGE")]
    Message,
    #[sea_orm(string_value = "TAXONOMY")]
    Taxonomy,
}

/// Where an agreed document stands as a whole: being written, proposed for sign-off,
/// agreed by both teams (possibly with a newer proposal pending), or retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgreementStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "PROPOSED")]
    Proposed,
    #[sea_orm(string_value = "AGREED")]
    Agreed,
    #[sea_orm(string_value = "RETIRED")]
    Retired,
}

/// Where one version of an agreed document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VersionStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "PROPOSED")]
    Proposed,
    #[sea_orm(string_value = "AGREED")]
    Agreed,
    /// Replaced by a later version (agreed or not) before or after being in force.
    #[sea_orm(string_value = "SUPERSEDED")]
    Superseded,
    #[sea_orm(string_value = "RETIRED")]
    Retired,
}

/// Where a lead is in the shared funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStage {
    #[sea_orm(string_value = "NEW")]
    New,
    #[sea_orm(string_value = "ENGAGED")]
    Engaged,
    #[sea_orm(string_value = "MQL")]
    Mql,
    #[sea_orm(string_value = "SAL")]
    Sal,
    #[sea_orm(string_value = "SQL")]
    Sql,
    #[sea_orm(string_value = "OPPORTUNITY")]
    Opportunity,
    #[sea_orm(string_value = "CUSTOMER")]
    Customer,
    #[sea_orm(string_value = "RECYCLED")]
    Recycled,
    #[sea_orm(string_value = "DISQUALIFIED")]
    Disqualified,
}

/// How hot a lead is, from its score and the model thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Temperature {
    #[sea_orm(string_value = "COLD")]
    Cold,
    #[sea_orm(string_value = "WARM")]
    Warm,
    #[sea_orm(string_value = "HOT")]
    Hot,
}

/// What a lead did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EngagementKind {
    #[sea_orm(string_value = "WEB_VISIT")]
    WebVisit,
    #[sea_orm(string_value = "PRICING_PAGE_VISIT")]
    PricingPageVisit,
    #[sea_orm(string_value = "EMAIL_OPEN")]
    EmailOpen,
    #[sea_orm(string_value = "EMAIL_CLICK")]
    EmailClick,
    #[sea_orm(string_value = "FORM_SUBMIT")]
    FormSubmit,
    #[sea_orm(string_value = "CONTENT_DOWNLOAD")]
    ContentDownload,
    #[sea_orm(string_value = "WEBINAR_ATTENDED")]
    WebinarAttended,
    #[sea_orm(string_value = "EVENT_ATTENDED")]
    EventAttended,
    #[sea_orm(string_value = "DEMO_REQUEST")]
    DemoRequest,
    #[sea_orm(string_value = "TRIAL_SIGNUP")]
    TrialSignup,
}

/// What a person of the revenue teams did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivityKind {
    #[sea_orm(string_value = "CALL")]
    Call,
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "MEETING")]
    Meeting,
    #[sea_orm(string_value = "DEMO")]
    Demo,
    #[sea_orm(string_value = "EVENT")]
    Event,
    #[sea_orm(string_value = "NOTE")]
    Note,
}

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OpportunityStage {
    #[sea_orm(string_value = "DISCOVERY")]
    Discovery,
    #[sea_orm(string_value = "PROPOSAL")]
    Proposal,
    #[sea_orm(string_value = "NEGOTIATION")]
    Negotiation,
    #[sea_orm(string_value = "CLOSED_WON")]
    ClosedWon,
    #[sea_orm(string_value = "CLOSED_LOST")]
    ClosedLost,
}

/// Which of the four sales strategies a deal follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SalesStrategy {
    #[sea_orm(string_value = "ACQUISITION")]
    Acquisition,
    #[sea_orm(string_value = "RETENTION")]
    Retention,
    #[sea_orm(string_value = "DEVELOPMENT")]
    Development,
    #[sea_orm(string_value = "SUBSTITUTION")]
    Substitution,
}

/// Where a handover stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HandoverStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// Where a background rescoring job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RescoreJobStatus {
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "DONE")]
    Done,
}

/// What a rescoring job rescores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RescoreJobKind {
    /// Every lead: a model came into force, or the profiles its ICP rules read changed.
    #[sea_orm(string_value = "MODEL")]
    Model,
    /// The daily decay: the leads whose engagement decay can move them across a threshold.
    #[sea_orm(string_value = "DECAY")]
    Decay,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first attempt or a retry.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// The endpoint answered 2xx.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Every attempt of the retry schedule failed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}
