//! Reads answered from the decision state when it holds the agent and is current, else
//! from the database, whose answer is then held (see `decision_state.rs` for what evicts
//! it and how staleness is bounded). Decisions need the agent's view; trust reads also
//! its account's plan and its active vouch count.

use std::sync::Arc;

use tg_access::{Plan, Principal, Scope};
use tg_core::AgentId;

use crate::agents::{TrustView, agent_id, load_view};
use crate::authorize::at_least;
use crate::decision_state::AgentEntry;
use crate::{Gateway, ServiceError, reading};

/// A trust read's inputs: the view at `now`, the owning account's plan, active vouches
/// received.
pub(crate) type TrustInputs = (TrustView, Plan, u64);

impl Gateway {
    /// The agent as memory holds it, at `min` or later, when memory is current.
    fn held(&self, id: &AgentId, min: Option<u64>) -> Option<Arc<AgentEntry>> {
        if !self.decisions.fresh() {
            return None;
        }
        self.decisions
            .agents
            .get(id.as_str())
            .filter(|e| e.state.version >= min.unwrap_or(0))
    }

    /// The view at `now` of a held entry (`None` if its policy version is gone).
    fn view_of(&self, entry: &AgentEntry) -> Option<TrustView> {
        let policy = self.policy.at(entry.policy_version)?;
        Some(TrustView::compute(
            entry.agent.clone(),
            entry.state.clone(),
            policy,
            self.now(),
        ))
    }

    /// The agent as decisions see it, if memory holds it at `min` or later and is current.
    pub(crate) fn view_from_memory(&self, id: &AgentId, min: Option<u64>) -> Option<TrustView> {
        self.view_of(&*self.held(id, min)?)
    }

    fn hold(&self, generation: u64, view: &TrustView, standing: Option<(Plan, u64)>) {
        let entry = AgentEntry {
            agent: view.agent.clone(),
            state: view.state.clone(),
            policy_version: view.policy.version,
            standing,
        };
        self.decisions
            .agents
            .put(view.agent.id.as_str(), generation, Arc::new(entry));
    }

    /// The agent as decisions see it: from the decision state when it holds the agent at
    /// `min` or later and is current, else from the database (and then held).
    pub(crate) async fn decision_view(
        &self,
        principal: &Principal,
        id: &str,
        min: Option<u64>,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = agent_id(id)?;
        if let Some(view) = self.view_from_memory(&id, min) {
            return Ok(view);
        }
        let now = self.now();
        let generation = self.decisions.agents.generation(id.as_str());
        let cache = Arc::clone(&self.policy);
        let view = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { load_view(tx, &cache, &id, now, false).await })
        })
        .await?;
        self.hold(generation, &view, None);
        at_least(view, min)
    }

    /// A trust read's inputs, if memory holds all of them at `min` or later and is current.
    pub(crate) fn trust_from_memory(&self, id: &AgentId, min: Option<u64>) -> Option<TrustInputs> {
        let entry = self.held(id, min)?;
        let (plan, vouches) = entry.standing?;
        Some((self.view_of(&entry)?, plan, vouches))
    }

    /// A trust read's inputs, from memory when it holds all of them at `min` or later and
    /// is current, else from the database (and then held).
    pub(crate) async fn trust_inputs(
        &self,
        id: &AgentId,
        min: Option<u64>,
    ) -> Result<TrustInputs, ServiceError> {
        if let Some(held) = self.trust_from_memory(id, min) {
            return Ok(held);
        }
        let now = self.now();
        let generation = self.decisions.agents.generation(id.as_str());
        let cache = Arc::clone(&self.policy);
        let key = id.clone();
        let (view, plan, vouches) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = load_view(tx, &cache, &key, now, false).await?;
                let plan = tx
                    .get_account(&view.agent.account_id)
                    .await?
                    .map_or(Plan::Free, |a| a.plan);
                let vouches = tx.count_vouches_received(&key).await?;
                Ok((view, plan, vouches))
            })
        })
        .await?;
        self.hold(generation, &view, Some((plan, vouches)));
        Ok((at_least(view, min)?, plan, vouches))
    }
}
