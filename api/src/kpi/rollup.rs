//! Daily rollups of the additive metrics, so that a dashboard over a year adds up a
//! few hundred stored days instead of counting a million facts.
//!
//! `kpi_rollups` holds each rolled-up metric's numerator and denominator per local day
//! of the organization, computed by the same fact SQL as a live answer. Triggers on
//! every table those facts read write *dirty marks*: instants whose local day a change
//! may have altered (migration m20261130_000005). A reader computes the marked days of
//! its range live and takes every other day from the rollup, so an answer is always
//! what the live engine would give. The worker recomputes marked days into the rollup
//! and deletes exactly the marks it read, in one transaction; a mark written meanwhile
//! stays for the next round. A rollup built for another time zone, currency or
//! definition is not read: the worker rebuilds it and readers compute live until then.
//!
//! Only metrics whose facts each fall on one instant and add up are rolled up (counts,
//! sums and ratios of sums); medians, spend spread over days, year-over-year growth
//! and figures that depend on the current time are always computed live.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryResult};
use uuid::Uuid;

use super::facts::FactContext;
use super::periods::Period;
use super::{KpiFilter, Series, point, statement};
use crate::catalogue::{KpiGroupBy, KpiMetric};
use crate::db::claim::claim_clause;
use crate::db::dialect;
use crate::db::sql::Sql;
use crate::error::{ApiError, Result};
use crate::org::OrgSettings;

/// Bump when the facts of a rolled-up metric change: rollups of another version are
/// rebuilt, never read.
const VERSION: u32 = 1;

/// The metrics kept in the rollup.
pub const ROLLED_UP: &[KpiMetric] = &[
    KpiMetric::LeadsCreated,
    KpiMetric::Mqls,
    KpiMetric::Sals,
    KpiMetric::Sqls,
    KpiMetric::MqlToSalRate,
    KpiMetric::SalToSqlRate,
    KpiMetric::SqlToWonRate,
    KpiMetric::LeadToCustomerRate,
    KpiMetric::OpportunitiesCreated,
    KpiMetric::PipelineValue,
    KpiMetric::DealsWon,
    KpiMetric::RevenueWon,
    KpiMetric::WinRate,
    KpiMetric::SalesCycleDays,
    KpiMetric::HandoverAcceptanceRate,
    KpiMetric::CustomerFacingHours,
];

/// Days one statement computes (a year of days keeps the bucket expression small).
const DAYS_PER_STATEMENT: usize = 366;

/// Marks one round of a refresh takes on (one transaction).
const MARKS_PER_REFRESH: u64 = 50_000;

/// Most rounds one refresh of an organization runs.
const ROUNDS_PER_REFRESH: usize = 20;

/// Rows per multi-row statement.
const ROWS_PER_STATEMENT: usize = 500;

pub fn rolls_up(metric: KpiMetric) -> bool {
    ROLLED_UP.contains(&metric)
}

/// What a rollup was built for; one built for anything else is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Basis {
    definition: String,
    time_zone: String,
    currency: String,
}

impl Basis {
    /// The basis of the organization's figures now: its time zone, and its reporting
    /// currency with the state of its exchange rates (a rate set changes past money days).
    async fn wanted(db: &impl ConnectionTrait, org_id: Uuid, settings: &OrgSettings) -> Result<Self> {
        let metrics: Vec<&str> = ROLLED_UP.iter().map(|m| m.name()).collect();
        let rates = crate::org::exchange_rates::revision(db, org_id).await?;
        Ok(Self {
            definition: format!("{VERSION}:{}", metrics.join(",")),
            time_zone: settings.tz().name().to_owned(),
            currency: format!("{} rates {rates}", settings.reporting_currency),
        })
    }

    fn read(row: &QueryResult) -> Result<Self> {
        Ok(Self {
            definition: row.try_get("", "definition")?,
            time_zone: row.try_get("", "time_zone")?,
            currency: row.try_get("", "currency")?,
        })
    }
}

/// What the organization's rollup state says it was built for. With `lock`, the row is
/// locked for the caller's transaction, and skipped (`None`) when another worker holds
/// it (PostgreSQL; on SQLite one process owns the database).
async fn stored_basis(db: &impl ConnectionTrait, org_id: Uuid, lock: bool) -> Result<Option<Basis>> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new();
    sql.push("SELECT definition, time_zone, currency FROM kpi_rollup_states WHERE org_id = ").bind(org_id);
    if lock {
        sql.push(claim_clause(db));
    }
    let row = db.query_one_raw(sql.build(backend)).await?;
    row.as_ref().map(Basis::read).transpose()
}

