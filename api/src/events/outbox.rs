//! The outbox: one row per state change other systems may want to hear about
//! (subscriptions, webhooks), written in the same transaction as the change so an
//! event exists exactly when the change committed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::Result;

/// One event to write with [`publish_all`].
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened, such as `lead.stageChanged`.
    pub kind: &'static str,
    /// Kind of record, such as `lead`.
    pub entity: &'static str,
    pub entity_id: Option<Uuid>,
    pub payload: Value,
}

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
    let event = row(actor, kind, entity, entity_id, payload).insert(txn).await?;
    notify(txn, event.org_id, event.id).await
}

/// Write many events in a handful of statements (bulk moves, rescoring), in order:
/// copied on PostgreSQL when they fill more than one `INSERT` (`db::insert_new`).
pub async fn publish_all(txn: &DatabaseTransaction, actor: &Actor, events: Vec<Event>) -> Result<()> {
    let rows: Vec<_> = events.into_iter().map(|e| row(actor, e.kind, e.entity, e.entity_id, e.payload)).collect();
    let last = rows.last().and_then(|row| row.id.try_as_ref().copied());
    crate::db::insert_new(txn, rows).await?;
    match last {
        Some(id) => notify(txn, actor.org_id, id).await,
        None => Ok(()),
    }
}

/// The PostgreSQL channel told of new outbox events, payload `<org id>/<event id>`;
/// PostgreSQL delivers it when the writing transaction commits, to every replica's relay.
pub const CHANNEL: &str = "accord_outbox";

/// On PostgreSQL, wake every replica's relay when the transaction commits (SQLite has
/// one process, whose relay runs on its timer).
async fn notify(txn: &impl ConnectionTrait, org_id: Uuid, id: Uuid) -> Result<()> {
    if crate::db::dialect::is_postgres(txn) {
        let statement = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), format!("{org_id}/{id}").into()],
        );
        txn.execute_raw(statement).await?;
    }
    Ok(())
}

fn row(
    actor: &Actor,
    kind: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    payload: Value,
) -> entity::outbox_event::ActiveModel {
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
}
