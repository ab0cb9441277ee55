//! Vouches between agents and trust anchors.

use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp, VouchId};
#[cfg(feature = "server")]
use tg_vouch::Vouch;

/// One agent vouching for another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VouchOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub vouch_id: VouchId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from_agent: AgentId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to_agent: AgentId,
    /// In (0, 1].
    pub weight: f64,
    pub note: Option<String>,
    /// The voucher's Ed25519 signature (base64), when given.
    pub signature: Option<String>,
    pub signed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[cfg(feature = "server")]
impl From<&Vouch> for VouchOut {
    fn from(v: &Vouch) -> Self {
        Self {
            vouch_id: v.id.clone(),
            from_agent: v.from_agent.clone(),
            to_agent: v.to_agent.clone(),
            weight: v.weight,
            note: v.note.clone(),
            signature: v.signature.clone(),
            signed: v.signature.is_some(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            revoked_at: v.revoked_at,
        }
    }
}

/// A page of an agent's vouches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VouchPage {
    pub agent_id: String,
    /// `received` or `given`.
    pub direction: String,
    pub vouches: Vec<VouchOut>,
    pub next_offset: Option<u32>,
}

/// Whether the agent is a trust anchor (its vouches count in full).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Anchor {
    pub agent_id: String,
    pub anchor: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VouchRequest {
    /// The voucher, an agent of the caller's account.
    #[cfg_attr(feature = "openapi", schema(pattern = "^ag_[0-9a-f]{24}$"))]
    pub from_agent: String,
    /// In (0, 1].
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1))]
    pub weight: f64,
    /// At most 500 characters; no control characters but newlines.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]{0,500}$")
    )]
    pub note: Option<String>,
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// `received` (vouches for the agent) or `given` (by it).
    #[serde(default = "received")]
    #[cfg_attr(
        feature = "openapi",
        param(default = "received", pattern = "^(received|given)$")
    )]
    pub direction: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 4294967295_u64, format = Int64))]
    pub offset: u32,
    #[serde(default = "crate::default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
}

pub fn received() -> String {
    "received".into()
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            direction: received(),
            offset: 0,
            limit: crate::default_page_limit(),
        }
    }
}
