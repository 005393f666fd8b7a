//! Sign-in attempts are limited per e-mail address and per client address, so a
//! password cannot be guessed by brute force. Limits live in the process: with N
//! replicas an attacker gets at most N times the quota.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, Result};

pub struct LoginLimiter {
    per_email: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

/// A client address may try five times as many e-mails as one e-mail may be tried.
const ADDRESS_FACTOR: u32 = 5;

impl LoginLimiter {
    pub fn new(attempts_per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(attempts_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_address = per_minute.saturating_mul(NonZeroU32::new(ADDRESS_FACTOR).unwrap_or(NonZeroU32::MIN));
        Self {
            per_email: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_address: RateLimiter::keyed(Quota::per_minute(per_address)),
        }
    }

    /// Count one attempt; RATE_LIMITED when either quota is used up.
    pub fn check(&self, org_slug: &str, email: &str, address: Option<IpAddr>) -> Result<()> {
        let limited = || ApiError::RateLimited("too many sign-in attempts; try again in a minute".into());
        if let Some(address) = address {
            self.per_address.check_key(&address).map_err(|_| limited())?;
        }
        self.per_email.check_key(&format!("{org_slug}\u{0}{email}")).map_err(|_| limited())
    }

    /// Forget keys whose quota has fully replenished, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_email.retain_recent();
        self.per_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_per_email() {
        let limiter = LoginLimiter::new(3);
        for _ in 0..3 {
            limiter.check("demo", "a@x.io", None).unwrap();
        }
        assert!(matches!(limiter.check("demo", "a@x.io", None), Err(ApiError::RateLimited(_))));
        assert!(limiter.check("demo", "b@x.io", None).is_ok());
    }
}
