//! GraphQL types and resolvers of campaigns: `campaigns`, `campaign`, and the
//! create, update and archive mutations.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{CampaignCriteria, CampaignPatch, NewCampaign};
use crate::error::Result;
use crate::graphql::patch::{clearable_id, keep_or_set};
use crate::graphql::scalars::MinorUnits;
use crate::graphql::{Money, actor, db, loaders, parse_id};
use crate::org::graphql::User;

/// The marketing channel a campaign runs in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::CampaignChannel")]
pub enum CampaignChannel {
    /// E-mail sends and newsletters.
    Email,
    /// Paid search ads.
    PaidSearch,
    /// Paid ads on social networks.
    PaidSocial,
    /// Unpaid posts on social networks.
    OrganicSocial,
    /// Content marketing: reports, blog posts, guides.
    Content,
    /// Trade shows, conferences and own events.
    Event,
    /// Webinars.
    Webinar,
    /// Campaigns run with or through partners.
    Partner,
    /// Outbound prospecting (calls, sequences).
    Outbound,
    /// Referral and customer-advocacy programmes.
    Referral,
    /// Any other channel.
    Other,
}

/// A marketing campaign with its budget and spend. Leads name their campaign in
/// `Lead.campaign`; this record carries the money, so cost per lead and ROI can be measured.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Campaign {
    /// Stable id of the campaign.
    #[graphql(owned)]
    pub id: ID,
    /// The name, exactly as leads carry it in `Lead.campaign` (case-sensitive); unique in the organization.
    pub name: String,
    /// The channel the campaign runs in.
    pub channel: CampaignChannel,
    /// First day of the campaign.
    pub starts_on: NaiveDate,
    /// Last day of the campaign (inclusive).
    pub ends_on: NaiveDate,
    /// The money set aside for the campaign.
    pub budget: Money,
    /// The money spent on the campaign so far (same currency as the budget).
    pub spend: Money,
    /// When the campaign was archived; archived campaigns leave lists unless asked for.
    pub archived_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the campaign was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the campaign last changed (UTC).
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub owner_id: Option<Uuid>,
}

#[ComplexObject]
impl Campaign {
    /// Who answers for the campaign; null if none or that user is gone.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// How many (non-archived) leads name this campaign in `Lead.campaign`.
    async fn lead_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(loaders(ctx)?.campaign_lead_counts.load_one(self.name.clone()).await?.unwrap_or(0))
    }
}

impl From<entity::campaign::Model> for Campaign {
    fn from(m: entity::campaign::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name,
            channel: m.channel.into(),
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            budget: Money { amount_minor: m.budget_minor.into(), currency: m.currency.clone() },
            spend: Money { amount_minor: m.spend_minor.into(), currency: m.currency },
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            owner_id: m.owner_id,
        }
    }
}

/// Narrows the campaigns list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct CampaignFilter {
    /// Only campaigns in this channel.
    pub channel: Option<CampaignChannel>,
    /// Only campaigns running on this day (`startsOn <= day <= endsOn`).
    pub active_on: Option<NaiveDate>,
    /// Only campaigns whose name contains this text (case-insensitive).
    pub search: Option<String>,
    /// Include archived campaigns (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

/// A campaign to create.
#[derive(InputObject)]
pub struct CreateCampaignInput {
    /// Name, 1–200 characters, exactly as leads carry it in `campaign`; unique in the organization.
    pub name: String,
    /// The channel the campaign runs in.
    pub channel: CampaignChannel,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day (inclusive); not before `startsOn`.
    pub ends_on: NaiveDate,
    /// Budget in minor units of `currency` (such as cents), 0 to 1,000,000,000,000,000.
    pub budget_minor: MinorUnits,
    /// Spend so far in minor units of `currency`, 0 to 1,000,000,000,000,000. Defaults to 0.
    pub spend_minor: Option<MinorUnits>,
    /// ISO-4217 currency of budget and spend, such as `EUR`.
    pub currency: String,
    /// Who answers for the campaign; defaults to you.
    pub owner_id: Option<ID>,
}

