//! Goals and SLAs measured by the KPI engine, and the scorecard that puts every
//! agreed SLA and goal of a period side by side for a review meeting.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{AgreementStatus, Role};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::periods::{self, Granularity, Period};
use super::{FactContext, KpiFilter, compute, context, settings, value_over};
use crate::agreements::slas::{SlaBody, SlaMetric, SlaPeriod};
use crate::agreements::{self, Document, DocumentCriteria, Version, goals};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::catalogue::{KpiGroupBy, KpiMetric};
use crate::error::{ApiError, Result};
use crate::handover::reports::{self, Compliance, ComplianceGroup, Targets};
use crate::org::OrgSettings;

/// How far a goal has come.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalProgress {
    /// The metric's value over the goal's whole period so far, in the metric's unit
    /// (money in minor units of `currency`).
    pub actual: f64,
    pub target: f64,
    /// actual ÷ target.
    pub ratio: f64,
    /// Share of the period's days that have begun (0–1).
    pub elapsed: f64,
    /// actual ÷ elapsed: where the goal ends if the pace holds; `None` before the period starts.
    pub projected: Option<f64>,
    /// The pace reaches the target, or for a metric where less is better stays within
    /// it (always true before the period starts).
    pub on_track: bool,
    /// The reporting currency, for a money metric.
    pub currency: Option<String>,
}

/// Whose facts a goal counts. A personal goal counts its person's (the metric's
/// responsible user: a deal's owner, an activity's author, a lead's owner). A team's
/// goal counts the team's own time with customers; for funnel and money metrics the
/// team says whose goal it is, not whose facts count (MQLs handed over to sales still
/// count towards marketing's goal). The owner is who answers for the goal, not a scope.
/// The goal's campaign, strategy and ICP fit narrow the facts as the KPI filters do.
fn goal_filter(goal: &entity::goal::Model, metric: KpiMetric) -> KpiFilter {
    let scope = goals::scope_of(goal);
    let mut filter = KpiFilter {
        campaign: scope.campaign,
        strategy: scope.strategy,
        icp_fit: scope.icp_fit,
        ..KpiFilter::default()
    };
    let per_person = matches!(metric, KpiMetric::CustomerFacingHours | KpiMetric::DistinctCustomersTouched);
    match (goal.person_id, goal.team) {
        (Some(person), _) => filter.user_id = Some(person),
        (None, Some(team)) if per_person => filter.team = Some(team),
        _ => {}
    }
    filter
}

/// Progress of `goal`: its metric over the whole period in the organization's time zone,
/// for the whole organization.
#[tracing::instrument(skip(db, actor, goal), fields(org = %actor.org_id))]
pub async fn goal_progress(
    db: &impl ConnectionTrait,
    actor: &Actor,
    goal: &entity::goal::Model,
) -> Result<GoalProgress> {
    require(can_read(actor, Scope::KpisRead), "read goal progress")?;
    goal_progress_in(db, actor, &settings(db, actor.org_id).await?, goal).await
}

/// [`goal_progress`] with the organization's settings at hand.
async fn goal_progress_in(
    db: &impl ConnectionTrait,
    actor: &Actor,
    settings: &OrgSettings,
    goal: &entity::goal::Model,
) -> Result<GoalProgress> {
    let ctx = context(db, settings);
    let period = Period::new(ctx.tz, goal.period_start, goal.period_end.succ_opt().unwrap_or(goal.period_end));
    let metric = goals::metric_of(goal)?;
    let point = value_over(db, actor, &ctx, metric, period, &goal_filter(goal, metric)).await?;
    let actual = point.value.unwrap_or(0.0);
    let today = Utc::now().with_timezone(&ctx.tz).date_naive();
    let total = (period.end - period.start).num_days().max(1) as f64;
    let begun = (today.succ_opt().unwrap_or(today).min(period.end) - period.start).num_days().max(0) as f64;
    let elapsed = (begun / total).min(1.0);
    let projected = (elapsed > 0.0).then(|| if metric.accumulates() { actual / elapsed } else { actual });
    let reaches = |p: f64| if metric.lower_is_better() { p <= goal.target } else { p >= goal.target };
    Ok(GoalProgress {
        actual,
        target: goal.target,
        ratio: actual / goal.target,
        elapsed,
        projected,
        on_track: projected.is_none_or(reaches),
        currency: ctx.currency_of(metric),
    })
}

