//! Leads and their lifecycle: the person who may buy, scored, owned and moved through
//! the funnel.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::lead::Column as LeadColumn;
use entity::lead_stage_transition::Column as TransitionColumn;
use uuid::Uuid;

use super::{
    ACTIVITIES, Account, AccountFilter, ActivityConnection, ArchiveInput, EngagementEventConnection, LifecycleStage,
    Temperature, activity_columns_shown, lead_events, nested_activities, time_key,
};
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::db::rows::{LeadColumns, Shown};
use crate::error::{ApiError, Result};
use crate::graphql::fields::Personal;
use crate::graphql::pagination::{PageArgs, sorted_cursor, sorted_window};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::prefetch::many;
use crate::graphql::{
    OrderDirection, actor, columns_shown, db, fields_of, loaders, node_fields, nodes_select, parse_id, selects,
};
use crate::leads::activities::ActivityCriteria;
use crate::leads::detail::TransitionColumns;
use crate::leads::joined::Join;
use crate::leads::{self as domain, LeadCriteria, LeadFields, LeadOrder};
use crate::org::graphql::User;
use crate::pipeline::graphql::Opportunity;

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

pub(crate) fn lead_list(order: LeadOrder, direction: OrderDirection) -> String {
    format!("leads.{}.{direction:?}", order.name())
}

connection!(LeadConnection, LeadEdge, Lead, "leads");

/// The personal fields `filter.search` looks into.
const PERSONAL_SEARCH: [PersonalField; 3] =
    [PersonalField::LeadEmail, PersonalField::LeadFirstName, PersonalField::LeadLastName];

/// The fields of `Lead` read from its stored score: the score first, then those a page
/// reads the whole stored score for (it reads the value alone for none of them; should
/// one go unseen, the DataLoader reads it).
const SCORE_FIELDS: [&str; 5] = ["score", "fitScore", "engagementScore", "temperature", "scoredAt"];

/// A person who may buy: contact data, lifecycle stage, score and owners.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Lead {
    /// Stable id of the lead.
    #[graphql(owned)]
    pub id: ID,
    // The lead's own values, each shown by its resolver: a page may not have read them
    // (`read`).
    #[graphql(skip)]
    pub email: String,
    #[graphql(skip)]
    pub first_name: Option<String>,
    #[graphql(skip)]
    pub last_name: Option<String>,
    #[graphql(skip)]
    pub title: Option<String>,
    #[graphql(skip)]
    pub phone: Option<String>,
    #[graphql(skip)]
    pub source: Option<String>,
    #[graphql(skip)]
    pub campaign: Option<String>,
    #[graphql(skip)]
    pub external_id: Option<String>,
    #[graphql(skip)]
    pub lifecycle_stage: LifecycleStage,
    #[graphql(skip)]
    pub stage_entered_at: DateTime<Utc>,
    #[graphql(skip)]
    pub persona_id: Option<ID>,
    #[graphql(skip)]
    pub archived_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub version: i32,
    #[graphql(skip)]
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub updated_at: DateTime<Utc>,
    /// Which of the lead's columns hold its values: all, unless a page read fewer.
    #[graphql(skip)]
    pub read: LeadColumns,
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
    #[graphql(skip)]
    pub persona_manual: bool,
    #[graphql(skip)]
    pub persona_keyword: Option<String>,
    #[graphql(skip)]
    pub persona_candidates: Vec<crate::personas::matching::Candidate>,
    /// The to-one relations of the page this lead came in, when the page fetched them.
    #[graphql(skip)]
    pub related: Option<Arc<LeadRelations>>,
    /// The stored score, when read with the lead; else the DataLoader fetches it.
    #[graphql(skip)]
    pub stored_score: Option<entity::lead_score::Model>,
    /// The score's value alone, when a page read only that.
    #[graphql(skip)]
    pub score_value: Option<f64>,
    /// Activities and stage history read with the lead; what is `None` there comes
    /// from DataLoaders.
    #[graphql(skip)]
    pub children: Option<Arc<domain::detail::PrefetchedChildren>>,
}

