//! Joy Trust Protocol §3.2: the `TrustResult` a relying party asks for, on its 0–5 scale.
//! It never fails open: unknown, ambiguous, suspended or unreadable agents answer
//! `meets_threshold: false` with `error` set.
#![doc = include_str!("../README.md")]

use tg_access::Plan;
use tg_core::{AgentId, Timestamp};

/// Joy's 0–5 scale.
pub const JOY_SCALE: f64 = 5.0;

/// Joy scores are reported, and compared with thresholds, to this many decimals.
pub const JOY_DECIMALS: i32 = 3;

/// Joy §3.2 `provider`.
pub const PROVIDER: &str = "trust-gateway";

/// Joy §3.2 `TrustResult`, serialised as it is on the wire.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustResult {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub trust_score: f64,
    pub verified: bool,
    pub meets_threshold: bool,
    pub threshold_used: f64,
    pub vouch_count: u64,
    pub evidence_count: u64,
    pub capabilities: Vec<String>,
    /// The owning account's plan (`free | pro | enterprise`).
    pub tier: Option<Plan>,
    pub badges: Vec<String>,
    pub last_activity: Option<Timestamp>,
    pub withheld: bool,
    pub error: Option<String>,
    pub provider: String,
    pub provider_version: String,
}

impl TrustResult {
    /// A denial: nothing is known (or may be said) about the agent beyond `error`.
    pub fn denied(
        threshold: f64,
        agent_id: Option<AgentId>,
        agent_name: Option<String>,
        error: String,
    ) -> Self {
        Self {
            agent_id,
            agent_name,
            trust_score: 0.0,
            verified: false,
            meets_threshold: false,
            threshold_used: threshold,
            vouch_count: 0,
            evidence_count: 0,
            capabilities: vec![],
            tier: None,
            badges: vec![],
            last_activity: None,
            withheld: true,
            error: Some(error),
            provider: PROVIDER.to_owned(),
            provider_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}
