//! GraphQL types and resolvers of accounts, leads, lifecycle, engagement, activities
//! and the lead import.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::accounts::{self, AccountCriteria, AccountFields, AccountOrder};
use super::activities::{self, ActivityCriteria, NewActivity};
use super::engagement::{self, LeadRef, NewEvent};
use super::import::{self, ImportRow, MatchOn};
use super::{LeadCriteria, LeadFields, LeadOrder};
use crate::connection;
use crate::error::{ApiError, Result as ApiResult};
use crate::graphql::loaders::{ChildCounts, FirstPages, WithUsers};
use crate::graphql::pagination::{Page, PageArgs, Window, sorted_cursor, sorted_window};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::{Money, OrderDirection, actor, db, loaders, nodes_select, parse_id, selects};
use crate::org::graphql::User;
use crate::pipeline::graphql::Opportunity;

type GqlResult<T> = async_graphql::Result<T>;

/// Where a lead is in the shared funnel. Allowed moves: NEW → ENGAGED → MQL → SAL → SQL →
/// OPPORTUNITY → CUSTOMER; NEW → MQL; NEW…SQL → RECYCLED or DISQUALIFIED; OPPORTUNITY →
/// RECYCLED (a lost deal); RECYCLED → ENGAGED or MQL.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::LifecycleStage")]
pub enum LifecycleStage {
    /// Just created; nothing known about interest yet.
    New,
    /// Has engaged with marketing (visited, opened, downloaded…).
    Engaged,
    /// Marketing-qualified: meets the agreed MQL definition.
    Mql,
    /// Sales-accepted: sales accepted the handover.
    Sal,
    /// Sales-qualified: sales confirmed need, budget, authority and timing.
    Sql,
    /// An opportunity (deal) is open.
    Opportunity,
    /// Bought: a deal was won.
    Customer,
    /// Handed back to marketing for nurture; may re-enter as ENGAGED or MQL.
    Recycled,
    /// Not a fit; final.
    Disqualified,
}

/// How hot a lead is, from its score.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::Temperature")]
pub enum Temperature {
    /// Below the WARM threshold.
    Cold,
    /// At or above the WARM threshold.
    Warm,
    /// At or above the HOT threshold.
    Hot,
}

/// What a lead did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::EngagementKind")]
pub enum EngagementKind {
    /// Visited the website.
    WebVisit,
    /// Visited the pricing page.
    PricingPageVisit,
    /// Opened a marketing e-mail.
    EmailOpen,
    /// Clicked a link in a marketing e-mail.
    EmailClick,
    /// Submitted a form.
    FormSubmit,
    /// Downloaded a content asset.
    ContentDownload,
    /// Attended a webinar.
    WebinarAttended,
    /// Attended an event in person.
    EventAttended,
    /// Asked for a demo.
    DemoRequest,
    /// Signed up for a trial.
    TrialSignup,
}

/// What a person of the revenue teams did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::ActivityKind")]
pub enum ActivityKind {
    /// A phone or video call.
    Call,
    /// A personal e-mail.
    Email,
    /// A meeting.
    Meeting,
    /// A product demo.
    Demo,
    /// An event such as a trade show.
    Event,
    /// A note, with no contact.
    Note,
}

/// A company leads work for and deals are made with.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Account {
    /// Stable id of the account.
    pub id: ID,
    /// Company name.
    pub name: String,
    /// Web domain such as `acme.com`; unique within the organization; imports match accounts by it.
    pub domain: Option<String>,
    /// Industry, as the organization names industries (such as `Fintech`).
    pub industry: Option<String>,
    /// Number of employees.
    pub employee_count: Option<i32>,
    /// Annual revenue.
    pub annual_revenue: Option<Money>,
    /// Sales region, such as `EMEA`.
    pub region: Option<String>,
    /// True once a deal with the account was won.
    pub is_customer: bool,
    /// When the first deal was won.
    pub customer_since: Option<DateTime<Utc>>,
    /// When the account was archived; archived accounts leave lists unless asked for.
    pub archived_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the account was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the account last changed (UTC).
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub owner_id: Option<Uuid>,
}

impl From<entity::account::Model> for Account {
    fn from(m: entity::account::Model) -> Self {
        let annual_revenue = match (m.annual_revenue_minor, m.currency) {
            (Some(amount_minor), Some(currency)) => Some(Money { amount_minor, currency }),
            _ => None,
        };
        Self {
            id: m.id.into(),
            name: m.name,
            domain: m.domain,
            industry: m.industry,
            employee_count: m.employee_count,
            annual_revenue,
            region: m.region,
            is_customer: m.customer_since.is_some(),
            customer_since: m.customer_since,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            owner_id: m.owner_id,
        }
    }
}

/// A page of children: the first page (`read` with the parent, or batched by the
/// loader), or a later page from its own query. `K` is the first-page loader's key:
/// `(parent, limit)`, or [`WithUsers`] for activities with their users.
#[allow(clippy::too_many_arguments)]
async fn child_page<K, L, C, T>(
    first_pages: &DataLoader<L>,
    counts: &DataLoader<C>,
    parent: Uuid,
    args: &PageArgs,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
    read: Option<Vec<T>>,
    later: impl std::future::Future<Output = ApiResult<Page<T>>>,
) -> ApiResult<Page<T>>
where
    K: From<(Uuid, u64)> + Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: async_graphql::dataloader::Loader<K, Value = Vec<T>, Error = ApiError>,
    C: async_graphql::dataloader::Loader<Uuid, Value = i64, Error = ApiError>,
{
    if args.after.is_some() || args.before.is_some() || args.last.is_some() {
        return later.await;
    }
    let mut items = match read {
        Some(rows) => rows,
        None => first_pages.load_one(K::from((parent, window.limit))).await?.unwrap_or_default(),
    };
    let has_next_page = items.len() as u64 > window.limit;
    items.truncate(window.limit as usize);
    let total_count = if count { Some(counts.load_one(parent).await?.unwrap_or_default() as u64) } else { None };
    Ok(Page { items, has_previous_page: false, has_next_page, total_count })
}

