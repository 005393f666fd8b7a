//! The lifecycle funnel: how many leads reached each stage of the main funnel (NEW →
//! ENGAGED → MQL → SAL → SQL → OPPORTUNITY → CUSTOMER), how many went on, and how
//! long they stayed — counted in the database from `lead_stage_transitions`.

use async_graphql::Enum;
use chrono::NaiveDate;
use entity::LifecycleStage;
use sea_orm::{ActiveEnum, ConnectionTrait};

use super::facts::Dims;
use super::periods::Period;
use super::sql;
use super::{KpiFilter, filter_conditions, settings};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::catalogue::KpiMetric;
use crate::db::dialect;
use crate::db::sql::Sql;
use crate::error::{ApiError, Result};
use crate::leads::lifecycle::FUNNEL;

/// Which leads a funnel follows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FunnelCohort {
    /// The leads created in the period, followed to wherever they got since: a stage's count is the cohort's leads that reached it (or a later stage).
    #[default]
    Created,
    /// What happened in the period: a stage's count is the leads that entered it in the period; conversion is the share of those that later reached a further stage.
    Entered,
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStage {
    pub stage: LifecycleStage,
    pub count: u64,
    /// Share that went on to the next stage (CREATED) or any later stage (ENTERED).
    pub conversion: Option<f64>,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

/// The funnel of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Funnel {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cohort: FunnelCohort,
    pub stages: Vec<FunnelStage>,
}

/// `CASE <col> WHEN 'NEW' THEN 0 … END`: a stage's place in the main funnel (NULL off it).
fn rank(col: &str) -> String {
    let arms: String = FUNNEL.iter().enumerate().map(|(i, s)| format!(" WHEN '{}' THEN {i}", s.to_value())).collect();
    format!("(CASE {col}{arms} END)")
}

const DIMS: Dims = super::facts::LEAD_DIMS;

