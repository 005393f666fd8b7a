//! The KPI engine: one definition per metric ([`metrics`]), computed in the database
//! (GROUP BY and window functions both engines have) for calendar periods of the
//! organization's time zone, optionally grouped and filtered. BI tools, goals, SLA
//! compliance, the scorecard and review meetings all read the same numbers from here.

pub mod facts;
pub mod funnel;
pub mod graphql;
pub mod icp;
pub mod periods;
pub mod progress;
pub mod rollup;
pub mod sql;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{CampaignChannel, LifecycleStage, SalesStrategy, Team};
use futures_util::future::try_join_all;
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, Statement};
use uuid::Uuid;

use crate::agreements::icps;
use crate::agreements::taxonomies::{self, TaxonomyList};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::catalogue::{KpiGroupBy, KpiMetric, Shape};
use crate::db::sql::Sql;
use crate::error::{ApiError, Result};
use crate::org::OrgSettings;
use facts::{Dims, Fact, FactContext, Time, dimension};
use periods::{Granularity, Period};

/// Periods adding up to at most this many days count as a narrow query.
const NARROW_DAYS: i64 = 8;

/// The most metrics one request may ask for.
pub const MAX_METRICS: usize = 30;

/// The most points one answer may hold (series × periods), so that a fine grouping
/// over a long range of days cannot exhaust the server's memory.
pub const MAX_POINTS: usize = 200_000;

fn check_size(series: &[Series]) -> Result<()> {
    let points: usize = series.iter().map(|s| s.points.len()).sum();
    if points > MAX_POINTS {
        return Err(ApiError::bad_input(
            "groupBy",
            format!(
                "the answer would hold {points} points, more than {MAX_POINTS}: filter, group less finely, \
                 widen the granularity or shorten the range"
            ),
        ));
    }
    Ok(())
}

/// Narrows the facts of every metric asked for. A condition on a dimension a metric
/// does not have is BAD_USER_INPUT.
#[derive(Debug, Clone, Default)]
pub struct KpiFilter {
    pub team: Option<Team>,
    pub user_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub channel: Option<CampaignChannel>,
    pub strategy: Option<SalesStrategy>,
    /// A lost-reason code and a competitor as stored.
    pub lost_reason: Option<String>,
    pub competitor: Option<String>,
    /// Only facts whose account fits an ideal customer profile in force (true) or fits none (false).
    pub icp_fit: Option<bool>,
}

impl KpiFilter {
    /// No condition at all: every fact of the organization counts.
    pub fn is_empty(&self) -> bool {
        let Self { team, user_id, persona_id, source, campaign, channel, strategy, lost_reason, competitor, icp_fit } =
            self;
        icp_fit.is_none()
            && lost_reason.is_none()
            && competitor.is_none()
            && team.is_none()
            && user_id.is_none()
            && persona_id.is_none()
            && source.is_none()
            && campaign.is_none()
            && channel.is_none()
            && strategy.is_none()
    }
}

/// One point of a series: a period and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub period: Period,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
}

/// One metric for one group (and, for MEDIAN_DAYS_IN_STAGE, one stage), over every period.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub metric: KpiMetric,
    pub group_by: KpiGroupBy,
    /// The group's key (a user or persona id, a team, source, campaign, channel or
    /// strategy); `None` for NONE, or for facts without a value in that dimension.
    pub group: Option<String>,
    /// A readable name for the group (a user's or persona's name), when there is one.
    pub label: Option<String>,
    pub stage: Option<LifecycleStage>,
    pub points: Vec<Point>,
    /// The reporting currency, for a metric whose figures are money.
    pub currency: Option<String>,
}

/// The organization's settings that KPIs depend on (time zone, currency, thresholds).
pub use crate::org::settings;

/// What to compute.
#[derive(Debug, Clone)]
pub struct KpiRequest {
    pub metrics: Vec<KpiMetric>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub group_by: KpiGroupBy,
    pub filter: KpiFilter,
}

