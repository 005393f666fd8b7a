//! Engagement events: what leads did. Partners push them one at a time or in
//! batches of up to 500; a repeated `externalId` is ignored, so retries are safe.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::engagement_event::{ActiveModel, Column, Entity, Model};
use entity::{EngagementKind, LifecycleStage};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_write, require};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate::{self, SHORT};

/// Most events one call may carry.
pub const MAX_BATCH: usize = 500;

/// How an event names its lead.
#[derive(Debug, Clone)]
pub enum LeadRef {
    Id(Uuid),
    Email(String),
    ExternalId(String),
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub lead: LeadRef,
    pub kind: EngagementKind,
    pub occurred_at: DateTime<Utc>,
    pub properties: Option<Json>,
    pub external_id: Option<String>,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct Recorded {
    pub events: Vec<Model>,
    /// Events skipped because their `externalId` was recorded before.
    pub duplicates: usize,
    /// Leads moved from NEW to ENGAGED by their first engagement.
    pub engaged_leads: Vec<Uuid>,
}

/// Record a batch atomically: every event is valid and stored, or none is.
#[tracing::instrument(skip(db, actor, events), fields(org = %actor.org_id, n = events.len()))]
pub async fn record(db: &impl TransactionTrait, actor: &Actor, events: Vec<NewEvent>) -> Result<Recorded> {
    require(can_write(actor, Scope::EventsWrite), "record engagement")?;
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(ApiError::bad_input("events", format!("give 1 to {MAX_BATCH} events")));
    }
    let now = Utc::now();
    let mut seen = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        if event.occurred_at > now + chrono::Duration::minutes(5) {
            return Err(ApiError::bad_input(&format!("events[{i}].occurredAt"), "must not be in the future"));
        }
        if let Some(id) = &event.external_id {
            validate::text(&format!("events[{i}].externalId"), id, SHORT)?;
        }
        if event.properties.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(ApiError::bad_input(&format!("events[{i}].properties"), "must be a JSON object"));
        }
        if event.properties.as_ref().is_some_and(|p| p.to_string().len() > 16 * 1024) {
            return Err(ApiError::bad_input(&format!("events[{i}].properties"), "must be at most 16 KiB"));
        }
        if let Some(id) = &event.external_id
            && !seen.insert(id.trim().to_owned())
        {
            return Err(ApiError::bad_input(&format!("events[{i}].externalId"), "appears twice in this batch"));
        }
    }
    let txn = crate::db::begin_write(db).await?;
    let leads = resolve_leads(&txn, actor, &events).await?;
    let external_ids: Vec<String> =
        events.iter().filter_map(|e| e.external_id.as_ref().map(|s| s.trim().to_owned())).collect();
    let known: HashSet<String> = if external_ids.is_empty() {
        HashSet::new()
    } else {
        Entity::find()
            .filter(Column::OrgId.eq(actor.org_id))
            .filter(Column::ExternalId.is_in(external_ids))
            .all(&txn)
            .await?
            .into_iter()
            .filter_map(|e| e.external_id)
            .collect()
    };
    let mut recorded = Recorded::default();
    let mut first_kind: HashMap<Uuid, EngagementKind> = HashMap::new();
    for (event, lead) in events.into_iter().zip(leads) {
        let external_id = event.external_id.map(|s| s.trim().to_owned());
        if external_id.as_ref().is_some_and(|id| known.contains(id)) {
            recorded.duplicates += 1;
            continue;
        }
        let model = ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(actor.org_id),
            lead_id: Set(lead.id),
            kind: Set(event.kind),
            occurred_at: Set(event.occurred_at),
            properties: Set(event.properties.unwrap_or_else(|| Json::Object(Default::default()))),
            external_id: Set(external_id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        if lead.lifecycle_stage == LifecycleStage::New {
            first_kind.entry(lead.id).or_insert(model.kind);
        }
        recorded.events.push(model);
    }
    // A NEW lead that engages becomes ENGAGED: the funnel shows who is active.
    for (lead_id, kind) in first_kind {
        let lead = super::find(&txn, actor, lead_id).await?;
        if lead.lifecycle_stage == LifecycleStage::New {
            let reason = format!("first engagement ({})", serde_json::to_value(kind).unwrap_or_default());
            super::lifecycle::move_lead(&txn, actor, lead, LifecycleStage::Engaged, Some(reason.replace('"', "")))
                .await?;
            recorded.engaged_leads.push(lead_id);
        }
    }
    // Engagement is a score input: rescore every lead that engaged.
    let engaged: Vec<Uuid> = recorded.events.iter().map(|e| e.lead_id).collect::<HashSet<_>>().into_iter().collect();
    if !engaged.is_empty() {
        let leads = entity::lead::Entity::find()
            .filter(entity::lead::Column::OrgId.eq(actor.org_id))
            .filter(entity::lead::Column::Id.is_in(engaged))
            .all(&txn)
            .await?;
        crate::scoring::refresh(&txn, actor, leads).await?;
    }
    if !recorded.events.is_empty() {
        let changes =
            Changes::new().created("recorded", &recorded.events.len()).created("duplicates", &recorded.duplicates);
        audit::record(&txn, actor, "engagement.record", "engagementEvent", None, changes).await?;
    }
    txn.commit().await?;
    Ok(recorded)
}

/// Find every event's lead; the first unknown one fails the batch, naming its index.
async fn resolve_leads(
    db: &impl ConnectionTrait,
    actor: &Actor,
    events: &[NewEvent],
) -> Result<Vec<entity::lead::Model>> {
    let mut leads = Vec::with_capacity(events.len());
    let mut cache: HashMap<String, entity::lead::Model> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let key = match &event.lead {
            LeadRef::Id(id) => format!("id:{id}"),
            LeadRef::Email(email) => format!("email:{}", email.trim().to_lowercase()),
            LeadRef::ExternalId(id) => format!("ext:{}", id.trim()),
        };
        if let Some(lead) = cache.get(&key) {
            leads.push(lead.clone());
            continue;
        }
        let found = match &event.lead {
            LeadRef::Id(id) => super::find(db, actor, *id).await.ok(),
            LeadRef::Email(email) => super::find_by_email(db, actor, &email.trim().to_lowercase()).await?,
            LeadRef::ExternalId(id) => super::find_by_external_id(db, actor, id.trim()).await?,
        };
        let lead = found.ok_or_else(|| ApiError::bad_input(&format!("events[{i}].lead"), "no such lead"))?;
        cache.insert(key, lead.clone());
        leads.push(lead);
    }
    Ok(leads)
}

/// A lead's events, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    lead_id: Uuid,
    window: &crate::graphql::pagination::Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<crate::graphql::pagination::Page<Model>> {
    use crate::auth::permissions::can_read;
    use crate::graphql::pagination::{Direction, fetch_page_by};
    require(can_read(actor, Scope::LeadsRead), "read engagement")?;
    let select = Entity::find().filter(Column::OrgId.eq(actor.org_id)).filter(Column::LeadId.eq(lead_id));
    fetch_page_by(db, select, &[Column::OccurredAt, Column::Id], Direction::Descending, window, count).await
}
