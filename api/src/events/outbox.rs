//! The outbox: one row per state change other systems may want to hear about
//! (subscriptions, webhooks), written in the same transaction as the change so an
//! event exists exactly when the change committed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::Result;

/// Write one event. Call it inside the transaction that makes the change. The
/// payload says what changed; `actor` (kind, id, name) is added to it.
pub async fn publish(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    kind: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    payload: Value,
) -> Result<()> {
    let payload = match payload {
        Value::Object(mut map) => {
            map.insert(
                "actor".into(),
                serde_json::json!({ "kind": actor.stored_kind(), "id": actor.id(), "name": actor.name() }),
            );
            Value::Object(map)
        }
        other => other,
    };
    entity::outbox_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        kind: Set(kind.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        payload: Set(payload),
        at: Set(Utc::now()),
        relayed_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}
