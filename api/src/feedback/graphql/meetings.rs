//! Review meetings of sales and marketing and the action items they decide.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::connection;
use crate::error::Result;
use crate::feedback::meetings::{self, ItemPatch};
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::org::graphql::User;

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

    /// The numbers when the meeting started: handoverCompliance, leadsByStage,
    /// handBackReasons, feedbackThemes (top 5) and contentUsage.
    async fn kpi_snapshot(&self) -> Json<Value> {
        Json(self.0.kpi_snapshot.clone())
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
        Ok(ReviewMeetingConnection::from_page(page, |m| encode_cursor(REVIEW_MEETINGS, org, &m.id), ReviewMeeting))
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
