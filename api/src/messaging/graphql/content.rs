//! Content assets (decks, one-pagers, case studies, …) and their recorded usage.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::Message;
use crate::connection;
use crate::error::Result;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable_id, keep_or_set, keep_or_set_ids, optional_id};
use crate::graphql::{actor, db, loaders, parse_id, selects};
use crate::leads::graphql::Lead;
use crate::messaging::content::{self, AssetCriteria, AssetPatch, NewAsset, NewUsage, UsageStats};
use crate::org::graphql::User;
use crate::org::graphql::journey_stages::JourneyStage;
use crate::personas::graphql::Persona;
use crate::pipeline::graphql::Opportunity;

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
    /// Closed (won or lost) opportunities it was used on, directly or with their lead, at
    /// or before they closed (a use after the close cannot have helped).
    pub closed_opportunities_with: i32,
    /// Won opportunities among those.
    pub won_opportunities_with: i32,
    /// Win rate of closed opportunities it was used on before they closed (0–1); null when none closed.
    pub win_rate_with: Option<f64>,
    /// Closed opportunities of the organization it was not used on before they closed.
    pub closed_opportunities_without: i32,
    /// Win rate of closed opportunities it was not used on before they closed (0–1); null when none closed.
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
    pub(crate) async fn id(&self) -> ID {
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
    async fn message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(id) = self.0.message_id else { return Ok(None) };
        Ok(loaders(ctx)?.messages.load_one(id).await?.map(Message))
    }

    /// The personas it is meant for; empty means any persona.
    async fn personas(&self, ctx: &Context<'_>) -> Result<Vec<Persona>> {
        let loaders = loaders(ctx)?;
        let links = loaders.asset_personas.load_one(self.0.id).await?.unwrap_or_default();
        let docs = loaders.personas.load_many(links.iter().map(|l| l.persona_id)).await?;
        Ok(links.iter().filter_map(|l| docs.get(&l.persona_id).cloned().map(Persona)).collect())
    }

    /// The journey stages it is meant for; empty means any stage.
    async fn journey_stages(&self, ctx: &Context<'_>) -> Result<Vec<JourneyStage>> {
        let loaders = loaders(ctx)?;
        let links = loaders.asset_stages.load_one(self.0.id).await?.unwrap_or_default();
        let stages = loaders.journey_stages.load_many(links.iter().map(|l| l.journey_stage_id)).await?;
        let mut stages: Vec<_> = stages.into_values().collect();
        stages.sort_by_key(|s| (s.position, s.id));
        Ok(stages.into_iter().map(JourneyStage::from).collect())
    }

    /// Who keeps it up to date; null for none.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// How much it is used, whether it helps, and the win rate of deals it was used on.
    async fn usage(&self, ctx: &Context<'_>) -> Result<ContentUsageStats> {
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
    pub(crate) async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// The asset used.
    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<ContentAsset>> {
        Ok(Some(ContentAsset(content::get(db(ctx), actor(ctx)?, self.0.asset_id).await?)))
    }

    /// Who used it; null if that user is gone.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User::from))
    }

    /// The lead it was used with; null for none.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let Some(id) = self.0.lead_id else { return Ok(None) };
        Ok(loaders(ctx)?.leads.load_one(id).await?.map(Lead::from))
    }

    /// The opportunity it was used on; null for none.
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
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

fn ids(field: &str, ids: &[ID]) -> Result<Vec<uuid::Uuid>> {
    ids.iter().map(|id| parse_id(field, id)).collect()
}

#[derive(Default)]
pub struct ContentQuery;

#[Object]
impl ContentQuery {
    /// Content assets, newest first. API keys need `CONTENT_READ`.
    async fn content_assets(
        &self,
        ctx: &Context<'_>,
        filter: Option<ContentAssetFilter>,
        #[graphql(desc = "Return at most this many assets (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return assets after this cursor.")] after: Option<String>,
    ) -> Result<ContentAssetConnection> {
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
        Ok(ContentAssetConnection::from_page(ctx, page, |a| encode_cursor(CONTENT_ASSETS, org, &a.id), ContentAsset))
    }

