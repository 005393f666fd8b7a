//! Throttles that keep one caller from hurting others.
//!
//! - [`SignInThrottle`]: failed sign-ins slow down the client that fails, per client
//!   and account, with a back-off that doubles. A client that has not failed is never
//!   refused, so nobody can lock someone else out by guessing wrong on their behalf.
//!   Counted in the process, or on PostgreSQL in a table every replica shares.
//! - [`RequestLimiter`]: a token bucket per user and per API key, spent by the cost of
//!   each request; on PostgreSQL also a per-minute window shared by every replica
//!   ([`Shared`]), so that together they never grant a credential more than its rate
//!   in a minute.

use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use lru::LruCache;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use crate::config::SignInLimits;
use crate::error::{ApiError, Result};

/// Keys remembered per table at most; the least recently seen are forgotten first.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(100_000).unwrap();
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(3600);
/// The longest a failing client waits between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A client may fail this many times as often across all accounts as on one.
const CLIENT_FACTOR: u32 = 4;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn current(entry: Option<&Failures>, now: Instant) -> Option<Failures> {
        entry.copied().filter(|f| now.duration_since(f.last) < MEMORY)
    }

    fn seen(&self, now: Instant) -> Seen {
        Seen { count: self.count, since_last: now.duration_since(self.last) }
    }
}

/// A key's failures within the hour, and how long ago the last one was.
#[derive(Debug, Clone, Copy)]
struct Seen {
    count: u32,
    since_last: Duration,
}

impl Seen {
    /// How long the next attempt must still wait, once `free` failures are used up.
    fn wait_left(&self, free: u32) -> Option<Duration> {
        let over = self.count.checked_sub(free).filter(|over| *over > 0)?;
        let wait = Duration::from_secs(1u64 << (over - 1).min(20)).min(MAX_WAIT);
        wait.checked_sub(self.since_last).filter(|left| !left.is_zero())
    }
}

/// A client's standing on an account: its failures there and on every account, and
/// whether the account is past its hourly ceiling of failures.
struct Standing {
    pair: Option<Seen>,
    client: Option<Seen>,
    strict: bool,
}

impl Standing {
    /// RATE_LIMITED (with the wait) when the client has failed too often.
    fn decide(&self, limits: &SignInLimits) -> Result<()> {
        let free = if self.strict { 0 } else { limits.free_failures };
        let wait = [
            self.pair.and_then(|f| f.wait_left(free)),
            self.client.and_then(|f| f.wait_left(free.saturating_mul(CLIENT_FACTOR).max(free))),
        ]
        .into_iter()
        .flatten()
        .max();
        match wait {
            Some(wait) => {
                Err(ApiError::rate_limited("too many failed sign-ins from this client; wait before trying again", wait))
            }
            None => Ok(()),
        }
    }
}

fn alert_ceiling(account: &str, failures: u32) {
    metrics::counter!("accord_sign_in_account_ceiling_total").increment(1);
    tracing::error!(
        account,
        failures,
        "sign-in ceiling reached: an account is being guessed at; failing clients now wait from their first failure"
    );
}

#[derive(Debug, Clone, Copy)]
struct AccountWindow {
    started: Instant,
    failures: u32,
    alerted: bool,
}

struct Tables {
    /// Per client and account.
    pairs: LruCache<(Client, String), Failures>,
    /// Per client, all accounts.
    clients: LruCache<Client, Failures>,
    /// Per account, all clients: the ceiling's hourly window.
    accounts: LruCache<String, AccountWindow>,
}

/// A client as the throttle knows it: an IPv4 address, or an IPv6 /64 (one site or
/// host can hold a whole /64), or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Client(Option<IpAddr>);

impl Client {
    fn of(address: Option<IpAddr>) -> Self {
        Self(address.map(|a| match a {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            },
        }))
    }
}

/// Failed sign-ins, remembered for an hour: in the process, or on PostgreSQL in
/// `sign_in_failures`, which every replica shares.
pub struct SignInThrottle {
    limits: SignInLimits,
    tables: Mutex<Tables>,
    shared: Option<DatabaseConnection>,
}

impl SignInThrottle {
    /// `shared`: the PostgreSQL database the replicas share their counts in.
    pub fn new(limits: SignInLimits, shared: Option<DatabaseConnection>) -> Self {
        Self {
            limits,
            tables: Mutex::new(Tables {
                pairs: LruCache::new(REMEMBERED),
                clients: LruCache::new(REMEMBERED),
                accounts: LruCache::new(REMEMBERED),
            }),
            shared,
        }
    }

