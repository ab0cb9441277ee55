//! Per-key rate limits by plan (token buckets, governor). The operator's admin account is
//! not limited. Buckets are per instance: N instances allow N × the plan's rate.
//!
//! Failed authentications (a key presented but refused) are limited per source address:
//! past the budget, the address gets 429 for every request until its bucket refills, its
//! keys unchecked — so keys cannot be guessed at speed, nor a 401 flood drive the store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
    /// Refused keys per source address (default 100/min).
    pub auth_failures: PlanQuota,
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
            auth_failures: PlanQuota {
                burst: 100,
                period: Duration::from_millis(600),
            },
        }
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(q: PlanQuota) -> DefaultKeyedRateLimiter<K> {
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
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses past their failure budget, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Whether `blocked` may hold anything: every authenticated request asks, and almost
    /// always nothing is blocked, so the answer must not take a lock.
    any_blocked: AtomicBool,
}

/// Most addresses remembered as blocked (expired ones are dropped first).
const MAX_BLOCKED: usize = 10_000;

fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl Limiters {
    pub(crate) fn new(limits: RateLimits, exempt: AccountId) -> Self {
        Self {
            free: limiter(limits.free),
            pro: limiter(limits.pro),
            enterprise: limiter(limits.enterprise),
            exempt,
            failures: limiter(limits.auth_failures),
            blocked: Mutex::new(HashMap::new()),
            any_blocked: AtomicBool::new(false),
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        match self.blocked.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// `Some(seconds to wait)` while `ip` is past its failed-authentication budget.
    pub(crate) fn auth_blocked(&self, ip: IpAddr) -> Option<u64> {
        if !self.any_blocked.load(Ordering::Relaxed) {
            return None;
        }
        let mut blocked = self.blocked();
        let until = *blocked.get(&ip)?;
        let now = Instant::now();
        if until > now {
            return Some(seconds(until - now));
        }
        blocked.remove(&ip);
        if blocked.is_empty() {
            self.any_blocked.store(false, Ordering::Relaxed);
        }
        None
    }

    /// Counts a refused key from `ip`; `Some(seconds to wait)` when that was one too many.
    pub(crate) fn auth_failed(&self, ip: IpAddr) -> Option<u64> {
        let not_until = self.failures.check_key(&ip).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked();
        if blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
        if blocked.len() < MAX_BLOCKED {
            blocked.insert(ip, Instant::now() + wait);
            self.any_blocked.store(true, Ordering::Relaxed);
        }
        Some(seconds(wait))
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
        limiter
            .check_key(&p.key_prefix)
            .map_err(|not_until| seconds(not_until.wait_time_from(DefaultClock::default().now())))
    }
}
