//! GraphQL types and resolvers of opportunities.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{NewOpportunity, OpportunityCriteria, OpportunityOrder, OpportunityPatch, Outcome};
use crate::agreements::taxonomies::TaxonomyList;
use crate::connection;
use crate::error::{ApiError, Result};
use crate::graphql::pagination::{PageArgs, sorted_cursor, sorted_window};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::scalars::MinorUnits;
use crate::graphql::{Money, OrderDirection, actor, db, loaders, parse_id, selects};
use crate::leads::activities::ActivityCriteria;
use crate::leads::graphql::{Account, ActivityConnection, ArchiveInput, Lead};
use crate::org::graphql::User;

/// Where a deal stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::OpportunityStage")]
pub enum OpportunityStage {
    /// Finding out need, budget, authority and timing.
    Discovery,
    /// A proposal is with the customer.
    Proposal,
    /// Terms are being negotiated.
    Negotiation,
    /// Won; the account is a customer.
    ClosedWon,
    /// Lost; see `lostReason`.
    ClosedLost,
}

/// Which of the four sales strategies a deal follows. An account is a customer once it
/// has a won deal or a lead in CUSTOMER; a deal whose strategy does not fit its account
/// is BAD_USER_INPUT on `strategy`, when created and when its strategy changes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::SalesStrategy")]
pub enum SalesStrategy {
    /// Win a new customer: only on an account that is not a customer yet.
    Acquisition,
    /// Keep an existing customer (renewal): only on a customer account.
    Retention,
    /// Sell more to an existing customer (upsell, cross-sell): only on a customer account.
    Development,
    /// Replace a competitor's product at the customer: only on a customer account.
    Substitution,
}

/// A deal with an account.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Opportunity {
    /// Stable id of the deal.
    #[graphql(owned)]
    pub id: ID,
    /// Name of the deal.
    pub name: String,
    /// Value of the deal.
    pub amount: Money,
    /// Where the deal stands.
    pub stage: OpportunityStage,
    /// The sales strategy the deal follows.
    pub strategy: SalesStrategy,
    /// When the deal is expected to close.
    pub expected_close: Option<NaiveDate>,
    /// When the deal was won or lost (UTC).
    pub closed_at: Option<DateTime<Utc>>,
    /// Why the deal was lost: the code of its entry in the LOST_REASONS list in force
    /// when it closed (`taxonomyInForce` has the labels); null unless CLOSED_LOST.
    pub lost_reason: Option<String>,
    /// More about why it was lost; null for none.
    pub lost_note: Option<String>,
    /// Who the deal was lost to: the code of the agreed COMPETITORS entry the name
    /// matches, else the name as written; null when none was named. KPIs group by it.
    pub competitor: Option<String>,
    /// The competitor's name as written when the deal was closed.
    pub competitor_written: Option<String>,
    /// Whether the agreed COMPETITORS list knows the name (false: unlisted); null while no list is agreed or none was named.
    pub competitor_listed: Option<bool>,
    /// When the deal was archived; archived deals leave lists unless asked for.
    pub archived_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the deal was opened (UTC).
    pub created_at: DateTime<Utc>,
    /// When the deal last changed (UTC).
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    #[graphql(skip)]
    pub lead_id: Option<Uuid>,
    #[graphql(skip)]
    pub owner_id: Option<Uuid>,
}

impl From<entity::opportunity::Model> for Opportunity {
    fn from(m: entity::opportunity::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name,
            amount: Money { amount_minor: m.amount_minor.into(), currency: m.currency },
            stage: m.stage.into(),
            strategy: m.strategy.into(),
            expected_close: m.expected_close,
            closed_at: m.closed_at,
            lost_reason: m.lost_reason,
            lost_note: m.lost_note,
            competitor: m.competitor,
            competitor_written: m.competitor_written,
            competitor_listed: m.competitor_listed,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
            lead_id: m.lead_id,
            owner_id: m.owner_id,
        }
    }
}

