//! `sla_breaches`: an ended period in which an agreed SLA missed its target, recorded once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_breaches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// The SLA (an agreed document).
    pub sla_id: Uuid,
    /// The SLA version that judged the period: the one in force when it began.
    pub sla_version: i32,
    /// The period's first instant (local midnight of its first day, in UTC).
    pub period_start: DateTimeUtc,
    /// The instant after the period's last day.
    pub period_end: DateTimeUtc,
    /// What was measured, in the SLA's unit.
    pub value: f64,
    /// The target that was missed.
    pub target: f64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