/// Compute the series of every metric asked for, one database query per metric, run
/// side by side.
#[tracing::instrument(skip(db, actor, request), fields(org = %actor.org_id))]
pub async fn kpis(db: &impl ConnectionTrait, actor: &Actor, request: &KpiRequest) -> Result<Vec<Series>> {
    require(can_read(actor, Scope::KpisRead), "read KPIs")?;
    if request.metrics.is_empty() {
        return Err(ApiError::bad_input("metrics", "name at least one metric"));
    }
    if request.metrics.len() > MAX_METRICS {
        return Err(ApiError::bad_input("metrics", format!("at most {MAX_METRICS} metrics per request")));
    }
    let settings = settings(db, actor.org_id).await?;
    let periods = periods::periods(settings.tz(), request.from, request.to, request.granularity)?;
    let mut metrics = request.metrics.clone();
    metrics.dedup();
    let mut ctx = context(db, &settings);
    if needs_fitting_accounts(request.group_by, &request.filter) {
        // Read once for every metric of the request.
        ctx.fitting_accounts = Some(fitting_accounts(db, actor.org_id).await?);
    }
    // Whole-organization series of additive metrics come from the daily rollup when built.
    let rolled: Vec<KpiMetric> = metrics.iter().copied().filter(|&m| rollup::rolls_up(m)).collect();
    let view = if request.group_by == KpiGroupBy::None && request.filter.is_empty() && !rolled.is_empty() {
        rollup::view(db, actor.org_id, &settings, &rolled, &periods).await?
    } else {
        None
    };
    let (ctx, view, periods) = (&ctx, &view, &periods);
    let work = metrics.iter().map(|&m| async move {
        match view {
            Some(view) if rollup::rolls_up(m) => rollup::compute(db, actor.org_id, ctx, m, periods, view).await,
            _ => compute(db, actor, ctx, m, periods, request.group_by, &request.filter).await,
        }
    });
    let series: Vec<Vec<Series>> = try_join_all(work).await?;
    let mut series: Vec<Series> = series.into_iter().flatten().collect();
    if request.group_by == KpiGroupBy::User {
        with_everyone(db, actor, ctx, &mut series, &metrics, periods, &request.filter).await?;
    }
    check_size(&series)?;
    label(db, actor, &mut series).await?;
    Ok(series)
}

/// Per-person metrics of time with customers list every active person the filter
/// admits, with zeros for those without any: a team lead sees who spent no time with
/// customers, not only who did.
async fn with_everyone(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ctx: &FactContext,
    series: &mut Vec<Series>,
    requested: &[KpiMetric],
    periods: &[Period],
    filter: &KpiFilter,
) -> Result<()> {
    let per_person = [KpiMetric::CustomerFacingHours, KpiMetric::DistinctCustomersTouched];
    let metrics: Vec<KpiMetric> = per_person.into_iter().filter(|m| requested.contains(m)).collect();
    let lead_based = filter.persona_id.is_some()
        || filter.source.is_some()
        || filter.campaign.is_some()
        || filter.channel.is_some()
        || filter.icp_fit.is_some();
    if metrics.is_empty() || lead_based {
        // A lead-based filter selects activities, not people.
        return Ok(());
    }
    let mut users = entity::user::Entity::find()
        .filter(entity::user::Column::OrgId.eq(actor.org_id))
        .filter(entity::user::Column::Active.eq(true));
    if let Some(team) = filter.team {
        users = users.filter(entity::user::Column::Team.eq(team));
    }
    if let Some(id) = filter.user_id {
        users = users.filter(entity::user::Column::Id.eq(id));
    }
    let users = users.all(db).await?;
    let order: HashMap<KpiMetric, usize> = series.iter().enumerate().rev().map(|(i, s)| (s.metric, i)).collect();
    for metric in metrics {
        let shape = metric.shape();
        for user in &users {
            let key = Some(user.id.to_string());
            if series.iter().any(|s| s.metric == metric && s.group == key) {
                continue;
            }
            let points = periods.iter().map(|p| point(shape, *p, Some(0.0), None)).collect();
            let currency = ctx.currency_of(metric);
            series.push(Series {
                metric,
                group_by: KpiGroupBy::User,
                group: key,
                label: None,
                stage: None,
                points,
                currency,
            });
        }
    }
    // Back in the request's metric order, each metric's people by id.
    series.sort_by_key(|s| (order.get(&s.metric).copied().unwrap_or(usize::MAX), s.group.clone()));
    Ok(())
}

