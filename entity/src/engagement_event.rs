//! `engagement_events`: what leads did (visits, opens, downloads…), ingested
//! idempotently by `external_id`.

use sea_orm::entity::prelude::*;

use crate::enums::EngagementKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "engagement_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub lead_id: Uuid,
    pub kind: EngagementKind,
    pub occurred_at: DateTimeUtc,
    pub properties: Json,
    /// The sender's id of the event; a repeated one is ignored.
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
