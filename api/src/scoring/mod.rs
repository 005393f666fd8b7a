//! Transparent lead scoring. A scoring model is an agreed document (one workflow, in
//! [`crate::agreements`]): fit rules on lead, account and persona attributes,
//! engagement rules with a cap and a half-life, and the WARM, HOT and MQL
//! thresholds. Exactly one model is in force per organization.
//!
//! Scores are stored in `lead_scores` (one row per lead) and recomputed in the
//! transaction of every change to their inputs ([`apply_model`]); a new event is
//! folded into the engagement stored with the score rather than the history read
//! again. A new model rescores every lead in the background ([`rescore`]). The score
//! itself is the pure function [`score::score`], and `Lead.scoreBreakdown` recomputes
//! exactly the stored score from every event: the model version and moment it was
//! computed with are stored with it.

pub mod graphql;
pub mod rescore;
pub mod score;

use std::collections::{HashMap, HashSet};

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{AgreementStatus, DocumentKind, EngagementKind, LifecycleStage};
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agreements::definitions::StageMover;
use crate::agreements::{self, AgreedBody, DocumentCriteria};
use crate::auth::Actor;
use crate::db::rows;
use crate::error::{ApiError, Result};
use crate::events::outbox;
use crate::leads::{ScoreInputs, lifecycle};
use crate::personas::Persona;
use crate::validate::{self, Wording};

/// What a fit rule looks at.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FitAttribute {
    /// The lead's job title (text).
    LeadTitle,
    /// Where the lead came from (text).
    LeadSource,
    /// The campaign that brought the lead (text).
    LeadCampaign,
    /// The industry of the lead's account (text).
    AccountIndustry,
    /// Employees of the lead's account (number).
    AccountEmployeeCount,
    /// The region of the lead's account (text).
    AccountRegion,
    /// Annual revenue of the lead's account, in whole currency units (number).
    AccountAnnualRevenue,
    /// The name of the lead's persona (text).
    Persona,
    /// The lead's account fits an ideal customer profile in force (`Account.icpFit`):
    /// IS_SET for any profile in force, EQUALS with `value` a profile's id for that one.
    /// The explanation names the profile that matched.
    Icp,
}

impl FitAttribute {
    /// How the attribute is named in explanations.
    pub fn path(self) -> &'static str {
        match self {
            Self::LeadTitle => "lead.title",
            Self::LeadSource => "lead.source",
            Self::LeadCampaign => "lead.campaign",
            Self::AccountIndustry => "account.industry",
            Self::AccountEmployeeCount => "account.employeeCount",
            Self::AccountRegion => "account.region",
            Self::AccountAnnualRevenue => "account.annualRevenue",
            Self::Persona => "persona",
            Self::Icp => "account.icp",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Self::AccountEmployeeCount | Self::AccountAnnualRevenue)
    }
}

/// How a fit rule tests its attribute.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleOperator {
    /// Equal to `value` (case-insensitive for text).
    Equals,
    /// Equal to one of `values`.
    OneOf,
    /// A number between `min` and `max` (inclusive; either may be open).
    Range,
    /// Text that contains `value` (case-insensitive).
    Contains,
    /// Has any value.
    IsSet,
}

/// A fit rule: points when a lead, account or persona attribute passes a test.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(input_name = "FitRuleInput")]
#[serde(rename_all = "camelCase")]
pub struct FitRule {
    /// Name of the rule, shown in every score it contributes to; unique within the model.
    pub name: String,
    /// The attribute tested.
    pub attribute: FitAttribute,
    /// The test.
    pub operator: RuleOperator,
    /// The value for EQUALS and CONTAINS.
    pub value: Option<String>,
    /// The values for ONE_OF.
    #[graphql(default)]
    #[serde(default)]
    pub values: Vec<String>,
    /// Lower bound for RANGE (inclusive), from -1,000,000,000,000,000 to 1,000,000,000,000,000.
    pub min: Option<f64>,
    /// Upper bound for RANGE (inclusive, at least `min`), from -1,000,000,000,000,000 to 1,000,000,000,000,000.
    pub max: Option<f64>,
    /// Points when the test holds: -1000 to 1000, not 0 (negative to count against a lead).
    pub points: f64,
}

/// An engagement rule: points per event of one kind, halving every `halfLifeDays`, capped.
/// Its GraphQL output and input types are in `graphql.rs`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EngagementRule {
    /// Name of the rule, shown in every score it contributes to; unique within the model.
    pub name: String,
    /// The kind of engagement event counted.
    pub kind: EngagementKind,
    /// Points for one fresh event: 0.01 to 1000.
    pub points_per_event: f64,
    /// Most points the rule gives in total: 0.01 to 100,000.
    pub cap: f64,
    /// Days after which an event's points have halved: 0.1 to 3650.
    pub half_life_days: f64,
}

/// Score thresholds.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(input_name = "ScoringThresholdsInput", name = "ScoringThresholds")]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// A score from here on is WARM: 0 to 1,000,000.
    pub warm: f64,
    /// A score from here on is HOT: 0 to 1,000,000, at least `warm`.
    pub hot: f64,
    /// Crossing this score makes a NEW, ENGAGED or RECYCLED lead an MQL: 0.01 to 1,000,000.
    pub mql: f64,
}

/// The body of one version of a scoring model.
#[derive(SimpleObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(name = "ScoringModelBody")]
#[serde(rename_all = "camelCase")]
pub struct ScoringModel {
    /// Name, such as "Default model"; unique within the organization.
    pub name: String,
    /// Optional notes: what the model is for, what changed.
    pub description: Option<String>,
    /// Rules on who the lead is.
    pub fit_rules: Vec<FitRule>,
    /// Rules on what the lead did.
    pub engagement_rules: Vec<EngagementRule>,
    /// WARM, HOT and MQL thresholds.
    pub thresholds: Thresholds,
}