/// Changes to a campaign: a field left out stays as it is; null clears the owner and is
/// BAD_USER_INPUT for the other fields.
#[derive(InputObject)]
pub struct UpdateCampaignInput {
    /// The campaign to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name (leads are not renamed: they keep naming the old one). Left out:
    /// unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New channel. Left out: unchanged. null is refused.
    pub channel: MaybeUndefined<CampaignChannel>,
    /// New first day. Left out: unchanged. null is refused.
    pub starts_on: MaybeUndefined<NaiveDate>,
    /// New last day. Left out: unchanged. null is refused.
    pub ends_on: MaybeUndefined<NaiveDate>,
    /// New budget in minor units, 0 to 1,000,000,000,000,000. Left out: unchanged. null is refused.
    pub budget_minor: MaybeUndefined<MinorUnits>,
    /// New spend so far in minor units, 0 to 1,000,000,000,000,000. Left out: unchanged.
    /// null is refused.
    pub spend_minor: MaybeUndefined<MinorUnits>,
    /// New currency of budget and spend. Left out: unchanged. null is refused.
    pub currency: MaybeUndefined<String>,
    /// New owner. Left out: unchanged. null: cleared (the campaign has no owner).
    pub owner_id: MaybeUndefined<ID>,
}

/// A campaign to archive.
#[derive(InputObject)]
pub struct ArchiveCampaignInput {
    /// The campaign to archive.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// The result of creating, changing or archiving a campaign.
#[derive(SimpleObject)]
pub struct CampaignPayload {
    /// The campaign as stored after the change.
    pub campaign: Campaign,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// Campaigns of the organization, latest start first. API keys need `KPIS_READ`.
    async fn campaigns(&self, ctx: &Context<'_>, filter: Option<CampaignFilter>) -> Result<Vec<Campaign>> {
        let filter = filter.unwrap_or_default();
        let criteria = CampaignCriteria {
            channel: filter.channel.map(Into::into),
            active_on: filter.active_on,
            search: filter.search,
            include_archived: filter.include_archived,
        };
        Ok(super::list(db(ctx), actor(ctx)?, &criteria).await?.into_iter().map(Campaign::from).collect())
    }

    /// One campaign, archived or not; null with NOT_FOUND when absent or another organization's.
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Campaign>> {
        let id = parse_id("id", &id)?;
        Ok(Some(super::get(db(ctx), actor(ctx)?, id).await?.into()))
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Create a campaign. MARKETING and ADMINs. A name in use is CONFLICT.
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> Result<CampaignPayload> {
        let new = NewCampaign {
            name: input.name,
            channel: input.channel.into(),
            starts_on: input.starts_on,
            ends_on: input.ends_on,
            budget_minor: input.budget_minor.into(),
            spend_minor: input.spend_minor.map(Into::into),
            currency: input.currency,
            owner_id: input.owner_id.as_ref().map(|id| parse_id("ownerId", id)).transpose()?,
        };
        Ok(CampaignPayload { campaign: super::create(db(ctx), actor(ctx)?, new).await?.into() })
    }

    /// Change a campaign (such as its spend). MARKETING and ADMINs. A stale
    /// `expectedVersion`, a name in use or an archived campaign is CONFLICT.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> Result<CampaignPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = CampaignPatch {
            name: keep_or_set("name", input.name)?,
            channel: keep_or_set("channel", input.channel)?.map(Into::into),
            starts_on: keep_or_set("startsOn", input.starts_on)?,
            ends_on: keep_or_set("endsOn", input.ends_on)?,
            budget_minor: keep_or_set("budgetMinor", input.budget_minor)?.map(Into::into),
            spend_minor: keep_or_set("spendMinor", input.spend_minor)?.map(Into::into),
            currency: keep_or_set("currency", input.currency)?,
            owner_id: clearable_id("ownerId", input.owner_id)?,
            expected_version: input.expected_version,
        };
        Ok(CampaignPayload { campaign: super::update(db(ctx), actor(ctx)?, id, patch).await?.into() })
    }

    /// Archive a campaign: it leaves lists and can no longer change. MARKETING and ADMINs.
    async fn archive_campaign(&self, ctx: &Context<'_>, input: ArchiveCampaignInput) -> Result<CampaignPayload> {
        let id = parse_id("id", &input.id)?;
        let campaign = super::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(CampaignPayload { campaign: campaign.into() })
    }
}