// `leads` and `activities` box their futures, for the reason `Lead`'s fields do.
#[ComplexObject]
impl Account {
    /// The account's owner in sales.
    async fn owner(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let Some(id) = self.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The account's leads (not archived), newest first.
    async fn leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many leads (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Leads after this cursor.")] after: Option<String>,
    ) -> GqlResult<LeadConnection> {
        Box::pin(async move {
            let (actor, loaders) = (actor(ctx)?, loaders(ctx)?);
            let order = LeadOrder::CreatedAt;
            let list = lead_list(order, OrderDirection::Desc);
            let args = PageArgs::new(first, after, None, None);
            let org = crate::graphql::actor(ctx)?.org_id;
            let window = sorted_window(&args, &list, org, |v| order.key_value(v))?;
            let count = selects(ctx, "totalCount");
            let criteria = LeadCriteria { account_id: Some(self.uuid), ..Default::default() };
            let later = async {
                let page =
                    super::list(db(ctx), actor, &criteria, order, OrderDirection::Desc.into(), &window, count).await?;
                Ok(page.map(|s| s.lead))
            };
            let (leads, counts) = (&loaders.account_leads, &loaders.account_lead_counts);
            let page = child_page(leads, counts, self.uuid, &args, &window, count, None, later).await?;
            Ok(LeadConnection::from_page(
                page,
                |l| sorted_cursor(&list, org, order.lead_key(l).unwrap_or_default(), l.id),
                Lead::from,
            ))
        })
        .await
    }

    /// The account's deals, newest first.
    async fn opportunities(&self, ctx: &Context<'_>) -> GqlResult<Vec<Opportunity>> {
        let rows = loaders(ctx)?.account_opportunities.load_one(self.uuid).await?.unwrap_or_default();
        Ok(rows.into_iter().filter(|o| o.archived_at.is_none()).map(Opportunity::from).collect())
    }

    /// Activities with the account, newest first.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many activities (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
    ) -> GqlResult<ActivityConnection> {
        let criteria = ActivityCriteria { account_id: Some(self.uuid), ..Default::default() };
        let l = loaders(ctx)?;
        let (pages, counts) = (&l.account_activities, &l.account_activity_counts);
        Box::pin(nested_activities(ctx, first, after, criteria, pages, counts, self.uuid, None)).await
    }
}

/// A parent's activities. `read` is a first page read with the parent (its page size
/// and rows), used when this field asks for that page.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn nested_activities(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    criteria: ActivityCriteria,
    first_pages: &DataLoader<FirstPages<entity::activity::Entity>>,
    counts: &DataLoader<ChildCounts<entity::activity::Entity>>,
    parent: Uuid,
    read: Option<&(u64, Vec<super::detail::ActivityWithUser>)>,
) -> GqlResult<ActivityConnection> {
    let actor = actor(ctx)?;
    let args = PageArgs::new(first, after, None, None);
    let org = crate::graphql::actor(ctx)?.org_id;
    let window = sorted_window(&args, ACTIVITIES, org, time_key)?;
    let count = selects(ctx, "totalCount");
    let read = read.filter(|(limit, _)| *limit == window.limit).map(|(_, rows)| rows.clone());
    if read.is_some() || nodes_select(ctx, "user") {
        // Who logged each activity comes joined in the first page's statement.
        let later = async { Ok(activities::list(db(ctx), actor, &criteria, &window, count).await?.map(|a| (a, None))) };
        let page =
            child_page::<WithUsers, _, _, _>(first_pages, counts, parent, &args, &window, count, read, later).await?;
        return Ok(ActivityConnection::from_page(page, |(a, _)| activity_cursor(a), activity_with_user));
    }
    let later = activities::list(db(ctx), actor, &criteria, &window, count);
    let page =
        child_page::<(Uuid, u64), _, _, _>(first_pages, counts, parent, &args, &window, count, None, later).await?;
    Ok(ActivityConnection::from_page(page, activity_cursor, Activity::from))
}

/// The page size of `activities`, when the selection asks for exactly one first page
/// of them (no cursor, a valid `first`): what `lead(id)` reads with the lead.
fn first_activities(ctx: &Context<'_>) -> Option<u64> {
    let fields = ctx.look_ahead().field("activities").selection_fields();
    let [field] = fields.as_slice() else { return None };
    let mut first = None;
    for (name, value) in field.arguments().ok()? {
        match (name.as_str(), value) {
            (_, async_graphql::Value::Null) => {}
            ("first", async_graphql::Value::Number(n)) => first = Some(i32::try_from(n.as_i64()?).ok()?),
            _ => return None,
        }
    }
    let window = sorted_window(&PageArgs::new(first, None, None, None), ACTIVITIES, Uuid::nil(), time_key).ok()?;
    Some(window.limit)
}

fn activity_with_user((a, user): super::detail::ActivityWithUser) -> Activity {
    Activity { joined_user: user, ..Activity::from(a) }
}

fn time_key(value: &Value) -> Option<sea_orm::Value> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc).into())
}

const ACTIVITIES: &str = "activities";
const EVENTS: &str = "engagementEvents";

fn activity_cursor(a: &entity::activity::Model) -> String {
    sorted_cursor(ACTIVITIES, a.org_id, Value::from(a.occurred_at.to_rfc3339()), a.id)
}

fn lead_list(order: LeadOrder, direction: OrderDirection) -> String {
    format!("leads.{}.{direction:?}", order.name())
}

connection!(AccountConnection, AccountEdge, Account, "accounts");
connection!(LeadConnection, LeadEdge, Lead, "leads");
connection!(ActivityConnection, ActivityEdge, Activity, "activities");
connection!(EngagementEventConnection, EngagementEventEdge, EngagementEvent, "engagement events");

/// The fields of `Lead` read from its stored score.
const SCORE_FIELDS: [&str; 4] = ["score", "fitScore", "engagementScore", "temperature"];

/// A person who may buy: contact data, lifecycle stage, score and owners.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Lead {
    /// Stable id of the lead.
    pub id: ID,
    /// E-mail address, lower-cased; unique within the organization.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the lead came from, such as `webinar` or `partner`.
    pub source: Option<String>,
    /// The campaign that brought the lead (its name).
    pub campaign: Option<String>,
    /// The lead's id in the partner system that created it; unique within the organization.
    pub external_id: Option<String>,
    /// Where the lead is in the funnel.
    pub lifecycle_stage: LifecycleStage,
    /// When the lead entered its current stage (UTC).
    pub stage_entered_at: DateTime<Utc>,
    /// Id of the lead's buyer persona, if assigned.
    pub persona_id: Option<ID>,
    /// When the lead was archived; archived leads leave lists unless asked for.
    pub archived_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the lead was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the lead last changed (UTC).
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Option<Uuid>,
    #[graphql(skip)]
    pub owner_id: Option<Uuid>,
    #[graphql(skip)]
    pub marketing_owner_id: Option<Uuid>,
    #[graphql(skip)]
    pub persona_uuid: Option<Uuid>,
    /// The to-one relations of the page this lead came in, when the page fetched them.
    #[graphql(skip)]
    pub related: Option<Arc<LeadRelations>>,
    /// The stored score, when read with the lead; else the DataLoader fetches it.
    #[graphql(skip)]
    pub stored_score: Option<entity::lead_score::Model>,
    /// Activities and stage history read with the lead; what is `None` there comes
    /// from DataLoaders.
    #[graphql(skip)]
    pub children: Option<Arc<super::detail::PrefetchedChildren>>,
}

/// The accounts, users and personas a page of leads selects, each fetched once for the
/// whole page. DataLoaders batch the keys their resolvers register within a 1 ms
/// window; on a busy server the resolvers of one page outlast it and a batch splits
/// (docs/performance.md). A relation the page did not select is `None` and its
/// resolver uses the DataLoader.
#[derive(Default)]
pub struct LeadRelations {
    accounts: Option<HashMap<Uuid, entity::account::Model>>,
    users: Option<HashMap<Uuid, entity::user::Model>>,
    personas: Option<HashMap<Uuid, crate::agreements::Document<crate::personas::Persona>>>,
}