/// How an SLA was kept in one of its periods.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaCompliance {
    pub period: Period,
    /// The number of the SLA version the period is judged by ([`judging_version`]).
    pub version: i32,
    /// The measured value in the SLA's unit: the median time for a time limit, the
    /// volume for a volume, hours per member for customer-facing hours.
    pub actual: Option<f64>,
    /// That version's target.
    pub target: f64,
    /// actual ≤ target for time limits, actual ≥ target for volumes; `None` without data.
    pub met: Option<bool>,
    /// How many items were measured (handovers answered, leads touched, MQLs, …).
    pub measured: f64,
    /// For time limits: the share of items within the limit.
    pub within_target_share: Option<f64>,
    /// The period has ended, so the figure is final.
    pub complete: bool,
}

fn granularity(period: SlaPeriod) -> Granularity {
    match period {
        SlaPeriod::Week => Granularity::Week,
        SlaPeriod::Month => Granularity::Month,
        SlaPeriod::Quarter => Granularity::Quarter,
    }
}

/// The version a period starting at `start` is judged by: the version in force at
/// that instant (the last one agreed at or before it), so a target agreed mid-period
/// applies from the next period on; a period that began before the first agreement is
/// judged by the first agreed version; an SLA never agreed by its newest version.
pub fn judging_version(sla: &Document<SlaBody>, start: DateTime<Utc>) -> Option<&Version<SlaBody>> {
    sla.in_force_at(start).or(sla.versions.last())
}