#[ComplexObject]
impl Opportunity {
    /// The account the deal is with.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(loaders(ctx)?.accounts.load_one(self.account_id).await?.map(Account::from))
    }

    /// The lead the deal came from.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let Some(id) = self.lead_id else { return Ok(None) };
        Ok(loaders(ctx)?.leads.load_one(id).await?.map(Lead::from))
    }

    /// The deal's owner in sales.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// Activities for the deal, newest first.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many activities (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
    ) -> Result<ActivityConnection> {
        let criteria = ActivityCriteria { opportunity_id: Some(self.uuid), ..Default::default() };
        let l = loaders(ctx)?;
        let (pages, counts) = (&l.opportunity_activities, &l.opportunity_activity_counts);
        // Boxed: see `Lead`'s fields.
        Box::pin(crate::leads::graphql::nested_activities(ctx, first, after, criteria, pages, counts, self.uuid, None))
            .await
    }
}

connection!(OpportunityConnection, OpportunityEdge, Opportunity, "opportunities");

/// Narrows deals. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    /// Only deals in these stages.
    pub stages: Option<Vec<OpportunityStage>>,
    /// Only deals following these strategies.
    pub strategies: Option<Vec<SalesStrategy>>,
    /// Only deals owned by this user.
    pub owner_id: Option<ID>,
    /// Only deals with this account.
    pub account_id: Option<ID>,
    /// Only deals opened from this lead.
    pub lead_id: Option<ID>,
    /// Only deals expected to close on or after this day.
    pub expected_close_from: Option<NaiveDate>,
    /// Only deals expected to close on or before this day.
    pub expected_close_to: Option<NaiveDate>,
    /// Only deals worth at least this many minor units (0 to 1,000,000,000,000,000).
    pub amount_min: Option<MinorUnits>,
    /// Only deals worth at most this many minor units (0 to 1,000,000,000,000,000).
    pub amount_max: Option<MinorUnits>,
    /// Only deals in this currency.
    pub currency: Option<String>,
    /// Only deals lost for these reasons (codes, at most 50; compared ignoring case, spaces, `-` and `_`).
    pub lost_reasons: Option<Vec<String>>,
    /// Only deals lost to these competitors, as stored (`Opportunity.competitor`; at most 50).
    pub competitors: Option<Vec<String>>,
    /// Include archived deals (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

/// What deals are sorted by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "OpportunityOrder")]
pub enum OpportunityOrderField {
    /// When the deal was opened.
    CreatedAt,
    /// When the deal last changed.
    UpdatedAt,
    /// The amount in the reporting currency at each currency's latest exchange rate
    /// (MISSING_EXCHANGE_RATE while a matching deal's currency has none).
    Amount,
}

/// How to sort deals.
#[derive(InputObject, Clone, Copy)]
pub struct OpportunityOrderBy {
    /// The field to sort by.
    pub field: OpportunityOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// Deals of the organization (newest first by default). API keys need `LEADS_READ`.
    #[allow(clippy::too_many_arguments)]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        order_by: Option<OpportunityOrderBy>,
        #[graphql(desc = "At most this many deals from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Deals after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many deals from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Deals before this cursor.")] before: Option<String>,
    ) -> Result<OpportunityConnection> {
        let actor = actor(ctx)?;
        let order_by = order_by
            .unwrap_or(OpportunityOrderBy { field: OpportunityOrderField::CreatedAt, direction: OrderDirection::Desc });
        let order: OpportunityOrder = order_by.field.into();
        let list = format!("opportunities.{:?}.{:?}", order_by.field, order_by.direction);
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), &list, org, |v| order.key_value(v))?;
        let f = filter.unwrap_or_default();
        let criteria = OpportunityCriteria {
            stages: f.stages.unwrap_or_default().into_iter().map(Into::into).collect(),
            strategies: f.strategies.unwrap_or_default().into_iter().map(Into::into).collect(),
            owner_id: optional_id("filter.ownerId", f.owner_id.as_ref())?,
            account_id: optional_id("filter.accountId", f.account_id.as_ref())?,
            lead_id: optional_id("filter.leadId", f.lead_id.as_ref())?,
            expected_close_from: f.expected_close_from,
            expected_close_to: f.expected_close_to,
            amount_min: f.amount_min.map(Into::into),
            amount_max: f.amount_max.map(Into::into),
            currency: f.currency,
            lost_reasons: text_filter("filter.lostReasons", f.lost_reasons)?
                .iter()
                .map(|r| TaxonomyList::LostReasons.spell(r))
                .collect(),
            competitors: text_filter("filter.competitors", f.competitors)?,
            include_archived: f.include_archived,
        };
        let page = super::list(
            db(ctx),
            actor,
            &criteria,
            order,
            order_by.direction.into(),
            &window,
            selects(ctx, "totalCount"),
        )
        .await?;
        Ok(OpportunityConnection::from_page(
            ctx,
            page,
            |o| sorted_cursor(&list, org, order.key_of(o), o.id),
            Opportunity::from,
        ))
    }

    /// One deal; null with NOT_FOUND when absent or another organization's.
    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Opportunity>> {
        let id = parse_id("id", &id)?;
        Ok(Some(super::get(db(ctx), actor(ctx)?, id).await?.into()))
    }
}

