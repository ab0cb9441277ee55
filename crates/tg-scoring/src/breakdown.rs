use serde::Serialize;
use tg_core::Timestamp;

use crate::{Evidence, Policy};

/// Whether the agent still runs the configuration it was approved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigState {
    Approved,
    Drifted,
}

/// Configuration factor when the reported `config_hash` differs from the approved one.
pub const DRIFTED_CONFIG_SCORE: f64 = 0.3;

/// Everything a score is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Attestation strength in [0, 1] (x509 1.0, jwt 0.9, api_key 0.6, self_declared 0.3).
    pub identity_strength: f64,
    pub config: ConfigState,
    /// The vouch factor in [0, 1], computed elsewhere (EigenTrust); 0 without vouches.
    pub vouch: f64,
    pub evidence: &'a Evidence,
    pub registered_at: Timestamp,
}

/// The five factors, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FactorScores {
    pub identity: f64,
    pub config: f64,
    pub behavior: f64,
    pub vouch: f64,
    pub activity: f64,
}

/// One factor explained: its score, weight, contribution and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Factor {
    pub name: String,
    pub score: f64,
    pub weight: f64,
    pub contribution: f64,
    pub evidence: String,
}

/// A score, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub factors: FactorScores,
    pub explain: Vec<Factor>,
    /// Σ weight × factor, before decay.
    pub base_score: f64,
    /// `decay_rate ^ (days_inactive / decay_period_days)`.
    pub decay_multiplier: f64,
    pub days_inactive: f64,
    /// The effective composite in [0, 1]: the cold-start score while cold, else base × decay.
    pub composite: f64,
    pub tier: u8,
    pub tier_name: String,
    /// True while the agent has fewer evidence points than the policy's cold-start bound.
    pub cold_start: bool,
    pub evidence_count: u64,
    pub last_activity: Option<Timestamp>,
}

/// Computes the breakdown at `now`. Pure and deterministic.
pub fn breakdown(policy: &Policy, inputs: &Inputs<'_>, now: Timestamp) -> Breakdown {
    let params = &policy.behavior;
    let w = &policy.weights;
    let ev = inputs.evidence.decayed(now, params);

    let identity = unit(inputs.identity_strength);
    let config = match inputs.config {
        ConfigState::Approved => 1.0,
        ConfigState::Drifted => DRIFTED_CONFIG_SCORE,
    };
    let positive = ev.weighted_success + params.prior_success;
    let negative = ev.weighted_failure
        + params.violation_weight * ev.weighted_violation
        + params.prior_failure;
    let behavior = unit(positive / (positive + negative));
    let vouch = unit(inputs.vouch);
    let activity = unit(ev.engagement / (ev.engagement + params.engagement_midpoint));
    let factors = FactorScores {
        identity,
        config,
        behavior,
        vouch,
        activity,
    };

    let explain = vec![
        factor(
            "identity",
            identity,
            w.identity,
            format!("attestation strength {identity:.2}"),
        ),
        factor(
            "config",
            config,
            w.config,
            match inputs.config {
                ConfigState::Approved => "config_hash matches the approved hash".to_owned(),
                ConfigState::Drifted => "config_hash differs from the approved hash".to_owned(),
            },
        ),
        factor(
            "behavior",
            behavior,
            w.behavior,
            format!(
                "{} successes, {} failures, {} violations (recency-weighted, half-life {} days; a violation counts as {} failures)",
                ev.successes,
                ev.failures,
                ev.violations,
                params.half_life_days,
                params.violation_weight
            ),
        ),
        factor(
            "vouch",
            vouch,
            w.vouch,
            "trust flowing from pre-trusted agents through vouches".to_owned(),
        ),
        factor(
            "activity",
            activity,
            w.activity,
            format!("engagement {:.2} (decayed evidence count)", ev.engagement),
        ),
    ];
    let base_score = unit(explain.iter().map(|f| f.contribution).sum());

    let last_seen = ev
        .last_activity
        .unwrap_or(inputs.registered_at)
        .max(inputs.registered_at);
    let days_inactive = now.days_since(last_seen);
    let decay_multiplier = params
        .decay_rate
        .powf(days_inactive / params.decay_period_days);
    let evidence_count = ev.count();
    let cold_start = evidence_count < params.cold_start_evidence;
    let composite = if cold_start {
        params.cold_start_score
    } else {
        unit(base_score * decay_multiplier)
    };
    let band = policy.tiers.tier_for(composite);

    Breakdown {
        factors,
        explain,
        base_score,
        decay_multiplier,
        days_inactive,
        composite,
        tier: band.tier,
        tier_name: band.name.clone(),
        cold_start,
        evidence_count,
        last_activity: ev.last_activity,
    }
}

