//! The lifecycle state machine: which stage may follow which, in one table, and the
//! one function that moves a lead and records the move.

use chrono::Utc;
use entity::LifecycleStage::{self, *};
use entity::lead::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::versioned::save_versioned;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

/// The forward stages of the funnel, in order (a lead may skip some).
pub const FUNNEL: [LifecycleStage; 7] = [New, Engaged, Mql, Sal, Sql, Opportunity, Customer];

/// Every allowed move. The funnel runs NEW → ENGAGED → MQL → SAL → SQL → OPPORTUNITY
/// → CUSTOMER; NEW may jump to MQL when its score crosses the threshold; any open
/// stage up to SQL may be RECYCLED (back to nurture) or DISQUALIFIED; a lost deal
/// recycles its lead; RECYCLED leads re-enter as ENGAGED or MQL. CUSTOMER and
/// DISQUALIFIED are final.
pub const TRANSITIONS: &[(LifecycleStage, &[LifecycleStage])] = &[
    (New, &[Engaged, Mql, Recycled, Disqualified]),
    (Engaged, &[Mql, Recycled, Disqualified]),
    (Mql, &[Sal, Recycled, Disqualified]),
    (Sal, &[Sql, Recycled, Disqualified]),
    (Sql, &[Opportunity, Recycled, Disqualified]),
    (Opportunity, &[Customer, Recycled]),
    (Customer, &[]),
    (Recycled, &[Engaged, Mql]),
    (Disqualified, &[]),
];

/// The stages a lead in `from` may move to.
pub fn allowed_targets(from: LifecycleStage) -> &'static [LifecycleStage] {
    TRANSITIONS.iter().find(|(stage, _)| *stage == from).map(|(_, targets)| *targets).unwrap_or(&[])
}

pub fn stage_name(stage: LifecycleStage) -> String {
    serde_json::to_value(stage).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Check a move against the table; the error names the allowed targets.
pub fn check_move(from: LifecycleStage, to: LifecycleStage) -> Result<()> {
    let allowed = allowed_targets(from);
    if allowed.contains(&to) {
        return Ok(());
    }
    let names: Vec<String> = allowed.iter().copied().map(stage_name).collect();
    let hint = if names.is_empty() { "none: it is final".to_owned() } else { names.join(", ") };
    Err(ApiError::bad_input(
        "to",
        format!("a lead cannot move from {} to {}; allowed: {hint}", stage_name(from), stage_name(to)),
    ))
}

/// The row of one stage transition (bulk writers insert many at once).
pub(crate) fn transition(
    actor: &Actor,
    lead_id: Uuid,
    from: Option<LifecycleStage>,
    to: LifecycleStage,
    reason: Option<String>,
    at: chrono::DateTime<Utc>,
) -> entity::lead_stage_transition::ActiveModel {
    entity::lead_stage_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        lead_id: Set(lead_id),
        from_stage: Set(from),
        to_stage: Set(to),
        actor_kind: Set(actor.stored_kind()),
        actor_id: Set(actor.id()),
        actor_name: Set(actor.name().to_owned()),
        reason: Set(reason),
        at: Set(at),
    }
}

/// Move `lead` to `to` inside the caller's transaction: checks the table, bumps the
/// version under its optimistic lock, writes the transition and the audit row.
pub async fn move_lead(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    lead: Model,
    to: LifecycleStage,
    reason: Option<String>,
) -> Result<Model> {
    check_move(lead.lifecycle_stage, to)?;
    let now = Utc::now();
    let from = lead.lifecycle_stage;
    let model = ActiveModel {
        lifecycle_stage: Set(to),
        stage_entered_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let moved = save_versioned(txn, lead.id, lead.version, model).await?;
    transition(actor, lead.id, Some(from), to, reason.clone(), now).insert(txn).await?;
    audit::record(txn, actor, "lead.moveStage", "lead", Some(lead.id), stage_changes(from, to, &reason)).await?;
    Ok(moved)
}

/// What the audit log records of a lead moved from `from` to `to`.
fn stage_changes(from: LifecycleStage, to: LifecycleStage, reason: &Option<String>) -> Changes {
    Changes::new().field("lifecycleStage", Some(&from), Some(&to)).created("reason", reason)
}

/// Move every lead of `moves` that is still in `from` to `to`, each with its reason, in
/// one `UPDATE` and one insert each for the transitions and the audit rows (what
/// [`move_lead`] writes, for many leads at once); returns the leads moved. Leads no
/// longer in `from` are left alone: the condition is part of the `UPDATE`.
pub(crate) async fn move_many(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    moves: &[(Uuid, String)],
    from: LifecycleStage,
    to: LifecycleStage,
) -> Result<Vec<Model>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    check_move(from, to)?;
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut moved = Entity::update_many()
        .col_expr(Column::LifecycleStage, Expr::value(to))
        .col_expr(Column::StageEnteredAt, Expr::value(now))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Id.is_in(moves.iter().map(|(id, _)| *id)))
        .filter(Column::LifecycleStage.eq(from))
        .exec_with_returning(txn)
        .await?;
    // In the order asked for, whatever order the database returned them in.
    let order: std::collections::HashMap<Uuid, usize> = moves.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    moved.sort_by_key(|lead| order.get(&lead.id).copied());
    let mut transitions = Vec::with_capacity(moved.len());
    let mut audits = Vec::with_capacity(moved.len());
    for lead in &moved {
        let reason = order.get(&lead.id).map(|&i| moves[i].1.clone());
        audits.push(audit::row(actor, "lead.moveStage", "lead", Some(lead.id), stage_changes(from, to, &reason)));
        transitions.push(transition(actor, lead.id, Some(from), to, reason, now));
    }
    crate::db::insert_all(txn, transitions).await?;
    crate::db::insert_all(txn, audits).await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funnel_runs_forward() {
        for pair in [New, Engaged, Mql, Sal, Sql, Opportunity, Customer].windows(2) {
            assert!(check_move(pair[0], pair[1]).is_ok(), "{:?} → {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn recycling_and_disqualifying_are_open_until_sql() {
        for stage in [New, Engaged, Mql, Sal, Sql] {
            assert!(check_move(stage, Recycled).is_ok());
            assert!(check_move(stage, Disqualified).is_ok());
        }
        assert!(check_move(Customer, Recycled).is_err());
        assert!(check_move(Recycled, Engaged).is_ok());
        assert!(check_move(Recycled, Mql).is_ok());
        assert!(check_move(Recycled, Sal).is_err());
    }

    #[test]
    fn an_illegal_move_names_the_allowed_targets() {
        let ApiError::BadUserInput { message, field } = check_move(Mql, Customer).unwrap_err() else { panic!() };
        assert_eq!(field.as_deref(), Some("to"));
        assert!(message.contains("SAL, RECYCLED, DISQUALIFIED"), "{message}");
        assert!(check_move(Disqualified, New).unwrap_err().to_string().contains("final"));
    }

    #[test]
    fn every_stage_has_a_row() {
        use sea_orm::Iterable;
        for stage in LifecycleStage::iter() {
            assert!(TRANSITIONS.iter().any(|(s, _)| *s == stage), "{stage:?}");
        }
    }
}
