//! GraphQL types and resolvers of messages, the message matrix, content assets and
//! content usage.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::content::{self, AssetCriteria, AssetPatch, NewAsset, NewUsage, UsageStats};
use super::{Matrix, MatrixCell, Message as MessageBody, MessageCriteria, MessageKind};
use crate::agreements::graphql::{AgreementStatus, agreed_document_types};
use crate::connection;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{apply, clearable, clearable_id, keep_or_set, keep_or_set_ids, optional_id};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::leads::graphql::Lead;
use crate::org::graphql::User;
use crate::personas::graphql::{JourneyStage, Persona};
use crate::pipeline::graphql::Opportunity;

agreed_document_types!(
    Message,
    MessageVersion,
    MessageBody,
    "A message of the message matrix (GLOBAL, per persona × journey stage, or a battlecard), agreed by sales and marketing, with every version.",
    "One version of a message, with its approvals."
);

#[ComplexObject]
impl MessageBody {
    /// SEGMENT only: id of the persona.
    async fn persona_id(&self) -> Option<ID> {
        self.persona_id.map(Into::into)
    }

    /// SEGMENT only: the persona; null for other kinds.
    async fn persona(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Persona>> {
        let Some(id) = self.persona_id else { return Ok(None) };
        Ok(loaders(ctx)?.personas.load_one(id).await?.map(Persona))
    }

    /// SEGMENT only: id of the journey stage.
    async fn journey_stage_id(&self) -> Option<ID> {
        self.journey_stage_id.map(Into::into)
    }

    /// SEGMENT only: the journey stage; null for other kinds.
    async fn journey_stage(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<JourneyStage>> {
        let Some(id) = self.journey_stage_id else { return Ok(None) };
        Ok(loaders(ctx)?.journey_stages.load_one(id).await?.map(JourneyStage::from))
    }
}

/// What a cell of the matrix holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageCellState {
    /// An agreed message is in force.
    Covered,
    /// No message in force, but one is proposed and awaits approval.
    Pending,
    /// No message at all: a gap to fill.
    Gap,
}

/// One cell of the message matrix: a persona at a journey stage.
#[derive(Clone)]
pub struct MessageCell(MatrixCell);

/// One cell of the message matrix: a persona at a journey stage.
#[Object]
impl MessageCell {
    /// The persona (row).
    async fn persona(&self) -> Persona {
        Persona(self.0.persona.clone())
    }

    /// The journey stage (column).
    async fn journey_stage(&self) -> JourneyStage {
        self.0.stage.clone().into()
    }

    /// COVERED, PENDING or GAP.
    async fn state(&self) -> MessageCellState {
        match (&self.0.in_force, &self.0.pending) {
            (Some(_), _) => MessageCellState::Covered,
            (None, Some(_)) => MessageCellState::Pending,
            (None, None) => MessageCellState::Gap,
        }
    }

    /// The message in force in this cell; null when none is.
    async fn message(&self) -> Option<Message> {
        self.0.in_force.clone().map(Message)
    }

    /// A message proposed for this cell and awaiting approval; null when none is.
    async fn pending(&self) -> Option<Message> {
        self.0.pending.clone().map(Message)
    }
}

/// Personas × journey stages: which buyer hears what at each stage, plus the GLOBAL
/// message and the battlecards.
pub struct MessageMatrix(Matrix);

/// Personas × journey stages: which buyer hears what at each stage, plus the GLOBAL
/// message and the battlecards.
#[Object]
impl MessageMatrix {
    /// The rows: personas that are not retired, by name.
    async fn personas(&self) -> Vec<Persona> {
        self.0.personas.iter().cloned().map(Persona).collect()
    }

    /// The columns: the organization's journey stages in order.
    async fn journey_stages(&self) -> Vec<JourneyStage> {
        self.0.stages.iter().cloned().map(Into::into).collect()
    }

    /// Every cell, row by row (all stages of the first persona, then the next).
    async fn cells(&self) -> Vec<MessageCell> {
        self.0.cells.iter().cloned().map(MessageCell).collect()
    }

    /// Number of cells (personas × journey stages).
    async fn total_cells(&self) -> i32 {
        self.0.cells.len() as i32
    }

    /// Cells with a message in force.
    async fn covered_cells(&self) -> i32 {
        self.0.covered() as i32
    }

