//! Per-key rate limits by plan (token buckets, governor). The operator's admin account is
//! not limited. Buckets are per instance: N instances allow N × the plan's rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tg_access::{Plan, Principal};
use tg_core::AccountId;

/// A plan's quota: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanQuota {
    pub burst: u32,
    /// One token every `period`.
    pub period: Duration,
}

impl PlanQuota {
    /// Parses `N/s`, `N/min` or `N/h` (burst N, refilled evenly over the unit).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (n, unit) = s
            .split_once('/')
            .ok_or_else(|| format!("rate `{s}`: expected N/s, N/min or N/h"))?;
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("rate `{s}`: N must be a positive whole number"))?;
        let unit = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => return Err(format!("rate `{s}`: unknown unit `{other}`")),
        };
        Ok(Self {
            burst: n,
            period: unit / n,
        })
    }
}

/// The quotas of each plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub free: PlanQuota,
    pub pro: PlanQuota,
    pub enterprise: PlanQuota,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            free: PlanQuota {
                burst: 20,
                period: Duration::from_millis(100),
            },
            pro: PlanQuota {
                burst: 200,
                period: Duration::from_millis(10),
            },
            enterprise: PlanQuota {
                burst: 2000,
                period: Duration::from_millis(1),
            },
        }
    }
}

fn limiter(q: PlanQuota) -> DefaultKeyedRateLimiter<String> {
    let burst = NonZeroU32::new(q.burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(q.period.max(Duration::from_nanos(1))).map_or_else(
        || Quota::per_second(burst),
        |quota| quota.allow_burst(burst),
    );
    RateLimiter::keyed(quota)
}

#[derive(Debug)]
pub(crate) struct Limiters {
    free: DefaultKeyedRateLimiter<String>,
    pro: DefaultKeyedRateLimiter<String>,
    enterprise: DefaultKeyedRateLimiter<String>,
    exempt: AccountId,
}

impl Limiters {
    pub(crate) fn new(limits: RateLimits, exempt: AccountId) -> Self {
        Self {
            free: limiter(limits.free),
            pro: limiter(limits.pro),
            enterprise: limiter(limits.enterprise),
            exempt,
        }
    }

    /// `Err(seconds to wait)` when the key has used up its bucket.
    pub(crate) fn check(&self, p: &Principal) -> Result<(), u64> {
        if p.account_id == self.exempt {
            return Ok(());
        }
        let limiter = match p.plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
            Plan::Enterprise => &self.enterprise,
        };
        limiter.check_key(&p.key_prefix).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}
