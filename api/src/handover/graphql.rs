//! GraphQL types and resolvers of the handover loop.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use uuid::Uuid;

use super::reports::{self, ComplianceGroup, ReasonGroup};
use super::{Answer, HandoverCriteria};
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::error::Result;
use crate::graphql::fields::Personal;
use crate::graphql::live::{self, Delivery};
use crate::graphql::pagination::{PageArgs, encode_cursor, sorted_cursor, sorted_window};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::leads::graphql::Lead;
use crate::org::graphql::{Team, User};

/// Where a handover stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::HandoverStatus")]
pub enum HandoverStatus {
    /// Waiting for the assignee's answer; see `dueAt`.
    Pending,
    /// Sales accepted the lead (it became SAL).
    Accepted,
    /// Sales handed the lead back with a reason (it became RECYCLED).
    Rejected,
    /// Nobody answered: the lead left MQL another way first (recycled or disqualified
    /// by hand); `responseNote` says how. Counts in no handover figure.
    Cancelled,
}

/// A lead handed from marketing to a salesperson, with its response clock.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Handover {
    /// Stable id of the handover.
    #[graphql(owned)]
    pub id: ID,
    /// Where it stands.
    pub status: HandoverStatus,
    /// True once `dueAt` passed without an answer; it stays answerable.
    pub overdue: bool,
    /// When the lead was handed over (UTC).
    pub handed_at: DateTime<Utc>,
    /// When the answer is due, from the agreed response SLA (UTC).
    pub due_at: DateTime<Utc>,
    /// When it was answered (UTC).
    pub responded_at: Option<DateTime<Utc>>,
    /// Why the lead was handed back: the code of its entry in the HAND_BACK_REASONS list
    /// (`taxonomyInForce` has the labels); null unless REJECTED.
    pub reason: Option<String>,
    /// The note of whoever handed the lead over. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Handover.note` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::HandoverNote)")]
    pub note: Option<String>,
    /// The note of the answer. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Handover.responseNote` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::HandoverResponseNote)")]
    pub response_note: Option<String>,
    /// Name of whoever handed the lead over, at that time.
    pub from_name: String,
    #[graphql(skip)]
    pub lead_id: Uuid,
    #[graphql(skip)]
    pub from_user_id: Option<Uuid>,
    #[graphql(skip)]
    pub to_user_id: Uuid,
    #[graphql(skip)]
    pub responded_by: Option<Uuid>,
}

impl From<entity::handover::Model> for Handover {
    fn from(m: entity::handover::Model) -> Self {
        Self {
            id: m.id.into(),
            status: m.status.into(),
            overdue: m.overdue,
            handed_at: m.handed_at,
            due_at: m.due_at,
            responded_at: m.responded_at,
            reason: m.reason,
            note: m.note,
            response_note: m.response_note,
            from_name: m.from_name,
            lead_id: m.lead_id,
            from_user_id: m.from_user_id,
            to_user_id: m.to_user_id,
            responded_by: m.responded_by,
        }
    }
}

#[ComplexObject]
impl Handover {
    /// The lead handed over.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        Ok(loaders(ctx)?.leads.load_one(self.lead_id).await?.map(Lead::from))
    }

    /// Who handed it over; null for an API key or Accord itself.
    #[graphql(name = "fromUser")]
    async fn handed_over_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.from_user_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The salesperson who must answer.
    async fn to_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.to_user_id).await?.map(User::from))
    }

    /// Who answered: the assignee or a SALES manager.
    async fn responded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.responded_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

connection!(HandoverConnection, HandoverEdge, Handover, "handovers");

const HANDOVERS: &str = "handovers";
/// The queue's cursors: (due at, id), never valid in `handovers`.
const MY_QUEUE: &str = "myQueue";
const BACKLOG: &str = "handoverBacklog";

/// Narrows handovers. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct HandoverFilter {
    /// Only handovers in these states.
    pub statuses: Option<Vec<HandoverStatus>>,
    /// Only overdue (true) or timely (false) handovers.
    pub overdue: Option<bool>,
    /// Only handovers to this user.
    pub to_user_id: Option<ID>,
    /// Only handovers by this user.
    pub from_user_id: Option<ID>,
    /// Only handovers of this lead.
    pub lead_id: Option<ID>,
    /// Only hand-backs with these reason codes (at most 50; compared ignoring case, spaces, `-` and `_`).
    pub reasons: Option<Vec<String>>,
    /// Only handovers made at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only handovers made before this time.
    pub to: Option<DateTime<Utc>>,
}