impl LeadRelations {
    /// Fetch what the current field's nodes (`edges.node` or `nodes`) select of `leads`.
    pub async fn of_page(ctx: &Context<'_>, leads: &[&entity::lead::Model]) -> GqlResult<Option<Arc<Self>>> {
        let wants = |f: &str| nodes_select(ctx, f);
        // Repeated ids are fine: `load_many` asks for each key once.
        let ids = |wanted: bool, id: fn(&entity::lead::Model) -> Option<Uuid>| {
            wanted.then(|| leads.iter().copied().filter_map(id).collect::<Vec<Uuid>>())
        };
        let accounts = ids(wants("account"), |l| l.account_id);
        let (owners, marketing) = (wants("owner"), wants("marketingOwner"));
        let users = (owners || marketing).then(|| {
            let pair =
                |l: &entity::lead::Model| [l.owner_id.filter(|_| owners), l.marketing_owner_id.filter(|_| marketing)];
            leads.iter().copied().flat_map(pair).flatten().collect::<Vec<Uuid>>()
        });
        let personas = ids(wants("persona"), |l| l.persona_id);
        if accounts.is_none() && users.is_none() && personas.is_none() {
            return Ok(None);
        }
        let l = loaders(ctx)?;
        let (accounts, users, personas) =
            futures_util::try_join!(many(&l.accounts, accounts), many(&l.users, users), many(&l.personas, personas))?;
        Ok(Some(Arc::new(Self { accounts, users, personas })))
    }
}

