//! `outbox_cursors`: per organization, the outbox relay's claim (its row is locked
//! for a pass) and progress.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The last event relayed (events are relayed in id order).
    pub last_event_id: Option<Uuid>,
    /// Events relayed so far.
    pub relayed: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
