//! How well the handover contract is kept: response-time compliance, first touch
//! after acceptance, and why leads come back.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, QueryStatementBuilder};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use super::response_hours;
use crate::agreements::taxonomies::{self, TaxonomyList};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::error::{ApiError, Result};

/// How compliance figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceGroup {
    None,
    User,
    Team,
}

/// How `withinTargetShare` is defined, word for word the same in every field that reports it.
pub const WITHIN_TARGET_SHARE: &str = "Handovers answered by their due time ÷ handovers made in the period that were answered or are past their due time (0–1): a pending handover not yet due is left out, one past its due time counts as missed, a cancelled one counts nowhere. The due time is fixed when the lead is handed over, from the response target in force then. Null when no handover counts yet.";

/// The compliance of one group (everyone, a user, or a team).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compliance {
    /// The user id or team name; `None` for everyone.
    pub key: Option<String>,
    pub handovers: u64,
    pub answered: u64,
    /// Answered by their due time.
    pub answered_within_target: u64,
    /// Answered, or still pending past their due time: what [`Compliance::within_target_share`] divides by.
    pub answered_or_due: u64,
    pub overdue: u64,
    pub median_response_hours: Option<f64>,
    pub p90_response_hours: Option<f64>,
    pub accepted: u64,
    pub touched: u64,
    pub touched_within_target: u64,
    pub median_first_touch_hours: Option<f64>,
    pub p90_first_touch_hours: Option<f64>,
}

impl Compliance {
    /// The one definition of `withinTargetShare` ([`WITHIN_TARGET_SHARE`]), for
    /// `handoverCompliance` and SLA compliance alike.
    pub fn within_target_share(&self) -> Option<f64> {
        (self.answered_or_due > 0).then(|| self.answered_within_target as f64 / self.answered_or_due as f64)
    }
}

#[derive(Debug, FromQueryResult)]
struct Row {
    to_user_id: Uuid,
    team: String,
    status: String,
    overdue: bool,
    handed_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    responded_at: Option<DateTime<Utc>>,
    first_touch: Option<DateTime<Utc>>,
}

/// The value at quantile `q` (0..=1) of sorted values, linearly interpolated.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * fraction)
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

/// Targets the figures are measured against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    pub response_hours: f64,
    pub first_touch_hours: f64,
}

/// Handovers made in `[from, to)`, grouped: answered by their due time,
/// median and p90 response hours, overdue count; and for accepted ones the first
/// customer-facing activity with the lead after acceptance.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn compliance(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: ComplianceGroup,
) -> Result<(Targets, Vec<Compliance>)> {
    require(can_read(actor, Scope::KpisRead), "read handover compliance")?;
    let targets = Targets {
        response_hours: response_hours(db, actor).await?,
        first_touch_hours: super::first_touch_hours(db, actor).await?,
    };
    Ok((targets, compliance_against(db, actor, from, to, group, targets).await?))
}

/// [`compliance`] measured against `targets` rather than those in force now, such as
/// an SLA version judging a past period. Response times are judged by each handover's
/// own `due_at` whatever the targets.
pub async fn compliance_against(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: ComplianceGroup,
    targets: Targets,
) -> Result<Vec<Compliance>> {
    require(can_read(actor, Scope::KpisRead), "read handover compliance")?;
    if from >= to {
        return Err(ApiError::bad_input("to", "must be after `from`"));
    }
    let h = Alias::new("h");
    let first_touch = Query::select()
        .expr(Func::min(Expr::col((Alias::new("a"), Alias::new("occurred_at")))))
        .from_as(Alias::new("activities"), Alias::new("a"))
        .and_where(Expr::col((Alias::new("a"), Alias::new("org_id"))).equals((h.clone(), Alias::new("org_id"))))
        .and_where(Expr::col((Alias::new("a"), Alias::new("lead_id"))).equals((h.clone(), Alias::new("lead_id"))))
        .and_where(Expr::col((Alias::new("a"), Alias::new("customer_facing"))).eq(true))
        .and_where(
            Expr::col((Alias::new("a"), Alias::new("occurred_at")))
                .gte(Expr::col((h.clone(), Alias::new("responded_at")))),
        )
        .to_owned();
    let query = Query::select()
        .column((h.clone(), Alias::new("to_user_id")))
        .column((Alias::new("u"), Alias::new("team")))
        .column((h.clone(), Alias::new("status")))
        .column((h.clone(), Alias::new("overdue")))
        .column((h.clone(), Alias::new("handed_at")))
        .column((h.clone(), Alias::new("due_at")))
        .column((h.clone(), Alias::new("responded_at")))
        .expr_as(Expr::SubQuery(None, Box::new(first_touch.into_sub_query_statement())), Alias::new("first_touch"))
        .from_as(Alias::new("handovers"), h.clone())
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            Alias::new("users"),
            Alias::new("u"),
            Expr::col((Alias::new("u"), Alias::new("id"))).equals((h.clone(), Alias::new("to_user_id"))),
        )
        .and_where(Expr::col((h.clone(), Alias::new("org_id"))).eq(actor.org_id))
        .and_where(Expr::col((h.clone(), Alias::new("handed_at"))).gte(from))
        .and_where(Expr::col((h.clone(), Alias::new("handed_at"))).lt(to))
        // Nobody answered a cancelled handover: it counts in no compliance figure.
        .and_where(Expr::col((h.clone(), Alias::new("status"))).ne("CANCELLED"))
        .to_owned();
    let statement: Statement = db.get_database_backend().build(&query);
    let rows = Row::find_by_statement(statement).all(db).await?;
    let now = Utc::now();
    let mut groups: BTreeMap<Option<String>, (Compliance, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let key = match group {
            ComplianceGroup::None => None,
            ComplianceGroup::User => Some(row.to_user_id.to_string()),
            ComplianceGroup::Team => Some(row.team.clone()),
        };
        let entry =
            groups.entry(key.clone()).or_insert_with(|| (Compliance { key, ..Default::default() }, vec![], vec![]));
        let c = &mut entry.0;
        c.handovers += 1;
        if row.overdue {
            c.overdue += 1;
        }
        if row.responded_at.is_some() || row.due_at < now {
            c.answered_or_due += 1;
        }
        if let Some(responded) = row.responded_at {
            let took = hours(row.handed_at, responded);
            c.answered += 1;
            if responded <= row.due_at {
                c.answered_within_target += 1;
            }
            entry.1.push(took);
            if row.status == "ACCEPTED" {
                c.accepted += 1;
                if let Some(touch) = row.first_touch {
                    let took = hours(responded, touch);
                    c.touched += 1;
                    if took <= targets.first_touch_hours {
                        c.touched_within_target += 1;
                    }
                    entry.2.push(took);
                }
            }
        }
    }
    let result = groups
        .into_values()
        .map(|(mut c, mut response, mut touch)| {
            response.sort_by(f64::total_cmp);
            touch.sort_by(f64::total_cmp);
            c.median_response_hours = quantile(&response, 0.5);
            c.p90_response_hours = quantile(&response, 0.9);
            c.median_first_touch_hours = quantile(&touch, 0.5);
            c.p90_first_touch_hours = quantile(&touch, 0.9);
            c
        })
        .collect();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[4.0], 0.9), Some(4.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[0.0, 10.0], 0.9), Some(9.0));
    }
}

