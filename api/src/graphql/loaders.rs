//! DataLoaders, one per relation, created per request for the caller's organization:
//! a loader's cache never crosses callers or organizations, and every batch query is
//! scoped by `org_id`. Three generic shapes cover every relation: rows by id, all
//! children of a parent, and the first page of children of many parents at once
//! (one window-function query).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, ModelTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use crate::agreements::definitions::Definition;
use crate::agreements::icps::IdealCustomerProfile;
use crate::agreements::slas::SlaBody;
use crate::agreements::{AgreedBody, Document};
use crate::db::column;
use crate::db::request::RequestDb;
use crate::db::rows::{self, FromColumns, Named, Shown};
use crate::error::ApiError;
use crate::personas::Persona;
use crate::scoring::ScoringModel;

use entity::{account, activity, engagement_event, lead, lead_score, lead_stage_transition, opportunity, user};

/// Every loader of one request.
pub struct Loaders {
    pub users: Lazy<Users>,
    pub accounts: Lazy<ById<account::Entity>>,
    pub leads: Lazy<ById<lead::Entity>>,
    /// Leads' stored scores by lead id.
    pub lead_scores: Lazy<ById<lead_score::Entity>>,
    pub opportunities: Lazy<ById<opportunity::Entity>>,
    /// A lead's transitions, oldest first.
    pub stage_history: Lazy<ChildLists<lead_stage_transition::Entity>>,
    pub lead_opportunities: Lazy<ChildLists<opportunity::Entity>>,
    pub account_opportunities: Lazy<ChildLists<opportunity::Entity>>,
    pub lead_activities: Lazy<FirstPages<activity::Entity>>,
    pub account_activities: Lazy<FirstPages<activity::Entity>>,
    pub opportunity_activities: Lazy<FirstPages<activity::Entity>>,
    pub lead_events: Lazy<FirstPages<engagement_event::Entity>>,
    pub account_leads: Lazy<FirstPages<lead::Entity>>,
    pub lead_activity_counts: Lazy<ChildCounts<activity::Entity>>,
    pub lead_event_counts: Lazy<ChildCounts<engagement_event::Entity>>,
    pub account_lead_counts: Lazy<ChildCounts<lead::Entity>>,
    pub account_activity_counts: Lazy<ChildCounts<activity::Entity>>,
    pub opportunity_activity_counts: Lazy<ChildCounts<activity::Entity>>,
    /// A lead's handovers, newest first.
    pub lead_handovers: Lazy<ChildLists<entity::handover::Entity>>,
    /// Ideal customer profiles by id (`PersonaBody.icp`).
    pub icps: Lazy<DocumentLoader<IdealCustomerProfile>>,
    /// Personas by id (such as `Lead.persona`).
    pub personas: Lazy<DocumentLoader<Persona>>,
    /// A lead's stored score, explained (`Lead.scoreBreakdown`).
    pub score_breakdowns: Lazy<ScoreBreakdowns>,
    /// Messages by id (such as `ContentAsset.message`).
    pub messages: Lazy<DocumentLoader<crate::messaging::Message>>,
    /// Journey stages by id.
    pub journey_stages: Lazy<ById<entity::journey_stage::Entity>>,
    /// The persona links of each content asset.
    pub asset_personas: Lazy<ChildLists<entity::content_asset_persona::Entity>>,
    /// The journey-stage links of each content asset.
    pub asset_stages: Lazy<ChildLists<entity::content_asset_stage::Entity>>,
    /// Usage statistics of each content asset (`ContentAsset.usage`).
    pub content_usage: Lazy<UsageStatsLoader>,
    /// The endorsements of each piece of feedback, oldest first.
    pub feedback_endorsements: Lazy<ChildLists<entity::feedback_endorsement::Entity>>,
    /// The action items of each review meeting, oldest first.
    pub meeting_action_items: Lazy<ChildLists<entity::action_item::Entity>>,
    /// Campaigns by name, archived ones too (`Lead.campaignDetails`).
    pub campaigns_by_name: Lazy<CampaignsByName>,
    /// Non-archived leads naming each campaign (`Campaign.leadCount`).
    pub campaign_lead_counts: Lazy<CampaignLeadCounts>,
    scope: Arc<Scope>,
    nodes: OnceLock<NodeLoaders>,
    /// The organization's ideal customer profiles in force, read once per request.
    agreed_icps: tokio::sync::OnceCell<std::sync::Arc<Vec<crate::agreements::icps::AgreedIcp>>>,
    /// The organization's personal-field rules, read once per request.
    field_rules: tokio::sync::OnceCell<std::sync::Arc<crate::auth::fields::FieldRules>>,
}

