//! Review meetings of sales and marketing and the action items they decide.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::catalogue::{KpiGroupBy, KpiMetric, from_name};
use crate::connection;
use crate::error::Result;
use crate::feedback::meetings::{self, ItemPatch};
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::kpi::graphql::{KpiPoint, KpiSeries};
use crate::leads::graphql::LifecycleStage;
use crate::org::graphql::User;

/// The numbers of a meeting's review period, as they were when it started.
pub struct ReviewSnapshot {
    kpis: Vec<KpiSeries>,
    stage_entries: Vec<ReviewStageEntries>,
    handovers: Option<StoredHandovers>,
    response_target_hours: Option<f64>,
    hand_back_reasons: Vec<ReviewReasonCount>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredHandovers {
    handovers: i64,
    answered: i64,
    answered_within_target: i64,
    overdue: i64,
    accepted: i64,
    median_response_hours: Option<f64>,
    p90_response_hours: Option<f64>,
}

/// Leads that entered one lifecycle stage during the review period.
#[derive(SimpleObject)]
pub struct ReviewStageEntries {
    /// The stage.
    pub stage: LifecycleStage,
    /// Entries into it during the period (a lead entering twice counts twice; archived leads left out).
    pub count: i64,
}

/// Handovers made during the review period and how they were answered.
#[derive(SimpleObject)]
pub struct ReviewHandovers {
    /// Handovers made in the period (cancelled ones left out).
    pub handovers: i64,
    /// Of those, answered (accepted or handed back).
    pub answered: i64,
    /// Of those, answered within the response target.
    pub answered_within_target: i64,
    /// Of those, past due without an answer when the meeting started.
    pub overdue: i64,
    /// Of those, accepted.
    pub accepted: i64,
    /// Median hours to an answer; null without answers.
    pub median_response_hours: Option<f64>,
    /// 90th percentile of hours to an answer; null without answers.
    pub p90_response_hours: Option<f64>,
    /// The response target in hours (the agreed SLA, else the organization's setting).
    pub response_target_hours: Option<f64>,
}

/// How often sales handed leads back for one reason during the review period.
#[derive(SimpleObject, Deserialize)]
pub struct ReviewReasonCount {
    /// The reason's code (HAND_BACK_REASONS).
    pub reason: String,
    /// Hand-backs with it.
    pub count: i64,
    /// Its share of the period's hand-backs (0–1).
    pub share: f64,
}

impl ReviewSnapshot {
    fn read(meeting: &entity::review_meeting::Model) -> Option<Self> {
        let stored = &meeting.kpi_snapshot;
        let figures: Vec<meetings::SnapshotFigure> = serde_json::from_value(stored.get("kpis")?.clone()).ok()?;
        let kpis = figures
            .into_iter()
            .filter_map(|f| {
                let metric: KpiMetric = from_name(&f.metric)?;
                let point = KpiPoint {
                    period_start: meeting.period_start,
                    period_end: meeting.period_end,
                    value: f.value,
                    numerator: f.numerator,
                    denominator: f.denominator,
                };
                Some(KpiSeries {
                    metric,
                    unit: metric.unit(),
                    currency: f.currency,
                    group_by: KpiGroupBy::None,
                    group_key: None,
                    group_label: None,
                    stage: None,
                    points: vec![point],
                })
            })
            .collect();
        let entries: Vec<meetings::StageEntries> =
            serde_json::from_value(stored.get("stageEntries").cloned().unwrap_or_default()).unwrap_or_default();
        let stage_entries =
            entries.into_iter().map(|e| ReviewStageEntries { stage: e.stage.into(), count: e.count }).collect();
        let handovers = stored.get("handoverCompliance").cloned().and_then(|h| serde_json::from_value(h).ok());
        let response_target_hours = stored.get("responseTargetHours").and_then(Value::as_f64);
        let hand_back_reasons =
            serde_json::from_value(stored.get("handBackReasons").cloned().unwrap_or_default()).unwrap_or_default();
        Some(Self { kpis, stage_entries, handovers, response_target_hours, hand_back_reasons })
    }
}

/// The numbers of a meeting's review period (its first to last day, in the
/// organization's time zone), as they were when the meeting started.
#[Object]
impl ReviewSnapshot {
    /// The period's KPIs, one series per metric with one point for the whole period:
    /// the same figures `kpis` gives for that period, by the same definitions.
    async fn kpis(&self) -> &[KpiSeries] {
        &self.kpis
    }

    /// Leads that entered each lifecycle stage during the period, in funnel order (stages nobody entered left out).
    async fn stage_entries(&self) -> &[ReviewStageEntries] {
        &self.stage_entries
    }

