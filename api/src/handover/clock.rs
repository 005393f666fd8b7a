//! The SLA clock: marks pending handovers overdue once `due_at` passed. They stay
//! answerable; being overdue is what the compliance figures count.
//!
//! Replicas may run this at the same time. On PostgreSQL each pass claims its rows
//! ([`claim`]), so two replicas never process the same row; on
//! SQLite one process owns the database. Either way the update is guarded by
//! `overdue = false`, so a row is marked — and its event written — exactly once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::HandoverStatus;
use entity::handover::{Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Actor;
use crate::db::claim::claim;
use crate::error::Result;
use crate::events::audit::{self, Changes};
use crate::events::outbox;

/// Where the SLA clock reads the time; tests move it by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Rows one pass claims; the next pass takes the rest.
const BATCH: u64 = 200;

/// Mark every pending handover due before `now` as overdue; returns how many this
/// call marked.
#[tracing::instrument(skip(db))]
pub async fn mark_overdue(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
    let mut marked = 0;
    loop {
        let txn = crate::db::begin_write(db).await?;
        let select = Entity::find()
            .filter(Column::Status.eq(HandoverStatus::Pending))
            .filter(Column::Overdue.eq(false))
            .filter(Column::DueAt.lte(now))
            .order_by_asc(Column::DueAt)
            .limit(BATCH);
        let due = claim(&txn, select).all(&txn).await?;
        if due.is_empty() {
            txn.commit().await?;
            return Ok(marked);
        }
        let claimed = due.len() as u64;
        for handover in due {
            let result = Entity::update_many()
                .col_expr(Column::Overdue, Expr::value(true))
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::Id.eq(handover.id))
                .filter(Column::Overdue.eq(false))
                .exec(&txn)
                .await?;
            if result.rows_affected == 1 {
                let system = Actor::system(handover.org_id);
                let changes =
                    Changes::new().field("overdue", Some(&false), Some(&true)).created("dueAt", &handover.due_at);
                audit::record(&txn, &system, "handover.overdue", "handover", Some(handover.id), changes).await?;
                let payload = serde_json::json!({ "leadId": handover.lead_id, "toUserId": handover.to_user_id, "dueAt": handover.due_at });
                outbox::publish(&txn, &system, "handover.overdue", "handover", Some(handover.id), payload).await?;
                marked += 1;
            }
        }
        txn.commit().await?;
        if claimed < BATCH {
            return Ok(marked);
        }
    }
}

/// Run the SLA clock every `every` until the process ends.
pub fn spawn(db: DatabaseConnection, clock: impl Clock, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match mark_overdue(&db, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(marked = n, "handovers marked overdue"),
                Err(e) => tracing::warn!(error = %e, "the SLA clock failed; retrying next tick"),
            }
        }
    });
}
