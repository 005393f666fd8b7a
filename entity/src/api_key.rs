//! `api_keys`: credentials of BI tools and integration partners. Only a hash of the
//! secret is stored; the secret itself is shown once, at creation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// Public, unique part of the key (`acc_<prefix>_…`), used to find the row.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Hex SHA-256 of the secret part. Secrets are 256 random bits, so a fast hash is enough.
    pub secret_hash: String,
    /// Scope strings such as `leads:read`, as a JSON array.
    pub scopes: Json,
    pub created_by: Option<Uuid>,
    pub last_used_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// The key's own rate limit; null for the organization's default.
    pub requests_per_minute: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