/// What one request reads from the rollup: the dirty days and the stored figures.
pub(crate) struct View {
    tz: Tz,
    dirty: BTreeSet<NaiveDate>,
    figures: HashMap<KpiMetric, Vec<(NaiveDate, f64, f64)>>,
}

/// The local days of `tz` that an hour (since the epoch) touches.
fn days_of_hour(tz: Tz, hour: i64) -> impl Iterator<Item = NaiveDate> {
    [hour * 3600, hour * 3600 + 3599]
        .into_iter()
        .filter_map(move |s| DateTime::<Utc>::from_timestamp(s, 0).map(|t| t.with_timezone(&tz).date_naive()))
}

/// The rollup of `metrics` over `periods`, if the organization has one built for its
/// current settings. Dirty marks are read before the figures: a refresh committing in
/// between then only makes a clean day look dirty, never a stale day look clean.
pub(crate) async fn view(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    settings: &OrgSettings,
    metrics: &[KpiMetric],
    periods: &[Period],
) -> Result<Option<View>> {
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else { return Ok(None) };
    if stored_basis(db, org_id, false).await? != Some(Basis::wanted(db, org_id, settings).await?) {
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let tz = settings.tz();
    let mut sql = Sql::new();
    sql.push_composed(format!(
        "SELECT DISTINCT {} AS h FROM kpi_dirty_marks WHERE org_id = ",
        dialect::hour_of(backend, "at")
    ))
    .bind(org_id);
    let mut dirty = BTreeSet::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        dirty.extend(days_of_hour(tz, row.try_get::<i64>("", "h")?));
    }
    let mut sql = Sql::new();
    sql.push("SELECT metric, day, num, den FROM kpi_rollups WHERE org_id = ")
        .bind(org_id)
        .push(" AND metric IN ")
        .list(metrics.iter().map(|m| m.name()))
        .push(" AND day >= ")
        .bind(first.start)
        .push(" AND day < ")
        .bind(last.end);
    let by_name: HashMap<&str, KpiMetric> = metrics.iter().map(|&m| (m.name(), m)).collect();
    let mut figures: HashMap<KpiMetric, Vec<(NaiveDate, f64, f64)>> = HashMap::new();
    for row in db.query_all_raw(sql.build(backend)).await? {
        let name: String = row.try_get("", "metric")?;
        if let Some(&metric) = by_name.get(name.as_str()) {
            figures.entry(metric).or_default().push((
                row.try_get("", "day")?,
                row.try_get("", "num")?,
                row.try_get("", "den")?,
            ));
        }
    }
    Ok(Some(View { tz, dirty, figures }))
}

/// `metric` over `periods` (whole organization, no filter): stored days plus the dirty
/// days computed live.
pub(crate) async fn compute(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ctx: &FactContext,
    metric: KpiMetric,
    periods: &[Period],
    view: &View,
) -> Result<Vec<Series>> {
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else { return Ok(vec![]) };
    let index_of = |day: NaiveDate| {
        let i = periods.partition_point(|p| p.end <= day);
        periods.get(i).filter(|p| p.start <= day).map(|_| i)
    };
    let mut sums = vec![(0.0, 0.0); periods.len()];
    for &(day, num, den) in view.figures.get(&metric).into_iter().flatten() {
        if let (Some(i), false) = (index_of(day), view.dirty.contains(&day)) {
            sums[i].0 += num;
            sums[i].1 += den;
        }
    }
    let dirty: Vec<NaiveDate> = view.dirty.range(first.start..last.end).copied().collect();
    for (day, num, den) in live_days(db, org_id, ctx, metric, view.tz, &dirty).await? {
        if let Some(i) = index_of(day) {
            sums[i].0 += num;
            sums[i].1 += den;
        }
    }
    let shape = metric.shape();
    Ok(vec![Series {
        metric,
        group_by: KpiGroupBy::None,
        group: None,
        label: None,
        stage: None,
        points: periods.iter().zip(sums).map(|(p, (num, den))| point(shape, *p, Some(num), Some(den))).collect(),
        currency: ctx.currency_of(metric),
    }])
}

