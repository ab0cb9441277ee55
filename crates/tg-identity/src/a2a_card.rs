//! A2A v1.0 agent cards (`GET /agents/{id}/agent-card.json`) with the trust extension: the
//! card's JSON form. The gateway builds and signs them (`tg-service`'s `agent_card`).

use crate::AgentStatus;
use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp};

/// The URI of the extension carrying the trust data.
pub const TRUST_EXTENSION: &str = "urn:trust-gateway:a2a:trust:v1";

/// A2A v1.0 `AgentCard` (JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentCard {
    pub name: String,
    pub description: String,
    pub supported_interfaces: Vec<AgentInterface>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<AgentProvider>,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    pub capabilities: AgentCapabilities,
    pub default_input_modes: Vec<String>,
    pub default_output_modes: Vec<String>,
    pub skills: Vec<AgentSkill>,
    /// JWS signatures over the canonical card without this field.
    pub signatures: Vec<tg_tokens::DetachedSignature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentInterface {
    pub url: String,
    /// `JSONRPC`, `GRPC` or `HTTP+JSON`.
    pub protocol_binding: String,
    pub protocol_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentProvider {
    pub url: String,
    pub organization: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCapabilities {
    pub extensions: Vec<AgentExtension>,
}

/// The trust extension: `uri` is [`TRUST_EXTENSION`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentExtension {
    pub uri: String,
    pub description: String,
    pub params: TrustParams,
}

/// The agent's trust as the gateway saw it at `issued_at`; not to be relied on after
/// `expires_at`. Empty lists are left out (A2A canonicalisation drops them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustParams {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub trust_score: f64,
    pub trust_tier: u8,
    pub tier_name: String,
    /// Joy §2.3: 0 unverified, 1 claimed, 2 verified, 3 certified.
    pub verification_level: u8,
    pub badges: Vec<String>,
    pub status: AgentStatus,
    pub permitted_actions: Vec<String>,
    /// The gateway (`GATEWAY_ISSUER`), whose JWKS verifies the signature.
    pub issuer: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSkill {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}
