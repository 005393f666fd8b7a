//! The shared customer data both teams work from: accounts, leads and their
//! lifecycle, engagement events, activities and the bulk import. Every KPI is
//! computed from these tables.

pub mod accounts;
pub mod activities;
pub mod csv_import;
pub mod detail;
pub mod engagement;
pub mod graphql;
pub mod import;
pub mod joined;
pub mod lifecycle;
pub mod persona_match;

use chrono::{DateTime, Utc};
use entity::lead::{ActiveModel, Column, Entity, Model};
use entity::lead_score::{Column as ScoreColumn, Entity as ScoreEntity, Model as ScoreModel};
use entity::{LifecycleStage, Temperature};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{ColumnRef, Expr, ExprTrait, IntoColumnRef};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, JoinType, QueryFilter, QueryResult, QuerySelect, RelationTrait, Select, Set,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::fields::PersonalField;
use crate::auth::permissions::{Scope, can_read, can_write, require};
use crate::db::Transactions;
use crate::db::keyset::{Direction, Page, Window, fetch_page_by};
use crate::db::rows::{self, Columns, FromColumns, Unread};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::archive::{self, Archivable};
use crate::events::audit::{self, Changes};
use crate::personas::matching::Matcher;
use crate::validate::{self, SHORT, like_pattern, lower_like};

/// Apply a patch to an optional field: `Some(v)` sets (validated), `None` keeps `base`.
pub(crate) fn optional_patch<T>(
    patch: Option<Option<T>>,
    base: Option<Option<T>>,
    validate: impl FnOnce(Option<T>) -> Result<Option<T>>,
) -> Result<Option<T>> {
    match (patch, base) {
        (Some(value), _) => validate(value),
        (None, Some(stored)) => Ok(stored),
        (None, None) => Ok(None),
    }
}

/// A user referenced by an input field must be an active user of the caller's
/// organization; otherwise BAD_USER_INPUT naming the field.
pub(crate) async fn ensure_user(db: &impl ConnectionTrait, actor: &Actor, id: Uuid, field: &str) -> Result<()> {
    let found = entity::user::Entity::find_by_id(id)
        .filter(entity::user::Column::OrgId.eq(actor.org_id))
        .filter(entity::user::Column::Active.eq(true))
        .one(db)
        .await?;
    if found.is_none() {
        return Err(ApiError::bad_input(field, "no such active user"));
    }
    Ok(())
}

/// Lead fields from a client: all optional for a patch; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct LeadFields {
    pub email: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub campaign: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub account_id: Option<Option<Uuid>>,
    pub persona_id: Option<Option<Uuid>>,
    pub owner_id: Option<Option<Uuid>>,
    pub marketing_owner_id: Option<Option<Uuid>>,
}

/// Validated lead fields, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeadValues {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub external_id: Option<String>,
    pub account_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    /// A person chose `persona_id`; otherwise it is matched from the title.
    pub persona_manual: bool,
    /// The title keyword that matched (automatic matches only).
    pub persona_keyword: Option<String>,
    /// The tied personas of an ambiguous match (see [`persona_match`]).
    pub persona_candidates: Option<Json>,
    pub owner_id: Option<Uuid>,
    pub marketing_owner_id: Option<Uuid>,
}

impl LeadValues {
    fn of(lead: &Model) -> Self {
        Self {
            email: lead.email.clone(),
            first_name: lead.first_name.clone(),
            last_name: lead.last_name.clone(),
            title: lead.title.clone(),
            phone: lead.phone.clone(),
            source: lead.source.clone(),
            campaign: lead.campaign.clone(),
            external_id: lead.external_id.clone(),
            account_id: lead.account_id,
            persona_id: lead.persona_id,
            persona_manual: lead.persona_manual,
            persona_keyword: lead.persona_keyword.clone(),
            persona_candidates: lead.persona_candidates.clone(),
            owner_id: lead.owner_id,
            marketing_owner_id: lead.marketing_owner_id,
        }
    }

