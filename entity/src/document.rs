//! `documents`: one row per agreed document (definition, ICP, persona, SLA, …): its
//! kind, status, and which version is in force and which is pending approval.

use sea_orm::entity::prelude::*;

use crate::enums::{AgreementStatus, DocumentKind};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: DocumentKind,
    /// Identity within the organization and kind (such as the lower-cased term); unique.
    pub key: String,
    /// Display name of the latest version (term, name, or an SLA's summary).
    pub title: String,
    pub status: AgreementStatus,
    /// Number of the newest version; edits are optimistic-locked on it.
    pub latest_version: i32,
    /// The agreed version in force, if any.
    pub in_force_version: Option<i32>,
    /// The proposed version awaiting approval, if any.
    pub pending_version: Option<i32>,
    /// When the pending version was proposed.
    pub proposed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