/// Rows by id of the node types no relation loads, so `nodes(ids:)` costs one
/// statement per type present, not one per id.
pub struct NodeLoaders {
    pub handovers: DataLoader<ById<entity::handover::Entity>>,
    pub activities: DataLoader<ById<activity::Entity>>,
    pub engagement_events: DataLoader<ById<engagement_event::Entity>>,
    pub goals: DataLoader<ById<entity::goal::Entity>>,
    pub api_keys: DataLoader<ById<entity::api_key::Entity>>,
    pub audit_entries: DataLoader<ById<entity::audit_log::Entity>>,
    pub campaigns: DataLoader<ById<entity::campaign::Entity>>,
    pub content_assets: DataLoader<ById<entity::content_asset::Entity>>,
    pub content_usages: DataLoader<ById<entity::content_usage::Entity>>,
    pub feedback: DataLoader<ById<entity::feedback::Entity>>,
    pub feedback_endorsements: DataLoader<ById<entity::feedback_endorsement::Entity>>,
    pub review_meetings: DataLoader<ById<entity::review_meeting::Entity>>,
    pub action_items: DataLoader<ById<entity::action_item::Entity>>,
    pub rescore_jobs: DataLoader<ById<entity::rescore_job::Entity>>,
    pub definitions: DataLoader<DocumentLoader<Definition>>,
    pub slas: DataLoader<DocumentLoader<SlaBody>>,
    pub taxonomies: DataLoader<DocumentLoader<crate::agreements::taxonomies::Taxonomy>>,
    pub scoring_models: DataLoader<DocumentLoader<ScoringModel>>,
}

impl NodeLoaders {
    fn new(scope: &Scope) -> Self {
        Self {
            handovers: loader(ById::new(scope)),
            activities: loader(ById::new(scope)),
            engagement_events: loader(ById::new(scope)),
            goals: loader(ById::new(scope)),
            api_keys: loader(ById::new(scope)),
            audit_entries: loader(ById::new(scope)),
            campaigns: loader(ById::new(scope)),
            content_assets: loader(ById::new(scope)),
            content_usages: loader(ById::new(scope)),
            feedback: loader(ById::new(scope)),
            feedback_endorsements: loader(ById::new(scope)),
            review_meetings: loader(ById::new(scope)),
            action_items: loader(ById::new(scope)),
            rescore_jobs: loader(ById::new(scope)),
            definitions: loader(DocumentLoader::new(scope)),
            slas: loader(DocumentLoader::new(scope)),
            taxonomies: loader(DocumentLoader::new(scope)),
            scoring_models: loader(DocumentLoader::new(scope)),
        }
    }
}

fn loader<T: Send + Sync + 'static>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn)
}

/// A DataLoader made on first use: a request uses a few of its loaders, and making
/// every one of them up front cost an allocation each.
pub struct Lazy<T> {
    loader: OnceLock<DataLoader<T>>,
    scope: Arc<Scope>,
    make: fn(&Scope) -> T,
}

fn lazy<T>(scope: &Arc<Scope>, make: fn(&Scope) -> T) -> Lazy<T> {
    Lazy { loader: OnceLock::new(), scope: scope.clone(), make }
}

impl<T: Send + Sync + 'static> std::ops::Deref for Lazy<T> {
    type Target = DataLoader<T>;

    fn deref(&self) -> &DataLoader<T> {
        self.loader.get_or_init(|| loader((self.make)(&self.scope)))
    }
}