    fn changes(&self, before: Option<&LeadValues>) -> Changes {
        let b = before;
        Changes::new()
            .field("email", b.map(|b| &b.email), Some(&self.email))
            .field("firstName", b.map(|b| &b.first_name), Some(&self.first_name))
            .field("lastName", b.map(|b| &b.last_name), Some(&self.last_name))
            .field("title", b.map(|b| &b.title), Some(&self.title))
            .field("phone", b.map(|b| &b.phone), Some(&self.phone))
            .field("source", b.map(|b| &b.source), Some(&self.source))
            .field("campaign", b.map(|b| &b.campaign), Some(&self.campaign))
            .field("externalId", b.map(|b| &b.external_id), Some(&self.external_id))
            .field("accountId", b.map(|b| &b.account_id), Some(&self.account_id))
            .field("personaId", b.map(|b| &b.persona_id), Some(&self.persona_id))
            .field("personaManual", b.map(|b| &b.persona_manual), Some(&self.persona_manual))
            .field("personaKeyword", b.map(|b| &b.persona_keyword), Some(&self.persona_keyword))
            .field("personaCandidates", b.map(|b| &b.persona_candidates), Some(&self.persona_candidates))
            .field("ownerId", b.map(|b| &b.owner_id), Some(&self.owner_id))
            .field("marketingOwnerId", b.map(|b| &b.marketing_owner_id), Some(&self.marketing_owner_id))
    }
}

/// Validate fields without touching the database (the import checks rows this way first).
pub(crate) fn validate_fields(fields: LeadFields, base: Option<&Model>) -> Result<LeadValues> {
    let text = |field: &'static str, patch: Option<Option<String>>, stored: Option<Option<String>>| {
        optional_patch(patch, stored, |v| validate::optional_text(field, v.as_deref(), SHORT))
    };
    let email = match (fields.email, base) {
        (Some(email), _) => validate::email("email", &email)?,
        (None, Some(base)) => base.email.clone(),
        (None, None) => return Err(ApiError::bad_input("email", "must not be empty")),
    };
    let names = base.map(|b| (Some(b.first_name.clone()), Some(b.last_name.clone())));
    // A persona given is a person's choice and sticks; null returns the lead to
    // matching by title; left out keeps what is stored.
    let (persona_id, persona_manual) = match fields.persona_id {
        Some(Some(id)) => (Some(id), true),
        Some(None) => (None, false),
        None => base.map_or((None, false), |b| (b.persona_id, b.persona_manual)),
    };
    Ok(LeadValues {
        email,
        first_name: text("firstName", fields.first_name, names.as_ref().map(|n| n.0.clone()))?.unwrap_or_default(),
        last_name: text("lastName", fields.last_name, names.as_ref().map(|n| n.1.clone()))?.unwrap_or_default(),
        title: text("title", fields.title, base.map(|b| b.title.clone()))?,
        phone: text("phone", fields.phone, base.map(|b| b.phone.clone()))?,
        source: text("source", fields.source, base.map(|b| b.source.clone()))?,
        campaign: text("campaign", fields.campaign, base.map(|b| b.campaign.clone()))?,
        external_id: text("externalId", fields.external_id, base.map(|b| b.external_id.clone()))?,
        account_id: optional_patch(fields.account_id, base.map(|b| b.account_id), Ok)?,
        persona_id,
        persona_manual,
        persona_keyword: base.and_then(|b| b.persona_keyword.clone()),
        persona_candidates: base.and_then(|b| b.persona_candidates.clone()),
        owner_id: optional_patch(fields.owner_id, base.map(|b| b.owner_id), Ok)?,
        marketing_owner_id: optional_patch(fields.marketing_owner_id, base.map(|b| b.marketing_owner_id), Ok)?,
    })
}