/// How a lead got its persona.
#[derive(SimpleObject)]
pub struct PersonaMatch {
    /// The lead's persona; null when the match is ambiguous.
    pub persona: Option<crate::personas::graphql::Persona>,
    /// The title keyword of the persona that matched, as agreed (such as "CFO"); null
    /// for a manual choice. For an ambiguous match, the first candidate's keyword.
    pub keyword: Option<String>,
    /// A person chose the persona (`personaId` on `createLead`/`updateLead`): title
    /// changes and newly agreed personas leave it alone until `personaId` is set to null.
    pub manual: bool,
    /// Keywords of several agreed personas tie for most specific in the title, so no
    /// persona was assigned: `candidates` names them; choose one with `updateLead(personaId)`.
    pub ambiguous: bool,
    /// The personas tied for the title, with their keyword, when `ambiguous`; else empty.
    pub candidates: Vec<PersonaCandidate>,
}

/// A persona whose title keyword matched a lead's title as specifically as another's.
#[derive(SimpleObject)]
pub struct PersonaCandidate {
    /// The persona.
    pub persona: crate::personas::graphql::Persona,
    /// Its keyword found in the title.
    pub keyword: String,
}

/// The columns `personaMatch` shows.
const PERSONA_MATCH: [LeadColumn; 4] =
    [LeadColumn::PersonaId, LeadColumn::PersonaManual, LeadColumn::PersonaKeyword, LeadColumn::PersonaCandidates];

/// The lead's columns a field of `Lead` shows; `None` for a field not listed here, for
/// which a page reads whole rows.
fn columns_of(field: &str) -> Option<&'static [LeadColumn]> {
    use LeadColumn as C;
    Some(match field {
        "id" | "__typename" | "score" | "temperature" | "scoredAt" | "fitScore" | "engagementScore"
        | "scoreBreakdown" | "stageHistory" | "activities" | "engagementEvents" | "handovers" | "opportunities" => &[],
        "email" => &[C::Email],
        "firstName" => &[C::FirstName],
        "lastName" => &[C::LastName],
        "title" => &[C::Title],
        "phone" => &[C::Phone],
        "source" => &[C::Source],
        "campaign" | "campaignDetails" => &[C::Campaign],
        "externalId" => &[C::ExternalId],
        "lifecycleStage" => &[C::LifecycleStage],
        "stageEnteredAt" | "timeInCurrentStage" => &[C::StageEnteredAt],
        "personaId" | "persona" => &[C::PersonaId],
        "personaMatch" => &PERSONA_MATCH,
        "archivedAt" => &[C::ArchivedAt],
        "version" => &[C::Version],
        "createdAt" => &[C::CreatedAt],
        "updatedAt" => &[C::UpdatedAt],
        "account" => &[C::AccountId],
        "owner" => &[C::OwnerId],
        "marketingOwner" => &[C::MarketingOwnerId],
        _ => return None,
    })
}

/// The lead's columns the nodes (`edges.node` or `nodes`) of the connection `look` show,
/// fragments and aliases included.
fn shown_columns(look: &async_graphql::Lookahead<'_>) -> LeadColumns {
    columns_shown_by(node_fields(look))
}

/// The lead's columns the selection `fields` of a lead shows.
fn columns_shown_by<'a>(fields: impl Iterator<Item = async_graphql::SelectionField<'a>>) -> LeadColumns {
    columns_shown(fields, LeadColumns::id(), columns_of)
}

/// The columns of a stage transition a field of `LeadStageTransition` shows; `None` for
/// a field not listed here, for which every column is read.
fn transition_columns_of(field: &str) -> Option<&'static [TransitionColumn]> {
    use TransitionColumn as T;
    Some(match field {
        "__typename" => &[],
        "from" => &[T::FromStage],
        "to" => &[T::ToStage],
        "actorKind" => &[T::ActorKind],
        "actorName" => &[T::ActorName],
        "actor" => &[T::ActorKind, T::ActorId],
        "reason" => &[T::Reason],
        "at" => &[T::At],
        "definitionId" => &[T::DefinitionId],
        "definitionVersion" => &[T::DefinitionVersion],
        _ => return None,
    })
}

/// The columns of stage transitions the selection `fields` of `stageHistory` shows
/// (the lead's statement adds their id).
fn transition_columns_shown<'a>(
    fields: impl IntoIterator<Item = async_graphql::SelectionField<'a>>,
) -> TransitionColumns {
    columns_shown(fields, TransitionColumns::none(), transition_columns_of)
}

