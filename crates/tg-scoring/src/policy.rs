use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::tiers::{Tiers, TiersError};

/// Weight of each factor in the composite. Non-negative, summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub identity: f64,
    pub config: f64,
    pub behavior: f64,
    pub vouch: f64,
    pub activity: f64,
}

impl Weights {
    fn validate(&self) -> Result<(), PolicyError> {
        let all = [
            self.identity,
            self.config,
            self.behavior,
            self.vouch,
            self.activity,
        ];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(PolicyError::Weights(
                "every weight must be a finite number ≥ 0".into(),
            ));
        }
        let sum: f64 = all.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(PolicyError::Weights(format!(
                "weights must sum to 1, they sum to {sum}"
            )));
        }
        Ok(())
    }
}

/// What an action requires: a tier and a minimum composite score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    pub required_tier: u8,
    pub min_score: f64,
}

/// The action catalog: action name → rule. Unknown actions are denied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    rules: HashMap<String, ActionRule>,
}

impl Catalog {
    pub fn get(&self, action: &str) -> Option<&ActionRule> {
        self.rules.get(action)
    }

    /// Inserts or replaces a rule after checking it.
    pub fn set(
        &mut self,
        action: &str,
        rule: ActionRule,
        tiers: &Tiers,
    ) -> Result<(), PolicyError> {
        validate_action_name(action)?;
        if !(0.0..=1.0).contains(&rule.min_score) {
            return Err(PolicyError::Action(format!(
                "`{action}`: min_score must be within [0, 1]"
            )));
        }
        if tiers.band(rule.required_tier).is_none() {
            return Err(PolicyError::Action(format!(
                "`{action}`: required_tier {} is not a configured tier",
                rule.required_tier
            )));
        }
        self.rules.insert(action.to_owned(), rule);
        Ok(())
    }

    /// Removes a rule: the action is denied from then on. Returns the rule it had.
    pub fn remove(&mut self, action: &str) -> Option<ActionRule> {
        self.rules.remove(action)
    }

    /// All entries, sorted by name.
    pub fn entries(&self) -> Vec<(&str, ActionRule)> {
        let mut all: Vec<_> = self.rules.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Action names: 1–64 characters of `a-z`, `0-9`, `_`, `.`, `-`.
pub fn validate_action_name(action: &str) -> Result<(), PolicyError> {
    let ok = !action.is_empty()
        && action.len() <= 64
        && action.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.' || b == b'-'
        });
    if ok {
        Ok(())
    } else {
        Err(PolicyError::Action(format!(
            "action name `{}` must be 1–64 characters of a-z, 0-9, `_`, `.`, `-`",
            action.chars().take(80).collect::<String>()
        )))
    }
}

/// Behaviour, activity, decay and cold-start parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviorParams {
    /// Half-life of a receipt's weight in the behaviour factor.
    pub half_life_days: f64,
    /// Half-life of a receipt's weight in the engagement half of the activity factor.
    pub activity_half_life_days: f64,
    /// How many failures one violation counts as.
    pub violation_weight: f64,
    /// Beta prior: pseudo-successes and pseudo-failures before any evidence.
    pub prior_success: f64,
    pub prior_failure: f64,
    /// Engagement at which the activity factor reaches 0.5.
    pub engagement_midpoint: f64,
    /// Multiplicative decay per period of inactivity (Joy §3.4: 0.95 per 30 days).
    pub decay_rate: f64,
    pub decay_period_days: f64,
    /// Evidence points before the cold-start score is lifted.
    pub cold_start_evidence: u64,
    pub cold_start_score: f64,
    /// |Δ composite| at or above which `trust_changed` fires.
    pub trust_changed_delta: f64,
}