/// Most points one fit rule or one engagement event gives (or, negative, takes).
const MAX_POINTS: f64 = 1000.0;
/// Most points one engagement rule gives in total.
const MAX_CAP: f64 = 100_000.0;
/// Largest end of a fit rule's RANGE (employees, or revenue in whole currency units).
const MAX_RANGE_BOUND: f64 = 1e15;
/// Largest WARM, HOT or MQL threshold. Scores lie between −100,000 (100 fit rules at
/// −1,000) and 5,100,000 (100 at 1,000 and 50 engagement rules at their largest cap).
const MAX_THRESHOLD: f64 = 1_000_000.0;

/// A number a numeric attribute can be compared with (not NaN, not infinite).
fn is_number(value: &str) -> bool {
    value.parse::<f64>().is_ok_and(f64::is_finite)
}

impl FitRule {
    fn validate(self, i: usize) -> Result<Self> {
        let f = |name: &str| format!("fitRules[{i}].{name}");
        let name = validate::text_with(&f("name"), &self.name, 200, Wording::Range)?;
        validate::float_range(&f("points"), self.points, -MAX_POINTS, MAX_POINTS)?;
        if self.points == 0.0 {
            return Err(ApiError::bad_input(&f("points"), "must not be 0"));
        }
        let value = validate::optional_text(&f("value"), self.value.as_deref(), 200)?;
        let values = validate::text_list(&f("values"), self.values, 50, 200)?;
        let numeric = self.attribute.is_numeric();
        if self.attribute == FitAttribute::Icp {
            match self.operator {
                RuleOperator::IsSet => {}
                RuleOperator::Equals => {
                    let id = value.as_deref().and_then(|v| Uuid::parse_str(v).ok());
                    if id.is_none() {
                        return Err(ApiError::bad_input(&f("value"), "give the id of an ideal customer profile"));
                    }
                }
                _ => {
                    return Err(ApiError::bad_input(
                        &f("operator"),
                        "ICP takes IS_SET (any profile in force) or EQUALS with a profile's id",
                    ));
                }
            }
        }
        match self.operator {
            RuleOperator::Equals | RuleOperator::Contains => {
                let Some(v) = &value else { return Err(ApiError::bad_input(&f("value"), "give a value to test")) };
                if numeric && self.operator == RuleOperator::Contains {
                    return Err(ApiError::bad_input(&f("operator"), "CONTAINS tests text; use RANGE for numbers"));
                }
                if numeric && !is_number(v) {
                    return Err(ApiError::bad_input(&f("value"), "must be a number for this attribute"));
                }
            }
            RuleOperator::OneOf => {
                if values.is_empty() {
                    return Err(ApiError::bad_input(&f("values"), "give at least one value"));
                }
                if numeric && !values.iter().all(|v| is_number(v)) {
                    return Err(ApiError::bad_input(&f("values"), "must be numbers for this attribute"));
                }
            }
            RuleOperator::Range => {
                if !numeric {
                    return Err(ApiError::bad_input(&f("operator"), "RANGE tests numbers: employeeCount or revenue"));
                }
                if self.min.is_none() && self.max.is_none() {
                    return Err(ApiError::bad_input(&f("min"), "give min, max or both"));
                }
                for (name, bound) in [("min", self.min), ("max", self.max)] {
                    if let Some(b) = bound {
                        validate::float_range(&f(name), b, -MAX_RANGE_BOUND, MAX_RANGE_BOUND)?;
                    }
                }
                if let (Some(min), Some(max)) = (self.min, self.max)
                    && min > max
                {
                    return Err(ApiError::bad_input(&f("max"), "must be at least min"));
                }
            }
            RuleOperator::IsSet => {}
        }
        let range = self.operator == RuleOperator::Range;
        Ok(Self {
            name,
            value: if matches!(self.operator, RuleOperator::Equals | RuleOperator::Contains) { value } else { None },
            values: if self.operator == RuleOperator::OneOf { values } else { Vec::new() },
            min: if range { self.min } else { None },
            max: if range { self.max } else { None },
            ..self
        })
    }
}

impl EngagementRule {
    fn validate(self, i: usize) -> Result<Self> {
        let f = |name: &str| format!("engagementRules[{i}].{name}");
        let name = validate::text_with(&f("name"), &self.name, 200, Wording::Range)?;
        validate::float_range(&f("pointsPerEvent"), self.points_per_event, 0.01, MAX_POINTS)?;
        validate::float_range(&f("cap"), self.cap, 0.01, MAX_CAP)?;
        validate::float_range(&f("halfLifeDays"), self.half_life_days, 0.1, 3650.0)?;
        Ok(Self { name, ..self })
    }
}

impl AgreedBody for ScoringModel {
    const KIND: DocumentKind = DocumentKind::ScoringModel;

