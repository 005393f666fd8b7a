//! Goals: shared targets for a period, with their progress from the KPI engine.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::agreements::goals;
use crate::catalogue::{KpiMetric, KpiUnit};
use crate::error::Result;
use crate::graphql::patch::{clearable, clearable_id, keep_or_set};
use crate::graphql::{actor, db, loaders, parse_id};
use crate::org::graphql::{Team, User};
use crate::pipeline::graphql::SalesStrategy;

/// Which way a goal points, from its metric.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalDirection {
    /// The value should reach the target (leads, revenue, conversion rates).
    AtLeast,
    /// The value should stay at or under the target (response times, days in a cycle, costs, losses).
    AtMost,
}

/// A shared target for a period on a metric of the KPI catalogue (the same name, unit and
/// definition `kpis` uses), optionally for one team or person and narrowed by campaign,
/// strategy or ICP fit, with its progress from the KPI engine.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Goal {
    /// Stable id of the goal.
    #[graphql(owned)]
    pub id: ID,
    /// Name, such as "Q1 MQLs".
    pub name: String,
    /// The target value for the period, in `unit`.
    pub target: f64,
    /// First day of the period.
    pub period_start: chrono::NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: chrono::NaiveDate,
    /// The team the goal is for; null for a shared goal.
    pub team: Option<Team>,
    /// Only facts of leads from this campaign (by name) count, as the KPI filter `campaign`; null: every campaign.
    pub campaign: Option<String>,
    /// Only deals of this sales strategy count, as the KPI filter `strategy`; null: every strategy.
    pub strategy: Option<SalesStrategy>,
    /// Only facts whose account fits an ideal customer profile in force (true) or fits none (false) count, as the KPI filter `icpFit`; null: every account.
    pub icp_fit: Option<bool>,
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
    /// What is measured: a metric of the KPI catalogue, defined in its description.
    async fn metric(&self) -> Result<KpiMetric> {
        goals::metric_of(&self.model)
    }

    /// The metric's unit: the target and progress are in it (MONEY_MINOR: minor units, such as cents, of the reporting currency, `progress.currency`).
    async fn unit(&self) -> Result<KpiUnit> {
        Ok(goals::metric_of(&self.model)?.unit())
    }

    /// AT_LEAST for most metrics; AT_MOST where less is better (response times, costs, losses).
    async fn direction(&self) -> Result<GoalDirection> {
        let lower = goals::metric_of(&self.model)?.lower_is_better();
        Ok(if lower { GoalDirection::AtMost } else { GoalDirection::AtLeast })
    }

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

    /// How far the goal has come: the metric over the goal's period so far (exactly what
    /// `kpis` answers for that period with the goal's scope as filter), the pace, and
    /// whether it reaches the target. Whose facts count: a personal goal's person's (the
    /// metric's responsible user, as filter `userId`); a team goal's team's for
    /// CUSTOMER_FACING_HOURS and DISTINCT_CUSTOMERS_TOUCHED; otherwise the whole
    /// organization's (the team says whose goal it is: MQLs handed to sales still count
    /// towards marketing's goal); `campaign`, `strategy` and `icpFit` narrow as the filters
    /// of those names.
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
            target: m.target,
            period_start: m.period_start,
            period_end: m.period_end,
            team: m.team.map(Into::into),
            campaign: m.campaign,
            strategy: m.strategy.map(Into::into),
            icp_fit: m.icp_fit,
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
    pub metric: Option<KpiMetric>,
    /// Only goals whose period contains this day.
    pub active_on: Option<chrono::NaiveDate>,
}

/// A goal to set.
#[derive(InputObject)]
pub struct CreateGoalInput {
    /// Name, such as "Q1 MQLs".
    pub name: String,
    /// What is measured: any metric of the catalogue with one value per period (not MEDIAN_DAYS_IN_STAGE).
    pub metric: KpiMetric,
    /// The target value for the period in the metric's unit: 0.01 to 1,000,000,000,000,000
    /// (money metrics count minor units of the reporting currency, such as cents; rates are shares from 0 to 1).
    pub target: f64,
    /// First day of the period.
    pub period_start: chrono::NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: chrono::NaiveDate,
    /// The team the goal is for; omit for a shared goal.
    pub team: Option<Team>,
    /// Who answers for it; defaults to you.
    pub owner_id: Option<ID>,
    /// For a personal goal (such as "40 hours with customers a week"): the person whose own facts count; BAD_USER_INPUT for a metric without a responsible person.
    pub person_id: Option<ID>,
    /// Only facts of leads from this campaign (exact name, up to 200 characters); BAD_USER_INPUT for a metric that does not split by campaign.
    pub campaign: Option<String>,
    /// Only deals of this strategy; BAD_USER_INPUT for a metric that is not about deals.
    pub strategy: Option<SalesStrategy>,
    /// Only facts of accounts that fit an ICP in force (true) or fit none (false); BAD_USER_INPUT for a metric without accounts.
    pub icp_fit: Option<bool>,
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
    pub metric: MaybeUndefined<KpiMetric>,
    /// New target in the metric's unit: 0.01 to 1,000,000,000,000,000 (money metrics count minor units).
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
    /// New campaign scope. Left out: unchanged. null: cleared (every campaign).
    pub campaign: MaybeUndefined<String>,
    /// New strategy scope. Left out: unchanged. null: cleared (every strategy).
    pub strategy: MaybeUndefined<SalesStrategy>,
    /// New ICP-fit scope. Left out: unchanged. null: cleared (every account).
    pub icp_fit: MaybeUndefined<bool>,
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
            metric: filter.metric,
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
            metric: input.metric,
            target: input.target,
            period_start: input.period_start,
            period_end: input.period_end,
            team: input.team.map(Into::into),
            owner_id: input.owner_id.as_ref().map(|id| parse_id("ownerId", id)).transpose()?,
            person_id: input.person_id.as_ref().map(|id| parse_id("personId", id)).transpose()?,
            scope: goals::GoalScope {
                campaign: input.campaign,
                strategy: input.strategy.map(Into::into),
                icp_fit: input.icp_fit,
            },
        };
        Ok(GoalPayload { goal: goals::create(db(ctx), actor(ctx)?, new).await?.into() })
    }

    /// Change a goal. MANAGERs, ADMINs and LEADERSHIP.
    async fn update_goal(&self, ctx: &Context<'_>, input: UpdateGoalInput) -> Result<GoalPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = goals::GoalPatch {
            name: keep_or_set("name", input.name)?,
            metric: keep_or_set("metric", input.metric)?,
            target: keep_or_set("target", input.target)?,
            period_start: keep_or_set("periodStart", input.period_start)?,
            period_end: keep_or_set("periodEnd", input.period_end)?,
            team: clearable(input.team.map_value(Into::into)),
            owner_id: clearable_id("ownerId", input.owner_id)?,
            person_id: clearable_id("personId", input.person_id)?,
            campaign: clearable(input.campaign),
            strategy: clearable(input.strategy.map_value(Into::into)),
            icp_fit: clearable(input.icp_fit),
            expected_version: input.expected_version,
        };
        Ok(GoalPayload { goal: goals::update(db(ctx), actor(ctx)?, id, patch).await?.into() })
    }
}