impl Default for BehaviorParams {
    fn default() -> Self {
        Self {
            half_life_days: 30.0,
            activity_half_life_days: 30.0,
            violation_weight: 10.0,
            prior_success: 1.0,
            prior_failure: 1.0,
            engagement_midpoint: 10.0,
            decay_rate: 0.95,
            decay_period_days: 30.0,
            cold_start_evidence: 5,
            cold_start_score: 0.1,
            trust_changed_delta: 0.05,
        }
    }
}

impl BehaviorParams {
    fn validate(&self) -> Result<(), PolicyError> {
        let positive = [
            self.half_life_days,
            self.activity_half_life_days,
            self.violation_weight,
            self.prior_success,
            self.prior_failure,
            self.engagement_midpoint,
            self.decay_period_days,
        ];
        if positive.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(PolicyError::Behavior(
                "half-lives, weights, priors and periods must be > 0".into(),
            ));
        }
        if !(self.decay_rate > 0.0 && self.decay_rate <= 1.0) {
            return Err(PolicyError::Behavior(
                "decay_rate must be within (0, 1]".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.cold_start_score)
            || !(0.0..=1.0).contains(&self.trust_changed_delta)
        {
            return Err(PolicyError::Behavior(
                "cold_start_score and trust_changed_delta must be within [0, 1]".into(),
            ));
        }
        Ok(())
    }
}

/// What the score demands of proof (DESIGN §15, docs/TRUST-MODEL.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProofParams {
    /// The highest tier an agent reaches on evidence only its own account reported; `None`
    /// lifts no cap (V2's arithmetic).
    pub unproven_tier_cap: Option<u8>,
    /// Credibility-weighted witnessed and delegation evidence (`weighted_proven`) that
    /// lifts the cap.
    pub proven_evidence: f64,
    /// A vouch factor at or above which the cap is lifted too: vouches count only when
    /// they trace to pre-trusted agents, so this is proof by someone trusted.
    pub proven_vouch: f64,
    /// While credibility-weighted witnessed violations (decayed) are at least this, the
    /// agent stands one tier below its score's; `None` adds no such penalty.
    pub witnessed_violation_penalty: Option<f64>,
}

impl ProofParams {
    /// Everything counts as it did in V2: no cap, no penalty.
    pub const NONE: ProofParams = ProofParams {
        unproven_tier_cap: None,
        proven_evidence: 0.0,
        proven_vouch: 0.0,
        witnessed_violation_penalty: None,
    };

    /// Self-reports alone reach tier 1 at most. 4.5 credibility-weighted proven points
    /// lift that (five recent reports by fully credible witnesses: the sum decays with the
    /// behaviour half-life, so five reports are worth 4.5 for about four days and need
    /// renewing), or vouches tracing to the pre-trusted (factor ≥ 0.3). A credible
    /// witnessed violation costs a tier for about a half-life.
    pub const REQUIRED: ProofParams = ProofParams {
        unproven_tier_cap: Some(1),
        proven_evidence: 4.5,
        proven_vouch: 0.3,
        witnessed_violation_penalty: Some(0.25),
    };

    fn validate(&self) -> Result<(), PolicyError> {
        let ok = self.proven_evidence.is_finite()
            && self.proven_evidence >= 0.0
            && (0.0..=1.0).contains(&self.proven_vouch)
            && self
                .witnessed_violation_penalty
                .is_none_or(|p| p.is_finite() && p > 0.0);
        if ok {
            Ok(())
        } else {
            Err(PolicyError::Proof(
                "proven_evidence must be ≥ 0, proven_vouch within [0, 1], witnessed_violation_penalty > 0".into(),
            ))
        }
    }
}

impl Default for ProofParams {
    fn default() -> Self {
        ProofParams::REQUIRED
    }
}

/// The named starting points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    #[serde(rename = "gateway-v2")]
    GatewayV2,
    #[serde(rename = "joy-v1")]
    JoyV1,
    #[serde(rename = "default")]
    Default,
}

