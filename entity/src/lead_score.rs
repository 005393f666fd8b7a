//! `lead_scores`: a lead's stored score, one row per lead, created with it. Kept apart
//! from `leads` so that rescoring rewrites a narrow row with two index entries instead
//! of the whole lead with all of its indexes.

use sea_orm::entity::prelude::*;

use crate::enums::Temperature;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_scores")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub lead_id: Uuid,
    pub org_id: Uuid,
    pub fit_score: f64,
    pub engagement_score: f64,
    /// `fit_score + engagement_score`.
    pub score: f64,
    pub temperature: Temperature,
    /// The scoring model (document id) and version that computed the stored score,
    /// and when: `Lead.scoreBreakdown` recomputes exactly this. None until scored.
    pub scoring_model_id: Option<Uuid>,
    pub scoring_model_version: Option<i32>,
    pub scored_at: Option<DateTimeUtc>,
    /// Each engagement rule of that model version with the lead's events folded in
    /// (scoring's `Engagement`), so that a new event updates the score without reading
    /// every event again. None until scored, or when it must be rebuilt from the events.
    #[sea_orm(column_type = "Json", nullable)]
    pub engagement_state: Option<Json>,
}

impl Model {
    /// The score of a lead no model has scored yet.
    pub fn unscored(lead_id: Uuid, org_id: Uuid) -> Self {
        Self {
            lead_id,
            org_id,
            fit_score: 0.0,
            engagement_score: 0.0,
            score: 0.0,
            temperature: Temperature::Cold,
            scoring_model_id: None,
            scoring_model_version: None,
            scored_at: None,
            engagement_state: None,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::lead::Entity", from = "Column::LeadId", to = "super::lead::Column::Id")]
    Lead,
}

impl Related<super::lead::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lead.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