/// `metric` for each of `days` (sorted), computed live: `(day, num, den)` for days with facts.
async fn live_days(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ctx: &FactContext,
    metric: KpiMetric,
    tz: Tz,
    days: &[NaiveDate],
) -> Result<Vec<(NaiveDate, f64, f64)>> {
    let mut out = vec![];
    for chunk in days.chunks(DAYS_PER_STATEMENT) {
        let periods: Vec<Period> =
            chunk.iter().map(|&d| Period::new(tz, d, d.checked_add_days(Days::new(1)).unwrap_or(d))).collect();
        let statement = statement(
            db.get_database_backend(),
            org_id,
            ctx,
            metric,
            &periods,
            KpiGroupBy::None,
            &KpiFilter::default(),
        )?;
        for row in db.query_all_raw(statement).await? {
            let period: i32 = row.try_get("", "period")?;
            let Some(day) = usize::try_from(period).ok().and_then(|i| chunk.get(i)) else { continue };
            if let Some(marker) = row.try_get::<Option<String>>("", "miss")? {
                // A day missing a rate is never stored nor read as if it were complete.
                return Err(super::missing_rate(&marker, ctx));
            }
            let num: Option<f64> = row.try_get("", "num")?;
            let den: Option<f64> = row.try_get("", "den")?;
            out.push((*day, num.unwrap_or(0.0), den.unwrap_or(0.0)));
        }
    }
    Ok(out)
}

/// Create the organization's rollup state (as not built) when missing, so that there
/// is a row to lock.
async fn ensure_state(db: &DatabaseConnection, org_id: Uuid) -> Result<()> {
    let now = Utc::now();
    let mut sql = Sql::new();
    sql.push(
        "INSERT INTO kpi_rollup_states (org_id, definition, time_zone, currency, built_at, refreshed_at) VALUES (",
    )
    .bind(org_id)
    .push(", '', '', '', ")
    .bind(now)
    .push(", ")
    .bind(now)
    .push(") ON CONFLICT (org_id) DO NOTHING");
    let txn = crate::db::begin_write(db).await?;
    txn.execute_raw(sql.build(db.get_database_backend())).await?;
    txn.commit().await?;
    Ok(())
}

/// Lock the organization's rollup state for this transaction and read what it was
/// built for (`None` inside when never built). `None` when another worker holds it.
async fn lock_state(txn: &impl ConnectionTrait, org_id: Uuid) -> Result<Option<Option<Basis>>> {
    let stored = stored_basis(txn, org_id, true).await?;
    Ok(stored.map(|basis| Some(basis).filter(|b| !b.definition.is_empty())))
}

/// Replace the organization's rolled-up figures of `days` (all days when `None`) with
/// `rows`, in `txn`.
async fn store(
    txn: &impl ConnectionTrait,
    org_id: Uuid,
    days: Option<&[NaiveDate]>,
    rows: &[(KpiMetric, NaiveDate, f64, f64)],
) -> Result<()> {
    let backend = txn.get_database_backend();
    match days {
        None => {
            let mut sql = Sql::new();
            sql.push("DELETE FROM kpi_rollups WHERE org_id = ").bind(org_id);
            txn.execute_raw(sql.build(backend)).await?;
        }
        Some(days) => {
            for chunk in days.chunks(ROWS_PER_STATEMENT) {
                let mut sql = Sql::new();
                sql.push("DELETE FROM kpi_rollups WHERE org_id = ")
                    .bind(org_id)
                    .push(" AND day IN ")
                    .list(chunk.iter().copied());
                txn.execute_raw(sql.build(backend)).await?;
            }
        }
    }
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new();
        sql.push("INSERT INTO kpi_rollups (org_id, metric, day, num, den) VALUES ");
        for (i, (metric, day, num, den)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(org_id).push(", ").bind(metric.name()).push(", ").bind(*day);
            sql.push(", ").bind(*num).push(", ").bind(*den).push(")");
        }
        txn.execute_raw(sql.build(backend)).await?;
    }
    Ok(())
}

/// Every rolled-up metric on each of `days`, computed live (days without facts left out).
async fn compute_days(
    txn: &impl ConnectionTrait,
    org_id: Uuid,
    ctx: &FactContext,
    tz: Tz,
    days: &[NaiveDate],
) -> Result<Vec<(KpiMetric, NaiveDate, f64, f64)>> {
    let mut rows = vec![];
    for &metric in ROLLED_UP {
        for (day, num, den) in live_days(txn, org_id, ctx, metric, tz, days).await? {
            if num != 0.0 || den != 0.0 {
                rows.push((metric, day, num, den));
            }
        }
    }
    Ok(rows)
}

async fn delete_marks(txn: &impl ConnectionTrait, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(ROWS_PER_STATEMENT * 2) {
        let mut sql = Sql::new();
        sql.push("DELETE FROM kpi_dirty_marks WHERE id IN ").list(chunk.iter().copied());
        txn.execute_raw(sql.build(txn.get_database_backend())).await?;
    }
    Ok(())
}