/// How hand-back reasons are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonGroup {
    None,
    Source,
    Campaign,
    Persona,
    MarketingOwner,
}

/// How often one reason came back, within a group.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonCount {
    /// The source, campaign, persona id or marketing owner id; `None` for everyone or when unset.
    pub group: Option<String>,
    /// The reason's code.
    pub reason: String,
    /// Its label in the list in force (the code when the list no longer has it).
    pub label: String,
    pub count: u64,
    /// Share of the group's hand-backs with this reason (0–1).
    pub share: f64,
}

#[derive(Debug, FromQueryResult)]
struct ReasonRow {
    grp: Option<String>,
    reason: String,
    n: i64,
}

/// Why leads handed back in `[from, to)` came back, counted per reason and group in
/// the database, so marketing sees which sources produce leads sales rejects.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn hand_back_reasons(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: ReasonGroup,
) -> Result<Vec<ReasonCount>> {
    require(can_read(actor, Scope::KpisRead), "read hand-back reasons")?;
    if from >= to {
        return Err(ApiError::bad_input("to", "must be after `from`"));
    }
    let (h, l) = (Alias::new("h"), Alias::new("l"));
    let group_expr = match group {
        ReasonGroup::None => Expr::cust("NULL"),
        ReasonGroup::Source => Expr::col((l.clone(), Alias::new("source"))),
        ReasonGroup::Campaign => Expr::col((l.clone(), Alias::new("campaign"))),
        ReasonGroup::Persona => Expr::col((l.clone(), Alias::new("persona_id"))).cast_as(Alias::new("TEXT")),
        ReasonGroup::MarketingOwner => {
            Expr::col((l.clone(), Alias::new("marketing_owner_id"))).cast_as(Alias::new("TEXT"))
        }
    };
    let query = Query::select()
        .expr_as(group_expr.clone(), Alias::new("grp"))
        .column((h.clone(), Alias::new("reason")))
        .expr_as(Expr::col((h.clone(), Alias::new("id"))).count(), Alias::new("n"))
        .from_as(Alias::new("handovers"), h.clone())
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            Alias::new("leads"),
            l.clone(),
            Expr::col((l.clone(), Alias::new("id"))).equals((h.clone(), Alias::new("lead_id"))),
        )
        .and_where(Expr::col((h.clone(), Alias::new("org_id"))).eq(actor.org_id))
        .and_where(Expr::col((h.clone(), Alias::new("status"))).eq("REJECTED"))
        .and_where(Expr::col((h.clone(), Alias::new("responded_at"))).gte(from))
        .and_where(Expr::col((h.clone(), Alias::new("responded_at"))).lt(to))
        .to_owned();
    // PostgreSQL refuses a constant (`NULL`) in GROUP BY: group by the reason alone then.
    let mut query = query;
    match group {
        ReasonGroup::None => query.add_group_by([Expr::col((h.clone(), Alias::new("reason")))]),
        _ => query.add_group_by([group_expr, Expr::col((h.clone(), Alias::new("reason")))]),
    };
    let statement: Statement = db.get_database_backend().build(&query);
    let rows = ReasonRow::find_by_statement(statement).all(db).await?;
    let mut totals: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for row in &rows {
        *totals.entry(row.grp.clone()).or_default() += row.n;
    }
    let reasons = taxonomies::in_force(db, actor.org_id, TaxonomyList::HandBackReasons).await?;
    let mut counts: Vec<ReasonCount> = rows
        .into_iter()
        .map(|row| {
            let total = Ord::max(totals.get(&row.grp).copied().unwrap_or(1), 1);
            ReasonCount {
                share: row.n as f64 / total as f64,
                group: row.grp,
                label: reasons.label(&row.reason).to_owned(),
                reason: row.reason,
                count: row.n as u64,
            }
        })
        .collect();
    counts.sort_by(|a, b| a.group.cmp(&b.group).then(b.count.cmp(&a.count)).then(a.reason.cmp(&b.reason)));
    Ok(counts)
}
