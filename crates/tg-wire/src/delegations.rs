//! Delegations and their outcomes (Joy §4).

use serde::{Deserialize, Serialize};
use tg_core::{AgentId, ChainId, DelegationId, Timestamp};
use tg_delegation::{Delegation, DelegationOutcome, Delegator, Feedback};

/// Joy §4.1 plus the chain fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub delegation_id: DelegationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub chain_id: ChainId,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub parent_delegation_id: Option<DelegationId>,
    /// 1 for a chain's first delegation.
    pub depth: u32,
    /// Set when an agent delegated…
    pub from_agent: Option<String>,
    /// …or when a human principal did.
    pub from_principal: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to_agent: AgentId,
    pub root_authority: String,
    pub task_type: String,
    pub delegated_at: Timestamp,
    /// When the delegatee's account accepted the hand-off (at once for the caller's own
    /// agents or with the delegatee's `token`); until then the outcome moves nothing.
    pub accepted_at: Option<Timestamp>,
    pub trust_score_at_delegation: f64,
    /// Joy's 0–5 scale.
    pub threshold_used: f64,
    pub outcome: Option<DelegationOutcome>,
    pub feedback: Option<Feedback>,
    pub notes: Option<String>,
    pub completed_at: Option<Timestamp>,
    /// After an outcome: the delegatee's score once the outcome counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegatee_score: Option<f64>,
}

impl From<&Delegation> for DelegationOut {
    fn from(d: &Delegation) -> Self {
        let (from_agent, from_principal) = match &d.from {
            Delegator::Agent(a) => (Some(a.to_string()), None),
            Delegator::Human(h) => (None, Some(h.clone())),
        };
        let o = d.outcome.as_ref();
        Self {
            delegation_id: d.id.clone(),
            chain_id: d.chain_id.clone(),
            parent_delegation_id: d.parent.clone(),
            depth: d.depth,
            from_agent,
            from_principal,
            to_agent: d.to_agent.clone(),
            root_authority: d.root_authority.to_string(),
            task_type: d.task_type.clone(),
            delegated_at: d.delegated_at,
            accepted_at: d.accepted_at,
            trust_score_at_delegation: d.trust_score_at_delegation,
            threshold_used: d.threshold,
            outcome: o.map(|o| o.outcome),
            feedback: o.and_then(|o| o.feedback),
            notes: o.and_then(|o| o.notes.clone()),
            completed_at: o.map(|o| o.completed_at),
            delegatee_score: None,
        }
    }
}

/// An agent's delegations, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationPage {
    pub agent_id: String,
    pub delegations: Vec<DelegationOut>,
    pub next_offset: Option<u32>,
}

/// Exactly one of `from_agent` and `from_principal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    pub from_agent: Option<String>,
    pub from_principal: Option<String>,
    pub to_agent: String,
    pub task_type: String,
    /// Joy's 0–5 scale: the delegatee must score at least this.
    pub threshold: f64,
    /// Extends that delegation's chain (the delegator must be its delegatee).
    pub parent_delegation_id: Option<String>,
    /// The delegatee's gateway token, proving the hand-off: the delegation is accepted at
    /// once. Without it a delegation to another account's agent waits for that account's
    /// `POST /delegations/{id}/accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    pub outcome: DelegationOutcome,
    pub feedback: Option<Feedback>,
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub notes: Option<String>,
}
