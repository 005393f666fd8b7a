//! `document_versions`: every version of an agreed document, with its typed body as JSON.

use sea_orm::entity::prelude::*;

use crate::enums::VersionStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "document_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub document_id: Uuid,
    /// 1, 2, 3, … per document.
    pub version: i32,
    pub status: VersionStatus,
    /// The kind's body (such as a definition's term, body and criteria), validated in `api`.
    pub body: Json,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub proposed_at: Option<DateTimeUtc>,
    pub agreed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
