//! Policy files (`POLICY_FILE`): TOML naming a preset and overriding parts of it. Behind the
//! `toml` feature, so an embedder that builds its policy in code links no TOML parser.

use std::collections::HashMap;

use serde::Deserialize;

use crate::policy::{BehaviorParams, Policy, PolicyError, Preset, ProofParams, Weights};
use crate::{ActionRule, Tiers};

impl Policy {
    /// Parses a policy file. It names a `preset` (default `default`) and overrides any of
    /// `weights`, `behavior`, `proof`, `trust_changed_delta`, `tiers` and `actions`:
    ///
    /// ```toml
    /// preset = "gateway-v2"
    /// trust_changed_delta = 0.1
    /// [behavior]
    /// cold_start_evidence = 3
    /// [actions.deploy]
    /// required_tier = 3
    /// min_score = 0.9
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::File(e.to_string()))?;
        let preset = match file.preset.as_deref() {
            None => Preset::Default,
            Some(name) => Preset::parse(name).ok_or_else(|| {
                PolicyError::File(format!(
                    "unknown preset `{name}`: expected gateway-v2, joy-v1 or default"
                ))
            })?,
        };
        let mut policy = Policy::preset(preset);
        if let Some(w) = file.weights {
            policy.weights = w;
        }
        if let Some(b) = file.behavior {
            policy.behavior = b;
        }
        if let Some(p) = file.proof {
            policy.proof = p;
        }
        if let Some(d) = file.trust_changed_delta {
            policy.trust_changed_delta = d;
        }
        if let Some(bands) = file.tiers {
            policy.tiers = Tiers::new(bands)?;
        }
        for (name, rule) in file.actions.unwrap_or_default() {
            policy.catalog.set(&name, rule, &policy.tiers)?;
        }
        policy.validate()?;
        Ok(policy)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    preset: Option<String>,
    weights: Option<Weights>,
    behavior: Option<BehaviorParams>,
    proof: Option<ProofParams>,
    trust_changed_delta: Option<f64>,
    tiers: Option<Vec<crate::TierBand>>,
    actions: Option<HashMap<String, ActionRule>>,
}
