//! Throttles that keep one caller from hurting others.
//!
//! - [`SignInThrottle`]: failed sign-ins slow down the client that fails, per client
//!   and account, with a back-off that doubles. A client that has not failed is never
//!   refused, so nobody can lock someone else out by guessing wrong on their behalf.
//!   Kept in the process: with N replicas a client may fail N times as often.
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

    /// When the next attempt may come, once `free` failures are used up.
    fn next_attempt(&self, free: u32) -> Option<Instant> {
        let over = self.count.checked_sub(free).filter(|over| *over > 0)?;
        let wait = Duration::from_secs(1u64 << (over - 1).min(20)).min(MAX_WAIT);
        Some(self.last + wait)
    }
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

/// Failed sign-ins, remembered for an hour.
pub struct SignInThrottle {
    limits: SignInLimits,
    tables: Mutex<Tables>,
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits) -> Self {
        Self {
            limits,
            tables: Mutex::new(Tables {
                pairs: LruCache::new(REMEMBERED),
                clients: LruCache::new(REMEMBERED),
                accounts: LruCache::new(REMEMBERED),
            }),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // Entries are whole values: a panic elsewhere cannot leave one half-written.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// May this client try to sign in to this account now? RATE_LIMITED (with the
    /// wait) when it has failed too often; a client without failures always may.
    pub fn check(&self, account: &str, address: Option<IpAddr>) -> Result<()> {
        let (client, now) = (Client::of(address), Instant::now());
        let mut tables = self.tables();
        let strict = tables.accounts.peek(account).is_some_and(|w| {
            now.duration_since(w.started) < MEMORY && w.failures >= self.limits.account_ceiling_per_hour
        });
        let free = if strict { 0 } else { self.limits.free_failures };
        let pair = Failures::current(tables.pairs.get(&(client, account.to_owned())), now);
        let across = Failures::current(tables.clients.get(&client), now);
        let until = [
            pair.and_then(|f| f.next_attempt(free)),
            across.and_then(|f| f.next_attempt(free.saturating_mul(CLIENT_FACTOR).max(free))),
        ]
        .into_iter()
        .flatten()
        .max();
        match until {
            Some(until) if until > now => Err(ApiError::rate_limited(
                "too many failed sign-ins from this client; wait before trying again",
                until - now,
            )),
            _ => Ok(()),
        }
    }

    /// Count a wrong password (or unknown account) from this client.
    pub fn failed(&self, account: &str, address: Option<IpAddr>) {
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
            metrics::counter!("accord_sign_in_account_ceiling_total").increment(1);
            tracing::error!(
                account,
                failures = window.failures,
                "sign-in ceiling reached: an account is being guessed at; failing clients now wait from their first failure"
            );
        }
        tables.accounts.put(account.to_owned(), window);
    }

    /// A successful sign-in clears this client's failures on the account.
    pub fn succeeded(&self, account: &str, address: Option<IpAddr>) {
        self.tables().pairs.pop(&(Client::of(address), account.to_owned()));
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
            shared: shared.map(|db| Shared { db, leases: Mutex::new(LruCache::new(REMEMBERED)) }),
        }
    }

    /// Spend one request of `cost` points from `credential`'s bucket (its own
    /// per-minute rate, or the default), and from the shared window. `None` when there
    /// is no limit.
    pub async fn spend(&self, credential: Uuid, own_per_minute: Option<u32>, cost: u64) -> Result<Option<Allowance>> {
        let Some(local) = self.spend_locally(credential, own_per_minute, cost)? else { return Ok(None) };
        let Some(shared) = &self.shared else { return Ok(Some(local)) };
        let weight = weight(local.limit, cost);
        let left = shared.spend(credential, local.limit, weight).await?;
        Ok(Some(Allowance { remaining: local.remaining.min(left), ..local }))
    }

    fn spend_locally(&self, credential: Uuid, own_per_minute: Option<u32>, cost: u64) -> Result<Option<Allowance>> {
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
                Ok(Some(Allowance { limit: per_minute, remaining, reset_secs: full_in(remaining) }))
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
        let now = Instant::now();
        {
            let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(lease) = leases.get_mut(&credential)
                && lease.until > now
                && lease.left >= weight
            {
                lease.left -= weight;
                return Ok(limit.saturating_sub(lease.reserved) + lease.left);
            }
        }
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
            [credential.into(), (amount as i32).into(), (limit as i32).into()],
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
        SignInThrottle::new(SignInLimits { free_failures: 3, account_ceiling_per_hour: 10 })
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_failing_client_waits_and_a_clean_one_does_not() {
        let throttle = throttle();
        for _ in 0..4 {
            throttle.check("demo/a@x.io", ip("10.0.0.1")).unwrap();
            throttle.failed("demo/a@x.io", ip("10.0.0.1"));
        }
        let err = throttle.check("demo/a@x.io", ip("10.0.0.1")).unwrap_err();
        assert!(matches!(err, ApiError::RateLimited { retry_after_secs: 1, .. }), "{err:?}");
        assert!(throttle.check("demo/a@x.io", ip("10.0.0.2")).is_ok(), "another client is not slowed");
        assert!(throttle.check("demo/b@x.io", ip("10.0.0.1")).is_ok(), "nor another account");
    }

    #[test]
    fn past_the_ceiling_a_clean_client_still_gets_in() {
        let throttle = throttle();
        for n in 0..10 {
            throttle.failed("demo/a@x.io", ip(&format!("10.0.1.{n}")));
        }
        assert!(throttle.check("demo/a@x.io", ip("10.0.2.1")).is_ok());
        // A client that has failed once now waits at once.
        throttle.failed("demo/a@x.io", ip("10.0.2.2"));
        assert!(throttle.check("demo/a@x.io", ip("10.0.2.2")).is_err());
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
