//! Opportunities: deals with an amount, a stage and one of the four sales strategies
//! (acquisition, retention, development, substitution). Creating one from a lead
//! moves the lead to OPPORTUNITY; winning moves lead and account to CUSTOMER.

pub mod graphql;

use chrono::{NaiveDate, Utc};
use entity::opportunity::{ActiveModel, Column, Entity, Model};
use entity::{LifecycleStage, OpportunityStage, SalesStrategy};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::agreements::taxonomies::{self, Stored, TaxonomyList};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, can_write, require};
use crate::db::Transactions;
use crate::db::keyset::{Direction, Page, Window, fetch_page_by};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::archive::{self, Archivable};
use crate::events::audit::{self, Changes};
use crate::leads::{self, accounts, ensure_user, lifecycle};
use crate::org::exchange_rates;
use crate::validate::{self, LONG, SHORT};

/// A deal to open.
#[derive(Debug, Clone)]
pub struct NewOpportunity {
    /// The account; taken from the lead when omitted.
    pub account_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub strategy: SalesStrategy,
    pub owner_id: Option<Uuid>,
    pub expected_close: Option<NaiveDate>,
}

pub(crate) async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "opportunity").await
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::LeadsRead), "read opportunities")?;
    find(db, actor, id).await
}

/// Open a deal. From a lead in SQL, the lead moves to OPPORTUNITY; a lead already in
/// OPPORTUNITY or CUSTOMER (retention, development) stays where it is.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewOpportunity) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "create opportunities")?;
    let name = validate::text("name", &new.name, SHORT)?;
    let amount_minor = validate::amount("amountMinor", new.amount_minor)?;
    let currency = validate::currency("currency", &new.currency)?;
    let txn = crate::db::begin_write(db).await?;
    let lead = match new.lead_id {
        Some(id) => {
            Some(leads::find(&txn, actor, id).await.map_err(|_| ApiError::bad_input("leadId", "no such lead"))?)
        }
        None => None,
    };
    let account = match (new.account_id, lead.as_ref().and_then(|l| l.account_id)) {
        (Some(id), _) => accounts::ensure(&txn, actor, id, "accountId").await?,
        (None, Some(id)) => accounts::find(&txn, actor, id).await?,
        (None, None) => return Err(ApiError::bad_input("accountId", "give an account, or a lead that has one")),
    };
    check_strategy(&txn, &account, new.strategy).await?;
    let account_id = account.id;
    if let Some(owner) = new.owner_id {
        ensure_user(&txn, actor, owner, "ownerId").await?;
    }
    let now = Utc::now();
    let opportunity = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        account_id: Set(account_id),
        lead_id: Set(new.lead_id),
        name: Set(name),
        amount_minor: Set(amount_minor),
        amount_reporting_minor: Set(
            exchange_rates::reporting_amount(&txn, actor.org_id, &currency, amount_minor).await?
        ),
        currency: Set(currency),
        stage: Set(OpportunityStage::Discovery),
        strategy: Set(new.strategy),
        owner_id: Set(new.owner_id.or(actor.user_id())),
        expected_close: Set(new.expected_close),
        closed_at: Set(None),
        lost_reason: Set(None),
        lost_note: Set(None),
        competitor: Set(None),
        competitor_written: Set(None),
        competitor_listed: Set(None),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if let Some(lead) = lead {
        match lead.lifecycle_stage {
            LifecycleStage::Opportunity | LifecycleStage::Customer => {}
            LifecycleStage::Sql => {
                let reason = format!("opportunity {} opened", opportunity.name);
                lifecycle::enter(&txn, actor, lead, LifecycleStage::Opportunity, lifecycle::Via::Deal, Some(reason))
                    .await?;
            }
            other => {
                return Err(ApiError::bad_input(
                    "leadId",
                    format!("the lead is {}; an opportunity opens from a SQL lead", lifecycle::stage_name(other)),
                ));
            }
        }
    }
    let changes = Changes::new()
        .created("name", &opportunity.name)
        .created("accountId", &opportunity.account_id)
        .created("leadId", &opportunity.lead_id)
        .created("amountMinor", &opportunity.amount_minor)
        .created("currency", &opportunity.currency)
        .created("strategy", &opportunity.strategy);
    audit::record(&txn, actor, "opportunity.create", "opportunity", Some(opportunity.id), changes).await?;
    txn.commit().await?;
    Ok(opportunity)
}

/// Changes to an open deal.
#[derive(Debug, Clone, Default)]
pub struct OpportunityPatch {
    pub name: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub strategy: Option<SalesStrategy>,
    pub owner_id: Option<Option<Uuid>>,
    pub expected_close: Option<Option<NaiveDate>>,
}