/// How compliance figures are grouped.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ComplianceGroup")]
pub enum ComplianceGroupBy {
    /// One group: everyone.
    None,
    /// One group per assignee.
    User,
    /// One group per assignee's team.
    Team,
}

/// The period and grouping of a compliance report.
#[derive(InputObject)]
pub struct ComplianceInput {
    /// Handovers made at or after this time.
    pub from: DateTime<Utc>,
    /// Handovers made before this time.
    pub to: DateTime<Utc>,
    /// How to group (default NONE).
    #[graphql(default_with = "ComplianceGroupBy::None")]
    pub group_by: ComplianceGroupBy,
}

/// Handover compliance of one group.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct HandoverCompliance {
    /// The team, when grouped by TEAM.
    pub team: Option<Team>,
    /// Handovers made in the period.
    pub handovers: i64,
    /// Of those, answered (accepted or handed back).
    pub answered: i64,
    /// Answered by their due time (`Handover.dueAt`).
    pub answered_within_target: i64,
    /// Answered, or still pending past their due time: the denominator of `withinTargetShare`.
    pub answered_or_due: i64,
    /// Handovers answered by their due time ÷ handovers made in the period that were answered or are past their due time (0–1): a pending handover not yet due is left out, one past its due time counts as missed, a cancelled one counts nowhere. The due time is fixed when the lead is handed over, from the response target in force then. Null when no handover counts yet.
    pub within_target_share: Option<f64>,
    /// Median hours from handover to answer.
    pub median_response_hours: Option<f64>,
    /// 90th percentile of hours from handover to answer.
    pub p90_response_hours: Option<f64>,
    /// Handovers the SLA clock marked overdue.
    pub overdue: i64,
    /// Handovers accepted.
    pub accepted: i64,
    /// Accepted handovers with a customer-facing activity with the lead since acceptance.
    pub touched: i64,
    /// Of those, first touched within the first-touch target.
    pub touched_within_target: i64,
    /// `touchedWithinTarget / accepted` (0–1); null without accepted handovers.
    pub first_touch_share: Option<f64>,
    /// Median hours from acceptance to the first customer-facing activity.
    pub median_first_touch_hours: Option<f64>,
    /// 90th percentile of hours from acceptance to the first customer-facing activity.
    pub p90_first_touch_hours: Option<f64>,
    #[graphql(skip)]
    pub user_id: Option<Uuid>,
}

