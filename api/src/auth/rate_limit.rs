//! Throttles that keep one caller from hurting others, in the process (with N
//! replicas a caller gets at most N times the allowance).
//!
//! - [`SignInThrottle`]: failed sign-ins slow down the client that fails, per client
//!   and account, with a back-off that doubles. A client that has not failed is never
//!   refused, so nobody can lock someone else out by guessing wrong on their behalf.
//! - [`RequestLimiter`]: a token bucket per user and per API key, spent by the cost of
//!   each request.

use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use lru::LruCache;
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

/// Token buckets per credential (user or API key).
pub struct RequestLimiter {
    default_per_minute: u32,
    buckets: Mutex<LruCache<(Uuid, u32), Arc<Bucket>>>,
}

impl RequestLimiter {
    /// `default_per_minute` 0 turns limits off for credentials without their own.
    pub fn new(default_per_minute: u32) -> Self {
        Self { default_per_minute, buckets: Mutex::new(LruCache::new(REMEMBERED)) }
    }

    /// Spend one request of `cost` points from `credential`'s bucket (its own
    /// per-minute rate, or the default). `None` when there is no limit.
    pub fn spend(&self, credential: Uuid, own_per_minute: Option<u32>, cost: u64) -> Result<Option<Allowance>> {
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
        let weight = u32::try_from(1 + cost / COST_PER_REQUEST).unwrap_or(u32::MAX).min(per_minute);
        let weight = NonZeroU32::new(weight).unwrap_or(NonZeroU32::MIN);
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

    #[test]
    fn a_bucket_is_spent_by_cost() {
        let limiter = RequestLimiter::new(10);
        let key = Uuid::now_v7();
        let first = limiter.spend(key, None, 0).unwrap().unwrap();
        assert_eq!((first.limit, first.remaining), (10, 9));
        let second = limiter.spend(key, None, 3_500).unwrap().unwrap();
        assert_eq!(second.remaining, 5, "3,500 points spend four requests");
        assert!(matches!(limiter.spend(key, Some(0), 0), Ok(None)), "0 turns the limit off");
        for _ in 0..5 {
            limiter.spend(key, None, 0).unwrap();
        }
        assert!(matches!(limiter.spend(key, None, 0), Err(ApiError::RateLimited { .. })));
    }
}
