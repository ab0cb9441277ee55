use serde::{Deserialize, Serialize};
use tg_core::{Outcome, Provenance, Timestamp};

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
    /// Evidence points by provenance (they add up to [`Evidence::count`]).
    #[serde(default)]
    pub self_reported: u64,
    #[serde(default)]
    pub witnessed: u64,
    #[serde(default)]
    pub delegated: u64,
    /// Witnessed and delegation evidence, each point weighted by the credibility of the
    /// account behind it and decayed with the behaviour half-life: how much of the agent's
    /// record someone else proved.
    #[serde(default)]
    pub weighted_proven: f64,
    /// Witnessed violations, credibility-weighted and decayed likewise.
    #[serde(default)]
    pub weighted_witnessed_violation: f64,
}

/// Who stands behind a point of evidence, and how far they are believed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    pub provenance: Provenance,
    /// In [0, 1]: the credibility of the witnessing or delegating account (1 for `self`).
    /// A point counts this much in the behaviour and activity sums: an account nobody
    /// trusts adds nothing, whatever it reports.
    pub credibility: f64,
}

impl Source {
    /// The agent's own account.
    pub const SELF: Source = Source {
        provenance: Provenance::SelfReported,
        credibility: 1.0,
    };

    fn weight(&self) -> f64 {
        match self.provenance {
            Provenance::SelfReported => 1.0,
            _ if self.credibility.is_finite() => self.credibility.clamp(0.0, 1.0),
            _ => 0.0,
        }
    }
}

impl Evidence {
    pub fn count(&self) -> u64 {
        self.successes
            .saturating_add(self.failures)
            .saturating_add(self.violations)
    }

    /// Adds one self-reported outcome observed at `at`.
    pub fn record(&mut self, outcome: Outcome, at: Timestamp, params: &BehaviorParams) {
        self.record_from(outcome, at, params, Source::SELF);
    }

    /// Adds one outcome observed at `at`, vouched for by `source`. Out-of-order points
    /// (earlier than `as_of`) are counted at `as_of`: the recency weighting never runs
    /// backwards.
    pub fn record_from(
        &mut self,
        outcome: Outcome,
        at: Timestamp,
        params: &BehaviorParams,
        source: Source,
    ) {
        let at = self.decay_to(at, params);
        let weight = source.weight();
        match outcome {
            Outcome::Success => {
                self.successes = self.successes.saturating_add(1);
                self.weighted_success += weight;
            }
            Outcome::Failure => {
                self.failures = self.failures.saturating_add(1);
                self.weighted_failure += weight;
            }
            Outcome::Violation => {
                self.violations = self.violations.saturating_add(1);
                self.weighted_violation += weight;
            }
        }
        match source.provenance {
            Provenance::SelfReported => self.self_reported = self.self_reported.saturating_add(1),
            Provenance::Witnessed => {
                self.witnessed = self.witnessed.saturating_add(1);
                self.weighted_proven += weight;
                if outcome == Outcome::Violation {
                    self.weighted_witnessed_violation += weight;
                }
            }
            Provenance::Delegation => {
                self.delegated = self.delegated.saturating_add(1);
                self.weighted_proven += weight;
            }
        }
        self.engagement += weight;
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
        self.weighted_proven *= behavior;
        self.weighted_witnessed_violation *= behavior;
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
