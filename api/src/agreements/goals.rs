//! Goals: shared targets for a period (such as 300 MQLs in Q1) on a metric of the one
//! catalogue KPIs use, optionally for one team or person and narrowed by the KPI
//! scopes (campaign, strategy, ICP fit). Not agreed documents: MANAGERs, ADMINs and
//! LEADERSHIP set them. Progress is the KPI engine's value with the goal's scope.

use chrono::{NaiveDate, Utc};
use entity::goal::{ActiveModel, Column, Entity, Model};
use entity::{SalesStrategy, Team};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_read_goals, can_set_goals, require};
use crate::catalogue::{KpiGroupBy, KpiMetric};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate::{self, Wording};

/// A goal to create.
#[derive(Debug, Clone)]
pub struct NewGoal {
    pub name: String,
    pub metric: KpiMetric,
    pub target: f64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub team: Option<Team>,
    /// Defaults to the caller.
    pub owner_id: Option<Uuid>,
    /// A personal goal's person.
    pub person_id: Option<Uuid>,
    pub scope: GoalScope,
}

/// What narrows the facts a goal counts, besides its person: the KPI filters of the same names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalScope {
    /// A campaign's name.
    pub campaign: Option<String>,
    pub strategy: Option<SalesStrategy>,
    /// Only facts of accounts that fit an ideal customer profile in force (true) or fit none (false).
    pub icp_fit: Option<bool>,
}

/// A goal's metric as the catalogue's enum.
pub fn metric_of(goal: &Model) -> Result<KpiMetric> {
    crate::catalogue::from_name(&goal.metric)
        .ok_or_else(|| ApiError::internal(format!("goal {} has an unknown metric {:?}", goal.id, goal.metric)))
}

/// A goal's scope as stored.
pub fn scope_of(goal: &Model) -> GoalScope {
    GoalScope { campaign: goal.campaign.clone(), strategy: goal.strategy, icp_fit: goal.icp_fit }
}

/// The metric can carry a goal with this person and scope: it has one value per period
/// and splits by every dimension the goal narrows by.
fn check_metric(metric: KpiMetric, person: Option<Uuid>, scope: &GoalScope) -> Result<GoalScope> {
    if !metric.has_single_value() {
        return Err(ApiError::bad_input(
            "metric",
            format!("{} has one value per stage, not one a goal can aim at", metric.name()),
        ));
    }
    let campaign = validate::optional_text("campaign", scope.campaign.as_deref(), 200)?;
    let narrowed = [
        ("personId", person.is_some(), KpiGroupBy::User),
        ("campaign", campaign.is_some(), KpiGroupBy::Campaign),
        ("strategy", scope.strategy.is_some(), KpiGroupBy::Strategy),
        ("icpFit", scope.icp_fit.is_some(), KpiGroupBy::IcpFit),
    ];
    for (field, set, dimension) in narrowed {
        if set && !metric.splits_by(dimension) {
            return Err(ApiError::bad_input(field, format!("does not apply to {}", metric.name())));
        }
    }
    Ok(GoalScope { campaign, ..scope.clone() })
}

/// What `updateGoal` may change; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct GoalPatch {
    pub name: Option<String>,
    pub metric: Option<KpiMetric>,
    pub target: Option<f64>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub team: Option<Option<Team>>,
    pub owner_id: Option<Option<Uuid>>,
    pub person_id: Option<Option<Uuid>>,
    pub campaign: Option<Option<String>>,
    pub strategy: Option<Option<SalesStrategy>>,
    pub icp_fit: Option<Option<bool>>,
    pub expected_version: Option<i32>,
}

/// Which goals to list.
#[derive(Debug, Clone, Default)]
pub struct GoalCriteria {
    pub team: Option<Team>,
    pub metric: Option<KpiMetric>,
    /// Only goals whose period contains this day.
    pub active_on: Option<NaiveDate>,
}

