//! `audit_log`: who changed what, written in the same transaction as the change.

use sea_orm::entity::prelude::*;

use crate::enums::ActorKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// UUIDv7: its order is the order of writing, which the audit log pages by.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    /// The actor's name at the time of the change, kept even if the actor is renamed.
    pub actor_name: String,
    /// Verb such as `user.create`.
    pub action: String,
    /// Table-level name of what changed, such as `user`.
    pub entity: String,
    pub entity_id: Option<Uuid>,
    /// Field-by-field changes: `{ "field": { "from": …, "to": … } }`.
    pub changes: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
