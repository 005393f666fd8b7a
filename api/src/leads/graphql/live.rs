//! The `leadEvents` subscription: stage moves, MQL and temperature crossings and owner
//! changes of the organization's leads, each with the lead as the subscriber reads it
//! when the event is delivered.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::stream::BoxStream;
use uuid::Uuid;

use super::{Lead, LifecycleStage, Temperature};
use crate::auth::permissions::{Scope, can_read, require};
use crate::error::Result;
use crate::graphql::live::{self, Delivery, payload};
use crate::graphql::{actor, parse_id};
use crate::leads as domain;

/// Most lead ids one `leadEvents` filter may name.
const MAX_LEAD_IDS: usize = 100;

/// The outbox kinds `leadEvents` delivers, by [`LeadEventKind`].
const KINDS: &[&str] = &["lead.stageChanged", "lead.qualified", "lead.temperatureChanged", "lead.ownerChanged"];

/// What happened to a lead.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadEventKind {
    /// The lead moved from `fromStage` to `toStage` (by hand, a handover answer, a deal
    /// or the scoring model).
    StageChanged,
    /// The lead crossed the scoring model's MQL threshold and became an MQL (sent
    /// beside its STAGE_CHANGED event).
    Qualified,
    /// The lead's temperature went from `fromTemperature` to `toTemperature` after a
    /// rescoring.
    TemperatureChanged,
    /// The lead's sales or marketing owner changed; `previousOwnerId` names the sales
    /// owner before.
    OwnerChanged,
}

impl LeadEventKind {
    fn of(kind: &str) -> Option<Self> {
        match kind {
            "lead.stageChanged" => Some(Self::StageChanged),
            "lead.qualified" => Some(Self::Qualified),
            "lead.temperatureChanged" => Some(Self::TemperatureChanged),
            "lead.ownerChanged" => Some(Self::OwnerChanged),
            _ => None,
        }
    }
}

/// Which lead events to receive; every condition given must hold.
#[derive(InputObject, Default)]
pub struct LeadEventFilter {
    /// Only these leads (at most 100 ids).
    pub lead_ids: Option<Vec<ID>>,
    /// Only leads in one of these stages after the event, or moving out of one of them.
    pub stages: Option<Vec<LifecycleStage>>,
    /// Only leads this user owns (sales or marketing owner) after the event, or owned
    /// before an owner change.
    pub owner_id: Option<ID>,
    /// Only these kinds of event.
    pub kinds: Option<Vec<LeadEventKind>>,
}

/// The filter with its ids parsed.
#[derive(Clone, Default)]
struct Filter {
    lead_ids: Option<Vec<Uuid>>,
    stages: Option<Vec<entity::LifecycleStage>>,
    owner_id: Option<Uuid>,
    kinds: Option<Vec<LeadEventKind>>,
}

impl Filter {
    fn parse(input: LeadEventFilter) -> Result<Self> {
        let lead_ids = match input.lead_ids {
            Some(ids) if ids.len() > MAX_LEAD_IDS => {
                return Err(crate::error::ApiError::bad_input(
                    "filter.leadIds",
                    format!("at most {MAX_LEAD_IDS} lead ids"),
                ));
            }
            Some(ids) => Some(ids.iter().map(|id| parse_id("filter.leadIds", id)).collect::<Result<Vec<_>>>()?),
            None => None,
        };
        Ok(Self {
            lead_ids,
            stages: live::distinct(input.stages.map(|stages| stages.into_iter().map(Into::into).collect())),
            owner_id: input.owner_id.as_ref().map(|id| parse_id("filter.ownerId", id)).transpose()?,
            kinds: live::distinct(input.kinds),
        })
    }

    /// Whether the event passes the conditions that need no read of the lead.
    fn admits_event(&self, kind: LeadEventKind, lead_id: Uuid) -> bool {
        self.kinds.as_ref().is_none_or(|kinds| kinds.contains(&kind))
            && self.lead_ids.as_ref().is_none_or(|ids| ids.contains(&lead_id))
    }