/// How a page of the connection `look` reads the relation `field` of its nodes: named
/// when every selection of it asks for no more than its id and name (fragments and
/// aliases included).
fn join_in(look: &async_graphql::Lookahead<'_>, field: &str) -> Join {
    let mut selections = node_fields(look).filter(|f| f.name() == field).peekable();
    if selections.peek().is_none() {
        return Join::No;
    }
    let named = |f: async_graphql::SelectionField<'_>| matches!(f.name(), "id" | "name" | "__typename");
    if fields_of(selections).all(named) { Join::Named } else { Join::Whole }
}

/// The accounts, users and personas a page of leads selects, each fetched once for the
/// whole page. DataLoaders batch the keys their resolvers register within a 1 ms
/// window; on a busy server the resolvers of one page outlast it and a batch splits
/// (docs/performance.md). A relation the page did not select is `None` and its
/// resolver uses the DataLoader.
#[derive(Default)]
pub struct LeadRelations {
    // Built and looked up for every lead of a page: foldhash, far cheaper than SipHash.
    accounts: Option<foldhash::HashMap<Uuid, Shown<entity::account::Model>>>,
    users: Option<foldhash::HashMap<Uuid, Shown<entity::user::Model>>>,
    personas: Option<HashMap<Uuid, crate::agreements::Document<crate::personas::Persona>>>,
}

impl LeadRelations {
    /// The to-one relations the current field's nodes (`edges.node` or `nodes`) select,
    /// which [`Self::of_page`] expects the page's statement to have joined.
    pub fn joins(ctx: &Context<'_>) -> domain::joined::Joins {
        let look = ctx.look_ahead();
        domain::joined::Joins {
            lead: shown_columns(&look),
            account: join_in(&look, "account"),
            owner: join_in(&look, "owner"),
            marketing_owner: join_in(&look, "marketingOwner"),
            score: if node_fields(&look).any(|f| SCORE_FIELDS[1..].contains(&f.name())) {
                domain::joined::ScoreRead::Row
            } else {
                domain::joined::ScoreRead::Value
            },
        }
    }

    /// The relations of a page read with `joins`; personas, which agreed documents
    /// carry, come from their DataLoader in one batch.
    pub async fn of_page(
        ctx: &Context<'_>,
        joins: domain::joined::Joins,
        page: &[domain::joined::Listed],
    ) -> Result<Option<Arc<Self>>> {
        let wants_persona = nodes_select(ctx, "persona");
        if !joins.any() && !wants_persona {
            return Ok(None);
        }
        let accounts = (joins.account != Join::No).then(|| {
            page.iter().filter_map(|l| l.account.clone()).map(|a| (a.id(), a)).collect::<foldhash::HashMap<_, _>>()
        });
        let users = (joins.owner != Join::No || joins.marketing_owner != Join::No).then(|| {
            let pair = |l: &domain::joined::Listed| [l.owner.clone(), l.marketing_owner.clone()];
            page.iter().flat_map(pair).flatten().map(|u| (u.id(), u)).collect::<foldhash::HashMap<_, _>>()
        });
        // Repeated ids are fine: `load_many` asks for each key once.
        let personas = wants_persona.then(|| page.iter().filter_map(|l| l.lead.persona_id).collect());
        let personas = many(&loaders(ctx)?.personas, personas).await?;
        Ok(Some(Arc::new(Self { accounts, users, personas })))
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

impl From<entity::lead::Model> for Lead {
    fn from(m: entity::lead::Model) -> Self {
        let persona_candidates = domain::persona_match::candidates(&m);
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
            persona_manual: m.persona_manual,
            persona_keyword: m.persona_keyword,
            persona_candidates,
            related: None,
            stored_score: None,
            score_value: None,
            children: None,
            read: LeadColumns::all(),
        }
    }
}

impl From<domain::Scored> for Lead {
    fn from(s: crate::leads::Scored) -> Self {
        Self { stored_score: Some(s.score), ..Self::from(s.lead) }
    }
}

impl From<domain::joined::Listed> for Lead {
    fn from(l: domain::joined::Listed) -> Self {
        let (stored_score, score_value) = match l.score {
            domain::joined::ListedScore::Row(row) => (Some(row), None),
            domain::joined::ListedScore::Value(value) => (None, Some(value)),
        };
        Self { stored_score, score_value, read: l.read, ..Self::from(l.lead) }
    }
}

impl From<domain::detail::Detail> for Lead {
    fn from(d: domain::detail::Detail) -> Self {
        Self { stored_score: d.score, children: Some(Arc::new(d.children)), read: d.read, ..Self::from(d.lead) }
    }
}

impl Lead {
    /// This lead when it holds `columns`' values, else its whole row, through the
    /// DataLoader: a page reads the columns its look-ahead sees shown, so a selection it
    /// missed costs a statement, never a wrong value.
    async fn with(&self, ctx: &Context<'_>, columns: &[LeadColumn]) -> Result<Cow<'_, Lead>> {
        if columns.iter().all(|c| self.read.contains(*c)) {
            return Ok(Cow::Borrowed(self));
        }
        let row = loaders(ctx)?.leads.load_one(self.uuid).await?;
        let whole = Lead::from(row.ok_or_else(|| ApiError::not_found("lead"))?);
        Ok(Cow::Owned(Lead { related: self.related.clone(), ..whole }))
    }

    /// One value of this lead, from `column` (see [`Self::with`]).
    async fn shown<T: Clone + Send + Sync + 'static>(
        &self,
        ctx: &Context<'_>,
        column: LeadColumn,
        value: impl Fn(&Lead) -> &T + Send,
    ) -> Result<Cow<'_, T>> {
        Ok(match self.with(ctx, &[column]).await? {
            Cow::Borrowed(lead) => Cow::Borrowed(value(lead)),
            Cow::Owned(lead) => Cow::Owned(value(&lead).clone()),
        })
    }