impl Loaders {
    pub fn new(db: &RequestDb, org_id: Uuid) -> Self {
        let scope = Arc::new(Scope { db: db.clone(), org_id });
        Self {
            users: lazy(&scope, |s| Users { scope: s.clone() }),
            accounts: lazy(&scope, ById::new),
            leads: lazy(&scope, ById::new),
            lead_scores: lazy(&scope, |s| ById::keyed(s, "lead_id")),
            opportunities: lazy(&scope, ById::new),
            stage_history: lazy(&scope, |s| ChildLists::new(s, "lead_id", "at", Order::Ascending)),
            lead_opportunities: lazy(&scope, |s| ChildLists::new(s, "lead_id", "created_at", Order::Descending)),
            account_opportunities: lazy(&scope, |s| ChildLists::new(s, "account_id", "created_at", Order::Descending)),
            lead_activities: lazy(&scope, |s| FirstPages::new(s, "lead_id", "occurred_at", Archived::Include)),
            account_activities: lazy(&scope, |s| FirstPages::new(s, "account_id", "occurred_at", Archived::Include)),
            opportunity_activities: lazy(&scope, |s| {
                FirstPages::new(s, "opportunity_id", "occurred_at", Archived::Include)
            }),
            lead_events: lazy(&scope, |s| FirstPages::new(s, "lead_id", "occurred_at", Archived::Include)),
            account_leads: lazy(&scope, |s| FirstPages::new(s, "account_id", "created_at", Archived::Skip)),
            lead_activity_counts: lazy(&scope, |s| ChildCounts::new(s, "lead_id", Archived::Include)),
            lead_event_counts: lazy(&scope, |s| ChildCounts::new(s, "lead_id", Archived::Include)),
            account_lead_counts: lazy(&scope, |s| ChildCounts::new(s, "account_id", Archived::Skip)),
            account_activity_counts: lazy(&scope, |s| ChildCounts::new(s, "account_id", Archived::Include)),
            opportunity_activity_counts: lazy(&scope, |s| ChildCounts::new(s, "opportunity_id", Archived::Include)),
            lead_handovers: lazy(&scope, |s| ChildLists::new(s, "lead_id", "handed_at", Order::Descending)),
            icps: lazy(&scope, DocumentLoader::new),
            personas: lazy(&scope, DocumentLoader::new),
            score_breakdowns: lazy(&scope, |s| ScoreBreakdowns { scope: s.clone() }),
            messages: lazy(&scope, DocumentLoader::new),
            journey_stages: lazy(&scope, ById::new),
            asset_personas: lazy(&scope, |s| ChildLists::new(s, "asset_id", "id", Order::Ascending)),
            asset_stages: lazy(&scope, |s| ChildLists::new(s, "asset_id", "id", Order::Ascending)),
            content_usage: lazy(&scope, |s| UsageStatsLoader { scope: s.clone() }),
            feedback_endorsements: lazy(&scope, |s| ChildLists::new(s, "feedback_id", "created_at", Order::Ascending)),
            meeting_action_items: lazy(&scope, |s| ChildLists::new(s, "meeting_id", "created_at", Order::Ascending)),
            campaigns_by_name: lazy(&scope, |s| CampaignsByName { scope: s.clone() }),
            campaign_lead_counts: lazy(&scope, |s| CampaignLeadCounts { scope: s.clone() }),
            scope,
            nodes: OnceLock::new(),
            agreed_icps: tokio::sync::OnceCell::new(),
            field_rules: tokio::sync::OnceCell::new(),
        }
    }

    /// The organization's personal-field rules (`graphql::fields`), read on first use
    /// (from a cache at most `ttl` old) and kept for the rest of the request.
    pub async fn field_rules(
        &self,
        ttl: std::time::Duration,
    ) -> Result<std::sync::Arc<crate::auth::fields::FieldRules>, ApiError> {
        let rules = self
            .field_rules
            .get_or_try_init(|| crate::org::field_rules::rules(&self.scope.db, self.scope.org_id, ttl))
            .await?;
        Ok(rules.clone())
    }

    /// The organization's ideal customer profiles in force (`Account.icpFit`), read
    /// on first use and kept for the rest of the request.
    pub async fn agreed_icps(&self) -> Result<std::sync::Arc<Vec<crate::agreements::icps::AgreedIcp>>, ApiError> {
        let icps = self
            .agreed_icps
            .get_or_try_init(|| async {
                crate::agreements::icps::agreed(&self.scope.db, self.scope.org_id).await.map(std::sync::Arc::new)
            })
            .await?;
        Ok(icps.clone())
    }

    /// The rest of the node types by id, for `node`/`nodes` (graphql/node.rs); made on
    /// first use, since few requests ask for them.
    pub fn nodes(&self) -> &NodeLoaders {
        self.nodes.get_or_init(|| NodeLoaders::new(&self.scope))
    }
}

#[derive(Clone)]
struct Scope {
    db: RequestDb,
    org_id: Uuid,
}

/// The order of a parent's children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// Whether archived children count and load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    Include,
    /// Archived children stay out, as they do of lists.
    Skip,
}

fn uuid_of<M: ModelTrait>(model: &M, col: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    <Option<Uuid> as sea_orm::sea_query::ValueType>::try_from(model.get(col)).ok().flatten()
}

/// Rows by id (or by another unique uuid column, such as a score's `lead_id`).
pub struct ById<E> {
    scope: Scope,
    key: &'static str,
    _entity: PhantomData<E>,
}