impl Preset {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gateway-v2" => Some(Preset::GatewayV2),
            "joy-v1" => Some(Preset::JoyV1),
            "default" => Some(Preset::Default),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::GatewayV2 => "gateway-v2",
            Preset::JoyV1 => "joy-v1",
            Preset::Default => "default",
        }
    }
}

/// The whole scoring and authorization policy. Plain data; see [`Policy::preset`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub preset: Preset,
    pub weights: Weights,
    pub tiers: Tiers,
    pub catalog: Catalog,
    pub behavior: BehaviorParams,
    pub proof: ProofParams,
    /// A composite move at least this large is a `trust_changed` event (V2: "changed
    /// significantly"). In (0, 1]; default [`TRUST_CHANGED_DELTA`].
    pub trust_changed_delta: f64,
}

/// The default `trust_changed_delta`.
pub const TRUST_CHANGED_DELTA: f64 = 0.05;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("invalid weights: {0}")]
    Weights(String),
    #[error("invalid action rule: {0}")]
    Action(String),
    #[error("invalid behaviour parameters: {0}")]
    Behavior(String),
    #[error("invalid proof parameters: {0}")]
    Proof(String),
    #[error(transparent)]
    Tiers(#[from] TiersError),
    #[error("invalid policy file: {0}")]
    File(String),
}

/// The V2 catalog plus the seed's own examples (DESIGN §7, §14).
const DEFAULT_ACTIONS: &[(&str, u8, f64)] = &[
    ("read_config", 0, 0.0),
    ("view_status", 0, 0.0),
    ("send_notification", 1, 0.2),
    ("read_data", 1, 0.2),
    ("read_inbox", 1, 0.2),
    ("write_data", 2, 0.5),
    ("call_api", 2, 0.5),
    ("send_email", 2, 0.5),
    ("query_db", 2, 0.5),
    ("delete_data", 3, 0.8),
    ("delete_file", 3, 0.8),
    ("delete_database", 3, 0.9),
    ("admin_action", 3, 0.85),
];

