//! `outbox_events`: state changes for subscriptions and webhooks, written in the
//! transaction of the change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    /// UUIDv7: consumers read in id order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// What happened, such as `document.agreed`.
    pub kind: String,
    /// Kind of record, such as `definition`.
    pub entity: String,
    pub entity_id: Option<Uuid>,
    pub payload: Json,
    pub at: DateTimeUtc,
    /// When the relay handed the event to its consumers; `None` while it waits.
    pub relayed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