impl<E> ById<E> {
    fn new(scope: &Scope) -> Self {
        Self::keyed(scope, "id")
    }

    fn keyed(scope: &Scope, key: &'static str) -> Self {
        Self { scope: scope.clone(), key, _entity: PhantomData }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: EntityTrait + Send + Sync + 'static,
    E::Model: FromColumns + Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let id = column::<E>(self.key)?;
        let select =
            E::find().filter(column::<E>("org_id")?.eq(self.scope.org_id)).filter(id.is_in(keys.iter().copied()));
        let rows = rows::all::<E::Model>(&self.scope.db, select).await?;
        Ok(rows.into_iter().filter_map(|m| uuid_of(&m, id).map(|k| (k, m))).collect())
    }
}

/// The whole row of `shown`: as read, or through the DataLoader `loader` picks when a
/// list read only its id and name (NOT_FOUND, naming `what`, when it is gone since).
pub async fn whole<'a, M, L>(
    shown: &'a Shown<M>,
    ctx: &async_graphql::Context<'_>,
    loader: fn(&Loaders) -> &DataLoader<L>,
    what: &str,
) -> Result<Cow<'a, M>, ApiError>
where
    M: Named + Clone + Send + Sync + 'static,
    L: Loader<Uuid, Value = M, Error = ApiError>,
{
    if let Some(row) = shown.whole() {
        return Ok(Cow::Borrowed(row));
    }
    let row = loader(super::loaders(ctx)?).load_one(shown.id()).await?;
    Ok(Cow::Owned(row.ok_or_else(|| ApiError::not_found(what))?))
}

/// Makes `$object`, a GraphQL object over a `Shown<$model>`, from a whole or a shown row,
/// and gives it `row`: the whole row, through the DataLoader `$loader` when a list read
/// only its id and name (NOT_FOUND naming `$what` when it is gone since).
macro_rules! shown_object {
    ($object:ident, $model:ty, $loader:ident, $what:literal) => {
        impl From<$model> for $object {
            fn from(m: $model) -> Self {
                Self($crate::db::rows::Shown::Whole(m))
            }
        }

        impl From<$crate::db::rows::Shown<$model>> for $object {
            fn from(shown: $crate::db::rows::Shown<$model>) -> Self {
                Self(shown)
            }
        }

        impl $object {
            /// The whole row: as read, or through the DataLoader.
            async fn row(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::error::Result<std::borrow::Cow<'_, $model>> {
                $crate::graphql::loaders::whole(&self.0, ctx, |l| &l.$loader, $what).await
            }
        }
    };
}
pub(crate) use shown_object;

/// Users by id as the API shows them: without their password hash (not read).
pub struct Users {
    scope: Scope,
}

impl Loader<Uuid> for Users {
    type Value = user::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let select = user::Entity::find().select_only();
        let select = crate::org::users::shown_columns(select, user::Entity, "")
            .filter(user::Column::OrgId.eq(self.scope.org_id))
            .filter(user::Column::Id.is_in(keys.iter().copied()));
        let rows = rows::all::<user::Model>(&self.scope.db, select).await?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Every child of each parent, ordered.
pub struct ChildLists<E> {
    scope: Scope,
    parent: &'static str,
    order: &'static str,
    direction: Order,
    _entity: PhantomData<E>,
}

impl<E> ChildLists<E> {
    fn new(scope: &Scope, parent: &'static str, order: &'static str, direction: Order) -> Self {
        Self { scope: scope.clone(), parent, order, direction, _entity: PhantomData }
    }
}

impl<E> Loader<Uuid> for ChildLists<E>
where
    E: EntityTrait + Send + Sync + 'static,
    E::Model: FromQueryResult + Clone + Send + Sync + 'static,
{
    type Value = Vec<E::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let parent = column::<E>(self.parent)?;
        let order = match self.direction {
            Order::Ascending => sea_orm::Order::Asc,
            Order::Descending => sea_orm::Order::Desc,
        };
        let rows = E::find()
            .filter(column::<E>("org_id")?.eq(self.scope.org_id))
            .filter(parent.is_in(keys.iter().copied()))
            .order_by(column::<E>(self.order)?, order.clone())
            .order_by(column::<E>("id")?, order)
            .all(&self.scope.db)
            .await?;
        let mut grouped: HashMap<Uuid, Vec<E::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            if let Some(key) = uuid_of(&row, parent) {
                grouped.entry(key).or_default().push(row);
            }
        }
        Ok(grouped)
    }
}

