//! `feedback_endorsements`: another person backing a piece of feedback; unique per
//! (feedback, user).

use sea_orm::entity::prelude::*;

use crate::enums::Team;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_endorsements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub feedback_id: Uuid,
    pub user_id: Uuid,
    /// The endorser's team at the time.
    pub team: Team,
    /// The customer account the endorser heard it from, if any.
    pub account_id: Option<Uuid>,
    pub comment: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
