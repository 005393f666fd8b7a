//! `approvals`: a MANAGER's or ADMIN's sign-off of one exact version of an agreed
//! document, on behalf of their team.

use sea_orm::entity::prelude::*;

use crate::enums::{DocumentKind, Team};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: DocumentKind,
    pub document_id: Uuid,
    pub version: i32,
    pub user_id: Uuid,
    /// The approver's team at the time of approving.
    pub team: Team,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