/// All of `keys` in one batch (`None` when the relation was not asked for).
async fn many<T>(loader: &DataLoader<T>, keys: Option<Vec<Uuid>>) -> ApiResult<Option<HashMap<Uuid, T::Value>>>
where
    T: async_graphql::dataloader::Loader<Uuid, Error = ApiError>,
{
    match keys {
        None => Ok(None),
        Some(keys) if keys.is_empty() => Ok(Some(HashMap::new())),
        Some(keys) => Ok(Some(loader.load_many(keys).await?)),
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

impl From<entity::lead::Model> for Lead {
    fn from(m: entity::lead::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            first_name: non_empty(m.first_name),
            last_name: non_empty(m.last_name),
            title: m.title,
            phone: m.phone,
            source: m.source,
            campaign: m.campaign,
            external_id: m.external_id,
            lifecycle_stage: m.lifecycle_stage.into(),
            stage_entered_at: m.stage_entered_at,
            persona_id: m.persona_id.map(Into::into),
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
            owner_id: m.owner_id,
            marketing_owner_id: m.marketing_owner_id,
            persona_uuid: m.persona_id,
            related: None,
            stored_score: None,
            children: None,
        }
    }
}

impl From<crate::leads::Scored> for Lead {
    fn from(s: crate::leads::Scored) -> Self {
        Self { stored_score: Some(s.score), ..Self::from(s.lead) }
    }
}

impl From<super::detail::Detail> for Lead {
    fn from(d: super::detail::Detail) -> Self {
        Self { stored_score: d.score, children: Some(Arc::new(d.children)), ..Self::from(d.lead) }
    }
}

impl Lead {
    /// The stored score: read with the lead, else through the DataLoader.
    async fn stored_score(&self, ctx: &Context<'_>) -> GqlResult<entity::lead_score::Model> {
        if let Some(score) = &self.stored_score {
            return Ok(score.clone());
        }
        let stored = loaders(ctx)?.lead_scores.load_one(self.uuid).await?;
        // Every lead gets its score row when created; none would mean it was never scored.
        Ok(stored.unwrap_or_else(|| entity::lead_score::Model::unscored(self.uuid, Uuid::nil())))
    }

    /// A user the lead names: from the page's relations when fetched, else the DataLoader.
    async fn user(&self, ctx: &Context<'_>, id: Option<Uuid>) -> GqlResult<Option<User>> {
        let Some(id) = id else { return Ok(None) };
        if let Some(users) = self.related.as_ref().and_then(|r| r.users.as_ref()) {
            return Ok(users.get(&id).cloned().map(User::from));
        }
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

// Fields that read a page of children box their future: async-graphql gives every field
// of every listed object a future as large as its type's largest field, and an inline
// connection field made each `score` or `owner` of a leads page copy kilobytes.
#[ComplexObject]
impl Lead {
    /// How hot the lead is: from its score and the WARM and HOT thresholds of the model that scored it.
    async fn temperature(&self, ctx: &Context<'_>) -> GqlResult<Temperature> {
        Ok(self.stored_score(ctx).await?.temperature.into())
    }

    /// The lead's score: fitScore plus engagementScore, as the scoring model in force
    /// computed it (0 until a model scored the lead). `scoreBreakdown` explains every point.
    async fn score(&self, ctx: &Context<'_>) -> GqlResult<f64> {
        Ok(self.stored_score(ctx).await?.score)
    }

    /// Points for how well the lead fits the ideal customer profile (the FIT rules).
    async fn fit_score(&self, ctx: &Context<'_>) -> GqlResult<f64> {
        Ok(self.stored_score(ctx).await?.fit_score)
    }

    /// Points for what the lead did recently (the ENGAGEMENT rules, decayed by their half-life).
    async fn engagement_score(&self, ctx: &Context<'_>) -> GqlResult<f64> {
        Ok(self.stored_score(ctx).await?.engagement_score)
    }

    /// Seconds the lead has spent in its current stage.
    async fn time_in_current_stage(&self) -> i64 {
        (Utc::now() - self.stage_entered_at).num_seconds().max(0)
    }

    /// The company the lead works for.
    async fn account(&self, ctx: &Context<'_>) -> GqlResult<Option<Account>> {
        let Some(id) = self.account_id else { return Ok(None) };
        if let Some(accounts) = self.related.as_ref().and_then(|r| r.accounts.as_ref()) {
            return Ok(accounts.get(&id).cloned().map(Account::from));
        }
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// The lead's owner in sales.
    async fn owner(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        self.user(ctx, self.owner_id).await
    }

    /// Every contribution to the stored score: the rule, FIT or ENGAGEMENT, the points
    /// and why. They add up to `score` exactly; empty until a scoring model scored the lead.
    async fn score_breakdown(&self, ctx: &Context<'_>) -> GqlResult<Vec<crate::scoring::graphql::ScoreContribution>> {
        let score = loaders(ctx)?.score_breakdowns.load_one(self.uuid).await?;
        Ok(score.map(|s| s.contributions.into_iter().map(Into::into).collect()).unwrap_or_default())
    }

    /// The lead's buyer persona.
    async fn persona(&self, ctx: &Context<'_>) -> GqlResult<Option<crate::personas::graphql::Persona>> {
        let Some(id) = self.persona_uuid else { return Ok(None) };
        if let Some(personas) = self.related.as_ref().and_then(|r| r.personas.as_ref()) {
            return Ok(personas.get(&id).cloned().map(crate::personas::graphql::Persona));
        }
        Ok(loaders(ctx)?.personas.load_one(id).await?.map(crate::personas::graphql::Persona))
    }

    /// The campaign record named by `campaign`, when one exists (archived ones too):
    /// budget, spend and channel of the campaign that brought the lead.
    async fn campaign_details(&self, ctx: &Context<'_>) -> GqlResult<Option<crate::campaigns::graphql::Campaign>> {
        let Some(name) = &self.campaign else { return Ok(None) };
        Ok(loaders(ctx)?.campaigns_by_name.load_one(name.clone()).await?.map(Into::into))
    }

    /// The lead's owner in marketing, who nurtures it.
    async fn marketing_owner(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        self.user(ctx, self.marketing_owner_id).await
    }

    /// Every lifecycle move of the lead, oldest first, starting with its creation.
    async fn stage_history(&self, ctx: &Context<'_>) -> GqlResult<Vec<LeadStageTransition>> {
        let read = self.children.as_ref().and_then(|c| c.stage_history.clone());
        let rows = match read {
            Some(rows) => rows,
            None => loaders(ctx)?.stage_history.load_one(self.uuid).await?.unwrap_or_default(),
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Activities with the lead, newest first.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many activities (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
    ) -> GqlResult<ActivityConnection> {
        let criteria = ActivityCriteria { lead_id: Some(self.uuid), ..Default::default() };
        let l = loaders(ctx)?;
        let read = self.children.as_ref().and_then(|c| c.activities.as_ref());
        let (pages, counts) = (&l.lead_activities, &l.lead_activity_counts);
        Box::pin(nested_activities(ctx, first, after, criteria, pages, counts, self.uuid, read)).await
    }

    /// What the lead did, newest first.
    async fn engagement_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many events (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Events after this cursor.")] after: Option<String>,
    ) -> GqlResult<EngagementEventConnection> {
        Box::pin(async move {
            let (actor, l) = (actor(ctx)?, loaders(ctx)?);
            let args = PageArgs::new(first, after, None, None);
            let org = crate::graphql::actor(ctx)?.org_id;
            let window = sorted_window(&args, EVENTS, org, time_key)?;
            let count = selects(ctx, "totalCount");
            let later = engagement::list(db(ctx), actor, self.uuid, &window, count);
            let page =
                child_page(&l.lead_events, &l.lead_event_counts, self.uuid, &args, &window, count, None, later).await?;
            Ok(EngagementEventConnection::from_page(
                page,
                |e| sorted_cursor(EVENTS, org, Value::from(e.occurred_at.to_rfc3339()), e.id),
                EngagementEvent::from,
            ))
        })
        .await
    }

    /// The lead's handovers to sales, newest first.
    async fn handovers(&self, ctx: &Context<'_>) -> GqlResult<Vec<crate::handover::graphql::Handover>> {
        let rows = loaders(ctx)?.lead_handovers.load_one(self.uuid).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Deals opened from the lead, newest first.
    async fn opportunities(&self, ctx: &Context<'_>) -> GqlResult<Vec<Opportunity>> {
        let rows = loaders(ctx)?.lead_opportunities.load_one(self.uuid).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Opportunity::from).collect())
    }
}

/// Who made a lifecycle move.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in user.
    User,
    /// An API key of a BI tool or integration partner.
    ApiKey,
    /// Accord itself, such as a scoring rule or a won deal.
    System,
}

impl ActorKind {
    fn parse(kind: &str) -> Self {
        match kind {
            "USER" => Self::User,
            "API_KEY" => Self::ApiKey,
            _ => Self::System,
        }
    }
}

/// One lifecycle move of a lead.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct LeadStageTransition {
    /// The stage left; null for the lead's creation.
    pub from: Option<LifecycleStage>,
    /// The stage entered.
    pub to: LifecycleStage,
    /// What kind of caller made the move.
    pub actor_kind: ActorKind,
    /// The name of the user or API key that made the move, at that time.
    pub actor_name: String,
    /// Why, as given by the actor or the rule that moved the lead.
    pub reason: Option<String>,
    /// When the move happened (UTC).
    pub at: DateTime<Utc>,
    #[graphql(skip)]
    pub actor_id: Option<Uuid>,
}

impl From<entity::lead_stage_transition::Model> for LeadStageTransition {
    fn from(m: entity::lead_stage_transition::Model) -> Self {
        Self {
            from: m.from_stage.map(Into::into),
            to: m.to_stage.into(),
            actor_kind: ActorKind::parse(&m.actor_kind),
            actor_name: m.actor_name,
            reason: m.reason,
            at: m.at,
            actor_id: (m.actor_kind == "USER").then_some(m.actor_id).flatten(),
        }
    }
}

#[ComplexObject]
impl LeadStageTransition {
    /// The user who made the move; null for API keys and Accord itself.
    async fn actor(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let Some(id) = self.actor_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

/// Something a lead did.
#[derive(SimpleObject, Clone)]
pub struct EngagementEvent {
    /// Stable id of the event.
    pub id: ID,
    /// What the lead did.
    pub kind: EngagementKind,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Details from the sender, such as the page or asset.
    pub properties: Json<Value>,
    /// The sender's id of the event; a repeated one is ignored.
    pub external_id: Option<String>,
    /// Id of the lead.
    pub lead_id: ID,
}

impl From<entity::engagement_event::Model> for EngagementEvent {
    fn from(m: entity::engagement_event::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            occurred_at: m.occurred_at,
            properties: Json(m.properties),
            external_id: m.external_id,
            lead_id: m.lead_id.into(),
        }
    }
}

/// A call, e-mail, meeting, demo, event or note by a person of the revenue teams.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Activity {
    /// Stable id of the activity.
    pub id: ID,
    /// What was done.
    pub kind: ActivityKind,
    /// True when spent with customers or prospects; counts towards hours with customers.
    pub customer_facing: bool,
    /// How long it took, in minutes.
    pub duration_minutes: i32,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// When it was logged (UTC).
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: Uuid,
    #[graphql(skip)]
    pub lead_id: Option<Uuid>,
    #[graphql(skip)]
    pub account_id: Option<Uuid>,
    #[graphql(skip)]
    pub opportunity_id: Option<Uuid>,
    /// Who logged it, when read with the activity; else the DataLoader fetches them.
    #[graphql(skip)]
    pub joined_user: Option<entity::user::Model>,
}

impl From<entity::activity::Model> for Activity {
    fn from(m: entity::activity::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            customer_facing: m.customer_facing,
            duration_minutes: m.duration_minutes,
            occurred_at: m.occurred_at,
            notes: m.notes,
            created_at: m.created_at,
            user_id: m.user_id,
            lead_id: m.lead_id,
            account_id: m.account_id,
            opportunity_id: m.opportunity_id,
            joined_user: None,
        }
    }
}

#[ComplexObject]
impl Activity {
    /// Who did it.
    async fn user(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        if let Some(user) = &self.joined_user {
            return Ok(Some(User::from(user.clone())));
        }
        Ok(loaders(ctx)?.users.load_one(self.user_id).await?.map(User::from))
    }

    /// The lead it was with.
    async fn lead(&self, ctx: &Context<'_>) -> GqlResult<Option<Lead>> {
        let Some(id) = self.lead_id else { return Ok(None) };
        Ok(loaders(ctx)?.leads.load_one(id).await?.map(Lead::from))
    }

    /// The account it was with.
    async fn account(&self, ctx: &Context<'_>) -> GqlResult<Option<Account>> {
        let Some(id) = self.account_id else { return Ok(None) };
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// The deal it was for.
    async fn opportunity(&self, ctx: &Context<'_>) -> GqlResult<Option<Opportunity>> {
        let Some(id) = self.opportunity_id else { return Ok(None) };
        Ok(loaders(ctx)?.opportunities.load_one(id).await?.map(Opportunity::from))
    }
}

/// Narrows accounts. All given conditions must hold.
#[derive(InputObject, Default, Clone)]
pub struct AccountFilter {
    /// Only accounts in these industries.
    pub industries: Option<Vec<String>>,
    /// Only accounts in these regions.
    pub regions: Option<Vec<String>>,
    /// Only accounts owned by this user.
    pub owner_id: Option<ID>,
    /// Only accounts with at least this many employees (0 to 10,000,000).
    pub employees_min: Option<i32>,
    /// Only accounts with at most this many employees (0 to 10,000,000).
    pub employees_max: Option<i32>,
    /// Only customers (true) or only prospects (false).
    pub is_customer: Option<bool>,
    /// Case-insensitive part of the name or domain.
    pub search: Option<String>,
    /// Include archived accounts (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

impl AccountFilter {
    fn criteria(self, prefix: &str) -> ApiResult<AccountCriteria> {
        Ok(AccountCriteria {
            industries: self.industries.unwrap_or_default(),
            regions: self.regions.unwrap_or_default(),
            owner_id: optional_id(&format!("{prefix}ownerId"), self.owner_id.as_ref())?,
            employees_min: self.employees_min,
            employees_max: self.employees_max,
            customers_only: self.is_customer,
            search: self.search,
            include_archived: self.include_archived,
        })
    }
}

/// What accounts are sorted by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    /// Name, case-insensitive.
    Name,
    /// Creation time.
    CreatedAt,
}

/// How to sort accounts.
#[derive(InputObject, Clone, Copy)]
pub struct AccountOrderBy {
    /// The field to sort by.
    pub field: AccountOrderField,
    /// The direction (default ASC for NAME… pass it explicitly).
    pub direction: OrderDirection,
}

/// Narrows leads. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct LeadFilter {
    /// Only leads in these stages.
    pub lifecycle_stages: Option<Vec<LifecycleStage>>,
    /// Only leads this hot.
    pub temperatures: Option<Vec<Temperature>>,
    /// Only leads owned by this sales user.
    pub owner_id: Option<ID>,
    /// Only leads owned by this marketing user.
    pub marketing_owner_id: Option<ID>,
    /// Only leads with this persona.
    pub persona_id: Option<ID>,
    /// Only leads of this account.
    pub account_id: Option<ID>,
    /// Only leads from this source.
    pub source: Option<String>,
    /// Only leads of this campaign.
    pub campaign: Option<String>,
    /// Only leads scoring at least this (-10,000,000 to 10,000,000).
    pub score_min: Option<f64>,
    /// Only leads scoring at most this (-10,000,000 to 10,000,000).
    pub score_max: Option<f64>,
    /// Only leads created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only leads created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Only leads that entered their stage before this time: stale leads.
    pub stage_entered_before: Option<DateTime<Utc>>,
    /// Case-insensitive part of the name, e-mail address or company name.
    pub search: Option<String>,
    /// Conditions on the lead's account, such as industry, size or region.
    pub account: Option<AccountFilter>,
    /// Include archived leads (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

/// What leads are sorted by; each has an index.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "LeadOrder")]
pub enum LeadOrderField {
    /// The score.
    Score,
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// When the lead entered its current stage.
    StageEnteredAt,
    /// Last name.
    LastName,
}

/// How to sort leads.
#[derive(InputObject, Clone, Copy)]
pub struct LeadOrderBy {
    /// The field to sort by.
    pub field: LeadOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

/// Narrows activities. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct ActivityFilter {
    /// Only this user's activities.
    pub user_id: Option<ID>,
    /// Only activities with this lead.
    pub lead_id: Option<ID>,
    /// Only activities with this account.
    pub account_id: Option<ID>,
    /// Only activities for this deal.
    pub opportunity_id: Option<ID>,
    /// Only these kinds.
    pub kinds: Option<Vec<ActivityKind>>,
    /// Only customer-facing (true) or internal (false) activities.
    pub customer_facing: Option<bool>,
    /// Only activities at or after this time.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Only activities before this time.
    pub occurred_before: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct LeadsQuery;

#[Object]
impl LeadsQuery {
    /// Leads of the organization (newest first by default). API keys need `leads:read`.
    #[allow(clippy::too_many_arguments)]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadFilter>,
        order_by: Option<LeadOrderBy>,
        #[graphql(desc = "At most this many leads from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Leads after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many leads from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Leads before this cursor.")] before: Option<String>,
    ) -> GqlResult<LeadConnection> {
        let actor = actor(ctx)?;
        let order_by =
            order_by.unwrap_or(LeadOrderBy { field: LeadOrderField::CreatedAt, direction: OrderDirection::Desc });
        let order: LeadOrder = order_by.field.into();
        let list = lead_list(order, order_by.direction);
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), &list, org, |v| order.key_value(v))?;
        let f = filter.unwrap_or_default();
        let criteria = LeadCriteria {
            lifecycle_stages: f.lifecycle_stages.unwrap_or_default().into_iter().map(Into::into).collect(),
            temperatures: f.temperatures.unwrap_or_default().into_iter().map(Into::into).collect(),
            owner_id: optional_id("filter.ownerId", f.owner_id.as_ref())?,
            marketing_owner_id: optional_id("filter.marketingOwnerId", f.marketing_owner_id.as_ref())?,
            persona_id: optional_id("filter.personaId", f.persona_id.as_ref())?,
            account_id: optional_id("filter.accountId", f.account_id.as_ref())?,
            source: f.source,
            campaign: f.campaign,
            score_min: f.score_min,
            score_max: f.score_max,
            created_after: f.created_after,
            created_before: f.created_before,
            stage_entered_before: f.stage_entered_before,
            search: f.search,
            account: f.account.map(|a| a.criteria("filter.account.")).transpose()?,
            include_archived: f.include_archived,
        };
        let (direction, count) = (order_by.direction.into(), selects(ctx, "totalCount"));
        let page = super::list(db(ctx), actor, &criteria, order, direction, &window, count).await?;
        let leads: Vec<&entity::lead::Model> = page.items.iter().map(|s| &s.lead).collect();
        let related = LeadRelations::of_page(ctx, &leads).await?;
        Ok(LeadConnection::from_page(
            page,
            |s| sorted_cursor(&list, org, order.key_of(s), s.lead.id),
            |s| Lead { related: related.clone(), ..Lead::from(s) },
        ))
    }

    /// One lead; null with NOT_FOUND when absent or another organization's.
    async fn lead(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Lead>> {
        let id = parse_id("id", &id)?;
        // What the selection asks for of the score, the first page of activities and the
        // stage history comes in the lead's own statement.
        let include = super::detail::Include {
            score: SCORE_FIELDS.iter().any(|f| selects(ctx, f)),
            activities: first_activities(ctx),
            stage_history: selects(ctx, "stageHistory"),
        };
        Ok(Some(super::detail::get(db(ctx), actor(ctx)?, id, include).await?.into()))
    }

    /// Accounts of the organization (by name by default). API keys need `leads:read`.
    #[allow(clippy::too_many_arguments)]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        order_by: Option<AccountOrderBy>,
        #[graphql(desc = "At most this many accounts from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Accounts after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many accounts from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Accounts before this cursor.")] before: Option<String>,
    ) -> GqlResult<AccountConnection> {
        let actor = actor(ctx)?;
        let order_by =
            order_by.unwrap_or(AccountOrderBy { field: AccountOrderField::Name, direction: OrderDirection::Asc });
        let order = match order_by.field {
            AccountOrderField::Name => AccountOrder::Name,
            AccountOrderField::CreatedAt => AccountOrder::CreatedAt,
        };
        let list = format!("accounts.{:?}.{:?}", order_by.field, order_by.direction);
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), &list, org, |v| order.key_value(v))?;
        let criteria = filter.unwrap_or_default().criteria("filter.")?;
        let page = accounts::list(
            db(ctx),
            actor,
            &criteria,
            order,
            order_by.direction.into(),
            &window,
            selects(ctx, "totalCount"),
        )
        .await?;
        Ok(AccountConnection::from_page(page, |a| sorted_cursor(&list, org, order.key_of(a), a.id), Account::from))
    }

    /// One account; null with NOT_FOUND when absent or another organization's.
    async fn account(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Account>> {
        let id = parse_id("id", &id)?;
        Ok(Some(accounts::get(db(ctx), actor(ctx)?, id).await?.into()))
    }

    /// Activities of the organization, newest first. API keys need `leads:read`.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActivityFilter>,
        #[graphql(desc = "At most this many activities from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many activities from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Activities before this cursor.")] before: Option<String>,
    ) -> GqlResult<ActivityConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), ACTIVITIES, org, time_key)?;
        let f = filter.unwrap_or_default();
        let criteria = ActivityCriteria {
            user_id: optional_id("filter.userId", f.user_id.as_ref())?,
            lead_id: optional_id("filter.leadId", f.lead_id.as_ref())?,
            account_id: optional_id("filter.accountId", f.account_id.as_ref())?,
            opportunity_id: optional_id("filter.opportunityId", f.opportunity_id.as_ref())?,
            kinds: f.kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            customer_facing: f.customer_facing,
            occurred_after: f.occurred_after,
            occurred_before: f.occurred_before,
        };
        let page = activities::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        Ok(ActivityConnection::from_page(page, activity_cursor, Activity::from))
    }
}

