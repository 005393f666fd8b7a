//! `feedback`: one piece of feedback about a subject (a lead, message, asset, agreed
//! document, or nothing in particular), with its status and the owning team's response.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Team;

/// What a piece of feedback is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedbackSubject {
    #[sea_orm(string_value = "LEAD")]
    Lead,
    #[sea_orm(string_value = "MESSAGE")]
    Message,
    #[sea_orm(string_value = "CONTENT_ASSET")]
    ContentAsset,
    #[sea_orm(string_value = "PERSONA")]
    Persona,
    #[sea_orm(string_value = "ICP")]
    Icp,
    #[sea_orm(string_value = "SCORING_MODEL")]
    ScoringModel,
    #[sea_orm(string_value = "SLA")]
    Sla,
    #[sea_orm(string_value = "DEFINITION")]
    Definition,
    #[sea_orm(string_value = "GENERAL")]
    General,
}

/// How the author feels about the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sentiment {
    #[sea_orm(string_value = "POSITIVE")]
    Positive,
    #[sea_orm(string_value = "NEUTRAL")]
    Neutral,
    #[sea_orm(string_value = "NEGATIVE")]
    Negative,
}

/// Where a piece of feedback stands: NEW → UNDER_REVIEW → ACCEPTED | DECLINED; ACCEPTED → DONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedbackStatus {
    #[sea_orm(string_value = "NEW")]
    New,
    #[sea_orm(string_value = "UNDER_REVIEW")]
    UnderReview,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "DONE")]
    Done,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    /// The author's team when the feedback was given (for the distinct-teams signal).
    pub author_team: Team,
    pub subject_type: FeedbackSubject,
    /// The subject's id; `None` for GENERAL (and SCORING_MODEL until that kind exists).
    pub subject_id: Option<Uuid>,
    /// Lower-cased short tag such as `pricing`; themes group by it.
    /// The theme key: the code of the agreed tag-list entry the written tag names, else
    /// the written tag.
    pub tag: String,
    /// The tag as its author wrote it (normalised), kept so a list agreed later can re-map it.
    pub written_tag: String,
    /// Whether the agreed tag list knew the written tag; null while none is agreed.
    pub tag_listed: Option<bool>,
    pub sentiment: Sentiment,
    pub body: String,
    /// The customer account the feedback comes from, if any.
    pub account_id: Option<Uuid>,
    pub status: FeedbackStatus,
    pub response: Option<String>,
    pub responded_by: Option<Uuid>,
    pub responded_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
