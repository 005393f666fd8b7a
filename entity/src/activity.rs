//! `activities`: calls, meetings, demos… logged by people of the revenue teams.

use sea_orm::entity::prelude::*;

use crate::enums::ActivityKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub kind: ActivityKind,
    /// Time spent with customers counts towards the hours-with-customers KPI.
    pub customer_facing: bool,
    pub duration_minutes: i32,
    #[serde(deserialize_with = "crate::json_time::rfc3339")]
    pub occurred_at: DateTimeUtc,
    pub notes: Option<String>,
    #[serde(deserialize_with = "crate::json_time::rfc3339")]
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
