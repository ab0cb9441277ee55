//! Agents: registration, listings, trust breakdowns, V2 cards, history and tokens.

use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp};
use tg_identity::{
    A2aProfile, AgentStatus, Attestation, AttestationType, SuspensionAuthor, VerificationLevel,
};
use tg_joy::TrustResult;
use tg_scoring::{Factor, Trigger};

/// The V2 breakdown with Joy's evidence fields beside it (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustBreakdown {
    #[serde(flatten)]
    pub breakdown: Breakdown,
    /// Joy's `tier`: the owning account's plan.
    pub plan: tg_access::Plan,
    /// Joy's 0–5 score (`trust_result.trust_score`), to three places. Named apart so that
    /// `trust_score` means the 0–1 score everywhere outside a `TrustResult`.
    pub joy_score: f64,
    pub verified: bool,
    pub vouch_count: u64,
    pub withheld: bool,
    pub trust_result: TrustResult,
    /// The agent's state version this answer was read at.
    pub state_version: u64,
}

/// `GET /agents/{id}/trust` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TrustQuery {
    /// Read-your-writes: answer on the agent's state at this version or a later one (a
    /// `state_version` from an earlier answer or write). A version never written is 409.
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 0, maximum = 9223372036854775807_i64)
    )]
    pub min_state_version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DiscoverQuery {
    /// Matched against names and capabilities.
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 128))]
    pub query: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 4294967295_u64, format = Int64))]
    pub offset: u32,
    #[serde(default = "default_discover_limit")]
    #[cfg_attr(feature = "openapi", param(default = 20, minimum = 1, maximum = 100))]
    pub limit: u32,
}

/// A page of agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentPage {
    pub agents: Vec<AgentOut>,
    pub offset: u32,
    pub limit: u32,
    /// The next page's offset; null on the last page.
    pub next_offset: Option<u32>,
}

pub fn default_discover_limit() -> u32 {
    20
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Admin keys only: one account's agents (default: every account's).
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(acct_[0-9a-f]{24})?$"))]
    pub account: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 4294967295_u64, format = Int64))]
    pub offset: u32,
    #[serde(default = "crate::default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct HistoryQuery {
    #[serde(default = "crate::default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
}

/// An agent's score over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct History {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub history: Vec<HistoryPoint>,
}

/// One point of an agent's score history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPoint {
    pub timestamp: Timestamp,
    pub composite_score: f64,
    pub tier: u8,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TokenQuery {
    /// Lifetime in seconds.
    #[serde(default = "default_expires_in")]
    #[cfg_attr(
        feature = "openapi",
        param(default = 3600, minimum = 60, maximum = 86400)
    )]
    pub expires_in: i64,
}

/// A signed EdDSA JWT carrying the agent's tier and permitted actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenGrant {
    /// Compact JWS; verify it offline with `/.well-known/jwks.json`.
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(example = "Bearer"))]
    pub token_type: String,
    pub expires_in: i64,
    pub expires_at: Timestamp,
    pub jti: String,
    #[cfg_attr(feature = "openapi", schema(example = "EdDSA"))]
    pub alg: String,
    pub tier: u8,
    pub trust_score: f64,
    pub permitted_actions: Vec<String>,
}

pub fn default_expires_in() -> i64 {
    3600
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    pub attestation: Attestation,
}

/// An agent as every agent-returning endpoint shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ag_3f9a0c1d2e4b5a6978877665"))]
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
    /// Who suspended it (`owner` or `operator`), while it is suspended. Only the operator
    /// reactivates an agent the operator suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_by: Option<SuspensionAuthor>,
    /// Joy §2.3: 0 unverified, 1 claimed, 2 verified, 3 certified.
    #[cfg_attr(feature = "openapi", schema(value_type = u8, minimum = 0, maximum = 3))]
    pub verification_level: VerificationLevel,
    pub badges: Vec<String>,
    pub attestation_type: AttestationType,
    pub attestation_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The 0–1 composite score (V2's `composite_score`; the same figure).
    pub trust_score: f64,
    pub trust_tier: u8,
    pub tier_name: String,
    /// V2's name for `trust_score`.
    pub composite_score: f64,
    /// V2's name for `trust_tier`.
    pub tier: u8,
    /// The A2A profile behind `GET /agents/{id}/agent-card.json`, if any.
    pub a2a: Option<A2aProfile>,
    /// The agent's state version: raised by every write that changes what decisions and
    /// trust reads see of it. Send it as `min_state_version` to read your writes.
    pub state_version: u64,
}

/// The policy's factor weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weights {
    pub identity: f64,
    pub config: f64,
    pub behavior: f64,
    pub vouch: f64,
    pub activity: f64,
}

/// How inactivity lowers the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decay {
    pub multiplier: f64,
    pub days_inactive: f64,
}

/// A score explained factor by factor (V2 breakdown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
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
    /// Evidence counts by provenance, and whether the policy's proof rule held the score
    /// (`capped_at_tier`, `reason`).
    pub proof: tg_scoring::Proof,
    #[cfg_attr(feature = "openapi", schema(value_type = u8, minimum = 0, maximum = 3))]
    pub verification_level: VerificationLevel,
    pub badges: Vec<String>,
    pub attestation_type: AttestationType,
    pub attestation_expires_at: Option<Timestamp>,
    pub status: AgentStatus,
    /// The scoring policy preset in force.
    pub policy: String,
    pub computed_at: Timestamp,
}

/// The V2 agent card's factor scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardScores {
    pub identity_score: f64,
    pub config_score: f64,
    pub behavior_score: f64,
}

/// The V2 agent card: what a counterpart sees before trusting the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = u8, minimum = 0, maximum = 3))]
    pub verification_level: VerificationLevel,
    pub badges: Vec<String>,
    pub status: AgentStatus,
    pub metadata: CardScores,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub min_score: f64,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            account: None,
            offset: 0,
            limit: crate::default_page_limit(),
        }
    }
}

impl Default for HistoryQuery {
    fn default() -> Self {
        Self {
            limit: crate::default_page_limit(),
        }
    }
}

impl Default for TokenQuery {
    fn default() -> Self {
        Self {
            expires_in: default_expires_in(),
        }
    }
}

impl RegisterRequest {
    /// A registration with no capabilities, SPIFFE ID, attestation or A2A profile; set the
    /// fields for more.
    pub fn new(
        name: impl Into<String>,
        provider: impl Into<String>,
        config_hash: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            provider: provider.into(),
            spiffe_id: None,
            config_hash: config_hash.into(),
            capabilities: Vec::new(),
            attestation: None,
            a2a: None,
        }
    }
}