/// Compliance of one SLA in each of its periods that overlap the days `from..=to`,
/// each judged by its [`judging_version`].
#[tracing::instrument(skip(db, actor, sla), fields(org = %actor.org_id))]
pub async fn sla_compliance(
    db: &impl ConnectionTrait,
    actor: &Actor,
    sla: &Document<SlaBody>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlaCompliance>> {
    require(can_read(actor, Scope::KpisRead), "read SLA compliance")?;
    sla_compliance_in(db, actor, &settings(db, actor.org_id).await?, sla, from, to).await
}

/// [`sla_compliance`] with the organization's settings at hand.
async fn sla_compliance_in(
    db: &impl ConnectionTrait,
    actor: &Actor,
    settings: &OrgSettings,
    sla: &Document<SlaBody>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlaCompliance>> {
    // Periods are laid out by the version in force now (the newest while none is).
    let Some(current) = sla.in_force().or(sla.versions.last()) else { return Ok(vec![]) };
    let ctx = context(db, settings);
    let periods = periods::periods(ctx.tz, from, to, granularity(current.body.period))?;
    // Consecutive periods judged by the same version are measured in one go.
    let mut runs: Vec<(&Version<SlaBody>, Vec<Period>)> = Vec::new();
    for period in periods {
        let judge = judging_version(sla, period.start_at).unwrap_or(current);
        match runs.last_mut() {
            Some((version, run)) if version.model.version == judge.model.version => run.push(period),
            _ => runs.push((judge, vec![period])),
        }
    }
    let now = Utc::now();
    let mut rows = Vec::new();
    for (version, periods) in runs {
        let body = &version.body;
        let figures = measure(db, actor, &ctx, body, &periods).await?;
        rows.extend(periods.iter().zip(figures).map(|(period, (actual, measured, within_target_share))| {
            SlaCompliance {
                period: *period,
                version: version.model.version,
                actual,
                target: body.target,
                met: actual.map(|a| if body.metric.is_ceiling() { a <= body.target } else { a >= body.target }),
                measured,
                within_target_share,
                complete: period.end_at <= now,
            }
        }));
    }
    Ok(rows)
}

/// The handover compliance of `sla`'s provider team over one period, first touches
/// judged by the SLA's own target.
async fn team_compliance(
    db: &impl ConnectionTrait,
    actor: &Actor,
    period: &Period,
    sla: &SlaBody,
) -> Result<Option<Compliance>> {
    // Response times are judged by each handover's due time; only the first-touch target is taken from here.
    let targets = Targets { response_hours: sla.target, first_touch_hours: sla.target };
    let groups =
        reports::compliance_against(db, actor, period.start_at, period.end_at, ComplianceGroup::Team, targets).await?;
    let team = sla.provider_team.to_value();
    Ok(groups.into_iter().find(|g| g.key.as_deref() == Some(team.as_str())))
}

/// (actual, measured, within-target share) of `sla` in each of `periods`.
async fn measure(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ctx: &FactContext,
    sla: &SlaBody,
    periods: &[Period],
) -> Result<Vec<(Option<f64>, f64, Option<f64>)>> {
    let provider = KpiFilter { team: Some(sla.provider_team), ..KpiFilter::default() };
    let everyone = KpiFilter::default();
    let series = |metric, filter| compute(db, actor, ctx, metric, periods, KpiGroupBy::None, filter);
    let first = |mut s: Vec<super::Series>| s.pop().map(|s| s.points).unwrap_or_default();
    Ok(match sla.metric {
        SlaMetric::HandoverResponseHours => {
            let median = first(series(KpiMetric::HandoverMedianResponseHours, &provider).await?);
            let mut figures = Vec::with_capacity(periods.len());
            for (period, m) in periods.iter().zip(&median) {
                // The share `handoverCompliance` reports, by the same function.
                let within = team_compliance(db, actor, period, sla).await?;
                figures.push((m.value, m.denominator.unwrap_or(0.0), within.and_then(|c| c.within_target_share())));
            }
            figures
        }
        SlaMetric::FeedbackResponseDays => first(series(KpiMetric::FeedbackMedianResponseDays, &everyone).await?)
            .iter()
            .map(|m| (m.value, m.denominator.unwrap_or(0.0), None))
            .collect(),
        SlaMetric::MqlVolume | SlaMetric::SqlVolume => {
            let metric = if sla.metric == SlaMetric::MqlVolume { KpiMetric::Mqls } else { KpiMetric::Sqls };
            first(series(metric, &everyone).await?).iter().map(|p| (p.value, p.value.unwrap_or(0.0), None)).collect()
        }
        SlaMetric::CustomerFacingHoursPerMember => {
            let members = entity::user::Entity::find()
                .filter(entity::user::Column::OrgId.eq(actor.org_id))
                .filter(entity::user::Column::Team.eq(sla.provider_team))
                .filter(entity::user::Column::Active.eq(true))
                .filter(entity::user::Column::Role.ne(Role::Viewer))
                .count(db)
                .await? as f64;
            first(series(KpiMetric::CustomerFacingHours, &provider).await?)
                .iter()
                .map(|p| ((members > 0.0).then(|| p.value.unwrap_or(0.0) / members), members, None))
                .collect()
        }
        SlaMetric::FirstTouchHours => {
            let mut figures = Vec::with_capacity(periods.len());
            for period in periods {
                figures.push(match team_compliance(db, actor, period, sla).await? {
                    Some(g) => (
                        g.median_first_touch_hours,
                        g.touched as f64,
                        (g.accepted > 0).then(|| g.touched_within_target as f64 / g.accepted as f64),
                    ),
                    None => (None, 0.0, None),
                });
            }
            figures
        }
    })
}

/// Every agreed SLA and every goal of a period, with where each stands.
#[derive(Debug, Clone)]
pub struct Scorecard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub slas: Vec<(Document<SlaBody>, Vec<SlaCompliance>)>,
    pub goals: Vec<(entity::goal::Model, GoalProgress)>,
}

/// The scorecard of the days `from..=to`: SLAs in force, goals whose period overlaps.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn scorecard(db: &impl ConnectionTrait, actor: &Actor, from: NaiveDate, to: NaiveDate) -> Result<Scorecard> {
    require(can_read(actor, Scope::KpisRead), "read the scorecard")?;
    if to < from {
        return Err(ApiError::bad_input("to", "must not be before `from`"));
    }
    if (to - from).num_days() > 366 * 2 {
        return Err(ApiError::bad_input("to", "a scorecard covers at most two years"));
    }
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let documents = agreements::list::<SlaBody>(db, &Actor::system(actor.org_id), &criteria).await?;
    // Loaded once for every SLA and goal on the card.
    let settings = settings(db, actor.org_id).await?;
    let mut slas = Vec::new();
    for document in documents {
        if document.in_force().is_none() {
            continue;
        }
        let compliance = sla_compliance_in(db, actor, &settings, &document, from, to).await?;
        slas.push((document, compliance));
    }
    let goals = entity::goal::Entity::find()
        .filter(entity::goal::Column::OrgId.eq(actor.org_id))
        .filter(entity::goal::Column::PeriodStart.lte(to))
        .filter(entity::goal::Column::PeriodEnd.gte(from))
        .all(db)
        .await?;
    let mut with_progress = Vec::with_capacity(goals.len());
    for goal in goals {
        let progress = goal_progress_in(db, actor, &settings, &goal).await?;
        with_progress.push((goal, progress));
    }
    with_progress.sort_by(|a, b| a.0.period_start.cmp(&b.0.period_start).then(a.0.name.cmp(&b.0.name)));
    Ok(Scorecard { from, to, slas, goals: with_progress })
}

