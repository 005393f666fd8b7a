//! `webhook_deliveries`: one event to deliver to one endpoint, with where it stands.

use sea_orm::entity::prelude::*;

use crate::enums::WebhookDeliveryStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Also the `webhook-id` header: the same on every attempt and redelivery.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub endpoint_id: Uuid,
    /// The outbox event delivered; null for a test delivery.
    pub event_id: Option<Uuid>,
    pub event_type: String,
    pub entity: Option<String>,
    pub entity_id: Option<Uuid>,
    /// The exact body sent and signed.
    pub body: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due (or, while one is in flight, when its claim lapses).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// Start of the current round of retries (creation, or the last redelivery).
    pub round_started_at: DateTimeUtc,
    /// Attempts made in the current round, which the retry schedule counts.
    pub round_attempts: i32,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