    fn validate(self) -> Result<Self> {
        let name = validate::text_with("name", &self.name, 200, Wording::Range)?;
        let description = validate::optional_text("description", self.description.as_deref(), 2000)?;
        if self.fit_rules.len() > 100 {
            return Err(ApiError::bad_input("fitRules", "must have at most 100 rules"));
        }
        if self.engagement_rules.len() > 50 {
            return Err(ApiError::bad_input("engagementRules", "must have at most 50 rules"));
        }
        let fit_rules =
            self.fit_rules.into_iter().enumerate().map(|(i, r)| r.validate(i)).collect::<Result<Vec<_>>>()?;
        let engagement_rules =
            self.engagement_rules.into_iter().enumerate().map(|(i, r)| r.validate(i)).collect::<Result<Vec<_>>>()?;
        let mut names = HashSet::new();
        for (field, rule) in
            fit_rules.iter().enumerate().map(|(i, r)| (format!("fitRules[{i}].name"), &r.name)).chain(
                engagement_rules.iter().enumerate().map(|(i, r)| (format!("engagementRules[{i}].name"), &r.name)),
            )
        {
            if !names.insert(rule.to_lowercase()) {
                return Err(ApiError::bad_input(&field, "another rule has this name; names must be unique"));
            }
        }
        let t = &self.thresholds;
        validate::float_range("thresholds.warm", t.warm, 0.0, MAX_THRESHOLD)?;
        validate::float_range("thresholds.hot", t.hot, 0.0, MAX_THRESHOLD)?;
        validate::float_range("thresholds.mql", t.mql, 0.01, MAX_THRESHOLD)?;
        if t.hot < t.warm {
            return Err(ApiError::bad_input("thresholds.hot", "must be at least the WARM threshold"));
        }
        Ok(Self { name, description, fit_rules, engagement_rules, thresholds: self.thresholds })
    }

    fn key(&self) -> String {
        self.name.trim().to_lowercase()
    }

    fn title(&self) -> String {
        self.name.clone()
    }

    /// The ideal customer profiles its ICP rules name.
    fn references(&self) -> Vec<(&'static str, DocumentKind, Uuid)> {
        self.icp_ids().into_iter().map(|id| ("fitRules", DocumentKind::IdealCustomerProfile, id)).collect()
    }

    /// One model is in force: every other agreed scoring model of the organization is
    /// retired, and a rescoring job is queued. When the rescoring would make more leads
    /// MQLs than the organization's `promotionsNeedingConfirmation`, the approver must
    /// have confirmed that number (BAD_USER_INPUT on `confirmPromotions` otherwise, and
    /// the approval is not recorded).
    async fn on_agreed(
        txn: &sea_orm::DatabaseTransaction,
        actor: &Actor,
        doc_id: Uuid,
        version: i32,
        body: &Self,
        confirmed: &agreements::Confirmations,
    ) -> Result<()> {
        let what = format!("agreeing version {version}");
        confirm_promotions(txn, actor, doc_id, version, body, confirmed, &what).await?;
        let others = entity::document::Entity::find()
            .filter(entity::document::Column::OrgId.eq(actor.org_id))
            .filter(entity::document::Column::Kind.eq(DocumentKind::ScoringModel))
            .filter(entity::document::Column::Status.eq(AgreementStatus::Agreed))
            .filter(entity::document::Column::Id.ne(doc_id))
            .order_by_asc(entity::document::Column::Id)
            .all(txn)
            .await?;
        for other in others {
            agreements::retire_locked(txn, actor, other.id, DocumentKind::ScoringModel).await?;
        }
        rescore::enqueue(txn, actor, doc_id, version).await
    }
}

inventory::submit! { agreements::OnAgreed::of::<ScoringModel>() }

/// Refuse (BAD_USER_INPUT on `confirmPromotions`) a change that makes more leads MQLs
/// under `body` than the organization's `promotionsNeedingConfirmation`, unless the
/// approver confirmed that number. `what` names the change in the message.
async fn confirm_promotions(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    body: &ScoringModel,
    confirmed: &agreements::Confirmations,
    what: &str,
) -> Result<()> {
    let allowed = crate::org::settings(txn, actor.org_id).await?.promotions_needing_confirmation;
    let promotions = rescore::count_promotions(txn, actor, model_id, version, body).await?;
    if promotions > u64::from(allowed) && confirmed.promotions != Some(promotions) {
        return Err(ApiError::bad_input(
            "confirmPromotions",
            format!(
                "{what} makes {promotions} leads MQLs at once, more than the {allowed} this organization agrees to \
                 without confirmation (simulateScoringModel lists them): approve with confirmPromotions: {promotions}"
            ),
        ));
    }
    Ok(())
}

impl ScoringModel {
    /// Whether a fit rule reads the ideal customer profiles in force.
    pub fn uses_icps(&self) -> bool {
        self.fit_rules.iter().any(|r| r.attribute == FitAttribute::Icp)
    }

    /// The profiles its ICP rules name (EQUALS).
    fn icp_ids(&self) -> Vec<Uuid> {
        self.fit_rules
            .iter()
            .filter(|r| r.attribute == FitAttribute::Icp && r.operator == RuleOperator::Equals)
            .filter_map(|r| r.value.as_deref().and_then(|v| Uuid::parse_str(v).ok()))
            .collect()
    }
}

/// A profile in force changes what ICP rules give: agreeing or retiring one rescores
/// every lead when the model in force has an ICP rule. Agreeing one is held to the
/// model's own bar: more promotions to MQL than the organization accepts unconfirmed
/// need `confirmPromotions` on the approval that agrees the profile.
async fn rescore_on_icp_change(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    confirmed: Option<&agreements::Confirmations>,
) -> Result<()> {
    let Some(model) = in_force(txn, actor.org_id).await?.filter(|m| m.body.uses_icps()) else { return Ok(()) };
    if let Some(confirmed) = confirmed {
        let what = format!("agreeing this ideal customer profile (scoring model v{} has an ICP rule)", model.version);
        confirm_promotions(txn, actor, model.id, model.version, &model.body, confirmed, &what).await?;
    }
    rescore::enqueue(txn, actor, model.id, model.version).await
}

inventory::submit! {
    agreements::OnAgreed::effect(DocumentKind::IdealCustomerProfile, |txn, actor, _, _, confirmed| {
        Box::pin(rescore_on_icp_change(txn, actor, Some(confirmed)))
    })
}

inventory::submit! {
    agreements::OnRetired::effect(DocumentKind::IdealCustomerProfile, |txn, actor, _, _| {
        Box::pin(rescore_on_icp_change(txn, actor, None))
    })
}