/// The first `limit + 1` children of each parent (the extra row tells whether a next
/// page exists), newest first, in one query for all parents.
/// An account's leads skip archived rows ([`Archived::Skip`]), as lists do.
pub struct FirstPages<E> {
    scope: Scope,
    parent: &'static str,
    order: &'static str,
    archived: Archived,
    _entity: PhantomData<E>,
}

impl<E> FirstPages<E> {
    fn new(scope: &Scope, parent: &'static str, order: &'static str, archived: Archived) -> Self {
        Self { scope: scope.clone(), parent, order, archived, _entity: PhantomData }
    }
}

impl<E> Loader<(Uuid, u64)> for FirstPages<E>
where
    E: EntityTrait + Send + Sync + 'static,
    E::Model: FromQueryResult + Clone + Send + Sync + 'static,
{
    type Value = Vec<E::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[(Uuid, u64)]) -> Result<HashMap<(Uuid, u64), Self::Value>, Self::Error> {
        let outer = self.ranked(keys.iter().copied())?;
        let statement = self.scope.db.get_database_backend().build(&outer);
        let rows = E::find().from_raw_sql(statement).all(&self.scope.db).await?;
        let parent = column::<E>(self.parent)?;
        Ok(pages(keys, rows.into_iter().filter_map(|row| Some((uuid_of(&row, parent)?, row)))))
    }
}

impl<E> FirstPages<E>
where
    E: EntityTrait,
{
    /// The ranked rows of every parent of `keys`, up to the largest limit plus one.
    fn ranked(&self, keys: impl Iterator<Item = (Uuid, u64)> + Clone) -> Result<SelectStatement, ApiError> {
        let parent = column::<E>(self.parent)?;
        let most = keys.clone().map(|(_, limit)| limit).max().unwrap_or(0) + 1;
        let mut select =
            E::find().filter(column::<E>("org_id")?.eq(self.scope.org_id)).filter(parent.is_in(keys.map(|(id, _)| id)));
        if self.archived == Archived::Skip {
            select = select.filter(column::<E>("archived_at")?.is_null());
        }
        let mut inner = select.into_query();
        let rank = format!(
            "ROW_NUMBER() OVER (PARTITION BY \"{}\" ORDER BY \"{}\" DESC, \"id\" DESC)",
            self.parent, self.order
        );
        inner.expr_as(Expr::cust(rank), Alias::new("page_rank"));
        Ok(Query::select()
            .column((Alias::new("ranked"), Asterisk))
            .from_subquery(inner, Alias::new("ranked"))
            .and_where(Expr::col((Alias::new("ranked"), Alias::new("page_rank"))).lte(most as i64))
            .order_by((Alias::new("ranked"), Alias::new("page_rank")), sea_orm::Order::Asc)
            .to_owned())
    }
}

/// Each key's page from rows in rank order, cut to the key's limit plus one.
fn pages<K: Hash + Eq + Copy, V: Clone>(
    keys: &[(K, u64)],
    rows: impl Iterator<Item = (K, V)>,
) -> HashMap<(K, u64), Vec<V>> {
    let mut grouped: HashMap<K, Vec<V>> = HashMap::new();
    for (key, row) in rows {
        grouped.entry(key).or_default().push(row);
    }
    keys.iter()
        .map(|(id, limit)| {
            let mut page = grouped.get(id).cloned().unwrap_or_default();
            page.truncate(*limit as usize + 1);
            ((*id, *limit), page)
        })
        .collect()
}

/// The key of a first page of activities whose rows come with the user who logged each,
/// joined in the same statement: a page that shows who did what costs one statement,
/// not two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WithUsers(pub Uuid, pub u64);

impl From<(Uuid, u64)> for WithUsers {
    fn from((parent, limit): (Uuid, u64)) -> Self {
        Self(parent, limit)
    }
}

impl Loader<WithUsers> for FirstPages<activity::Entity> {
    type Value = Vec<crate::leads::detail::ActivityWithUser>;
    type Error = ApiError;