/// Check references and uniqueness of validated values against the database.
pub(crate) async fn check_references(
    db: &impl ConnectionTrait,
    actor: &Actor,
    values: &LeadValues,
    base: Option<&Model>,
) -> Result<()> {
    let changed = |new: Option<Uuid>, old: Option<Uuid>| new.is_some() && (base.is_none() || new != old);
    if changed(values.account_id, base.and_then(|b| b.account_id)) {
        accounts::ensure(db, actor, values.account_id.unwrap_or_default(), "accountId").await?;
    }
    if values.persona_manual && changed(values.persona_id, base.and_then(|b| b.persona_id)) {
        let id = values.persona_id.unwrap_or_default();
        let found = crate::agreements::get_many::<crate::personas::Persona>(db, actor.org_id, &[id]).await?;
        // Another organization's persona does not exist, as with every id.
        let persona = found.first().ok_or_else(|| ApiError::not_found("persona"))?;
        if persona.model.status == entity::AgreementStatus::Retired {
            return Err(ApiError::bad_input(
                "personaId",
                "the persona is retired; choose another or null to match by title",
            ));
        }
    }
    if changed(values.owner_id, base.and_then(|b| b.owner_id)) {
        ensure_user(db, actor, values.owner_id.unwrap_or_default(), "ownerId").await?;
    }
    if changed(values.marketing_owner_id, base.and_then(|b| b.marketing_owner_id)) {
        ensure_user(db, actor, values.marketing_owner_id.unwrap_or_default(), "marketingOwnerId").await?;
    }
    let except = base.map(|b| b.id);
    if base.is_none_or(|b| b.email != values.email)
        && let Some(existing) = find_by(db, actor, Column::Email, &values.email, except).await?
    {
        return Err(ApiError::Conflict(format!("the lead {} already has the e-mail {}", existing.id, values.email)));
    }
    if let Some(external_id) = &values.external_id
        && base.is_none_or(|b| b.external_id.as_ref() != Some(external_id))
        && let Some(existing) = find_by(db, actor, Column::ExternalId, external_id, except).await?
    {
        return Err(ApiError::Conflict(format!("the lead {} already has the external id {external_id}", existing.id)));
    }
    Ok(())
}

async fn find_by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    column: Column,
    value: &str,
    except: Option<Uuid>,
) -> Result<Option<Model>> {
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id)).filter(column.eq(value));
    if let Some(id) = except {
        select = select.filter(Column::Id.ne(id));
    }
    Ok(select.one(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::LeadsRead), "read leads")?;
    find(db, actor, id).await
}

pub(crate) async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "lead").await
}

/// One lead with its stored score, in one statement.
pub async fn get_scored(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Scored> {
    require(can_read(actor, Scope::LeadsRead), "read leads")?;
    with_scores(Entity::find_by_id(id))
        .filter(Column::OrgId.eq(actor.org_id))
        .into_model::<Scored>()
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("lead"))
}

/// A lead with its stored score (`lead_scores`), as lists and `lead(id)` read them
/// (without scoring's engagement state); `L` reads the lead, whole or as far as it was selected.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<L = Model> {
    pub lead: L,
    pub score: ScoreModel,
}

/// Prefix of the score columns [`with_scores`] adds to a select.
pub(crate) const SCORE_PREFIX: &str = "score_";

impl<L: FromQueryResult + FromColumns> FromQueryResult for Scored<L> {
    fn from_query_result(res: &QueryResult, pre: &str) -> std::result::Result<Self, DbErr> {
        if pre.is_empty()
            && let Some(scored) = rows::read(res)?
        {
            return Ok(scored);
        }
        Ok(Self {
            lead: L::from_query_result(res, pre)?,
            score: ScoreModel::from_query_result(res, &format!("{pre}{SCORE_PREFIX}"))?,
        })
    }
}

/// Lists of leads decode 50 of these per page: read by position (see [`rows`]).
impl<L: FromColumns> FromColumns for Scored<L> {
    fn from_columns(c: &mut Columns<'_>) -> Option<std::result::Result<Self, Unread>> {
        let lead = match L::from_columns(c)? {
            Ok(lead) => lead,
            Err(e) => return Some(Err(e)),
        };
        let score = ScoreModel::from_columns(c.prefixed(SCORE_PREFIX))?;
        Some(score.map(|score| Self { lead, score }))
    }
}

/// `select` of leads joined with their scores, whose columns it adds as `score_<column>`:
/// read it `into_model::<Scored>()`.
pub(crate) fn with_scores(select: Select<Entity>) -> Select<Entity> {
    let mut select = join_scores(select);
    for column in ScoreColumn::iter() {
        let name = format!("{SCORE_PREFIX}{}", column.as_str());
        select = match column {
            // Scoring's own bookkeeping, which no list shows: not read (None).
            ScoreColumn::EngagementState => select.column_as(Expr::cust("NULL"), name),
            _ => select.column_as(Expr::col((ScoreEntity, column)), name),
        };
    }
    select
}