/// Smallest goal target: a goal of nothing measures nothing, and progress divides by it.
pub const MIN_TARGET: f64 = 0.01;
/// Largest goal target: the largest money amount, since money goals count minor units
/// of the reporting currency.
pub const MAX_TARGET: f64 = validate::MAX_AMOUNT_MINOR as f64;

fn validate(target: f64, start: NaiveDate, end: NaiveDate) -> Result<()> {
    validate::float_range("target", target, MIN_TARGET, MAX_TARGET)?;
    if end < start {
        return Err(ApiError::bad_input("periodEnd", "must not be before periodStart"));
    }
    if (end - start).num_days() > 366 * 5 {
        return Err(ApiError::bad_input("periodEnd", "a goal's period is at most five years"));
    }
    Ok(())
}

async fn check_user(db: &impl ConnectionTrait, actor: &Actor, user: Option<Uuid>, field: &str) -> Result<()> {
    let Some(user) = user else { return Ok(()) };
    let found =
        entity::user::Entity::find_by_id(user).filter(entity::user::Column::OrgId.eq(actor.org_id)).count(db).await?;
    if found == 0 {
        return Err(ApiError::bad_input(field, "no such user"));
    }
    Ok(())
}

/// Set a goal.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewGoal) -> Result<Model> {
    require(can_set_goals(actor), "set goals")?;
    let name = validate::text_with("name", &new.name, 200, Wording::Range)?;
    validate(new.target, new.period_start, new.period_end)?;
    let scope = check_metric(new.metric, new.person_id, &new.scope)?;
    let owner = new.owner_id.or(actor.user_id());
    let txn = crate::db::begin_write(db).await?;
    check_user(&txn, actor, owner, "ownerId").await?;
    check_user(&txn, actor, new.person_id, "personId").await?;
    let now = Utc::now();
    let goal = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        name: Set(name),
        metric: Set(new.metric.name().to_owned()),
        target: Set(new.target),
        period_start: Set(new.period_start),
        period_end: Set(new.period_end),
        team: Set(new.team),
        owner_id: Set(owner),
        person_id: Set(new.person_id),
        campaign: Set(scope.campaign),
        strategy: Set(scope.strategy),
        icp_fit: Set(scope.icp_fit),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("name", &goal.name)
        .created("metric", &goal.metric)
        .created("target", &goal.target)
        .created("periodStart", &goal.period_start)
        .created("periodEnd", &goal.period_end)
        .created("team", &goal.team)
        .created("personId", &goal.person_id)
        .created("campaign", &goal.campaign)
        .created("strategy", &goal.strategy)
        .created("icpFit", &goal.icp_fit);
    audit::record(&txn, actor, "goal.create", "goal", Some(goal.id), changes).await?;
    let payload = serde_json::json!({ "metric": goal.metric, "target": goal.target });
    outbox::publish(&txn, actor, "goal.created", "goal", Some(goal.id), payload).await?;
    txn.commit().await?;
    Ok(goal)
}

