//! A score explained: each factor's weight, contribution and the evidence behind it, in
//! words, and what the proof rule did. [`crate::score`] computes the numbers.

use serde::Serialize;
use tg_core::Timestamp;

use crate::score::{Computed, Hold, compute, rounded};
use crate::words::{push_f64, push_fixed2, push_u64};
use crate::{ConfigState, FactorScores, Inputs, Policy};

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
    /// What stands behind the evidence, and what the policy's proof rule did to the score.
    pub proof: Proof,
}

/// The proof rule applied (docs/TRUST-MODEL.md).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proof {
    /// Evidence points by provenance.
    pub self_reported: u64,
    pub witnessed: u64,
    pub delegation: u64,
    /// Credibility-weighted proven evidence at `now`, and what lifts the cap.
    pub proven_weight: f64,
    pub proven_required: f64,
    /// Whether proof (proven evidence, or vouches tracing to the pre-trusted) lifts the
    /// policy's cap on unproven agents.
    pub proven: bool,
    /// The tier the score was held to, when a rule held it (`None`: it stands as computed).
    pub capped_at_tier: Option<u8>,
    /// Why, in words.
    pub reason: Option<String>,
}

/// Computes the breakdown at `now`. Pure and deterministic.
pub fn breakdown(policy: &Policy, inputs: &Inputs<'_>, now: Timestamp) -> Breakdown {
    explained(policy, inputs.config, compute(policy, inputs, now))
}

fn explained(policy: &Policy, config: ConfigState, c: Computed) -> Breakdown {
    let params = &policy.behavior;
    let w = &policy.weights;
    let ev = &c.evidence;
    let f = c.factors;
    let explain = vec![
        factor(
            "identity",
            f.identity,
            w.identity,
            words(32, |w| {
                w.push_str("attestation strength ");
                push_fixed2(w, f.identity);
            }),
        ),
        factor(
            "config",
            f.config,
            w.config,
            match config {
                ConfigState::Approved => "config_hash matches the approved hash".to_owned(),
                ConfigState::Drifted => "config_hash differs from the approved hash".to_owned(),
            },
        ),
        factor(
            "behavior",
            f.behavior,
            w.behavior,
            words(192, |w| {
                for (count, then) in [
                    (ev.successes, " successes, "),
                    (ev.failures, " failures, "),
                    (ev.violations, " violations ("),
                    (ev.self_reported, " self-reported, "),
                    (ev.witnessed, " witnessed, "),
                    (ev.delegated, " by delegation; recency-weighted, half-life "),
                ] {
                    push_u64(w, count);
                    w.push_str(then);
                }
                push_f64(w, params.half_life_days);
                w.push_str(" days; a violation counts as ");
                push_f64(w, params.violation_weight);
                w.push_str(" failures)");
            }),
        ),
        factor(
            "vouch",
            f.vouch,
            w.vouch,
            "trust flowing from pre-trusted agents through vouches".to_owned(),
        ),
        factor(
            "activity",
            f.activity,
            w.activity,
            words(48, |w| {
                w.push_str("engagement ");
                push_fixed2(w, ev.engagement);
                w.push_str(" (decayed evidence count)");
            }),
        ),
    ];
    let rule = &policy.proof;
    let proof = Proof {
        self_reported: ev.self_reported,
        witnessed: ev.witnessed,
        delegation: ev.delegated,
        proven_weight: ev.weighted_proven,
        proven_required: rule.proven_evidence,
        proven: c.proven,
        capped_at_tier: c.held.map(|(tier, _)| tier),
        reason: c.held.map(|(tier, why)| match why {
            Hold::Unproven => words(224, |w| {
                w.push_str("unproven: ");
                push_fixed2(w, ev.weighted_proven);
                w.push_str(" of ");
                push_fixed2(w, rule.proven_evidence);
                w.push_str(" credible witnessed or delegation evidence and a vouch factor of ");
                push_fixed2(w, f.vouch);
                w.push_str(" (< ");
                push_fixed2(w, rule.proven_vouch);
                w.push_str("); self-reported evidence alone reaches tier ");
                push_u64(w, u64::from(tier));
                w.push_str(" at most");
            }),
            Hold::WitnessedViolation => words(96, |w| {
                w.push_str("a witnessed violation (weight ");
                push_fixed2(w, ev.weighted_witnessed_violation);
                w.push_str(") holds the agent one tier below its score's");
            }),
        }),
    };
    Breakdown {
        factors: FactorScores {
            identity: rounded(f.identity),
            config: rounded(f.config),
            behavior: rounded(f.behavior),
            vouch: rounded(f.vouch),
            activity: rounded(f.activity),
        },
        explain,
        base_score: rounded(c.base_score),
        decay_multiplier: c.decay_multiplier,
        days_inactive: c.days_inactive,
        composite: c.score.composite,
        tier: c.score.tier,
        tier_name: policy.tiers.tier_for(c.score.composite).name.clone(),
        cold_start: c.cold_start,
        evidence_count: ev.count(),
        last_activity: ev.last_activity,
        proof,
    }
}