/// The organization's marks (at most `limit`), oldest first: `(id, at)`.
async fn marks(txn: &impl ConnectionTrait, org_id: Uuid, limit: Option<u64>) -> Result<Vec<(i64, DateTime<Utc>)>> {
    let mut sql = Sql::new();
    sql.push("SELECT id, at FROM kpi_dirty_marks WHERE org_id = ").bind(org_id).push(" ORDER BY id");
    if let Some(limit) = limit {
        sql.push_composed(format!(" LIMIT {limit}"));
    }
    let rows = txn.query_all_raw(sql.build(txn.get_database_backend())).await?;
    rows.iter().map(|r| Ok((r.try_get("", "id")?, r.try_get("", "at")?))).collect()
}

/// The first and last local day on which the organization has any fact.
async fn fact_days(txn: &impl ConnectionTrait, org_id: Uuid, tz: Tz) -> Result<Option<(NaiveDate, NaiveDate)>> {
    const COLUMNS: [(&str, &str); 7] = [
        ("leads", "created_at"),
        ("lead_stage_transitions", "at"),
        ("opportunities", "created_at"),
        ("opportunities", "closed_at"),
        ("activities", "occurred_at"),
        ("handovers", "handed_at"),
        ("handovers", "responded_at"),
    ];
    let (mut low, mut high): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    for (table, column) in COLUMNS {
        let mut sql = Sql::new();
        sql.push_composed(format!("SELECT MIN({column}) AS low, MAX({column}) AS high FROM {table} WHERE org_id = "))
            .bind(org_id);
        if let Some(row) = txn.query_one_raw(sql.build(txn.get_database_backend())).await? {
            let (l, h): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
                (row.try_get("", "low")?, row.try_get("", "high")?);
            low = low.into_iter().chain(l).min();
            high = high.into_iter().chain(h).max();
        }
    }
    Ok(low.zip(high).map(|(l, h)| (l.with_timezone(&tz).date_naive(), h.with_timezone(&tz).date_naive())))
}

/// Build the organization's rollup from scratch for its current settings. Returns
/// false when another worker holds it.
#[tracing::instrument(skip(db, settings))]
pub async fn build(db: &DatabaseConnection, org_id: Uuid, settings: &OrgSettings) -> Result<bool> {
    ensure_state(db, org_id).await?;
    let txn = crate::db::begin_write(db).await?;
    let Some(_) = lock_state(&txn, org_id).await? else { return Ok(false) };
    let wanted = Basis::wanted(&txn, org_id, settings).await?;
    let tz = settings.tz();
    let ctx = super::context(&txn, settings);
    let read = marks(&txn, org_id, None).await?;
    let mut rows = vec![];
    if let Some((low, high)) = fact_days(&txn, org_id, tz).await? {
        let days: Vec<NaiveDate> = low.iter_days().take_while(|d| *d <= high).collect();
        rows = compute_days(&txn, org_id, &ctx, tz, &days).await?;
    }
    store(&txn, org_id, None, &rows).await?;
    delete_marks(&txn, &read.iter().map(|(id, _)| *id).collect::<Vec<_>>()).await?;
    save_basis(&txn, org_id, &wanted, true).await?;
    txn.commit().await?;
    Ok(true)
}

async fn save_basis(txn: &impl ConnectionTrait, org_id: Uuid, basis: &Basis, built: bool) -> Result<()> {
    let now = Utc::now();
    let mut sql = Sql::new();
    sql.push("UPDATE kpi_rollup_states SET definition = ")
        .bind(basis.definition.clone())
        .push(", time_zone = ")
        .bind(basis.time_zone.clone())
        .push(", currency = ")
        .bind(basis.currency.clone())
        .push(", refreshed_at = ")
        .bind(now);
    if built {
        sql.push(", built_at = ").bind(now);
    }
    sql.push(" WHERE org_id = ").bind(org_id);
    txn.execute_raw(sql.build(txn.get_database_backend())).await?;
    Ok(())
}

/// Recompute the days the organization's dirty marks name and delete those marks, in
/// rounds of [`MARKS_PER_REFRESH`] marks. Rebuilds instead when the rollup was built
/// for other settings. Returns false when another worker holds it.
pub async fn refresh(db: &DatabaseConnection, org_id: Uuid, settings: &OrgSettings) -> Result<bool> {
    refresh_in_rounds(db, org_id, settings, MARKS_PER_REFRESH).await
}