    /// Handovers made during the period; null when none were.
    async fn handover_compliance(&self) -> Option<ReviewHandovers> {
        self.handovers.as_ref().map(|h| ReviewHandovers {
            handovers: h.handovers,
            answered: h.answered,
            answered_within_target: h.answered_within_target,
            overdue: h.overdue,
            accepted: h.accepted,
            median_response_hours: h.median_response_hours,
            p90_response_hours: h.p90_response_hours,
            response_target_hours: self.response_target_hours,
        })
    }

    /// Why leads were handed back during the period, most frequent first.
    async fn hand_back_reasons(&self) -> &[ReviewReasonCount] {
        &self.hand_back_reasons
    }
}

/// Where an action item stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::action_item::ActionItemStatus")]
pub enum ActionItemStatus {
    /// To do.
    Open,
    /// Done.
    Done,
    /// No longer needed.
    Cancelled,
}

/// A sales-and-marketing review of a period, with the numbers at its start.
#[derive(Clone)]
pub struct ReviewMeeting(pub entity::review_meeting::Model);

/// A sales-and-marketing review of a period, with the numbers at its start.
#[Object]
impl ReviewMeeting {
    /// Stable id of the meeting.
    pub(crate) async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The day it was held.
    async fn held_on(&self) -> NaiveDate {
        self.0.held_on
    }

    /// First day of the period reviewed.
    async fn period_start(&self) -> NaiveDate {
        self.0.period_start
    }

    /// Last day of the period reviewed (inclusive).
    async fn period_end(&self) -> NaiveDate {
        self.0.period_end
    }

    /// The numbers when the meeting started, as stored JSON: kpis, stageEntries,
    /// handoverCompliance, handBackReasons, feedbackThemes (top 5), contentUsage and
    /// scorecard. Prefer the typed `snapshot`; meetings started before it existed hold
    /// `leadsByStage` (lead totals at the start, not the period) instead of `kpis` and
    /// `stageEntries`.
    async fn kpi_snapshot(&self) -> Json<Value> {
        Json(self.0.kpi_snapshot.clone())
    }

    /// The numbers of the review period when the meeting started, typed; null for
    /// meetings started before typed snapshots (read `kpiSnapshot` for those).
    async fn snapshot(&self) -> Option<ReviewSnapshot> {
        ReviewSnapshot::read(&self.0)
    }