/// Change a goal, under its optimistic lock.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, patch: GoalPatch) -> Result<Model> {
    require(can_set_goals(actor), "change goals")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(patch.expected_version, current.version)?;
    let name = patch
        .name
        .as_deref()
        .map(|n| validate::text_with("name", n, 200, Wording::Range))
        .transpose()?
        .unwrap_or(current.name.clone());
    let metric = match patch.metric {
        Some(metric) => metric,
        None => metric_of(&current)?,
    };
    let target = patch.target.unwrap_or(current.target);
    let start = patch.period_start.unwrap_or(current.period_start);
    let end = patch.period_end.unwrap_or(current.period_end);
    let team = patch.team.unwrap_or(current.team);
    let owner = patch.owner_id.unwrap_or(current.owner_id);
    let person = patch.person_id.unwrap_or(current.person_id);
    let scope = GoalScope {
        campaign: patch.campaign.unwrap_or(current.campaign.clone()),
        strategy: patch.strategy.unwrap_or(current.strategy),
        icp_fit: patch.icp_fit.unwrap_or(current.icp_fit),
    };
    validate(target, start, end)?;
    let scope = check_metric(metric, person, &scope)?;
    let metric = metric.name().to_owned();
    check_user(&txn, actor, owner, "ownerId").await?;
    check_user(&txn, actor, person, "personId").await?;
    let changes = Changes::new()
        .field("name", Some(&current.name), Some(&name))
        .field("metric", Some(&current.metric), Some(&metric))
        .field("target", Some(&current.target), Some(&target))
        .field("periodStart", Some(&current.period_start), Some(&start))
        .field("periodEnd", Some(&current.period_end), Some(&end))
        .field("team", current.team.as_ref(), team.as_ref())
        .field("ownerId", current.owner_id.as_ref(), owner.as_ref())
        .field("personId", current.person_id.as_ref(), person.as_ref())
        .field("campaign", current.campaign.as_ref(), scope.campaign.as_ref())
        .field("strategy", current.strategy.as_ref(), scope.strategy.as_ref())
        .field("icpFit", current.icp_fit.as_ref(), scope.icp_fit.as_ref());
    if changes.is_empty() {
        return Ok(current);
    }
    let mut model: ActiveModel = current.clone().into();
    model.name = Set(name);
    model.metric = Set(metric);
    model.target = Set(target);
    model.period_start = Set(start);
    model.period_end = Set(end);
    model.team = Set(team);
    model.owner_id = Set(owner);
    model.person_id = Set(person);
    model.campaign = Set(scope.campaign);
    model.strategy = Set(scope.strategy);
    model.icp_fit = Set(scope.icp_fit);
    let updated = save_versioned(&txn, id, current.version, model).await?;
    audit::record(&txn, actor, "goal.update", "goal", Some(id), changes).await?;
    outbox::publish(&txn, actor, "goal.updated", "goal", Some(id), serde_json::json!({})).await?;
    txn.commit().await?;
    Ok(updated)
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "goal").await
}

/// Goals of the organization, by period start.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn list(db: &impl ConnectionTrait, actor: &Actor, criteria: &GoalCriteria) -> Result<Vec<Model>> {
    require(can_read_goals(actor), "read goals")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if let Some(team) = criteria.team {
        select = select.filter(Column::Team.eq(team));
    }
    if let Some(metric) = criteria.metric {
        select = select.filter(Column::Metric.eq(metric.name()));
    }
    if let Some(day) = criteria.active_on {
        select = select.filter(Column::PeriodStart.lte(day)).filter(Column::PeriodEnd.gte(day));
    }
    Ok(select.order_by_asc(Column::PeriodStart).order_by_asc(Column::Id).all(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_needs_a_positive_target_and_an_ordered_period() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        assert!(validate(300.0, day(1), day(31)).is_ok());
        assert!(validate(0.0, day(1), day(31)).is_err());
        assert!(validate(1e308, day(1), day(31)).is_err());
        assert!(validate(f64::NAN, day(1), day(31)).is_err());
        assert!(validate(MAX_TARGET, day(1), day(31)).is_ok());
        assert!(validate(300.0, day(31), day(1)).is_err());
    }

    #[test]
    fn a_goal_narrows_only_by_what_its_metric_splits_by() {
        let by_strategy = GoalScope { strategy: Some(SalesStrategy::Acquisition), ..GoalScope::default() };
        assert!(check_metric(KpiMetric::RevenueWon, None, &by_strategy).is_ok());
        assert_eq!(check_metric(KpiMetric::Mqls, None, &by_strategy).unwrap_err().code(), "BAD_USER_INPUT");
        let person = Some(Uuid::now_v7());
        assert!(check_metric(KpiMetric::CustomerFacingHours, person, &GoalScope::default()).is_ok());
        assert!(check_metric(KpiMetric::ContentUtilizationRate, person, &GoalScope::default()).is_err());
        assert!(check_metric(KpiMetric::MedianDaysInStage, None, &GoalScope::default()).is_err());
    }
}
