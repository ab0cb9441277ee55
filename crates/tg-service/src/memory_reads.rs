//! Reads answered from the decision state when it holds the agent and is current, else
//! from the database, whose answer is then held (see `decision_state.rs` for what evicts
//! it and how staleness is bounded). Decisions need the agent's view; trust reads also
//! its account's plan and its active vouch count.

use std::sync::Arc;

use tg_access::{Plan, Principal, Scope};
use tg_core::AgentId;
use tg_scoring::Score;

use crate::decision_state::AgentEntry;
use crate::runtime::metrics::Lookup;
use crate::trust_view::{TrustView, load_view, score_inputs};
use crate::{Conflict, Gateway, PolicySnapshot, ServiceError, reading};

/// What a decision is made on: the agent as held, the policy its score is computed under,
/// and that score at `now`, without the explanation a trust read shows.
pub(crate) struct Basis {
    pub(crate) entry: Arc<AgentEntry>,
    pub(crate) policy: PolicySnapshot,
    pub(crate) score: Score,
}

/// A trust read's inputs: the view at `now`, the owning account's plan, active vouches
/// received.
pub(crate) type TrustInputs = (TrustView, Plan, u64);

/// Read-your-writes: an answer about an agent must be decided on at least this state
/// version (from an earlier answer or write), else it is read through the database. A
/// version the database does not hold yet is a conflict (409): it was never written.
pub(crate) fn at_least(view: TrustView, min: Option<u64>) -> Result<TrustView, ServiceError> {
    match min {
        Some(min) if view.state.version < min => {
            Err(ServiceError::Conflict(Conflict::StateVersionAhead {
                id: view.agent.id,
                at: view.state.version,
                asked: min,
            }))
        }
        _ => Ok(view),
    }
}

impl Gateway {
    /// The agent as memory holds it, at `min` or later, when memory is current.
    fn held(&self, id: &AgentId, min: Option<u64>) -> Option<Arc<AgentEntry>> {
        if !self.decisions.fresh() {
            self.metrics.looked_up(Lookup::not_current);
            return None;
        }
        let entry = self
            .decisions
            .agents
            .get(id.as_str())
            .filter(|e| e.state.version >= min.unwrap_or(0));
        self.metrics.looked_up(if entry.is_some() {
            Lookup::hit
        } else {
            Lookup::not_held
        });
        entry
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

    /// What a decision is made on, if memory holds the agent at `min` or later and is
    /// current (`None` also if its policy version is gone).
    pub(crate) fn basis_from_memory(&self, id: &AgentId, min: Option<u64>) -> Option<Basis> {
        let entry = self.held(id, min)?;
        let policy = self.policy.at(entry.policy_version)?;
        let now = self.now();
        let (inputs, _) = score_inputs(&entry.agent, &entry.state, now);
        let score = tg_scoring::score(&policy.policy, &inputs, now);
        Some(Basis {
            entry,
            policy,
            score,
        })
    }

    /// What a decision is made on: from memory when it holds the agent at `min` or later
    /// and is current, else from the database (and then held).
    pub(crate) async fn decision_basis(
        &self,
        principal: &Principal,
        id: &AgentId,
        min: Option<u64>,
    ) -> Result<Basis, ServiceError> {
        self.require(principal, Scope::Read)?;
        if let Some(basis) = self.basis_from_memory(id, min) {
            return Ok(basis);
        }
        let (view, entry) = self.read_through(id, min, false).await?;
        Ok(Basis {
            entry,
            score: Score {
                composite: view.breakdown.composite,
                tier: view.breakdown.tier,
            },
            policy: view.policy,
        })
    }

    /// Holds what was read of the agent, unless a write evicted it since `generation`.
    fn hold(
        &self,
        generation: u64,
        view: &TrustView,
        standing: Option<(Plan, u64)>,
    ) -> Arc<AgentEntry> {
        let entry = Arc::new(AgentEntry {
            agent: view.agent.clone(),
            state: view.state.clone(),
            policy_version: view.policy.version,
            standing,
        });
        self.decisions
            .agents
            .put(view.agent.id.as_str(), generation, Arc::clone(&entry));
        entry
    }

    /// Reads the agent (with its plan and vouch count when `standing`) from the database
    /// and holds what it read, unless a write evicted the agent meanwhile; refused when
    /// older than `min`. Answers the view and the entry as held.
    async fn read_through(
        &self,
        id: &AgentId,
        min: Option<u64>,
        standing: bool,
    ) -> Result<(TrustView, Arc<AgentEntry>), ServiceError> {
        let now = self.now();
        let generation = self.decisions.agents.generation(id.as_str());
        let cache = Arc::clone(&self.policy);
        let key = id.clone();
        let (view, read) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = load_view(tx, &cache, &key, now, false).await?;
                if !standing {
                    return Ok((view, None));
                }
                let plan = tx
                    .get_account(&view.agent.account_id)
                    .await?
                    .map_or(Plan::Free, |a| a.plan);
                let vouches = tx.count_vouches_received(&key).await?;
                Ok((view, Some((plan, vouches))))
            })
        })
        .await?;
        let entry = self.hold(generation, &view, read);
        Ok((at_least(view, min)?, entry))
    }

    /// The agent as decisions see it: from the decision state when it holds the agent at
    /// `min` or later and is current, else from the database (and then held).
    pub(crate) async fn decision_view(
        &self,
        principal: &Principal,
        id: &AgentId,
        min: Option<u64>,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Read)?;
        if let Some(view) = self.view_from_memory(id, min) {
            return Ok(view);
        }
        Ok(self.read_through(id, min, false).await?.0)
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
        let (view, entry) = self.read_through(id, min, true).await?;
        match entry.standing {
            Some((plan, vouches)) => Ok((view, plan, vouches)),
            None => Err(ServiceError::internal("trust read without its standing")),
        }
    }
}