/// A company to add.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// Company name.
    pub name: String,
    /// Web domain such as `acme.com` (normalised: `https://www.Acme.com/` becomes `acme.com`).
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Number of employees, 0 to 10,000,000.
    pub employee_count: Option<i32>,
    /// Annual revenue in minor units of `currency` (such as cents), 0 to 1,000,000,000,000,000.
    pub annual_revenue_minor: Option<i64>,
    /// ISO-4217 currency of the annual revenue.
    pub currency: Option<String>,
    /// Sales region.
    pub region: Option<String>,
    /// The owner in sales.
    pub owner_id: Option<ID>,
}

/// Changes to an account: a field left out stays as it is; null clears a field that
/// may be empty and is BAD_USER_INPUT for the name.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// The account to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New company name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New domain. Left out: unchanged. null: cleared.
    pub domain: MaybeUndefined<String>,
    /// New industry. Left out: unchanged. null: cleared.
    pub industry: MaybeUndefined<String>,
    /// New number of employees, 0 to 10,000,000. Left out: unchanged. null: cleared.
    pub employee_count: MaybeUndefined<i32>,
    /// New annual revenue in minor units, 0 to 1,000,000,000,000,000 (needs a currency).
    /// Left out: unchanged. null: cleared.
    pub annual_revenue_minor: MaybeUndefined<i64>,
    /// New currency of the annual revenue. Left out: unchanged. null: cleared (refused
    /// while the account has an annual revenue).
    pub currency: MaybeUndefined<String>,
    /// New region. Left out: unchanged. null: cleared.
    pub region: MaybeUndefined<String>,
    /// New owner in sales, an active user. Left out: unchanged. null: cleared.
    pub owner_id: MaybeUndefined<ID>,
}