#[ComplexObject]
impl HandoverCompliance {
    /// The assignee, when grouped by USER.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.user_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// How well the handover contract was kept in a period.
#[derive(SimpleObject)]
pub struct ComplianceReport {
    /// Start of the period.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// Hours sales has to answer now (the agreed HANDOVER_RESPONSE_HOURS SLA, or the organization default); each handover is judged by its own `dueAt`, set from the target in force when it was handed over.
    pub response_target_hours: f64,
    /// Hours allowed until the first customer-facing touch (the agreed FIRST_TOUCH_HOURS SLA, or 48).
    pub first_touch_target_hours: f64,
    /// One entry per group.
    pub groups: Vec<HandoverCompliance>,
}

/// How hand-back reasons are grouped.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ReasonGroup")]
pub enum HandBackGroupBy {
    /// One group: everyone.
    None,
    /// By the lead's source.
    Source,
    /// By the lead's campaign.
    Campaign,
    /// By the lead's persona (its id).
    Persona,
    /// By the lead's marketing owner (their id).
    MarketingOwner,
}

/// The period and grouping of hand-back reasons.
#[derive(InputObject)]
pub struct HandBackReasonsInput {
    /// Hand-backs at or after this time.
    pub from: DateTime<Utc>,
    /// Hand-backs before this time.
    pub to: DateTime<Utc>,
    /// How to group (default NONE).
    #[graphql(default_with = "HandBackGroupBy::None")]
    pub group_by: HandBackGroupBy,
}

/// How often sales handed leads back for one reason, within a group.
#[derive(SimpleObject)]
pub struct HandBackReasonCount {
    /// The source, campaign, persona id or marketing owner id; null for everyone or when the lead has none.
    pub group: Option<String>,
    /// The reason's code (an entry of the HAND_BACK_REASONS list).
    pub reason: String,
    /// The reason's label in the list in force (its code when the list no longer has it).
    pub label: String,
    /// Hand-backs with this reason.
    pub count: i64,
    /// Share of the group's hand-backs with this reason (0–1).
    pub share: f64,
}

/// Reason codes of a filter, spelled the way they are stored.
fn reason_codes(written: Vec<String>) -> Result<Vec<String>> {
    let list = crate::agreements::taxonomies::TaxonomyList::HandBackReasons;
    let written = crate::validate::text_list("filter.reasons", written, 50, crate::agreements::taxonomies::WORD_MAX)?;
    Ok(written.iter().map(|r| list.spell(r)).collect())
}

#[derive(Default)]
pub struct HandoverQuery;

#[Object]
impl HandoverQuery {
    /// Handovers of the organization, newest first.
    async fn handovers(
        &self,
        ctx: &Context<'_>,
        filter: Option<HandoverFilter>,
        #[graphql(desc = "At most this many handovers from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Handovers after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many handovers from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Handovers before this cursor.")] before: Option<String>,
    ) -> Result<HandoverConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, last, before).window(HANDOVERS, org)?;
        let f = filter.unwrap_or_default();
        let id = |field: &str, v: Option<ID>| v.map(|v| parse_id(field, &v)).transpose();
        let criteria = HandoverCriteria {
            statuses: f.statuses.unwrap_or_default().into_iter().map(Into::into).collect(),
            overdue: f.overdue,
            to_user_id: id("filter.toUserId", f.to_user_id)?,
            from_user_id: id("filter.fromUserId", f.from_user_id)?,
            lead_id: id("filter.leadId", f.lead_id)?,
            reasons: reason_codes(f.reasons.unwrap_or_default())?,
            from: f.from,
            to: f.to,
        };
        let page = super::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        Ok(HandoverConnection::from_page(ctx, page, |h| encode_cursor(HANDOVERS, org, &h.id), Handover::from))
    }

    /// One handover; null with NOT_FOUND when absent or another organization's.
    async fn handover(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Handover>> {
        let id = parse_id("id", &id)?;
        Ok(Some(super::get(db(ctx), actor(ctx)?, id).await?.into()))
    }

    /// The pending handovers I must answer, soonest due (the oldest promise) first.
    /// `totalCount` counts them all; with `overdue: true` only the overdue ones. Users only.
    async fn my_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "true: only overdue handovers; false: only those not yet overdue; absent: all.")]
        overdue: Option<bool>,
        #[graphql(desc = "At most this many handovers from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Handovers after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many handovers from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Handovers before this cursor.")] before: Option<String>,
    ) -> Result<HandoverConnection> {
        let actor = actor(ctx)?;
        let org = actor.org_id;
        let window =
            sorted_window(&PageArgs::new(first, after, last, before), MY_QUEUE, org, crate::db::keyset::time_key)?;
        let page = super::my_queue(db(ctx), actor, overdue, &window, selects(ctx, "totalCount")).await?;
        Ok(HandoverConnection::from_page(
            ctx,
            page,
            |h| sorted_cursor(MY_QUEUE, org, serde_json::Value::from(h.due_at.to_rfc3339()), h.id),
            Handover::from,
        ))
    }

    /// MQLs waiting for a rep, longest waiting first: no handover since they became
    /// MQL. With `autoHandOverMqls`, the leads beyond every rep's
    /// `autoHandOverDailyCap` wait here and are handed over as reps have room again;
    /// without it, these are the MQLs nobody handed over yet. `totalCount` counts them
    /// all. API keys need `LEADS_READ`.
    async fn handover_backlog(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many leads from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Leads after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many leads from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Leads before this cursor.")] before: Option<String>,
    ) -> Result<crate::leads::graphql::LeadConnection> {
        let actor = actor(ctx)?;
        let org = actor.org_id;
        let window =
            sorted_window(&PageArgs::new(first, after, last, before), BACKLOG, org, crate::db::keyset::time_key)?;
        let page = super::backlog(db(ctx), actor, &window, selects(ctx, "totalCount")).await?;
        Ok(crate::leads::graphql::LeadConnection::from_page(
            ctx,
            page,
            |l| sorted_cursor(BACKLOG, org, serde_json::Value::from(l.stage_entered_at.to_rfc3339()), l.id),
            Lead::from,
        ))
    }

    /// How well sales kept the response and first-touch SLAs in a period. API keys need `KPIS_READ`.
    async fn handover_compliance(&self, ctx: &Context<'_>, input: ComplianceInput) -> Result<ComplianceReport> {
        let group: ComplianceGroup = input.group_by.into();
        let actor = actor(ctx)?;
        let (targets, groups) = db(ctx)
            .replica_read(|db| async move { reports::compliance(&db, actor, input.from, input.to, group).await })
            .await?;
        let groups = groups
            .into_iter()
            .map(|c| HandoverCompliance {
                team: match group {
                    ComplianceGroup::Team => c
                        .key
                        .as_deref()
                        .and_then(|t| serde_json::from_value::<entity::Team>(serde_json::Value::from(t)).ok())
                        .map(Into::into),
                    _ => None,
                },
                user_id: match group {
                    ComplianceGroup::User => c.key.as_deref().and_then(|k| Uuid::parse_str(k).ok()),
                    _ => None,
                },
                handovers: c.handovers as i64,
                answered: c.answered as i64,
                answered_within_target: c.answered_within_target as i64,
                answered_or_due: c.answered_or_due as i64,
                within_target_share: c.within_target_share(),
                median_response_hours: c.median_response_hours,
                p90_response_hours: c.p90_response_hours,
                overdue: c.overdue as i64,
                accepted: c.accepted as i64,
                touched: c.touched as i64,
                touched_within_target: c.touched_within_target as i64,
                first_touch_share: share(c.touched_within_target, c.accepted),
                median_first_touch_hours: c.median_first_touch_hours,
                p90_first_touch_hours: c.p90_first_touch_hours,
            })
            .collect();
        Ok(ComplianceReport {
            from: input.from,
            to: input.to,
            response_target_hours: targets.response_hours,
            first_touch_target_hours: targets.first_touch_hours,
            groups,
        })
    }

    /// Why leads came back in a period, per reason and group. API keys need `KPIS_READ`.
    async fn hand_back_reasons(
        &self,
        ctx: &Context<'_>,
        input: HandBackReasonsInput,
    ) -> Result<Vec<HandBackReasonCount>> {
        let counts =
            reports::hand_back_reasons(db(ctx), actor(ctx)?, input.from, input.to, input.group_by.into()).await?;
        Ok(counts
            .into_iter()
            .map(|c| HandBackReasonCount {
                group: c.group,
                reason: c.reason,
                label: c.label,
                count: c.count as i64,
                share: c.share,
            })
            .collect())
    }
}