    /// Share of cells with a message in force (0–1); 0 for an empty matrix.
    async fn coverage(&self) -> f64 {
        self.0.coverage()
    }

    /// Cells without a message in force (state PENDING or GAP), row by row.
    async fn gaps(&self) -> Vec<MessageCell> {
        self.0.cells.iter().filter(|c| c.in_force.is_none()).cloned().map(MessageCell).collect()
    }

    /// The GLOBAL message in force; null when none is.
    async fn global(&self) -> Option<Message> {
        self.0.global.clone().map(Message)
    }

    /// Battlecards in force, one per competitor.
    async fn battlecards(&self) -> Vec<Message> {
        self.0.battlecards.iter().cloned().map(Message).collect()
    }
}

/// Narrows the messages list. All given conditions must hold; they apply to the
/// version in force, else the newest.
#[derive(InputObject, Default)]
pub struct MessageFilter {
    /// Only messages of this kind.
    pub kind: Option<MessageKind>,
    /// Only SEGMENT messages for this persona.
    pub persona_id: Option<ID>,
    /// Only SEGMENT messages at this journey stage.
    pub journey_stage_id: Option<ID>,
    /// Only BATTLECARD messages about this competitor (case-insensitive).
    pub competitor: Option<String>,
    /// Only messages in this status.
    pub status: Option<AgreementStatus>,
    /// Case-insensitive text in the title or the newest body.
    pub search: Option<String>,
}

/// A new message.
#[derive(InputObject)]
pub struct CreateMessageInput {
    /// GLOBAL, SEGMENT or BATTLECARD.
    pub kind: MessageKind,
    /// SEGMENT: the persona (required).
    pub persona_id: Option<ID>,
    /// SEGMENT: the journey stage (required).
    pub journey_stage_id: Option<ID>,
    /// BATTLECARD: the competitor (required).
    pub competitor: Option<String>,
    /// Headline.
    pub title: String,
    /// The message itself.
    pub body: String,
    /// Facts that back it.
    #[graphql(default)]
    pub proof_points: Vec<String>,
    /// What the buyer should do next.
    pub call_to_action: Option<String>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a message: a new version, whose fields left out are those of the newest
/// version (the one you edited from). null clears a field that may be empty (as long
/// as the kind allows: a SEGMENT keeps its persona and stage, a BATTLECARD its
/// competitor) and is BAD_USER_INPUT for the others (`[]` empties the proof points).
#[derive(InputObject)]
pub struct UpdateMessageInput {
    /// The message to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New kind. Left out: unchanged. null is refused.
    pub kind: MaybeUndefined<MessageKind>,
    /// New persona (SEGMENT). Left out: unchanged. null: cleared.
    pub persona_id: MaybeUndefined<ID>,
    /// New journey stage (SEGMENT). Left out: unchanged. null: cleared.
    pub journey_stage_id: MaybeUndefined<ID>,
    /// New competitor (BATTLECARD). Left out: unchanged. null: cleared.
    pub competitor: MaybeUndefined<String>,
    /// New headline. Left out: unchanged. null is refused.
    pub title: MaybeUndefined<String>,
    /// New message. Left out: unchanged. null is refused.
    pub body: MaybeUndefined<String>,
    /// New proof points (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub proof_points: MaybeUndefined<Vec<String>>,
    /// New call to action. Left out: unchanged. null: cleared.
    pub call_to_action: MaybeUndefined<String>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a message.
#[derive(SimpleObject)]
pub struct MessagePayload {
    /// The message after the change.
    pub message: Message,
}

/// What kind of collateral an asset is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::content_asset::ContentKind")]
pub enum ContentKind {
    /// A slide deck.
    Deck,
    /// A one-page summary.
    OnePager,
    /// A customer story.
    CaseStudy,
    /// An e-mail template for sales.
    EmailTemplate,
    /// A video.
    Video,
    /// A white paper.
    Whitepaper,
    /// Anything else.
    Other,
}

/// Whether an asset helped when it was used.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::content_usage::ContentRating")]
pub enum ContentRating {
    /// It helped.
    Helpful,
    /// It did not help.
    NotHelpful,
}

/// How much an asset is used and whether it helps win.
#[derive(SimpleObject)]
pub struct ContentUsageStats {
    /// Times it was used.
    pub uses: i32,
    /// Distinct people who used it.
    pub distinct_users: i32,
    /// Uses rated HELPFUL.
    pub helpful: i32,
    /// Uses with a rating.
    pub rated: i32,
    /// Share of rated uses rated HELPFUL (0–1); null before any rating.
    pub helpful_share: Option<f64>,
    /// When it was last used; null if never.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Closed (won or lost) opportunities it was used on, directly or with their lead.
    pub closed_opportunities_with: i32,
    /// Won opportunities among those.
    pub won_opportunities_with: i32,
    /// Win rate of closed opportunities it was used on (0–1); null when none closed.
    pub win_rate_with: Option<f64>,
    /// Closed opportunities of the organization it was not used on.
    pub closed_opportunities_without: i32,
    /// Win rate of closed opportunities it was not used on (0–1); null when none closed.
    pub win_rate_without: Option<f64>,
}

impl From<UsageStats> for ContentUsageStats {
    fn from(s: UsageStats) -> Self {
        Self {
            uses: s.uses as i32,
            distinct_users: s.users as i32,
            helpful: s.helpful as i32,
            rated: s.rated as i32,
            helpful_share: s.helpful_share(),
            last_used_at: s.last_used_at,
            closed_opportunities_with: s.closed_with as i32,
            won_opportunities_with: s.won_with as i32,
            win_rate_with: s.win_rate_with(),
            closed_opportunities_without: s.closed_without as i32,
            win_rate_without: s.win_rate_without(),
        }
    }
}

/// A piece of collateral: a deck, one-pager, case study, e-mail template, video…
#[derive(Clone)]
pub struct ContentAsset(pub entity::content_asset::Model);

/// A piece of collateral: a deck, one-pager, case study, e-mail template, video…
#[Object]
impl ContentAsset {
    /// Stable id of the asset.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What kind of collateral it is.
    async fn kind(&self) -> ContentKind {
        self.0.kind.into()
    }