/// Names a record to archive.
#[derive(InputObject)]
pub struct ArchiveInput {
    /// The record's id.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// The result of an account mutation.
#[derive(SimpleObject)]
pub struct AccountPayload {
    /// The account as stored after the change.
    pub account: Account,
}

/// A lead to add.
#[derive(InputObject)]
pub struct CreateLeadInput {
    /// E-mail address; unique within the organization.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the lead came from.
    pub source: Option<String>,
    /// The campaign that brought the lead.
    pub campaign: Option<String>,
    /// The lead's id in your system; unique within the organization.
    pub external_id: Option<String>,
    /// The company.
    pub account_id: Option<ID>,
    /// The buyer persona.
    pub persona_id: Option<ID>,
    /// The owner in sales.
    pub owner_id: Option<ID>,
    /// The owner in marketing.
    pub marketing_owner_id: Option<ID>,
    /// The starting stage (default NEW), for leads qualified elsewhere.
    pub lifecycle_stage: Option<LifecycleStage>,
}

/// Changes to a lead: a field left out stays as it is; null clears a field that may be
/// empty and is BAD_USER_INPUT for the e-mail address. The stage changes with `moveLeadStage`.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    /// The lead to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New e-mail address. Left out: unchanged. null is refused.
    pub email: MaybeUndefined<String>,
    /// New first name. Left out: unchanged. null: cleared.
    pub first_name: MaybeUndefined<String>,
    /// New last name. Left out: unchanged. null: cleared.
    pub last_name: MaybeUndefined<String>,
    /// New job title. Left out: unchanged. null: cleared.
    pub title: MaybeUndefined<String>,
    /// New phone number. Left out: unchanged. null: cleared.
    pub phone: MaybeUndefined<String>,
    /// New source. Left out: unchanged. null: cleared.
    pub source: MaybeUndefined<String>,
    /// New campaign. Left out: unchanged. null: cleared.
    pub campaign: MaybeUndefined<String>,
    /// New external id. Left out: unchanged. null: cleared.
    pub external_id: MaybeUndefined<String>,
    /// New account. Left out: unchanged. null: cleared.
    pub account_id: MaybeUndefined<ID>,
    /// New persona. Left out: unchanged. null: cleared.
    pub persona_id: MaybeUndefined<ID>,
    /// New sales owner, an active user. Left out: unchanged. null: cleared.
    pub owner_id: MaybeUndefined<ID>,
    /// New marketing owner, an active user. Left out: unchanged. null: cleared.
    pub marketing_owner_id: MaybeUndefined<ID>,
}

