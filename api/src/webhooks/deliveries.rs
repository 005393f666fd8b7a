//! Deliveries: one row per relayed event and endpoint that wants it, written in the
//! outbox relay's transaction, so an event becomes deliveries exactly when it is
//! marked relayed; the delivery log ADMINs read; redelivery and test deliveries.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use entity::outbox_event::Model as Event;
use entity::webhook_delivery::{ActiveModel, Column, Entity, Model};
use entity::webhook_endpoint::Model as Endpoint;
use entity::{LifecycleStage, WebhookDeliveryStatus};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::Value as SqlValue;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Iterable, ModelTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::catalogue;
use crate::auth::Actor;
use crate::auth::permissions::{can_administer, require};
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::relay::OutboxConsumer;

inventory::submit! { OutboxConsumer { name: "webhooks", consume } }

fn consume<'a>(txn: &'a DatabaseTransaction, events: &'a [Event]) -> BoxFuture<'a, Result<()>> {
    Box::pin(enqueue(txn, events))
}

/// An enabled endpoint with the event types and lead stages it asked for.
type Listening = (Endpoint, Vec<String>, Vec<LifecycleStage>);

/// Turn a relayed batch (one organization's) into deliveries for the endpoints that
/// want each event.
async fn enqueue(txn: &DatabaseTransaction, events: &[Event]) -> Result<()> {
    use entity::webhook_endpoint::{Column as E, Entity as Endpoints};
    let Some(org_id) = events.first().map(|e| e.org_id) else { return Ok(()) };
    let endpoints: Vec<Listening> = Endpoints::find()
        .filter(E::OrgId.eq(org_id))
        .filter(E::Enabled.eq(true))
        .order_by_asc(E::Id)
        .all(txn)
        .await?
        .into_iter()
        .map(|e| {
            let (types, stages) = (super::event_types(&e), super::lead_stages(&e));
            (e, types, stages)
        })
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let wanted: Vec<(&Event, Vec<&Listening>)> = events
        .iter()
        .map(|event| (event, endpoints.iter().filter(|(_, types, _)| catalogue::wants(types, &event.kind)).collect()))
        .filter(|(_, endpoints): &(_, Vec<_>)| !endpoints.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let objects = snapshots(txn, org_id, wanted.iter().map(|(event, _)| *event)).await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for (event, endpoints) in wanted {
        let object = event.entity_id.and_then(|id| objects.get(&(event.entity.clone(), id)));
        let stages = lead_stages_of(event, object);
        let body = body(event, object);
        for (endpoint, _, filter) in endpoints {
            if event.entity == "lead" && !filter.is_empty() && !stages.iter().any(|s| filter.contains(s)) {
                continue;
            }
            rows.push(new_row(endpoint, Some(event), &event.kind, body.clone(), now));
        }
    }
    let count = rows.len();
    crate::db::insert_all(txn, rows).await?;
    metrics::counter!("accord_webhook_deliveries_created_total").increment(count as u64);
    Ok(())
}

fn new_row(endpoint: &Endpoint, event: Option<&Event>, kind: &str, body: String, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(endpoint.org_id),
        endpoint_id: Set(endpoint.id),
        event_id: Set(event.map(|e| e.id)),
        event_type: Set(kind.to_owned()),
        entity: Set(event.map(|e| e.entity.clone())),
        entity_id: Set(event.and_then(|e| e.entity_id)),
        body: Set(body),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        round_started_at: Set(now),
        round_attempts: Set(0),
        last_attempt_at: Set(None),
        last_status_code: Set(None),
        last_latency_ms: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    }
}

/// The body sent for an event, in the Standard Webhooks shape: `type`, `timestamp`,
/// and `data` naming the organization and the object, with what changed (`change`)
/// and the object as it was when the event was relayed (`object`, null once deleted).
fn body(event: &Event, object: Option<&Value>) -> String {
    json!({
        "type": event.kind,
        "timestamp": event.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "eventId": event.id,
            "organizationId": event.org_id,
            "objectType": event.entity,
            "objectId": event.entity_id,
            "change": event.payload,
            "object": object,
        },
    })
    .to_string()
}

/// The stages a lead event is about: both ends of a move, else the lead's stage.
fn lead_stages_of(event: &Event, object: Option<&Value>) -> Vec<LifecycleStage> {
    let mut stages = Vec::new();
    for value in [event.payload.get("from"), event.payload.get("to"), event.payload.get("stage")]
        .into_iter()
        .flatten()
        .chain(object.and_then(|o| o.get("lifecycleStage")))
    {
        if let Ok(stage) = serde_json::from_value::<LifecycleStage>(value.clone()) {
            stages.push(stage);
        }
    }
    stages
}

