//! `handovers`: a lead handed from marketing to a salesperson, with the response
//! clock and the answer (accepted, or handed back with a reason).

use sea_orm::entity::prelude::*;

use crate::enums::HandoverStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "handovers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub lead_id: Uuid,
    /// The user who handed the lead over; `None` for an API key or Accord itself.
    pub from_user_id: Option<Uuid>,
    /// Name of whoever handed the lead over, at that time.
    pub from_name: String,
    pub to_user_id: Uuid,
    pub note: Option<String>,
    pub handed_at: DateTimeUtc,
    /// When the answer is due, from the agreed response SLA.
    pub due_at: DateTimeUtc,
    pub status: HandoverStatus,
    /// Set by the SLA clock once `due_at` passed without an answer.
    pub overdue: bool,
    pub responded_at: Option<DateTimeUtc>,
    pub responded_by: Option<Uuid>,
    /// The code of the hand-back reason (an entry of the HAND_BACK_REASONS list in force then).
    pub reason: Option<String>,
    pub response_note: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