#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    patch: OpportunityPatch,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "change opportunities")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    let name = patch.name.map(|n| validate::text("name", &n, SHORT)).transpose()?.unwrap_or(current.name.clone());
    let amount =
        patch.amount_minor.map(|a| validate::amount("amountMinor", a)).transpose()?.unwrap_or(current.amount_minor);
    let currency =
        patch.currency.map(|c| validate::currency("currency", &c)).transpose()?.unwrap_or(current.currency.clone());
    let strategy = patch.strategy.unwrap_or(current.strategy);
    if strategy != current.strategy {
        check_strategy(&txn, &accounts::find(&txn, actor, current.account_id).await?, strategy).await?;
    }
    let owner_id = patch.owner_id.unwrap_or(current.owner_id);
    if let Some(owner) = owner_id.filter(|o| Some(*o) != current.owner_id) {
        ensure_user(&txn, actor, owner, "ownerId").await?;
    }
    let expected_close = patch.expected_close.unwrap_or(current.expected_close);
    let changes = Changes::new()
        .field("name", Some(&current.name), Some(&name))
        .field("amountMinor", Some(&current.amount_minor), Some(&amount))
        .field("currency", Some(&current.currency), Some(&currency))
        .field("strategy", Some(&current.strategy), Some(&strategy))
        .field("ownerId", Some(&current.owner_id), Some(&owner_id))
        .field("expectedClose", Some(&current.expected_close), Some(&expected_close));
    if changes.is_empty() {
        return Ok(current);
    }
    let mut model: ActiveModel = current.clone().into();
    model.name = Set(name);
    if amount != current.amount_minor || currency != current.currency {
        let reporting = exchange_rates::reporting_amount(&txn, actor.org_id, &currency, amount).await?;
        model.amount_reporting_minor = Set(reporting);
    }
    model.amount_minor = Set(amount);
    model.currency = Set(currency);
    model.strategy = Set(strategy);
    model.owner_id = Set(owner_id);
    model.expected_close = Set(expected_close);
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "opportunity.update", "opportunity", Some(id), changes).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The agreed meaning of the strategies: ACQUISITION wins a new customer; RETENTION,
/// DEVELOPMENT and SUBSTITUTION work with an existing one (a won deal, or a lead of
/// the account in CUSTOMER).
async fn check_strategy(
    db: &impl ConnectionTrait,
    account: &entity::account::Model,
    strategy: SalesStrategy,
) -> Result<()> {
    let customer = account.customer_since.is_some() || {
        let customer_lead = entity::lead::Entity::find()
            .filter(entity::lead::Column::OrgId.eq(account.org_id))
            .filter(entity::lead::Column::AccountId.eq(account.id))
            .filter(entity::lead::Column::LifecycleStage.eq(LifecycleStage::Customer))
            .one(db)
            .await?;
        customer_lead.is_some()
    };
    // The stored value is the API's enum name, such as RETENTION.
    let name = sea_orm::ActiveEnum::to_value(&strategy);
    match (strategy, customer) {
        (SalesStrategy::Acquisition, true) => Err(ApiError::bad_input(
            "strategy",
            format!(
                "{name} wins a new customer, and {} is one already: use RETENTION, DEVELOPMENT or SUBSTITUTION",
                account.name
            ),
        )),
        (SalesStrategy::Acquisition, false) | (_, true) => Ok(()),
        (_, false) => Err(ApiError::bad_input(
            "strategy",
            format!(
                "{name} works with an existing customer, and {} is not one (no won deal, no CUSTOMER lead): use ACQUISITION",
                account.name
            ),
        )),
    }
}

fn is_closed(stage: OpportunityStage) -> bool {
    matches!(stage, OpportunityStage::ClosedWon | OpportunityStage::ClosedLost)
}

/// Why a closed deal cannot change: its stage is final.
fn closed_already(stage: OpportunityStage) -> String {
    format!(
        "the opportunity is {} already, a final stage: it can no longer move or close",
        validate::public_name(stage)
    )
}

/// Move an open deal between DISCOVERY, PROPOSAL and NEGOTIATION (closing has its own mutation).
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn update_stage(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    stage: OpportunityStage,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "change opportunities")?;
    if is_closed(stage) {
        return Err(ApiError::bad_input(
            "stage",
            "closeOpportunity closes a deal; an open deal moves to DISCOVERY, PROPOSAL or NEGOTIATION",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    if is_closed(current.stage) {
        return Err(ApiError::Conflict(closed_already(current.stage)));
    }
    if current.stage == stage {
        return Ok(current);
    }
    let changes = Changes::new().field("stage", Some(&current.stage), Some(&stage));
    let mut model: ActiveModel = current.clone().into();
    model.stage = Set(stage);
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "opportunity.moveStage", "opportunity", Some(id), changes).await?;
    txn.commit().await?;
    Ok(updated)
}

/// How a deal ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Won,
    /// `reason`: a code or synonym of the LOST_REASONS list in force; `competitor`: the
    /// name, mapped through the COMPETITORS list.
    Lost {
        reason: String,
        note: Option<String>,
        competitor: Option<String>,
    },
}