/// What the facts of every metric need from the organization's settings.
pub fn context(db: &impl ConnectionTrait, settings: &OrgSettings) -> FactContext {
    FactContext {
        backend: db.get_database_backend(),
        tz: settings.tz(),
        currency: settings.reporting_currency.clone(),
        now: Utc::now(),
        actionable_people: settings.feedback_actionable_endorsers,
        actionable_accounts: settings.feedback_actionable_accounts,
        narrow: false,
        attribution_days: settings.campaign_attribution_days,
        campaign_windows: Vec::new(),
        fitting_accounts: None,
    }
}

/// Whether the request reads which accounts fit an ICP (grouped or filtered by fit).
fn needs_fitting_accounts(group_by: KpiGroupBy, filter: &KpiFilter) -> bool {
    group_by == KpiGroupBy::IcpFit || filter.icp_fit.is_some()
}

fn group_is_id(group: KpiGroupBy) -> bool {
    matches!(group, KpiGroupBy::User | KpiGroupBy::Persona)
}

/// The filter's conditions on `dims`, with the joins they need.
fn filter_conditions(metric: KpiMetric, dims: &Dims, filter: &KpiFilter, joins: &mut Vec<String>) -> Result<Sql> {
    let mut sql = Sql::new();
    let conditions: [(KpiGroupBy, &str, Option<sea_orm::Value>); 10] = [
        (KpiGroupBy::Team, "filter.team", filter.team.map(|t| t.to_value().into())),
        (KpiGroupBy::User, "filter.userId", filter.user_id.map(Into::into)),
        (KpiGroupBy::Persona, "filter.personaId", filter.persona_id.map(Into::into)),
        (KpiGroupBy::Source, "filter.source", filter.source.clone().map(Into::into)),
        (KpiGroupBy::Campaign, "filter.campaign", filter.campaign.clone().map(Into::into)),
        (KpiGroupBy::Channel, "filter.channel", filter.channel.map(|c| c.to_value().into())),
        (KpiGroupBy::Strategy, "filter.strategy", filter.strategy.map(|s| s.to_value().into())),
        (KpiGroupBy::LostReason, "filter.lostReason", filter.lost_reason.clone().map(Into::into)),
        (KpiGroupBy::Competitor, "filter.competitor", filter.competitor.clone().map(Into::into)),
        (KpiGroupBy::IcpFit, "filter.icpFit", filter.icp_fit.map(|fits| fits.to_string().into())),
    ];
    for (dimension_of, field, value) in conditions {
        let Some(value) = value else { continue };
        let (expr, needed) = dimension(dims, dimension_of)
            .ok_or_else(|| ApiError::bad_input(field, format!("does not apply to {}", metric.name())))?;
        add_joins(joins, needed);
        sql.push_composed(format!(" AND {expr} = ")).bind(value);
    }
    Ok(sql)
}

/// Add `needed` joins not present yet, keeping their order (a join may rely on an earlier one).
fn add_joins(joins: &mut Vec<String>, needed: Vec<String>) {
    for join in needed {
        if !joins.contains(&join) {
            joins.push(join);
        }
    }
}

