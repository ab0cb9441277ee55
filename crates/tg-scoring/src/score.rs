//! The numbers of a score: its factors, the composite after decay and the proof rule, and
//! the tier. A decision needs only these; [`crate::breakdown`] explains them in words.

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

/// How far below the next tier's lower bound a held score stands.
pub const HELD_BELOW: f64 = 0.001;

/// Scores on the 0–1 scale are reported, and decided, to this many decimals.
pub const SCORE_DECIMALS: i32 = 4;

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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FactorScores {
    pub identity: f64,
    pub config: f64,
    pub behavior: f64,
    pub vouch: f64,
    pub activity: f64,
}

/// What a decision is made on: the effective composite in [0, 1] and its tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub composite: f64,
    pub tier: u8,
}

/// Why the proof rule held a score below its own tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Hold {
    /// No proven evidence and no vouches from the pre-trusted: held at the policy's cap.
    Unproven,
    /// A fresh, credible witnessed violation: held one tier below the score's own.
    WitnessedViolation,
}

/// A score with every intermediate figure [`crate::breakdown`] reports.
#[derive(Debug, Clone)]
pub(crate) struct Computed {
    /// The evidence decayed to `now`.
    pub(crate) evidence: Evidence,
    /// Unrounded.
    pub(crate) factors: FactorScores,
    /// Σ weight × factor, before decay, unrounded.
    pub(crate) base_score: f64,
    pub(crate) decay_multiplier: f64,
    pub(crate) days_inactive: f64,
    pub(crate) cold_start: bool,
    /// Whether proof lifts the policy's cap on unproven agents.
    pub(crate) proven: bool,
    /// The tier the proof rule held the score at, and why.
    pub(crate) held: Option<(u8, Hold)>,
    pub(crate) score: Score,
}

/// The score at `now`: what a decision needs, without the explanation. Pure and
/// deterministic; equal to the composite and tier of [`crate::breakdown`].
pub fn score(policy: &Policy, inputs: &Inputs<'_>, now: Timestamp) -> Score {
    compute(policy, inputs, now).score
}

pub(crate) fn compute(policy: &Policy, inputs: &Inputs<'_>, now: Timestamp) -> Computed {
    let params = &policy.behavior;
    let w = &policy.weights;
    let ev = inputs.evidence.decayed(now, params);

    let config = match inputs.config {
        ConfigState::Approved => 1.0,
        ConfigState::Drifted => DRIFTED_CONFIG_SCORE,
    };
    let positive = ev.weighted_success + params.prior_success;
    let negative = ev.weighted_failure
        + params.violation_weight * ev.weighted_violation
        + params.prior_failure;
    let factors = FactorScores {
        identity: unit(inputs.identity_strength),
        config,
        behavior: unit(positive / (positive + negative)),
        vouch: unit(inputs.vouch),
        activity: unit(ev.engagement / (ev.engagement + params.engagement_midpoint)),
    };
    let base_score = unit(
        factors.identity * w.identity
            + factors.config * w.config
            + factors.behavior * w.behavior
            + factors.vouch * w.vouch
            + factors.activity * w.activity,
    );

    let last_seen = ev
        .last_activity
        .unwrap_or(inputs.registered_at)
        .max(inputs.registered_at);
    let days_inactive = now.days_since(last_seen);
    let decay_multiplier = params
        .decay_rate
        .powf(days_inactive / params.decay_period_days);
    let cold_start = ev.count() < params.cold_start_evidence;
    let composite = if cold_start {
        params.cold_start_score
    } else {
        unit(base_score * decay_multiplier)
    };
    // Decided on the figure that is reported, so a threshold equal to a score just read
    // meets it.
    let (proven, held, composite) = prove(policy, &ev, factors.vouch, rounded(composite));
    let composite = rounded(composite);
    let tier = policy.tiers.tier_for(composite).tier;
    Computed {
        evidence: ev,
        factors,
        base_score,
        decay_multiplier,
        days_inactive,
        cold_start,
        proven,
        held,
        score: Score { composite, tier },
    }
}

/// Holds the composite below the band above the tier the proof rule allows:
/// - without proof (proven evidence or vouches from the pre-trusted), at the policy's
///   `unproven_tier_cap`;
/// - while a credible witnessed violation is fresh, one tier below the score's own.
///
/// Answers whether the agent is proven, where it was held and why, and the composite.
fn prove(
    policy: &Policy,
    ev: &Evidence,
    vouch: f64,
    composite: f64,
) -> (bool, Option<(u8, Hold)>, f64) {
    let rule = &policy.proof;
    let proven = rule.unproven_tier_cap.is_none()
        || ev.weighted_proven >= rule.proven_evidence
        || vouch >= rule.proven_vouch;
    let mut ceiling = match rule.unproven_tier_cap {
        Some(cap) if !proven => Some((cap, Hold::Unproven)),
        _ => None,
    };
    if let Some(threshold) = rule.witnessed_violation_penalty
        && ev.weighted_witnessed_violation >= threshold
    {
        let lowered = policy.tiers.tier_for(composite).tier.saturating_sub(1);
        if ceiling.is_none_or(|(t, _)| lowered < t) {
            ceiling = Some((lowered, Hold::WitnessedViolation));
        }
    }
    if let Some((tier, _)) = ceiling
        && let Some(band) = policy.tiers.band(tier)
        && composite >= band.max_score
        && policy
            .tiers
            .bands()
            .last()
            .is_some_and(|top| top.tier != tier)
    {
        // Bands are [min, max): held a thousandth below the next band (a figure that reads
        // as below it when shown to three places), or at the band's floor if it is narrower.
        let held = (band.max_score - HELD_BELOW).max(band.min_score);
        return (proven, ceiling, held);
    }
    (proven, None, composite)
}

/// `x` to [`SCORE_DECIMALS`] places.
pub fn rounded(x: f64) -> f64 {
    round_to(x, SCORE_DECIMALS)
}

/// `x` to `places` decimals (half away from zero).
pub fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}