/// A deal to open.
#[derive(InputObject)]
pub struct CreateOpportunityInput {
    /// The account (default: the lead's account).
    pub account_id: Option<ID>,
    /// The lead the deal comes from; a SQL lead moves to OPPORTUNITY.
    pub lead_id: Option<ID>,
    /// Name of the deal.
    pub name: String,
    /// Value in minor units of `currency` (cents), 0 to 1,000,000,000,000,000.
    pub amount_minor: MinorUnits,
    /// ISO-4217 currency code.
    pub currency: String,
    /// The sales strategy the deal follows.
    pub strategy: SalesStrategy,
    /// The owner (default the caller).
    pub owner_id: Option<ID>,
    /// When the deal is expected to close.
    pub expected_close: Option<NaiveDate>,
}

/// Changes to a deal: a field left out stays as it is; null clears the owner or the
/// expected close day and is BAD_USER_INPUT for the other fields. The stage changes
/// with `updateOpportunityStage` and `closeOpportunity`.
#[derive(InputObject)]
pub struct UpdateOpportunityInput {
    /// The deal to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New value in minor units, 0 to 1,000,000,000,000,000. Left out: unchanged. null is refused.
    pub amount_minor: MaybeUndefined<MinorUnits>,
    /// New currency. Left out: unchanged. null is refused.
    pub currency: MaybeUndefined<String>,
    /// New strategy. Left out: unchanged. null is refused.
    pub strategy: MaybeUndefined<SalesStrategy>,
    /// New owner, an active user. Left out: unchanged. null: cleared.
    pub owner_id: MaybeUndefined<ID>,
    /// New expected close day. Left out: unchanged. null: cleared.
    pub expected_close: MaybeUndefined<NaiveDate>,
}

/// Moves an open deal between DISCOVERY, PROPOSAL and NEGOTIATION; every other field
/// of the deal stays as it is.
#[derive(InputObject)]
pub struct UpdateOpportunityStageInput {
    /// The deal.
    pub id: ID,
    /// The new open stage (close with `closeOpportunity`).
    pub stage: OpportunityStage,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// How a deal ended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpportunityOutcome {
    /// Won: the lead and the account become customers.
    Won,
    /// Lost: give `lostReason`; the lead goes back to nurture.
    Lost,
}

