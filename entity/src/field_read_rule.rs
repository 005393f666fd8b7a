//! `field_read_rules`: an organization's change to who may read one personal field.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "field_read_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// `Type.field`, such as `Lead.phone`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    /// The roles that may read it besides ADMIN, such as `["MANAGER"]`.
    pub roles: Json,
    /// The API-key scopes of which a key needs one, such as `["pii:read"]`; empty for none.
    pub scopes: Json,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