/// The result of a lead mutation.
#[derive(SimpleObject)]
pub struct LeadPayload {
    /// The lead as stored after the change.
    pub lead: Lead,
}

/// A lifecycle move.
#[derive(InputObject)]
pub struct MoveLeadStageInput {
    /// The lead to move.
    pub lead_id: ID,
    /// The stage to enter; it must be allowed from the current one (see `LifecycleStage`).
    pub to: LifecycleStage,
    /// Why; recorded in the stage history.
    pub reason: Option<String>,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// An activity to log.
#[derive(InputObject)]
pub struct LogActivityInput {
    /// What was done.
    pub kind: ActivityKind,
    /// True when spent with customers or prospects.
    pub customer_facing: bool,
    /// How long it took, in minutes (0–1440).
    pub duration_minutes: i32,
    /// When it happened (default now; not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// Whose activity; default the caller. MANAGERs and ADMINs may log for others; API keys must name one.
    pub user_id: Option<ID>,
    /// The lead it was with.
    pub lead_id: Option<ID>,
    /// The account it was with (default the lead's or the deal's).
    pub account_id: Option<ID>,
    /// The deal it was for.
    pub opportunity_id: Option<ID>,
}

/// The result of logging an activity.
#[derive(SimpleObject)]
pub struct ActivityPayload {
    /// The stored activity.
    pub activity: Activity,
}

/// One engagement event. Name the lead by exactly one of `leadId`, `leadEmail` or `leadExternalId`.
#[derive(InputObject)]
pub struct EngagementEventInput {
    /// The lead's id.
    pub lead_id: Option<ID>,
    /// The lead's e-mail address.
    pub lead_email: Option<String>,
    /// The lead's external id.
    pub lead_external_id: Option<String>,
    /// What the lead did.
    pub kind: EngagementKind,
    /// When (UTC; not in the future).
    pub occurred_at: DateTime<Utc>,
    /// Details, a JSON object of at most 16 KiB.
    pub properties: Option<Json<Value>>,
    /// Your id of the event; an event with a known one is skipped, so retries are safe.
    pub external_id: Option<String>,
}

/// A batch of engagement events (1–500), stored all or nothing.
#[derive(InputObject)]
pub struct RecordEngagementInput {
    /// The events.
    pub events: Vec<EngagementEventInput>,
}

/// What a batch of engagement did.
#[derive(SimpleObject)]
pub struct RecordEngagementPayload {
    /// The events stored by this call.
    pub events: Vec<EngagementEvent>,
    /// Events skipped because their `externalId` was recorded before.
    pub duplicates: i32,
    /// Leads that moved from NEW to ENGAGED with their first engagement.
    pub engaged_lead_ids: Vec<ID>,
}

/// Which field identifies an existing lead in an import.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "MatchOn")]
pub enum ImportMatchOn {
    /// The partner's id of the lead (`externalId`).
    ExternalId,
    /// The e-mail address.
    Email,
}

/// One row of an import: lead columns, and company columns that match or create its account.
#[derive(InputObject)]
pub struct ImportLeadRow {
    /// E-mail address (required for new leads, and for matching by EMAIL).
    pub email: Option<String>,
    /// Your id of the lead (required for matching by EXTERNAL_ID).
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the lead came from.
    pub source: Option<String>,
    /// The campaign that brought the lead.
    pub campaign: Option<String>,
    /// Starting stage of a new lead (default NEW); ignored for existing leads.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Company name, used when the account is created.
    pub company: Option<String>,
    /// Company domain: the account with it is used, or created.
    pub domain: Option<String>,
    /// Industry of a created account.
    pub industry: Option<String>,
    /// Employees of a created account, 0 to 10,000,000.
    pub employee_count: Option<i32>,
    /// Region of a created account.
    pub region: Option<String>,
}

/// The domain's import row: the same fields under the same names.
impl From<ImportLeadRow> for ImportRow {
    fn from(row: ImportLeadRow) -> Self {
        Self {
            email: row.email,
            external_id: row.external_id,
            first_name: row.first_name,
            last_name: row.last_name,
            title: row.title,
            phone: row.phone,
            source: row.source,
            campaign: row.campaign,
            lifecycle_stage: row.lifecycle_stage.map(Into::into),
            company: row.company,
            domain: row.domain,
            industry: row.industry,
            employee_count: row.employee_count,
            region: row.region,
        }
    }
}

/// Up to 1,000 rows to upsert.
#[derive(InputObject)]
pub struct ImportLeadsInput {
    /// The rows.
    pub rows: Vec<ImportLeadRow>,
    /// How existing leads are found (default EMAIL).
    #[graphql(default_with = "ImportMatchOn::Email")]
    pub match_on: ImportMatchOn,
    /// Report what would happen without storing anything (default false).
    #[graphql(default)]
    pub dry_run: bool,
}

/// What happened to an imported row.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "import::RowStatus")]
pub enum ImportRowStatus {
    /// A new lead was created.
    Created,
    /// An existing lead was changed.
    Updated,
    /// An existing lead already had these values.
    Unchanged,
    /// The row was refused; see `message` and `field`. Other rows are unaffected.
    Error,
}

/// The outcome of one row.
#[derive(SimpleObject)]
pub struct ImportLeadResult {
    /// Number of the row in `rows`, counted from 1 (the first row is 1), as
    /// spreadsheets and `accord import`'s error file count.
    pub row: i32,
    /// What happened.
    pub status: ImportRowStatus,
    /// The lead created, changed or matched.
    pub lead_id: Option<ID>,
    /// Why the row was refused.
    pub message: Option<String>,
    /// The column at fault.
    pub field: Option<String>,
}

/// The outcome of an import.
#[derive(SimpleObject)]
pub struct ImportLeadsPayload {
    /// One result per row, in order.
    pub results: Vec<ImportLeadResult>,
    /// Rows that created a lead.
    pub created: i32,
    /// Rows that changed a lead.
    pub updated: i32,
    /// Rows that matched a lead with the same values.
    pub unchanged: i32,
    /// Rows refused.
    pub errors: i32,
    /// True when nothing was stored (`dryRun`).
    pub dry_run: bool,
}

#[derive(Default)]
pub struct LeadsMutation;

#[Object]
impl LeadsMutation {
    /// Add a company. Needs write access (not VIEWER; API keys need `leads:write`).
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> GqlResult<AccountPayload> {
        let fields = AccountFields {
            name: Some(input.name),
            domain: Some(input.domain),
            industry: Some(input.industry),
            employee_count: Some(input.employee_count),
            annual_revenue_minor: Some(input.annual_revenue_minor),
            currency: Some(input.currency),
            region: Some(input.region),
            owner_id: Some(optional_id("ownerId", input.owner_id.as_ref())?),
        };
        let account = accounts::create(db(ctx), actor(ctx)?, fields).await?;
        Ok(AccountPayload { account: account.into() })
    }

