//! Engagement events: what leads did. Partners push them one at a time or in
//! batches of up to 500; a repeated `externalId` is ignored, so retries are safe. Each
//! event has its own outcome: one unknown lead or invalid value fails that event only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use entity::engagement_event::{ActiveModel, Column, Entity, Model};
use entity::{EngagementKind, LifecycleStage};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_write, require};
use crate::db::Transactions;
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

/// What became of one event of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    /// Stored, with this id.
    Recorded(Uuid),
    /// Skipped: its `externalId` was recorded before, or earlier in the batch.
    Duplicate,
    /// Refused (an unknown lead, an invalid value); nothing of it was stored.
    Failed { message: String, field: Option<String> },
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct Recorded {
    pub events: Vec<Model>,
    /// One outcome per event, in the batch's order.
    pub outcomes: Vec<EventOutcome>,
    /// Events skipped because their `externalId` was recorded before.
    pub duplicates: usize,
    /// Leads moved from NEW to ENGAGED by their first engagement.
    pub engaged_leads: Vec<Uuid>,
}

/// Record a batch: the valid events of known leads are stored together (one
/// transaction); every other event gets its reason in [`Recorded::outcomes`].
#[tracing::instrument(skip(db, actor, events), fields(org = %actor.org_id, n = events.len()))]
pub async fn record(db: &impl Transactions, actor: &Actor, events: Vec<NewEvent>) -> Result<Recorded> {
    require(can_write(actor, Scope::EventsWrite), "record engagement")?;
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(ApiError::bad_input("events", format!("give 1 to {MAX_BATCH} events")));
    }
    let now = Utc::now();
    let mut seen = HashSet::new();
    let mut outcomes: Vec<Option<EventOutcome>> = events
        .iter()
        .enumerate()
        .map(|(i, event)| match check_event(i, event, now) {
            Err(error) => Some(failed(error)),
            // The first of the batch's events with an external id is the one recorded.
            Ok(()) => event
                .external_id
                .as_ref()
                .is_some_and(|id| !seen.insert(id.trim().to_owned()))
                .then_some(EventOutcome::Duplicate),
        })
        .collect();
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
    // Each NEW lead's first event in the batch, in the batch's order.
    let mut first_kind: Vec<(Uuid, EngagementKind)> = Vec::new();
    for (i, (event, lead)) in events.into_iter().zip(&leads).enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let Some(lead) = lead else {
            outcomes[i] = Some(failed(ApiError::bad_input(&format!("events[{i}].lead"), "no such lead")));
            continue;
        };
        let external_id = event.external_id.map(|s| s.trim().to_owned());
        if external_id.as_ref().is_some_and(|id| known.contains(id)) {
            outcomes[i] = Some(EventOutcome::Duplicate);
            continue;
        }
        if lead.lifecycle_stage == LifecycleStage::New && !first_kind.iter().any(|(id, _)| *id == lead.id) {
            first_kind.push((lead.id, event.kind));
        }
        let id = Uuid::now_v7();
        outcomes[i] = Some(EventOutcome::Recorded(id));
        recorded.events.push(Model {
            id,
            org_id: actor.org_id,
            lead_id: lead.id,
            kind: event.kind,
            // What both databases keep of a timestamp: scoring folds exactly what is stored.
            occurred_at: event.occurred_at.trunc_subsecs(6),
            properties: event.properties.unwrap_or_else(|| Json::Object(Default::default())),
            external_id,
            created_at: now,
        });
    }
    recorded.duplicates = outcomes.iter().filter(|o| matches!(o, Some(EventOutcome::Duplicate))).count();
    // Every event has its outcome by now.
    recorded.outcomes = outcomes.into_iter().flatten().collect();
    // One multi-row insert per 100 events (or one COPY) rather than a statement per event.
    crate::db::insert_new::<ActiveModel, _>(&txn, recorded.events.clone()).await?;
    // A NEW lead that engages becomes ENGAGED: the funnel shows who is active.
    let moves: Vec<(Uuid, String)> = first_kind
        .into_iter()
        .map(|(lead_id, kind)| {
            let kind = serde_json::to_value(kind).unwrap_or_default();
            (lead_id, format!("first engagement ({})", kind.as_str().unwrap_or_default()))
        })
        .collect();
    let news: Vec<entity::lead::Model> =
        leads.iter().flatten().filter(|lead| lead.lifecycle_stage == LifecycleStage::New).cloned().collect();
    let (new, engaged, via) = (LifecycleStage::New, LifecycleStage::Engaged, super::lifecycle::Via::Engagement);
    let moved = super::lifecycle::move_many(&txn, actor, &news, &moves, new, engaged, via).await?;
    recorded.engaged_leads = moved.iter().map(|lead| lead.id).collect();
    // Engagement is a score input: rescore every lead that engaged, as it stands now
    // (as read above, or as just moved); no need to read them again.
    let engaged: HashSet<Uuid> = recorded.events.iter().map(|e| e.lead_id).collect();
    let mut current: HashMap<Uuid, entity::lead::Model> =
        leads.into_iter().flatten().map(|lead| (lead.id, lead)).collect();
    current.extend(moved.into_iter().map(|lead| (lead.id, lead)));
    let engaged: Vec<entity::lead::Model> = current.into_values().filter(|lead| engaged.contains(&lead.id)).collect();
    if !engaged.is_empty() {
        let new = super::ScoreInputs::Engaged(&recorded.events);
        super::score_inputs_changed(&txn, actor, engaged, new).await?;
    }
    if !recorded.events.is_empty() {
        let refused = recorded.outcomes.iter().filter(|o| matches!(o, EventOutcome::Failed { .. })).count();
        let changes = Changes::new()
            .created("recorded", &recorded.events.len())
            .created("duplicates", &recorded.duplicates)
            .created("failed", &refused);
        audit::record(&txn, actor, "engagement.record", "engagementEvent", None, changes).await?;
    }
    txn.commit().await?;
    Ok(recorded)
}