impl Policy {
    pub fn preset(preset: Preset) -> Self {
        let weights = match preset {
            // The V2 engine: identity 0.3, config 0.2, behaviour 0.5.
            Preset::GatewayV2 => Weights {
                identity: 0.3,
                config: 0.2,
                behavior: 0.5,
                vouch: 0.0,
                activity: 0.0,
            },
            // Joy §3.3: vouch 40 %, behaviour 30 %, identity 20 %, activity 10 %.
            Preset::JoyV1 => Weights {
                identity: 0.2,
                config: 0.0,
                behavior: 0.3,
                vouch: 0.4,
                activity: 0.1,
            },
            // All five. Behaviour leads (what an agent does outweighs what it claims); vouches
            // are a bonus worth 0.1, so an agent nobody vouches for can still reach tier 3
            // (0.9 max) on identity, config and behaviour; activity keeps idle agents honest.
            Preset::Default => Weights {
                identity: 0.25,
                config: 0.15,
                behavior: 0.45,
                vouch: 0.1,
                activity: 0.05,
            },
        };
        let tiers = Tiers::v2_default();
        let mut rules = HashMap::new();
        for (name, tier, min) in DEFAULT_ACTIONS {
            rules.insert(
                (*name).to_owned(),
                ActionRule {
                    required_tier: *tier,
                    min_score: *min,
                },
            );
        }
        Policy {
            preset,
            weights,
            tiers,
            catalog: Catalog { rules },
            behavior: BehaviorParams::default(),
            trust_changed_delta: TRUST_CHANGED_DELTA,
            // V2 counted every receipt alike; the others count what someone proved.
            proof: match preset {
                Preset::GatewayV2 => ProofParams::NONE,
                Preset::JoyV1 | Preset::Default => ProofParams::REQUIRED,
            },
        }
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        self.weights.validate()?;
        self.behavior.validate()?;
        self.proof.validate()?;
        if !(self.trust_changed_delta > 0.0 && self.trust_changed_delta <= 1.0) {
            return Err(PolicyError::File(format!(
                "trust_changed_delta must be in (0, 1], not {}",
                self.trust_changed_delta
            )));
        }
        if let Some(cap) = self.proof.unproven_tier_cap
            && self.tiers.band(cap).is_none()
        {
            return Err(PolicyError::Proof(format!(
                "unproven_tier_cap {cap} is not a configured tier"
            )));
        }
        for (name, rule) in self.catalog.entries() {
            if self.tiers.band(rule.required_tier).is_none() {
                return Err(PolicyError::Action(format!(
                    "`{name}` requires unknown tier {}",
                    rule.required_tier
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_changed_delta_is_configurable_within_bounds() {
        assert_eq!(
            Policy::preset(Preset::Default).trust_changed_delta,
            TRUST_CHANGED_DELTA
        );
        let p = Policy::from_toml_str("trust_changed_delta = 0.1").unwrap();
        assert_eq!(p.trust_changed_delta, 0.1);
        for bad in ["0.0", "-0.1", "1.5", "nan"] {
            let text = format!("trust_changed_delta = {bad}");
            assert!(Policy::from_toml_str(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_are_valid_and_carry_their_documented_weights() {
        for preset in [Preset::GatewayV2, Preset::JoyV1, Preset::Default] {
            assert_eq!(Policy::preset(preset).validate(), Ok(()), "{preset:?}");
        }
        let joy = Policy::preset(Preset::JoyV1).weights;
        assert_eq!(
            (joy.vouch, joy.behavior, joy.identity, joy.activity),
            (0.4, 0.3, 0.2, 0.1)
        );
        let v2 = Policy::preset(Preset::GatewayV2).weights;
        assert_eq!((v2.identity, v2.config, v2.behavior), (0.3, 0.2, 0.5));
    }

    #[test]
    fn default_catalog_matches_the_design() {
        let p = Policy::preset(Preset::Default);
        let rule = |a: &str| p.catalog.get(a).map(|r| (r.required_tier, r.min_score));
        assert_eq!(rule("read_config"), Some((0, 0.0)));
        assert_eq!(rule("read_inbox"), Some((1, 0.2)));
        assert_eq!(rule("query_db"), Some((2, 0.5)));
        assert_eq!(rule("delete_database"), Some((3, 0.9)));
        assert_eq!(rule("admin_action"), Some((3, 0.85)));
        assert_eq!(rule("launch_missiles"), None);
        assert_eq!(p.catalog.len(), 13);
    }

    #[test]
    fn toml_overrides_a_preset() {
        let p = Policy::from_toml_str(
            "preset = \"gateway-v2\"\n[behavior]\ncold_start_evidence = 3\n[actions.deploy]\nrequired_tier = 3\nmin_score = 0.9\n",
        );
        let p = match p {
            Ok(p) => p,
            Err(e) => unreachable!("{e}"),
        };
        assert_eq!(p.preset, Preset::GatewayV2);
        assert_eq!(p.behavior.cold_start_evidence, 3);
        assert_eq!(
            p.catalog.get("deploy"),
            Some(&ActionRule {
                required_tier: 3,
                min_score: 0.9
            })
        );
        assert!(p.catalog.get("send_email").is_some(), "preset catalog kept");
    }

    #[test]
    fn toml_errors_are_clear() {
        let bad = |text: &str| {
            Policy::from_toml_str(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(bad("preset = \"nope\"").contains("unknown preset `nope`"));
        assert!(
            bad("[weights]\nidentity=1\nconfig=1\nbehavior=0\nvouch=0\nactivity=0")
                .contains("sum to 1")
        );
        assert!(
            bad("[actions.x]\nrequired_tier = 9\nmin_score = 0.1")
                .contains("not a configured tier")
        );
        assert!(bad("colour = 3").contains("unknown field"));
    }
}