/// A lead to hand to sales.
#[derive(InputObject)]
pub struct HandOverLeadInput {
    /// The lead; it must be an MQL without a pending handover.
    pub lead_id: ID,
    /// The salesperson who must answer (an active SALES member).
    pub to_user_id: ID,
    /// Context for sales.
    pub note: Option<String>,
}

/// Accepts a handover.
#[derive(InputObject)]
pub struct AcceptHandoverInput {
    /// The handover.
    pub handover_id: ID,
    /// A note with the answer.
    pub note: Option<String>,
}

/// Hands a lead back to marketing.
#[derive(InputObject)]
pub struct RejectHandoverInput {
    /// The handover.
    pub handover_id: ID,
    /// Why: a code or synonym of the HAND_BACK_REASONS list in force (`taxonomyInForce`),
    /// at most 64 characters; stored as the entry's code. Anything else is BAD_USER_INPUT
    /// naming the codes.
    pub reason: String,
    /// Details (at most 10,000 characters); required when the reason's entry `needsNote` (such as OTHER).
    pub note: Option<String>,
}

/// The result of a handover mutation.
#[derive(SimpleObject)]
pub struct HandoverPayload {
    /// The handover as stored after the change.
    pub handover: Handover,
}

#[derive(Default)]
pub struct HandoverMutation;

#[Object]
impl HandoverMutation {
    /// Hand an MQL to a salesperson; the answer is due after the agreed response time.
    async fn hand_over_lead(&self, ctx: &Context<'_>, input: HandOverLeadInput) -> Result<HandoverPayload> {
        let lead_id = parse_id("leadId", &input.lead_id)?;
        let to_user_id = parse_id("toUserId", &input.to_user_id)?;
        let handover = super::hand_over(db(ctx), actor(ctx)?, lead_id, to_user_id, input.note).await?;
        Ok(HandoverPayload { handover: handover.into() })
    }