    /// The notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// Who started it; null if that user is gone.
    async fn started_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.started_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// What was decided, oldest first.
    async fn action_items(&self, ctx: &Context<'_>) -> Result<Vec<ActionItem>> {
        let rows = loaders(ctx)?.meeting_action_items.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(ActionItem).collect())
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was started (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

connection!(ReviewMeetingConnection, ReviewMeetingEdge, ReviewMeeting, "review meetings");

const REVIEW_MEETINGS: &str = "reviewMeetings";

/// Something a review meeting decided someone does, by when.
#[derive(Clone)]
pub struct ActionItem(pub entity::action_item::Model);

/// Something a review meeting decided someone does, by when.
#[Object]
impl ActionItem {
    /// Stable id of the item.
    pub(crate) async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Id of the meeting it came from.
    async fn meeting_id(&self) -> ID {
        self.0.meeting_id.into()
    }

    /// What is to be done.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Who does it; null for nobody yet.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// By when; null for no date.
    async fn due_on(&self) -> Option<NaiveDate> {
        self.0.due_on
    }

    /// Where it stands.
    async fn status(&self) -> ActionItemStatus {
        self.0.status.into()
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was added (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Starts a review meeting.
#[derive(InputObject)]
pub struct StartReviewMeetingInput {
    /// First day of the period to review.
    pub period_start: NaiveDate,
    /// Last day of the period to review (inclusive).
    pub period_end: NaiveDate,
}

/// Writes up a review meeting: its period, KPI snapshot and action items stay as they are.
#[derive(InputObject)]
pub struct UpdateReviewMeetingInput {
    /// The meeting.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// The notes, replacing the old ones. Left out: unchanged. null (or empty): cleared.
    pub notes: MaybeUndefined<String>,
}

/// The result of starting or writing up a review meeting.
#[derive(SimpleObject)]
pub struct ReviewMeetingPayload {
    /// The meeting after the change.
    pub review_meeting: ReviewMeeting,
}

/// Adds an action item to a review meeting.
#[derive(InputObject)]
pub struct AddActionItemInput {
    /// The meeting.
    pub meeting_id: ID,
    /// What is to be done.
    pub title: String,
    /// Who does it.
    pub owner_id: Option<ID>,
    /// By when.
    pub due_on: Option<NaiveDate>,
}

/// Changes an action item: a field left out stays as it is; null clears the owner or
/// the due date and is BAD_USER_INPUT for the title and the status.
#[derive(InputObject)]
pub struct UpdateActionItemInput {
    /// The item.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New title. Left out: unchanged. null is refused.
    pub title: MaybeUndefined<String>,
    /// New owner, an active user. Left out: unchanged. null: cleared (nobody yet).
    pub owner_id: MaybeUndefined<ID>,
    /// New due date. Left out: unchanged. null: cleared.
    pub due_on: MaybeUndefined<NaiveDate>,
    /// New status. Left out: unchanged. null is refused.
    pub status: MaybeUndefined<ActionItemStatus>,
}

/// The result of adding or changing an action item.
#[derive(SimpleObject)]
pub struct ActionItemPayload {
    /// The item after the change.
    pub action_item: ActionItem,
}

#[derive(Default)]
pub struct MeetingQuery;

#[Object]
impl MeetingQuery {
    /// Review meetings, newest first.
    async fn review_meetings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return at most this many meetings (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return meetings after this cursor.")] after: Option<String>,
    ) -> Result<ReviewMeetingConnection> {
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, None, None).window(REVIEW_MEETINGS, org)?;
        let page = meetings::list(db(ctx), actor(ctx)?, &window, selects(ctx, "totalCount")).await?;
        Ok(ReviewMeetingConnection::from_page(ctx, page, |m| encode_cursor(REVIEW_MEETINGS, org, &m.id), ReviewMeeting))
    }

    /// One review meeting; null with NOT_FOUND when absent or of another organization.
    async fn review_meeting(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ReviewMeeting>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ReviewMeeting(meetings::get(db(ctx), actor(ctx)?, id).await?)))
    }

    /// Your action items: OPEN first, soonest due first.
    async fn my_action_items(&self, ctx: &Context<'_>) -> Result<Vec<ActionItem>> {
        Ok(meetings::my_items(db(ctx), actor(ctx)?).await?.into_iter().map(ActionItem).collect())
    }
}

#[derive(Default)]
pub struct MeetingMutation;

#[Object]
impl MeetingMutation {
    /// Start a review meeting with a snapshot of the period's numbers. MANAGERs and ADMINs.
    async fn start_review_meeting(
        &self,
        ctx: &Context<'_>,
        input: StartReviewMeetingInput,
    ) -> Result<ReviewMeetingPayload> {
        let meeting = meetings::start(db(ctx), actor(ctx)?, input.period_start, input.period_end).await?;
        Ok(ReviewMeetingPayload { review_meeting: ReviewMeeting(meeting) })
    }

    /// Write up a review meeting's notes. MANAGERs and ADMINs.
    async fn update_review_meeting(
        &self,
        ctx: &Context<'_>,
        input: UpdateReviewMeetingInput,
    ) -> Result<ReviewMeetingPayload> {
        let id = parse_id("id", &input.id)?;
        let meeting =
            meetings::update(db(ctx), actor(ctx)?, id, clearable(input.notes), input.expected_version).await?;
        Ok(ReviewMeetingPayload { review_meeting: ReviewMeeting(meeting) })
    }

    /// Add an action item to a review meeting. MANAGERs and ADMINs.
    async fn add_action_item(&self, ctx: &Context<'_>, input: AddActionItemInput) -> Result<ActionItemPayload> {
        let meeting_id = parse_id("meetingId", &input.meeting_id)?;
        let owner = optional_id("ownerId", input.owner_id.as_ref())?;
        let item = meetings::add_item(db(ctx), actor(ctx)?, meeting_id, &input.title, owner, input.due_on).await?;
        Ok(ActionItemPayload { action_item: ActionItem(item) })
    }

    /// Change an action item: MANAGERs, ADMINs, or its owner.
    async fn update_action_item(&self, ctx: &Context<'_>, input: UpdateActionItemInput) -> Result<ActionItemPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = ItemPatch {
            expected_version: input.expected_version,
            title: keep_or_set("title", input.title)?,
            owner_id: clearable_id("ownerId", input.owner_id)?,
            due_on: clearable(input.due_on),
            status: keep_or_set("status", input.status)?.map(Into::into),
        };
        Ok(ActionItemPayload { action_item: ActionItem(meetings::update_item(db(ctx), actor(ctx)?, id, patch).await?) })
    }
}
