//! `leads`: people who may buy, with their lifecycle stage; the score is in `lead_scores`.

use sea_orm::entity::prelude::*;

use crate::enums::LifecycleStage;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub account_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    /// Lower-cased; unique per organization.
    pub email: String,
    /// Empty when unknown (kept non-null so keyset ordering never meets NULL).
    pub first_name: String,
    /// Empty when unknown (kept non-null so keyset ordering never meets NULL).
    pub last_name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// The id in the partner system that created the lead; unique per organization.
    pub external_id: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    pub stage_entered_at: DateTimeUtc,
    pub owner_id: Option<Uuid>,
    pub marketing_owner_id: Option<Uuid>,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A person chose the persona: title changes and re-matching leave it alone.
    pub persona_manual: bool,
    /// The title keyword that matched the persona (automatic matches only); for an
    /// ambiguous match, the keyword of the first candidate.
    pub persona_keyword: Option<String>,
    /// For an ambiguous match (no persona assigned): `[{"personaId", "keyword"}]` of the
    /// personas tied for the title. Null otherwise.
    #[sea_orm(column_type = "Json", nullable)]
    pub persona_candidates: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::lead_score::Entity")]
    Score,
}

impl Related<super::lead_score::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Score.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