/// Words of about `capacity` bytes, written by `write`.
fn words(capacity: usize, write: impl FnOnce(&mut String)) -> String {
    let mut w = String::with_capacity(capacity);
    write(&mut w);
    w
}

/// A factor with its score and contribution to [`crate::SCORE_DECIMALS`] places.
fn factor(name: &'static str, score: f64, weight: f64, evidence: String) -> Factor {
    Factor {
        name: name.to_owned(),
        score: rounded(score),
        weight,
        contribution: rounded(score * weight),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::DRIFTED_CONFIG_SCORE;
    use crate::{Evidence, Outcome, Preset};

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
        let base = score(&p, 0.6, &good, T0).base_score;
        let loss = base - score(&p, 0.6, &one_bad, T0).base_score;
        let gain = score(&p, 0.6, &one_more, T0).base_score - base;
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
        // Both figures are reported to four places.
        assert!((idle.composite - idle.base_score * 0.9025).abs() <= 1e-4);
        assert!(idle.composite < fresh.composite);
    }

    #[test]
    fn scores_are_reported_and_decided_to_four_places() {
        let p = Policy::preset(Preset::GatewayV2);
        let e = evidence(&[(Outcome::Success, 7), (Outcome::Failure, 2)], &p);
        let b = score(&p, 0.6, &e, T0.plus_secs(13 * 86_400 + 7));
        for x in [
            b.composite,
            b.base_score,
            b.factors.behavior,
            b.factors.activity,
        ]
        .into_iter()
        .chain(b.explain.iter().flat_map(|f| [f.score, f.contribution]))
        {
            assert_eq!(x, rounded(x), "{x} has more than four places");
        }
        // An action requiring exactly the score just read is allowed.
        let mut catalog = crate::Catalog::default();
        let rule = crate::ActionRule {
            required_tier: 0,
            min_score: b.composite,
        };
        catalog.set("exact", rule, &p.tiers).unwrap();
        let d = crate::authorize(
            &catalog,
            crate::Standing::Active,
            b.tier,
            b.composite,
            "exact",
        );
        assert!(d.allowed);
    }

    #[test]
    fn the_words_say_the_numbers_behind_each_factor() {
        let p = Policy::preset(Preset::Default);
        let e = evidence(&[(Outcome::Success, 30), (Outcome::Failure, 2)], &p);
        let b = score(&p, 0.6, &e, T0.plus_secs(86_400));
        let words: Vec<&str> = b.explain.iter().map(|f| f.evidence.as_str()).collect();
        assert_eq!(
            words,
            [
                "attestation strength 0.60",
                "config_hash matches the approved hash",
                "30 successes, 2 failures, 0 violations (32 self-reported, 0 witnessed, 0 by \
                 delegation; recency-weighted, half-life 30 days; a violation counts as 10 \
                 failures)",
                "trust flowing from pre-trusted agents through vouches",
                "engagement 31.27 (decayed evidence count)",
            ]
        );
        assert_eq!(
            b.proof.reason.as_deref(),
            Some(
                "unproven: 0.00 of 4.50 credible witnessed or delegation evidence and a vouch \
                 factor of 0.00 (< 0.30); self-reported evidence alone reaches tier 1 at most"
            )
        );
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

    fn witnessed(e: &mut Evidence, p: &Policy, outcome: Outcome, n: usize, credibility: f64) {
        let source = crate::Source {
            provenance: tg_core::Provenance::Witnessed,
            credibility,
        };
        for _ in 0..n {
            e.record_from(outcome, T0, &p.behavior, source);
        }
    }

    #[test]
    fn self_reported_evidence_alone_stops_at_tier_one_under_default() {
        let p = Policy::preset(Preset::Default);
        let farmed = evidence(&[(Outcome::Success, 200)], &p);
        let b = score(&p, 1.0, &farmed, T0);
        assert!(b.base_score >= 0.8, "the arithmetic alone would say tier 3");
        assert_eq!(b.tier, 1);
        assert!((b.composite - 0.499).abs() < 1e-12, "{}", b.composite);
        assert_eq!(b.proof.capped_at_tier, Some(1));
        assert!(!b.proof.proven);
        assert_eq!((b.proof.self_reported, b.proof.witnessed), (200, 0));
        assert!(b.proof.reason.as_deref().unwrap().contains("self-reported"));
        // V2 keeps its arithmetic.
        let v2 = Policy::preset(Preset::GatewayV2);
        let b = score(&v2, 1.0, &evidence(&[(Outcome::Success, 200)], &v2), T0);
        assert_eq!((b.tier, b.proof.capped_at_tier), (3, None));
    }

    #[test]
    fn credible_witnesses_or_trusted_vouches_lift_the_cap_and_a_ring_does_not() {
        let p = Policy::preset(Preset::Default);
        let mut ring = evidence(&[(Outcome::Success, 30)], &p);
        witnessed(&mut ring, &p, Outcome::Success, 500, 0.0);
        let b = score(&p, 1.0, &ring, T0);
        assert_eq!(
            (b.tier, b.proof.witnessed),
            (1, 500),
            "witnesses nobody trusts add nothing"
        );
        assert_eq!(b.proof.proven_weight, 0.0);

        let mut honest = evidence(&[(Outcome::Success, 30)], &p);
        witnessed(&mut honest, &p, Outcome::Success, 4, 1.0);
        assert_eq!(
            score(&p, 1.0, &honest, T0).tier,
            1,
            "4 of 4.5 is not enough"
        );
        witnessed(&mut honest, &p, Outcome::Success, 1, 1.0);
        let b = score(&p, 1.0, &honest, T0);
        assert!(b.proof.proven);
        assert_eq!((b.tier, b.proof.capped_at_tier), (3, None));
        // Half-credible witnesses count half.
        let mut half = evidence(&[(Outcome::Success, 30)], &p);
        witnessed(&mut half, &p, Outcome::Success, 8, 0.5);
        assert_eq!(score(&p, 1.0, &half, T0).tier, 1);
        witnessed(&mut half, &p, Outcome::Success, 1, 0.5);
        assert_eq!(score(&p, 1.0, &half, T0).tier, 3);

        // Vouches that trace to the pre-trusted are proof too.
        let farmed = evidence(&[(Outcome::Success, 30)], &p);
        let vouched = |vouch| {
            let inputs = Inputs {
                identity_strength: 1.0,
                config: ConfigState::Approved,
                vouch,
                evidence: &farmed,
                registered_at: T0,
            };
            breakdown(&p, &inputs, T0).tier
        };
        assert_eq!(vouched(0.29), 1);
        assert!(vouched(0.3) >= 2);
    }

    #[test]
    fn a_credible_witnessed_violation_costs_at_least_a_tier_at_once() {
        let p = Policy::preset(Preset::Default);
        let mut e = evidence(&[(Outcome::Success, 100)], &p);
        witnessed(&mut e, &p, Outcome::Success, 30, 1.0);
        let before = score(&p, 1.0, &e, T0);
        assert_eq!(before.tier, 3);
        witnessed(&mut e, &p, Outcome::Violation, 1, 1.0);
        let after = score(&p, 1.0, &e, T0);
        assert!(
            after.tier < before.tier,
            "{} -> {}",
            before.tier,
            after.tier
        );
        assert!(
            after
                .proof
                .reason
                .as_deref()
                .unwrap()
                .contains("witnessed violation")
        );
        // The penalty fades with the behaviour half-life (proof fades too: 30 proven points
        // are still 7.3 two half-lives on, above 4.5).
        let later = T0.plus_secs(86_400 * 61);
        let b = score(&p, 1.0, &e, later);
        assert_eq!(b.proof.capped_at_tier, None, "{:?}", b.proof);
        // A witness nobody trusts costs nothing.
        let mut e = evidence(&[(Outcome::Success, 100)], &p);
        witnessed(&mut e, &p, Outcome::Success, 10, 1.0);
        witnessed(&mut e, &p, Outcome::Violation, 1, 0.0);
        assert_eq!(score(&p, 1.0, &e, T0).tier, 3);
    }

    /// A decision's score is the breakdown's composite and tier, whatever held or decayed
    /// it: cold, capped unproven, proven, held by a witnessed violation, drifted, vouched,
    /// idle for a year, under each preset.
    #[test]
    fn the_decision_score_is_the_breakdowns() {
        let mut seen = std::collections::HashSet::new();
        for preset in [Preset::Default, Preset::GatewayV2] {
            let p = Policy::preset(preset);
            let mut histories = vec![
                evidence(&[(Outcome::Success, 3)], &p),
                evidence(&[(Outcome::Success, 200)], &p),
                evidence(&[(Outcome::Success, 7), (Outcome::Failure, 2)], &p),
            ];
            let mut proven = evidence(&[(Outcome::Success, 30)], &p);
            witnessed(&mut proven, &p, Outcome::Success, 30, 1.0);
            histories.push(proven.clone());
            witnessed(&mut proven, &p, Outcome::Violation, 1, 1.0);
            histories.push(proven);
            for e in &histories {
                for config in [ConfigState::Approved, ConfigState::Drifted] {
                    for (vouch, days) in [(0.0, 0), (0.5, 13), (0.0, 365)] {
                        let inputs = Inputs {
                            identity_strength: 0.9,
                            config,
                            vouch,
                            evidence: e,
                            registered_at: T0,
                        };
                        let now = T0.plus_secs(days * 86_400 + 7);
                        let b = breakdown(&p, &inputs, now);
                        let s = crate::score(&p, &inputs, now);
                        assert_eq!((s.composite, s.tier), (b.composite, b.tier));
                        seen.insert((b.tier, b.proof.capped_at_tier, b.cold_start));
                    }
                }
            }
        }
        // The cases reach every tier, both holds and a cold start.
        let tiers: std::collections::HashSet<u8> = seen.iter().map(|s| s.0).collect();
        assert_eq!(tiers.len(), 4, "{seen:?}");
        assert!(seen.iter().any(|s| s.1 == Some(1)), "{seen:?}");
        assert!(seen.iter().any(|s| s.1.is_some_and(|t| t > 1)), "{seen:?}");
        assert!(seen.iter().any(|s| s.2), "{seen:?}");
    }
}