    /// Whether the lead, as it is now, with the event's earlier values, passes.
    fn admits(
        &self,
        lead: &entity::lead::Model,
        from_stage: Option<entity::LifecycleStage>,
        previous_owner: Option<Uuid>,
    ) -> bool {
        let stage_ok = self.stages.as_ref().is_none_or(|stages| {
            stages.contains(&lead.lifecycle_stage) || from_stage.is_some_and(|from| stages.contains(&from))
        });
        let owner_ok = self.owner_id.is_none_or(|owner| {
            lead.owner_id == Some(owner) || lead.marketing_owner_id == Some(owner) || previous_owner == Some(owner)
        });
        stage_ok && owner_ok
    }
}

/// One change to a lead.
#[derive(SimpleObject)]
pub struct LeadEvent {
    /// Id of the event; the same event delivered twice (after a reconnect) has the same id.
    pub id: ID,
    /// What happened.
    pub kind: LeadEventKind,
    /// When the change was made (UTC).
    pub occurred_at: DateTime<Utc>,
    /// The lead as it is now, read as you.
    pub lead: Lead,
    /// STAGE_CHANGED: the stage it left.
    pub from_stage: Option<LifecycleStage>,
    /// STAGE_CHANGED: the stage it entered.
    pub to_stage: Option<LifecycleStage>,
    /// TEMPERATURE_CHANGED: the temperature before.
    pub from_temperature: Option<Temperature>,
    /// TEMPERATURE_CHANGED: the temperature after.
    pub to_temperature: Option<Temperature>,
    /// OWNER_CHANGED: the sales owner before (null when it had none).
    pub previous_owner_id: Option<ID>,
}

/// Live changes to leads.
#[derive(Default)]
pub struct LeadSubscription;

#[Subscription]
impl LeadSubscription {
    /// Stage moves, MQL and temperature crossings and owner changes of the
    /// organization's leads, as they commit. Needs `LEADS_READ` (and `EVENTS_READ`) for
    /// an API key. Each event is checked when it is delivered: a lead you may not read
    /// is never sent.
    async fn lead_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadEventFilter>,
    ) -> Result<BoxStream<'static, Result<LeadEvent>>> {
        require(can_read(actor(ctx)?, Scope::LeadsRead), "read leads")?;
        let filter = Filter::parse(filter.unwrap_or_default())?;
        live::subscribe(
            ctx,
            |kind| KINDS.contains(&kind),
            Arc::new(move |delivery, event| deliver(filter.clone(), delivery, event).boxed()),
        )
    }
}

async fn deliver(
    filter: Filter,
    Delivery { db, actor }: Delivery,
    event: Arc<entity::outbox_event::Model>,
) -> Result<Option<LeadEvent>> {
    let (Some(kind), Some(lead_id)) = (LeadEventKind::of(&event.kind), event.entity_id) else { return Ok(None) };
    if !filter.admits_event(kind, lead_id) {
        return Ok(None);
    }
    // Checked for this subscriber; the read itself is shared by all of them.
    require(can_read(&actor, Scope::LeadsRead), "read leads")?;
    static READ: std::sync::LazyLock<live::Memo<domain::Scored>> = std::sync::LazyLock::new(live::Memo::new);
    let read = READ.get_or_load(event.id, async { live::found(domain::get_scored(&db, &actor, lead_id).await) });
    let Some(scored) = read.await? else { return Ok(None) };
    let stage = |field| payload::<entity::LifecycleStage>(&event, field);
    let temperature = |field| payload::<entity::Temperature>(&event, field);
    let (from_stage, to_stage) = match kind {
        LeadEventKind::StageChanged => (stage("from"), stage("to")),
        _ => (None, None),
    };
    let (from_temperature, to_temperature) = match kind {
        LeadEventKind::TemperatureChanged => (temperature("from"), temperature("to")),
        _ => (None, None),
    };
    let previous_owner = match kind {
        LeadEventKind::OwnerChanged => event.payload.pointer("/ownerId/from").and_then(|v| v.as_str()?.parse().ok()),
        _ => None,
    };
    if !filter.admits(&scored.lead, from_stage, previous_owner) {
        return Ok(None);
    }
    Ok(Some(LeadEvent {
        id: event.id.into(),
        kind,
        occurred_at: event.at,
        lead: scored.into(),
        from_stage: from_stage.map(Into::into),
        to_stage: to_stage.map(Into::into),
        from_temperature: from_temperature.map(Into::into),
        to_temperature: to_temperature.map(Into::into),
        previous_owner_id: previous_owner.map(Into::into),
    }))
}
