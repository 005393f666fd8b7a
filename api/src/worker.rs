//! Background jobs of a server process. Every job is safe to run on several
//! replicas at once (rows are claimed in the database, never in memory).

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::handover::clock::{self, SystemClock};

/// How often the SLA clock looks for handovers past due.
const SLA_CLOCK_EVERY: Duration = Duration::from_secs(30);

/// How often the rescoring worker looks for queued jobs.
const RESCORE_EVERY: Duration = Duration::from_secs(5);

/// How often the KPI rollups take on the days that changed.
const KPI_ROLLUP_EVERY: Duration = Duration::from_secs(2);

/// Start every background job.
pub fn spawn_all(db: &DatabaseConnection) {
    clock::spawn(db.clone(), SystemClock, SLA_CLOCK_EVERY);
    crate::scoring::rescore::spawn(db.clone(), RESCORE_EVERY);
    crate::kpi::rollup::spawn(db.clone(), KPI_ROLLUP_EVERY);
}
