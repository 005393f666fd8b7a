//! `trusted_documents`: GraphQL documents an organization registered, by SHA-256.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// Lower-case hex SHA-256 of `body`'s UTF-8 bytes; unique per organization.
    pub sha256: String,
    /// The document's text, exactly as registered (the hash is of this text).
    pub body: String,
    /// Its operations' names, comma-separated, for people reading the list.
    pub name: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
