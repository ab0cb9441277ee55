//! Wire shapes (V2-compatible field names).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tg_core::{AgentId, Outcome, Timestamp};
use tg_identity::{A2aProfile, AgentStatus, Attestation, AttestationType, VerificationLevel};
use tg_scoring::{Factor, TierBand};
use tg_service::{AuthorizeOutcome, TrustView};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub spiffe_id: Option<String>,
    pub config_hash: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub attestation: Option<Attestation>,
    /// Where the agent serves A2A; with it the gateway publishes its signed agent card.
    #[serde(default)]
    pub a2a: Option<A2aProfile>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestationRequest {
    pub attestation: Attestation,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRequest {
    pub agent_id: String,
    pub action: String,
    pub result: Outcome,
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorizeRequest {
    pub agent_id: String,
    pub action: String,
    /// Accepted for V2 compatibility and ignored by the decision (it is not evidence).
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest {
    pub agent_id: String,
    pub actions: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, Value>>,
}

/// An agent as every agent-returning endpoint shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentOut {
    #[schema(value_type = String, example = "ag_3f9a0c1d2e4b5a6978877665")]
    pub id: AgentId,
    pub name: String,
    pub provider: String,
    pub spiffe_id: Option<String>,
    pub config_hash: String,
    pub approved_config_hash: String,
    /// PEM SPKI of the agent's Ed25519 key, when it registered one.
    pub public_key: Option<String>,
    pub capabilities: Vec<String>,
    pub status: AgentStatus,
    /// Joy §2.3: 0 unverified, 1 claimed, 2 verified, 3 certified.
    #[schema(value_type = u8, minimum = 0, maximum = 3)]
    pub verification_level: VerificationLevel,
    pub badges: Vec<&'static str>,
    pub attestation_type: AttestationType,
    pub attestation_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub trust_score: f64,
    pub trust_tier: u8,
    pub tier_name: String,
    /// The A2A profile behind `GET /agents/{id}/agent-card.json`, if any.
    pub a2a: Option<A2aProfile>,
}

impl From<&TrustView> for AgentOut {
    fn from(v: &TrustView) -> Self {
        let a = &v.agent;
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            provider: a.provider.clone(),
            spiffe_id: a.spiffe_id.as_ref().map(ToString::to_string),
            config_hash: a.config_hash.clone(),
            approved_config_hash: a.approved_config_hash.clone(),
            public_key: a.public_key.clone(),
            capabilities: a.capabilities.clone(),
            status: a.status,
            verification_level: v.verification_level,
            badges: a.badges(v.computed_at),
            attestation_type: a.attestation_type,
            attestation_expires_at: a.attestation_expires_at,
            created_at: a.created_at,
            trust_score: v.breakdown.composite,
            trust_tier: v.breakdown.tier,
            tier_name: v.breakdown.tier_name.clone(),
            a2a: a.a2a.clone(),
        }
    }
}

/// The policy's factor weights.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Weights {
    pub identity: f64,
    pub config: f64,
    pub behavior: f64,
    pub vouch: f64,
    pub activity: f64,
}

/// How inactivity lowers the score.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Decay {
    pub multiplier: f64,
    pub days_inactive: f64,
}

/// A score explained factor by factor (V2 breakdown).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Breakdown {
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    pub identity_score: f64,
    pub config_score: f64,
    pub behavior_score: f64,
    pub vouch_score: f64,
    pub activity_score: f64,
    pub composite_score: f64,
    pub base_score: f64,
    pub tier: u8,
    pub tier_name: String,
    pub weights: Weights,
    pub factors: Vec<Factor>,
    pub cold_start: bool,
    pub evidence_count: u64,
    pub decay: Decay,
    pub last_activity: Option<Timestamp>,
    #[schema(value_type = u8, minimum = 0, maximum = 3)]
    pub verification_level: VerificationLevel,
    pub badges: Vec<&'static str>,
    pub attestation_type: AttestationType,
    pub attestation_expires_at: Option<Timestamp>,
    pub status: AgentStatus,
    /// The scoring policy preset in force.
    pub policy: &'static str,
    pub computed_at: Timestamp,
}