    /// Where it lives (http or https).
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Id of the message it carries; null for none.
    async fn message_id(&self) -> Option<ID> {
        self.0.message_id.map(Into::into)
    }

    /// The message it carries; null for none.
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        let Some(id) = self.0.message_id else { return Ok(None) };
        Ok(loaders(ctx)?.messages.load_one(id).await?.map(Message))
    }

    /// The personas it is meant for; empty means any persona.
    async fn personas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Persona>> {
        let loaders = loaders(ctx)?;
        let links = loaders.asset_personas.load_one(self.0.id).await?.unwrap_or_default();
        let docs = loaders.personas.load_many(links.iter().map(|l| l.persona_id)).await?;
        Ok(links.iter().filter_map(|l| docs.get(&l.persona_id).cloned().map(Persona)).collect())
    }

    /// The journey stages it is meant for; empty means any stage.
    async fn journey_stages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JourneyStage>> {
        let loaders = loaders(ctx)?;
        let links = loaders.asset_stages.load_one(self.0.id).await?.unwrap_or_default();
        let stages = loaders.journey_stages.load_many(links.iter().map(|l| l.journey_stage_id)).await?;
        let mut stages: Vec<_> = stages.into_values().collect();
        stages.sort_by_key(|s| (s.position, s.id));
        Ok(stages.into_iter().map(JourneyStage::from).collect())
    }

    /// Who keeps it up to date; null for none.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// How much it is used, whether it helps, and the win rate of deals it was used on.
    async fn usage(&self, ctx: &Context<'_>) -> async_graphql::Result<ContentUsageStats> {
        Ok(loaders(ctx)?.content_usage.load_one(self.0.id).await?.unwrap_or_default().into())
    }

