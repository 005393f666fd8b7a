//! `lead_stage_transitions`: every lifecycle move of every lead. Time in stage,
//! conversion rates and cycle times are computed from this table.

use sea_orm::entity::prelude::*;

use crate::enums::{ActorKind, LifecycleStage};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "lead_stage_transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub lead_id: Uuid,
    /// `None` for the lead's creation.
    pub from_stage: Option<LifecycleStage>,
    pub to_stage: LifecycleStage,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub reason: Option<String>,
    #[serde(deserialize_with = "crate::json_time::rfc3339")]
    pub at: DateTimeUtc,
    /// The agreed definition of `to_stage` in force when the lead entered it, and its
    /// version; `None` where none was agreed (or before this was recorded).
    #[serde(default)]
    pub definition_id: Option<Uuid>,
    #[serde(default)]
    pub definition_version: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