/// `select` of leads joined with their scores, of which it adds the score alone as
/// `score_score`.
pub(crate) fn with_score_value(select: Select<Entity>) -> Select<Entity> {
    join_scores(select).column_as(Expr::col((ScoreEntity, ScoreColumn::Score)), format!("{SCORE_PREFIX}score"))
}

fn join_scores(select: Select<Entity>) -> Select<Entity> {
    select.join(JoinType::InnerJoin, entity::lead::Relation::Score.def())
}

/// Why leads' score inputs changed.
#[derive(Debug, Clone, Copy)]
pub enum ScoreInputs<'a> {
    /// New leads: each gets its first score (unscored without a model in force).
    Created,
    /// Leads whose title, account, persona or such changed.
    Changed,
    /// Leads that engaged: these events (stored already) are new.
    Engaged(&'a [entity::engagement_event::Model]),
}

type OnScoreInputsChangedFn =
    for<'a> fn(&'a DatabaseTransaction, &'a Actor, Vec<Model>, ScoreInputs<'a>) -> BoxFuture<'a, Result<Vec<Model>>>;

/// What follows a change to leads' score inputs inside the writing transaction:
/// rescoring and what it sets off (MQL, auto-handover). Scoring sits above leads and
/// registers it (`inventory::submit!`); it returns the leads as stored afterwards.
pub struct OnScoreInputsChanged(pub OnScoreInputsChangedFn);

inventory::collect!(OnScoreInputsChanged);

/// Run what follows a change to the score inputs of `leads`; returns them as stored
/// afterwards, in the same order.
pub(crate) async fn score_inputs_changed<'a>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    mut leads: Vec<Model>,
    why: ScoreInputs<'a>,
) -> Result<Vec<Model>> {
    for hook in inventory::iter::<OnScoreInputsChanged> {
        leads = (hook.0)(txn, actor, leads, why).await?;
    }
    Ok(leads)
}

/// Insert a validated lead with its first transition and audit row, inside the
/// caller's transaction.
pub(crate) async fn insert(
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut values: LeadValues,
    stage: LifecycleStage,
) -> Result<Model> {
    persona_match::assign(&mut values, &Matcher::of_org(txn, actor.org_id).await?);
    let now = Utc::now();
    let model = new_lead(actor, &values, stage, now);
    // A lead created past NEW enters its stage by hand: the stage's rights first, its
    // criteria once the lead is scored.
    let rule = match stage {
        LifecycleStage::New => None,
        _ => {
            let rule = lifecycle::StageRules::load(txn, actor.org_id).await?.rule(stage);
            let unsaved = Model::try_from(model.clone())
                .map_err(|e| ApiError::internal(format!("a new lead's values are incomplete: {e}")))?;
            rule.check_rights(actor, &unsaved, lifecycle::Via::Hand).map_err(|e| name_field(e, "lifecycleStage"))?;
            Some(rule)
        }
    };
    let lead = model.insert(txn).await?;
    let created = Some("created".into());
    lifecycle::transition(actor, lead.id, (None, stage), rule.as_ref(), created, now).insert(txn).await?;
    let changes = values.changes(None).created("lifecycleStage", &stage);
    audit::record(txn, actor, "lead.create", "lead", Some(lead.id), changes).await?;
    let mut scored = score_inputs_changed(txn, actor, vec![lead], ScoreInputs::Created).await?;
    let lead = scored.pop().ok_or_else(|| ApiError::internal("scoring lost a new lead"))?;
    if let Some(rule) = rule
        && lead.lifecycle_stage == stage
    {
        rule.check_stored(txn, &lead).await.map_err(|e| name_field(e, "lifecycleStage"))?;
        let entered = lifecycle::Entered { lead: lead.clone(), from: None, via: lifecycle::Via::Hand };
        lifecycle::stage_entered(txn, actor, std::slice::from_ref(&entered)).await?;
    }
    Ok(lead)
}

/// The same error, naming the input field `field` (a stage given on creation is
/// `lifecycleStage`, not `to`).
fn name_field(error: ApiError, field: &str) -> ApiError {
    match error {
        ApiError::BadUserInput { message, .. } => ApiError::bad_input(field, message),
        other => other,
    }
}

