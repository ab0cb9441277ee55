use serde::{Deserialize, Serialize};
use tg_core::{Outcome, Timestamp};

use crate::BehaviorParams;

/// The running summary of an agent's behaviour: raw counts plus recency-weighted sums.
///
/// The weighted sums are exponentially decayed to `as_of`; adding a point decays them to
/// the point's time first, so recording is O(1) and never re-reads history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Evidence {
    pub successes: u64,
    pub failures: u64,
    pub violations: u64,
    pub weighted_success: f64,
    pub weighted_failure: f64,
    pub weighted_violation: f64,
    /// Decayed count of all evidence, the engagement half of the activity factor.
    pub engagement: f64,
    /// The instant the weighted sums are decayed to.
    pub as_of: Option<Timestamp>,
    /// The last time the agent did anything that counts as activity.
    pub last_activity: Option<Timestamp>,
}

impl Evidence {
    pub fn count(&self) -> u64 {
        self.successes
            .saturating_add(self.failures)
            .saturating_add(self.violations)
    }

    /// Adds one outcome observed at `at`. Out-of-order points (earlier than `as_of`) are
    /// counted at `as_of`: the recency weighting never runs backwards.
    pub fn record(&mut self, outcome: Outcome, at: Timestamp, params: &BehaviorParams) {
        let at = self.decay_to(at, params);
        match outcome {
            Outcome::Success => {
                self.successes = self.successes.saturating_add(1);
                self.weighted_success += 1.0;
            }
            Outcome::Failure => {
                self.failures = self.failures.saturating_add(1);
                self.weighted_failure += 1.0;
            }
            Outcome::Violation => {
                self.violations = self.violations.saturating_add(1);
                self.weighted_violation += 1.0;
            }
        }
        self.engagement += 1.0;
        self.last_activity = Some(self.last_activity.map_or(at, |last| last.max(at)));
    }

    /// The weighted sums as they stand at `now`, without changing `self`.
    pub fn decayed(&self, now: Timestamp, params: &BehaviorParams) -> Evidence {
        let mut copy = self.clone();
        copy.decay_to(now, params);
        copy
    }

    fn decay_to(&mut self, at: Timestamp, params: &BehaviorParams) -> Timestamp {
        let Some(as_of) = self.as_of else {
            self.as_of = Some(at);
            return at;
        };
        if at <= as_of {
            return as_of;
        }
        let days = at.days_since(as_of);
        let behavior = half_life_factor(days, params.half_life_days);
        self.weighted_success *= behavior;
        self.weighted_failure *= behavior;
        self.weighted_violation *= behavior;
        self.engagement *= half_life_factor(days, params.activity_half_life_days);
        self.as_of = Some(at);
        at
    }
}

fn half_life_factor(days: f64, half_life_days: f64) -> f64 {
    if half_life_days <= 0.0 {
        1.0
    } else {
        0.5f64.powf(days / half_life_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_weights_follow_records() {
        let params = BehaviorParams::default();
        let mut e = Evidence::default();
        let t0 = Timestamp::from_secs(1_700_000_000);
        e.record(Outcome::Success, t0, &params);
        e.record(Outcome::Violation, t0, &params);
        assert_eq!(
            (e.successes, e.failures, e.violations, e.count()),
            (1, 0, 1, 2)
        );
        assert_eq!(e.weighted_success, 1.0);

        let later = t0.plus_secs((params.half_life_days * 86_400.0) as i64);
        let d = e.decayed(later, &params);
        assert!((d.weighted_success - 0.5).abs() < 1e-9);
        assert!((d.weighted_violation - 0.5).abs() < 1e-9);
        assert_eq!(e.weighted_success, 1.0, "decayed() does not mutate");
    }

    #[test]
    fn out_of_order_points_never_run_the_clock_backwards() {
        let params = BehaviorParams::default();
        let mut e = Evidence::default();
        let t0 = Timestamp::from_secs(1_700_000_000);
        e.record(Outcome::Success, t0, &params);
        e.record(Outcome::Success, t0.plus_secs(-86_400), &params);
        assert_eq!(e.as_of, Some(t0));
        assert_eq!(e.weighted_success, 2.0);
        assert_eq!(e.last_activity, Some(t0));
    }
}