    /// Accept a handover: the lead becomes SAL and the assignee its owner. The assignee or a SALES manager.
    async fn accept_handover(&self, ctx: &Context<'_>, input: AcceptHandoverInput) -> Result<HandoverPayload> {
        let id = parse_id("handoverId", &input.handover_id)?;
        let handover = super::answer(db(ctx), actor(ctx)?, id, Answer::Accept { note: input.note }).await?;
        Ok(HandoverPayload { handover: handover.into() })
    }

    /// Hand a lead back with a reason: it becomes RECYCLED, with its marketing owner for nurture.
    async fn reject_handover(&self, ctx: &Context<'_>, input: RejectHandoverInput) -> Result<HandoverPayload> {
        let id = parse_id("handoverId", &input.handover_id)?;
        let answer = Answer::HandBack { reason: input.reason, note: input.note };
        let handover = super::answer(db(ctx), actor(ctx)?, id, answer).await?;
        Ok(HandoverPayload { handover: handover.into() })
    }
}

/// The outbox kinds `myQueue` delivers, by [`QueueEventKind`].
const QUEUE_KINDS: &[&str] =
    &["handover.created", "handover.accepted", "handover.handedBack", "handover.cancelled", "handover.overdue"];

/// What happened to a handover in your queue.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueEventKind {
    /// A lead was handed over to you: it joined your queue.
    Created,
    /// The handover was accepted (it left your queue).
    Accepted,
    /// The handover was handed back to marketing (it left your queue).
    HandedBack,
    /// The lead left MQL another way before anyone answered (it left your queue).
    Cancelled,
    /// The handover passed its due time unanswered.
    Overdue,
}

impl QueueEventKind {
    fn of(kind: &str) -> Option<Self> {
        match kind {
            "handover.created" => Some(Self::Created),
            "handover.accepted" => Some(Self::Accepted),
            "handover.handedBack" => Some(Self::HandedBack),
            "handover.cancelled" => Some(Self::Cancelled),
            "handover.overdue" => Some(Self::Overdue),
            _ => None,
        }
    }
}

/// A change to your queue.
#[derive(SimpleObject)]
pub struct QueueEvent {
    /// Id of the event; the same event delivered twice (after a reconnect) has the same id.
    pub id: ID,
    /// What happened.
    pub kind: QueueEventKind,
    /// When (UTC).
    pub occurred_at: DateTime<Utc>,
    /// The handover as it is now.
    pub handover: Handover,
}

/// What an SLA alert is about.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaAlertKind {
    /// A handover passed its due time unanswered: the response SLA is being missed.
    HandoverOverdue,
    /// An agreed SLA's period ended with its target missed (`sla`, `periodStart`,
    /// `periodEnd`, `value`, `target`); found within minutes of the period's end.
    PeriodBreached,
}

/// Which SLA alerts to receive; every condition given must hold.
#[derive(InputObject, Default)]
pub struct SlaAlertFilter {
    /// Only handovers assigned to this user (HANDOVER_OVERDUE; PERIOD_BREACHED alerts,
    /// which concern a team, are not filtered by it).
    pub assignee_id: Option<ID>,
    /// Only these kinds of alert.
    pub kinds: Option<Vec<SlaAlertKind>>,
}

/// An agreed service level being missed.
#[derive(SimpleObject)]
pub struct SlaAlert {
    /// Id of the event; the same event delivered twice (after a reconnect) has the same id.
    pub id: ID,
    /// What is being missed.
    pub kind: SlaAlertKind,
    /// When it was found (UTC).
    pub occurred_at: DateTime<Utc>,
    /// HANDOVER_OVERDUE: the handover, as it is now.
    pub handover: Option<Handover>,
    /// PERIOD_BREACHED: the SLA whose target was missed, as it is now.
    pub sla: Option<crate::agreements::graphql::Sla>,
    /// PERIOD_BREACHED: the number of the SLA version that judged the period (the one in force when it began).
    pub sla_version: Option<i32>,
    /// PERIOD_BREACHED: the period's first instant (local midnight of its first day, UTC).
    pub period_start: Option<DateTime<Utc>>,
    /// PERIOD_BREACHED: the instant after the period's last day.
    pub period_end: Option<DateTime<Utc>>,
    /// PERIOD_BREACHED: what was measured, in the SLA's unit (hours, days, leads, …).
    pub value: Option<f64>,
    /// PERIOD_BREACHED: the target that was missed (a ceiling for times, a floor for volumes).
    pub target: Option<f64>,
}

/// Live changes to handovers.
#[derive(Default)]
pub struct HandoverSubscription;

