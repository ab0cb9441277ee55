use tg_core::{AgentId, StoreError};

use crate::Agent;

/// Storage of the identity aggregate.
///
/// Contract:
/// - `insert_agent` fails with [`StoreError::Conflict`] when the account already has an
///   agent of that name, or when the agent holds its `spiffe_id`
///   ([`Agent::holds_spiffe_id`]) and another non-revoked agent holds it too. Unproven
///   claims of a SPIFFE ID never conflict.
/// - `get_agent` returns `Ok(None)` for an unknown id.
/// - `lock_agent` is `get_agent` that also holds the agent's row lock until the enclosing
///   transaction ends (on PostgreSQL `SELECT … FOR UPDATE`; SQLite serialises writers).
///   Every write that must not interleave with another on the same agent takes it first.
/// - `update_agent` overwrites the mutable fields of an existing agent; `NotFound` otherwise.
#[async_trait::async_trait]
pub trait AgentStore: Send {
    async fn insert_agent(&mut self, agent: &Agent) -> Result<(), StoreError>;
    async fn get_agent(&mut self, id: &AgentId) -> Result<Option<Agent>, StoreError>;
    async fn lock_agent(&mut self, id: &AgentId) -> Result<Option<Agent>, StoreError>;
    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError>;
    /// Agents with exactly this name, across accounts, at most `limit`.
    async fn agents_named(&mut self, name: &str, limit: u32) -> Result<Vec<Agent>, StoreError>;
    /// Agents of `account` (every account's when `None`), ordered by creation then id,
    /// paged by `offset`/`limit`.
    async fn list_agents(
        &mut self,
        account: Option<&tg_core::AccountId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Agent>, StoreError>;
    /// Agents whose name or a capability contains `query` (case-insensitive), ordered by
    /// name then id, paged by `offset`/`limit`.
    async fn discover_agents(
        &mut self,
        query: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Agent>, StoreError>;
    /// Every non-revoked agent that names `spiffe_id`, holders and claimants alike, by id.
    async fn agents_naming_spiffe_id(
        &mut self,
        spiffe_id: &crate::SpiffeId,
    ) -> Result<Vec<Agent>, StoreError>;
}