/// A model version that scores leads: its document id, version number and body.
#[derive(Debug, Clone)]
pub struct ModelVersion {
    pub id: Uuid,
    pub version: i32,
    pub body: ScoringModel,
}

/// The scoring model in force in an organization, if one is agreed.
pub async fn in_force(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Option<ModelVersion>> {
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let docs = agreements::list::<ScoringModel>(db, &Actor::system(org_id), &criteria).await?;
    // One is in force by construction; should two ever be, the newest agreement wins.
    Ok(docs
        .iter()
        .filter_map(|d| d.in_force().map(|v| (d.model.updated_at, d.model.id, v)))
        .max_by_key(|(at, id, _)| (*at, *id))
        .map(|(_, id, v)| ModelVersion { id, version: v.model.version, body: v.body.clone() }))
}

/// An engagement event's columns that scoring reads, in this order.
#[derive(Debug, FromQueryResult)]
struct EventRow {
    lead_id: Uuid,
    kind: EngagementKind,
    occurred_at: DateTime<Utc>,
}

impl rows::FromColumns for EventRow {
    fn from_columns(c: &mut rows::Columns<'_>) -> Option<Result<Self, rows::Unread>> {
        let mut read = || {
            Ok(Self { lead_id: c.get("lead_id")?, kind: c.enumeration("kind")?, occurred_at: c.get("occurred_at")? })
        };
        Some(read())
    }
}

/// A stored score as scoring reads it: the row, and its engagement state decoded from the
/// column's text in one pass (through a `serde_json::Value` it was a quarter of
/// simulating every lead); `None` when there is none or it does not decode (then every
/// event is folded again).
struct StoredScore {
    score: entity::lead_score::Model,
    state: Option<score::Engagement>,
}

impl FromQueryResult for StoredScore {
    fn from_query_result(res: &sea_orm::QueryResult, pre: &str) -> std::result::Result<Self, sea_orm::DbErr> {
        let mut score = entity::lead_score::Model::from_query_result(res, pre)?;
        let state = score.engagement_state.take().and_then(|v| serde_json::from_value(v).ok());
        Ok(Self { score, state })
    }
}

impl rows::FromColumns for StoredScore {
    fn from_columns(c: &mut rows::Columns<'_>) -> Option<Result<Self, rows::Unread>> {
        let mut read = || {
            let score = rows::read_lead_score_figures(c)?;
            let state = match c.get::<Option<sea_orm::sqlx::types::Json<score::Engagement>>>("engagement_state") {
                Ok(state) => state.map(|json| json.0),
                // A column of another type (the cursor stays on it) is a schema slip: an error.
                Err(rows::Unread::Db(e)) if c.next_is("engagement_state") => return Err(rows::Unread::Db(e)),
                // A state that does not decode is folded again from the events.
                Err(rows::Unread::Db(_)) => None,
                Err(layout) => return Err(layout),
            };
            Ok(Self { score, state })
        };
        Some(read())
    }
}

/// Everything scoring reads about a set of leads, loaded in a constant number of queries.
pub(crate) struct Inputs {
    accounts: HashMap<Uuid, entity::account::Model>,
    personas: HashMap<Uuid, String>,
    /// The events of the leads whose history was read ([`Inputs::load_events`]).
    events: HashMap<Uuid, Vec<score::Event>>,
    /// The stored scores (their engagement state in `states`); a new lead may have none yet.
    stored: HashMap<Uuid, entity::lead_score::Model>,
    /// The stored scores' engagement states that decode.
    states: HashMap<Uuid, score::Engagement>,
    /// The ideal customer profiles in force, read only for a model with an ICP rule
    /// ([`Inputs::load_icps`]).
    icps: Vec<agreements::icps::AgreedIcp>,
}

impl Inputs {
    /// What scoring reads, to show or simulate a score: every event included.
    pub(crate) async fn load(db: &impl ConnectionTrait, org_id: Uuid, leads: &[entity::lead::Model]) -> Result<Self> {
        let mut inputs = Self::load_without_events(db, org_id, leads).await?;
        let ids: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
        inputs.load_events(db, org_id, &ids).await?;
        Ok(inputs)
    }

    /// What scoring reads, events apart ([`Inputs::load_events`]), without locking:
    /// to simulate, where stored engagement may spare reading them.
    pub(crate) async fn load_without_events(
        db: &impl ConnectionTrait,
        org_id: Uuid,
        leads: &[entity::lead::Model],
    ) -> Result<Self> {
        Self::load_locking(db, org_id, leads, false).await
    }

    /// What scoring reads, to store new scores inside the caller's transaction, events
    /// apart ([`Inputs::load_events`]): the stored scores, with the engagement folded
    /// into them, are locked (in lead order, so concurrent writers wait instead of
    /// deadlocking) as they are read. Two transactions recording events for the same
    /// lead at once otherwise each folded its own event into the same state, and the
    /// last to commit stored a score that missed the other's.
    pub(crate) async fn load_for_update(
        txn: &impl ConnectionTrait,
        org_id: Uuid,
        leads: &[entity::lead::Model],
    ) -> Result<Self> {
        Self::load_locking(txn, org_id, leads, true).await
    }

    async fn load_locking(
        db: &impl ConnectionTrait,
        org_id: Uuid,
        leads: &[entity::lead::Model],
        lock: bool,
    ) -> Result<Self> {
        let account_ids: Vec<Uuid> = leads.iter().filter_map(|l| l.account_id).collect();
        let persona_ids: Vec<Uuid> =
            leads.iter().filter_map(|l| l.persona_id).collect::<HashSet<_>>().into_iter().collect();
        let mut lead_ids: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
        if lock {
            // One lock order across chunks too, so that concurrent writers wait, never deadlock.
            lead_ids.sort_unstable();
        }
        let accounts = crate::leads::accounts::by_ids(db, org_id, &account_ids).await?;
        let personas = if persona_ids.is_empty() {
            HashMap::new()
        } else {
            agreements::get_many::<Persona>(db, org_id, &persona_ids)
                .await?
                .into_iter()
                .map(|d| {
                    let name = d.in_force().or(d.latest()).map(|v| v.body.name.clone()).unwrap_or(d.model.title);
                    (d.model.id, name)
                })
                .collect()
        };
        let mut stored = HashMap::with_capacity(lead_ids.len());
        let mut states = HashMap::with_capacity(lead_ids.len());
        for chunk in lead_ids.chunks(1000) {
            // By key alone: with `org_id = $1` too, PostgreSQL's generic plan for a
            // thousand keys sometimes walked the whole organization's score index.
            // The leads are the organization's; the check below keeps it so.
            let mut scores = entity::lead_score::Entity::find()
                .filter(entity::lead_score::Column::LeadId.is_in(chunk.iter().copied()));
            if lock {
                // SQLite has no row locks and needs none: its writers take turns.
                scores = scores.order_by_asc(entity::lead_score::Column::LeadId).lock_exclusive();
            }
            for row in rows::all::<StoredScore>(db, scores).await? {
                if row.score.org_id != org_id {
                    continue;
                }
                if let Some(state) = row.state {
                    states.insert(row.score.lead_id, state);
                }
                stored.insert(row.score.lead_id, row.score);
            }
        }
        Ok(Self { accounts, personas, events: HashMap::new(), stored, states, icps: Vec::new() })
    }

    /// Read every engagement event of `lead_ids`.
    async fn load_events(&mut self, db: &impl ConnectionTrait, org_id: Uuid, lead_ids: &[Uuid]) -> Result<()> {
        use entity::engagement_event::Column;
        for chunk in lead_ids.chunks(1000) {
            // Only what scoring reads: decoding every event's JSON properties cost more
            // than the scoring itself when rescoring every lead.
            let select = entity::engagement_event::Entity::find()
                .select_only()
                .columns([Column::LeadId, Column::Kind, Column::OccurredAt])
                .filter(Column::OrgId.eq(org_id))
                .filter(Column::LeadId.is_in(chunk.iter().copied()));
            for row in rows::all::<EventRow>(db, select).await? {
                self.events
                    .entry(row.lead_id)
                    .or_default()
                    .push(score::Event { kind: row.kind, occurred_at: row.occurred_at });
            }
        }
        Ok(())
    }

    fn facts<'a>(&'a self, lead: &'a entity::lead::Model) -> score::LeadFacts<'a> {
        let account = lead.account_id.and_then(|id| self.accounts.get(&id));
        let persona = lead.persona_id.and_then(|id| self.personas.get(&id)).map(String::as_str);
        score::LeadFacts::of(lead, account, persona, &self.icps)
    }

    /// Read the profiles in force when `needed` (a model scoring with them has an ICP rule).
    pub(crate) async fn load_icps(&mut self, db: &impl ConnectionTrait, org_id: Uuid, needed: bool) -> Result<()> {
        if needed && self.icps.is_empty() {
            self.icps = agreements::icps::agreed(db, org_id).await?;
        }
        Ok(())
    }

    /// Score one of the loaded leads from its events.
    pub(crate) fn score(&self, model: &ScoringModel, lead: &entity::lead::Model, now: DateTime<Utc>) -> score::Score {
        score::score_folded(model, &self.facts(lead), &self.fold(model, lead.id), now)
    }

    /// The lead's engagement folded for `model` from its loaded events.
    fn fold(&self, model: &ScoringModel, lead_id: Uuid) -> score::Engagement {
        score::Engagement::fold(model, self.events.get(&lead_id).map(Vec::as_slice).unwrap_or(&[]))
    }

    /// The stored engagement of the loaded leads, carried over to `model`'s rules where
    /// the version that scored them folds events as `model` does
    /// ([`score::Engagement::for_rules`]); the other leads need their events read.
    /// `scorers` holds the scoring models read so far, by id and version, and gains
    /// those the leads name that it lacks.
    pub(crate) async fn carried_engagement(
        &self,
        db: &impl ConnectionTrait,
        org_id: Uuid,
        model: &ScoringModel,
        scorers: &mut HashMap<Uuid, HashMap<i32, ScoringModel>>,
    ) -> Result<HashMap<Uuid, score::Engagement>> {
        let unread: Vec<Uuid> = self
            .stored
            .values()
            .filter_map(|s| s.scoring_model_id)
            .filter(|id| !scorers.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !unread.is_empty() {
            let docs = agreements::get_many::<ScoringModel>(db, org_id, &unread).await?;
            for id in unread {
                let versions = docs.iter().filter(|d| d.model.id == id).flat_map(|d| &d.versions);
                scorers.insert(id, versions.map(|v| (v.model.version, v.body.clone())).collect());
            }
        }
        let mut carried = HashMap::with_capacity(self.stored.len());
        for (lead_id, stored) in &self.stored {
            let (Some(id), Some(version), Some(state)) =
                (stored.scoring_model_id, stored.scoring_model_version, self.states.get(lead_id))
            else {
                continue;
            };
            let Some(from) = scorers.get(&id).and_then(|versions| versions.get(&version)) else { continue };
            if let Some(state) = state.for_rules(from, model) {
                carried.insert(*lead_id, state);
            }
        }
        Ok(carried)
    }

    /// The lead's engagement folded for `model` as stored with its score, with
    /// `new_events` (just recorded) folded in; `None` when it must be folded from
    /// every event: stored for another model version (or not at all), or a new event
    /// older than one already folded.
    fn stored_engagement(
        &self,
        model: &ModelVersion,
        lead_id: Uuid,
        new_events: &[score::Event],
    ) -> Option<score::Engagement> {
        let stored = self.stored.get(&lead_id)?;
        if stored.scoring_model_id != Some(model.id) || stored.scoring_model_version != Some(model.version) {
            return None;
        }
        let state = self.states.get(&lead_id)?.clone();
        state.absorb(&model.body, new_events)
    }
}

/// Write leads' scores: one multi-row upsert into `lead_scores` per 500 leads (a lead
/// without a row gets one, a scored one has it replaced). The rows of scored leads are
/// already locked, in lead order, by [`Inputs::load_for_update`]: the upsert's order
/// cannot deadlock against another writer.
pub(crate) async fn store_scores(txn: &impl ConnectionTrait, scores: Vec<entity::lead_score::Model>) -> Result<()> {
    use entity::lead_score::{ActiveModel, Column};
    let replace = [
        Column::FitScore,
        Column::EngagementScore,
        Column::Score,
        Column::Temperature,
        Column::ScoringModelId,
        Column::ScoringModelVersion,
        Column::ScoredAt,
        Column::EngagementState,
    ];
    crate::db::upsert_all::<ActiveModel, _>(txn, scores, Column::LeadId, &replace, 500).await
}

/// Does a lead with this score belong in MQL by the model's threshold? NEW and
/// ENGAGED leads qualify by membership (at or above the threshold, whenever they are
/// scored: a lowered threshold promotes them). A RECYCLED lead was sent back, so it
/// qualifies only by rising from below the threshold of the model that scored it
/// before (itself, when the model did not change) to at least this one's. A lead
/// never scored starts from 0.
pub(crate) fn qualifies(lead: &entity::lead::Model, before: Option<(f64, f64)>, after: f64, mql: f64) -> bool {
    match lead.lifecycle_stage {
        LifecycleStage::New | LifecycleStage::Engaged => after >= mql,
        LifecycleStage::Recycled => after >= mql && before.is_none_or(|(score, bar)| score < bar),
        _ => false,
    }
}

/// The stages a score can move a lead out of into MQL: [`qualifies`] is false in every other.
pub(crate) const PROMOTABLE: [LifecycleStage; 3] =
    [LifecycleStage::New, LifecycleStage::Engaged, LifecycleStage::Recycled];

/// Rescore `leads` with `model` inside the caller's transaction: store the scores,
/// move leads that crossed the MQL threshold to MQL, and hand them over when the
/// organization says so. Returns the leads as stored afterwards, in the same order.
/// `new_events` are events just recorded for some of the leads: folded into the
/// engagement stored with their scores when it is the model's, without reading the
/// leads' other events; every other lead's events are read and folded afresh.
pub(crate) async fn apply_model(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    model: &ModelVersion,
    leads: Vec<entity::lead::Model>,
    new_events: &[entity::engagement_event::Model],
    now: DateTime<Utc>,
) -> Result<Vec<entity::lead::Model>> {
    if leads.is_empty() {
        return Ok(leads);
    }
    let mut inputs = Inputs::load_for_update(txn, actor.org_id, &leads).await?;
    inputs.load_icps(txn, actor.org_id, model.body.uses_icps()).await?;
    let mut fresh: HashMap<Uuid, Vec<score::Event>> = HashMap::new();
    for e in new_events {
        fresh.entry(e.lead_id).or_default().push(score::Event { kind: e.kind, occurred_at: e.occurred_at });
    }
    let mut engagement: HashMap<Uuid, score::Engagement> = HashMap::with_capacity(leads.len());
    let mut unfolded = Vec::new();
    for lead in &leads {
        let events = fresh.get(&lead.id).map(Vec::as_slice).unwrap_or(&[]);
        match inputs.stored_engagement(model, lead.id, events) {
            Some(state) => {
                engagement.insert(lead.id, state);
            }
            None => unfolded.push(lead.id),
        }
    }
    if !unfolded.is_empty() {
        inputs.load_events(txn, actor.org_id, &unfolded).await?;
        for id in unfolded {
            let events = inputs.events.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            engagement.insert(id, score::Engagement::fold(&model.body, events));
        }
    }
    let bars = previous_bars(txn, actor.org_id, model, &inputs).await?;
    let mut scores = Vec::with_capacity(leads.len());
    let mut crossed = Vec::new();
    let mut warmed = Vec::new();
    for (index, lead) in leads.iter().enumerate() {
        let engaged = engagement.remove(&lead.id).unwrap_or_else(|| score::Engagement::fold(&model.body, &[]));
        let s = score::totals_folded(&model.body, &inputs.facts(lead), &engaged, now);
        let before = inputs.stored.get(&lead.id).filter(|s| s.scored_at.is_some()).map(|s| {
            let bar = s.scoring_model_id.zip(s.scoring_model_version).and_then(|key| bars.get(&key).copied());
            (s.score, bar.unwrap_or(model.body.thresholds.mql))
        });
        if qualifies(lead, before, s.total, model.body.thresholds.mql) {
            crossed.push((index, s.total));
        }
        if let Some(stored) = inputs.stored.get(&lead.id).filter(|s| s.scored_at.is_some())
            && stored.temperature != s.temperature
        {
            let payload = serde_json::json!({
                "from": stored.temperature, "to": s.temperature, "score": s.total,
                "scoringModelId": model.id, "scoringModelVersion": model.version,
            });
            warmed.push(outbox::Event {
                kind: "lead.temperatureChanged",
                entity: "lead",
                entity_id: Some(lead.id),
                payload,
            });
        }
        scores.push(entity::lead_score::Model {
            lead_id: lead.id,
            org_id: lead.org_id,
            fit_score: s.fit,
            engagement_score: s.engagement,
            score: s.total,
            temperature: s.temperature,
            scoring_model_id: Some(model.id),
            scoring_model_version: Some(model.version),
            scored_at: Some(now),
            engagement_state: Some(
                serde_json::to_value(&engaged)
                    .map_err(|e| ApiError::internal(format!("encoding a lead's engagement state: {e}")))?,
            ),
        });
    }
    // A lead created in this transaction has no row yet: inserted (copied when many).
    let (new, stored): (Vec<_>, Vec<_>) = scores.into_iter().partition(|s| !inputs.stored.contains_key(&s.lead_id));
    crate::db::insert_new(txn, new).await?;
    store_scores(txn, stored).await?;
    outbox::publish_all(txn, actor, warmed).await?;
    let mut out = leads;
    if crossed.is_empty() {
        return Ok(out);
    }
    // The MQL definition's rights and criteria hold for the model too: a lead it may
    // not promote, or that misses a criterion, stays where it is.
    let rule = lifecycle::StageRules::load(txn, actor.org_id).await?.rule(LifecycleStage::Mql);
    if !rule.admits(StageMover::ScoringModel) {
        return Ok(out);
    }
    let icp = lifecycle::IcpFit::load(txn, actor.org_id, &rule).await?;
    let mut entered = Vec::new();
    for (index, total) in crossed {
        let lead = out[index].clone();
        if !rule.unmet(&lead, total, icp.fits(&lead, &inputs.accounts)).is_empty() {
            continue;
        }
        let reason = format!(
            "score {} reached the MQL threshold {} of scoring model v{}",
            score::format_points(total),
            score::format_points(model.body.thresholds.mql),
            model.version
        );
        let from = lead.lifecycle_stage;
        let moved = lifecycle::move_lead(txn, actor, lead, &rule, Some(reason)).await?;
        let payload = serde_json::json!({
            "score": total, "threshold": model.body.thresholds.mql,
            "scoringModelId": model.id, "scoringModelVersion": model.version,
        });
        outbox::publish(txn, actor, "lead.qualified", "lead", Some(moved.id), payload).await?;
        out[index] = moved.clone();
        entered.push(lifecycle::Entered { lead: moved, from: Some(from), via: lifecycle::Via::ScoringModel });
    }
    lifecycle::stage_entered(txn, actor, &entered).await?;
    Ok(out)
}

/// The MQL bar of every version in `scorers` (the scoring models read so far, by id
/// and version), `model`'s own from its body.
pub(crate) fn bars_of(
    scorers: &HashMap<Uuid, HashMap<i32, ScoringModel>>,
    model: &ModelVersion,
) -> HashMap<(Uuid, i32), f64> {
    let mut bars: HashMap<(Uuid, i32), f64> = scorers
        .iter()
        .flat_map(|(id, versions)| versions.iter().map(|(version, body)| ((*id, *version), body.thresholds.mql)))
        .collect();
    bars.insert((model.id, model.version), model.body.thresholds.mql);
    bars
}

/// The MQL thresholds of the model versions that scored `inputs`' leads before, by
/// (model, version): what a RECYCLED lead had to rise above.
pub(crate) async fn previous_bars(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    model: &ModelVersion,
    inputs: &Inputs,
) -> Result<HashMap<(Uuid, i32), f64>> {
    let keys: HashSet<(Uuid, i32)> =
        inputs.stored.values().filter_map(|s| s.scoring_model_id.zip(s.scoring_model_version)).collect();
    let mut bars: HashMap<(Uuid, i32), f64> = HashMap::new();
    bars.insert((model.id, model.version), model.body.thresholds.mql);
    let others: Vec<Uuid> =
        keys.iter().filter(|k| !bars.contains_key(k)).map(|(id, _)| *id).collect::<HashSet<_>>().into_iter().collect();
    if others.is_empty() {
        return Ok(bars);
    }
    for doc in agreements::get_many::<ScoringModel>(db, org_id, &others).await? {
        for version in &doc.versions {
            bars.insert((doc.model.id, version.model.version), version.body.thresholds.mql);
        }
    }
    Ok(bars)
}

/// Rescore leads whose score inputs changed, inside the writing transaction: with the
/// model in force (moving leads that cross the MQL threshold, and handing them over
/// when the organization says so), or, for new leads without a model in force, as
/// unscored (0, COLD). Every lead has its `lead_scores` row from its creation on.
fn score_inputs_changed<'a>(
    txn: &'a sea_orm::DatabaseTransaction,
    actor: &'a Actor,
    leads: Vec<entity::lead::Model>,
    why: ScoreInputs<'a>,
) -> BoxFuture<'a, Result<Vec<entity::lead::Model>>> {
    Box::pin(async move {
        if leads.is_empty() {
            return Ok(leads);
        }
        match in_force(txn, actor.org_id).await? {
            Some(model) => {
                let new_events = match why {
                    ScoreInputs::Engaged(events) => events,
                    ScoreInputs::Created | ScoreInputs::Changed => &[],
                };
                apply_model(txn, actor, &model, leads, new_events, Utc::now()).await
            }
            None if matches!(why, ScoreInputs::Created) => {
                let unscored: Vec<_> =
                    leads.iter().map(|l| entity::lead_score::Model::unscored(l.id, l.org_id)).collect();
                crate::db::insert_new(txn, unscored).await?;
                Ok(leads)
            }
            None => Ok(leads),
        }
    })
}

