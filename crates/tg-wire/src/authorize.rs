//! Authorization decisions, single and batch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tg_core::AgentId;

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Authorized {
    #[serde(flatten)]
    pub decision: Decision,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub action: String,
    /// The agent's state version the decision was made on; pass it (or a write's) as
    /// `min_state_version` to be answered on that state or a later one.
    pub state_version: u64,
}

/// Several decisions for one agent, by action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAuthorized {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub results: BTreeMap<String, Decision>,
    pub allowed_count: usize,
    pub denied_count: usize,
    /// The agent's state version the decisions were made on.
    pub state_version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    pub agent_id: String,
    /// A catalog action name: 1–64 of `a-z`, `0-9`, `_`, `.`, `-`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_.-]{1,64}$"))]
    pub action: String,
    /// Accepted for V2 compatibility and ignored by the decision (it is not evidence).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub context: Option<serde_json::Map<String, Value>>,
    /// Read-your-writes: decide on the agent's state at this version or a later one (a
    /// `state_version` from an earlier answer or write). A version never written is 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub min_state_version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub agent_id: String,
    /// 1–100 catalog action names.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100, inline, value_type = Vec<ActionName>))]
    pub actions: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub context: Option<serde_json::Map<String, Value>>,
    /// Read-your-writes: decide on the agent's state at this version or a later one (a
    /// `state_version` from an earlier answer or write). A version never written is 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub min_state_version: Option<u64>,
}

/// A catalog action name (1–64 of `a-z`, `0-9`, `_`, `.`, `-`), as the schema of a list's items.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[schema(pattern = "^[a-z0-9_.-]{1,64}$")]
#[allow(dead_code)] // Describes the strings of `BatchRequest::actions`.
struct ActionName(String);

/// One decision's numbers (shared by single and batch answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub allowed: bool,
    pub current_tier: u8,
    pub required_tier: Option<u8>,
    pub current_score: f64,
    pub required_score: Option<f64>,
    /// `Authorized`, or why not.
    pub reason: String,
}

impl AuthorizeRequest {
    /// May `agent` do `action` now?
    pub fn new(agent: impl ToString, action: impl Into<String>) -> Self {
        Self {
            agent_id: agent.to_string(),
            action: action.into(),
            context: None,
            min_state_version: None,
        }
    }

    /// Decide on the agent's state at `version` or later (read-your-writes).
    #[must_use]
    pub fn at_least(mut self, version: u64) -> Self {
        self.min_state_version = Some(version);
        self
    }
}

impl BatchRequest {
    /// May `agent` do each of `actions` now?
    pub fn new<A: Into<String>>(
        agent: impl ToString,
        actions: impl IntoIterator<Item = A>,
    ) -> Self {
        Self {
            agent_id: agent.to_string(),
            actions: actions.into_iter().map(Into::into).collect(),
            context: None,
            min_state_version: None,
        }
    }

    /// Decide on the agent's state at `version` or later (read-your-writes).
    #[must_use]
    pub fn at_least(mut self, version: u64) -> Self {
        self.min_state_version = Some(version);
        self
    }
}