    /// When it was archived; null while in use.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was added (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

connection!(ContentAssetConnection, ContentAssetEdge, ContentAsset, "content assets");

const CONTENT_ASSETS: &str = "contentAssets";

/// Narrows the content assets list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct ContentAssetFilter {
    /// Only assets meant for this persona.
    pub persona_id: Option<ID>,
    /// Only assets meant for this journey stage.
    pub journey_stage_id: Option<ID>,
    /// Only assets of this kind.
    pub kind: Option<ContentKind>,
    /// Only assets carrying this message.
    pub message_id: Option<ID>,
    /// Only assets nobody used in the last this many days (1–3650).
    pub unused_for_days: Option<i32>,
    /// Case-insensitive text in the title.
    pub search: Option<String>,
    /// Include archived assets (left out by default).
    #[graphql(default)]
    pub include_archived: bool,
}

/// A new content asset.
#[derive(InputObject)]
pub struct CreateContentAssetInput {
    /// Title.
    pub title: String,
    /// What kind of collateral it is.
    pub kind: ContentKind,
    /// Where it lives: an http or https URL.
    pub url: String,
    /// The message it carries.
    pub message_id: Option<ID>,
    /// The personas it is meant for (none: any persona).
    #[graphql(default)]
    pub persona_ids: Vec<ID>,
    /// The journey stages it is meant for (none: any stage).
    #[graphql(default)]
    pub journey_stage_ids: Vec<ID>,
    /// Who keeps it up to date; defaults to you.
    pub owner_id: Option<ID>,
}

/// Changes to a content asset: a field left out stays as it is; null clears the message
/// or the owner and is BAD_USER_INPUT for the other fields (`[]` empties a list).
#[derive(InputObject)]
pub struct UpdateContentAssetInput {
    /// The asset to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New title. Left out: unchanged. null is refused.
    pub title: MaybeUndefined<String>,
    /// New kind. Left out: unchanged. null is refused.
    pub kind: MaybeUndefined<ContentKind>,
    /// New URL. Left out: unchanged. null is refused.
    pub url: MaybeUndefined<String>,
    /// New message. Left out: unchanged. null: cleared.
    pub message_id: MaybeUndefined<ID>,
    /// New personas, replacing the old ones. Left out: unchanged. null is refused; `[]`
    /// for any persona.
    pub persona_ids: MaybeUndefined<Vec<ID>>,
    /// New journey stages, replacing the old ones. Left out: unchanged. null is refused;
    /// `[]` for any stage.
    pub journey_stage_ids: MaybeUndefined<Vec<ID>>,
    /// New owner, an active user. Left out: unchanged. null: cleared.
    pub owner_id: MaybeUndefined<ID>,
}

/// Archives a content asset.
#[derive(InputObject)]
pub struct ArchiveContentAssetInput {
    /// The asset to archive.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// The result of creating, changing or archiving a content asset.
#[derive(SimpleObject)]
pub struct ContentAssetPayload {
    /// The asset after the change.
    pub content_asset: ContentAsset,
}

/// A use of a content asset.
#[derive(InputObject)]
pub struct RecordContentUsageInput {
    /// The asset used.
    pub asset_id: ID,
    /// The lead it was used with.
    pub lead_id: Option<ID>,
    /// The opportunity it was used on.
    pub opportunity_id: Option<ID>,
    /// Whether it helped.
    pub rating: Option<ContentRating>,
    /// What happened.
    pub comment: Option<String>,
}

/// One use of a content asset.
#[derive(Clone)]
pub struct ContentUsage(pub entity::content_usage::Model);

/// One use of a content asset.
#[Object]
impl ContentUsage {
    /// Stable id of the use.
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The asset used.
    async fn asset(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ContentAsset>> {
        Ok(Some(ContentAsset(content::get(db(ctx), actor(ctx)?, self.0.asset_id).await?)))
    }

    /// Who used it; null if that user is gone.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User::from))
    }

    /// The lead it was used with; null for none.
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        let Some(id) = self.0.lead_id else { return Ok(None) };
        Ok(loaders(ctx)?.leads.load_one(id).await?.map(Lead::from))
    }

    /// The opportunity it was used on; null for none.
    async fn opportunity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Opportunity>> {
        let Some(id) = self.0.opportunity_id else { return Ok(None) };
        Ok(loaders(ctx)?.opportunities.load_one(id).await?.map(Opportunity::from))
    }

    /// Whether it helped; null when not rated.
    async fn rating(&self) -> Option<ContentRating> {
        self.0.rating.map(Into::into)
    }

    /// What happened.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// When it was used (UTC).
    async fn used_at(&self) -> DateTime<Utc> {
        self.0.used_at
    }
}

/// The result of recording a use of a content asset.
#[derive(SimpleObject)]
pub struct RecordContentUsagePayload {
    /// The use as recorded.
    pub usage: ContentUsage,
}

fn ids(field: &str, ids: &[ID]) -> async_graphql::Result<Vec<uuid::Uuid>> {
    Ok(ids.iter().map(|id| parse_id(field, id)).collect::<Result<_, _>>()?)
}

#[derive(Default)]
pub struct MessagingQuery;

#[Object]
impl MessagingQuery {
    /// Personas × journey stages with the message in force, a pending proposal or a
    /// gap in each cell; coverage and the gaps; the GLOBAL message and battlecards.
    async fn message_matrix(&self, ctx: &Context<'_>) -> async_graphql::Result<MessageMatrix> {
        Ok(MessageMatrix(super::matrix(db(ctx), actor(ctx)?).await?))
    }