    /// One content asset; null with NOT_FOUND when absent or of another organization.
    async fn content_asset(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ContentAsset>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ContentAsset(content::get(db(ctx), actor(ctx)?, id).await?)))
    }

    /// Assets (not archived) nobody used in the last `days` days, oldest first.
    async fn unused_content(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The window in days (1–3650).")] days: i32,
    ) -> Result<Vec<ContentAsset>> {
        Ok(content::unused(db(ctx), actor(ctx)?, days).await?.into_iter().map(ContentAsset).collect())
    }

    /// What to send a lead next: assets for the lead's persona and journey stage
    /// (NEW/ENGAGED/RECYCLED → 1st stage, MQL/SAL → 2nd, SQL/OPPORTUNITY → 3rd,
    /// CUSTOMER → 4th), most helpful first. Assets naming no persona (or stage) fit any.
    /// A lead without a persona gets its stage's assets for any persona;
    /// `contentRecommendation` says which basis was used and why.
    async fn content_for_lead(&self, ctx: &Context<'_>, lead_id: ID) -> Result<Vec<ContentAsset>> {
        let lead_id = parse_id("leadId", &lead_id)?;
        let recommended = content::for_lead(db(ctx), actor(ctx)?, lead_id).await?;
        Ok(recommended.assets.into_iter().map(|(asset, _)| ContentAsset(asset)).collect())
    }

    /// What to send a lead next, as `contentForLead`, with the basis of the choice and
    /// why: the lead's persona and journey stage, or the stage only when the lead has no
    /// persona (its title matched none, or several equally), and so on.
    async fn content_recommendation(&self, ctx: &Context<'_>, lead_id: ID) -> Result<ContentRecommendation> {
        let lead_id = parse_id("leadId", &lead_id)?;
        let r = content::for_lead(db(ctx), actor(ctx)?, lead_id).await?;
        let journey_stage = match r.journey_stage_id {
            Some(id) => loaders(ctx)?.journey_stages.load_one(id).await?.map(JourneyStage::from),
            None => None,
        };
        let persona = match r.lead.persona_id {
            Some(id) => loaders(ctx)?.personas.load_one(id).await?.map(Persona),
            None => None,
        };
        Ok(ContentRecommendation {
            assets: r.assets.into_iter().map(|(asset, _)| ContentAsset(asset)).collect(),
            basis: r.basis.into(),
            reason: r.reason,
            persona,
            journey_stage,
            lead: Lead::from(r.lead),
        })
    }
}

/// What a content recommendation for a lead was based on.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RecommendationBasis {
    /// The lead's persona and journey stage.
    PersonaAndStage,
    /// The journey stage only, for any persona: the lead has no persona (see `reason`).
    StageOnly,
    /// The persona only: the lead's lifecycle stage (DISQUALIFIED) maps to no journey stage.
    PersonaOnly,
    /// Neither: no persona and no journey stage; only assets made for every stage.
    Neither,
}

impl From<content::Basis> for RecommendationBasis {
    fn from(b: content::Basis) -> Self {
        match b {
            content::Basis::PersonaAndStage => Self::PersonaAndStage,
            content::Basis::StageOnly => Self::StageOnly,
            content::Basis::PersonaOnly => Self::PersonaOnly,
            content::Basis::Neither => Self::Neither,
        }
    }
}

/// What to send a lead next, and why these assets.
#[derive(SimpleObject)]
pub struct ContentRecommendation {
    /// The lead.
    pub lead: Lead,
    /// Assets (not archived), most helpful first; at most 20.
    pub assets: Vec<ContentAsset>,
    /// What the choice was based on.
    pub basis: RecommendationBasis,
    /// Why, for people: such as "no persona matched the title 'Office Manager';
    /// recommended by stage only". Fix the cause (a persona with that keyword, or
    /// `updateLead(personaId)`) for a persona-specific recommendation.
    pub reason: String,
    /// The persona the assets fit; null when the lead has none.
    pub persona: Option<Persona>,
    /// The journey stage the assets fit; null when the lead's stage maps to none.
    pub journey_stage: Option<JourneyStage>,
}

#[derive(Default)]
pub struct ContentMutation;

#[Object]
impl ContentMutation {
    /// Add a content asset. MARKETING and ADMINs.
    async fn create_content_asset(
        &self,
        ctx: &Context<'_>,
        input: CreateContentAssetInput,
    ) -> Result<ContentAssetPayload> {
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
    ) -> Result<ContentAssetPayload> {
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
    ) -> Result<ContentAssetPayload> {
        let id = parse_id("id", &input.id)?;
        let asset = content::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(ContentAssetPayload { content_asset: ContentAsset(asset) })
    }

    /// Record that you used a content asset, with whom, and whether it helped. Anyone but VIEWERs.
    async fn record_content_usage(
        &self,
        ctx: &Context<'_>,
        input: RecordContentUsageInput,
    ) -> Result<RecordContentUsagePayload> {
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
