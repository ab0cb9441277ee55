//! An agent's score at `now` (`TrustView`) and the unit-of-work steps every use case that
//! reads or rescores an agent shares: loading it (visible to the caller, locked or not),
//! rescoring it after a change, and recording the history point and events a move makes.
//! It knows nothing of the `Gateway`, so the use cases and the background engines (the
//! vouch engine) both build on it without importing each other.

use tg_access::Principal;
use tg_core::{AgentId, Timestamp};
use tg_identity::{Agent, AgentStatus, VerificationLevel};
use tg_scoring::{Breakdown, ConfigState, Inputs, Standing, Trigger, breakdown, permitted_actions};

use crate::policy_cache::PolicyCache;
use crate::{HistoryPoint, PolicySnapshot, ServiceError, TrustState, Tx};

/// An agent with its score computed at `now` under the live policy.
#[derive(Debug, Clone)]
pub struct TrustView {
    pub agent: Agent,
    /// The verification level that counts now (an expired SVID no longer certifies).
    pub verification_level: VerificationLevel,
    pub state: TrustState,
    pub breakdown: Breakdown,
    pub policy: PolicySnapshot,
    pub computed_at: Timestamp,
}

pub(crate) fn standing(status: AgentStatus) -> Standing {
    match status {
        AgentStatus::Active => Standing::Active,
        AgentStatus::Suspended => Standing::Suspended,
        AgentStatus::Revoked => Standing::Revoked,
    }
}

impl TrustView {
    pub(crate) fn compute(
        agent: Agent,
        state: TrustState,
        policy: PolicySnapshot,
        now: Timestamp,
    ) -> Self {
        let (inputs, verification_level) = score_inputs(&agent, &state, now);
        let breakdown = breakdown(&policy.policy, &inputs, now);
        TrustView {
            agent,
            verification_level,
            state,
            breakdown,
            policy,
            computed_at: now,
        }
    }

    /// The catalog actions the agent may take now, in catalog order (computed when asked:
    /// trust reads and decisions do not need the list).
    pub fn permitted_actions(&self) -> Vec<String> {
        permitted_actions(
            &self.policy.policy,
            standing(self.agent.status),
            self.breakdown.tier,
            self.breakdown.composite,
        )
    }
}

/// What an agent's score is computed from at `now`, and the verification level that counts.
pub(crate) fn score_inputs<'a>(
    agent: &Agent,
    state: &'a TrustState,
    now: Timestamp,
) -> (Inputs<'a>, VerificationLevel) {
    let config = if agent.config_hash == agent.approved_config_hash {
        ConfigState::Approved
    } else {
        ConfigState::Drifted
    };
    let (identity_strength, verification_level) = agent.effective_identity(now);
    let inputs = Inputs {
        identity_strength,
        config,
        vouch: state.vouch,
        evidence: &state.evidence,
        registered_at: agent.created_at,
    };
    (inputs, verification_level)
}

/// Parses a path id; a malformed id is "not found", never a 500.
pub(crate) fn agent_id(raw: &str) -> Result<AgentId, ServiceError> {
    AgentId::parse(raw).map_err(|_| ServiceError::agent_not_found(raw))
}

/// A page size of 1–1000.
pub(crate) fn page_limit(limit: u32) -> Result<u32, ServiceError> {
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ServiceError::Invalid(
            "`limit` must be between 1 and 1000".into(),
        ))
    }
}

/// The agent, or "not found".
pub(crate) async fn require_agent(tx: &mut dyn Tx, id: &AgentId) -> Result<Agent, ServiceError> {
    tx.get_agent(id)
        .await?
        .ok_or_else(|| ServiceError::agent_not_found(id.as_str()))
}

/// `require_agent` for the agent's private data (receipts, history, delegations, vouch
/// details): another tenant's agent is "not found" to anyone but the operator.
pub(crate) async fn require_visible(
    tx: &mut dyn Tx,
    principal: &Principal,
    id: &AgentId,
) -> Result<Agent, ServiceError> {
    match tx.get_agent(id).await? {
        Some(agent) if principal.sees(&agent.account_id) => Ok(agent),
        _ => Err(ServiceError::agent_not_found(id.as_str())),
    }
}

