//! Background jobs of a server process. Every job is safe to run on several
//! replicas at once (rows are claimed in the database, never in memory).

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::handover::clock::{self, SystemClock};

/// How often the SLA clock looks for handovers past due.
const SLA_CLOCK_EVERY: Duration = Duration::from_secs(30);

/// How often the rescoring worker looks for queued jobs.
const RESCORE_EVERY: Duration = Duration::from_secs(5);

/// How often the KPI rollups take on the days that changed. Readers compute marked
/// days live, so this only bounds how long a day that stopped changing is computed
/// live; under steady writes today stays marked anyway, and recomputing it for every
/// rolled-up metric more often would cost more than it saves.
const KPI_ROLLUP_EVERY: Duration = Duration::from_secs(10);

/// Start every background job.
pub fn spawn_all(db: &DatabaseConnection) {
    clock::spawn(db.clone(), SystemClock, SLA_CLOCK_EVERY);
    crate::scoring::rescore::spawn(db.clone(), RESCORE_EVERY);
    crate::kpi::rollup::spawn(db.clone(), KPI_ROLLUP_EVERY);
}
