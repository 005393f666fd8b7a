//! Background jobs of a server process. Every job is safe to run on several
//! replicas at once (rows are claimed in the database, never in memory).

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::handover::clock::{self, SystemClock};

/// How often the SLA clock looks for handovers past due.
const SLA_CLOCK_EVERY: Duration = Duration::from_secs(30);

/// How often the rescoring worker looks for queued jobs.
const RESCORE_EVERY: Duration = Duration::from_secs(5);

/// How often the daily decay rescoring looks for organizations whose scores are a day old.
const DECAY_CHECK_EVERY: Duration = Duration::from_secs(600);

/// How often MQLs waiting beyond the reps' daily caps are handed over as room frees.
const BACKLOG_EVERY: Duration = Duration::from_secs(60);

/// How often the KPI rollups take on the days that changed. Readers compute marked
/// days live, so this only bounds how long a day that stopped changing is computed
/// live; under steady writes today stays marked anyway, and recomputing it for every
/// rolled-up metric more often would cost more than it saves.
const KPI_ROLLUP_EVERY: Duration = Duration::from_secs(10);

/// How often ended SLA periods are judged for breaches (`slaAlerts`).
const SLA_BREACHES_EVERY: Duration = Duration::from_secs(600);

/// How often the outbox relay hands new events to webhooks and subscriptions.
const OUTBOX_RELAY_EVERY: Duration = Duration::from_secs(1);

/// How often engagement properties and audit values past their organization's
/// retention are emptied.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Start every background job; relayed outbox events and finished webhook deliveries
/// are kept for `outbox_retention`.
/// The webhook sender works on `sender_db`.
pub fn spawn_all(
    db: &DatabaseConnection,
    outbox_retention: Duration,
    sender_db: &DatabaseConnection,
    webhooks: crate::config::WebhookSettings,
) {
    crate::events::relay::spawn(db.clone(), OUTBOX_RELAY_EVERY, outbox_retention);
    crate::webhooks::send::spawn(sender_db.clone(), webhooks, outbox_retention);
    clock::spawn(db.clone(), SystemClock, SLA_CLOCK_EVERY);
    crate::scoring::rescore::spawn(db.clone(), RESCORE_EVERY);
    crate::kpi::rollup::spawn(db.clone(), KPI_ROLLUP_EVERY);
    spawn_statistics(db.clone());
    spawn_backlog(db.clone(), BACKLOG_EVERY);
    spawn_decay(db.clone(), DECAY_CHECK_EVERY);
    spawn_sla_breaches(db.clone(), SLA_BREACHES_EVERY);
    spawn_retention(db.clone(), RETENTION_EVERY);
}

/// Empty personal data past each organization's retention, now and every `every`.
fn spawn_retention(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match crate::privacy::prune_expired(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "emptied engagement properties and audit values past retention"),
                Err(e) => tracing::warn!(error = %e, "pruning data past retention failed; retrying next time"),
            }
        }
    });
}

/// Record the SLA periods that ended missing their target, every `every`.
fn spawn_sla_breaches(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match crate::kpi::progress::record_breaches(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(breaches = n, "recorded SLA periods that missed their target"),
                Err(e) => tracing::warn!(error = %e, "judging SLA periods failed; retrying next time"),
            }
        }
    });
}

/// Queue the daily decay rescoring where it is due, every `every`.
fn spawn_decay(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match crate::scoring::rescore::enqueue_decay(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(organizations = n, "queued the daily decay rescoring"),
                Err(e) => tracing::warn!(error = %e, "queueing the decay rescoring failed; retrying next time"),
            }
        }
    });
}

/// Hand over the MQLs waiting in organizations' backlogs every `every`.
fn spawn_backlog(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match crate::handover::drain_backlogs(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(handed_over = n, "handed over MQLs from the backlog"),
                Err(e) => tracing::warn!(error = %e, "handing over the backlog failed; retrying next time"),
            }
        }
    });
}

/// Refresh the planner's statistics now and every so often: tables grow under a running
/// server (imports, the seed), and plans chosen for their first rows go stale.
fn spawn_statistics(db: DatabaseConnection) {
    let every = crate::db::statistics::refresh_every(&db);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::db::refresh_statistics(&db).await {
                tracing::warn!(error = %e, "refreshing the planner's statistics failed; retrying next time");
            }
        }
    });
}