/// The SELECT of the ids of the accounts that fit an ideal customer profile in force.
async fn fitting_accounts(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Sql> {
    let profiles: Vec<_> = icps::agreed(db, org_id).await?.into_iter().map(|i| i.profile).collect();
    let mut sql = Sql::new();
    sql.select(&crate::leads::accounts::fitting_ids(org_id, &profiles));
    Ok(sql)
}

/// The `cw(id, s, e)` table of campaign attribution windows as a CTE (empty, but typed,
/// without campaigns).
fn campaign_windows_cte(windows: &[(Uuid, DateTime<Utc>, DateTime<Utc>)]) -> Sql {
    let mut sql = Sql::new();
    if windows.is_empty() {
        sql.push("cw(id, s, e) AS (SELECT id, created_at, created_at FROM campaigns WHERE 1 = 0)");
        return sql;
    }
    sql.push("cw(id, s, e) AS (VALUES ");
    for (i, (id, start, end)) in windows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(").bind(*id).push(", ").bind(*start).push(", ").bind(*end).push(")");
    }
    sql.push(")");
    sql
}

/// Each campaign's attribution window: from its first local day to the end of its last
/// day plus the organization's attribution days.
async fn campaign_windows(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ctx: &FactContext,
) -> Result<Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)>> {
    let campaigns = entity::campaign::Entity::find().filter(entity::campaign::Column::OrgId.eq(org_id)).all(db).await?;
    Ok(campaigns
        .into_iter()
        .map(|c| {
            let after = c.ends_on.checked_add_days(chrono::Days::new(1 + u64::from(ctx.attribution_days)));
            let end = after.unwrap_or(c.ends_on);
            (c.id, crate::org::local_midnight(ctx.tz, c.starts_on), crate::org::local_midnight(ctx.tz, end))
        })
        .collect())
}

/// The `p` table of periods as a CTE.
fn periods_cte(periods: &[Period]) -> Sql {
    let mut sql = Sql::new();
    sql.push("WITH p(idx, s, e, sd, ed) AS (VALUES ");
    for (i, p) in periods.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(i as i32)
            .push(", ")
            .bind(p.start_at)
            .push(", ")
            .bind(p.end_at)
            .push(", ")
            .bind(p.start)
            .push(", ")
            .bind(p.end)
            .push(")");
    }
    sql.push(")");
    sql
}

/// The fact rows of `metric`: `x(period, grp, stg, num, den)`.
fn fact_rows(
    org_id: Uuid,
    metric: KpiMetric,
    facts: &[Fact],
    bounds: (&[Period], &[Period]),
    group_by: KpiGroupBy,
    filter: &KpiFilter,
) -> Result<Sql> {
    let mut sql = Sql::new();
    for (i, fact) in facts.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        let mut joins = vec![];
        let (group, needed) = dimension(&fact.dims, group_by)
            .ok_or_else(|| ApiError::bad_input("groupBy", format!("{} cannot be grouped that way", metric.name())))?;
        add_joins(&mut joins, needed);
        let filters = filter_conditions(metric, &fact.dims, filter, &mut joins)?;
        let (column, periods) = match &fact.time {
            Time::At(column) => (Some(column), bounds.0),
            Time::YearEarlier(column) => (Some(column), bounds.1),
            Time::Overlap(_) => (None, bounds.0),
        };
        sql.push("SELECT ");
        match column {
            Some(column) => sql.append(&bucket(column, periods, 0, periods.len())),
            None => sql.push("p.idx"),
        };
        sql.push_composed(format!(
            " AS period, {group} AS grp, {} AS stg, ",
            fact.stage.unwrap_or("CAST(NULL AS TEXT)")
        ))
        .append(&fact.num)
        .push(" AS num, ")
        .append(&fact.den)
        .push(" AS den, ");
        if fact.miss.is_empty() {
            sql.push("CAST(NULL AS TEXT)");
        } else {
            sql.append(&fact.miss);
        }
        sql.push_composed(format!(" AS miss, {} AS dkey FROM ", fact.key.unwrap_or("CAST(NULL AS TEXT)")));
        if let Time::Overlap(condition) = &fact.time {
            sql.push_composed(format!("p JOIN {} ON {condition}", fact.table));
        } else {
            sql.push_composed(fact.table.clone());
        }
        sql.push_composed(fact.joins.clone())
            .push_composed(joins.concat())
            .push_composed(format!(" WHERE {}.org_id = ", fact.org))
            .bind(org_id);
        if let Some(column) = column {
            sql.append(&time_ranges(column, periods));
        }
        sql.append(&fact.conds).append(&filters);
    }
    Ok(sql)
}