/// Create many leads with multi-row inserts: the same rows, transitions, audit entries
/// and scores as [`insert`] for each, in a handful of statements. The values must have
/// passed [`check_references`] (or need no check) and be free of unique clashes; a
/// clash fails the whole call.
pub(crate) async fn insert_many(
    txn: &DatabaseTransaction,
    actor: &Actor,
    leads: Vec<(LeadValues, LifecycleStage)>,
) -> Result<Vec<Model>> {
    let now = Utc::now();
    let matcher = Matcher::of_org(txn, actor.org_id).await?;
    let mut models = Vec::with_capacity(leads.len());
    let mut rows = Vec::with_capacity(leads.len());
    // Entries past NEW name the definition in force (read once for the batch).
    let rules = match leads.iter().any(|(_, stage)| *stage != LifecycleStage::New) {
        true => Some(lifecycle::StageRules::load(txn, actor.org_id).await?),
        false => None,
    };
    for (mut values, stage) in leads {
        persona_match::assign(&mut values, &matcher);
        let row = new_lead(actor, &values, stage, now);
        models.push(sea_orm::TryIntoModel::try_into_model(row.clone())?);
        rows.push(row);
    }
    crate::db::insert_new(txn, rows).await?;
    // Transitions and audit rows are built as they are written, from the stored leads
    // (which hold every value given): an audit row's changes are a tree of allocations,
    // and a thousand at once dominated an import's memory.
    crate::db::insert_new(txn, first_transitions(actor, &models, rules.as_ref(), now)).await?;
    crate::db::insert_new(txn, creation_entries(actor, &models)).await?;
    score_inputs_changed(txn, actor, models, ScoreInputs::Created).await
}

/// The first transition of each of `leads`, made one at a time as they are taken.
fn first_transitions<'a>(
    actor: &'a Actor,
    leads: &'a [Model],
    rules: Option<&'a lifecycle::StageRules>,
    now: DateTime<Utc>,
) -> impl ExactSizeIterator<Item = entity::lead_stage_transition::ActiveModel> + Send + 'a {
    leads.iter().map(move |lead| {
        let stage = lead.lifecycle_stage;
        let rule = rules.filter(|_| stage != LifecycleStage::New).map(|r| r.rule(stage));
        lifecycle::transition(actor, lead.id, (None, stage), rule.as_ref(), Some("created".into()), now)
    })
}

/// The audit entry of each of `leads`' creation, made one at a time as they are taken.
fn creation_entries<'a>(
    actor: &'a Actor,
    leads: &'a [Model],
) -> impl ExactSizeIterator<Item = entity::audit_log::ActiveModel> + Send + 'a {
    leads.iter().map(move |lead| {
        let changes = LeadValues::of(lead).changes(None).created("lifecycleStage", &lead.lifecycle_stage);
        audit::row(actor, "lead.create", "lead", Some(lead.id), changes)
    })
}

/// The row of a new lead with `values`, entering `stage` at `now`.
fn new_lead(actor: &Actor, values: &LeadValues, stage: LifecycleStage, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        account_id: Set(values.account_id),
        persona_id: Set(values.persona_id),
        email: Set(values.email.clone()),
        first_name: Set(values.first_name.clone()),
        last_name: Set(values.last_name.clone()),
        title: Set(values.title.clone()),
        phone: Set(values.phone.clone()),
        source: Set(values.source.clone()),
        campaign: Set(values.campaign.clone()),
        external_id: Set(values.external_id.clone()),
        lifecycle_stage: Set(stage),
        stage_entered_at: Set(now),
        owner_id: Set(values.owner_id),
        marketing_owner_id: Set(values.marketing_owner_id),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        persona_manual: Set(values.persona_manual),
        persona_keyword: Set(values.persona_keyword.clone()),
        persona_candidates: Set(values.persona_candidates.clone()),
    }
}

/// Create a lead (NEW unless another starting stage is given).
#[tracing::instrument(skip(db, actor, fields), fields(org = %actor.org_id))]
pub async fn create(
    db: &impl Transactions,
    actor: &Actor,
    fields: LeadFields,
    stage: Option<LifecycleStage>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "create leads")?;
    let values = validate_fields(fields, None)?;
    let txn = crate::db::begin_write(db).await?;
    check_references(&txn, actor, &values, None).await?;
    let lead = insert(&txn, actor, values, stage.unwrap_or(LifecycleStage::New)).await?;
    txn.commit().await?;
    Ok(lead)
}

