//! GraphQL types and resolvers of feedback, endorsements and themes; review meetings
//! and action items are in `meetings`.

mod meetings;

pub use meetings::*;

use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{FeedbackCriteria, NewFeedback, Signal, Theme, Thresholds};
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::error::Result;
use crate::graphql::fields::Personal;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::optional_id;
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
    /// True once at least two distinct people are behind it and the organization's
    /// thresholds are reached (distinct people, or distinct accounts): one person alone
    /// never makes feedback actionable.
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
    pub(crate) async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Who endorsed it; null if that user is gone.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User::from))
    }

    /// The endorser's team at the time.
    async fn team(&self) -> Team {
        self.0.team.into()
    }

    /// The customer account the endorser heard it from; null for none.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = self.0.account_id else { return Ok(None) };
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// What the endorser adds. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `FeedbackEndorsement.comment` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::EndorsementComment)")]
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
    pub(crate) async fn id(&self) -> ID {
        self.model.id.into()
    }

    /// Who gave it; null if that user is gone.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
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

    /// The theme tag, such as `pricing`: the code of the agreed FEEDBACK_TAGS entry whose
    /// code or synonym the author wrote, else the tag as written. Themes group by it; it
    /// follows the list when a new version is agreed or the list is retired.
    async fn tag(&self) -> &str {
        &self.model.tag
    }

    /// The tag as the author wrote it, in normal form (lower-case, words joined by one
    /// hyphen), such as `pricing-too-high`.
    async fn written_tag(&self) -> &str {
        &self.model.written_tag
    }

    /// Whether the agreed FEEDBACK_TAGS list knows the written tag (false: unlisted, a
    /// candidate for the list); null while no tag list is agreed.
    async fn tag_listed(&self) -> Option<bool> {
        self.model.tag_listed
    }

    /// How the author feels about the subject.
    async fn sentiment(&self) -> Sentiment {
        self.model.sentiment.into()
    }

    /// The feedback itself; never null when it may be read. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Feedback.body` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::FeedbackBody)")]
    async fn body(&self) -> Option<&str> {
        Some(&self.model.body)
    }

    /// The customer account it comes from; null for none.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
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
    async fn responded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.model.responded_by else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// When the response was given (UTC).
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.model.responded_at
    }

    /// Who backs it, oldest first.
    async fn endorsements(&self, ctx: &Context<'_>) -> Result<Vec<FeedbackEndorsement>> {
        let rows = loaders(ctx)?.feedback_endorsements.load_one(self.model.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(FeedbackEndorsement).collect())
    }

    /// Distinct reporters, teams and accounts behind it, and whether it is actionable.
    async fn signal(&self, ctx: &Context<'_>) -> Result<FeedbackSignal> {
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

    /// The theme tag: an agreed FEEDBACK_TAGS code, or a tag as written that the list does not know.
    async fn tag(&self) -> &str {
        &self.theme.tag
    }

    /// Whether the agreed tag list knows the tag (false: unlisted); null while no tag list is agreed.
    async fn tag_listed(&self) -> Option<bool> {
        self.theme.listed
    }

    /// The tags as written that the theme gathers (the code and its synonyms in use), sorted.
    async fn written_tags(&self) -> &[String] {
        &self.theme.written_tags
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
    /// Only feedback of this theme tag, read as tags are stored ("Pricing too_high" finds
    /// `pricing-too-high`; a synonym of the agreed tag list finds its entry's feedback).
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
    /// Short tag, such as `pricing`, 1–64 characters with a letter or digit. Written
    /// lower-cased, with every run of spaces, underscores and hyphens one hyphen and
    /// none at either end ("Pricing too_high" is `pricing-too-high`), then mapped through
    /// the agreed FEEDBACK_TAGS list: a code or synonym becomes the entry's code; any
    /// other tag is kept and marked unlisted (`tagListed: false`).
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

async fn wrap(ctx: &Context<'_>, model: entity::feedback::Model) -> Result<Feedback> {
    let thresholds = super::thresholds(db(ctx), model.org_id).await?;
    Ok(Feedback { model, thresholds })
}

#[derive(Default)]
pub struct FeedbackItemQuery;

#[Object]
impl FeedbackItemQuery {
    /// Feedback, newest first.
    async fn feedback(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackFilter>,
        #[graphql(desc = "Return at most this many items (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
    ) -> Result<FeedbackConnection> {
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
            ctx,
            page,
            |f| encode_cursor(FEEDBACK, org, &f.id),
            |model| Feedback { model, thresholds },
        ))
    }

    /// One piece of feedback; null with NOT_FOUND when absent or of another organization.
    async fn feedback_item(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Feedback>> {
        let id = parse_id("id", &id)?;
        let model = super::get(db(ctx), actor(ctx)?, id).await?;
        Ok(Some(wrap(ctx, model).await?))
    }

    /// Feedback given in the period, grouped by subject and tag with the combined
    /// signal; most actionable first.
    async fn feedback_themes(&self, ctx: &Context<'_>, input: FeedbackPeriodInput) -> Result<Vec<FeedbackTheme>> {
        let actor = actor(ctx)?;
        let themes =
            db(ctx).replica_read(|db| async move { super::themes(&db, actor, input.from, input.to).await }).await?;
        let thresholds = super::thresholds(db(ctx), actor.org_id).await?;
        Ok(themes.into_iter().map(|theme| FeedbackTheme { theme, thresholds }).collect())
    }

    /// Your own feedback, newest first, with the responses.
    async fn my_feedback(&self, ctx: &Context<'_>) -> Result<Vec<Feedback>> {
        let actor = actor(ctx)?;
        let thresholds = super::thresholds(db(ctx), actor.org_id).await?;
        let mine = super::mine(db(ctx), actor).await?;
        Ok(mine.into_iter().map(|model| Feedback { model, thresholds }).collect())
    }
}

#[derive(Default)]
pub struct FeedbackItemMutation;

#[Object]
impl FeedbackItemMutation {
    /// Give feedback on a subject of your organization. Anyone but VIEWERs.
    async fn submit_feedback(&self, ctx: &Context<'_>, input: SubmitFeedbackInput) -> Result<FeedbackPayload> {
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
    async fn endorse_feedback(&self, ctx: &Context<'_>, input: EndorseFeedbackInput) -> Result<EndorseFeedbackPayload> {
        let id = parse_id("feedbackId", &input.feedback_id)?;
        let account = optional_id("accountId", input.account_id.as_ref())?;
        let (model, endorsement) = super::endorse(db(ctx), actor(ctx)?, id, account, input.comment).await?;
        Ok(EndorseFeedbackPayload { feedback: wrap(ctx, model).await?, endorsement: FeedbackEndorsement(endorsement) })
    }

    /// Move feedback along its workflow: the subject's owning team (any MANAGER for
    /// GENERAL feedback) or an ADMIN. Declining needs a response. The author and
    /// endorsers are notified through the outbox.
    async fn set_feedback_status(&self, ctx: &Context<'_>, input: SetFeedbackStatusInput) -> Result<FeedbackPayload> {
        let id = parse_id("feedbackId", &input.feedback_id)?;
        let model =
            super::set_status(db(ctx), actor(ctx)?, id, input.status.into(), input.response, input.expected_version)
                .await?;
        Ok(FeedbackPayload { feedback: wrap(ctx, model).await? })
    }
}

/// Queries of feedback and review meetings.
#[derive(MergedObject, Default)]
pub struct FeedbackQuery(FeedbackItemQuery, MeetingQuery);

/// Mutations of feedback and review meetings.
#[derive(MergedObject, Default)]
pub struct FeedbackMutation(FeedbackItemMutation, MeetingMutation);

/// The outbox kinds `feedbackEvents` delivers, by [`FeedbackEventKind`].
const EVENT_KINDS: &[&str] = &["feedback.submitted", "feedback.endorsed", "feedback.statusChanged"];

/// What happened to a piece of feedback.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackEventKind {
    /// Someone gave feedback.
    Submitted,
    /// Someone backed it.
    Endorsed,
    /// Its owning team answered it (its `status` and `response` changed).
    StatusChanged,
}

impl FeedbackEventKind {
    fn of(kind: &str) -> Option<Self> {
        match kind {
            "feedback.submitted" => Some(Self::Submitted),
            "feedback.endorsed" => Some(Self::Endorsed),
            "feedback.statusChanged" => Some(Self::StatusChanged),
            _ => None,
        }
    }
}

/// Which feedback events to receive.
#[derive(InputObject, Default)]
pub struct FeedbackEventFilter {
    /// Only feedback you wrote or backed.
    pub mine: Option<bool>,
    /// Only these kinds of event.
    pub kinds: Option<Vec<FeedbackEventKind>>,
}

/// One change to a piece of feedback.
#[derive(SimpleObject)]
pub struct FeedbackEvent {
    /// Id of the event; the same event delivered twice (after a reconnect) has the same id.
    pub id: ID,
    /// What happened.
    pub kind: FeedbackEventKind,
    /// When (UTC).
    pub occurred_at: DateTime<Utc>,
    /// The feedback as it is now.
    pub feedback: Feedback,
}

/// Live changes to feedback.
#[derive(Default)]
pub struct FeedbackSubscription;

#[async_graphql::Subscription]
impl FeedbackSubscription {
    /// Feedback given, backed and answered, as it commits. API keys need `CONTENT_READ`
    /// (and `EVENTS_READ`).
    async fn feedback_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackEventFilter>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<FeedbackEvent>>> {
        use crate::auth::permissions::{Scope, can_read, require};
        use futures_util::FutureExt;
        let viewer = actor(ctx)?;
        require(can_read(viewer, Scope::ContentRead), "read feedback")?;
        let filter = filter.unwrap_or_default();
        let mine = match (filter.mine, viewer.user_id()) {
            (Some(true), None) => {
                return Err(crate::error::ApiError::bad_input("filter.mine", "only users give feedback"));
            }
            (Some(true), Some(me)) => Some(me),
            _ => None,
        };
        let kinds = crate::graphql::live::distinct(filter.kinds);
        crate::graphql::live::subscribe(
            ctx,
            |kind| EVENT_KINDS.contains(&kind),
            std::sync::Arc::new(move |crate::graphql::live::Delivery { db, actor }, event| {
                let kinds = kinds.clone();
                async move {
                    let (Some(kind), Some(id)) = (FeedbackEventKind::of(&event.kind), event.entity_id) else {
                        return Ok(None);
                    };
                    if kinds.is_some_and(|kinds| !kinds.contains(&kind)) {
                        return Ok(None);
                    }
                    let model = super::get(&db, &actor, id).await?;
                    if let Some(me) = mine
                        && model.author_id != me
                        && !super::endorsed_by(&db, id, me).await?
                    {
                        return Ok(None);
                    }
                    let thresholds = super::thresholds(&db, model.org_id).await?;
                    let feedback = Feedback { model, thresholds };
                    Ok(Some(FeedbackEvent { id: event.id.into(), kind, occurred_at: event.at, feedback }))
                }
                .boxed()
            }),
        )
    }
}