/// The condition that `column` falls in one of `periods` (sorted): one range per run
/// of adjacent periods, so that each is an index range scan.
fn time_ranges(column: &str, periods: &[Period]) -> Sql {
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>)> = vec![];
    for p in periods {
        match runs.last_mut() {
            Some(run) if run.1 == p.start_at => run.1 = p.end_at,
            _ => runs.push((p.start_at, p.end_at)),
        }
    }
    let mut sql = Sql::new();
    if runs.is_empty() {
        return sql;
    }
    sql.push(" AND (");
    for (i, (start, end)) in runs.into_iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push_composed(format!("{column} >= ")).bind(start).push_composed(format!(" AND {column} < ")).bind(end);
    }
    sql.push(")");
    sql
}

/// The index of the period (of the contiguous `periods[low..high]`) that contains
/// `column`, as a balanced tree of `CASE`s: a handful of comparisons per row even
/// for a thousand days, and the same SQL on both engines.
fn bucket(column: &str, periods: &[Period], low: usize, high: usize) -> Sql {
    let mut sql = Sql::new();
    if high - low <= 1 {
        sql.push_composed(low.to_string());
        return sql;
    }
    let middle = (low + high) / 2;
    sql.push_composed(format!("CASE WHEN {column} < "))
        .bind(periods[middle].start_at)
        .push(" THEN ")
        .append(&bucket(column, periods, low, middle))
        .push(" ELSE ")
        .append(&bucket(column, periods, middle, high))
        .push(" END");
    sql
}

/// A series' group and stage.
type SeriesKey = (Option<String>, Option<String>);
/// A period's numerator and denominator.
type Figures = (Option<f64>, Option<f64>);

#[derive(Debug)]
struct Row {
    period: usize,
    group: Option<String>,
    stage: Option<String>,
    num: Option<f64>,
    den: Option<f64>,
    /// The earliest fact of the row that lacks an exchange rate (see `facts::missing_rate`).
    miss: Option<String>,
}

fn read_row(row: &QueryResult, id_group: bool) -> Result<Row> {
    let period: i32 = row.try_get("", "period")?;
    let group = if id_group {
        row.try_get::<Option<Uuid>>("", "grp")?.map(|id| id.to_string())
    } else {
        row.try_get::<Option<String>>("", "grp")?
    };
    Ok(Row {
        period: usize::try_from(period).unwrap_or_default(),
        group,
        stage: row.try_get("", "stg")?,
        num: row.try_get("", "num")?,
        den: row.try_get("", "den")?,
        miss: row.try_get("", "miss")?,
    })
}