/// Publish `lead.ownerChanged` when `after` has another sales or marketing owner than
/// `before` (every path that changes an owner calls it in its transaction).
pub(crate) async fn owner_changed(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    before: &Model,
    after: &Model,
) -> Result<()> {
    if before.owner_id == after.owner_id && before.marketing_owner_id == after.marketing_owner_id {
        return Ok(());
    }
    let payload = serde_json::json!({
        "ownerId": { "from": before.owner_id, "to": after.owner_id },
        "marketingOwnerId": { "from": before.marketing_owner_id, "to": after.marketing_owner_id },
        "stage": after.lifecycle_stage,
    });
    crate::events::outbox::publish(txn, actor, "lead.ownerChanged", "lead", Some(after.id), payload).await
}

/// Write validated values over a stored lead (no-op when nothing changed).
pub(crate) async fn apply(
    txn: &DatabaseTransaction,
    actor: &Actor,
    current: Model,
    mut values: LeadValues,
) -> Result<(Model, bool)> {
    persona_match::assign(&mut values, &Matcher::of_org(txn, actor.org_id).await?);
    let changes = values.changes(Some(&LeadValues::of(&current)));
    if changes.is_empty() {
        return Ok((current, false));
    }
    let id = current.id;
    let mut model: ActiveModel = current.clone().into();
    model.account_id = Set(values.account_id);
    model.persona_id = Set(values.persona_id);
    model.persona_manual = Set(values.persona_manual);
    model.persona_keyword = Set(values.persona_keyword);
    model.persona_candidates = Set(values.persona_candidates);
    model.email = Set(values.email);
    model.first_name = Set(values.first_name);
    model.last_name = Set(values.last_name);
    model.title = Set(values.title);
    model.phone = Set(values.phone);
    model.source = Set(values.source);
    model.campaign = Set(values.campaign);
    model.external_id = Set(values.external_id);
    model.owner_id = Set(values.owner_id);
    model.marketing_owner_id = Set(values.marketing_owner_id);
    let updated = save_versioned(txn, current.id, current.version, model).await?;
    audit::record(txn, actor, "lead.update", "lead", Some(id), changes).await?;
    owner_changed(txn, actor, &current, &updated).await?;
    // Title, source, campaign, account or persona may have changed: rescore.
    let id = updated.id;
    let updated = score_inputs_changed(txn, actor, vec![updated], ScoreInputs::Changed)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("lead {id} vanished")))?;
    Ok((updated, true))
}

#[tracing::instrument(skip(db, actor, fields), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl Transactions,
    actor: &Actor,
    id: Uuid,
    fields: LeadFields,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "change leads")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    let values = validate_fields(fields, Some(&current))?;
    check_references(&txn, actor, &values, Some(&current)).await?;
    let (lead, _) = apply(&txn, actor, current, values).await?;
    txn.commit().await?;
    Ok(lead)
}

pub async fn archive(db: &impl Transactions, actor: &Actor, id: Uuid, expected_version: Option<i32>) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "archive leads")?;
    let kind = Archivable { entity: "lead", noun: "lead" };
    archive::archive::<ActiveModel>(db, actor, kind, id, expected_version).await
}

/// `moveLeadStage`: move a lead along the lifecycle table.
#[tracing::instrument(skip(db, actor, reason), fields(org = %actor.org_id))]
pub async fn move_stage(
    db: &impl Transactions,
    actor: &Actor,
    id: Uuid,
    to: LifecycleStage,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "move leads")?;
    let reason = validate::optional_text("reason", reason.as_deref(), validate::LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    let lead = lifecycle::enter(&txn, actor, current, to, lifecycle::Via::Hand, reason).await?;
    txn.commit().await?;
    Ok(lead)
}

