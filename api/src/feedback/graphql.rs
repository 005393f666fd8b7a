//! GraphQL types and resolvers of feedback, endorsements, themes, review meetings
//! and action items.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::meetings::{self, ItemPatch};
use super::{FeedbackCriteria, NewFeedback, Signal, Theme, Thresholds};
use crate::connection;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::leads::graphql::Account;
use crate::org::graphql::{Team, User};

/// What a piece of feedback is about.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::feedback::FeedbackSubject")]
pub enum FeedbackSubject {
    /// A lead (answered by SALES).
    Lead,
    /// A message (answered by MARKETING).
    Message,
    /// A content asset (answered by MARKETING).
    ContentAsset,
    /// A persona (answered by MARKETING).
    Persona,
    /// An ideal customer profile (answered by MARKETING).
    Icp,
    /// Lead scoring as a whole (answered by MARKETING); give no `subjectId`.
    ScoringModel,
    /// An SLA (answered by its provider team).
    Sla,
    /// A definition of the glossary (answered by MARKETING).
    Definition,
    /// Nothing in particular (answered by any MANAGER); give no `subjectId`.
    General,
}

/// How the author feels about the subject.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::feedback::Sentiment")]
pub enum Sentiment {
    /// It works.
    Positive,
    /// An observation.
    Neutral,
    /// It does not work.
    Negative,
}

/// Where a piece of feedback stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::feedback::FeedbackStatus")]
pub enum FeedbackStatus {
    /// Just given.
    New,
    /// The owning team is looking at it.
    UnderReview,
    /// The owning team will act on it.
    Accepted,
    /// The owning team will not act on it (the response says why).
    Declined,
    /// Acted on.
    Done,
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

/// Who and what is behind a piece of feedback (or a theme): signal, not volume.
#[derive(SimpleObject, Clone)]
pub struct FeedbackSignal {
    /// Distinct people: the author(s) and the endorsers.
    pub distinct_reporters: i32,
    /// Distinct teams of those people.
    pub distinct_teams: i32,
    /// Distinct customer accounts named by the feedback and its endorsements.
    pub distinct_accounts: i32,
    /// Number of endorsements.
    pub endorsements: i32,
    /// True once the organization's thresholds are reached (distinct people, or distinct accounts).
    pub actionable: bool,
}

impl From<Signal> for FeedbackSignal {
    fn from(s: Signal) -> Self {
        Self {
            distinct_reporters: s.reporters as i32,
            distinct_teams: s.teams as i32,
            distinct_accounts: s.accounts as i32,
            endorsements: s.endorsements as i32,
            actionable: s.actionable,
        }
    }
}

/// Someone backing a piece of feedback.
#[derive(Clone)]
pub struct FeedbackEndorsement(pub entity::feedback_endorsement::Model);

/// Someone backing a piece of feedback.
#[Object]
impl FeedbackEndorsement {
    /// Stable id of the endorsement.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Who endorsed it; null if that user is gone.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User::from))
    }

    /// The endorser's team at the time.
    async fn team(&self) -> Team {
        self.0.team.into()
    }

    /// The customer account the endorser heard it from; null for none.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let Some(id) = self.0.account_id else { return Ok(None) };
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// What the endorser adds.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// When it was endorsed (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A piece of feedback from one team to another, with its signal and response.
#[derive(Clone)]
pub struct Feedback {
    pub model: entity::feedback::Model,
    pub thresholds: Thresholds,
}

/// A piece of feedback from one team to another, with its signal and response.
#[Object]
impl Feedback {
    /// Stable id of the feedback.
    async fn id(&self) -> ID {
        self.model.id.into()
    }

    /// Who gave it; null if that user is gone.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.model.author_id).await?.map(User::from))
    }

    /// The author's team at the time.
    async fn author_team(&self) -> Team {
        self.model.author_team.into()
    }

    /// What it is about.
    async fn subject_type(&self) -> FeedbackSubject {
        self.model.subject_type.into()
    }

    /// Id of the subject; null for GENERAL feedback.
    async fn subject_id(&self) -> Option<ID> {
        self.model.subject_id.map(Into::into)
    }

    /// Short lower-cased tag, such as `pricing`; themes group by it.
    async fn tag(&self) -> &str {
        &self.model.tag
    }

    /// How the author feels about the subject.
    async fn sentiment(&self) -> Sentiment {
        self.model.sentiment.into()
    }