/// The SQL of one metric for one organization over `periods` (also for `EXPLAIN`).
pub fn statement(
    backend: DbBackend,
    org_id: Uuid,
    ctx: &FactContext,
    metric: KpiMetric,
    periods: &[Period],
    group_by: KpiGroupBy,
    filter: &KpiFilter,
) -> Result<Statement> {
    let earlier: Vec<Period> = periods.iter().map(|p| p.year_earlier(ctx.tz)).collect();
    // A few days of facts (the dirty days of a rollup) look up each fact's later
    // stages by index instead of hashing every entry of the organization.
    let span: chrono::Duration = periods.iter().map(|p| p.end_at - p.start_at).sum();
    let ctx = &FactContext { narrow: span <= chrono::Duration::days(NARROW_DAYS), ..ctx.clone() };
    let facts = facts::facts(metric, ctx);
    // Only facts that overlap periods (campaigns, content) join the periods table.
    let mut sql = if facts.iter().any(|f| matches!(f.time, Time::Overlap(_))) {
        let mut cte = periods_cte(periods);
        cte.push(", ");
        cte
    } else {
        let mut with = Sql::new();
        with.push("WITH ");
        with
    };
    if matches!(metric, KpiMetric::CostPerLead | KpiMetric::CostPerMql) {
        sql.append(&campaign_windows_cte(&ctx.campaign_windows)).push(", ");
    }
    if needs_fitting_accounts(group_by, filter) {
        let Some(fitting) = &ctx.fitting_accounts else {
            return Err(ApiError::internal("the accounts that fit an ICP were not loaded"));
        };
        sql.push("fit(id) AS (").append(fitting).push("), ");
    }
    let rows = fact_rows(org_id, metric, &facts, (periods, &earlier), group_by, filter)?;
    sql.push("x AS (").append(&rows).push(")");
    match metric.shape() {
        Shape::Median => {
            sql.push(
                ", r AS (SELECT period, grp, stg, num, \
                 ROW_NUMBER() OVER (PARTITION BY period, grp, stg ORDER BY num) AS rn, \
                 COUNT(*) OVER (PARTITION BY period, grp, stg) AS n FROM x WHERE num IS NOT NULL) \
                 SELECT period, grp, stg, ",
            )
            .push_composed(sql::quantile(1, 2))
            .push(
                " AS num, CAST(MAX(n) AS DOUBLE PRECISION) AS den, CAST(NULL AS TEXT) AS miss \
                 FROM r GROUP BY period, grp, stg",
            );
        }
        Shape::Distinct => {
            sql.push(
                " SELECT period, grp, stg, CAST(COUNT(DISTINCT dkey) AS DOUBLE PRECISION) AS num, \
                 CAST(NULL AS DOUBLE PRECISION) AS den, MIN(miss) AS miss FROM x GROUP BY period, grp, stg",
            );
        }
        _ => {
            sql.push(
                " SELECT period, grp, stg, CAST(SUM(num) AS DOUBLE PRECISION) AS num, \
                 CAST(SUM(den) AS DOUBLE PRECISION) AS den, MIN(miss) AS miss FROM x GROUP BY period, grp, stg",
            );
        }
    }
    Ok(sql.build(backend))
}

/// One metric over `periods`, as series.
pub(crate) async fn compute(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ctx: &FactContext,
    metric: KpiMetric,
    periods: &[Period],
    group_by: KpiGroupBy,
    filter: &KpiFilter,
) -> Result<Vec<Series>> {
    let mut loaded = None;
    if matches!(metric, KpiMetric::CostPerLead | KpiMetric::CostPerMql) {
        let windows = campaign_windows(db, actor.org_id, ctx).await?;
        loaded = Some(FactContext { campaign_windows: windows, ..ctx.clone() });
    }
    if needs_fitting_accounts(group_by, filter) && ctx.fitting_accounts.is_none() {
        let base = loaded.take().unwrap_or_else(|| ctx.clone());
        loaded = Some(FactContext { fitting_accounts: Some(fitting_accounts(db, actor.org_id).await?), ..base });
    }
    let ctx = loaded.as_ref().unwrap_or(ctx);
    let statement = statement(db.get_database_backend(), actor.org_id, ctx, metric, periods, group_by, filter)?;
    let rows = db.query_all_raw(statement).await?;
    let id_group = group_is_id(group_by);
    let mut grouped: BTreeMap<SeriesKey, HashMap<usize, Figures>> = BTreeMap::new();
    let mut miss: Option<String> = None;
    for row in &rows {
        let row = read_row(row, id_group)?;
        if let Some(m) = row.miss {
            miss = Some(miss.map_or(m.clone(), |earlier| earlier.min(m)));
        }
        grouped.entry((row.group, row.stage)).or_default().insert(row.period, (row.num, row.den));
    }
    if let Some(marker) = miss {
        return Err(missing_rate(&marker, ctx));
    }
    if grouped.is_empty() && group_by == KpiGroupBy::None && metric != KpiMetric::MedianDaysInStage {
        grouped.insert((None, None), HashMap::new());
    }
    let shape = metric.shape();
    Ok(grouped
        .into_iter()
        .map(|((group, stage), values)| Series {
            metric,
            group_by,
            group,
            label: None,
            stage: stage.and_then(|s| LifecycleStage::try_from_value(&s).ok()),
            points: periods
                .iter()
                .enumerate()
                .map(|(i, period)| {
                    let (num, den) = values.get(&i).copied().unwrap_or((None, None));
                    point(shape, *period, num, den)
                })
                .collect(),
            currency: ctx.currency_of(metric),
        })
        .collect())
}