/// Longest competitor name.
pub const COMPETITOR_MAX: usize = 100;

/// What a lost deal stores about why.
struct Loss {
    reason: String,
    note: Option<String>,
    competitor: Option<taxonomies::Mapped>,
    competitor_written: Option<String>,
}

/// Check a loss against the agreed lists: the reason must be listed, with the note or
/// competitor its entry needs.
async fn loss(
    txn: &impl ConnectionTrait,
    org_id: Uuid,
    reason: &str,
    note: Option<String>,
    competitor: Option<String>,
) -> Result<Loss> {
    let reasons = taxonomies::in_force(txn, org_id, TaxonomyList::LostReasons).await?;
    let entry = reasons.require("lostReason", reason)?;
    if entry.needs_note && note.is_none() {
        return Err(ApiError::bad_input("lostNote", format!("say why when the reason is {}", entry.code)));
    }
    if entry.needs_competitor && competitor.is_none() {
        let message = format!("name the competitor the deal was lost to (the reason is {})", entry.code);
        return Err(ApiError::bad_input("competitor", message));
    }
    let mapped = match &competitor {
        Some(name) => Some(taxonomies::in_force(txn, org_id, TaxonomyList::Competitors).await?.map(name)),
        None => None,
    };
    Ok(Loss { reason: entry.code.clone(), note, competitor: mapped, competitor_written: competitor })
}

// The agreed competitor list re-maps stored competitors when it is agreed or retired.
inventory::submit! {
    Stored {
        list: TaxonomyList::Competitors,
        table: "opportunities",
        written: "competitor_written",
        value: "competitor",
        listed: "competitor_listed",
    }
}

/// Close a deal. Won: its lead and account become customers. Lost: its lead goes
/// back to nurture (RECYCLED) with the reason.
#[tracing::instrument(skip(db, actor, outcome), fields(org = %actor.org_id))]
pub async fn close(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    outcome: Outcome,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "close opportunities")?;
    let lost = match outcome {
        Outcome::Won => None,
        Outcome::Lost { reason, note, competitor } => Some((
            validate::text("lostReason", &reason, taxonomies::WORD_MAX)?,
            validate::optional_text("lostNote", note.as_deref(), LONG)?,
            validate::optional_text("competitor", competitor.as_deref(), COMPETITOR_MAX)?,
        )),
    };
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    if is_closed(current.stage) {
        return Err(ApiError::Conflict(closed_already(current.stage)));
    }
    let loss = match lost {
        None => None,
        Some((reason, note, competitor)) => Some(loss(&txn, actor.org_id, &reason, note, competitor).await?),
    };
    let lost_reason = loss.as_ref().map(|l| l.reason.clone());
    let now = Utc::now();
    let stage = if lost_reason.is_none() { OpportunityStage::ClosedWon } else { OpportunityStage::ClosedLost };
    let changes = Changes::new()
        .field("stage", Some(&current.stage), Some(&stage))
        .created("lostReason", &lost_reason)
        .created("competitor", &loss.as_ref().and_then(|l| l.competitor_written.clone()));
    let (lead_id, account_id, name) = (current.lead_id, current.account_id, current.name.clone());
    let mut model: ActiveModel = current.clone().into();
    model.stage = Set(stage);
    model.closed_at = Set(Some(now));
    model.lost_reason = Set(lost_reason.clone());
    if let Some(loss) = &loss {
        model.lost_note = Set(loss.note.clone());
        model.competitor = Set(loss.competitor.as_ref().map(|c| c.value.clone()));
        model.competitor_listed = Set(loss.competitor.as_ref().and_then(|c| c.listed));
        model.competitor_written = Set(loss.competitor_written.clone());
    }
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "opportunity.close", "opportunity", Some(id), changes).await?;
    if let Some(lead_id) = lead_id {
        let lead = leads::find(&txn, actor, lead_id).await?;
        let target = if lost_reason.is_none() { LifecycleStage::Customer } else { LifecycleStage::Recycled };
        if lead.lifecycle_stage == LifecycleStage::Opportunity {
            let reason = match &lost_reason {
                None => format!("won {name}"),
                Some(why) => format!("lost {name}: {why}"),
            };
            lifecycle::enter(&txn, actor, lead, target, lifecycle::Via::Deal, Some(reason)).await?;
        }
    }
    if lost_reason.is_none() {
        accounts::mark_customer(&txn, actor, account_id).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

pub async fn archive(db: &impl Transactions, actor: &Actor, id: Uuid, expected_version: Option<i32>) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "archive opportunities")?;
    let kind = Archivable { entity: "opportunity", noun: "opportunity" };
    archive::archive::<ActiveModel>(db, actor, kind, id, expected_version).await
}

