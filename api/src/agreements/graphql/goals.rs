//! Goals: shared targets for a period, with their progress from the KPI engine.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::agreements::goals;
use crate::error::Result;
use crate::graphql::patch::{clearable, clearable_id, keep_or_set};
use crate::graphql::{actor, db, loaders, parse_id};
use crate::org::graphql::{Team, User};

/// What a goal measures; progress is computed from the KPI of the same name.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::GoalMetric")]
pub enum GoalMetric {
    /// New leads created.
    NewLeads,
    /// Leads that became marketing-qualified.
    Mqls,
    /// Leads sales accepted.
    Sals,
    /// Leads that became sales-qualified.
    Sqls,
    /// Opportunities opened.
    Opportunities,
    /// Amount of open pipeline created (in the organization's currency).
    PipelineAmount,
    /// Deals won.
    ClosedWonDeals,
    /// Revenue won (in the organization's currency).
    ClosedWonRevenue,
    /// Hours spent with customers (KPI CUSTOMER_FACING_HOURS); a team's goal counts its members' hours, a person's their own.
    CustomerFacingHours,
    /// Different customers touched by customer-facing activities (KPI DISTINCT_CUSTOMERS_TOUCHED), such as "at least 20 customers a month" for one person.
    DistinctCustomersTouched,
    /// Pipeline created from leads of recorded campaigns (KPI PIPELINE_SOURCED), in the reporting currency: marketing's pipeline quota.
    MarketingSourcedPipeline,
    /// Revenue won from leads of recorded campaigns (KPI REVENUE_SOURCED), in the reporting currency: marketing's revenue quota.
    MarketingSourcedRevenue,
    /// MQL → SAL conversion (KPI MQL_TO_SAL_RATE), a share from 0 to 1.
    MqlToSalRate,
    /// SAL → SQL conversion (KPI SAL_TO_SQL_RATE), a share from 0 to 1.
    SalToSqlRate,
    /// SQL → won conversion (KPI SQL_TO_WON_RATE), a share from 0 to 1.
    SqlToWonRate,
    /// Lead → customer conversion (KPI LEAD_TO_CUSTOMER_RATE), a share from 0 to 1.
    LeadToCustomerRate,
}

/// A shared target for a period, optionally for one team, with its progress from the KPI engine.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Goal {
    /// Stable id of the goal.
    #[graphql(owned)]
    pub id: ID,
    /// Name, such as "Q1 MQLs".
    pub name: String,
    /// What is measured.
    pub metric: GoalMetric,
    /// The target value for the period.
    pub target: f64,
    /// First day of the period.
    pub period_start: chrono::NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: chrono::NaiveDate,
    /// The team the goal is for; null for a shared goal.
    pub team: Option<Team>,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the goal was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the goal last changed (UTC).
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub owner_id: Option<uuid::Uuid>,
    #[graphql(skip)]
    pub model: entity::goal::Model,
}

#[async_graphql::ComplexObject]
impl Goal {
    /// Who answers for the goal; null if that user is gone.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The person whose own facts a personal goal counts; null for a team's or a shared goal.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.model.person_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// How far the goal has come: the metric over the goal's period so far, the pace,
    /// and whether it reaches the target. Whose facts count: a personal goal's person's
    /// (the metric's responsible user); a team goal's team's for CUSTOMER_FACING_HOURS
    /// and DISTINCT_CUSTOMERS_TOUCHED; otherwise the whole organization's (the team says
    /// whose goal it is: MQLs handed to sales still count towards marketing's goal).
    async fn progress(&self, ctx: &Context<'_>) -> Result<crate::kpi::graphql::GoalProgress> {
        Ok(crate::kpi::progress::goal_progress(db(ctx), actor(ctx)?, &self.model).await?.into())
    }
}

impl From<entity::goal::Model> for Goal {
    fn from(m: entity::goal::Model) -> Self {
        Self {
            model: m.clone(),
            id: m.id.into(),
            name: m.name,
            metric: m.metric.into(),
            target: m.target,
            period_start: m.period_start,
            period_end: m.period_end,
            team: m.team.map(Into::into),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            owner_id: m.owner_id,
        }
    }
}

/// Narrows the goals list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct GoalFilter {
    /// Only goals of this team.
    pub team: Option<Team>,
    /// Only goals on this metric.
    pub metric: Option<GoalMetric>,
    /// Only goals whose period contains this day.
    pub active_on: Option<chrono::NaiveDate>,
}

