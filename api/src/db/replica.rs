//! A PostgreSQL streaming replica (hot standby) of the primary, for the reads that
//! are heavy but rare: KPIs, reports and exports (`DATABASE_READ_URL`).
//!
//! A read goes to the replica only once the replica has replayed everything the
//! primary had flushed when the read began: a caller always sees its own writes, made
//! through any server, and everyone else's committed before. When the replica does
//! not catch up within `max_wait`, is down, or fails a read, the primary serves it.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

use crate::config::ReadReplicaConfig;

/// How long a replica that failed is left alone before reads try it again.
const REST_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How often the replica's lag is sampled for the metrics.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The longest pause between two looks at the replica while a read waits for it.
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

/// The primary's WAL position flushed to disk: every synchronous commit that has
/// returned lies before it.
const PRIMARY_FLUSHED: &str = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint";
/// The WAL position the replica has replayed (null when it is not a standby).
const REPLICA_REPLAYED: &str = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint";
/// The replayed position and the seconds since the primary committed the last
/// transaction replayed (0 when the replica has replayed all it received).
const REPLICA_LAG: &str = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, \
     CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END";

/// Why a replica whose replayed position is null is left alone.
const NOT_A_STANDBY: &str = "it is not a standby (pg_last_wal_replay_lsn() is null): was it promoted?";

/// The read replica and what this process knows of it.
pub struct ReadReplica {
    pool: DatabaseConnection,
    max_wait: Duration,
    /// The highest WAL position the replica is known to have replayed.
    replayed: AtomicU64,
    /// Milliseconds since `started` until which reads leave the replica alone.
    resting_until: AtomicU64,
    /// Whether the last look found the replica unusable (to log each change once).
    down: AtomicBool,
    started: Instant,
}

/// Where a read went and why: the labels of `accord_read_routes_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The replica had replayed everything the primary had flushed.
    Replica,
    /// The replica did not catch up within the wait: the primary served.
    Behind,
    /// The replica was down, resting after a failure, or not a standby: the primary served.
    Down,
    /// The read failed on the replica and ran again on the primary.
    Failed,
}

impl Route {
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Self::Replica => ("replica", "caught_up"),
            Self::Behind => ("primary", "behind"),
            Self::Down => ("primary", "down"),
            Self::Failed => ("primary", "failed"),
        }
    }

    /// Count a read routed this way.
    pub fn count(self) {
        let (to, reason) = self.labels();
        metrics::counter!("accord_read_routes_total", "to" => to, "reason" => reason).increment(1);
    }
}

impl ReadReplica {
    /// A pool of up to `max_connections` to the replica. It connects on first use, so
    /// a replica that is down does not stop the server from starting: the primary
    /// serves until it is back.
    pub async fn connect(
        config: &ReadReplicaConfig,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> anyhow::Result<Arc<Self>> {
        let mut options = super::options(&config.url, max_connections, Some(statement_timeout));
        // A replica that does not answer holds a read one second at most.
        options
            .connect_lazy(true)
            .min_connections(0)
            .connect_timeout(Duration::from_secs(1))
            .acquire_timeout(Duration::from_secs(1));
        let pool = super::open(options).await?;
        Ok(Arc::new(Self {
            pool,
            max_wait: config.max_wait,
            replayed: AtomicU64::new(0),
            resting_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            started: Instant::now(),
        }))
    }

    /// The replica's pool when it has replayed everything `primary` had flushed when
    /// this was called, waiting up to `max_wait` for it; otherwise where and why not.
    pub async fn caught_up(&self, primary: &impl ConnectionTrait) -> Result<&DatabaseConnection, Route> {
        let route = self.route(primary).await;
        route.count();
        match route {
            Route::Replica => Ok(&self.pool),
            other => Err(other),
        }
    }

    async fn route(&self, primary: &impl ConnectionTrait) -> Route {
        if self.resting() {
            return Route::Down;
        }
        // The primary's own failure is the read's to report, on the primary.
        let Ok(target) = position(primary, PRIMARY_FLUSHED).await else { return Route::Down };
        if self.replayed.load(Ordering::Acquire) >= target {
            return Route::Replica;
        }
        let deadline = Instant::now() + self.max_wait;
        let mut pause = Duration::from_millis(1);
        loop {
            match position(&self.pool, REPLICA_REPLAYED).await {
                Ok(replayed) if replayed > 0 => {
                    self.replayed.fetch_max(replayed, Ordering::AcqRel);
                    self.up();
                    if replayed >= target {
                        return Route::Replica;
                    }
                }
                Ok(_) => {
                    self.failed(NOT_A_STANDBY);
                    return Route::Down;
                }
                Err(error) => {
                    self.failed(&error);
                    return Route::Down;
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Route::Behind;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// A read failed on the replica, or the replica could not be reached: leave it
    /// alone for a while.
    pub fn failed(&self, why: impl Display) {
        let until = self.now_ms() + REST_AFTER_FAILURE.as_millis() as u64;
        self.resting_until.store(until, Ordering::Release);
        metrics::gauge!("accord_read_replica_up").set(0.0);
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(error = %why, "the read replica is unusable: the primary serves reports until it is back");
        }
    }

    fn up(&self) {
        metrics::gauge!("accord_read_replica_up").set(1.0);
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("the read replica is back: it serves reports again");
        }
    }

    fn resting(&self) -> bool {
        self.now_ms() < self.resting_until.load(Ordering::Acquire)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Sample the replica's lag every second into `accord_read_replica_lag_bytes` and
    /// `accord_read_replica_lag_seconds`, and `accord_read_replica_up`.
    pub fn watch(self: &Arc<Self>, primary: DatabaseConnection) {
        let replica = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SAMPLE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                replica.sample(&primary).await;
            }
        });
    }

    async fn sample(&self, primary: &DatabaseConnection) {
        let Ok(flushed) = position(primary, PRIMARY_FLUSHED).await else { return };
        let statement = Statement::from_string(self.pool.get_database_backend(), REPLICA_LAG);
        let lag = match self.pool.query_one_raw(statement).await {
            Ok(Some(row)) => row
                .try_get_by_index::<Option<i64>>(0)
                .and_then(|replayed| Ok((replayed, row.try_get_by_index::<Option<f64>>(1)?)))
                .map_err(|e| format!("{e:?}")),
            Ok(None) => Ok((None, None)),
            Err(error) => Err(error.to_string()),
        };
        match lag {
            Ok((Some(replayed), seconds)) => {
                let replayed = u64::try_from(replayed).unwrap_or(0);
                self.replayed.fetch_max(replayed, Ordering::AcqRel);
                metrics::gauge!("accord_read_replica_lag_bytes").set(flushed.saturating_sub(replayed) as f64);
                metrics::gauge!("accord_read_replica_lag_seconds").set(seconds.unwrap_or(0.0).max(0.0));
                if !self.resting() {
                    self.up();
                }
            }
            Ok((None, _)) => self.failed(NOT_A_STANDBY),
            Err(error) => self.failed(error),
        }
    }
}

/// A WAL position read with `sql` (a single bigint; 0 when null).
async fn position(db: &impl ConnectionTrait, sql: &str) -> Result<u64, DbErr> {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    let value: Option<i64> = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => None,
    };
    Ok(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}
