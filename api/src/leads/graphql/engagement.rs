//! Engagement events: what leads did, as partners and marketing tools report it.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::time_key;
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::error::{ApiError, Result};
use crate::graphql::fields::Personal;
use crate::graphql::pagination::{PageArgs, sorted_cursor, sorted_window};
use crate::graphql::prefetch::child_page;
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::leads::engagement::{self, EventOutcome, LeadRef, NewEvent};

/// What a lead did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::EngagementKind")]
pub enum EngagementKind {
    /// Visited the website.
    WebVisit,
    /// Visited the pricing page.
    PricingPageVisit,
    /// Opened a marketing e-mail.
    EmailOpen,
    /// Clicked a link in a marketing e-mail.
    EmailClick,
    /// Submitted a form.
    FormSubmit,
    /// Downloaded a content asset.
    ContentDownload,
    /// Attended a webinar.
    WebinarAttended,
    /// Attended an event in person.
    EventAttended,
    /// Asked for a demo.
    DemoRequest,
    /// Signed up for a trial.
    TrialSignup,
}

const EVENTS: &str = "engagementEvents";

connection!(EngagementEventConnection, EngagementEventEdge, EngagementEvent, "engagement events");

/// Something a lead did.
#[derive(SimpleObject, Clone)]
pub struct EngagementEvent {
    /// Stable id of the event.
    #[graphql(owned)]
    pub id: ID,
    /// What the lead did.
    pub kind: EngagementKind,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Details from the sender, such as the page or asset; never null when it may be
    /// read. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `EngagementEvent.properties` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::EngagementProperties)")]
    pub properties: Option<Json<Value>>,
    /// The sender's id of the event; a repeated one is ignored.
    pub external_id: Option<String>,
    /// Id of the lead.
    pub lead_id: ID,
}

impl From<entity::engagement_event::Model> for EngagementEvent {
    fn from(m: entity::engagement_event::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            occurred_at: m.occurred_at,
            properties: Some(Json(m.properties)),
            external_id: m.external_id,
            lead_id: m.lead_id.into(),
        }
    }
}

/// A lead's engagement events, newest first: the first page batched by the DataLoader.
pub(crate) async fn lead_events(
    ctx: &Context<'_>,
    lead: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<EngagementEventConnection> {
    let (actor, l) = (actor(ctx)?, loaders(ctx)?);
    let args = PageArgs::new(first, after, None, None);
    let org = crate::graphql::actor(ctx)?.org_id;
    let window = sorted_window(&args, EVENTS, org, time_key)?;
    let count = selects(ctx, "totalCount");
    let later = || engagement::list(db(ctx), actor, lead, &window, count);
    let page = child_page(&l.lead_events, &l.lead_event_counts, lead, &args, &window, count, None, later).await?;
    Ok(EngagementEventConnection::from_page(
        ctx,
        page,
        |e| sorted_cursor(EVENTS, org, Value::from(e.occurred_at.to_rfc3339()), e.id),
        EngagementEvent::from,
    ))
}

/// One engagement event. Name the lead by exactly one of `leadId`, `leadEmail` or `leadExternalId`.
#[derive(InputObject)]
pub struct EngagementEventInput {
    /// The lead's id.
    pub lead_id: Option<ID>,
    /// The lead's e-mail address.
    pub lead_email: Option<String>,
    /// The lead's external id.
    pub lead_external_id: Option<String>,
    /// What the lead did.
    pub kind: EngagementKind,
    /// When (UTC; not in the future).
    pub occurred_at: DateTime<Utc>,
    /// Details, a JSON object of at most 16 KiB.
    pub properties: Option<Json<Value>>,
    /// Your id of the event; an event with a known one is skipped, so retries are safe.
    pub external_id: Option<String>,
}

/// A batch of engagement events (1–500), stored all or nothing.
#[derive(InputObject)]
pub struct RecordEngagementInput {
    /// The events.
    pub events: Vec<EngagementEventInput>,
}

/// What a batch of engagement did.
#[derive(SimpleObject)]
pub struct RecordEngagementPayload {
    /// One result per event sent, in the order sent.
    pub results: Vec<RecordEngagementResult>,
    /// The events stored by this call.
    pub events: Vec<EngagementEvent>,
    /// Events skipped because their `externalId` was recorded before.
    pub duplicates: i32,
    /// Leads that moved from NEW to ENGAGED with their first engagement.
    pub engaged_lead_ids: Vec<ID>,
}

/// What happened to one event of `recordEngagement`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordEngagementStatus {
    /// Stored; see `eventId`.
    Recorded,
    /// Skipped: its `externalId` was recorded before (or earlier in the same call).
    Duplicate,
    /// Refused (an unknown lead, an invalid value); see `message` and `field`. Other
    /// events are unaffected: send this one again once it is fixed.
    Failed,
}

