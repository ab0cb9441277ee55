#![doc = include_str!("../README.md")]

mod authorize;
mod breakdown;
mod evidence;
mod permissions;
mod policy;
#[cfg(feature = "toml")]
mod policy_file;
mod score;
mod tiers;
mod words;

pub use authorize::{Decision, DenyReason, Standing, authorize, permitted_actions};
pub use breakdown::{Breakdown, Factor, Proof, breakdown};
pub use evidence::{Evidence, Source};
pub use permissions::ALL_ACTIONS;
pub use policy::{
    ActionRule, BehaviorParams, Catalog, Policy, PolicyError, Preset, ProofParams,
    TRUST_CHANGED_DELTA, Weights, validate_action_name,
};
pub use score::{
    ConfigState, FactorScores, Inputs, SCORE_DECIMALS, Score, round_to, rounded, score,
};
pub use tg_core::Outcome;
pub use tiers::{MAX_DESCRIPTION, TierBand, TierEdit, Tiers, TiersError};

/// Why a history point was written (DESIGN §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Registered,
    ActionRecorded,
    ConfigDrift,
    Vouch,
    DelegationOutcome,
    Attestation,
    Lifecycle,
    PolicyChange,
    Decay,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Registered => "registered",
            Trigger::ActionRecorded => "action_recorded",
            Trigger::ConfigDrift => "config_drift",
            Trigger::Vouch => "vouch",
            Trigger::DelegationOutcome => "delegation_outcome",
            Trigger::Attestation => "attestation",
            Trigger::Lifecycle => "lifecycle",
            Trigger::PolicyChange => "policy_change",
            Trigger::Decay => "decay",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "registered" => Trigger::Registered,
            "action_recorded" => Trigger::ActionRecorded,
            "config_drift" => Trigger::ConfigDrift,
            "vouch" => Trigger::Vouch,
            "delegation_outcome" => Trigger::DelegationOutcome,
            "attestation" => Trigger::Attestation,
            "lifecycle" => Trigger::Lifecycle,
            "policy_change" => Trigger::PolicyChange,
            "decay" => Trigger::Decay,
            _ => return None,
        })
    }
}