inventory::submit! { crate::leads::OnScoreInputsChanged(score_inputs_changed) }

/// The stored scores, recomputed with the model version and at the moment they were
/// computed: each lead's breakdown (none for a lead never scored).
pub async fn breakdowns(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    leads: &[entity::lead::Model],
) -> Result<HashMap<Uuid, score::Score>> {
    if leads.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inputs = Inputs::load(db, org_id, leads).await?;
    let model_ids: Vec<Uuid> =
        inputs.stored.values().filter_map(|s| s.scoring_model_id).collect::<HashSet<_>>().into_iter().collect();
    if model_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let docs = agreements::get_many::<ScoringModel>(db, org_id, &model_ids).await?;
    let needed = docs.iter().any(|d| d.versions.iter().any(|v| v.body.uses_icps()));
    inputs.load_icps(db, org_id, needed).await?;
    let mut out = HashMap::new();
    for lead in leads {
        let Some(stored) = inputs.stored.get(&lead.id) else { continue };
        let (Some(id), Some(version), Some(at)) =
            (stored.scoring_model_id, stored.scoring_model_version, stored.scored_at)
        else {
            continue;
        };
        let Some(body) = docs.iter().find(|d| d.model.id == id).and_then(|d| d.version(version)).map(|v| &v.body)
        else {
            continue;
        };
        out.insert(lead.id, inputs.score(body, lead, at));
    }
    Ok(out)
}

