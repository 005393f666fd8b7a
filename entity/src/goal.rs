//! `goals`: shared targets for a period, optionally for one team.

use sea_orm::entity::prelude::*;

use crate::enums::{SalesStrategy, Team};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "goals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The catalogue metric's public name, such as `MQLS` (`catalogue::KpiMetric`).
    pub metric: String,
    pub target: f64,
    pub period_start: Date,
    pub period_end: Date,
    pub team: Option<Team>,
    pub owner_id: Option<Uuid>,
    /// A personal goal's person: only their facts count.
    pub person_id: Option<Uuid>,
    /// Scopes: only facts of this campaign (by name), sales strategy, ICP fit count.
    pub campaign: Option<String>,
    pub strategy: Option<SalesStrategy>,
    pub icp_fit: Option<bool>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