    /// May this client try to sign in to this account now? RATE_LIMITED (with the
    /// wait) when it has failed too often; a client without failures always may.
    pub async fn check(&self, account: &str, address: Option<IpAddr>) -> Result<()> {
        let standing = match &self.shared {
            Some(db) => shared::standing(db, &self.limits, account, Client::of(address)).await?,
            None => self.standing(account, Client::of(address)),
        };
        standing.decide(&self.limits)
    }

    /// Count a wrong password (or unknown account) from this client.
    pub async fn failed(&self, account: &str, address: Option<IpAddr>) -> Result<()> {
        match &self.shared {
            Some(db) => shared::failed(db, &self.limits, account, Client::of(address)).await,
            None => {
                self.failed_here(account, address);
                Ok(())
            }
        }
    }

    /// A successful sign-in clears this client's failures on the account.
    pub async fn succeeded(&self, account: &str, address: Option<IpAddr>) -> Result<()> {
        match &self.shared {
            Some(db) => shared::succeeded(db, account, Client::of(address)).await,
            None => {
                self.tables().pairs.pop(&(Client::of(address), account.to_owned()));
                Ok(())
            }
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // Entries are whole values: a panic elsewhere cannot leave one half-written.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn standing(&self, account: &str, client: Client) -> Standing {
        let now = Instant::now();
        let mut tables = self.tables();
        let strict = tables.accounts.peek(account).is_some_and(|w| {
            now.duration_since(w.started) < MEMORY && w.failures >= self.limits.account_ceiling_per_hour
        });
        let pair = Failures::current(tables.pairs.get(&(client, account.to_owned())), now).map(|f| f.seen(now));
        let across = Failures::current(tables.clients.get(&client), now).map(|f| f.seen(now));
        Standing { pair, client: across, strict }
    }

    fn failed_here(&self, account: &str, address: Option<IpAddr>) {
        let (client, now) = (Client::of(address), Instant::now());
        let mut tables = self.tables();
        let bump =
            |entry: Option<Failures>| Failures { count: entry.map_or(0, |f| f.count).saturating_add(1), last: now };
        let pair = bump(Failures::current(tables.pairs.get(&(client, account.to_owned())), now));
        tables.pairs.put((client, account.to_owned()), pair);
        let across = bump(Failures::current(tables.clients.get(&client), now));
        tables.clients.put(client, across);
        let mut window = tables
            .accounts
            .get(account)
            .copied()
            .filter(|w| now.duration_since(w.started) < MEMORY)
            .unwrap_or(AccountWindow { started: now, failures: 0, alerted: false });
        window.failures = window.failures.saturating_add(1);
        if window.failures >= self.limits.account_ceiling_per_hour && !window.alerted {
            window.alerted = true;
            alert_ceiling(account, window.failures);
        }
        tables.accounts.put(account.to_owned(), window);
    }
}

/// The sign-in counts every replica shares (`sign_in_failures`, PostgreSQL): one row per
/// client and account, per client and per account, each counted atomically by the
/// statement that records a failure.
mod shared {
    use super::*;

    /// Rows whose last failure is older than this are deleted now and then.
    const PRUNE_EVERY: u64 = 256;

    /// The rows' keys, hashed: an account is whatever the caller typed, of any length.
    fn keys(account: &str, client: Client) -> [String; 3] {
        use sha2::{Digest, Sha256};
        let client = client.0.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        [format!("pair|{client}|{account}"), format!("client|{client}"), format!("account|{account}")]
            .map(|key| hex::encode(Sha256::digest(key.as_bytes())))
    }

    pub(super) async fn standing(
        db: &DatabaseConnection,
        limits: &SignInLimits,
        account: &str,
        client: Client,
    ) -> Result<Standing> {
        let [pair, across, whole] = keys(account, client);
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT key, failures, EXTRACT(EPOCH FROM now() - last_at)::float8 AS since_last, \
             EXTRACT(EPOCH FROM now() - first_at)::float8 AS since_first \
             FROM sign_in_failures WHERE key IN ($1, $2, $3)",
            [pair.clone().into(), across.clone().into(), whole.clone().into()],
        );
        let mut standing = Standing { pair: None, client: None, strict: false };
        let hour = MEMORY.as_secs_f64();
        for row in db.query_all_raw(statement).await? {
            let key: String = row.try_get("", "key")?;
            let count = u32::try_from(row.try_get::<i32>("", "failures")?).unwrap_or(0);
            let since_last: f64 = row.try_get("", "since_last")?;
            let since_first: f64 = row.try_get("", "since_first")?;
            let seen =
                (since_last < hour).then(|| Seen { count, since_last: Duration::from_secs_f64(since_last.max(0.0)) });
            if key == pair {
                standing.pair = seen;
            } else if key == across {
                standing.client = seen;
            } else if key == whole {
                standing.strict = since_first < hour && count >= limits.account_ceiling_per_hour;
            }
        }
        Ok(standing)
    }