/// The error for the earliest fact without an exchange rate, from its marker
/// `<epoch seconds> <t|d> <currency>`: `t` an instant (named by its local day), `d` a day.
pub(crate) fn missing_rate(marker: &str, ctx: &FactContext) -> ApiError {
    let mut parts = marker.split(' ');
    let (epoch, kind, currency) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
    let at = epoch.and_then(|e| e.parse::<i64>().ok()).and_then(|e| DateTime::<Utc>::from_timestamp(e, 0));
    let day = match (at, kind) {
        (Some(at), Some("t")) => at.with_timezone(&ctx.tz).date_naive(),
        (Some(at), _) => at.date_naive(),
        (None, _) => return ApiError::internal(format!("unreadable missing-rate marker {marker:?}")),
    };
    ApiError::MissingExchangeRate { currency: currency.to_owned(), quote: ctx.currency.clone(), day }
}

/// A point's value from its numerator and denominator.
pub fn point(shape: Shape, period: Period, num: Option<f64>, den: Option<f64>) -> Point {
    let ratio = |n: f64, d: f64| if d > 0.0 { Some(n / d) } else { None };
    match shape {
        Shape::Sum | Shape::Distinct => {
            let n = num.unwrap_or(0.0);
            Point { period, value: Some(n), numerator: Some(n), denominator: None }
        }
        Shape::Ratio => {
            let (n, d) = (num.unwrap_or(0.0), den.unwrap_or(0.0));
            Point { period, value: ratio(n, d), numerator: Some(n), denominator: Some(d) }
        }
        Shape::Median => Point { period, value: num, numerator: None, denominator: Some(den.unwrap_or(0.0)) },
        Shape::Growth => {
            let (n, d) = (num.unwrap_or(0.0), den.unwrap_or(0.0));
            Point { period, value: ratio(n, d).map(|r| r - 1.0), numerator: Some(n), denominator: Some(d) }
        }
    }
}