/// One event's own checks; `i` names it in the error.
fn check_event(i: usize, event: &NewEvent, now: DateTime<Utc>) -> Result<()> {
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
    Ok(())
}

fn failed(error: ApiError) -> EventOutcome {
    match error {
        ApiError::BadUserInput { message, field } => EventOutcome::Failed { message, field },
        other => EventOutcome::Failed { message: other.to_string(), field: None },
    }
}

/// Find every event's lead, in at most one statement per kind of reference (id, e-mail,
/// external id); `None` for an event whose lead is unknown (or another organization's).
async fn resolve_leads(
    db: &impl ConnectionTrait,
    actor: &Actor,
    events: &[NewEvent],
) -> Result<Vec<Option<entity::lead::Model>>> {
    use entity::lead::Column as Lead;
    let key = |lead: &LeadRef| match lead {
        LeadRef::Id(id) => LeadKey::Id(*id),
        LeadRef::Email(email) => LeadKey::Email(email.trim().to_lowercase()),
        LeadRef::ExternalId(id) => LeadKey::ExternalId(id.trim().to_owned()),
    };
    let keys: Vec<LeadKey> = events.iter().map(|e| key(&e.lead)).collect();
    let (mut ids, mut emails, mut external_ids) = (HashSet::new(), HashSet::new(), HashSet::new());
    for key in &keys {
        match key {
            LeadKey::Id(id) => ids.insert(*id),
            LeadKey::Email(email) => emails.insert(email.clone()),
            LeadKey::ExternalId(id) => external_ids.insert(id.clone()),
        };
    }
    let mut found: HashMap<LeadKey, entity::lead::Model> = HashMap::new();
    if !ids.is_empty() {
        for lead in leads_where(db, actor, Lead::Id.is_in(ids)).await? {
            found.insert(LeadKey::Id(lead.id), lead);
        }
    }
    if !emails.is_empty() {
        for lead in leads_where(db, actor, Lead::Email.is_in(emails)).await? {
            found.insert(LeadKey::Email(lead.email.clone()), lead);
        }
    }
    if !external_ids.is_empty() {
        for lead in leads_where(db, actor, Lead::ExternalId.is_in(external_ids)).await? {
            if let Some(id) = lead.external_id.clone() {
                found.insert(LeadKey::ExternalId(id), lead);
            }
        }
    }
    Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
}

/// How an event names its lead, normalised as the lead stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LeadKey {
    Id(Uuid),
    Email(String),
    ExternalId(String),
}

async fn leads_where(
    db: &impl ConnectionTrait,
    actor: &Actor,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<entity::lead::Model>> {
    Ok(entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(actor.org_id))
        .filter(condition)
        .all(db)
        .await?)
}

/// A lead's events, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    lead_id: Uuid,
    window: &crate::db::keyset::Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<crate::db::keyset::Page<Model>> {
    use crate::auth::permissions::can_read;
    use crate::db::keyset::{Direction, fetch_page_by};
    require(can_read(actor, Scope::LeadsRead), "read engagement")?;
    let select = Entity::find().filter(Column::OrgId.eq(actor.org_id)).filter(Column::LeadId.eq(lead_id));
    fetch_page_by(db, select, &[Column::OccurredAt, Column::Id], Direction::Descending, window, count).await
}