impl From<&TrustView> for Breakdown {
    fn from(v: &TrustView) -> Self {
        let b = &v.breakdown;
        let w = &v.policy.policy.weights;
        Self {
            agent_id: v.agent.id.clone(),
            identity_score: b.factors.identity,
            config_score: b.factors.config,
            behavior_score: b.factors.behavior,
            vouch_score: b.factors.vouch,
            activity_score: b.factors.activity,
            composite_score: b.composite,
            base_score: b.base_score,
            tier: b.tier,
            tier_name: b.tier_name.clone(),
            weights: Weights {
                identity: w.identity,
                config: w.config,
                behavior: w.behavior,
                vouch: w.vouch,
                activity: w.activity,
            },
            factors: b.explain.clone(),
            cold_start: b.cold_start,
            evidence_count: b.evidence_count,
            decay: Decay {
                multiplier: b.decay_multiplier,
                days_inactive: b.days_inactive,
            },
            last_activity: b.last_activity,
            verification_level: v.verification_level,
            badges: v.agent.badges(v.computed_at),
            attestation_type: v.agent.attestation_type,
            attestation_expires_at: v.agent.attestation_expires_at,
            status: v.agent.status,
            policy: v.policy.policy.preset.as_str(),
            computed_at: v.computed_at,
        }
    }
}

/// The V2 agent card's factor scores.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CardScores {
    pub identity_score: f64,
    pub config_score: f64,
    pub behavior_score: f64,
}

/// The V2 agent card: what a counterpart sees before trusting the agent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Card {
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    pub name: String,
    pub provider: String,
    pub spiffe_id: Option<String>,
    pub capabilities: Vec<String>,
    pub trust_score: f64,
    pub trust_tier: u8,
    pub tier_name: String,
    pub created_at: Timestamp,
    pub last_action_at: Option<Timestamp>,
    pub total_actions: u64,
    /// Successes over all recorded actions; null before the first.
    pub success_rate: Option<f64>,
    pub permitted_actions: Vec<String>,
    #[schema(value_type = u8, minimum = 0, maximum = 3)]
    pub verification_level: VerificationLevel,
    pub badges: Vec<&'static str>,
    pub status: AgentStatus,
    pub metadata: CardScores,
}

impl From<&TrustView> for Card {
    fn from(v: &TrustView) -> Self {
        let a = &v.agent;
        let e = &v.state.evidence;
        let total = e.count();
        Self {
            agent_id: a.id.clone(),
            name: a.name.clone(),
            provider: a.provider.clone(),
            spiffe_id: a.spiffe_id.as_ref().map(ToString::to_string),
            capabilities: a.capabilities.clone(),
            trust_score: v.breakdown.composite,
            trust_tier: v.breakdown.tier,
            tier_name: v.breakdown.tier_name.clone(),
            created_at: a.created_at,
            last_action_at: e.last_activity,
            total_actions: total,
            success_rate: (total != 0).then(|| e.successes as f64 / total as f64),
            permitted_actions: v.permitted_actions.clone(),
            verification_level: v.verification_level,
            badges: a.badges(v.computed_at),
            status: a.status,
            metadata: CardScores {
                identity_score: v.breakdown.factors.identity,
                config_score: v.breakdown.factors.config,
                behavior_score: v.breakdown.factors.behavior,
            },
        }
    }
}

/// One decision's numbers (shared by single and batch answers).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub current_tier: u8,
    pub required_tier: Option<u8>,
    pub current_score: f64,
    pub required_score: Option<f64>,
    /// `Authorized`, or why not.
    pub reason: &'static str,
}

impl From<&AuthorizeOutcome> for Decision {
    fn from(o: &AuthorizeOutcome) -> Self {
        Self {
            allowed: o.decision.allowed,
            current_tier: o.current_tier,
            required_tier: o.decision.required_tier,
            current_score: o.current_score,
            required_score: o.decision.required_score,
            reason: o.decision.reason(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Tiers<'a> {
    pub tiers: &'a [TierBand],
    pub version: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub min_score: f64,
}

/// An optional JSON body: empty means `T::default()`, anything else must parse (422 if not).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, crate::ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        crate::ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("invalid request body: {e}"),
        )
    })
}

/// Page size when a listing's `limit` is not given.
pub(crate) fn default_page_limit() -> u32 {
    100
}

/// `?offset=&limit=` of an offset-paged listing.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_page_limit")]
    #[param(default = 100)]
    pub limit: u32,
}

impl Page {
    /// The next page's offset when this page came back full.
    pub fn next_offset(&self, returned: usize) -> Option<u32> {
        (returned == self.limit as usize).then(|| self.offset.saturating_add(self.limit))
    }
}
