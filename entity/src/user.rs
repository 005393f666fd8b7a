//! `users`: people of an organization, each in one team with one role.

use sea_orm::entity::prelude::*;

use crate::enums::{Role, Team};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// Lower-cased; unique per organization.
    pub email: String,
    pub name: String,
    pub team: Team,
    pub role: Role,
    /// argon2id PHC string; `None` for users who only sign in through an identity provider.
    pub password_hash: Option<String>,
    pub active: bool,
    pub version: i32,
    #[serde(deserialize_with = "crate::json_time::rfc3339")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json_time::rfc3339")]
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrgId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