    pub(super) async fn failed(
        db: &DatabaseConnection,
        limits: &SignInLimits,
        account: &str,
        client: Client,
    ) -> Result<()> {
        static FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let [pair, across, whole] = keys(account, client);
        // A client's counts lapse an hour after its last failure, an account's window an
        // hour after its first.
        for (key, window_from_first) in [(pair, false), (across, false), (whole.clone(), true)] {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO sign_in_failures AS f (key, failures, first_at, last_at, alerted) \
                 VALUES ($1, 1, now(), now(), false) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN (CASE WHEN $2 THEN f.first_at ELSE f.last_at END) > now() - interval '1 hour' \
                     THEN f.failures + 1 ELSE 1 END, \
                   first_at = CASE WHEN (CASE WHEN $2 THEN f.first_at ELSE f.last_at END) > now() - interval '1 hour' \
                     THEN f.first_at ELSE now() END, \
                   alerted = f.alerted AND (CASE WHEN $2 THEN f.first_at ELSE f.last_at END) > now() - interval '1 hour', \
                   last_at = now() \
                 RETURNING failures",
                [key.into(), window_from_first.into()],
            );
            let failures = match db.query_one_raw(statement).await? {
                Some(row) => u32::try_from(row.try_get::<i32>("", "failures")?).unwrap_or(0),
                None => 0,
            };
            if window_from_first && failures >= limits.account_ceiling_per_hour {
                // Alerted once per window, by whichever replica gets there first.
                let mark = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "UPDATE sign_in_failures SET alerted = true WHERE key = $1 AND NOT alerted RETURNING failures",
                    [whole.clone().into()],
                );
                if db.query_one_raw(mark).await?.is_some() {
                    alert_ceiling(account, failures);
                }
            }
        }
        if FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(PRUNE_EVERY) {
            db.execute_unprepared("DELETE FROM sign_in_failures WHERE last_at < now() - interval '1 hour'").await?;
        }
        Ok(())
    }

    pub(super) async fn succeeded(db: &DatabaseConnection, account: &str, client: Client) -> Result<()> {
        let [pair, ..] = keys(account, client);
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM sign_in_failures WHERE key = $1",
            [pair.into()],
        );
        db.execute_raw(statement).await?;
        Ok(())
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// A request's place in its caller's bucket, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

/// Points of query cost that one request's allowance covers; each further full
/// thousand spends one more.
pub const COST_PER_REQUEST: u64 = 1_000;

/// Token buckets per credential (user or API key), and on PostgreSQL the window all
/// replicas share.
pub struct RequestLimiter {
    default_per_minute: u32,
    buckets: Mutex<LruCache<(Uuid, u32), Arc<Bucket>>>,
    shared: Option<Shared>,
}