    /// Change a company.
    async fn update_account(&self, ctx: &Context<'_>, input: UpdateAccountInput) -> GqlResult<AccountPayload> {
        let id = parse_id("id", &input.id)?;
        let fields = AccountFields {
            name: keep_or_set("name", input.name)?,
            domain: clearable(input.domain),
            industry: clearable(input.industry),
            employee_count: clearable(input.employee_count),
            annual_revenue_minor: clearable(input.annual_revenue_minor),
            currency: clearable(input.currency),
            region: clearable(input.region),
            owner_id: clearable_id("ownerId", input.owner_id)?,
        };
        let account = accounts::update(db(ctx), actor(ctx)?, id, fields, input.expected_version).await?;
        Ok(AccountPayload { account: account.into() })
    }

    /// Archive a company: it leaves lists unless they ask for archived records.
    async fn archive_account(&self, ctx: &Context<'_>, input: ArchiveInput) -> GqlResult<AccountPayload> {
        let id = parse_id("id", &input.id)?;
        let account = accounts::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(AccountPayload { account: account.into() })
    }

    /// Add a lead (NEW unless `lifecycleStage` says otherwise).
    async fn create_lead(&self, ctx: &Context<'_>, input: CreateLeadInput) -> GqlResult<LeadPayload> {
        let fields = LeadFields {
            email: Some(input.email),
            first_name: Some(input.first_name),
            last_name: Some(input.last_name),
            title: Some(input.title),
            phone: Some(input.phone),
            source: Some(input.source),
            campaign: Some(input.campaign),
            external_id: Some(input.external_id),
            account_id: Some(optional_id("accountId", input.account_id.as_ref())?),
            persona_id: Some(optional_id("personaId", input.persona_id.as_ref())?),
            owner_id: Some(optional_id("ownerId", input.owner_id.as_ref())?),
            marketing_owner_id: Some(optional_id("marketingOwnerId", input.marketing_owner_id.as_ref())?),
        };
        let lead = super::create(db(ctx), actor(ctx)?, fields, input.lifecycle_stage.map(Into::into)).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Change a lead's data (not its stage: see `moveLeadStage`).
    async fn update_lead(&self, ctx: &Context<'_>, input: UpdateLeadInput) -> GqlResult<LeadPayload> {
        let id = parse_id("id", &input.id)?;
        let fields = LeadFields {
            email: keep_or_set("email", input.email)?,
            first_name: clearable(input.first_name),
            last_name: clearable(input.last_name),
            title: clearable(input.title),
            phone: clearable(input.phone),
            source: clearable(input.source),
            campaign: clearable(input.campaign),
            external_id: clearable(input.external_id),
            account_id: clearable_id("accountId", input.account_id)?,
            persona_id: clearable_id("personaId", input.persona_id)?,
            owner_id: clearable_id("ownerId", input.owner_id)?,
            marketing_owner_id: clearable_id("marketingOwnerId", input.marketing_owner_id)?,
        };
        let lead = super::update(db(ctx), actor(ctx)?, id, fields, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Archive a lead: it leaves lists unless they ask for archived records.
    async fn archive_lead(&self, ctx: &Context<'_>, input: ArchiveInput) -> GqlResult<LeadPayload> {
        let id = parse_id("id", &input.id)?;
        let lead = super::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Move a lead along the lifecycle. An illegal move is BAD_USER_INPUT naming the allowed targets.
    async fn move_lead_stage(&self, ctx: &Context<'_>, input: MoveLeadStageInput) -> GqlResult<LeadPayload> {
        let id = parse_id("leadId", &input.lead_id)?;
        let lead =
            super::move_stage(db(ctx), actor(ctx)?, id, input.to.into(), input.reason, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Log a call, e-mail, meeting, demo, event or note.
    async fn log_activity(&self, ctx: &Context<'_>, input: LogActivityInput) -> GqlResult<ActivityPayload> {
        let new = NewActivity {
            user_id: optional_id("userId", input.user_id.as_ref())?,
            kind: input.kind.into(),
            customer_facing: input.customer_facing,
            duration_minutes: input.duration_minutes,
            occurred_at: input.occurred_at,
            notes: input.notes,
            lead_id: optional_id("leadId", input.lead_id.as_ref())?,
            account_id: optional_id("accountId", input.account_id.as_ref())?,
            opportunity_id: optional_id("opportunityId", input.opportunity_id.as_ref())?,
        };
        let activity = activities::log(db(ctx), actor(ctx)?, new).await?;
        Ok(ActivityPayload { activity: activity.into() })
    }

    /// Record engagement events (1–500), all or nothing; repeated `externalId`s are skipped.
    /// API keys need `events:write`.
    async fn record_engagement(
        &self,
        ctx: &Context<'_>,
        input: RecordEngagementInput,
    ) -> GqlResult<RecordEngagementPayload> {
        let mut events = Vec::with_capacity(input.events.len());
        for (i, e) in input.events.into_iter().enumerate() {
            let field = format!("events[{i}].lead");
            let lead = match (e.lead_id, e.lead_email, e.lead_external_id) {
                (Some(id), None, None) => LeadRef::Id(parse_id(&field, &id)?),
                (None, Some(email), None) => LeadRef::Email(email),
                (None, None, Some(id)) => LeadRef::ExternalId(id),
                _ => {
                    return Err(
                        ApiError::bad_input(&field, "give exactly one of leadId, leadEmail, leadExternalId").into()
                    );
                }
            };
            events.push(NewEvent {
                lead,
                kind: e.kind.into(),
                occurred_at: e.occurred_at,
                properties: e.properties.map(|p| p.0),
                external_id: e.external_id,
            });
        }
        let recorded = engagement::record(db(ctx), actor(ctx)?, events).await?;
        Ok(RecordEngagementPayload {
            events: recorded.events.into_iter().map(EngagementEvent::from).collect(),
            duplicates: recorded.duplicates as i32,
            engaged_lead_ids: recorded.engaged_leads.into_iter().map(ID::from).collect(),
        })
    }

    /// Upsert up to 1,000 leads: a result per row; a bad row never affects the others;
    /// repeating a call changes nothing.
    async fn import_leads(&self, ctx: &Context<'_>, input: ImportLeadsInput) -> GqlResult<ImportLeadsPayload> {
        let rows = input.rows.into_iter().map(ImportRow::from).collect();
        let results = import::import(db(ctx), actor(ctx)?, rows, input.match_on.into(), input.dry_run).await?;
        let tally = |s: import::RowStatus| results.iter().filter(|r| r.status == s).count() as i32;
        Ok(ImportLeadsPayload {
            created: tally(import::RowStatus::Created),
            updated: tally(import::RowStatus::Updated),
            unchanged: tally(import::RowStatus::Unchanged),
            errors: tally(import::RowStatus::Error),
            dry_run: input.dry_run,
            results: results
                .into_iter()
                .map(|r| ImportLeadResult {
                    // People count rows from 1, as spreadsheets and the CLI's error file do.
                    row: r.row as i32 + 1,
                    status: r.status.into(),
                    lead_id: r.lead_id.map(ID::from),
                    message: r.message,
                    field: r.field,
                })
                .collect(),
        })
    }
}