    /// Messages, by cell and title.
    async fn messages(&self, ctx: &Context<'_>, filter: Option<MessageFilter>) -> async_graphql::Result<Vec<Message>> {
        let filter = filter.unwrap_or_default();
        let criteria = MessageCriteria {
            kind: filter.kind,
            persona_id: optional_id("personaId", filter.persona_id.as_ref())?,
            journey_stage_id: optional_id("journeyStageId", filter.journey_stage_id.as_ref())?,
            competitor: filter.competitor,
            statuses: filter.status.map(|s| vec![s.into()]).unwrap_or_default(),
            search: filter.search,
        };
        Ok(super::list(db(ctx), actor(ctx)?, &criteria).await?.into_iter().map(Message).collect())
    }

    /// One message; null with NOT_FOUND when absent or of another organization.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Message>> {
        let id = parse_id("id", &id)?;
        Ok(Some(Message(crate::agreements::get(db(ctx), actor(ctx)?, id).await?)))
    }

    /// Content assets, newest first. API keys need `content:read`.
    async fn content_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<ContentAssetFilter>,
        #[graphql(desc = "Return at most this many assets (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return assets after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<ContentAssetConnection> {
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, None, None).window(CONTENT_ASSETS, org)?;
        let filter = filter.unwrap_or_default();
        let criteria = AssetCriteria {
            persona_id: optional_id("personaId", filter.persona_id.as_ref())?,
            journey_stage_id: optional_id("journeyStageId", filter.journey_stage_id.as_ref())?,
            kind: filter.kind.map(Into::into),
            message_id: optional_id("messageId", filter.message_id.as_ref())?,
            unused_for_days: filter.unused_for_days,
            search: filter.search,
            include_archived: filter.include_archived,
        };
        let page = content::list(db(ctx), actor(ctx)?, &criteria, &window, selects(ctx, "totalCount")).await?;
        Ok(ContentAssetConnection::from_page(page, |a| encode_cursor(CONTENT_ASSETS, org, &a.id), ContentAsset))
    }

    /// One content asset; null with NOT_FOUND when absent or of another organization.
    async fn content_asset(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<ContentAsset>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ContentAsset(content::get(db(ctx), actor(ctx)?, id).await?)))
    }

    /// Assets (not archived) nobody used in the last `days` days, oldest first.
    async fn unused_content(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The window in days (1–3650).")] days: i32,
    ) -> async_graphql::Result<Vec<ContentAsset>> {
        Ok(content::unused(db(ctx), actor(ctx)?, days).await?.into_iter().map(ContentAsset).collect())
    }

    /// What to send a lead next: assets for the lead's persona and journey stage
    /// (NEW/ENGAGED/RECYCLED → 1st stage, MQL/SAL → 2nd, SQL/OPPORTUNITY → 3rd,
    /// CUSTOMER → 4th), most helpful first. Assets naming no persona (or stage) fit any.
    async fn content_for_lead(&self, ctx: &Context<'_>, lead_id: ID) -> async_graphql::Result<Vec<ContentAsset>> {
        let lead_id = parse_id("leadId", &lead_id)?;
        let ranked = content::for_lead(db(ctx), actor(ctx)?, lead_id).await?;
        Ok(ranked.into_iter().map(|(asset, _)| ContentAsset(asset)).collect())
    }
}

#[derive(Default)]
pub struct MessagingMutation;

#[Object]
impl MessagingMutation {
    /// Write a message. MARKETING keeps a DRAFT (unless `propose`); other teams propose
    /// it at once. Once agreed it retires the message in force in its cell.
    async fn create_message(
        &self,
        ctx: &Context<'_>,
        input: CreateMessageInput,
    ) -> async_graphql::Result<MessagePayload> {
        let body = MessageBody {
            kind: input.kind,
            persona_id: optional_id("personaId", input.persona_id.as_ref())?,
            journey_stage_id: optional_id("journeyStageId", input.journey_stage_id.as_ref())?,
            competitor: input.competitor,
            title: input.title,
            body: input.body,
            proof_points: input.proof_points,
            call_to_action: input.call_to_action,
        };
        let doc = super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(MessagePayload { message: Message(doc) })
    }