/// Which leads to list.
#[derive(Debug, Clone, Default)]
pub struct LeadCriteria {
    pub lifecycle_stages: Vec<LifecycleStage>,
    pub temperatures: Vec<Temperature>,
    pub owner_id: Option<Uuid>,
    pub marketing_owner_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub stage_entered_before: Option<DateTime<Utc>>,
    /// Case-insensitive part of the name, e-mail or company.
    pub search: Option<String>,
    /// Personal fields the caller may not read, which `search` then leaves out, so it
    /// cannot tell what they hold.
    pub search_hidden: Vec<PersonalField>,
    /// Conditions on the lead's account.
    pub account: Option<accounts::AccountCriteria>,
    pub include_archived: bool,
}

/// Largest score a filter may name, either way: scores stay within −100,000 and
/// 5,100,000 (see [`crate::scoring`]); the margin leaves room for larger models.
pub const MAX_SCORE_FILTER: f64 = 10_000_000.0;

impl LeadCriteria {
    /// Check the criteria's numbers and texts; errors name the `filter.` field.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("filter.scoreMin", self.score_min), ("filter.scoreMax", self.score_max)] {
            if let Some(value) = value {
                validate::float_range(field, value, -MAX_SCORE_FILTER, MAX_SCORE_FILTER)?;
            }
        }
        for (field, value) in
            [("filter.source", &self.source), ("filter.campaign", &self.campaign), ("filter.search", &self.search)]
        {
            if let Some(value) = value {
                validate::no_control_characters(field, value)?;
            }
        }
        if let Some(account) = &self.account {
            account.validate("filter.account.")?;
        }
        Ok(())
    }

    fn apply(&self, actor: &Actor, mut select: Select<Entity>) -> Select<Entity> {
        if !self.lifecycle_stages.is_empty() {
            select = select.filter(Column::LifecycleStage.is_in(self.lifecycle_stages.iter().copied()));
        }
        if !self.temperatures.is_empty() {
            select = select.filter(ScoreColumn::Temperature.is_in(self.temperatures.iter().copied()));
        }
        for (column, value) in [
            (Column::OwnerId, self.owner_id),
            (Column::MarketingOwnerId, self.marketing_owner_id),
            (Column::PersonaId, self.persona_id),
            (Column::AccountId, self.account_id),
        ] {
            if let Some(value) = value {
                select = select.filter(column.eq(value));
            }
        }
        if let Some(source) = &self.source {
            select = select.filter(Column::Source.eq(source.as_str()));
        }
        if let Some(campaign) = &self.campaign {
            select = select.filter(Column::Campaign.eq(campaign.as_str()));
        }
        if let Some(min) = self.score_min {
            select = select.filter(ScoreColumn::Score.gte(min));
        }
        if let Some(max) = self.score_max {
            select = select.filter(ScoreColumn::Score.lte(max));
        }
        if let Some(after) = self.created_after {
            select = select.filter(Column::CreatedAt.gte(after));
        }
        if let Some(before) = self.created_before {
            select = select.filter(Column::CreatedAt.lt(before));
        }
        if let Some(before) = self.stage_entered_before {
            select = select.filter(Column::StageEnteredAt.lt(before));
        }
        if let Some(search) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            let pattern = like_pattern(search);
            let companies = accounts_matching(
                actor,
                &accounts::AccountCriteria {
                    search: Some(search.to_owned()),
                    include_archived: true,
                    ..Default::default()
                },
            );
            // Qualified by table: lists join other tables (scores), and may join more.
            let mut matches = Expr::col((Entity, Column::AccountId)).in_subquery(companies);
            let shown = |field| !self.search_hidden.contains(&field);
            if shown(PersonalField::LeadFirstName) {
                matches = matches.or(lower_like((Entity, Column::FirstName), &pattern));
            }
            if shown(PersonalField::LeadLastName) {
                matches = matches.or(lower_like((Entity, Column::LastName), &pattern));
            }
            if shown(PersonalField::LeadEmail) {
                matches = matches.or(Expr::col((Entity, Column::Email)).like(pattern.as_str()));
            }
            select = select.filter(matches);
        }
        if let Some(account) = self.account.as_ref().filter(|a| !a.is_empty()) {
            let matching = accounts_matching(actor, account);
            select = select.filter(Expr::col((Entity, Column::AccountId)).in_subquery(matching));
        }
        if !self.include_archived {
            select = select.filter(Column::ArchivedAt.is_null());
        }
        select
    }
}