impl RequestLimiter {
    /// `default_per_minute` 0 turns limits off for credentials without their own.
    /// `shared`: the PostgreSQL database the replicas share their windows in.
    pub fn new(default_per_minute: u32, shared: Option<DatabaseConnection>) -> Self {
        Self {
            default_per_minute,
            buckets: Mutex::new(LruCache::new(REMEMBERED)),
            shared: shared.map(|db| Shared {
                db,
                leases: Mutex::new(LruCache::new(REMEMBERED)),
                reserving: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Spend one request of `cost` points from `credential`'s bucket (its own
    /// per-minute rate, or the default), and from the shared window. `None` when there
    /// is no limit.
    pub async fn spend(&self, credential: Uuid, own_per_minute: Option<u32>, cost: u64) -> Result<Option<Allowance>> {
        let Some((local, weight)) = self.spend_locally(credential, own_per_minute, cost)? else { return Ok(None) };
        let Some(shared) = &self.shared else { return Ok(Some(local)) };
        let left = shared.spend(credential, local.limit, weight.get()).await?;
        Ok(Some(Allowance { remaining: local.remaining.min(left), ..local }))
    }

    /// The local bucket's part of [`RequestLimiter::spend`], with the request's weight.
    fn spend_locally(
        &self,
        credential: Uuid,
        own_per_minute: Option<u32>,
        cost: u64,
    ) -> Result<Option<(Allowance, NonZeroU32)>> {
        let per_minute = own_per_minute.unwrap_or(self.default_per_minute);
        let Some(rate) = NonZeroU32::new(per_minute) else { return Ok(None) };
        let bucket = {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            buckets
                .get_or_insert((credential, per_minute), || {
                    Arc::new(
                        RateLimiter::direct(Quota::per_minute(rate)).with_middleware::<StateInformationMiddleware>(),
                    )
                })
                .clone()
        };
        let weight = NonZeroU32::new(weight(per_minute, cost)).unwrap_or(NonZeroU32::MIN);
        let full_in =
            |remaining: u32| (u64::from(per_minute - remaining.min(per_minute)) * 60).div_ceil(u64::from(per_minute));
        match bucket.check_n(weight) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity();
                Ok(Some((Allowance { limit: per_minute, remaining, reset_secs: full_in(remaining) }, weight)))
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::rate_limited(
                    format!("rate limit of {per_minute} requests a minute reached; this request spends {weight}"),
                    wait,
                ))
            }
            // A weight above the bucket's size was capped above; this cannot happen.
            Err(_) => Err(ApiError::rate_limited("this request costs more than a minute's allowance", MEMORY)),
        }
    }
}

/// Requests a call of `cost` points spends: one per started thousand, at most a minute's.
fn weight(per_minute: u32, cost: u64) -> u32 {
    u32::try_from(1 + cost / COST_PER_REQUEST).unwrap_or(u32::MAX).min(per_minute).max(1)
}

/// A count as PostgreSQL's `integer`; a rate above it is as good as none.
fn saturating_i32(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// The per-minute windows every replica shares (`rate_limit_windows`, PostgreSQL). A
/// replica reserves a tenth of a credential's rate at a time (one statement per tenth)
/// and spends it locally until the minute ends, so together the replicas never grant
/// more than the rate in a clock minute. The error is on the safe side: reservations a
/// replica has not spent when the minute ends are lost, so a credential spread over N
/// replicas may be refused up to N tenths of its rate early. As with any fixed window,
/// a burst straddling the turn of a minute may reach twice the rate within a minute.
struct Shared {
    db: DatabaseConnection,
    leases: Mutex<LruCache<Uuid, Lease>>,
    reserving: tokio::sync::Mutex<()>,
}

/// What this replica has reserved and not yet spent of a credential's current window.
#[derive(Clone, Copy)]
struct Lease {
    left: u32,
    /// The window's spending, this replica's reservations included, when last reserved.
    reserved: u32,
    until: Instant,
}

impl Shared {
    /// Spend `weight` of `credential`'s window; what remains of it, or RATE_LIMITED.
    async fn spend(&self, credential: Uuid, limit: u32, weight: u32) -> Result<u32> {
        if let Some(left) = self.spend_leased(credential, limit, weight) {
            return Ok(left);
        }
        // One reservation at a time in this process: concurrent requests of a credential
        // wait for it and spend what it reserved, rather than each reserving a tenth.
        let _turn = self.reserving.lock().await;
        if let Some(left) = self.spend_leased(credential, limit, weight) {
            return Ok(left);
        }
        let now = Instant::now();
        let chunk = (limit / 10).max(weight).min(limit);
        let reserved = match self.reserve(credential, chunk, limit).await? {
            Some(reserved) => Some((chunk, reserved)),
            None if chunk > weight => self.reserve(credential, weight, limit).await?.map(|r| (weight, r)),
            None => None,
        };
        let Some((got, (spent, left_secs))) = reserved else {
            let wait = Duration::from_secs(60 - u64::from(chrono::Timelike::second(&chrono::Utc::now())));
            return Err(ApiError::rate_limited(
                format!(
                    "rate limit of {limit} requests a minute reached across the servers; this request spends {weight}"
                ),
                wait,
            ));
        };
        let until = now + Duration::from_secs_f64(left_secs.clamp(0.0, 60.0));
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        // Left-overs of an earlier reservation in the same window still count.
        let earlier = leases.peek(&credential).filter(|l| l.until > now).map_or(0, |l| l.left);
        let lease = Lease { left: earlier + got - weight, reserved: spent, until };
        leases.put(credential, lease);
        Ok(limit.saturating_sub(spent) + lease.left)
    }

    /// Spend `weight` from this replica's reservation, if it holds enough; what remains.
    fn spend_leased(&self, credential: Uuid, limit: u32, weight: u32) -> Option<u32> {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        let lease = leases.get_mut(&credential).filter(|l| l.until > Instant::now() && l.left >= weight)?;
        lease.left -= weight;
        Some(limit.saturating_sub(lease.reserved) + lease.left)
    }

    /// Reserve `amount` of the current minute's window if it fits under `limit`: the
    /// window's spending after it and the seconds the window has left, or `None`.
    async fn reserve(&self, credential: Uuid, amount: u32, limit: u32) -> Result<Option<(u32, f64)>> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO rate_limit_windows AS w (credential_id, window_start, spent) \
             VALUES ($1, date_trunc('minute', statement_timestamp()), $2) \
             ON CONFLICT (credential_id) DO UPDATE SET \
               spent = CASE WHEN w.window_start = EXCLUDED.window_start THEN w.spent + EXCLUDED.spent ELSE EXCLUDED.spent END, \
               window_start = EXCLUDED.window_start \
             WHERE w.window_start <> EXCLUDED.window_start OR w.spent + EXCLUDED.spent <= $3 \
             RETURNING spent, EXTRACT(EPOCH FROM window_start + interval '1 minute' - statement_timestamp())::float8 AS left_secs",
            [credential.into(), saturating_i32(amount).into(), saturating_i32(limit).into()],
        );
        let Some(row) = self.db.query_one_raw(statement).await? else { return Ok(None) };
        let spent: i32 = row.try_get("", "spent")?;
        let left_secs: f64 = row.try_get("", "left_secs")?;
        Ok(Some((u32::try_from(spent).unwrap_or(0), left_secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(SignInLimits { free_failures: 3, account_ceiling_per_hour: 10 }, None)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[tokio::test]
    async fn a_failing_client_waits_and_a_clean_one_does_not() {
        let throttle = throttle();
        for _ in 0..4 {
            throttle.check("demo/a@x.io", ip("10.0.0.1")).await.unwrap();
            throttle.failed("demo/a@x.io", ip("10.0.0.1")).await.unwrap();
        }
        let err = throttle.check("demo/a@x.io", ip("10.0.0.1")).await.unwrap_err();
        assert!(matches!(err, ApiError::RateLimited { retry_after_secs: 1, .. }), "{err:?}");
        assert!(throttle.check("demo/a@x.io", ip("10.0.0.2")).await.is_ok(), "another client is not slowed");
        assert!(throttle.check("demo/b@x.io", ip("10.0.0.1")).await.is_ok(), "nor another account");
    }

    #[tokio::test]
    async fn past_the_ceiling_a_clean_client_still_gets_in() {
        let throttle = throttle();
        for n in 0..10 {
            throttle.failed("demo/a@x.io", ip(&format!("10.0.1.{n}"))).await.unwrap();
        }
        assert!(throttle.check("demo/a@x.io", ip("10.0.2.1")).await.is_ok());
        // A client that has failed once now waits at once.
        throttle.failed("demo/a@x.io", ip("10.0.2.2")).await.unwrap();
        assert!(throttle.check("demo/a@x.io", ip("10.0.2.2")).await.is_err());
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        assert_eq!(Client::of(ip("2001:db8::1")), Client::of(ip("2001:db8::ffff:1")));
        assert_ne!(Client::of(ip("2001:db8::1")), Client::of(ip("2001:db8:0:1::1")));
    }

    #[tokio::test]
    async fn a_bucket_is_spent_by_cost() {
        let limiter = RequestLimiter::new(10, None);
        let key = Uuid::now_v7();
        let first = limiter.spend(key, None, 0).await.unwrap().unwrap();
        assert_eq!((first.limit, first.remaining), (10, 9));
        let second = limiter.spend(key, None, 3_500).await.unwrap().unwrap();
        assert_eq!(second.remaining, 5, "3,500 points spend four requests");
        assert!(matches!(limiter.spend(key, Some(0), 0).await, Ok(None)), "0 turns the limit off");
        for _ in 0..5 {
            limiter.spend(key, None, 0).await.unwrap();
        }
        assert!(matches!(limiter.spend(key, None, 0).await, Err(ApiError::RateLimited { .. })));
    }
}