/// The objects `events` are about, read once per kind of record, keyed by (record, id).
async fn snapshots<'a>(
    txn: &DatabaseTransaction,
    org_id: Uuid,
    events: impl Iterator<Item = &'a Event>,
) -> Result<HashMap<(String, Uuid), Value>> {
    let mut ids: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    for event in events {
        if let Some(id) = event.entity_id {
            ids.entry(event.entity.as_str()).or_default().insert(id);
        }
    }
    let mut out = HashMap::new();
    for (record, ids) in ids {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let found = match record {
            "lead" => rows::<entity::lead::Entity>(txn, org_id, &ids).await?,
            "handover" => rows::<entity::handover::Entity>(txn, org_id, &ids).await?,
            "account" => rows::<entity::account::Entity>(txn, org_id, &ids).await?,
            "opportunity" => rows::<entity::opportunity::Entity>(txn, org_id, &ids).await?,
            "campaign" => rows::<entity::campaign::Entity>(txn, org_id, &ids).await?,
            "contentAsset" => rows::<entity::content_asset::Entity>(txn, org_id, &ids).await?,
            "contentUsage" => rows::<entity::content_usage::Entity>(txn, org_id, &ids).await?,
            "feedback" => rows::<entity::feedback::Entity>(txn, org_id, &ids).await?,
            "reviewMeeting" => rows::<entity::review_meeting::Entity>(txn, org_id, &ids).await?,
            "actionItem" => rows::<entity::action_item::Entity>(txn, org_id, &ids).await?,
            "goal" => rows::<entity::goal::Entity>(txn, org_id, &ids).await?,
            "journeyStage" => rows::<entity::journey_stage::Entity>(txn, org_id, &ids).await?,
            "rescoreJob" => rows::<entity::rescore_job::Entity>(txn, org_id, &ids).await?,
            _ if catalogue::is_known(&format!("{record}.agreed")) => {
                rows::<entity::document::Entity>(txn, org_id, &ids).await?
            }
            _ => Vec::new(),
        };
        out.extend(found.into_iter().map(|(id, value)| ((record.to_owned(), id), value)));
    }
    Ok(out)
}

/// Columns never sent: the tenant key (the payload names the organization) and
/// anything secret.
const HIDDEN_COLUMNS: &[&str] = &["org_id", "password_hash", "secret", "secret_hash"];

/// Rows `ids` of `E` in `org_id`, each as a JSON object with camelCase keys.
async fn rows<E: EntityTrait>(txn: &DatabaseTransaction, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<(Uuid, Value)>> {
    let id_column = crate::db::column::<E>("id")?;
    let org_column = crate::db::column::<E>("org_id")?;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let models =
            E::find().filter(id_column.is_in(chunk.iter().copied())).filter(org_column.eq(org_id)).all(txn).await?;
        for model in models {
            let SqlValue::Uuid(Some(id)) = model.get(id_column) else { continue };
            let mut object = Map::new();
            for column in E::Column::iter() {
                let name = sea_orm::IdenStatic::as_str(&column);
                if HIDDEN_COLUMNS.contains(&name) {
                    continue;
                }
                object.insert(camel_case(name), json_value(&model.get(column)));
            }
            out.push((id, Value::Object(object)));
        }
    }
    Ok(out)
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A column value as JSON: instants in RFC 3339 (UTC), dates as `YYYY-MM-DD`.
fn json_value(value: &SqlValue) -> Value {
    match value {
        SqlValue::ChronoDateTimeUtc(Some(at)) => json!(at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        SqlValue::ChronoDateTimeWithTimeZone(Some(at)) => {
            json!(at.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Micros, true))
        }
        SqlValue::ChronoDate(Some(day)) => json!(day.format("%Y-%m-%d").to_string()),
        SqlValue::Bytes(_) => Value::Null,
        other => sea_orm::sea_query::value::sea_value_to_json_value(other),
    }
}

/// Which deliveries to list.
#[derive(Debug, Default, Clone)]
pub struct DeliveryCriteria {
    pub endpoint_id: Option<Uuid>,
    pub status: Option<WebhookDeliveryStatus>,
    pub event_type: Option<String>,
    pub object_id: Option<Uuid>,
}

/// The delivery log, newest first. ADMINs only.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &DeliveryCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_administer(actor), "read webhook deliveries")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if let Some(id) = filter.endpoint_id {
        select = select.filter(Column::EndpointId.eq(id));
    }
    if let Some(status) = filter.status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some(kind) = &filter.event_type {
        select = select.filter(Column::EventType.eq(kind.as_str()));
    }
    if let Some(id) = filter.object_id {
        select = select.filter(Column::EntityId.eq(id));
    }
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