/// Which deals to list.
#[derive(Debug, Clone, Default)]
pub struct OpportunityCriteria {
    pub stages: Vec<OpportunityStage>,
    pub strategies: Vec<SalesStrategy>,
    pub owner_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub expected_close_from: Option<NaiveDate>,
    pub expected_close_to: Option<NaiveDate>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub currency: Option<String>,
    /// Lost-reason codes (as stored).
    pub lost_reasons: Vec<String>,
    /// Competitors as stored (a COMPETITORS code, or a name as written).
    pub competitors: Vec<String>,
    pub include_archived: bool,
}

impl OpportunityCriteria {
    /// Check the criteria's amounts and currency; errors name the `filter.` field.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("filter.amountMin", self.amount_min), ("filter.amountMax", self.amount_max)] {
            if let Some(value) = value {
                validate::amount(field, value)?;
            }
        }
        if let Some(currency) = &self.currency {
            validate::no_control_characters("filter.currency", currency)?;
        }
        Ok(())
    }
}

/// How deals are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpportunityOrder {
    CreatedAt,
    UpdatedAt,
    Amount,
}

impl OpportunityOrder {
    pub fn column(self) -> Column {
        match self {
            Self::CreatedAt => Column::CreatedAt,
            Self::UpdatedAt => Column::UpdatedAt,
            Self::Amount => Column::AmountReportingMinor,
        }
    }

    pub fn key_of(self, o: &Model) -> Json {
        match self {
            Self::CreatedAt => Json::from(o.created_at.to_rfc3339()),
            Self::UpdatedAt => Json::from(o.updated_at.to_rfc3339()),
            Self::Amount => Json::from(o.amount_reporting_minor.unwrap_or(o.amount_minor)),
        }
    }

    pub fn key_value(self, value: &Json) -> Option<sea_orm::Value> {
        match self {
            Self::Amount => value.as_i64().map(Into::into),
            Self::CreatedAt | Self::UpdatedAt => crate::db::keyset::time_key(value),
        }
    }
}

#[tracing::instrument(skip(db, actor, c, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    c: &OpportunityCriteria,
    order: OpportunityOrder,
    direction: Direction,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::LeadsRead), "read opportunities")?;
    c.validate()?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if !c.stages.is_empty() {
        select = select.filter(Column::Stage.is_in(c.stages.iter().copied()));
    }
    if !c.strategies.is_empty() {
        select = select.filter(Column::Strategy.is_in(c.strategies.iter().copied()));
    }
    for (column, value) in
        [(Column::OwnerId, c.owner_id), (Column::AccountId, c.account_id), (Column::LeadId, c.lead_id)]
    {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    if let Some(from) = c.expected_close_from {
        select = select.filter(Column::ExpectedClose.gte(from));
    }
    if let Some(to) = c.expected_close_to {
        select = select.filter(Column::ExpectedClose.lte(to));
    }
    if let Some(min) = c.amount_min {
        select = select.filter(Column::AmountMinor.gte(min));
    }
    if let Some(max) = c.amount_max {
        select = select.filter(Column::AmountMinor.lte(max));
    }
    if let Some(currency) = &c.currency {
        select = select.filter(Column::Currency.eq(currency.to_uppercase()));
    }
    if !c.lost_reasons.is_empty() {
        select = select.filter(Column::LostReason.is_in(c.lost_reasons.iter().cloned()));
    }
    if !c.competitors.is_empty() {
        select = select.filter(Column::Competitor.is_in(c.competitors.iter().cloned()));
    }
    if !c.include_archived {
        select = select.filter(Column::ArchivedAt.is_null());
    }
    if order == OpportunityOrder::Amount {
        // Amounts compare in the reporting currency; a deal without a rate has no place in that order.
        if let Some(deal) = select.clone().filter(Column::AmountReportingMinor.is_null()).one(db).await? {
            let settings = crate::org::settings(db, actor.org_id).await?;
            let day = Utc::now().with_timezone(&settings.tz()).date_naive();
            return Err(ApiError::MissingExchangeRate {
                currency: deal.currency,
                quote: settings.reporting_currency,
                day,
            });
        }
    }
    fetch_page_by(db, select, &[order.column(), Column::Id], direction, window, count).await
}
