//! Proof of key possession and configuration reports.

use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicKeyRequest {
    /// PEM SPKI (`-----BEGIN PUBLIC KEY-----`).
    pub public_key: String,
    #[cfg_attr(feature = "openapi", schema(example = "Ed25519"))]
    pub key_algorithm: String,
}

/// A nonce the agent signs to prove it holds its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenge {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub nonce: String,
    pub expires_at: Timestamp,
    pub ttl_seconds: i64,
    #[cfg_attr(feature = "openapi", schema(example = "Ed25519"))]
    pub algorithm: String,
    /// What to sign, in words.
    pub sign: String,
}

/// A single-use nonce an X509-SVID's key signs to prove possession (`POST
/// /attestation/nonce`): put it and the signature in the x509 attestation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttestationNonce {
    pub nonce: String,
    /// Seconds it stays valid (120).
    pub expires_in: i64,
}

/// The signed nonce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChallengeAnswer {
    pub nonce: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// Optional: the hash to report or approve (default: the one last reported).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfigHashRequest {
    /// 1–256 characters without control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,256}$")
    )]
    pub config_hash: Option<String>,
}

/// `POST /agents/{id}/config`: the hash the agent runs now.
#[cfg(feature = "openapi")]
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documents the body `ConfigHashRequest` must then carry.
pub struct ConfigReport {
    /// 1–256 characters without control characters.
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,256}$")]
    pub config_hash: String,
}