/// The scorecard as JSON, as review meetings keep it.
pub fn scorecard_json(card: &Scorecard) -> serde_json::Value {
    use serde_json::json;
    let slas: Vec<_> = card
        .slas
        .iter()
        .map(|(doc, periods)| {
            json!({
                "slaId": doc.model.id, "title": doc.model.title,
                "periods": periods.iter().map(|c| json!({
                    "periodStart": c.period.start, "periodEnd": c.period.last_day(), "actual": c.actual,
                    "slaVersion": c.version, "target": c.target, "met": c.met, "measured": c.measured,
                    "withinTargetShare": c.within_target_share, "complete": c.complete,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let goals: Vec<_> = card
        .goals
        .iter()
        .map(|(goal, p)| {
            json!({
                "goalId": goal.id, "name": goal.name, "metric": goal.metric, "target": p.target, "currency": p.currency,
                "actual": p.actual, "ratio": p.ratio, "projected": p.projected, "onTrack": p.on_track,
            })
        })
        .collect();
    json!({ "from": card.from, "to": card.to, "slas": slas, "goals": goals })
}

/// Ended SLA periods looked at again on each pass: a breach is found within this many
/// periods of its end (or after a restart that long), and a pass measures at most this
/// many periods per SLA.
const BREACH_LOOKBACK_PERIODS: u32 = 2;

/// Record every agreed SLA's ended periods that missed their target, once each, with an
/// `sla.periodBreached` outbox event (subscribers' `slaAlerts`). A period counts when it
/// ended at or before `now`, began once the SLA was first agreed (earlier periods were
/// not under the agreement), is among the last [`BREACH_LOOKBACK_PERIODS`] ended ones,
/// and its figure missed the target of the version in force when it began; a period
/// without data (no handover answered, say) is not judged. The unique key on (SLA,
/// period start) makes concurrent passes on several replicas record it once. Returns
/// how many breaches this call recorded.
pub async fn record_breaches(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
    use entity::document::{Column as DocColumn, Entity as Documents};
    use sea_orm::QuerySelect;
    let orgs: Vec<uuid::Uuid> = Documents::find()
        .select_only()
        .column(DocColumn::OrgId)
        .distinct()
        .filter(DocColumn::Kind.eq(entity::DocumentKind::Sla))
        .filter(DocColumn::Status.eq(AgreementStatus::Agreed))
        .into_tuple()
        .all(db)
        .await?;
    let mut recorded = 0;
    for org in orgs {
        match record_org_breaches(db, org, now).await {
            Ok(n) => recorded += n,
            Err(e) => tracing::warn!(org = %org, error = %e, "judging SLA periods failed; retrying next pass"),
        }
    }
    Ok(recorded)
}

async fn record_org_breaches(db: &sea_orm::DatabaseConnection, org: uuid::Uuid, now: DateTime<Utc>) -> Result<usize> {
    use sea_orm::sea_query::OnConflict;
    let system = Actor::system(org);
    let settings = settings(db, org).await?;
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let slas = agreements::list::<SlaBody>(db, &system, &criteria).await?;
    let today = now.with_timezone(&settings.tz()).date_naive();
    let mut recorded = 0;
    for sla in slas {
        let (Some(current), Some(first_agreed)) =
            (sla.in_force(), sla.versions.iter().filter_map(|v| v.model.agreed_at).min())
        else {
            continue;
        };
        // Back from today far enough for the last ended periods, whole periods only.
        let granularity = granularity(current.body.period);
        let mut from = periods::period_start(today, granularity);
        for _ in 0..BREACH_LOOKBACK_PERIODS {
            from = periods::period_start(from.pred_opt().unwrap_or(from), granularity);
        }
        let judged = sla_compliance_in(db, &system, &settings, &sla, from, today).await?;
        for period in judged {
            let ended = period.period.end_at <= now;
            let (Some(false), Some(value)) = (period.met, period.actual) else { continue };
            if !ended || period.period.start_at < first_agreed {
                continue;
            }
            let txn = crate::db::begin_write(db).await?;
            let breach = entity::sla_breach::ActiveModel {
                id: sea_orm::Set(uuid::Uuid::now_v7()),
                org_id: sea_orm::Set(org),
                sla_id: sea_orm::Set(sla.model.id),
                sla_version: sea_orm::Set(period.version),
                period_start: sea_orm::Set(period.period.start_at),
                period_end: sea_orm::Set(period.period.end_at),
                value: sea_orm::Set(value),
                target: sea_orm::Set(period.target),
                created_at: sea_orm::Set(now),
            };
            let inserted = entity::sla_breach::Entity::insert(breach)
                .on_conflict(
                    OnConflict::columns([
                        entity::sla_breach::Column::OrgId,
                        entity::sla_breach::Column::SlaId,
                        entity::sla_breach::Column::PeriodStart,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            if inserted == 1 {
                let payload = serde_json::json!({
                    "slaVersion": period.version, "periodStart": period.period.start_at,
                    "periodEnd": period.period.end_at, "value": value, "target": period.target,
                });
                let event = "sla.periodBreached";
                crate::events::outbox::publish(&txn, &system, event, "sla", Some(sla.model.id), payload).await?;
                recorded += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(recorded)
}