    async fn load(&self, keys: &[WithUsers]) -> Result<HashMap<WithUsers, Self::Value>, Self::Error> {
        use sea_orm::ConnectionTrait;
        let keys: Vec<(Uuid, u64)> = keys.iter().map(|k| (k.0, k.1)).collect();
        let mut outer = self.ranked(keys.iter().copied())?;
        let user_id = (Alias::new("ranked"), activity::Column::UserId);
        crate::db::left_join_related::<user::Entity>(&mut outer, USER, user_id, self.scope.org_id)?;
        let parent = column::<activity::Entity>(self.parent)?;
        let mut rows = Vec::new();
        for row in self.scope.db.query_all(&outer).await? {
            let activity = activity::Model::from_query_result(&row, "")?;
            // No user (none joined) is left to the resolver's DataLoader.
            let user = crate::db::joined::<user::Model>(&row, USER)?.map(Shown::Whole);
            if let Some(key) = uuid_of(&activity, parent) {
                rows.push((key, (activity, user)));
            }
        }
        Ok(pages(&keys, rows.into_iter()).into_iter().map(|((id, limit), page)| (WithUsers(id, limit), page)).collect())
    }
}

/// The alias of the joined user in [`WithUsers`] rows.
const USER: &str = "activity_user";

/// How many children each parent has (for `totalCount` of nested connections).
pub struct ChildCounts<E> {
    scope: Scope,
    parent: &'static str,
    archived: Archived,
    _entity: PhantomData<E>,
}

impl<E> ChildCounts<E> {
    fn new(scope: &Scope, parent: &'static str, archived: Archived) -> Self {
        Self { scope: scope.clone(), parent, archived, _entity: PhantomData }
    }
}

impl<E> Loader<Uuid> for ChildCounts<E>
where
    E: EntityTrait + Send + Sync + 'static,
{
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let parent = column::<E>(self.parent)?;
        let mut select = E::find()
            .select_only()
            .column(parent)
            .column_as(Expr::col(column::<E>("id")?).count(), "n")
            .filter(column::<E>("org_id")?.eq(self.scope.org_id))
            .filter(parent.is_in(keys.iter().copied()))
            .group_by(parent);
        if self.archived == Archived::Skip {
            select = select.filter(column::<E>("archived_at")?.is_null());
        }
        let counts: Vec<(Uuid, i64)> = select.into_tuple().all(&self.scope.db).await?;
        let mut result: HashMap<Uuid, i64> = keys.iter().map(|k| (*k, 0)).collect();
        result.extend(counts);
        Ok(result)
    }
}

/// Agreed documents of one kind by id, with their versions and approvals, within one
/// organization: three queries per batch.
pub struct DocumentLoader<B> {
    scope: Scope,
    kind: PhantomData<fn() -> B>,
}

impl<B> DocumentLoader<B> {
    fn new(scope: &Scope) -> Self {
        Self { scope: scope.clone(), kind: PhantomData }
    }
}

impl<B: AgreedBody> Loader<Uuid> for DocumentLoader<B> {
    type Value = Document<B>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let docs = crate::agreements::shown::get_many::<B>(&self.scope.db, self.scope.org_id, keys).await?;
        Ok(docs.into_iter().map(|d| (d.model.id, d)).collect())
    }
}

/// Leads' stored scores, recomputed with the model version and moment they were
/// computed with: a constant number of queries per batch of leads.
pub struct ScoreBreakdowns {
    scope: Scope,
}

impl Loader<Uuid> for ScoreBreakdowns {
    type Value = crate::scoring::score::Score;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let leads = lead::Entity::find()
            .filter(lead::Column::OrgId.eq(self.scope.org_id))
            .filter(lead::Column::Id.is_in(keys.iter().copied()))
            .all(&self.scope.db)
            .await?;
        crate::scoring::breakdowns(&self.scope.db, self.scope.org_id, &leads).await
    }
}

/// Usage statistics of content assets (three GROUP BY queries per batch; see
/// [`crate::messaging::content::usage_stats`]).
pub struct UsageStatsLoader {
    scope: Scope,
}

impl Loader<Uuid> for UsageStatsLoader {
    type Value = crate::messaging::content::UsageStats;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::messaging::content::usage_stats(&self.scope.db, self.scope.org_id, keys).await
    }
}

/// The organization's campaigns by name (leads name theirs in `leads.campaign`): one
/// statement per batch of names.
pub struct CampaignsByName {
    scope: Scope,
}

impl Loader<String> for CampaignsByName {
    type Value = entity::campaign::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        crate::campaigns::by_names(&self.scope.db, self.scope.org_id, keys).await
    }
}

/// How many non-archived leads name each campaign: one `GROUP BY` per batch of names.
pub struct CampaignLeadCounts {
    scope: Scope,
}

impl Loader<String> for CampaignLeadCounts {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        crate::campaigns::lead_counts(&self.scope.db, self.scope.org_id, keys).await
    }
}