    /// The stored score: read with the lead, else through the DataLoader.
    async fn stored_score(&self, ctx: &Context<'_>) -> Result<entity::lead_score::Model> {
        if let Some(score) = &self.stored_score {
            return Ok(score.clone());
        }
        let stored = loaders(ctx)?.lead_scores.load_one(self.uuid).await?;
        // Every lead gets its score row when created; none would mean it was never scored.
        Ok(stored.unwrap_or_else(|| entity::lead_score::Model::unscored(self.uuid, Uuid::nil())))
    }

    /// A user the lead names: from the page's relations when fetched, else the DataLoader
    /// (also for one the page did not fetch: a selection the look-ahead did not see).
    async fn user(&self, ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<User>> {
        let Some(id) = id else { return Ok(None) };
        if let Some(user) = self.related.as_ref().and_then(|r| r.users.as_ref()?.get(&id)) {
            return Ok(Some(user.clone().into()));
        }
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

// Fields that read a page of children box their future: async-graphql gives every field
// of every listed object a future as large as its type's largest field, and an inline
// connection field made each `score` or `owner` of a leads page copy kilobytes.
#[ComplexObject]
impl Lead {
    /// E-mail address, lower-cased; unique within the organization. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Lead.email` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::LeadEmail)")]
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<Cow<'_, String>>> {
        Ok(Some(self.shown(ctx, LeadColumn::Email, |l| &l.email).await?))
    }

    /// First name. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Lead.firstName` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::LeadFirstName)")]
    async fn first_name(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::FirstName, |l| &l.first_name).await
    }

    /// Last name. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Lead.lastName` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::LeadLastName)")]
    async fn last_name(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::LastName, |l| &l.last_name).await
    }

