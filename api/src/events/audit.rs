//! The audit log: one row per change, in the same transaction as the change, naming
//! the actor, the action, the record and the field-by-field difference.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_read_audit_log, require};
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::error::Result;

/// Field-by-field differences of one change: `{ field: { from, to } }`.
#[derive(Debug, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a field's change; equal values are left out, and so is null before and
    /// after (a new record's empty fields: its entry lists the values it was given).
    pub fn field<T: Serialize + PartialEq>(mut self, name: &str, from: Option<&T>, to: Option<&T>) -> Self {
        if from == to {
            return self;
        }
        let (from, to) = (json!(from), json!(to));
        if !(from.is_null() && to.is_null()) {
            self.0.insert(name.to_owned(), json!({ "from": from, "to": to }));
        }
        self
    }

    /// Record a new record's initial value of a field.
    pub fn created<T: Serialize>(mut self, name: &str, value: &T) -> Self {
        self.0.insert(name.to_owned(), json!({ "from": null, "to": value }));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Write one audit row. Call it inside the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    changes: Changes,
) -> Result<()> {
    row(actor, action, entity, entity_id, changes).insert(db).await?;
    Ok(())
}

/// The audit row [`record`] writes (bulk writers insert many at once).
pub fn row(
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    changes: Changes,
) -> entity::audit_log::ActiveModel {
    entity::audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        actor_kind: Set(actor.stored_kind()),
        actor_id: Set(actor.id()),
        actor_name: Set(actor.name().to_owned()),
        action: Set(action.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        changes: Set(Value::Object(changes.0)),
        at: Set(Utc::now()),
    }
}

/// Which audit rows to list.
#[derive(Debug, Default, Clone)]
pub struct AuditCriteria {
    pub entity: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The organization's audit log, newest first.
#[tracing::instrument(skip(db, actor, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &AuditCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<entity::audit_log::Model>> {
    use entity::audit_log::{Column, Entity};
    require(can_read_audit_log(actor), "read the audit log")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if let Some(entity) = &filter.entity {
        select = select.filter(Column::Entity.eq(entity.as_str()));
    }
    if let Some(id) = filter.entity_id {
        select = select.filter(Column::EntityId.eq(id));
    }
    if let Some(id) = filter.actor_id {
        select = select.filter(Column::ActorId.eq(id));
    }
    if let Some(action) = &filter.action {
        select = select.filter(Column::Action.eq(action.as_str()));
    }
    // Ids are UUIDv7, ordered by time: bound the key rather than the text timestamp,
    // which SQLite would compare as a string.
    if let Some(from) = filter.from {
        select = select.filter(Column::Id.gte(uuid_floor(from)));
    }
    if let Some(to) = filter.to {
        select = select.filter(Column::Id.lt(uuid_floor(to)));
    }
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

/// The smallest UUIDv7 of a given millisecond.
fn uuid_floor(at: DateTime<Utc>) -> Uuid {
    let millis = at.timestamp_millis().max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_floor_orders_like_time() {
        let now = Utc::now();
        let id = Uuid::now_v7();
        assert!(uuid_floor(now - chrono::Duration::seconds(1)) < id);
        assert!(uuid_floor(now + chrono::Duration::seconds(1)) > id);
    }

    #[test]
    fn unchanged_fields_are_left_out() {
        let changes =
            Changes::new().field("name", Some(&"A"), Some(&"A")).field("role", Some(&"MEMBER"), Some(&"ADMIN"));
        assert_eq!(changes.0.len(), 1);
        assert!(changes.0.contains_key("role"));
    }

    #[test]
    fn a_new_records_empty_fields_are_left_out_but_cleared_ones_are_not() {
        let none: Option<&Option<String>> = None;
        let changes = Changes::new().field("title", none, Some(&None)).field("email", None, Some(&"a@b.io")).field(
            "phone",
            Some(&Some("1".to_owned())),
            Some(&None),
        );
        assert_eq!(
            Value::Object(changes.0),
            json!({ "email": { "from": null, "to": "a@b.io" }, "phone": { "from": "1", "to": null } })
        );
    }
}
