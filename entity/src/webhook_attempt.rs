//! `webhook_attempts`: one HTTP request made to deliver a webhook, and its outcome.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub delivery_id: Uuid,
    /// 1 for the first attempt of the delivery, counting across redeliveries.
    pub number: i32,
    pub at: DateTimeUtc,
    /// The HTTP status answered; null when no answer came (refused, time-out, blocked).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    /// The first 1 KB of the answer's body.
    pub response: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