    /// Job title.
    async fn title(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::Title, |l| &l.title).await
    }

    /// Phone number. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Lead.phone` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::LeadPhone)")]
    async fn phone(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::Phone, |l| &l.phone).await
    }

    /// Where the lead came from, such as `webinar` or `partner`.
    async fn source(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::Source, |l| &l.source).await
    }

    /// The campaign that brought the lead (its name).
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::Campaign, |l| &l.campaign).await
    }

    /// The lead's id in the partner system that created it; unique within the organization.
    async fn external_id(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<String>>> {
        self.shown(ctx, LeadColumn::ExternalId, |l| &l.external_id).await
    }

    /// Where the lead is in the funnel.
    async fn lifecycle_stage(&self, ctx: &Context<'_>) -> Result<LifecycleStage> {
        Ok(*self.shown(ctx, LeadColumn::LifecycleStage, |l| &l.lifecycle_stage).await?)
    }

    /// When the lead entered its current stage (UTC).
    async fn stage_entered_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(*self.shown(ctx, LeadColumn::StageEnteredAt, |l| &l.stage_entered_at).await?)
    }

    /// Id of the lead's buyer persona, if assigned.
    async fn persona_id(&self, ctx: &Context<'_>) -> Result<Cow<'_, Option<ID>>> {
        self.shown(ctx, LeadColumn::PersonaId, |l| &l.persona_id).await
    }

    /// When the lead was archived; archived leads leave lists unless asked for.
    async fn archived_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(*self.shown(ctx, LeadColumn::ArchivedAt, |l| &l.archived_at).await?)
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(*self.shown(ctx, LeadColumn::Version, |l| &l.version).await?)
    }

    /// When the lead was created (UTC).
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(*self.shown(ctx, LeadColumn::CreatedAt, |l| &l.created_at).await?)
    }

    /// When the lead last changed (UTC).
    async fn updated_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(*self.shown(ctx, LeadColumn::UpdatedAt, |l| &l.updated_at).await?)
    }

    /// How hot the lead is: from its score and the WARM and HOT thresholds of the model that scored it.
    async fn temperature(&self, ctx: &Context<'_>) -> Result<Temperature> {
        Ok(self.stored_score(ctx).await?.temperature.into())
    }

    /// The lead's score: fitScore plus engagementScore, as the scoring model in force
    /// computed it (0 until a model scored the lead). `scoreBreakdown` explains every point.
    async fn score(&self, ctx: &Context<'_>) -> Result<f64> {
        if let Some(score) = self.score_value {
            return Ok(score);
        }
        Ok(self.stored_score(ctx).await?.score)
    }

    /// When the stored score was computed (by an event, a change to the lead, a new
    /// model or the daily decay rescoring); null until a scoring model scored the lead.
    /// Engagement points decay with time, so an old `scoredAt` means an older view.
    async fn scored_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.stored_score(ctx).await?.scored_at)
    }

    /// Points for how well the lead fits the ideal customer profile (the FIT rules).
    async fn fit_score(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.stored_score(ctx).await?.fit_score)
    }

    /// Points for what the lead did recently (the ENGAGEMENT rules, decayed by their half-life).
    async fn engagement_score(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.stored_score(ctx).await?.engagement_score)
    }

    /// Seconds the lead has spent in its current stage.
    async fn time_in_current_stage(&self, ctx: &Context<'_>) -> Result<i64> {
        let entered = *self.shown(ctx, LeadColumn::StageEnteredAt, |l| &l.stage_entered_at).await?;
        Ok((Utc::now() - entered).num_seconds().max(0))
    }

    /// The company the lead works for.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = *self.shown(ctx, LeadColumn::AccountId, |l| &l.account_id).await? else { return Ok(None) };
        if let Some(account) = self.related.as_ref().and_then(|r| r.accounts.as_ref()?.get(&id)) {
            return Ok(Some(account.clone().into()));
        }
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// The lead's owner in sales.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = *self.shown(ctx, LeadColumn::OwnerId, |l| &l.owner_id).await?;
        self.user(ctx, id).await
    }

    /// Every contribution to the stored score: the rule, FIT or ENGAGEMENT, the points
    /// and why. They add up to `score` exactly; empty until a scoring model scored the lead.
    async fn score_breakdown(&self, ctx: &Context<'_>) -> Result<Vec<crate::scoring::graphql::ScoreContribution>> {
        let score = loaders(ctx)?.score_breakdowns.load_one(self.uuid).await?;
        Ok(score.map(|s| s.contributions.into_iter().map(Into::into).collect()).unwrap_or_default())
    }

    /// The lead's buyer persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<crate::personas::graphql::Persona>> {
        let Some(id) = *self.shown(ctx, LeadColumn::PersonaId, |l| &l.persona_uuid).await? else { return Ok(None) };
        if let Some(persona) = self.related.as_ref().and_then(|r| r.personas.as_ref()?.get(&id)) {
            return Ok(Some(crate::personas::graphql::Persona(persona.clone())));
        }
        Ok(loaders(ctx)?.personas.load_one(id).await?.map(crate::personas::graphql::Persona))
    }

    /// How the lead got its persona: chosen by a person, or matched from its title
    /// against the agreed personas' title keywords (and which keyword), or ambiguous
    /// (several personas tie; none assigned: set `personaId` with `updateLead` to choose).
    /// null when the lead has no persona and its title matched none.
    async fn persona_match(&self, ctx: &Context<'_>) -> Result<Option<PersonaMatch>> {
        let lead = self.with(ctx, &PERSONA_MATCH).await?;
        if lead.persona_uuid.is_none() && lead.persona_candidates.is_empty() {
            return Ok(None);
        }
        let persona = lead.persona(ctx).await?;
        let ids: Vec<Uuid> = lead.persona_candidates.iter().map(|c| c.persona_id).collect();
        let found = loaders(ctx)?.personas.load_many(ids).await?;
        let candidates = lead
            .persona_candidates
            .iter()
            .filter_map(|c| {
                let persona = found.get(&c.persona_id)?.clone();
                Some(PersonaCandidate {
                    persona: crate::personas::graphql::Persona(persona),
                    keyword: c.keyword.clone(),
                })
            })
            .collect();
        Ok(Some(PersonaMatch {
            persona,
            keyword: if lead.persona_manual { None } else { lead.persona_keyword.clone() },
            manual: lead.persona_manual,
            ambiguous: lead.persona_uuid.is_none(),
            candidates,
        }))
    }

    /// The campaign record named by `campaign`, when one exists (archived ones too):
    /// budget, spend and channel of the campaign that brought the lead.
    async fn campaign_details(&self, ctx: &Context<'_>) -> Result<Option<crate::campaigns::graphql::Campaign>> {
        let Some(name) = self.shown(ctx, LeadColumn::Campaign, |l| &l.campaign).await?.into_owned() else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.campaigns_by_name.load_one(name).await?.map(Into::into))
    }

    /// The lead's owner in marketing, who nurtures it.
    async fn marketing_owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let id = *self.shown(ctx, LeadColumn::MarketingOwnerId, |l| &l.marketing_owner_id).await?;
        self.user(ctx, id).await
    }

    /// Every lifecycle move of the lead, oldest first, starting with its creation.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<LeadStageTransition>> {
        // Read with the lead, when it read the columns this selection shows.
        let shown = || transition_columns_shown(fields_of(ctx.look_ahead().selection_fields()));
        let read = self.children.as_ref().and_then(|c| c.stage_history.as_ref()).filter(|h| h.columns.covers(shown()));
        let rows = match read {
            Some(history) => history.rows.clone(),
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
    ) -> Result<ActivityConnection> {
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
    ) -> Result<EngagementEventConnection> {
        Box::pin(lead_events(ctx, self.uuid, first, after)).await
    }

    /// The lead's handovers to sales, newest first.
    async fn handovers(&self, ctx: &Context<'_>) -> Result<Vec<crate::handover::graphql::Handover>> {
        let rows = loaders(ctx)?.lead_handovers.load_one(self.uuid).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Deals opened from the lead, newest first.
    async fn opportunities(&self, ctx: &Context<'_>) -> Result<Vec<Opportunity>> {
        let rows = loaders(ctx)?.lead_opportunities.load_one(self.uuid).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Opportunity::from).collect())
    }
}