/// [`refresh`] with rounds of `batch` marks (tests use small ones). Under steady writes
/// marks can arrive faster than one round takes on, so rounds go on while they find a
/// full batch, up to [`ROUNDS_PER_REFRESH`] (then other organizations get their turn).
pub async fn refresh_in_rounds(
    db: &DatabaseConnection,
    org_id: Uuid,
    settings: &OrgSettings,
    batch: u64,
) -> Result<bool> {
    for _ in 0..ROUNDS_PER_REFRESH {
        match refresh_round(db, org_id, settings, batch).await? {
            Some(read) if read == batch => continue,
            Some(_) => return Ok(true),
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// One transaction of [`refresh_in_rounds`]: the number of marks it took on, `None`
/// when another worker holds the rollup.
#[tracing::instrument(skip(db, settings))]
async fn refresh_round(
    db: &DatabaseConnection,
    org_id: Uuid,
    settings: &OrgSettings,
    batch: u64,
) -> Result<Option<u64>> {
    let wanted = Basis::wanted(db, org_id, settings).await?;
    ensure_state(db, org_id).await?;
    let txn = crate::db::begin_write(db).await?;
    let Some(stored) = lock_state(&txn, org_id).await? else { return Ok(None) };
    if stored.as_ref() != Some(&wanted) {
        txn.rollback().await?;
        return Ok(build(db, org_id, settings).await?.then_some(0));
    }
    let tz = settings.tz();
    let read = marks(&txn, org_id, Some(batch)).await?;
    let days: BTreeSet<NaiveDate> = read.iter().map(|(_, at)| at.with_timezone(&tz).date_naive()).collect();
    let days: Vec<NaiveDate> = days.into_iter().collect();
    let ctx = super::context(&txn, settings);
    let rows = compute_days(&txn, org_id, &ctx, tz, &days).await?;
    store(&txn, org_id, Some(&days), &rows).await?;
    delete_marks(&txn, &read.iter().map(|(id, _)| *id).collect::<Vec<_>>()).await?;
    save_basis(&txn, org_id, &wanted, false).await?;
    txn.commit().await?;
    Ok(Some(read.len() as u64))
}

/// One round of the worker: build missing or outdated rollups, refresh marked ones,
/// and drop marks of organizations that no longer exist.
pub async fn refresh_all(db: &DatabaseConnection) -> Result<()> {
    let backend = db.get_database_backend();
    let orgs = entity::organization::Entity::find().all(db).await?;
    let mut states: HashMap<Uuid, Basis> = HashMap::new();
    for row in db
        .query_all_raw(
            Sql::new().push("SELECT org_id, definition, time_zone, currency FROM kpi_rollup_states").build(backend),
        )
        .await?
    {
        states.insert(row.try_get("", "org_id")?, Basis::read(&row)?);
    }
    let marked: HashSet<Uuid> = db
        .query_all_raw(Sql::new().push("SELECT DISTINCT org_id FROM kpi_dirty_marks").build(backend))
        .await?
        .iter()
        .map(|r| r.try_get("", "org_id"))
        .collect::<std::result::Result<_, _>>()?;
    for org in &orgs {
        let settings = OrgSettings::from_stored(&org.settings);
        let done = match Basis::wanted(db, org.id, &settings).await {
            Ok(wanted) if states.get(&org.id) != Some(&wanted) => build(db, org.id, &settings).await,
            Ok(_) if marked.contains(&org.id) => refresh(db, org.id, &settings).await,
            Ok(_) => Ok(true),
            Err(e) => Err(e),
        };
        // One organization's gap (a missing exchange rate) never holds up the others';
        // its readers compute live and get the error themselves.
        match done {
            Err(ApiError::MissingExchangeRate { currency, day, .. }) => {
                tracing::debug!(org = %org.id, %currency, %day, "rollup waits for an exchange rate");
            }
            Err(e) => tracing::warn!(org = %org.id, error = %e, "rollup of an organization failed"),
            Ok(_) => {}
        }
    }
    let known: HashSet<Uuid> = orgs.iter().map(|o| o.id).collect();
    for gone in marked.difference(&known) {
        let mut sql = Sql::new();
        sql.push("DELETE FROM kpi_dirty_marks WHERE org_id = ").bind(*gone);
        let txn = crate::db::begin_write(db).await?;
        txn.execute_raw(sql.build(backend)).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Run [`refresh_all`] every `every` for the life of the process.
pub fn spawn(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = refresh_all(&db).await {
                tracing::error!(%error, "refreshing KPI rollups failed");
            }
            tokio::time::sleep(every).await;
        }
    });
}
