//! `opportunities`: deals, each following one of the four sales strategies.

use sea_orm::entity::prelude::*;

use crate::enums::{OpportunityStage, SalesStrategy};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub account_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub name: String,
    pub amount_minor: i64,
    /// ISO-4217 code such as `EUR`.
    pub currency: String,
    /// `amount_minor` in the organization's reporting currency at the latest exchange
    /// rate (null without one), for ordering deals of every currency on one scale.
    pub amount_reporting_minor: Option<i64>,
    pub stage: OpportunityStage,
    pub strategy: SalesStrategy,
    pub owner_id: Option<Uuid>,
    pub expected_close: Option<Date>,
    pub closed_at: Option<DateTimeUtc>,
    /// Code of the lost reason (an entry of the LOST_REASONS list in force when it closed).
    pub lost_reason: Option<String>,
    /// More about why it was lost (required by reasons that need a note, such as OTHER).
    pub lost_note: Option<String>,
    /// Who it was lost to: the COMPETITORS entry's code when the agreed list knows the
    /// name, else the name as written.
    pub competitor: Option<String>,
    /// The competitor as written, kept so a list agreed later can re-map it.
    pub competitor_written: Option<String>,
    /// Whether the agreed COMPETITORS list knew the name; null while none is agreed.
    pub competitor_listed: Option<bool>,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