#[async_graphql::Subscription]
impl HandoverSubscription {
    /// Changes to your queue as they commit: a lead handed over to you, a handover of
    /// yours answered, cancelled or overdue. Users only (an API key has no queue).
    async fn my_queue(
        &self,
        ctx: &Context<'_>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<QueueEvent>>> {
        let Some(me) = actor(ctx)?.user_id() else {
            return Err(crate::error::ApiError::forbidden("only users have a queue"));
        };
        live::subscribe(
            ctx,
            |kind| QUEUE_KINDS.contains(&kind),
            std::sync::Arc::new(move |Delivery { db, actor }, event| {
                async move {
                    let (Some(kind), Some(id)) = (QueueEventKind::of(&event.kind), event.entity_id) else {
                        return Ok(None);
                    };
                    let Some(handover) = shared_read(&db, &actor, event.id, id).await? else { return Ok(None) };
                    Ok((handover.to_user_id == me).then(|| QueueEvent {
                        id: event.id.into(),
                        kind,
                        occurred_at: event.at,
                        handover: handover.into(),
                    }))
                }
                .boxed()
            }),
        )
    }

    /// Agreed service levels being missed, as found: a handover past its due time
    /// unanswered, or an SLA period that ended with its target missed. API keys need
    /// `LEADS_READ` (and `EVENTS_READ`), and `KPIS_READ` for PERIOD_BREACHED alerts.
    async fn sla_alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<SlaAlertFilter>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<SlaAlert>>> {
        use crate::auth::permissions::{Scope, can_read, require};
        require(can_read(actor(ctx)?, Scope::LeadsRead), "read handovers")?;
        let filter = filter.unwrap_or_default();
        let assignee = filter.assignee_id.map(|id| parse_id("filter.assigneeId", &id)).transpose()?;
        let kinds = live::distinct(filter.kinds);
        live::subscribe(
            ctx,
            |kind| kind == "handover.overdue" || kind == "sla.periodBreached",
            std::sync::Arc::new(move |Delivery { db, actor }, event| {
                let kinds = kinds.clone();
                async move {
                    let Some(id) = event.entity_id else { return Ok(None) };
                    let kind = if event.kind == "sla.periodBreached" {
                        SlaAlertKind::PeriodBreached
                    } else {
                        SlaAlertKind::HandoverOverdue
                    };
                    if kinds.is_some_and(|kinds| !kinds.contains(&kind)) {
                        return Ok(None);
                    }
                    let alert = SlaAlert {
                        id: event.id.into(),
                        kind,
                        occurred_at: event.at,
                        handover: None,
                        sla: None,
                        sla_version: None,
                        period_start: None,
                        period_end: None,
                        value: None,
                        target: None,
                    };
                    if kind == SlaAlertKind::PeriodBreached {
                        require(can_read(&actor, Scope::KpisRead), "read SLA compliance")?;
                        let sla = crate::agreements::get::<crate::agreements::slas::SlaBody>(&db, &actor, id).await?;
                        return Ok(Some(SlaAlert {
                            sla: Some(crate::agreements::graphql::Sla(sla)),
                            sla_version: live::payload(&event, "slaVersion"),
                            period_start: live::payload(&event, "periodStart"),
                            period_end: live::payload(&event, "periodEnd"),
                            value: live::payload(&event, "value"),
                            target: live::payload(&event, "target"),
                            ..alert
                        }));
                    }
                    let Some(handover) = shared_read(&db, &actor, event.id, id).await? else { return Ok(None) };
                    if assignee.is_some_and(|a| a != handover.to_user_id) {
                        return Ok(None);
                    }
                    Ok(Some(SlaAlert { handover: Some(handover.into()), ..alert }))
                }
                .boxed()
            }),
        )
    }
}

/// The handover `id` of outbox event `event`, read once for every subscriber of this
/// process (each subscriber's permission checked first).
async fn shared_read(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::auth::Actor,
    event: Uuid,
    id: Uuid,
) -> Result<Option<entity::handover::Model>> {
    use crate::auth::permissions::{Scope, can_read, require};
    static READ: std::sync::LazyLock<live::Memo<entity::handover::Model>> = std::sync::LazyLock::new(live::Memo::new);
    require(can_read(actor, Scope::LeadsRead), "read handovers")?;
    READ.get_or_load(event, async { live::found(super::get(db, actor, id).await) }).await
}