/// The funnel of the days `from..=to` in the organization's time zone.
#[tracing::instrument(skip(db, actor, filter), fields(org = %actor.org_id))]
pub async fn funnel(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    cohort: FunnelCohort,
    filter: &KpiFilter,
) -> Result<Funnel> {
    require(can_read(actor, Scope::KpisRead), "read the funnel")?;
    if to < from {
        return Err(ApiError::bad_input("to", "must not be before `from`"));
    }
    if (to - from).num_days() > 366 * 5 {
        return Err(ApiError::bad_input("to", "a funnel covers at most five years"));
    }
    let tz = settings(db, actor.org_id).await?.tz();
    let window = Period::new(tz, from, to.succ_opt().unwrap_or(to));
    let backend = db.get_database_backend();
    if filter.strategy.is_some() {
        return Err(ApiError::bad_input("filter.strategy", "does not apply to the funnel"));
    }
    let mut joins = vec![];
    let filters = filter_conditions(KpiMetric::LeadsCreated, &DIMS, filter, &mut joins)?;
    let joins = joins.concat();

    // Counts and conversions.
    let mut counts = [0u64; 7];
    let mut conversions = [None; 7];
    match cohort {
        FunnelCohort::Created => {
            let mut q = Sql::new();
            q.push_composed(format!(
                "SELECT mr, COUNT(*) AS n FROM (SELECT (SELECT MAX({}) FROM lead_stage_transitions t \
                 WHERE t.org_id = l.org_id AND t.lead_id = l.id) AS mr FROM leads l{joins} WHERE l.org_id = ",
                rank("t.to_stage")
            ))
            .bind(actor.org_id)
            .push(" AND l.created_at >= ")
            .bind(window.start_at)
            .push(" AND l.created_at < ")
            .bind(window.end_at)
            .push(" AND l.archived_at IS NULL")
            .append(&filters)
            .push(") c GROUP BY mr");
            let mut reached_exactly = [0u64; 7];
            for row in db.query_all_raw(q.build(backend)).await? {
                let rank: Option<i32> = row.try_get("", "mr")?;
                let n: i64 = row.try_get("", "n")?;
                let slot = usize::try_from(rank.unwrap_or(0)).unwrap_or(0).min(6);
                reached_exactly[slot] += u64::try_from(n).unwrap_or(0);
            }
            let mut running = 0;
            for i in (0..7).rev() {
                running += reached_exactly[i];
                counts[i] = running;
            }
            for i in 0..6 {
                conversions[i] = (counts[i] > 0).then(|| counts[i + 1] as f64 / counts[i] as f64);
            }
        }
        FunnelCohort::Entered => {
            let mut q = Sql::new();
            q.push_composed(format!(
                "SELECT t.to_stage AS stage, COUNT(DISTINCT t.lead_id) AS n, COUNT(DISTINCT CASE WHEN EXISTS \
                 (SELECT 1 FROM lead_stage_transitions n WHERE n.org_id = t.org_id AND n.lead_id = t.lead_id \
                 AND n.at >= t.at AND {} > {}) THEN t.lead_id END) AS advanced \
                 FROM lead_stage_transitions t JOIN leads l ON l.id = t.lead_id{joins} WHERE t.org_id = ",
                rank("n.to_stage"),
                rank("t.to_stage")
            ))
            .bind(actor.org_id)
            .push(" AND t.at >= ")
            .bind(window.start_at)
            .push(" AND t.at < ")
            .bind(window.end_at)
            .push(" AND l.archived_at IS NULL")
            .append(&filters)
            .push(" GROUP BY t.to_stage");
            for row in db.query_all_raw(q.build(backend)).await? {
                let stage: String = row.try_get("", "stage")?;
                let Some(i) = FUNNEL.iter().position(|s| s.to_value() == stage) else { continue };
                let (n, advanced): (i64, i64) = (row.try_get("", "n")?, row.try_get("", "advanced")?);
                counts[i] = u64::try_from(n).unwrap_or(0);
                if i < 6 && n > 0 {
                    conversions[i] = Some(advanced as f64 / n as f64);
                }
            }
        }
    }

    // Days in each stage: the stays that ended with a move out of it.
    let entered = "(SELECT MAX(e.at) FROM lead_stage_transitions e WHERE e.org_id = t.org_id \
                   AND e.lead_id = t.lead_id AND e.to_stage = t.from_stage AND e.at <= t.at)";
    let time = match cohort {
        FunnelCohort::Created => "l.created_at",
        FunnelCohort::Entered => "t.at",
    };
    let mut q = Sql::new();
    q.push_composed(format!(
        "WITH x AS (SELECT t.from_stage AS stg, {} AS num FROM lead_stage_transitions t \
         JOIN leads l ON l.id = t.lead_id{joins} WHERE t.org_id = ",
        dialect::days_between(backend, entered, "t.at")
    ))
    .bind(actor.org_id)
    .push_composed(format!(" AND {time} >= "))
    .bind(window.start_at)
    .push_composed(format!(" AND {time} < "))
    .bind(window.end_at)
    .push(" AND t.from_stage IS NOT NULL AND l.archived_at IS NULL")
    .append(&filters)
    .push(
        "), r AS (SELECT stg, num, ROW_NUMBER() OVER (PARTITION BY stg ORDER BY num) AS rn, \
         COUNT(*) OVER (PARTITION BY stg) AS n FROM x WHERE num IS NOT NULL) SELECT stg, ",
    )
    .push_composed(sql::quantile(1, 2))
    .push(" AS median, ")
    .push_composed(sql::quantile(9, 10))
    .push(" AS p90 FROM r GROUP BY stg");
    let mut days = [(None, None); 7];
    for row in db.query_all_raw(q.build(backend)).await? {
        let stage: String = row.try_get("", "stg")?;
        let Some(i) = FUNNEL.iter().position(|s| s.to_value() == stage) else { continue };
        days[i] = (row.try_get("", "median")?, row.try_get("", "p90")?);
    }

    let stages = FUNNEL
        .iter()
        .enumerate()
        .map(|(i, &stage)| FunnelStage {
            stage,
            count: counts[i],
            conversion: conversions[i],
            median_days: days[i].0,
            p90_days: days[i].1,
        })
        .collect();
    Ok(Funnel { from, to, cohort, stages })
}