/// Closes a deal.
#[derive(InputObject)]
pub struct CloseOpportunityInput {
    /// The deal.
    pub id: ID,
    /// Won or lost.
    pub outcome: OpportunityOutcome,
    /// LOST only, and required then: why, as a code or synonym of the LOST_REASONS list
    /// in force (`taxonomyInForce`), at most 64 characters; stored as the entry's code.
    /// Anything else is BAD_USER_INPUT naming the codes.
    pub lost_reason: Option<String>,
    /// LOST only: more about why (at most 10,000 characters); required when the reason's entry `needsNote` (such as OTHER).
    pub lost_note: Option<String>,
    /// LOST only: who the deal was lost to (at most 100 characters); required when the
    /// reason's entry `needsCompetitor` (such as COMPETITOR). Mapped through the agreed
    /// COMPETITORS list: a code or synonym becomes the entry's code.
    pub competitor: Option<String>,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// The result of a deal mutation.
#[derive(SimpleObject)]
pub struct OpportunityPayload {
    /// The deal as stored after the change.
    pub opportunity: Opportunity,
}

/// A filter's list of texts: at most 50, each at most 100 characters.
fn text_filter(field: &str, values: Option<Vec<String>>) -> Result<Vec<String>> {
    crate::validate::text_list(field, values.unwrap_or_default(), 50, super::COMPETITOR_MAX)
}

#[derive(Default)]
pub struct PipelineMutation;

#[Object]
impl PipelineMutation {
    /// Open a deal, optionally from a SQL lead (which moves to OPPORTUNITY).
    async fn create_opportunity(&self, ctx: &Context<'_>, input: CreateOpportunityInput) -> Result<OpportunityPayload> {
        let new = NewOpportunity {
            account_id: optional_id("accountId", input.account_id.as_ref())?,
            lead_id: optional_id("leadId", input.lead_id.as_ref())?,
            name: input.name,
            amount_minor: input.amount_minor.into(),
            currency: input.currency,
            strategy: input.strategy.into(),
            owner_id: optional_id("ownerId", input.owner_id.as_ref())?,
            expected_close: input.expected_close,
        };
        let opportunity = super::create(db(ctx), actor(ctx)?, new).await?;
        Ok(OpportunityPayload { opportunity: opportunity.into() })
    }

    /// Change a deal's name, amount, strategy, owner or expected close.
    async fn update_opportunity(&self, ctx: &Context<'_>, input: UpdateOpportunityInput) -> Result<OpportunityPayload> {
        let id = parse_id("id", &input.id)?;
        let owner_id = clearable_id("ownerId", input.owner_id)?;
        let expected_close = clearable(input.expected_close);
        let patch = OpportunityPatch {
            name: keep_or_set("name", input.name)?,
            amount_minor: keep_or_set("amountMinor", input.amount_minor)?.map(Into::into),
            currency: keep_or_set("currency", input.currency)?,
            strategy: keep_or_set("strategy", input.strategy)?.map(Into::into),
            owner_id,
            expected_close,
        };
        let opportunity = super::update(db(ctx), actor(ctx)?, id, patch, input.expected_version).await?;
        Ok(OpportunityPayload { opportunity: opportunity.into() })
    }

    /// Move an open deal to another open stage.
    async fn update_opportunity_stage(
        &self,
        ctx: &Context<'_>,
        input: UpdateOpportunityStageInput,
    ) -> Result<OpportunityPayload> {
        let id = parse_id("id", &input.id)?;
        let opportunity =
            super::update_stage(db(ctx), actor(ctx)?, id, input.stage.into(), input.expected_version).await?;
        Ok(OpportunityPayload { opportunity: opportunity.into() })
    }

    /// Win or lose a deal. Won: lead and account become customers. Lost: the lead is recycled.
    async fn close_opportunity(&self, ctx: &Context<'_>, input: CloseOpportunityInput) -> Result<OpportunityPayload> {
        let id = parse_id("id", &input.id)?;
        let outcome = match input.outcome {
            OpportunityOutcome::Won => {
                let given = [
                    ("lostReason", input.lost_reason.is_some()),
                    ("lostNote", input.lost_note.is_some()),
                    ("competitor", input.competitor.is_some()),
                ];
                if let Some((field, _)) = given.into_iter().find(|(_, set)| *set) {
                    return Err(ApiError::bad_input(field, "only a LOST deal has one"));
                }
                Outcome::Won
            }
            OpportunityOutcome::Lost => Outcome::Lost {
                reason: input
                    .lost_reason
                    .ok_or_else(|| ApiError::bad_input("lostReason", "say why the deal was lost"))?,
                note: input.lost_note,
                competitor: input.competitor,
            },
        };
        let opportunity = super::close(db(ctx), actor(ctx)?, id, outcome, input.expected_version).await?;
        Ok(OpportunityPayload { opportunity: opportunity.into() })
    }

    /// Archive a deal: it leaves lists unless they ask for archived records.
    async fn archive_opportunity(&self, ctx: &Context<'_>, input: ArchiveInput) -> Result<OpportunityPayload> {
        let id = parse_id("id", &input.id)?;
        let opportunity = super::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(OpportunityPayload { opportunity: opportunity.into() })
    }
}