/// `SELECT id FROM accounts WHERE org_id = … AND <criteria>`, for lead filters.
fn accounts_matching(actor: &Actor, criteria: &accounts::AccountCriteria) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::QueryTrait;
    let mut criteria = criteria.clone();
    criteria.include_archived = true;
    let select =
        criteria.apply(entity::account::Entity::find().filter(entity::account::Column::OrgId.eq(actor.org_id)));
    let mut query = select.into_query();
    query.clear_selects();
    query.column((entity::account::Entity, entity::account::Column::Id));
    query
}

/// How leads are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadOrder {
    Score,
    CreatedAt,
    UpdatedAt,
    StageEnteredAt,
    LastName,
}

impl LeadOrder {
    /// The columns a page is ordered by: this order's column, then the lead's id.
    /// Score order runs along `lead_scores`' `(org_id, score, lead_id)` index.
    pub fn keys(self) -> [ColumnRef; 2] {
        match self.lead_column() {
            Some(column) => [(Entity, column).into_column_ref(), (Entity, Column::Id).into_column_ref()],
            None => [
                (ScoreEntity, ScoreColumn::Score).into_column_ref(),
                (ScoreEntity, ScoreColumn::LeadId).into_column_ref(),
            ],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Score => "score",
            Self::CreatedAt => "createdAt",
            Self::UpdatedAt => "updatedAt",
            Self::StageEnteredAt => "stageEnteredAt",
            Self::LastName => "lastName",
        }
    }

    /// The lead's column this order runs along (none for score order).
    pub fn lead_column(self) -> Option<Column> {
        match self {
            Self::Score => None,
            Self::CreatedAt => Some(Column::CreatedAt),
            Self::UpdatedAt => Some(Column::UpdatedAt),
            Self::StageEnteredAt => Some(Column::StageEnteredAt),
            Self::LastName => Some(Column::LastName),
        }
    }

    /// The cursor value of a listed lead in this order (which a page always reads).
    pub fn key_of(self, listed: &joined::Listed) -> Json {
        match self {
            Self::Score => Json::from(listed.score.value()),
            _ => self.lead_key(&listed.lead).unwrap_or_default(),
        }
    }

    /// The cursor value of a lead in an order of its own columns (None for score order).
    pub fn lead_key(self, lead: &Model) -> Option<Json> {
        Some(match self {
            Self::Score => return None,
            Self::CreatedAt => Json::from(lead.created_at.to_rfc3339()),
            Self::UpdatedAt => Json::from(lead.updated_at.to_rfc3339()),
            Self::StageEnteredAt => Json::from(lead.stage_entered_at.to_rfc3339()),
            Self::LastName => Json::from(lead.last_name.clone()),
        })
    }

    /// Turn a cursor value back into a database value of this order's column.
    pub fn key_value(self, value: &Json) -> Option<sea_orm::Value> {
        match self {
            Self::Score => value.as_f64().map(Into::into),
            Self::LastName => value.as_str().map(|s| s.to_owned().into()),
            Self::CreatedAt | Self::UpdatedAt | Self::StageEnteredAt => crate::db::keyset::time_key(value),
        }
    }
}

#[tracing::instrument(skip(db, actor, criteria, window), fields(org = %actor.org_id))]
#[allow(clippy::too_many_arguments)]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &LeadCriteria,
    order: LeadOrder,
    direction: Direction,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
    joins: joined::Joins,
) -> Result<Page<joined::Listed>> {
    require(can_read(actor, Scope::LeadsRead), "read leads")?;
    criteria.validate()?;
    let mut criteria = criteria.clone();
    if let Some(account) = criteria.account.as_mut() {
        account.load_icps(db, actor.org_id).await?;
    }
    // The cursor needs the order's column, whether shown or not.
    let joins = match order.lead_column() {
        Some(column) => joined::Joins { lead: joins.lead.with(column), ..joins },
        None => joins,
    };
    // Both organization conditions: the score order's index starts with lead_scores.org_id.
    let select = joined::with_joins(Entity::find(), joins)
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(ScoreColumn::OrgId.eq(actor.org_id));
    let select = criteria.apply(actor, select);
    fetch_page_by(db, select, &order.keys(), direction, window, count).await
}