/// What a version of a scoring model would give a lead now (a proposal before anyone
/// approves it, or the model in force).
pub async fn simulate(
    db: &impl ConnectionTrait,
    actor: &Actor,
    model: &ScoringModel,
    lead_id: Uuid,
) -> Result<score::Score> {
    let lead = crate::leads::get(db, actor, lead_id).await?;
    let mut inputs = Inputs::load(db, actor.org_id, std::slice::from_ref(&lead)).await?;
    inputs.load_icps(db, actor.org_id, model.uses_icps()).await?;
    Ok(inputs.score(model, &lead, Utc::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_is_the_one_reaction_to_changed_score_inputs() {
        assert_eq!(inventory::iter::<crate::leads::OnScoreInputsChanged>.into_iter().count(), 1);
    }

    fn body() -> ScoringModel {
        ScoringModel {
            name: " Default ".into(),
            description: Some(" ".into()),
            fit_rules: vec![FitRule {
                name: "Fintech".into(),
                attribute: FitAttribute::AccountIndustry,
                operator: RuleOperator::Equals,
                value: Some(" Fintech ".into()),
                values: vec!["ignored".into()],
                min: None,
                max: None,
                points: 15.0,
            }],
            engagement_rules: vec![EngagementRule {
                name: "Visits".into(),
                kind: EngagementKind::WebVisit,
                points_per_event: 2.0,
                cap: 10.0,
                half_life_days: 30.0,
            }],
            thresholds: Thresholds { warm: 20.0, hot: 50.0, mql: 60.0 },
        }
    }

    fn field_of(result: Result<ScoringModel>) -> String {
        match result {
            Err(ApiError::BadUserInput { field, .. }) => field.unwrap_or_default(),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_model_is_normalised() {
        let m = body().validate().unwrap();
        assert_eq!(m.name, "Default");
        assert_eq!(m.description, None);
        assert_eq!(m.fit_rules[0].value.as_deref(), Some("Fintech"));
        assert!(m.fit_rules[0].values.is_empty());
        assert_eq!(m.key(), "default");
    }

    #[test]
    fn validation_names_the_field_at_fault() {
        let mut m = body();
        m.fit_rules[0].value = None;
        assert_eq!(field_of(m.validate()), "fitRules[0].value");
        let mut m = body();
        m.fit_rules[0].operator = RuleOperator::Range;
        assert_eq!(field_of(m.validate()), "fitRules[0].operator");
        let mut m = body();
        m.fit_rules[0].attribute = FitAttribute::AccountEmployeeCount;
        m.fit_rules[0].operator = RuleOperator::Range;
        m.fit_rules[0].min = Some(10.0);
        m.fit_rules[0].max = Some(5.0);
        assert_eq!(field_of(m.validate()), "fitRules[0].max");
        let mut m = body();
        m.engagement_rules[0].half_life_days = 0.0;
        assert_eq!(field_of(m.validate()), "engagementRules[0].halfLifeDays");
        let mut m = body();
        m.thresholds.hot = 10.0;
        assert_eq!(field_of(m.validate()), "thresholds.hot");
        let mut m = body();
        m.engagement_rules[0].name = "fintech".into();
        assert_eq!(field_of(m.validate()), "engagementRules[0].name");
    }

    #[test]
    fn numbers_out_of_range_and_control_characters_are_refused() {
        let mut m = body();
        m.engagement_rules[0].cap = 1e308;
        assert_eq!(field_of(m.validate()), "engagementRules[0].cap");
        let mut m = body();
        m.fit_rules[0].points = f64::NAN;
        assert_eq!(field_of(m.validate()), "fitRules[0].points");
        let mut m = body();
        m.thresholds.mql = 2e6;
        assert_eq!(field_of(m.validate()), "thresholds.mql");
        let mut m = body();
        m.fit_rules[0].attribute = FitAttribute::AccountEmployeeCount;
        m.fit_rules[0].value = Some("NaN".into());
        assert_eq!(field_of(m.validate()), "fitRules[0].value");
        let mut m = body();
        m.fit_rules[0].name = "Fin\0tech".into();
        assert_eq!(field_of(m.validate()), "fitRules[0].name");
    }

    #[test]
    fn bodies_store_engagement_kinds_in_their_text_form() {
        let json = serde_json::to_value(body()).unwrap();
        assert_eq!(json["engagementRules"][0]["kind"], "WEB_VISIT");
        assert_eq!(json["fitRules"][0]["attribute"], "ACCOUNT_INDUSTRY");
        let back: ScoringModel = serde_json::from_value(json).unwrap();
        assert_eq!(back, body());
    }
}