fn factor(name: &'static str, score: f64, weight: f64, evidence: String) -> Factor {
    Factor {
        name: name.to_owned(),
        score,
        weight,
        contribution: score * weight,
        evidence,
    }
}

fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Preset};

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

    fn evidence(outcomes: &[(Outcome, usize)], policy: &Policy) -> Evidence {
        let mut e = Evidence::default();
        for (o, n) in outcomes {
            for _ in 0..*n {
                e.record(*o, T0, &policy.behavior);
            }
        }
        e
    }

    fn score(policy: &Policy, strength: f64, e: &Evidence, now: Timestamp) -> Breakdown {
        let inputs = Inputs {
            identity_strength: strength,
            config: ConfigState::Approved,
            vouch: 0.0,
            evidence: e,
            registered_at: T0,
        };
        breakdown(policy, &inputs, now)
    }

    #[test]
    fn cold_start_holds_at_point_one_whatever_the_attestation() {
        let p = Policy::preset(Preset::Default);
        let e = evidence(&[(Outcome::Success, 4)], &p);
        let b = score(&p, 1.0, &e, T0);
        assert!(b.cold_start);
        assert_eq!(b.composite, 0.1);
        assert_eq!(b.tier, 0);
        let e = evidence(&[(Outcome::Success, 5)], &p);
        assert!(!score(&p, 1.0, &e, T0).cold_start);
    }

    #[test]
    fn gateway_v2_composite_is_the_weighted_sum() {
        let p = Policy::preset(Preset::GatewayV2);
        let e = evidence(&[(Outcome::Success, 18)], &p);
        let b = score(&p, 1.0, &e, T0);
        // behaviour = (18 + 1) / (18 + 1 + 1) = 0.95
        assert!((b.factors.behavior - 0.95).abs() < 1e-12);
        assert!((b.composite - (0.3 + 0.2 + 0.5 * 0.95)).abs() < 1e-12);
        assert_eq!(b.tier, 3);
        let sum: f64 = b.explain.iter().map(|f| f.contribution).sum();
        assert!((sum - b.base_score).abs() < 1e-12);
    }

    #[test]
    fn a_violation_costs_more_than_a_success_earns() {
        let p = Policy::preset(Preset::Default);
        let good = evidence(&[(Outcome::Success, 10)], &p);
        let one_bad = evidence(&[(Outcome::Success, 10), (Outcome::Violation, 1)], &p);
        let one_more = evidence(&[(Outcome::Success, 11)], &p);
        let base = score(&p, 0.6, &good, T0).composite;
        let loss = base - score(&p, 0.6, &one_bad, T0).composite;
        let gain = score(&p, 0.6, &one_more, T0).composite - base;
        assert!(loss > 10.0 * gain, "loss {loss} gain {gain}");
    }

    #[test]
    fn inactivity_decays_at_five_percent_per_thirty_days() {
        let p = Policy::preset(Preset::GatewayV2);
        let e = evidence(&[(Outcome::Success, 10)], &p);
        let fresh = score(&p, 1.0, &e, T0);
        let idle = score(&p, 1.0, &e, T0.plus_secs(60 * 86_400));
        assert!((idle.decay_multiplier - 0.95f64.powi(2)).abs() < 1e-12);
        // Behaviour's recency weighting shrinks both sides alike toward the prior, so compare
        // against the base at that instant.
        assert!((idle.composite - idle.base_score * 0.9025).abs() < 1e-12);
        assert!(idle.composite < fresh.composite);
    }

    #[test]
    fn drifted_config_lowers_the_score_and_says_why() {
        let p = Policy::preset(Preset::GatewayV2);
        let e = evidence(&[(Outcome::Success, 10)], &p);
        let mut inputs = Inputs {
            identity_strength: 0.6,
            config: ConfigState::Approved,
            vouch: 0.0,
            evidence: &e,
            registered_at: T0,
        };
        let approved = breakdown(&p, &inputs, T0);
        inputs.config = ConfigState::Drifted;
        let drifted = breakdown(&p, &inputs, T0);
        assert!(
            (approved.composite - drifted.composite - 0.2 * (1.0 - DRIFTED_CONFIG_SCORE)).abs()
                < 1e-12
        );
        assert!(
            drifted
                .explain
                .iter()
                .any(|f| f.name == "config" && f.evidence.contains("differs"))
        );
    }
}