/// Who made a lifecycle move.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::ActorKind")]
pub enum ActorKind {
    /// A signed-in user.
    User,
    /// An API key of a BI tool or integration partner.
    ApiKey,
    /// Accord itself, such as a scoring rule or a won deal.
    System,
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
    /// The version of the entered stage's agreed definition in force at that moment, which
    /// the move was judged by (its rights and criteria); null where none was agreed, and for
    /// moves recorded before versions were kept. A later version never re-judges the move.
    pub definition_version: Option<i32>,
    #[graphql(skip)]
    pub actor_id: Option<Uuid>,
    #[graphql(skip)]
    pub definition_id: Option<Uuid>,
}

impl From<entity::lead_stage_transition::Model> for LeadStageTransition {
    fn from(m: entity::lead_stage_transition::Model) -> Self {
        Self {
            from: m.from_stage.map(Into::into),
            to: m.to_stage.into(),
            actor_kind: m.actor_kind.into(),
            actor_name: m.actor_name,
            reason: m.reason,
            at: m.at,
            definition_version: m.definition_version,
            actor_id: (m.actor_kind == entity::ActorKind::User).then_some(m.actor_id).flatten(),
            definition_id: m.definition_id,
        }
    }
}

#[ComplexObject]
impl LeadStageTransition {
    /// The user who made the move; null for API keys and Accord itself.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.actor_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The id of the agreed definition the move was judged by (see `definitionVersion`); null where none was agreed.
    async fn definition_id(&self) -> Option<ID> {
        self.definition_id.map(ID::from)
    }
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
    /// Case-insensitive part of the name, e-mail address or company name; the name and
    /// e-mail address only for callers who may read them (`fieldReadRules`).
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
    /// The buyer persona, chosen by a person: it sticks through title changes (see
    /// `Lead.personaMatch`). Left out or null: matched from the title against the agreed
    /// personas. Another organization's persona is NOT_FOUND; a retired one BAD_USER_INPUT.
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
    /// A persona chosen by a person, which sticks: later title changes leave it alone.
    /// Left out: unchanged. null: the choice is cleared and the persona is matched from
    /// the title again. Another organization's persona is NOT_FOUND; a retired one
    /// BAD_USER_INPUT.
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

#[derive(Default)]
pub struct LeadQuery;

#[Object]
impl LeadQuery {
    /// Leads of the organization (newest first by default). API keys need `LEADS_READ`.
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
    ) -> Result<LeadConnection> {
        let actor = actor(ctx)?;
        let order_by =
            order_by.unwrap_or(LeadOrderBy { field: LeadOrderField::CreatedAt, direction: OrderDirection::Desc });
        let order: LeadOrder = order_by.field.into();
        let list = lead_list(order, order_by.direction);
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), &list, org, |v| order.key_value(v))?;
        let f = filter.unwrap_or_default();
        let search_hidden = match f.search {
            Some(_) => crate::graphql::fields::hidden(ctx, actor, &PERSONAL_SEARCH).await?,
            None => Vec::new(),
        };
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
            search_hidden,
            account: f.account.map(|a| a.criteria("filter.account.")).transpose()?,
            include_archived: f.include_archived,
        };
        let (direction, count) = (order_by.direction.into(), selects(ctx, "totalCount"));
        let joins = LeadRelations::joins(ctx);
        let page = domain::list(db(ctx), actor, &criteria, order, direction, &window, count, joins).await?;
        let related = LeadRelations::of_page(ctx, joins, &page.items).await?;
        Ok(LeadConnection::from_page(
            ctx,
            page,
            |l| sorted_cursor(&list, org, order.key_of(l), l.lead.id),
            |l| Lead { related: related.clone(), ..Lead::from(l) },
        ))
    }

    /// One lead; null with NOT_FOUND when absent or another organization's.
    async fn lead(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Lead>> {
        let id = parse_id("id", &id)?;
        // The lead's columns the selection shows, and what it asks for of the score, the
        // first page of activities and the stage history, come in the lead's own statement.
        let (look, activities) = (ctx.look_ahead(), ctx.look_ahead().field("activities"));
        let include = domain::detail::Include {
            columns: columns_shown_by(fields_of(look.selection_fields())),
            score: SCORE_FIELDS.iter().any(|f| selects(ctx, f)),
            activities: first_activities(ctx),
            activity_columns: activity_columns_shown(&activities),
            users: join_in(&activities, "user"),
            stage_history: selects(ctx, "stageHistory"),
            transition_columns: transition_columns_shown(fields_of(look.field("stageHistory").selection_fields())),
        };
        Ok(Some(domain::detail::get(db(ctx), actor(ctx)?, id, include).await?.into()))
    }
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Add a lead (NEW unless `lifecycleStage` says otherwise).
    async fn create_lead(&self, ctx: &Context<'_>, input: CreateLeadInput) -> Result<LeadPayload> {
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
        let lead = domain::create(db(ctx), actor(ctx)?, fields, input.lifecycle_stage.map(Into::into)).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Change a lead's data (not its stage: see `moveLeadStage`).
    async fn update_lead(&self, ctx: &Context<'_>, input: UpdateLeadInput) -> Result<LeadPayload> {
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
        let lead = domain::update(db(ctx), actor(ctx)?, id, fields, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Archive a lead: it leaves lists unless they ask for archived records.
    async fn archive_lead(&self, ctx: &Context<'_>, input: ArchiveInput) -> Result<LeadPayload> {
        let id = parse_id("id", &input.id)?;
        let lead = domain::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }

    /// Move a lead along the lifecycle. An illegal move is BAD_USER_INPUT naming the allowed targets.
    async fn move_lead_stage(&self, ctx: &Context<'_>, input: MoveLeadStageInput) -> Result<LeadPayload> {
        let id = parse_id("leadId", &input.lead_id)?;
        let lead =
            domain::move_stage(db(ctx), actor(ctx)?, id, input.to.into(), input.reason, input.expected_version).await?;
        Ok(LeadPayload { lead: lead.into() })
    }
}