    /// Edit a message: a new version (proposed when the message is agreed; the agreed
    /// one stays in force until then).
    async fn update_message(
        &self,
        ctx: &Context<'_>,
        input: UpdateMessageInput,
    ) -> async_graphql::Result<MessagePayload> {
        let id = parse_id("id", &input.id)?;
        let kind = keep_or_set("kind", input.kind)?;
        let persona_id = clearable_id("personaId", input.persona_id)?;
        let journey_stage_id = clearable_id("journeyStageId", input.journey_stage_id)?;
        let title = keep_or_set("title", input.title)?;
        let body = keep_or_set("body", input.body)?;
        let proof_points = keep_or_set("proofPoints", input.proof_points)?;
        let doc = super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: MessageBody| {
            Ok(MessageBody {
                kind: kind.unwrap_or(b.kind),
                persona_id: apply(b.persona_id, persona_id),
                journey_stage_id: apply(b.journey_stage_id, journey_stage_id),
                competitor: apply(b.competitor, clearable(input.competitor)),
                title: title.unwrap_or(b.title),
                body: body.unwrap_or(b.body),
                proof_points: proof_points.unwrap_or(b.proof_points),
                call_to_action: apply(b.call_to_action, clearable(input.call_to_action)),
            })
        })
        .await?;
        Ok(MessagePayload { message: Message(doc) })
    }

    /// Add a content asset. MARKETING and ADMINs.
    async fn create_content_asset(
        &self,
        ctx: &Context<'_>,
        input: CreateContentAssetInput,
    ) -> async_graphql::Result<ContentAssetPayload> {
        let new = NewAsset {
            title: input.title,
            kind: input.kind.into(),
            url: input.url,
            message_id: optional_id("messageId", input.message_id.as_ref())?,
            persona_ids: ids("personaIds", &input.persona_ids)?,
            journey_stage_ids: ids("journeyStageIds", &input.journey_stage_ids)?,
            owner_id: optional_id("ownerId", input.owner_id.as_ref())?,
        };
        Ok(ContentAssetPayload { content_asset: ContentAsset(content::create(db(ctx), actor(ctx)?, new).await?) })
    }

    /// Change a content asset. MARKETING and ADMINs.
    async fn update_content_asset(
        &self,
        ctx: &Context<'_>,
        input: UpdateContentAssetInput,
    ) -> async_graphql::Result<ContentAssetPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = AssetPatch {
            expected_version: input.expected_version,
            title: keep_or_set("title", input.title)?,
            kind: keep_or_set("kind", input.kind)?.map(Into::into),
            url: keep_or_set("url", input.url)?,
            message_id: clearable_id("messageId", input.message_id)?,
            persona_ids: keep_or_set_ids("personaIds", input.persona_ids)?,
            journey_stage_ids: keep_or_set_ids("journeyStageIds", input.journey_stage_ids)?,
            owner_id: clearable_id("ownerId", input.owner_id)?,
        };
        Ok(ContentAssetPayload { content_asset: ContentAsset(content::update(db(ctx), actor(ctx)?, id, patch).await?) })
    }

    /// Archive a content asset: it leaves lists and recommendations, its usage stays.
    async fn archive_content_asset(
        &self,
        ctx: &Context<'_>,
        input: ArchiveContentAssetInput,
    ) -> async_graphql::Result<ContentAssetPayload> {
        let id = parse_id("id", &input.id)?;
        let asset = content::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(ContentAssetPayload { content_asset: ContentAsset(asset) })
    }

    /// Record that you used a content asset, with whom, and whether it helped. Anyone but VIEWERs.
    async fn record_content_usage(
        &self,
        ctx: &Context<'_>,
        input: RecordContentUsageInput,
    ) -> async_graphql::Result<RecordContentUsagePayload> {
        let new = NewUsage {
            asset_id: parse_id("assetId", &input.asset_id)?,
            lead_id: optional_id("leadId", input.lead_id.as_ref())?,
            opportunity_id: optional_id("opportunityId", input.opportunity_id.as_ref())?,
            rating: input.rating.map(Into::into),
            comment: input.comment,
        };
        Ok(RecordContentUsagePayload { usage: ContentUsage(content::record_usage(db(ctx), actor(ctx)?, new).await?) })
    }
}