/// One delivery of the caller's organization; NOT_FOUND for another's.
pub async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_administer(actor), "read webhook deliveries")?;
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "webhook delivery").await
}

/// The attempts of deliveries `ids` (of the caller's organization), oldest first.
pub async fn attempts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<entity::webhook_attempt::Model>>> {
    use entity::webhook_attempt::{Column as A, Entity as Attempts};
    require(can_administer(actor), "read webhook deliveries")?;
    let mut out: HashMap<Uuid, Vec<_>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found = Attempts::find()
            .filter(A::OrgId.eq(actor.org_id))
            .filter(A::DeliveryId.is_in(chunk.iter().copied()))
            .order_by_asc(A::DeliveryId)
            .order_by_asc(A::Number)
            .all(db)
            .await?;
        for attempt in found {
            out.entry(attempt.delivery_id).or_default().push(attempt);
        }
    }
    Ok(out)
}

/// Send a delivery again, as it was (same `webhook-id` and body, fresh signature),
/// with a new round of retries. CONFLICT while its endpoint is disabled.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn redeliver(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_administer(actor), "redeliver webhooks")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    let endpoint = super::find(&txn, actor, current.endpoint_id).await?;
    require_enabled(&endpoint)?;
    let now = Utc::now();
    let mut model: ActiveModel = current.clone().into();
    model.status = Set(WebhookDeliveryStatus::Pending);
    model.next_attempt_at = Set(Some(now));
    model.round_started_at = Set(now);
    model.round_attempts = Set(0);
    model.finished_at = Set(None);
    let delivery = model.update(&txn).await?;
    let changes = Changes::new().field("status", Some(&current.status), Some(&delivery.status));
    audit::record(&txn, actor, "webhookDelivery.redeliver", "webhookDelivery", Some(id), changes).await?;
    txn.commit().await?;
    Ok(delivery)
}

/// Queue a `webhook.test` delivery to an endpoint, whatever types it asked for.
/// CONFLICT while the endpoint is disabled.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn send_test(db: &impl crate::db::Transactions, actor: &Actor, endpoint_id: Uuid) -> Result<Model> {
    require(can_administer(actor), "send test webhooks")?;
    let txn = crate::db::begin_write(db).await?;
    let endpoint = super::find(&txn, actor, endpoint_id).await?;
    require_enabled(&endpoint)?;
    let now = Utc::now();
    let body = json!({
        "type": catalogue::TEST_EVENT,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "eventId": null,
            "organizationId": actor.org_id,
            "objectType": "webhookEndpoint",
            "objectId": endpoint.id,
            "change": { "message": "A test delivery from Accord: verify its signature and answer 2xx." },
            "object": null,
        },
    })
    .to_string();
    let delivery = new_row(&endpoint, None, catalogue::TEST_EVENT, body, now).insert(&txn).await?;
    let changes = Changes::new().created("eventType", &delivery.event_type);
    audit::record(&txn, actor, "webhookDelivery.test", "webhookDelivery", Some(delivery.id), changes).await?;
    txn.commit().await?;
    Ok(delivery)
}

/// Delete deliveries (and their attempts) that finished before `before`; returns how
/// many. Deliveries still waiting are kept whatever their age.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    // Their attempts go with them: the foreign key cascades, on SQLite too.
    let deleted = Entity::delete_many().filter(Column::FinishedAt.lt(before)).exec(db).await?;
    Ok(deleted.rows_affected)
}

/// CONFLICT while `endpoint` is disabled: nothing is sent to it until it is enabled.
fn require_enabled(endpoint: &Endpoint) -> Result<()> {
    if endpoint.enabled {
        Ok(())
    } else {
        Err(ApiError::Conflict("the endpoint is disabled: enable it first (enableWebhookEndpoint)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_become_camel_case() {
        assert_eq!(camel_case("lifecycle_stage"), "lifecycleStage");
        assert_eq!(camel_case("id"), "id");
        assert_eq!(camel_case("marketing_owner_id"), "marketingOwnerId");
    }
}