/// Recomputes the view after the agent or its score state changed. When the score or tier
/// moved, appends a history point with `trigger`; the score state is stored whenever it
/// changed. Returns the new view.
pub(crate) async fn rescore(
    tx: &mut dyn Tx,
    before: &TrustView,
    agent: Agent,
    state: TrustState,
    trigger: Trigger,
    now: Timestamp,
) -> Result<TrustView, ServiceError> {
    rescore_announcing(tx, before, agent, state, trigger, false, now).await
}

/// `rescore`, also appending the `tier_changed` / `trust_changed` webhook events the move
/// calls for (`trust_changed` always when `always_trust_changed`).
pub(crate) async fn rescore_announcing(
    tx: &mut dyn Tx,
    before: &TrustView,
    agent: Agent,
    state: TrustState,
    trigger: Trigger,
    always_trust_changed: bool,
    now: Timestamp,
) -> Result<TrustView, ServiceError> {
    let after = TrustView::compute(agent, state, before.policy.clone(), now);
    for e in crate::events::score_events(
        &after.agent,
        (&before.breakdown).into(),
        &after.breakdown,
        trigger,
        always_trust_changed,
        after.policy.policy.trust_changed_delta,
        now,
    ) {
        tx.append_outbox(&e).await?;
    }
    let moved = (after.breakdown.composite - before.breakdown.composite).abs() > 1e-12
        || after.breakdown.tier != before.breakdown.tier;
    let mut state = after.state.clone();
    if moved {
        state = append_point(tx, &state, &after.breakdown, trigger, now).await?;
    }
    if state != before.state {
        state.updated_at = now;
        state.version = tx.update_trust(&state).await?;
    }
    Ok(TrustView { state, ..after })
}

/// Appends a history point at `b` with `trigger`; returns `state` with that point as its
/// stored standing (the caller stores it).
pub(crate) async fn append_point(
    tx: &mut dyn Tx,
    state: &TrustState,
    b: &tg_scoring::Breakdown,
    trigger: Trigger,
    now: Timestamp,
) -> Result<TrustState, ServiceError> {
    let mut state = state.clone();
    state.history_seq += 1;
    state.composite = b.composite;
    state.tier = b.tier;
    tx.append_history(&HistoryPoint {
        agent_id: state.agent_id.clone(),
        seq: state.history_seq,
        timestamp: now,
        composite_score: b.composite,
        tier: b.tier,
        trigger,
    })
    .await?;
    Ok(state)
}

/// `load_view` for a write: an agent of another account (for a non-admin key) is "not
/// found", so writes never reveal which agents exist elsewhere.
pub(crate) async fn load_owned(
    tx: &mut dyn Tx,
    cache: &PolicyCache,
    principal: &Principal,
    id: &AgentId,
    now: Timestamp,
    lock: bool,
) -> Result<TrustView, ServiceError> {
    let view = load_view(tx, cache, id, now, lock).await?;
    if !principal.can_write(&view.agent.account_id) {
        return Err(ServiceError::agent_not_found(id.as_str()));
    }
    Ok(view)
}

/// Writes the agent's row and raises its state version in the same transaction (the
/// version covers the row as well as the score state); answers the new version. Every
/// write of an agent's row goes through here.
pub(crate) async fn save_agent(tx: &mut dyn Tx, agent: &Agent) -> Result<u64, ServiceError> {
    tx.update_agent(agent).await?;
    Ok(tx.bump_state(&agent.id).await?)
}

/// Loads an agent, its state and the policy, and computes the view. `lock` takes the
/// agent's row lock (inside a transaction).
pub(crate) async fn load_view(
    tx: &mut dyn Tx,
    cache: &PolicyCache,
    id: &AgentId,
    now: Timestamp,
    lock: bool,
) -> Result<TrustView, ServiceError> {
    let not_found = || ServiceError::agent_not_found(id.as_str());
    let snapshot = if lock {
        tx.locked_snapshot(id).await?
    } else {
        tx.agent_snapshot(id).await?
    };
    let (agent, state, version) = snapshot.ok_or_else(not_found)?;
    let policy = cache.load_at(tx, version).await?;
    Ok(TrustView::compute(agent, state, policy, now))
}
