//! Where each agent's recording stands on this instance: one batch at a time per agent,
//! and the agent as the last batch here left it (its row, its score state at the state
//! version that commit raised, and the policy it was scored under).
//!
//! The next batch starts from that basis instead of locking the agent's row and reading
//! it back: its commit is guarded by the basis's state version and policy version, and
//! writes nothing when either moved (another instance recorded, the agent or the policy
//! changed). The batch then runs again under the row lock. Memory is only ever a guess
//! here, never an answer: a basis that is wrong costs one statement, not a stale receipt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tg_core::AgentId;
use tg_identity::Agent;

use crate::{PolicySnapshot, TrustState};

/// The agent as this instance's last commit for it left it.
#[derive(Debug, Clone)]
pub(crate) struct Basis {
    pub agent: Agent,
    pub state: TrustState,
    pub policy: PolicySnapshot,
}

/// An agent's turn to record, and its basis (none until a batch here read or wrote it).
pub(crate) type Head = Arc<tokio::sync::Mutex<Option<Basis>>>;

/// The heads of the agents recording on this instance, at most `max` of them when none is
/// in use.
#[derive(Debug)]
pub(crate) struct Heads {
    held: Mutex<HashMap<AgentId, Head>>,
    max: usize,
}

impl Heads {
    pub(crate) fn new(max: usize) -> Self {
        Heads {
            held: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// The agent's head (created empty). When more than `max` are held, the ones nobody is
    /// using or waiting for are dropped first: those agents' next batch locks their row.
    pub(crate) fn of(&self, id: &AgentId) -> Head {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(head) = held.get(id) {
            return Arc::clone(head);
        }
        if held.len() >= self.max {
            held.retain(|_, head| Arc::strong_count(head) > 1);
        }
        let head = Head::default();
        held.insert(id.clone(), Arc::clone(&head));
        head
    }

    /// `basis`, to hold as the turn's next one; none when the bound is 0 (memory off).
    pub(crate) fn keep(&self, basis: Basis) -> Option<Basis> {
        (self.max > 0).then_some(basis)
    }

    /// Agents with a head now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_only_the_heads_in_use_stay() {
        let heads = Heads::new(2);
        let (a, b, c, d) = (
            AgentId::generate(),
            AgentId::generate(),
            AgentId::generate(),
            AgentId::generate(),
        );
        let in_use = heads.of(&a);
        drop(heads.of(&b));
        assert_eq!(heads.len(), 2);
        assert!(Arc::ptr_eq(&in_use, &heads.of(&a)), "the same head again");
        // Full: the unused head of `b` goes, `a`'s stays.
        drop(heads.of(&c));
        assert_eq!(heads.len(), 2);
        assert!(Arc::ptr_eq(&in_use, &heads.of(&a)));
        drop(heads.of(&d));
        assert_eq!(heads.len(), 2);
        assert!(Arc::ptr_eq(&in_use, &heads.of(&a)));
    }
}