/// The outcome of one event.
#[derive(SimpleObject)]
pub struct RecordEngagementResult {
    /// Number of the event in `events`, counted from 1.
    pub index: i32,
    /// What happened.
    pub status: RecordEngagementStatus,
    /// The stored event, when RECORDED.
    pub event_id: Option<ID>,
    /// Why the event was refused, when FAILED.
    pub message: Option<String>,
    /// The input field at fault, such as `events[3].lead`, when FAILED.
    pub field: Option<String>,
}

impl RecordEngagementResult {
    fn of(index: usize, outcome: EventOutcome) -> Self {
        let index = index as i32 + 1;
        match outcome {
            EventOutcome::Recorded(id) => Self {
                index,
                status: RecordEngagementStatus::Recorded,
                event_id: Some(id.into()),
                message: None,
                field: None,
            },
            EventOutcome::Duplicate => {
                Self { index, status: RecordEngagementStatus::Duplicate, event_id: None, message: None, field: None }
            }
            EventOutcome::Failed { message, field } => {
                Self { index, status: RecordEngagementStatus::Failed, event_id: None, message: Some(message), field }
            }
        }
    }
}

#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Record engagement events (1–500). Each event has its own result: an unknown lead
    /// or an invalid value fails that event only; repeated `externalId`s are skipped
    /// (DUPLICATE), so resending a call is safe. The stored events commit together.
    /// An event naming no lead, or several, fails the whole call. API keys need `EVENTS_WRITE`.
    async fn record_engagement(
        &self,
        ctx: &Context<'_>,
        input: RecordEngagementInput,
    ) -> Result<RecordEngagementPayload> {
        let mut events = Vec::with_capacity(input.events.len());
        for (i, e) in input.events.into_iter().enumerate() {
            let field = format!("events[{i}].lead");
            let lead = match (e.lead_id, e.lead_email, e.lead_external_id) {
                (Some(id), None, None) => LeadRef::Id(parse_id(&field, &id)?),
                (None, Some(email), None) => LeadRef::Email(email),
                (None, None, Some(id)) => LeadRef::ExternalId(id),
                _ => {
                    return Err(ApiError::bad_input(&field, "give exactly one of leadId, leadEmail, leadExternalId"));
                }
            };
            events.push(NewEvent {
                lead,
                kind: e.kind.into(),
                occurred_at: e.occurred_at,
                properties: e.properties.map(|p| p.0),
                external_id: e.external_id,
            });
        }
        let recorded = engagement::record(db(ctx), actor(ctx)?, events).await?;
        Ok(RecordEngagementPayload {
            results: recorded.outcomes.into_iter().enumerate().map(|(i, o)| RecordEngagementResult::of(i, o)).collect(),
            events: recorded.events.into_iter().map(EngagementEvent::from).collect(),
            duplicates: recorded.duplicates as i32,
            engaged_lead_ids: recorded.engaged_leads.into_iter().map(ID::from).collect(),
        })
    }
}
