use std::fmt;

use serde::{Deserialize, Serialize};
use tg_core::{AgentId, ChainId, DelegationId, Outcome, Timestamp};

/// Who delegates: an agent, or a human principal written `user:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delegator {
    Agent(AgentId),
    Human(String),
}

impl Delegator {
    /// Parses `ag_…` or `user:<1–128 of A-Za-z0-9 . _ @ ->`.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(id) = AgentId::parse(s) {
            return Some(Delegator::Agent(id));
        }
        let name = s.strip_prefix("user:")?;
        let ok = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
        ok.then(|| Delegator::Human(s.to_owned()))
    }

    pub fn agent(&self) -> Option<&AgentId> {
        match self {
            Delegator::Agent(a) => Some(a),
            Delegator::Human(_) => None,
        }
    }
}

impl fmt::Display for Delegator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delegator::Agent(a) => f.write_str(a.as_str()),
            Delegator::Human(h) => f.write_str(h),
        }
    }
}

/// Joy §4.3 outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DelegationOutcome {
    Success,
    Failure,
    Timeout,
    Cancelled,
}

impl DelegationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DelegationOutcome::Success => "success",
            DelegationOutcome::Failure => "failure",
            DelegationOutcome::Timeout => "timeout",
            DelegationOutcome::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Timeout, Self::Cancelled]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    Positive,
    Neutral,
    Negative,
}

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Positive => "positive",
            Feedback::Neutral => "neutral",
            Feedback::Negative => "negative",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Positive, Self::Neutral, Self::Negative]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    pub outcome: DelegationOutcome,
    pub feedback: Option<Feedback>,
    pub notes: Option<String>,
    pub completed_at: Timestamp,
}

impl OutcomeRecord {
    /// What the outcome says about the delegatee's behaviour: success (unless the feedback
    /// is negative) is a success; failure and timeout are failures; a cancellation says
    /// nothing about the delegatee.
    pub fn evidence(&self) -> Option<Outcome> {
        match (self.outcome, self.feedback) {
            (DelegationOutcome::Success, Some(Feedback::Negative)) => Some(Outcome::Failure),
            (DelegationOutcome::Success, _) => Some(Outcome::Success),
            (DelegationOutcome::Failure | DelegationOutcome::Timeout, _) => Some(Outcome::Failure),
            (DelegationOutcome::Cancelled, _) => None,
        }
    }
}

/// One delegation (Joy §4.1) with its place in a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Delegation {
    pub id: DelegationId,
    pub chain_id: ChainId,
    pub parent: Option<DelegationId>,
    /// 1 for a chain's first delegation.
    pub depth: u32,
    pub from: Delegator,
    pub to_agent: AgentId,
    pub root_authority: Delegator,
    pub task_type: String,
    /// Joy 0–5 scale.
    pub threshold: f64,
    pub trust_score_at_delegation: f64,
    pub delegated_at: Timestamp,
    /// When the delegatee's account accepted the hand-off (at creation for its own
    /// agents, or when the delegator proved it with the delegatee's token). Until then the
    /// outcome moves nothing: anyone can *claim* to have delegated to an agent.
    pub accepted_at: Option<Timestamp>,
    pub outcome: Option<OutcomeRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    #[error("the outcome of delegation `{0}` is already recorded")]
    AlreadyRecorded(String),
    #[error("`notes` must be at most 2000 characters")]
    NotesTooLong,
    #[error("delegation `{0}` has its outcome already: it can no longer be accepted")]
    Finished(String),
}

impl Delegation {
    /// The delegatee's account accepts the hand-off. Idempotent; refused once the outcome
    /// is recorded (an accepted outcome must have been accepted before it was known).
    pub fn accept(&mut self, now: Timestamp) -> Result<(), OutcomeError> {
        if self.accepted_at.is_some() {
            return Ok(());
        }
        if self.outcome.is_some() {
            return Err(OutcomeError::Finished(self.id.to_string()));
        }
        self.accepted_at = Some(now);
        Ok(())
    }

    /// Records the outcome, once.
    pub fn complete(&mut self, record: OutcomeRecord) -> Result<(), OutcomeError> {
        if self.outcome.is_some() {
            return Err(OutcomeError::AlreadyRecorded(self.id.to_string()));
        }
        if record
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 2000)
        {
            return Err(OutcomeError::NotesTooLong);
        }
        self.outcome = Some(record);
        Ok(())
    }
}