/// Give user and persona groups their names (two small queries at most).
async fn label(db: &impl ConnectionTrait, actor: &Actor, series: &mut [Series]) -> Result<()> {
    let ids = |group_by: KpiGroupBy| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = series
            .iter()
            .filter(|s| s.group_by == group_by)
            .filter_map(|s| s.group.as_deref().and_then(|g| Uuid::parse_str(g).ok()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let (users, personas) = (ids(KpiGroupBy::User), ids(KpiGroupBy::Persona));
    let mut names: HashMap<String, String> = HashMap::new();
    if !users.is_empty() {
        let found = entity::user::Entity::find()
            .filter(entity::user::Column::OrgId.eq(actor.org_id))
            .filter(entity::user::Column::Id.is_in(users))
            .all(db)
            .await?;
        names.extend(found.into_iter().map(|u| (u.id.to_string(), u.name)));
    }
    if !personas.is_empty() {
        let found = entity::document::Entity::find()
            .filter(entity::document::Column::OrgId.eq(actor.org_id))
            .filter(entity::document::Column::Id.is_in(personas))
            .all(db)
            .await?;
        names.extend(found.into_iter().map(|d| (d.id.to_string(), d.title)));
    }
    let list_of = |group_by| match group_by {
        KpiGroupBy::LostReason => Some(TaxonomyList::LostReasons),
        KpiGroupBy::Competitor => Some(TaxonomyList::Competitors),
        _ => None,
    };
    let mut lists = HashMap::new();
    for list in series.iter().filter_map(|s| list_of(s.group_by)) {
        if let std::collections::hash_map::Entry::Vacant(slot) = lists.entry(list) {
            slot.insert(taxonomies::in_force(db, actor.org_id, list).await?);
        }
    }
    for s in series.iter_mut() {
        s.label = match s.group_by {
            KpiGroupBy::User | KpiGroupBy::Persona => s.group.as_ref().and_then(|g| names.get(g).cloned()),
            KpiGroupBy::DefinitionVersion => s.group.as_ref().map(|v| format!("version {v}")),
            KpiGroupBy::IcpFit => Some(
                if s.group.as_deref() == Some("true") { "Fits an ideal customer profile" } else { "Fits no profile" }
                    .to_owned(),
            ),
            group_by => match (list_of(group_by).and_then(|l| lists.get(&l)), s.group.as_deref()) {
                (Some(list), Some(code)) => Some(list.label(code).to_owned()),
                _ => s.group.clone(),
            },
        };
    }
    Ok(())
}

/// The single value of `metric` over one custom period (goal progress, SLA compliance).
/// `metrics` over the local days `start..=end` as one period (review meetings): one
/// series per metric, with one point.
pub async fn over_days(
    db: &impl ConnectionTrait,
    actor: &Actor,
    metrics: &[KpiMetric],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Series>> {
    require(can_read(actor, Scope::KpisRead), "read KPIs")?;
    let settings = settings(db, actor.org_id).await?;
    let ctx = context(db, &settings);
    let period = Period::new(settings.tz(), start, end.succ_opt().unwrap_or(end));
    let mut out = Vec::with_capacity(metrics.len());
    for &metric in metrics {
        let point = value_over(db, actor, &ctx, metric, period, &KpiFilter::default()).await?;
        out.push(Series {
            metric,
            group_by: KpiGroupBy::None,
            group: None,
            label: None,
            stage: None,
            points: vec![point],
            currency: ctx.currency_of(metric),
        });
    }
    Ok(out)
}

pub(crate) async fn value_over(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ctx: &FactContext,
    metric: KpiMetric,
    period: Period,
    filter: &KpiFilter,
) -> Result<Point> {
    let series = compute(db, actor, ctx, metric, &[period], KpiGroupBy::None, filter).await?;
    Ok(series
        .into_iter()
        .next()
        .and_then(|s| s.points.into_iter().next())
        .unwrap_or_else(|| point(metric.shape(), period, None, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: usize) -> Series {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let period = Period::new(chrono_tz::UTC, day, day.succ_opt().unwrap());
        Series {
            metric: KpiMetric::Mqls,
            group_by: KpiGroupBy::User,
            group: None,
            label: None,
            stage: None,
            points: vec![point(Shape::Sum, period, Some(1.0), None); points],
            currency: None,
        }
    }

    #[test]
    fn an_answer_with_too_many_points_is_refused() {
        assert!(check_size(&[series(MAX_POINTS / 2), series(MAX_POINTS / 2)]).is_ok());
        let err = check_size(&[series(MAX_POINTS / 2), series(MAX_POINTS / 2 + 1)]).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn values_follow_each_shape() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let p = Period::new(chrono_tz::UTC, day, day.succ_opt().unwrap());
        assert_eq!(point(Shape::Ratio, p, Some(1.0), Some(4.0)).value, Some(0.25));
        assert_eq!(point(Shape::Ratio, p, Some(1.0), None).value, None);
        assert_eq!(point(Shape::Growth, p, Some(150.0), Some(100.0)).value, Some(0.5));
        assert_eq!(point(Shape::Sum, p, None, None).value, Some(0.0));
        assert_eq!(point(Shape::Median, p, None, Some(0.0)).value, None);
    }
}