    /// The feedback itself.
    async fn body(&self) -> &str {
        &self.model.body
    }

    /// The customer account it comes from; null for none.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let Some(id) = self.model.account_id else { return Ok(None) };
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// Where it stands.
    async fn status(&self) -> FeedbackStatus {
        self.model.status.into()
    }

    /// The owning team's response; null until one is given.
    async fn response(&self) -> Option<&str> {
        self.model.response.as_deref()
    }

    /// Who responded; null until someone did.
    async fn responded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.model.responded_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// When the response was given (UTC).
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.model.responded_at
    }

    /// Who backs it, oldest first.
    async fn endorsements(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FeedbackEndorsement>> {
        let rows = loaders(ctx)?.feedback_endorsements.load_one(self.model.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(FeedbackEndorsement).collect())
    }

    /// Distinct reporters, teams and accounts behind it, and whether it is actionable.
    async fn signal(&self, ctx: &Context<'_>) -> async_graphql::Result<FeedbackSignal> {
        let rows = loaders(ctx)?.feedback_endorsements.load_one(self.model.id).await?.unwrap_or_default();
        Ok(super::signal([&self.model], &rows, self.thresholds).into())
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when changing the status.
    async fn version(&self) -> i32 {
        self.model.version
    }

    /// When it was given (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

connection!(FeedbackConnection, FeedbackEdge, Feedback, "feedback items");

const FEEDBACK: &str = "feedback";

/// Feedback on one subject and tag, with the combined signal of every item.
pub struct FeedbackTheme {
    theme: Theme,
    thresholds: Thresholds,
}

/// Feedback on one subject and tag, with the combined signal of every item.
#[Object]
impl FeedbackTheme {
    /// What the feedback is about.
    async fn subject_type(&self) -> FeedbackSubject {
        self.theme.subject_type.into()
    }

    /// Id of the subject; null for GENERAL feedback.
    async fn subject_id(&self) -> Option<ID> {
        self.theme.subject_id.map(Into::into)
    }

    /// The tag.
    async fn tag(&self) -> &str {
        &self.theme.tag
    }

    /// Number of feedback items.
    async fn feedback_count(&self) -> i32 {
        self.theme.items.len() as i32
    }

    /// Items with NEGATIVE sentiment.
    async fn negative_count(&self) -> i32 {
        self.theme.negative as i32
    }

    /// The combined signal of every item and endorsement.
    async fn signal(&self) -> FeedbackSignal {
        self.theme.signal.clone().into()
    }

    /// The items, oldest first.
    async fn feedback(&self) -> Vec<Feedback> {
        self.theme.items.iter().cloned().map(|model| Feedback { model, thresholds: self.thresholds }).collect()
    }
}

/// A period of time.
#[derive(InputObject)]
pub struct FeedbackPeriodInput {
    /// Start (inclusive, UTC).
    pub from: DateTime<Utc>,
    /// End (exclusive, UTC).
    pub to: DateTime<Utc>,
}

/// Narrows the feedback list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct FeedbackFilter {
    /// Only feedback in this status.
    pub status: Option<FeedbackStatus>,
    /// Only feedback about this kind of subject.
    pub subject_type: Option<FeedbackSubject>,
    /// Only feedback about this subject.
    pub subject_id: Option<ID>,
    /// Only feedback with this tag (case-insensitive).
    pub tag: Option<String>,
    /// Only feedback with this sentiment.
    pub sentiment: Option<Sentiment>,
    /// Only feedback by this author.
    pub author_id: Option<ID>,
}

/// Feedback to give.
#[derive(InputObject)]
pub struct SubmitFeedbackInput {
    /// What it is about.
    pub subject_type: FeedbackSubject,
    /// The subject, which must exist in your organization; omit for GENERAL and SCORING_MODEL.
    pub subject_id: Option<ID>,
    /// Short tag, such as `pricing` (lower-cased).
    pub tag: String,
    /// How you feel about the subject.
    pub sentiment: Sentiment,
    /// The feedback itself.
    pub body: String,
    /// The customer account it comes from.
    pub account_id: Option<ID>,
}

/// Backs someone else's feedback.
#[derive(InputObject)]
pub struct EndorseFeedbackInput {
    /// The feedback to back.
    pub feedback_id: ID,
    /// The customer account you heard it from.
    pub account_id: Option<ID>,
    /// What you add.
    pub comment: Option<String>,
}

/// Moves feedback along its workflow.
#[derive(InputObject)]
pub struct SetFeedbackStatusInput {
    /// The feedback.
    pub feedback_id: ID,
    /// The new status: NEW → UNDER_REVIEW → ACCEPTED | DECLINED; ACCEPTED → DONE.
    pub status: FeedbackStatus,
    /// The response to the author and endorsers; required when declining.
    pub response: Option<String>,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// The result of giving feedback or changing its status.
#[derive(SimpleObject)]
pub struct FeedbackPayload {
    /// The feedback after the change.
    pub feedback: Feedback,
}

/// The result of endorsing feedback.
#[derive(SimpleObject)]
pub struct EndorseFeedbackPayload {
    /// The endorsed feedback.
    pub feedback: Feedback,
    /// The endorsement.
    pub endorsement: FeedbackEndorsement,
}

/// A sales-and-marketing review of a period, with the numbers at its start.
#[derive(Clone)]
pub struct ReviewMeeting(pub entity::review_meeting::Model);

/// A sales-and-marketing review of a period, with the numbers at its start.
#[Object]
impl ReviewMeeting {
    /// Stable id of the meeting.
    async fn id(&self) -> ID {
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
    async fn started_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.started_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// What was decided, oldest first.
    async fn action_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ActionItem>> {
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
    async fn id(&self) -> ID {
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
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
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

async fn wrap(ctx: &Context<'_>, model: entity::feedback::Model) -> async_graphql::Result<Feedback> {
    let thresholds = super::thresholds(db(ctx), model.org_id).await?;
    Ok(Feedback { model, thresholds })
}

#[derive(Default)]
pub struct FeedbackQuery;

#[Object]
impl FeedbackQuery {
    /// Feedback, newest first.
    async fn feedback(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackFilter>,
        #[graphql(desc = "Return at most this many items (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<FeedbackConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, None, None).window(FEEDBACK, org)?;
        let filter = filter.unwrap_or_default();
        let criteria = FeedbackCriteria {
            status: filter.status.map(Into::into),
            subject_type: filter.subject_type.map(Into::into),
            subject_id: optional_id("subjectId", filter.subject_id.as_ref())?,
            tag: filter.tag,
            sentiment: filter.sentiment.map(Into::into),
            author_id: optional_id("authorId", filter.author_id.as_ref())?,
        };
        let page = super::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        let thresholds = super::thresholds(db(ctx), actor.org_id).await?;
        Ok(FeedbackConnection::from_page(
            page,
            |f| encode_cursor(FEEDBACK, org, &f.id),
            |model| Feedback { model, thresholds },
        ))
    }

    /// One piece of feedback; null with NOT_FOUND when absent or of another organization.
    async fn feedback_item(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Feedback>> {
        let id = parse_id("id", &id)?;
        let model = super::get(db(ctx), actor(ctx)?, id).await?;
        Ok(Some(wrap(ctx, model).await?))
    }

    /// Feedback given in the period, grouped by subject and tag with the combined
    /// signal; most actionable first.
    async fn feedback_themes(
        &self,
        ctx: &Context<'_>,
        input: FeedbackPeriodInput,
    ) -> async_graphql::Result<Vec<FeedbackTheme>> {
        let actor = actor(ctx)?;
        let themes = super::themes(db(ctx), actor, input.from, input.to).await?;
        let thresholds = super::thresholds(db(ctx), actor.org_id).await?;
        Ok(themes.into_iter().map(|theme| FeedbackTheme { theme, thresholds }).collect())
    }

    /// Your own feedback, newest first, with the responses.
    async fn my_feedback(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Feedback>> {
        let actor = actor(ctx)?;
        let thresholds = super::thresholds(db(ctx), actor.org_id).await?;
        let mine = super::mine(db(ctx), actor).await?;
        Ok(mine.into_iter().map(|model| Feedback { model, thresholds }).collect())
    }

    /// Review meetings, newest first.
    async fn review_meetings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return at most this many meetings (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return meetings after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<ReviewMeetingConnection> {
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, None, None).window(REVIEW_MEETINGS, org)?;
        let page = meetings::list(db(ctx), actor(ctx)?, &window, selects(ctx, "totalCount")).await?;
        Ok(ReviewMeetingConnection::from_page(page, |m| encode_cursor(REVIEW_MEETINGS, org, &m.id), ReviewMeeting))
    }

    /// One review meeting; null with NOT_FOUND when absent or of another organization.
    async fn review_meeting(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<ReviewMeeting>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ReviewMeeting(meetings::get(db(ctx), actor(ctx)?, id).await?)))
    }

    /// Your action items: OPEN first, soonest due first.
    async fn my_action_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ActionItem>> {
        Ok(meetings::my_items(db(ctx), actor(ctx)?).await?.into_iter().map(ActionItem).collect())
    }
}

#[derive(Default)]
pub struct FeedbackMutation;

#[Object]
impl FeedbackMutation {
    /// Give feedback on a subject of your organization. Anyone but VIEWERs.
    async fn submit_feedback(
        &self,
        ctx: &Context<'_>,
        input: SubmitFeedbackInput,
    ) -> async_graphql::Result<FeedbackPayload> {
        let new = NewFeedback {
            subject_type: input.subject_type.into(),
            subject_id: optional_id("subjectId", input.subject_id.as_ref())?,
            tag: input.tag,
            sentiment: input.sentiment.into(),
            body: input.body,
            account_id: optional_id("accountId", input.account_id.as_ref())?,
        };
        let model = super::submit(db(ctx), actor(ctx)?, new).await?;
        Ok(FeedbackPayload { feedback: wrap(ctx, model).await? })
    }

    /// Back someone else's feedback, once per person. Authors cannot endorse their own.
    async fn endorse_feedback(
        &self,
        ctx: &Context<'_>,
        input: EndorseFeedbackInput,
    ) -> async_graphql::Result<EndorseFeedbackPayload> {
        let id = parse_id("feedbackId", &input.feedback_id)?;
        let account = optional_id("accountId", input.account_id.as_ref())?;
        let (model, endorsement) = super::endorse(db(ctx), actor(ctx)?, id, account, input.comment).await?;
        Ok(EndorseFeedbackPayload { feedback: wrap(ctx, model).await?, endorsement: FeedbackEndorsement(endorsement) })
    }

    /// Move feedback along its workflow: the subject's owning team (any MANAGER for
    /// GENERAL feedback) or an ADMIN. Declining needs a response. The author and
    /// endorsers are notified through the outbox.
    async fn set_feedback_status(
        &self,
        ctx: &Context<'_>,
        input: SetFeedbackStatusInput,
    ) -> async_graphql::Result<FeedbackPayload> {
        let id = parse_id("feedbackId", &input.feedback_id)?;
        let model =
            super::set_status(db(ctx), actor(ctx)?, id, input.status.into(), input.response, input.expected_version)
                .await?;
        Ok(FeedbackPayload { feedback: wrap(ctx, model).await? })
    }

    /// Start a review meeting with a snapshot of the period's numbers. MANAGERs and ADMINs.
    async fn start_review_meeting(
        &self,
        ctx: &Context<'_>,
        input: StartReviewMeetingInput,
    ) -> async_graphql::Result<ReviewMeetingPayload> {
        let meeting = meetings::start(db(ctx), actor(ctx)?, input.period_start, input.period_end).await?;
        Ok(ReviewMeetingPayload { review_meeting: ReviewMeeting(meeting) })
    }

    /// Write up a review meeting's notes. MANAGERs and ADMINs.
    async fn update_review_meeting(
        &self,
        ctx: &Context<'_>,
        input: UpdateReviewMeetingInput,
    ) -> async_graphql::Result<ReviewMeetingPayload> {
        let id = parse_id("id", &input.id)?;
        let meeting =
            meetings::update(db(ctx), actor(ctx)?, id, clearable(input.notes), input.expected_version).await?;
        Ok(ReviewMeetingPayload { review_meeting: ReviewMeeting(meeting) })
    }

    /// Add an action item to a review meeting. MANAGERs and ADMINs.
    async fn add_action_item(
        &self,
        ctx: &Context<'_>,
        input: AddActionItemInput,
    ) -> async_graphql::Result<ActionItemPayload> {
        let meeting_id = parse_id("meetingId", &input.meeting_id)?;
        let owner = optional_id("ownerId", input.owner_id.as_ref())?;
        let item = meetings::add_item(db(ctx), actor(ctx)?, meeting_id, &input.title, owner, input.due_on).await?;
        Ok(ActionItemPayload { action_item: ActionItem(item) })
    }

    /// Change an action item: MANAGERs, ADMINs, or its owner.
    async fn update_action_item(
        &self,
        ctx: &Context<'_>,
        input: UpdateActionItemInput,
    ) -> async_graphql::Result<ActionItemPayload> {
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