/// A goal to set.
#[derive(InputObject)]
pub struct CreateGoalInput {
    /// Name, such as "Q1 MQLs".
    pub name: String,
    /// What is measured.
    pub metric: GoalMetric,
    /// The target value for the period: 0.01 to 1,000,000,000,000,000 (money metrics count
    /// minor units, such as cents).
    pub target: f64,
    /// First day of the period.
    pub period_start: chrono::NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: chrono::NaiveDate,
    /// The team the goal is for; omit for a shared goal.
    pub team: Option<Team>,
    /// Who answers for it; defaults to you.
    pub owner_id: Option<ID>,
    /// For a personal goal (such as "40 hours with customers a week"): the person whose own facts count.
    pub person_id: Option<ID>,
}

/// Changes to a goal: a field left out stays as it is; null clears the team or the
/// owner and is BAD_USER_INPUT for the other fields.
#[derive(InputObject)]
pub struct UpdateGoalInput {
    /// The goal to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New metric. Left out: unchanged. null is refused.
    pub metric: MaybeUndefined<GoalMetric>,
    /// New target: 0.01 to 1,000,000,000,000,000 (money metrics count minor units).
    /// Left out: unchanged. null is refused.
    pub target: MaybeUndefined<f64>,
    /// New first day. Left out: unchanged. null is refused.
    pub period_start: MaybeUndefined<chrono::NaiveDate>,
    /// New last day. Left out: unchanged. null is refused.
    pub period_end: MaybeUndefined<chrono::NaiveDate>,
    /// New team. Left out: unchanged. null: cleared (the goal becomes shared).
    pub team: MaybeUndefined<Team>,
    /// New owner. Left out: unchanged. null: cleared (the goal has no owner).
    pub owner_id: MaybeUndefined<ID>,
    /// New person of a personal goal. Left out: unchanged. null: cleared (no longer personal).
    pub person_id: MaybeUndefined<ID>,
}

/// The result of setting or changing a goal.
#[derive(SimpleObject)]
pub struct GoalPayload {
    /// The goal as stored after the change.
    pub goal: Goal,
}

#[derive(Default)]
pub struct GoalQuery;

#[Object]
impl GoalQuery {
    /// Goals of the organization, by period start. API keys need `KPIS_READ`.
    async fn goals(&self, ctx: &Context<'_>, filter: Option<GoalFilter>) -> Result<Vec<Goal>> {
        let filter = filter.unwrap_or_default();
        let criteria = goals::GoalCriteria {
            team: filter.team.map(Into::into),
            metric: filter.metric.map(Into::into),
            active_on: filter.active_on,
        };
        Ok(goals::list(db(ctx), actor(ctx)?, &criteria).await?.into_iter().map(Goal::from).collect())
    }
}

#[derive(Default)]
pub struct GoalMutation;

#[Object]
impl GoalMutation {
    /// Set a goal. MANAGERs, ADMINs and LEADERSHIP.
    async fn create_goal(&self, ctx: &Context<'_>, input: CreateGoalInput) -> Result<GoalPayload> {
        let new = goals::NewGoal {
            name: input.name,
            metric: input.metric.into(),
            target: input.target,
            period_start: input.period_start,
            period_end: input.period_end,
            team: input.team.map(Into::into),
            owner_id: input.owner_id.as_ref().map(|id| parse_id("ownerId", id)).transpose()?,
            person_id: input.person_id.as_ref().map(|id| parse_id("personId", id)).transpose()?,
        };
        Ok(GoalPayload { goal: goals::create(db(ctx), actor(ctx)?, new).await?.into() })
    }

    /// Change a goal. MANAGERs, ADMINs and LEADERSHIP.
    async fn update_goal(&self, ctx: &Context<'_>, input: UpdateGoalInput) -> Result<GoalPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = goals::GoalPatch {
            name: keep_or_set("name", input.name)?,
            metric: keep_or_set("metric", input.metric)?.map(Into::into),
            target: keep_or_set("target", input.target)?,
            period_start: keep_or_set("periodStart", input.period_start)?,
            period_end: keep_or_set("periodEnd", input.period_end)?,
            team: clearable(input.team.map_value(Into::into)),
            owner_id: clearable_id("ownerId", input.owner_id)?,
            person_id: clearable_id("personId", input.person_id)?,
            expected_version: input.expected_version,
        };
        Ok(GoalPayload { goal: goals::update(db(ctx), actor(ctx)?, id, patch).await?.into() })
    }
}
